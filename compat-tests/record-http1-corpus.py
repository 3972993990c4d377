#!/usr/bin/env python3
"""Records the HTTP/1 request corpus and the built-in error pages from the real haproxy 2.6.

Run as root from the repository root:  python3 compat-tests/record-http1-corpus.py
It writes fixtures/haproxy/http1-corpus/ (see the README there). Everything runs on the
loopback of one network namespace it creates (hht-rec-<pid>) and deletes on exit; no other
address is ever used. haproxy is started as our child and killed by its pid.

Per request case, three files: request.bin (what the client sent), response.bin (what the
client got back, until the expected number of responses or the close), backend.bin (what
the recorder behind haproxy received; empty when haproxy stopped the request). Per response
case: request.bin, server.bin (what the recorder answered) and response.bin.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "haproxy", "http1-corpus")
FE, FE_ERR, FE_NOSRV, FE_FILE, BE = 18080, 18081, 18082, 18083, 19000

CONFIG = f"""
global
    log stdout format raw local0 err
defaults
    mode http
    option http-keep-alive
    timeout connect 1s
    timeout client 3s
    timeout server 2s
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:{FE}
    default_backend be
frontend fe_err
    bind 127.0.0.1:{FE_ERR}
    http-request deny deny_status 400 if {{ path /400 }}
    http-request deny deny_status 401 if {{ path /401 }}
    http-request deny deny_status 403 if {{ path /403 }}
    http-request deny deny_status 404 if {{ path /404 }}
    http-request deny deny_status 405 if {{ path /405 }}
    http-request deny deny_status 407 if {{ path /407 }}
    http-request deny deny_status 408 if {{ path /408 }}
    http-request deny deny_status 410 if {{ path /410 }}
    http-request deny deny_status 413 if {{ path /413 }}
    http-request deny deny_status 425 if {{ path /425 }}
    http-request deny deny_status 429 if {{ path /429 }}
    http-request deny deny_status 500 if {{ path /500 }}
    http-request deny deny_status 501 if {{ path /501 }}
    http-request deny deny_status 502 if {{ path /502 }}
    http-request deny deny_status 503 if {{ path /503 }}
    http-request deny deny_status 504 if {{ path /504 }}
    default_backend be
frontend fe_nosrv
    bind 127.0.0.1:{FE_NOSRV}
    default_backend nosrv
frontend fe_file
    bind 127.0.0.1:{FE_FILE}
    errorfile 400 {{dir}}/400.http
    errorfile 403 {{dir}}/403.http
    errorfile 503 {{dir}}/503.http
    http-request deny if {{ path /403 }}
    default_backend nosrv
backend be
    server s1 127.0.0.1:{BE}
