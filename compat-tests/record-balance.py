#!/usr/bin/env python3
"""Records which server the real haproxy 2.6 picks for sequences of requests, per `balance`
algorithm, as goldens for src/proxy/balance (fixtures/haproxy/balance/<scenario>.json).

Run as root from the repository root:  python3 compat-tests/record-balance.py
Everything runs inside one network namespace it creates (hbl-rec-<pid>) and deletes on exit:
haproxy (nbthread 1, so choices are deterministic) listens on 127.0.0.1, six python3 HTTP
servers on 127.0.0.1:20001-20006 answer every request (those under /hold after 2 s), and
clients bind to 127.0.0.1 or to 198.51.100.10-40 added to the namespace's lo. The chosen
server comes back in the X-Srv response header (%[srv_name]). No other address is used.

Each golden holds the backend's configuration lines and the steps:
  {"op": "req", "src", "uri", "headers", "got"}   a request answered at once ("got": server)
  {"op": "hold", ...same...}                     a request the server holds until "wait"
  {"op": "wait"}                                 all held requests are answered ("got" filled)
  {"op": "weight", "server", "weight"}           `set server be/srv weight N` on the CLI
  {"op": "state", "server", "up"}                `set server be/srv state ready|maint`

Known haproxy 2.6 quirk: `hdr(host) use_domain_only` looks at the byte just past the header
value; when stale buffer memory there is a '.', the hashed label changes (seen once:
x.example.com hashed "com" instead of "example"). A re-recording may flip such a choice; the
committed hdr_host_domain golden is the run where that byte was not a dot.
"""
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "haproxy", "balance")
NS = f"hbl-rec-{os.getpid()}"
BASE_PORT = 18300
SRV_PORT = 20000
SOURCES = ["127.0.0.1"] + [f"198.51.100.{i}" for i in range(10, 41)]
PATHS = [
    "/", "/url1", "/url2", "/url3", "/index.html", "/a/b/c", "/a/b/d?x=1",
    "/a/c?x=2&userid=bob", "/img/logo.png", "/api/v1/users?id=7", "/api/v2/items",
    "/x?y", "/long/path/with/many/segments/here?q=1", "/%41b", "/a//b///c",
    "http://example.com/url1?q=2", "http://example.org/a/b/c",
]


def servers(*weights, extra=None):
    """`server sN` lines for the given weights (None = default weight)."""
    extra = extra or {}
    out = []
    for i, w in enumerate(weights, 1):
        line = f"server s{i} 127.0.0.1:{SRV_PORT + i}"
        if w is not None:
            line += f" weight {w}"
        if i in extra:
            line += " " + extra[i]
        out.append(line)
    return out


def reqs(n, **kw):
    return [dict(op="req", **kw) for _ in range(n)]


def per_src(**kw):
    return [dict(op="req", src=s, **kw) for s in SOURCES]


def per_path(paths=PATHS):
    return [dict(op="req", uri=p) for p in paths]


def op(kind, server, value):
    key = "weight" if kind == "weight" else "up"
    return {"op": kind, "server": server, key: value}


HOLD = dict(op="hold", uri="/hold")
WAIT = {"op": "wait"}

