#!/usr/bin/env python3
"""Records cookie persistence exchanges through the real haproxy 2.6, as goldens for
src/proxy/cookie (fixtures/haproxy/cookie/<scenario>.json).

Run as root from the repository root:  python3 compat-tests/record-cookie.py
Everything runs inside one network namespace it creates (hck-rec-<pid>) and deletes on
exit; only 127.0.0.1 is used. haproxy (nbthread 1, roundrobin, so choices are
deterministic) has one frontend/backend pair per scenario; three raw python3 backends
(web1 cookie "web1", web2 cookie "web2", bk: backup without a cookie) record the exact
request bytes they receive and answer according to the query string:
  lm    a Last-Modified field (makes the response cacheable)
  cc    Cache-Control: max-age=60        ccp  Cache-Control: private (+ Last-Modified)
  pr    Pragma: no-cache (+ Last-Modified)
  sc    the server's own Set-Cookie for the persistence cookie name
  sc2   another Set-Cookie first, then the server's own one with attributes
  s404  status 404 (+ Last-Modified)      s302  status 302 (+ Last-Modified)

Each exchange stores: the request sent ("request"), the bytes the backend got
("backend_request"), which server got it ("server"), what it answered
("backend_response"), the response the client got
("response") and the client's clock around the exchange ("t0", "t1", UNIX seconds) so the
maxidle/maxlife dates can be replayed. Responses carry no Date field (backends send none).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "haproxy", "cookie")
NS = f"hck-rec-{os.getpid()}"
BASE_PORT = 18400
SERVERS = [("web1", 20201), ("web2", 20202), ("bk", 20203)]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def s30tob64(v):
    """haproxy's 5-character encoding of a 30-bit value (dates are UNIX time / 4)."""
    return "".join(B64[(v >> (6 * (4 - i))) & 63] for i in range(5))


def servers(down=(), backup_down=False, nocookie=False):
    out = []
    for name, port in SERVERS[:2]:
        line = f"server {name} 127.0.0.1:{port}"
        if not nocookie:
            line += f" cookie {name}"
        if name in down:
            line += " disabled"
        out.append(line)
    line = f"server bk 127.0.0.1:{SERVERS[2][1]} backup"
    if backup_down:
        line += " disabled"
    out.append(line)
    return out


def req(uri="/", cookies=(), method="GET", body=None):
    """A request: `cookies` is a list of Cookie field values ({ck} = the cookie name)."""
    return {"method": method, "uri": uri, "cookies": list(cookies), "body": body}


def basic(ck="SERVERID"):
    """The common request set: first visits, right/other/unknown/empty cookies, several
    cookies per field and per head, odd spacing, $-attributes, cacheable responses,
    server cookies and a POST."""
    return [
        req(), req(),
        req(cookies=["{ck}=web1"]), req(cookies=["{ck}=web2"]),
        req(cookies=["{ck}=nope"]), req(cookies=["{ck}="]),
        req(cookies=["a=1; {ck}=web2; b=2"]),
        req(cookies=["a=1", "{ck}=web1; c=3"]),
        req(cookies=["{ck}=web1; z=9"]),
        req(cookies=["x=1; {ck}=web2"]),
        req(cookies=["a = 1 ;  {ck} = web1 ; b=2"]),
        req(cookies=["$Version=1; {ck}=web1; $Path=/"]),
        req(cookies=["flag; {ck}=web2"]),
        req(cookies=["{ck}=web1, a=1"]),
        req("/?lm"), req("/?lm", ["{ck}=web1"]),
        req("/?cc"), req("/?ccp"), req("/?pr"), req("/?s404"), req("/?s302"),
        req("/?sc"), req("/?sc", ["{ck}=web2"]), req("/?sc2"), req("/?sc2", ["{ck}=web1"]),
        req("/?lm", method="HEAD"),
        req("/", method="POST", body="k=v"),
        req("/?lm", ["{ck}=web2"], method="POST", body="k=v"),
    ]