backend nosrv
"""

# Errorfiles with unusual case and no Content-Length: shows whether haproxy sends them raw.
ERRORFILES = {
    "400": b"HTTP/1.0 400 Bad Request\r\nX-Custom: Four\r\nConnection: close\r\n\r\nbad!\n",
    "403": b"HTTP/1.1 403 Nope\r\nX-Custom: Three\r\nContent-Length: 5\r\n\r\nnope\n",
    "503": b"HTTP/1.1 503 Down\r\nX-Custom: Five\r\nContent-Length: 5\r\n\r\ndown\n",
}

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"

H = b"Host: a\r\n"


def chunked(*parts, trailer=b""):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


def many_headers(n):
    return b"".join(b"X-H%d: v\r\n" % i for i in range(n))


# (name, request bytes, expected responses). Valid requests first, then malformed ones.
CASES = [
    ("get-simple", b"GET / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("get-headers-case-order", b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: T/1\r\nX-Custom-Header: Value\r\nACCEPT: */*\r\nx-lower: v\r\n\r\n", 1),
    ("http10-no-keepalive", b"GET / HTTP/1.0\r\n\r\n", 1),
    ("http10-keepalive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1),
    ("http10-host", b"GET /x HTTP/1.0\r\nHost: a\r\n\r\n", 1),
    ("post-content-length", b"POST /f HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello", 1),
    ("post-cl-zero", b"POST /f HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n", 1),
    ("post-no-length", b"POST /f HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("post-chunked", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"hello", b" world"), 1),
    ("chunked-extension", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;foo=bar\r\nhello\r\n0\r\n\r\n", 1),
    ("chunked-trailers", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"abc", trailer=b"X-Trailer: t\r\nX-Other: u\r\n"), 1),
    ("chunked-upper-hex-leading-zeros", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\n000\r\n\r\n", 1),
    ("chunked-te-case", b"POST /c HTTP/1.1\r\n" + H + b"transfer-encoding: Chunked\r\n\r\n" + chunked(b"xy"), 1),
    ("head", b"HEAD / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("pipelined-two-gets", b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n", 2),
    ("pipelined-post-get", b"POST /1 HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n" + H + b"\r\n", 2),
    ("expect-100-continue", b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", 1),
    ("absolute-uri", b"GET http://a/x?y HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("absolute-uri-host-mismatch", b"GET http://b/x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("absolute-uri-no-host", b"GET http://b/x HTTP/1.1\r\n\r\n", 1),
    ("options-asterisk", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("custom-method", b"PURGE /x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("lowercase-method", b"get / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("missing-host-http11", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 1),
    ("duplicate-host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 1),
    ("long-header-8k", b"GET / HTTP/1.1\r\n" + H + b"X-Long: " + b"a" * 8000 + b"\r\n\r\n", 1),
    ("headers-100", b"GET / HTTP/1.1\r\n" + many_headers(100) + b"\r\n", 1),
    ("headers-101", b"GET / HTTP/1.1\r\n" + many_headers(101) + b"\r\n", 1),
    ("bare-lf", b"GET /lf HTTP/1.1\nHost: a\nX-A: b\n\n", 1),
    ("no-space-after-colon", b"GET / HTTP/1.1\r\nHost:a\r\nX-A:\tb\r\n\r\n", 1),
    ("value-trailing-spaces", b"GET / HTTP/1.1\r\n" + H + b"X-A:   v  w \t \r\n\r\n", 1),
    ("empty-value", b"GET / HTTP/1.1\r\n" + H + b"X-Empty:\r\nX-Sp: \r\n\r\n", 1),
    ("utf8-value", b"GET / HTTP/1.1\r\n" + H + b"X-U: caf\xc3\xa9\r\n\r\n", 1),
    ("leading-crlf", b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("connection-close", b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", 1),
    ("connection-tokens", b"GET / HTTP/1.1\r\n" + H + b"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n", 1),
    ("upgrade-websocket", b"GET /ws HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 1),
    ("cl-duplicate-same", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 1),
    ("cl-list-same", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc", 1),
    ("cl-leading-zeros", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 003\r\n\r\nabc", 1),
    ("te-and-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"abc"), 1),
    ("te-gzip-chunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"abc"), 1),
    ("te-http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"abc"), 1),
    ("version-http05", b"GET / HTTP/0.5\r\n" + H + b"\r\n", 1),
    ("tabs-in-request-line", b"GET\t/\tHTTP/1.1\r\n" + H + b"\r\n", 1),
    ("chunked-bare-lf", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\nX-T: a\n\n", 1),
    ("chunked-blank-before-ext", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3 ;x=\x01y\r\nabc\r\n0;e=1\r\n\r\n", 1),
    ("chunk-size-2p52-minus-1-zeros", b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0000000000000000000003\r\nabc\r\n0\r\n\r\n", 1),
    ("absolute-uri-default-port", b"GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n", 1),
    ("absolute-uri-https-default-port", b"GET https://[::1]:443/x HTTP/1.1\r\nHost: [::1]\r\n\r\n", 1),
    ("absolute-uri-host-default-port", b"GET http://a/x HTTP/1.1\r\nHost: A:80\r\n\r\n", 1),
    ("absolute-uri-userinfo", b"GET http://u@a/x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("relative-no-slash-matching-host", b"GET a/b HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("relative-no-slash-no-host", b"GET x HTTP/1.1\r\n\r\n", 1),
    ("host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 1),
    ("duplicate-host-same-value", b"GET / HTTP/1.1\r\nHost: a\r\nhost: A\r\n\r\n", 1),
    ("connection-rebuilt", b"GET / HTTP/1.1\r\n" + H + b"Connection: KEEP-ALIVE , foo ,bar\r\n\r\n", 1),
    ("connection-two-fields", b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\nConnection: foo\r\n\r\n", 1),
    ("http10-connection-close", b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 1),
    ("http10-connection-other", b"GET / HTTP/1.0\r\nConnection: foo\r\n\r\n", 1),
    ("hop-by-hop-kept", b"GET / HTTP/1.1\r\n" + H + b"Proxy-Connection: close\r\nKeep-Alive: 300\r\nTE: trailers\r\n\r\n", 1),
    ("websocket-with-key", b"GET /ws HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 1),
    ("upgrade-without-connection", b"GET /ws HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\n\r\n", 1),
    ("upgrade-h2c", b"GET / HTTP/1.1\r\n" + H + b"Upgrade: h2c\r\nConnection: upgrade\r\n\r\n", 1),
    ("connect-default-port", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 1),
    # Malformed.
    ("connect-no-port", b"CONNECT a HTTP/1.1\r\n\r\n", 1),
    ("relative-no-slash-other-host", b"GET x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("absolute-uri-other-scheme", b"GET ftp://b/x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("absolute-uri-other-port", b"GET http://a:8080/x HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("uri-fragment", b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("version-1-10", b"GET / HTTP/1.10\r\n" + H + b"\r\n", 1),
    ("version-not-http", b"GET / TTTT/1.1\r\n" + H + b"\r\n", 1),
    ("version-trailing-space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", 1),
    ("cl-2p63", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 9223372036854775808\r\n\r\nabc", 1),
    ("cl-trailing-comma", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3,\r\n\r\nabc", 1),
    ("te-empty", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: \r\n\r\n", 1),
    ("te-identity", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n", 1),
    ("te-two-fields-gzip-chunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1),
    ("websocket-no-key", b"GET /ws HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: Upgrade, keep-alive\r\n\r\n", 1),
    ("chunk-size-2p52", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000\r\nabc", 1),
    ("chunk-size-leading-space", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 1),
    ("chunk-size-bare-cr", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n", 1),
    ("trailer-no-colon", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nbad trailer\r\n\r\n", 1),
    ("cl-duplicate-different", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 1),
    ("cl-list-different", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 4\r\n\r\nabcd", 1),
    ("cl-invalid", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n", 1),
    ("cl-negative", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 1),
    ("cl-plus-sign", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc", 1),
    ("cl-overflow", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n", 1),
    ("cl-empty", b"POST / HTTP/1.1\r\n" + H + b"Content-Length:\r\n\r\n", 1),
    ("te-chunked-gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n" + chunked(b"abc"), 1),
    ("te-gzip-only", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nabc", 1),
    ("te-chunked-twice", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked(b"abc"), 1),
    ("chunk-size-invalid", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 1),
    ("chunk-size-overflow", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nabc\r\n0\r\n\r\n", 1),
    ("chunk-missing-crlf", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n", 1),
    ("chunk-size-space", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 1),
    ("chunk-size-empty", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", 1),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n  b\r\n\r\n", 1),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 1),
    ("nul-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 1),
    ("ctl-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x01b\x7fc\r\n\r\n", 1),
    ("cr-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 1),
    ("invalid-name-char", b"GET / HTTP/1.1\r\n" + H + b"X(A): b\r\n\r\n", 1),
    ("empty-name", b"GET / HTTP/1.1\r\n" + H + b": b\r\n\r\n", 1),
    ("header-no-colon", b"GET / HTTP/1.1\r\n" + H + b"Foo\r\n\r\n", 1),
    ("leading-space-first-header", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 1),
    ("version-http2", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 1),
    ("version-http12", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 1),
    ("version-garbage", b"GET / HTTP/1.1x\r\n" + H + b"\r\n", 1),
    ("version-lowercase", b"GET / http/1.1\r\n" + H + b"\r\n", 1),
    ("http09", b"GET /\r\n\r\n", 1),
    ("space-in-uri", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("double-space-request-line", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("method-invalid-char", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("uri-ctl", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("uri-high-bit", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("request-line-15000", b"GET /" + b"a" * 15000 + b" HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("request-line-16000", b"GET /" + b"a" * 16000 + b" HTTP/1.1\r\n" + H + b"\r\n", 1),
    ("raw-head-16320", b"GET / HTTP/1.1\r\nX: a" + b" " * 16296 + b"\r\n\r\n", 1),
    ("raw-head-16321", b"GET / HTTP/1.1\r\nX: a" + b" " * 16297 + b"\r\n\r\n", 1),
    ("htx-15275", b"GET /" + b"a" * 15263 + b" HTTP/1.1\r\n\r\n", 1),
    ("htx-15276", b"GET /" + b"a" * 15264 + b" HTTP/1.1\r\n\r\n", 1),
    ("headers-total-16k", b"GET / HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 8000 + b"\r\nX-B: " + b"b" * 8000 + b"\r\n\r\n", 1),
    ("headers-102", b"GET / HTTP/1.1\r\n" + many_headers(102) + b"\r\n", 1),
    ("incomplete-timeout-408", b"GET / HTTP/1.1\r\n" + H, 1),
]

GET_R = b"GET /r HTTP/1.1\r\n" + H + b"\r\n"

# (name, request, what the server answers, whether it closes after). The client gets
# haproxy's rendering of it: response.bin.
RESPONSE_CASES = [
    ("content-length", GET_R, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Case: Value\r\n\r\nok", False),
    ("close-delimited", GET_R, b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nclose-delimited", True),
    ("close-delimited-http10-client", b"GET /r HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nbody", True),
    ("chunked-rechunked", GET_R, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n", False),
    ("te-and-cl", GET_R, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", False),
    ("obs-fold", GET_R, b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok", False),
    ("http10-server", GET_R, b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ("http20-version", GET_R, b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ("no-reason", GET_R, b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", False),
    ("four-digit-status", GET_R, b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ("204-with-cl", GET_R, b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n", False),
    ("304-with-cl", GET_R, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n", False),
    ("head-with-cl", b"HEAD /r HTTP/1.1\r\n" + H + b"\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", False),
    ("interim-100", GET_R, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ("connection-tokens-ctl", GET_R, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, foo\r\nX-N: \x01\r\n\r\nok", False),
    ("cl-duplicate-same", GET_R, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", False),
    # Refused: 502.
    ("te-gzip", GET_R, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", True),
    ("te-gzip-chunked", GET_R, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", False),
    ("cl-duplicate-different", GET_R, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", False),
    ("bad-header-name", GET_R, b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok", False),
    ("garbage", GET_R, b"garbage\r\n\r\n", True),
    ("bad-chunk-size", GET_R, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", False),
    ("version-lowercase", GET_R, b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
]


class Recorder:
    """The backend: stores the exact bytes of each request it reads, answers OK."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = b""
        # (bytes, close after) to answer instead of OK, for the response cases.
        self.response = None
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", BE))
        self.sock.listen(64)
        threading.Thread(target=self.accept, daemon=True).start()

    def take(self):
        with self.lock:
            out, self.log = self.log, b""
        return out

    def accept(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                end = buf.index(b"\r\n\r\n") + 4
                head = buf[:end]
                lines = head.split(b"\r\n")
                fields = {}
                for line in lines[1:]:
                    if b":" in line:
                        k, v = line.split(b":", 1)
                        fields[k.strip().lower()] = v.strip().lower()
                if fields.get(b"expect") == b"100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                buf, body = buf[end:], b""
                if b"chunked" in fields.get(b"transfer-encoding", b""):
                    # Until the last chunk and its (possibly empty) trailer block.
                    while True:
                        m = self._chunked_end(buf)
                        if m is not None:
                            body, buf = buf[:m], buf[m:]
                            break
                        data = conn.recv(65536)
                        if not data:
                            break
                        buf += data
                else:
                    n = int(fields.get(b"content-length", b"0") or b"0")
                    while len(buf) < n:
                        data = conn.recv(65536)
                        if not data:
                            break
                        buf += data
                    body, buf = buf[:n], buf[n:]
                with self.lock:
                    self.log += head + body
                if self.response is not None:
                    # A response case: its bytes as they are, then close if it says so.
                    data, close = self.response
                    conn.sendall(data)
                    if close:
                        return
                elif lines[0].startswith(b"HEAD "):
                    conn.sendall(OK[: OK.index(b"\r\n\r\n") + 4])
                else:
                    conn.sendall(OK)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _chunked_end(buf):
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(buf[pos:eol].split(b";")[0], 16)
            if size == 0:
                end = buf.find(b"\r\n\r\n", eol)
                # "0\r\n\r\n": the trailer block is empty.
                if buf[eol:eol + 4] == b"\r\n\r\n":
                    return eol + 4
                return None if end < 0 else end + 4
            pos = eol + 2 + size + 2
            if pos > len(buf):
                return None


def read_responses(sock, want, head_request, deadline):
    """Reads until `want` final responses are complete, the peer closes, or the deadline."""
    buf, done, pos = b"", 0, 0
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
        except socket.timeout:
            pass
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = buf[pos:end].lower()
            try:
                status = int(head.split(b" ")[1])
                n = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
            except (IndexError, ValueError):
                # Not a response we can frame: keep reading until close or deadline.
                break
            if status < 200 or head_request:
                n = 0
            if end + 4 + n > len(buf):
                break
            pos = end + 4 + n
            if status >= 200:
                done += 1
        if done >= want:
            break
    return buf


def exchange(port, request, want=1, wait=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(request)
        return read_responses(s, want, request.startswith(b"HEAD "), time.monotonic() + wait)
    finally:
        s.close()


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
    """Runs in the namespace: haproxy + recorder, then every case."""
    for code, body in ERRORFILES.items():
        write(os.path.join(work, f"{code}.http"), body)
    cfg = os.path.join(work, "haproxy.cfg")
    write(cfg, CONFIG.replace("{dir}", work).encode())
    rec = Recorder()
    proc = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", cfg])
    try:
        wait_port(FE)
        for i, (name, request, want) in enumerate(CASES):
            rec.take()
            got = exchange(FE, request, want)
            time.sleep(0.1)
            d = os.path.join(OUT, "requests", f"{i:02d}-{name}")
            write(os.path.join(d, "request.bin"), request)
            write(os.path.join(d, "response.bin"), got)
            write(os.path.join(d, "backend.bin"), rec.take())
            first = got.split(b"\r\n", 1)[0].decode(errors="replace")
            print(f"{i:02d} {name}: {first}")
        for i, (name, request, answer, close) in enumerate(RESPONSE_CASES):
            rec.response = (answer, close)
            got = exchange(FE, request)
            rec.response = None
            d = os.path.join(OUT, "responses", f"{i:02d}-{name}")
            write(os.path.join(d, "request.bin"), request)
            write(os.path.join(d, "server.bin"), answer)
            write(os.path.join(d, "response.bin"), got)
            first = got.split(b"\r\n", 1)[0].decode(errors="replace")
            print(f"response {i:02d} {name}: {first}")
        errors = os.path.join(OUT, "errors")
        for code in ["400", "401", "403", "404", "405", "407", "408", "410", "413", "425",
                     "429", "500", "501", "502", "503", "504"]:
            got = exchange(FE_ERR, b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n" % code.encode())
            write(os.path.join(errors, f"deny-{code}.bin"), got)
        write(os.path.join(errors, "nosrv-503.bin"),
              exchange(FE_NOSRV, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        write(os.path.join(errors, "parser-400.bin"),
              exchange(FE, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"))
        write(os.path.join(errors, "timeout-408.bin"),
              exchange(FE, b"GET / HTTP/1.1\r\n"))
        for name, req in [("file-503", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
                          ("file-403", b"GET /403 HTTP/1.1\r\nHost: a\r\n\r\n"),
                          ("file-400", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n")]:
            write(os.path.join(errors, f"{name}.bin"), exchange(FE_FILE, req))
            write(os.path.join(errors, f"{name}.http"), ERRORFILES[name[-3:]])
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
    ns = f"hht-rec-{os.getpid()}"
    work = tempfile.mkdtemp(prefix="hht-rec-")
    shutil.rmtree(os.path.join(OUT, "requests"), ignore_errors=True)
    shutil.rmtree(os.path.join(OUT, "errors"), ignore_errors=True)
    shutil.rmtree(os.path.join(OUT, "responses"), ignore_errors=True)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", work], check=True, timeout=600)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