SCENARIOS = {
    "rr_123": (["balance roundrobin"] + servers(1, 2, 3), reqs(24)),
    "rr_equal4": (["balance roundrobin"] + servers(1, 1, 1, 1), reqs(10)),
    "rr_31": (["balance roundrobin"] + servers(3, 1), reqs(12)),
    "rr_big": (["balance roundrobin"] + servers(10, 7, 3, 1), reqs(63)),
    "rr_zero_backup": (
        ["balance roundrobin"] + servers(2, 0, 1) + ["server b1 127.0.0.1:20004 backup"],
        reqs(9),
    ),
    "rr_runtime": (
        ["balance roundrobin"] + servers(1, 2, 3),
        reqs(7) + [op("weight", "s2", 5)] + reqs(12) + [op("state", "s3", False)] + reqs(8)
        + [op("state", "s3", True)] + reqs(12) + [op("weight", "s1", 0)] + reqs(6)
        + [op("weight", "s1", 2)] + reqs(10),
    ),
    "rr_backup": (
        ["balance roundrobin"] + servers(1)
        + ["server b1 127.0.0.1:20002 backup", "server b2 127.0.0.1:20003 backup weight 2"],
        reqs(3) + [op("state", "s1", False)] + reqs(6) + [op("state", "b1", False)] + reqs(4)
        + [op("state", "b1", True)] + reqs(3) + [op("state", "s1", True)] + reqs(3),
    ),
    "rr_allbackups": (
        ["balance roundrobin", "option allbackups"] + servers(1)
        + ["server b1 127.0.0.1:20002 backup", "server b2 127.0.0.1:20003 backup weight 2"],
        reqs(2) + [op("state", "s1", False)] + reqs(9),
    ),
    "srr_123": (["balance static-rr"] + servers(1, 2, 3), reqs(18)),
    "srr_gcd": (["balance static-rr"] + servers(2, 4, 6), reqs(12)),
    "srr_532": (["balance static-rr"] + servers(5, 3, 2), reqs(20)),
    "srr_runtime": (
        ["balance static-rr"] + servers(1, 2, 3),
        reqs(5) + [op("state", "s2", False)] + reqs(5) + [op("state", "s2", True)] + reqs(8),
    ),
    "srr_backups": (
        ["balance static-rr"] + servers(1, extra={1: "disabled"})
        + ["server b1 127.0.0.1:20002 backup weight 2", "server b2 127.0.0.1:20003 backup weight 3"],
        reqs(10),
    ),
    "lc_seq": (["balance leastconn"] + servers(1, 1, 1), reqs(9)),
    "lc_weights": (["balance leastconn"] + servers(1, 2, 3), reqs(12)),
    "lc_hold": (
        ["balance leastconn"] + servers(1, 1, 1),
        [HOLD, HOLD] + reqs(3) + [HOLD] + reqs(2) + [WAIT] + reqs(4),
    ),
    "lc_hold_weights": (
        ["balance leastconn"] + servers(1, 2, 3),
        [HOLD] * 4 + reqs(4) + [WAIT] + reqs(3),
    ),
    "first": (
        ["balance first"] + servers(None, None, None, extra={1: "maxconn 2", 2: "maxconn 1"}),
        reqs(3) + [HOLD] * 4 + reqs(2) + [WAIT] + reqs(2),
    ),
    "first_ids": (
        ["balance first"]
        + servers(None, None, None, extra={1: "id 3 maxconn 1", 2: "id 1 maxconn 1"}),
        reqs(2) + [HOLD] * 2 + reqs(2) + [WAIT] + reqs(1),
    ),
    "src_map4": (["balance source"] + servers(1, 1, 1, 1), per_src()),
    "src_map123": (["balance source"] + servers(1, 2, 3), per_src()),
    "src_avalanche": (
        ["balance source", "hash-type map-based sdbm avalanche"] + servers(1, 1, 1, 1), per_src()
    ),
    "src_consistent": (
        ["balance source", "hash-type consistent sdbm avalanche"] + servers(1, 1, 1, 1),
        per_src(),
    ),
    "src_consistent_bare": (
        ["balance source", "hash-type consistent"] + servers(1, 1, 1, 1), per_src()
    ),
    "src_consistent_w": (
        ["balance source", "hash-type consistent sdbm avalanche"] + servers(1, 2, 3),
        per_src() + [op("state", "s2", False)] + per_src(),
    ),
    "uri_default": (["balance uri"] + servers(1, 1, 1, 1), per_path()),
    "uri_weights": (["balance uri"] + servers(1, 2, 3), per_path()),
    "uri_whole": (["balance uri whole"] + servers(1, 1, 1, 1), per_path()),
    "uri_len3": (["balance uri len 3"] + servers(1, 1, 1, 1), per_path()),
    "uri_depth2": (["balance uri depth 2"] + servers(1, 1, 1, 1), per_path()),
    "uri_path_only": (["balance uri path-only"] + servers(1, 1, 1, 1), per_path()),
    "uri_whole_depth1": (["balance uri whole depth 1"] + servers(1, 1, 1, 1), per_path()),
    "uri_djb2": (["balance uri", "hash-type map-based djb2"] + servers(1, 1, 1, 1), per_path()),
    "uri_wt6": (["balance uri", "hash-type map-based wt6"] + servers(1, 1, 1, 1), per_path()),
    "uri_crc32": (["balance uri", "hash-type map-based crc32"] + servers(1, 1, 1, 1), per_path()),
    "uri_sdbm_avalanche": (
        ["balance uri", "hash-type map-based sdbm avalanche"] + servers(1, 1, 1, 1), per_path()
    ),
    "uri_consistent": (
        ["balance uri", "hash-type consistent sdbm avalanche"] + servers(1, 1, 1, 1), per_path()
    ),
    "uri_consistent_plain": (
        ["balance uri", "hash-type consistent sdbm"] + servers(1, 1, 1, 1), per_path()
    ),
    "uri_consistent_djb2": (
        ["balance uri", "hash-type consistent djb2 avalanche"] + servers(2, 1, 3), per_path()
    ),
    "url_param": (
        ["balance url_param userid"] + servers(1, 1, 1, 1),
        per_path([
            "/?userid=alice", "/a?x=1&userid=bob", "/?userid=carol&userid=dave", "/p?userid=",
            "/?userids=zz", "/noquery", "/?xuserid=1", "/?userid=alice&x=9", "/?userid=eve",
            "/?a=b&c=d", "/?userid=alice", "/q?userid=mallory",
        ]),
    ),
    "hdr_key": (
        ["balance hdr(X-Key)"] + servers(1, 1, 1, 1),
        [dict(op="req", headers={"X-Key": v} if v is not None else {})
         for v in ["alpha", "beta", "gamma", None, "delta", "alpha, beta", " beta ", None,
                   "epsilon", "", "zeta", "alpha"]],
    ),
    "hdr_host_domain": (
        ["balance hdr(host) use_domain_only"] + servers(1, 1, 1, 1),
        [dict(op="req", host=h)
         for h in ["www.example.com", "example.com", "a.b.example.org", "localhost", "foo.bar",
                   "www.example.net", "x.example.com", "mail.google.com", ".com", "a.b"]],
    ),
    "hdr_consistent_fallback": (
        ["balance hdr(X-Key)", "hash-type consistent sdbm avalanche"] + servers(1, 2, 1),
        [dict(op="req", headers={"X-Key": v} if v is not None else {})
         for v in [None, None, "alpha", None, "beta", None, None, None, "alpha", None, None]],
    ),
    "lc_backup": (
        ["balance leastconn"] + servers(1)
        + ["server b1 127.0.0.1:20002 backup", "server b2 127.0.0.1:20003 backup"],
        reqs(2) + [op("state", "s1", False)] + [HOLD] * 2 + reqs(2) + [WAIT]
        + [op("state", "b1", False)] + reqs(2),
    ),
    "hdr_host_plain": (
        ["balance hdr(host)"] + servers(1, 1, 1, 1),
        [dict(op="req", host=h)
         for h in ["www.example.com", "example.com", "a.b.example.org", "localhost", "foo.bar"]],
    ),
}


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers every request; /hold ones after a delay, so the connection stays counted."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/hold"):
            time.sleep(2.0)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def config(sock):
    out = ["global", "    nbthread 1", f"    stats socket {sock} level admin",
           "defaults", "    mode http", "    timeout connect 2s", "    timeout client 10s",
           "    timeout server 10s"]
    for i, (name, (lines, _)) in enumerate(SCENARIOS.items()):
        out += [f"frontend fe_{name}", f"    bind 127.0.0.1:{BASE_PORT + i}",
                f"    default_backend {name}", f"backend {name}",
                "    http-response set-header X-Srv %[srv_name]"]
        out += ["    " + line for line in lines]
    return "\n".join(out) + "\n"