def dated(now):
    d = lambda t: s30tob64(t >> 2)  # noqa: E731
    return [
        req(), req(cookies=["SRV=web1"]),
        req(cookies=[f"SRV=web1|{d(now)}"]),
        req(cookies=[f"SRV=web2|{d(now - 8)}|{d(now - 100)}"]),
        req(cookies=[f"SRV=web1|{d(now - 4000)}|{d(now - 4000)}"]),
        req(cookies=[f"SRV=web1|{d(now - 60)}|{d(now - 9000)}"]),
        req(cookies=[f"SRV=web2|{d(now + 200000)}|{d(now)}"]),
        req(cookies=[f"SRV=web2|{d(now - 60)}|{d(now + 200000)}"]),
        req(cookies=["SRV=web1|abc"]), req(cookies=["SRV=web1|!!!!!|#####"]),
        req(cookies=[f"SRV=nope|{d(now)}|{d(now)}"]),
        req("/?lm", [f"SRV=web1|{d(now)}|{d(now)}"]),
    ]


def scenarios(now):
    return {
        "insert_indirect_nocache": (
            ["cookie SERVERID insert indirect nocache"] + servers(), basic()),
        "insert": (["cookie SERVERID insert"] + servers(), basic()),
        "insert_attrs": (
            ["cookie SRV insert indirect nocache domain .example.com domain .example.org "
             "httponly secure attr SameSite=Lax attr Priority=High"] + servers(),
            basic("SRV")),
        "insert_dates": (
            ["cookie SRV insert indirect maxidle 30m maxlife 2h"] + servers(), dated(now)),
        "insert_maxidle": (["cookie SRV insert maxidle 1h"] + servers(), dated(now)),
        "insert_maxlife": (["cookie SRV insert maxlife 1h"] + servers(), dated(now)),
        "insert_postonly": (["cookie SERVERID insert indirect postonly nocache"] + servers(),
                            basic()),
        "insert_preserve": (["cookie SERVERID insert indirect preserve nocache"] + servers(),
                            basic()),
        "rewrite": (["cookie SERVERID rewrite"] + servers(), basic()),
        "prefix": (
            ["cookie SERVERID prefix"] + servers(),
            basic() + [req(cookies=["SERVERID=web1~abc123"]),
                       req(cookies=["a=1; SERVERID=web2~xyz; b=2"]),
                       req(cookies=["SERVERID=nope~abc"]), req(cookies=["SERVERID=~abc"]),
                       req("/?sc", ["SERVERID=web2~app1"])]),
        "passive": (["cookie SERVERID"] + servers(), basic()),
        "passive_indirect": (["cookie SERVERID indirect"] + servers(), basic()),
        "down": (["cookie SERVERID insert indirect nocache"] + servers(down=("web2",)),
                 basic()),
        "down_persist": (
            ["cookie SERVERID insert indirect nocache", "option persist"]
            + servers(down=("web2",)), basic()),
        "down_redispatch": (
            ["cookie SERVERID insert indirect nocache", "option redispatch"]
            + servers(down=("web2",)), basic()),
        "backup_only": (
            ["cookie SERVERID insert indirect nocache"] + servers(down=("web1", "web2")),
            basic()),
    }


def respond(query):
    flags = set(query.split("&")) if query else set()
    status = "200 OK"
    head = []
    if "s404" in flags:
        status = "404 Not Found"
    if "s302" in flags:
        status = "302 Found"
        head.append("Location: /x")
    if flags & {"lm", "ccp", "pr", "s404", "s302"}:
        head.append("Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT")
    if "cc" in flags:
        head.append("Cache-Control: max-age=60")
    if "ccp" in flags:
        head.append("Cache-Control: private")
    if "pr" in flags:
        head.append("Pragma: no-cache")
    ck = flags_cookie_name[0]
    if "sc" in flags:
        head.append(f"Set-Cookie: {ck}=app1; path=/")
    if "sc2" in flags:
        head.append("Set-Cookie: other=1")
        head.append(f"Set-Cookie: {ck} = app2 ; Path=/app; HttpOnly")
    head.append("X-Backend: yes")
    body = b"ok\n"
    head.append(f"Content-Length: {len(body)}")
    return (f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in head) + "\r\n").encode() + body


