#!/usr/bin/env python3
"""Records haproxy 2.6's statistics output: the `;csv` export, the HTML page, and the
stats socket's `show stat` / `show info`.

Run as root from the repository root:  python3 compat-tests/record-stats.py [main] [tcp]
(no argument: both scenarios).
It writes fixtures/haproxy/stats/ (see the README there). Everything runs on the loopback
of one network namespace it creates (hss-rec-<pid>) and deletes on exit; no other address
is ever used. haproxy and the python3 http.server backend are our children, stopped by pid.

Setup: frontend fe_main -> backend be_app (s1 served by http.server, s2 never started,
both with `check`), a `listen stats` page with auth and refresh, and a second page
`listen stats_admin` with `stats admin if TRUE` and `stats show-legends` so the admin
forms and tool-tips are recorded too. After s2 has gone DOWN, a few requests are sent,
then the captures are taken one after the other.

Scenario `tcp` (files tcp*): a `mode tcp` listen with an unchecked server and a checked
backup server that is DOWN, and a `stats hide-version` page; it shows which columns and
tool-tips 2.6 drops outside HTTP mode.
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "haproxy", "stats")
FE, S1, S2, STATS, STATS_ADMIN = 18080, 18081, 18082, 18090, 18091
AUTH = "Basic " + base64.b64encode(b"niem:niem").decode()

CONFIG = f"""
global
    stats socket {{sock}} level admin
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_main
    bind 127.0.0.1:{FE}
    default_backend be_app
backend be_app
    balance roundrobin
    server s1 127.0.0.1:{S1} check inter 500ms
    server s2 127.0.0.1:{S2} check inter 500ms
listen stats
    bind 127.0.0.1:{STATS}
    stats enable
    stats uri /hadmin
    stats auth niem:niem
    stats refresh 5s
listen stats_admin
    bind 127.0.0.1:{STATS_ADMIN}
    stats enable
    stats uri /hadmin
    stats auth niem:niem
    stats admin if TRUE
    stats show-legends
"""

TCP_CONFIG = f"""
global
    nbthread 1
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen tcpx
    mode tcp
    bind 127.0.0.1:{FE}
    server n1 127.0.0.1:{S1}
    server b1 127.0.0.1:{S2} backup check inter 300ms
listen st
    mode http
    bind 127.0.0.1:{STATS}
    stats enable
    stats uri /s
    stats hide-version
"""


def wait_port(port):
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")


def http_get(port, path, auth=True):
    """One HTTP/1.1 request with Connection: close; returns the raw response bytes."""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if auth:
        head += f"Authorization: {AUTH}\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        s.sendall((head + "\r\n").encode())
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def dechunk(body):
    """Decodes a chunked body (the stats page is always chunked)."""
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return head + b"\r\n\r\n", body


def cli(sock, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(sock)
    try:
        s.sendall(command.encode() + b"\n")
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def inside_tcp(work):
    """The `tcp` scenario: no traffic, s2's check fails, two captures of the page."""
    cfg = os.path.join(work, "tcp.cfg")
    with open(cfg, "w") as f:
        f.write(TCP_CONFIG)
    write("tcp-haproxy.cfg", TCP_CONFIG.encode())
    proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
    try:
        wait_port(STATS)
        time.sleep(2)
        write("tcp.csv", split_response(http_get(STATS, "/s;csv", auth=False))[1])
        write("tcp.html", split_response(http_get(STATS, "/s", auth=False))[1])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def inside(work):
    """Runs in the namespace: backend, haproxy, traffic, captures."""
    sock = f"/tmp/hss-{os.getpid()}.sock"
    cfg = os.path.join(work, "haproxy.cfg")
    text = CONFIG.replace("{sock}", sock)
    with open(cfg, "w") as f:
        f.write(text)
    write("haproxy.cfg", text.replace(sock, "/tmp/hss-PID.sock").encode())
    docroot = os.path.join(work, "www")
    os.makedirs(docroot)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("hello from s1\n")
    backend = subprocess.Popen([sys.executable, "-m", "http.server", str(S1), "--bind",
                                "127.0.0.1", "--directory", docroot],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        wait_port(S1)
        proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
        wait_port(FE)
        # fall 3 x inter 500ms: s2 is DOWN after ~1.5 s; leave margin.
        time.sleep(3)
        for path in ["/", "/", "/", "/index.html", "/missing"]:
            http_get(FE, path, auth=False)
        http_get(STATS, "/hadmin", auth=False)  # one 401
        time.sleep(0.5)
        head, body = split_response(http_get(STATS, "/hadmin;csv"))
        write("csv.headers", head)
        write("page.csv", body)
        head, body = split_response(http_get(STATS, "/hadmin"))
        write("page.headers", head)
        write("page.html", body)
        head, body = split_response(http_get(STATS_ADMIN, "/hadmin"))
        write("admin.headers", head)
        write("admin.html", body)
        write("show-stat.txt", cli(sock, "show stat"))
        write("show-info.txt", cli(sock, "show info"))
        write("version.txt", subprocess.run(["/usr/sbin/haproxy", "-v"], capture_output=True,
                                            check=True).stdout)
    finally:
        for p in [proc, backend]:
            if p is None:
                continue
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.path.exists(sock):
            os.unlink(sock)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--inside":
        {"main": inside, "tcp": inside_tcp}[sys.argv[3]](sys.argv[2])
        return
    scenarios = sys.argv[1:] or ["main", "tcp"]
    if any(s not in ("main", "tcp") for s in scenarios):
        raise SystemExit("scenarios: main, tcp")
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespace)")
    ns = f"hss-rec-{os.getpid()}"
    work = tempfile.mkdtemp(prefix="hss-rec-")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        for scenario in scenarios:
            subprocess.run(["ip", "netns", "exec", ns, sys.executable,
                            os.path.abspath(__file__), "--inside", work, scenario],
                           check=True, timeout=120)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