def send(port, step):
    """Opens a connection and sends the request; returns the socket."""
    s = socket.socket()
    s.settimeout(8)
    s.bind((step.get("src", "127.0.0.1"), 0))
    s.connect(("127.0.0.1", port))
    uri = step.get("uri", "/")
    # haproxy 2.6 refuses an absolute-form URI whose authority differs from Host.
    host = uri.split("/")[2] if uri.startswith("http://") else "lb.test"
    head = f"GET {uri} HTTP/1.1\r\nHost: {step.get('host', host)}\r\n"
    for k, v in step.get("headers", {}).items():
        head += f"{k}: {v}\r\n"
    s.sendall((head + "Connection: close\r\n\r\n").encode())
    return s


def answer(s):
    """Reads the response until close; the server name or <NOSRV>."""
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"x-srv:"):
            return line.split(b":", 1)[1].strip().decode()
    return "<NOSRV>"


def cli(sock, cmd):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(3)
    c.connect(sock)
    c.sendall((cmd + "\n").encode())
    reply = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        reply += chunk
    c.close()
    if reply.strip():
        raise RuntimeError(f"{cmd}: {reply!r}")


def run_scenario(port, name, steps, sock):
    held = []
    for step in steps:
        kind = step["op"]
        if kind in ("req", "hold"):
            s = send(port, step)
            if kind == "req":
                step["got"] = answer(s)
                time.sleep(0.01)  # let haproxy free the stream before the next pick
            else:
                held.append((step, s))
                time.sleep(0.2)  # the request must reach its server first
        elif kind == "wait":
            for st, s in held:
                st["got"] = answer(s)
            held = []
            time.sleep(0.05)
        elif kind == "weight":
            cli(sock, f"set server {name}/{step['server']} weight {step['weight']}")
        elif kind == "state":
            state = "ready" if step["up"] else "maint"
            cli(sock, f"set server {name}/{step['server']} state {state}")
    if held:
        raise RuntimeError(f"{name}: held requests never waited for")


def inner():
    for i in range(10, 41):
        subprocess.run(["ip", "addr", "add", f"198.51.100.{i}/32", "dev", "lo"], check=True)
    backends = []
    for i in range(1, 7):
        srv = Server(("127.0.0.1", SRV_PORT + i), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        backends.append(srv)
    tmp = tempfile.mkdtemp(prefix="hbl-rec-")
    sock = os.path.join(tmp, "admin.sock")
    cfg = os.path.join(tmp, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(config(sock))
    proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
    try:
        for _ in range(50):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError("haproxy refused the configuration")
        os.makedirs(OUT, exist_ok=True)
        for i, (name, (lines, steps)) in enumerate(SCENARIOS.items()):
            steps = [dict(s) for s in steps]
            run_scenario(BASE_PORT + i, name, steps, sock)
            with open(os.path.join(OUT, f"{name}.json"), "w") as f:
                json.dump({"scenario": name, "backend": lines, "steps": steps}, f, indent=1)
                f.write("\n")
            print(name, " ".join(s.get("got", "-") for s in steps if "got" in s))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        for b in backends:
            b.shutdown()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner()
        return
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, __file__, "--inner"])
        sys.exit(r.returncode)
    finally:
        subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