flags_cookie_name = ["SERVERID"]  # set per scenario; backends read it
RECORDS = {name: [] for name, _ in SERVERS}


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    return buf[:end], buf[end:]


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def backend(name, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)

    def serve(conn):
        buf = b""
        conn.settimeout(30)
        try:
            for _ in range(1000):
                head, buf = read_head(conn, buf)
                if head is None:
                    return
                n = content_length(head)
                while len(buf) < n:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:n], buf[n:]
                target = head.split(b" ")[1].decode()
                query = target.split("?", 1)[1] if "?" in target else ""
                resp = respond(query)
                if head.startswith(b"HEAD "):
                    resp = resp[: resp.index(b"\r\n\r\n") + 4]
                RECORDS[name].append((head + body, resp))
                conn.sendall(resp)
        except OSError:
            pass
        finally:
            conn.close()

    def accept():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def exchange(port, r, ck):
    head = f"{r['method']} {r['uri']} HTTP/1.1\r\nHost: lb.test\r\nUser-Agent: rec/1\r\n"
    for c in r["cookies"]:
        head += f"Cookie: {c.replace('{ck}', ck)}\r\n"
    body = (r["body"] or "").encode()
    if r["body"] is not None:
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    sent = head.encode() + b"\r\n" + body
    before = {n: len(v) for n, v in RECORDS.items()}
    t0 = int(time.time())
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(sent)
    rhead, rest = read_head(s, b"")
    if rhead is None:
        raise RuntimeError(f"no response on {port} for {sent!r}")
    n = 0 if r["method"] == "HEAD" else content_length(rhead)
    while len(rest) < n:
        rest += s.recv(65536)
    s.close()
    t1 = int(time.time())
    got = [n for n, v in RECORDS.items() if len(v) > before[n]]
    server = got[0] if len(got) == 1 else None
    at_backend, answer = RECORDS[server][-1] if server else (None, None)
    return {
        "request": sent.decode("latin-1"),
        "server": server,
        "backend_request": at_backend.decode("latin-1") if at_backend else None,
        "backend_response": answer.decode("latin-1") if answer else None,
        "response": (rhead + rest).decode("latin-1"),
        "t0": t0,
        "t1": t1,
    }


def config(all_scen):
    out = ["global", "    nbthread 1", "defaults", "    mode http", "    timeout connect 2s",
           "    timeout client 10s", "    timeout server 10s", "    retries 1"]
    for i, (name, (lines, _)) in enumerate(all_scen.items()):
        out += [f"frontend fe_{name}", f"    bind 127.0.0.1:{BASE_PORT + i}",
                f"    default_backend {name}", f"backend {name}", "    balance roundrobin"]
        out += ["    " + line for line in lines]
    return "\n".join(out) + "\n"


def inner():
    for name, port in SERVERS:
        backend(name, port)
    now = int(time.time())
    all_scen = scenarios(now)
    tmp = tempfile.mkdtemp(prefix="hck-rec-")
    cfg = os.path.join(tmp, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(config(all_scen))
    proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError("haproxy refused the configuration")
        os.makedirs(OUT, exist_ok=True)
        for i, (name, (lines, reqs)) in enumerate(all_scen.items()):
            ck = lines[0].split()[1]
            flags_cookie_name[0] = ck
            steps = [exchange(BASE_PORT + i, r, ck) for r in reqs]
            with open(os.path.join(OUT, f"{name}.json"), "w") as f:
                json.dump({"scenario": name, "backend": ["balance roundrobin"] + lines,
                           "exchanges": steps}, f, indent=1)
                f.write("\n")
            print(name, " ".join(s["server"] or "-" for s in steps))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner()
        return
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, __file__, "--inner"],
                           timeout=600)
        sys.exit(r.returncode)
    finally:
        subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
