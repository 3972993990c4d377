#!/usr/bin/env python3
"""Records haproxy 2.6's traffic log datagrams (httplog, tcplog, default, log-format).

Run as root from the repository root:  python3 compat-tests/record-logs.py
It writes fixtures/haproxy/logs/: haproxy.cfg (the config used, with the ports) and one file
per case, NN-name.txt, holding the exact syslog datagrams haproxy sent to 127.0.0.1:5514 while
the case ran, in order (each datagram already ends with a newline). Everything runs on the
loopback of one network namespace it creates (hlf-rec-<pid>) and deletes on exit; no other
address is ever used. haproxy is started as our child and stopped by its pid.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "haproxy", "logs")
SYSLOG = 5514
FH, FH2, FT, FD, FC, FTD, FCLF, FESC = 18100, 18101, 18102, 18103, 18104, 18105, 18106, 18107
OK, CLOSER, SLOW, REFUSED, TCP, TRICKLE = 19100, 19101, 19102, 19109, 19103, 19104

CONFIG = f"""global
    log 127.0.0.1:{SYSLOG} local2
defaults
    log global
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 1s
    timeout http-request 1s
frontend fh
    bind 127.0.0.1:{FH}
    option httplog
    capture request header Host len 20
    capture request header User-Agent len 5
    capture response header Content-Type len 30
    capture cookie SID len 32
    http-request deny if {{ path_beg /deny }}
    use_backend nosrv if {{ path_beg /nosrv }}
    use_backend closer if {{ path_beg /close }}
    use_backend slow if {{ path_beg /slow }}
    use_backend slowac if {{ path_beg /abort }}
    use_backend refused if {{ path_beg /refused }}
    use_backend trickle if {{ path_beg /trickle }}
    default_backend ok
frontend fh2
    bind 127.0.0.1:{FH2}
    option httplog
    option dontlognull
    default_backend ok
frontend ft
    bind 127.0.0.1:{FT}
    mode tcp
    option tcplog
    default_backend tcp_ok
frontend fd
    bind 127.0.0.1:{FD}
    default_backend ok
frontend fc
    bind 127.0.0.1:{FC}
    log-format "%ci:%cp|%fi:%fp|%si:%sp|%t|%tr|%trg|%trl|%T|%Ts|%ms|%ft|%f|%b|%s|%TR|%Tw|%Tc|%Tr|%Ta|%Tt|%Th|%Ti|%Tq|%ST|%B|%U|%CC|%CS|%tsc|%ts|%ac|%fc|%bc|%sc|%rc|%sq|%bq|%hr|%hs|%hrl|%hsl|%{{+Q}}r|%r|%HM|%HU|%HP|%HQ|%HV|%rt|%lc|%pid|%{{+Q}}ft|%{{+Q}}HP|%{{-Q}}r"
    capture request header Host len 20
    capture request header X-Two len 10
    capture response header Server len 10
    default_backend ok
frontend ftd
    bind 127.0.0.1:{FTD}
    mode tcp
    default_backend tcp_ok
frontend fclf
    bind 127.0.0.1:{FCLF}
    option httplog clf
    capture request header Host len 20
    capture request header X-Two len 10
    capture response header Server len 10
    default_backend ok
frontend fesc
    bind 127.0.0.1:{FESC}
    option httplog
    option accept-invalid-http-request
    capture request header X-Esc len 40
    default_backend ok
backend ok
    server s1 127.0.0.1:{OK}
backend nosrv
backend closer
    server c1 127.0.0.1:{CLOSER}
backend slow
    server w1 127.0.0.1:{SLOW}
backend slowac
    option abortonclose
    server w2 127.0.0.1:{SLOW}
backend refused
    server r1 127.0.0.1:{REFUSED}
backend trickle
    server k1 127.0.0.1:{TRICKLE}
backend tcp_ok
    mode tcp
    server t1 127.0.0.1:{TCP}
"""

BODY = b"hello, world\n"
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nServer: rec/1.0\r\n"
          b"Set-Cookie: SID=abc123; path=/\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


class Syslog:
    """The UDP syslog receiver: keeps every datagram, in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", SYSLOG))
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            data, _ = self.sock.recvfrom(65536)
            with self.lock:
                self.got.append(data)

    def take(self):
        with self.lock:
            out, self.got = self.got, []
        return out


def serve(port, handler):
    """A listener on the loopback whose connections each get `handler(conn)` in a thread."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)

    def accept():
        while True:
            conn, _ = sock.accept()
            conn.settimeout(5)
            threading.Thread(target=guarded, args=(handler, conn), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def guarded(handler, conn):
    try:
        handler(conn)
    except OSError:
        pass
    finally:
        conn.close()


def read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    return buf


def ok_server(conn):
    """Answers every request head with ANSWER (keep-alive); request bodies are ignored."""
    while True:
        head = read_head(conn)
        if head is None:
            return
        if b"content-length: 5" in head.lower() and not head.endswith(b"hello"):
            conn.recv(5)
        conn.sendall(ANSWER)


def closer_server(conn):
    """Reads the request, closes without answering."""
    read_head(conn)


def slow_server(conn):
    """Reads the request, never answers (until haproxy gives up)."""
    read_head(conn)
    time.sleep(3)


def trickle_server(conn):
    """Answers headers and part of the body, then stalls."""
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    time.sleep(3)


def tcp_server(conn):
    """A banner, then echoes one read, then closes."""
    conn.sendall(b"banner\n")
    data = conn.recv(100)
    conn.sendall(data)


def client(port, request, wait_close=True, close_after=None, linger=3.0, reset=False):
    """Sends `request`, then reads until the close (or closes itself after `close_after` s,
    with a RST when `reset`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=linger)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        if request:
            s.sendall(request)
        if close_after is not None:
            time.sleep(close_after)
            return b""
        got = b""
        deadline = time.monotonic() + linger
        while wait_close and time.monotonic() < deadline:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            got += data
        return got
    finally:
        s.close()


def req(path, extra=b"", method=b"GET", version=b"HTTP/1.1"):
    return (method + b" " + path + b" " + version + b"\r\nHost: example.test\r\n" + extra
            + b"Connection: close\r\n\r\n")


def keepalive_two(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        s.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        s.recv(65536)
        time.sleep(0.2)
        s.sendall(b"GET /two?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        s.recv(65536)
    finally:
        s.close()


CASES = [
    ("httplog-get", lambda: client(FH, req(b"/index.html?q=1",
                                           b"User-Agent: curl/8.0\r\nCookie: SID=xyz789\r\n"))),
    ("httplog-post", lambda: client(FH, b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                                        b"Connection: close\r\n\r\nhello")),
    ("httplog-http10", lambda: client(FH, b"GET /old HTTP/1.0\r\n\r\n")),
    ("httplog-deny", lambda: client(FH, req(b"/deny"))),
    ("httplog-nosrv", lambda: client(FH, req(b"/nosrv"))),
    ("httplog-refused", lambda: client(FH, req(b"/refused"))),
    ("httplog-server-close", lambda: client(FH, req(b"/close"))),
    ("httplog-server-timeout", lambda: client(FH, req(b"/slow"))),
    ("httplog-client-abort", lambda: client(FH, req(b"/abort"), close_after=0.3)),
    ("httplog-client-reset", lambda: client(FH, req(b"/slow"), close_after=0.3, reset=True)),
    ("httplog-client-abort-data", lambda: client(FH, req(b"/trickle"), close_after=0.3,
                                                 reset=True)),
    ("httplog-client-timeout", lambda: client(FH, b"GET /partial HTTP/1.1\r\n")),
    ("httplog-empty-connection", lambda: client(FH, b"", close_after=0.2)),
    ("httplog-badreq", lambda: client(FH, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n")),
    ("httplog-escapes", lambda: client(FESC, req(b"/a\"b#c\xc3\xa9{|}",
                                                 b"X-Esc: a|b{c}d\"e#f\xc3\xa9\r\n"))),
    ("httplog-nocapture-keepalive", lambda: keepalive_two(FH2)),
    ("httplog-dontlognull", lambda: client(FH2, b"", close_after=0.2)),
    ("tcplog", lambda: client(FT, b"ping\n")),
    ("tcplog-client-close", lambda: client(FT, b"", close_after=0.3)),
    ("default-http", lambda: client(FD, req(b"/d"))),
    ("default-tcp", lambda: client(FTD, b"x\n")),
    ("logformat-get", lambda: client(FC, req(b"/lf/p?q=%22x%22", b"X-Two: 2\r\n"))),
    ("logformat-noquery", lambda: client(FC, req(b"/lf/plain"))),
    ("logformat-nosrv-badreq", lambda: client(FC, b"BAD\r\n\r\n")),
    ("clf-get", lambda: client(FCLF, req(b"/clf", b"X-Two: 2\r\n"))),
    ("clf-nosrv-badreq", lambda: client(FCLF, b"BAD\r\n\r\n")),
]


def wait_port(port):
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def inside(work):
    """Runs in the namespace: syslog receiver, backends, haproxy, then every case."""
    log = Syslog()
    serve(OK, ok_server)
    serve(CLOSER, closer_server)
    serve(SLOW, slow_server)
    serve(TCP, tcp_server)
    serve(TRICKLE, trickle_server)
    cfg = os.path.join(work, "haproxy.cfg")
    write(cfg, CONFIG.encode())
    write(os.path.join(OUT, "haproxy.cfg"), CONFIG.encode())
    proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
    try:
        for port in (FH, FH2, FT, FD, FC, FTD, FCLF, FESC):
            wait_port(port)
        time.sleep(0.5)
        log.take()  # the probes' own lines (connections without data)
        for i, (name, run) in enumerate(CASES):
            run()
            time.sleep(1.5 if any(w in name for w in ("timeout", "abort", "reset")) else 0.4)
            got = log.take()
            write(os.path.join(OUT, f"{i:02d}-{name}.txt"), b"".join(got))
            for d in got:
                print(f"{i:02d} {name}: {d!r}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespace)")
    ns = f"hlf-rec-{os.getpid()}"
    work = tempfile.mkdtemp(prefix="hlf-rec-")
    shutil.rmtree(OUT, ignore_errors=True)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", work], check=True, timeout=300)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
