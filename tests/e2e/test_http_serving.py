"""Plain HTTP: --staticdir, --cgidir and --devconsole (reference §2 items
2-6), with real clients: http.client, raw sockets (exact bytes, pipelining,
traversal attempts) and curl when it is installed."""
import email.utils
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (CHILD, IS_WEBSOCKETD, RawClient, is_alive, vm_rss_kb, wait_gone,
                      wait_until)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd-specific expectations")


# --------------------------------------------------------------------------
# helpers

def write(p, data, mode=None, mtime=None):
    p = Path(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        p.chmod(mode)
    if mtime is not None:
        os.utime(p, (mtime, mtime))
    return p


def script(p, body):
    return write(p, "#!/bin/sh\n" + body, 0o755)


def get(port, path, method="GET", headers=None, body=None):
    """One request on a fresh connection: (status, {header: value}, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def raw(port, data, timeout=5.0):
    """Sends raw bytes, reads until the server closes (or `timeout`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            out += d
        return out
    finally:
        s.close()


def parse_responses(data, methods=()):
    """Splits a byte stream into [(status, headers, body)] using Content-Length
    (no body for a response to HEAD: `methods` lists the requests' methods)."""
    out = []
    methods = list(methods)
    while data:
        method = methods.pop(0) if methods else "GET"
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"incomplete head: {data[:300]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", len(rest) if status != 304 else 0))
        if method == "HEAD":
            n = 0
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def req(path, method="GET", extra=""):
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


@pytest.fixture
def site(tmp_path):
    """A static tree, a CGI dir and a file outside both."""
    st = tmp_path / "static"
    write(st / "a.txt", "hello world\n")
    write(st / "page.html", "<p>hi</p>")
    write(st / "style.css", "p{}")
    write(st / "app.js", "1;")
    write(st / "data.json", "{}")
    write(st / "img.png", b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    write(st / "blob.weird", b"\x00\x01\x02")
    write(st / "empty.txt", "")
    write(st / "ten.txt", "0123456789", mtime=1_600_000_000)
    write(st / "sub" / "index.html", "<h1>sub index</h1>")
    write(st / "noindex" / "x.txt", "x")
    write(st / ".hidden", "secret-dotfile")
    write(st / ".git" / "config", "secret-git")
    write(tmp_path / "outside.txt", "OUTSIDE-SECRET")
    os.symlink(tmp_path / "outside.txt", st / "escape.txt")
    os.symlink(st / "a.txt", st / "inside-link.txt")
    cg = tmp_path / "cgi"
    cg.mkdir()
    script(tmp_path / "outside.cgi", f"echo ran > {tmp_path}/outside-ran\n"
           "printf 'Content-Type: text/plain\\n\\nOUTSIDE-CGI\\n'\n")
    return tmp_path


# --------------------------------------------------------------------------
# --staticdir

def test_static_types_lengths_and_log(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    expect = {
        "/a.txt": ("text/plain; charset=utf-8", b"hello world\n"),
        "/page.html": ("text/html; charset=utf-8", b"<p>hi</p>"),
        "/style.css": ("text/css; charset=utf-8", b"p{}"),
        "/app.js": ("text/javascript; charset=utf-8", b"1;"),
        "/data.json": ("application/json", b"{}"),
        "/img.png": ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(64))),
        "/blob.weird": ("application/octet-stream", b"\x00\x01\x02"),
        "/empty.txt": ("text/plain; charset=utf-8", b""),
    }
    for path, (ctype, body) in expect.items():
        st, h, data = get(srv.port, path)
        assert st == 200, path
        assert h["content-type"].replace(" ", "") == ctype.replace(" ", ""), path
        assert h["content-length"] == str(len(body))
        assert h["accept-ranges"] == "bytes"
        assert data == body
    srv.wait_log(r"\| ACCESS \| http +\| url:'http://127\.0\.0\.1:\d+/a\.txt'.* \| STATIC$")
    log = srv.log()
    assert f"| INFO   | server     |  | Serving static content from : {site / 'static'}" in log
    assert f"| INFO   | server     |  | Serving CGI or static files : http://127.0.0.1:{srv.port}/" in log


def test_static_last_modified_and_304(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    st, h, _ = get(srv.port, "/ten.txt")
    assert st == 200
    assert h["last-modified"] == email.utils.formatdate(1_600_000_000, usegmt=True)
    st, h, data = get(srv.port, "/ten.txt", headers={"If-Modified-Since": h["last-modified"]})
    assert st == 304 and data == b""
    assert "content-type" not in h
    later = email.utils.formatdate(1_700_000_000, usegmt=True)
    assert get(srv.port, "/ten.txt", headers={"If-Modified-Since": later})[0] == 304
    earlier = email.utils.formatdate(1_500_000_000, usegmt=True)
    st, _, data = get(srv.port, "/ten.txt", headers={"If-Modified-Since": earlier})
    assert st == 200 and data == b"0123456789"


def test_static_range_206_and_416(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    st, h, data = get(srv.port, "/ten.txt", headers={"Range": "bytes=2-5"})
    assert st == 206 and data == b"2345"
    assert h["content-range"] == "bytes 2-5/10" and h["content-length"] == "4"
    st, h, data = get(srv.port, "/ten.txt", headers={"Range": "bytes=-3"})
    assert st == 206 and data == b"789"
    st, h, data = get(srv.port, "/ten.txt", headers={"Range": "bytes=7-"})
    assert st == 206 and data == b"789"
    st, h, data = get(srv.port, "/ten.txt", headers={"Range": "bytes=20-30"})
    assert st == 416 and data == b""
    assert h["content-range"] == "bytes */10"


def test_static_head_sends_no_body(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    # HEAD then GET on one connection: if the HEAD carried a body, the GET's
    # response would be misparsed.
    out = raw(srv.port, req("/ten.txt", "HEAD") + req("/a.txt", extra="Connection: close\r\n"))
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 10\r\n" in head
    assert rest.startswith(b"HTTP/1.1 200 "), rest[:100]
    assert rest.endswith(b"hello world\n")


def test_static_index_and_redirects(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    st, h, data = get(srv.port, "/sub/")
    assert st == 200 and data == b"<h1>sub index</h1>"
    assert h["content-type"].startswith("text/html")
    st, h, data = get(srv.port, "/sub")
    assert st == 301 and h["location"] == "sub/" and data == b""
    st, h, _ = get(srv.port, "/sub?x=1")
    assert st == 301 and h["location"] == "sub/?x=1"
    st, h, _ = get(srv.port, "/sub/index.html")
    assert st == 301 and h["location"] == "./"
    st, h, _ = get(srv.port, "/a.txt/")
    assert st == 301 and h["location"] == "../a.txt"
    st, _, data = get(srv.port, "/noindex/")
    assert st == 403 and b"listing" not in data and b"x.txt" not in data


def test_static_404_dotfiles_and_symlinks(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    for path in ["/missing", "/.hidden", "/.git/config", "/sub/.x", "/escape.txt"]:
        st, h, data = get(srv.port, path)
        assert st == 404, path
        assert data == b"404 page not found\n"
        assert h["x-content-type-options"] == "nosniff"
        assert b"secret" not in data and b"OUTSIDE" not in data
    st, _, data = get(srv.port, "/inside-link.txt")
    assert st == 200 and data == b"hello world\n"


@pytest.mark.parametrize("path", ["/../outside.txt", "/sub/../../outside.txt",
                                  "/%2e%2e/outside.txt", "/%2E%2E/%2e%2e/outside.txt",
                                  "/sub/%2e%2e/%2e%2e/outside.txt", "/..%2foutside.txt",
                                  "/%2e%2e%2foutside.txt", "//../outside.txt"])
def test_static_traversal_not_served(wsd, site, path):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    out = raw(srv.port, req(path, extra="Connection: close\r\n"))
    assert b"OUTSIDE-SECRET" not in out
    status = int(out.split(b" ", 2)[1])
    assert status in (301, 400, 404), out[:200]
    if status == 301:
        loc = [ln for ln in out.split(b"\r\n") if ln.lower().startswith(b"location:")][0]
        target = loc.split(b":", 1)[1].strip().decode()
        assert ".." not in target
        st, _, data = get(srv.port, target)
        assert st == 404 and b"OUTSIDE" not in data


def test_unclean_path_301_as_go_mux(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    out = raw(srv.port, req("//a.txt?q=1", extra="Connection: close\r\n"))
    [(st, h, body)] = parse_responses(out)
    assert st == 301 and h["location"] == "/a.txt?q=1"
    assert body == b'<a href="/a.txt?q=1">Moved Permanently</a>.\n\n'
    out = raw(srv.port, req("/sub/./x/../index.html", extra="Connection: close\r\n"))
    assert parse_responses(out)[0][1]["location"] == "/sub/index.html"


def test_keep_alive_two_requests_one_connection(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    c.request("GET", "/a.txt")
    r1 = c.getresponse()
    assert r1.status == 200 and r1.read() == b"hello world\n"
    assert r1.getheader("Connection") is None
    sock1 = c.sock
    c.request("GET", "/ten.txt")
    r2 = c.getresponse()
    assert r2.status == 200 and r2.read() == b"0123456789"
    assert c.sock is sock1, "the connection was not reused"
    # a 404 keeps the connection too
    c.request("GET", "/nope")
    r3 = c.getresponse()
    assert r3.status == 404 and r3.read() == b"404 page not found\n"
    assert c.sock is sock1
    c.close()


def test_pipelined_requests_answered_in_order(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    batch = (req("/a.txt") + req("/ten.txt", "HEAD") + req("/nope") +
             req("/ten.txt", extra="Range: bytes=1-2\r\n") +
             req("/sub/", extra="Connection: close\r\n"))
    out = raw(srv.port, batch)
    rs = parse_responses(out, ["GET", "HEAD", "GET", "GET", "GET"])
    assert [r[0] for r in rs] == [200, 200, 404, 206, 200]
    assert rs[0][2] == b"hello world\n"
    assert rs[3][2] == b"12"
    assert rs[4][2] == b"<h1>sub index</h1>"
    assert rs[4][1]["connection"] == "close"


def test_connection_close_and_http10(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    out = raw(srv.port, req("/a.txt", extra="Connection: close\r\n"), timeout=3)
    assert out.endswith(b"hello world\n") and b"Connection: close" in out
    out = raw(srv.port, b"GET /a.txt HTTP/1.0\r\n\r\n", timeout=3)
    assert out.endswith(b"hello world\n") and b"Connection: close" in out


def test_keep_alive_then_websocket_upgrade(wsd, site):
    srv = wsd(CHILD, "echo", flags=[f"--staticdir={site / 'static'}"])
    c = RawClient(srv.port)
    c.send(req("/a.txt"))
    r = c.read_response()
    assert r.status == 200
    assert c._take(12, 3) == b"hello world\n"
    c.handshake("/")
    c.send_text("ping")
    assert c.recv_text() == "ping"
    c.close()


def test_large_file_and_range_via_sendfile(wsd, site):
    blob = os.urandom(3 * 1024 * 1024 + 12345)
    write(site / "static" / "big.bin", blob)
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    st, h, data = get(srv.port, "/big.bin")
    assert st == 200 and h["content-length"] == str(len(blob))
    assert hashlib.sha256(data).digest() == hashlib.sha256(blob).digest()
    st, h, data = get(srv.port, "/big.bin", headers={"Range": "bytes=1000000-2500000"})
    assert st == 206 and data == blob[1000000:2500001]
    # keep-alive after a sendfile body
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    for _ in range(3):
        c.request("GET", "/big.bin")
        assert c.getresponse().read() == blob
    c.close()


@pytest.mark.timeout(60)
def test_slow_reader_large_file_memory_bounded(wsd, site):
    size = 24 * 1024 * 1024
    with open(site / "static" / "huge.bin", "wb") as f:
        f.truncate(size)
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    rss0 = vm_rss_kb(srv.pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.connect(("127.0.0.1", srv.port))
    s.settimeout(10)
    s.sendall(req("/huge.bin", extra="Connection: close\r\n"))
    got, peak = 0, rss0
    t0 = time.monotonic()
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
        if got < 4 * 1024 * 1024:
            time.sleep(0.002)      # slow at first: the socket stays full
        peak = max(peak, vm_rss_kb(srv.pid))
    s.close()
    assert got > size
    assert time.monotonic() - t0 < 50
    assert peak - rss0 < 8 * 1024, f"wsd grew by {peak - rss0} KiB while sending 24 MiB"


def test_static_over_tls_keep_alive(wsd, site):
    """With --ssl the body cannot go through sendfile: it is read and
    encrypted in pieces (and keep-alive works the same)."""
    import ssl
    from conftest import REPO
    certs = REPO / "tests" / "certs"
    blob = os.urandom(700 * 1024 + 7)
    write(site / "static" / "big.bin", blob)
    srv = wsd(flags=["--ssl", f"--sslcert={certs / 'server.pem'}",
                     f"--sslkey={certs / 'server.key'}", f"--staticdir={site / 'static'}"])
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10, context=ctx)
    c.request("GET", "/big.bin")
    r = c.getresponse()
    assert r.status == 200 and r.read() == blob
    sock1 = c.sock
    c.request("GET", "/big.bin", headers={"Range": "bytes=100000-"})
    r = c.getresponse()
    assert r.status == 206 and r.read() == blob[100000:]
    c.request("GET", "/a.txt")
    assert c.getresponse().read() == b"hello world\n"
    assert c.sock is sock1
    c.close()


@pytest.mark.timeout(30)
def test_idle_keep_alive_closed_silently(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
    s.sendall(req("/a.txt"))
    got = b""
    while not got.endswith(b"hello world\n"):
        got += s.recv(4096)
    t0 = time.monotonic()
    rest = s.recv(4096)           # nothing more: the server closes when idle
    assert rest == b""
    assert 9 < time.monotonic() - t0 < 16
    s.close()


def test_header_http_on_static_responses(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}", "--header-http=X-Test: yes",
                     "--header=X-All: 1"])
    for path in ["/a.txt", "/nope", "/sub"]:
        _, h, _ = get(srv.port, path)
        assert h["x-test"] == "yes" and h["x-all"] == "1", path


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_keep_alive_and_range(wsd, site):
    srv = wsd(flags=[f"--staticdir={site / 'static'}"])
    base = f"http://127.0.0.1:{srv.port}"
    r = subprocess.run(["curl", "-sv", f"{base}/a.txt", f"{base}/ten.txt"], capture_output=True,
                       timeout=10)
    assert r.stdout == b"hello world\n0123456789"
    assert b"Re-using existing connection" in r.stderr or b"Reusing existing" in r.stderr
    r = subprocess.run(["curl", "-s", "-r", "3-4", f"{base}/ten.txt"], capture_output=True,
                       timeout=10)
    assert r.stdout == b"34"
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-z",
                        "Sat, 01 Jan 2033 00:00:00 GMT", f"{base}/ten.txt"],
                       capture_output=True, timeout=10)
    assert r.stdout == b"304"


# --------------------------------------------------------------------------
# --cgidir

ENV_CGI = "printf 'Content-Type: text/plain\\n\\n'\nenv\n"


def cgi_env(data):
    env = {}
    for line in data.decode().splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


def test_cgi_environment(wsd, site):
    script(site / "cgi" / "env.cgi", ENV_CGI)
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}", "--passenv=PATH,MYVAR"],
              env={"MYVAR": "from-wsd"})
    st, h, data = get(srv.port, "/env.cgi?a=1&b=%20x", headers={"X-Thing": "t"})
    assert st == 200 and h["content-type"] == "text/plain"
    assert h["connection"] == "close"
    env = cgi_env(data)
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["QUERY_STRING"] == "a=1&b=%20x"
    assert env["HTTP_HOST"] == f"127.0.0.1:{srv.port}"
    assert env["HTTP_X_THING"] == "t"
    assert env["MYVAR"] == "from-wsd"            # --passenv applied (websocketd forgets it)
    assert env["SCRIPT_NAME"] == "/"
    assert env["PATH_INFO"] == "/env.cgi"
    assert env["SCRIPT_FILENAME"] == str(site / "cgi" / "env.cgi")
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert "CONTENT_LENGTH" not in env
    st, _, data = get(srv.port, "/env.cgi", method="POST", body=b"12345",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    env = cgi_env(data)
    assert env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_LENGTH"] == "5"
    assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    srv.wait_log(r"\| ACCESS \| http +\| url:'http://127\.0\.0\.1:\d+/env\.cgi\?a=1&b=%20x'.*"
                 r"cgiscript:'[^']*/cgi/env\.cgi' \| CGI$")
    assert f"Serving CGI scripts from    : {site / 'cgi'}" in srv.log()


def test_cgi_header_names_cannot_pose_as_others(wsd, site):
    """X_Real_Ip and X.Real.Ip are left out of a CGI environment rather than
    joined into the HTTP_X_REAL_IP of X-Real-Ip (Go's net/http/cgi joins
    them; Apache 2.4 leaves them out too)."""
    script(site / "cgi" / "env.cgi", ENV_CGI)
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    st, _, data = get(srv.port, "/env.cgi", headers={"X_Real_Ip": "6.6.6.6",
                                                     "X-Real-Ip": "10.0.0.1",
                                                     "X.Real.Ip": "6.6.6.7",
                                                     "X_Other": "o"})
    assert st == 200
    env = cgi_env(data)
    assert env["HTTP_X_REAL_IP"] == "10.0.0.1"
    assert not [k for k in env if k.startswith("HTTP_X_OTHER")]


def test_cgi_cwd(wsd, site):
    script(site / "cgi" / "sub" / "where.cgi", "printf 'Content-Type: text/plain\\n\\n'\npwd\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    st, _, data = get(srv.port, "/sub/where.cgi")
    assert st == 200
    assert data.decode().strip() == str((site / "cgi" / "sub").resolve())


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler for an argv[0] probe")
def test_cgi_argv0_is_base_name(wsd, site):
    src = site / "argv0.c"
    src.write_text('#include <stdio.h>\nint main(int c, char **v) { (void)c; '
                   'printf("Content-Type: text/plain\\n\\n%s\\n", v[0]); return 0; }\n')
    (site / "cgi" / "bin").mkdir()
    subprocess.run(["cc", "-o", str(site / "cgi" / "bin" / "argv0.cgi"), str(src)], check=True,
                   timeout=60)
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    st, _, data = get(srv.port, "/bin/argv0.cgi")
    assert st == 200 and data == b"argv0.cgi\n"


def test_cgi_post_body_reaches_stdin(wsd, site):
    script(site / "cgi" / "echo.cgi", "printf 'Content-Type: application/octet-stream\\n\\n'\n"
           "exec cat\n")
    script(site / "cgi" / "sum.cgi", "printf 'Content-Type: text/plain\\n\\n'\n"
           "exec sha256sum\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    st, _, data = get(srv.port, "/echo.cgi", method="POST", body=b"hello body")
    assert st == 200 and data == b"hello body"
    big = os.urandom(3 * 1024 * 1024)        # more than the stdin queue: backpressure
    st, _, data = get(srv.port, "/sum.cgi", method="POST", body=big)
    assert st == 200
    assert data.split()[0].decode() == hashlib.sha256(big).hexdigest()
    # a big body echoed back: stdin and stdout both flowing
    st, _, data = get(srv.port, "/echo.cgi", method="POST", body=big)
    assert st == 200 and data == big


def test_cgi_expect_100_continue(wsd, site):
    script(site / "cgi" / "echo.cgi", "printf 'Content-Type: text/plain\\n\\n'\nexec cat\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(req("/echo.cgi", "POST", "Content-Length: 4\r\nExpect: 100-continue\r\n"))
    out = b""
    while len(out) < 25:
        out += s.recv(100)
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.sendall(b"data")
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    out = out[25:]       # the script's head may have come with the 100
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\ndata")


def test_cgi_status_location_and_errors(wsd, site):
    script(site / "cgi" / "tea.cgi", "printf 'Status: 418 I am a teapot\\nContent-Type: "
           "text/plain\\n\\nshort and stout\\n'\n")
    script(site / "cgi" / "loc.cgi", "printf 'Location: /elsewhere?x=1\\n\\n'\n")
    script(site / "cgi" / "nohead.cgi", "echo just some output\n")
    script(site / "cgi" / "noct.cgi", "printf 'X-A: b\\n\\nbody\\n'\nsleep 0.2\necho more\n")
    script(site / "cgi" / "stderr.cgi", "echo 'a complaint' >&2\n"
           "printf 'Content-Type: text/plain\\n\\nok\\n'\n")
    write(site / "cgi" / "notexec.cgi", "#!/bin/sh\necho hi\n", 0o644)
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    st, h, data = get(srv.port, "/tea.cgi")
    assert st == 418 and data == b"short and stout\n"
    out = raw(srv.port, req("/tea.cgi"))
    assert out.startswith(b"HTTP/1.1 418 I am a teapot\r\n")
    st, h, data = get(srv.port, "/loc.cgi")
    assert st == 302 and h["location"] == "/elsewhere?x=1"
    for bad in ["/nohead.cgi", "/noct.cgi", "/notexec.cgi"]:
        st, h, data = get(srv.port, bad)
        assert st == 500 and data == b"", bad
    srv.wait_log(r"\| ERROR  \| cgi +\| .*cgiscript:'[^']*nohead\.cgi' \| cgi: no headers$")
    srv.wait_log(r"\| ERROR  \| cgi +\| .*noct\.cgi' \| cgi: missing required Content-Type")
    out = raw(srv.port, req("/noct.cgi"))      # nothing of the output follows the 500
    assert out.startswith(b"HTTP/1.1 500 ") and out.endswith(b"\r\n\r\n")
    assert b"body" not in out and b"more" not in out
    st, _, data = get(srv.port, "/stderr.cgi")
    assert st == 200 and data == b"ok\n"
    srv.wait_log(r"\| ERROR  \| cgi +\| .*stderr\.cgi' \| a complaint$")


def test_cgi_head_request(wsd, site):
    script(site / "cgi" / "h.cgi", "printf 'Content-Type: text/plain\\nContent-Length: 5\\n\\n"
           "12345'\necho \"$REQUEST_METHOD\" > method\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    out = raw(srv.port, req("/h.cgi", "HEAD"))
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.endswith(b"\r\n\r\n") and b"Content-Length: 5" in out
    assert wait_until(lambda: (site / "cgi" / "method").exists(), 3)
    assert (site / "cgi" / "method").read_text() == "HEAD\n"


def test_cgi_chunked_body_411(wsd, site):
    script(site / "cgi" / "x.cgi", "printf 'Content-Type: text/plain\\n\\nx'\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    out = raw(srv.port, req("/x.cgi", "POST", "Transfer-Encoding: chunked\r\n") +
              b"4\r\nabcd\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 411 Length Required\r\n")


def test_cgi_exact_path_only_then_static_or_404(wsd, site):
    script(site / "cgi" / "x.cgi", "printf 'Content-Type: text/plain\\n\\nran'\n")
    (site / "cgi" / "dir").mkdir()
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    assert get(srv.port, "/x.cgi")[2] == b"ran"
    assert get(srv.port, "/x.cgi/extra")[0] == 404
    assert get(srv.port, "/dir")[0] == 404
    st, _, data = get(srv.port, "/nothing")
    assert st == 404 and data == b"404 page not found\n"
    srv.wait_log(r"\| ACCESS \| http +\| url:'[^']*/nothing' .*\| NOT FOUND$")
    srv2 = wsd(flags=[f"--cgidir={site / 'cgi'}", f"--staticdir={site / 'static'}"])
    assert get(srv2.port, "/a.txt")[2] == b"hello world\n"
    assert get(srv2.port, "/x.cgi")[2] == b"ran"


def test_cgi_outside_dir_not_run(wsd, site):
    os.symlink(site / "outside.cgi", site / "cgi" / "link.cgi")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    for path in ["/../outside.cgi", "/%2e%2e/outside.cgi", "/..%2foutside.cgi", "/link.cgi"]:
        out = raw(srv.port, req(path, extra="Connection: close\r\n"))
        assert b"OUTSIDE-CGI" not in out, path
        status = int(out.split(b" ", 2)[1])
        if status == 301:
            loc = [ln for ln in out.split(b"\r\n") if ln.lower().startswith(b"location:")][0]
            st, _, data = get(srv.port, loc.split(b":", 1)[1].strip().decode())
            assert st == 404 and b"OUTSIDE" not in data
        else:
            assert status == 404, (path, out[:200])
    time.sleep(0.2)
    assert not (site / "outside-ran").exists()


@pytest.mark.timeout(40)
def test_cgi_maxforks_429(wsd, site):
    script(site / "cgi" / "slow.cgi", "printf 'Content-Type: text/plain\\n\\n'\nsleep 3\n"
           "echo done\n")
    script(site / "cgi" / "fast.cgi", "printf 'Content-Type: text/plain\\n\\nfast'\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}", "--maxforks=1"])
    result = {}

    def slow():
        result["slow"] = get(srv.port, "/slow.cgi")
    t = threading.Thread(target=slow)
    t.start()
    srv.wait_log(r"slow\.cgi' \| CGI$")
    st, h, data = get(srv.port, "/fast.cgi")
    assert st == 429 and data == b"429 Too Many Requests\n"
    srv.wait_log(r"\| ERROR  \| http +\| .*fast\.cgi' \| Fork not allowed since maxforks amount "
                 r"has been reached\. CGI was not run\.$")
    t.join(10)
    assert result["slow"][0] == 200 and result["slow"][2] == b"done\n"
    # the slot is free again once the script is gone
    assert wait_until(lambda: get(srv.port, "/fast.cgi")[0] == 200, 3)
    # WebSocket children and CGI share the limit
    srv2 = wsd(CHILD, "echo", flags=[f"--cgidir={site / 'cgi'}", "--maxforks=1"])
    c = RawClient(srv2.port)
    c.handshake("/")
    assert get(srv2.port, "/fast.cgi")[0] == 429
    c.send_close()
    c.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("how", ["close", "reset"])
def test_cgi_killed_when_client_leaves(wsd, site, how):
    script(site / "cgi" / "long.cgi", f"echo $$ > {site}/long.pid\n"
           "printf 'Content-Type: text/plain\\n\\nstarted\\n'\n"
           "sleep 60 & echo $! > " + f"{site}/sleep.pid\nwait\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(req("/long.cgi"))
    got = b""
    while b"started" not in got:
        got += s.recv(1000)
    assert wait_until(lambda: (site / "sleep.pid").exists() and
                      (site / "sleep.pid").read_text().strip(), 3)
    pid = int((site / "long.pid").read_text())
    spid = int((site / "sleep.pid").read_text())
    assert is_alive(pid) and is_alive(spid)
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    assert wait_until(lambda: not is_alive(pid) and not is_alive(spid), 6), \
        "CGI script outlived its client"


@pytest.mark.timeout(30)
def test_cgi_output_backpressure_then_client_reset(wsd, site):
    """A script writing without end to a client that does not read: wsd's
    memory stays flat (stdout reading pauses), and when the client resets
    the script is ended."""
    script(site / "cgi" / "flood.cgi", f"echo $$ > {site}/flood.pid\n"
           "printf 'Content-Type: text/plain\\n\\n'\nexec yes 0123456789abcdef\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    s.connect(("127.0.0.1", srv.port))
    s.settimeout(5)
    s.sendall(req("/flood.cgi"))
    assert s.recv(100).startswith(b"HTTP/1.1 200 OK")
    assert wait_until(lambda: (site / "flood.pid").exists() and
                      (site / "flood.pid").read_text().strip(), 3)
    pid = int((site / "flood.pid").read_text())
    time.sleep(0.5)
    rss1 = vm_rss_kb(srv.pid)
    time.sleep(1.0)                  # the script keeps trying to write
    rss2 = vm_rss_kb(srv.pid)
    assert rss2 - rss1 < 2048, f"wsd grew {rss2 - rss1} KiB while the client did not read"
    assert is_alive(pid)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    assert wait_until(lambda: not is_alive(pid), 6), "CGI script outlived its client"


def test_cgi_grandchild_holding_stdout_is_ended(wsd, site):
    script(site / "cgi" / "bg.cgi", "printf 'Content-Type: text/plain\\n\\nleader\\n'\n"
           f"(sleep 60; echo late) & echo $! > {site}/bg.pid\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    t0 = time.monotonic()
    st, _, data = get(srv.port, "/bg.cgi")
    assert st == 200 and data == b"leader\n"
    assert time.monotonic() - t0 < 4
    bg = int((site / "bg.pid").read_text())
    assert wait_until(lambda: not is_alive(bg), 3)


def test_cgi_server_shutdown_ends_script(wsd, site):
    script(site / "cgi" / "long.cgi", f"echo $$ > {site}/long.pid\n"
           "printf 'Content-Type: text/plain\\n\\nstarted\\n'\nexec sleep 60\n")
    srv = wsd(flags=[f"--cgidir={site / 'cgi'}"])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(req("/long.cgi"))
    got = b""
    while b"started" not in got:
        got += s.recv(1000)
    t0 = time.monotonic()
    rc = srv.stop(timeout=5)
    assert rc == 0 and time.monotonic() - t0 < 5
    lp = int((site / "long.pid").read_text())
    assert wait_until(lambda: not is_alive(lp), 1)
    s.close()


# --------------------------------------------------------------------------
# --devconsole

def test_devconsole_any_path_and_method(wsd, tmp_path):
    srv = wsd(CHILD, "echo", flags=["--devconsole"])
    st, h, page = get(srv.port, "/")
    assert st == 200
    assert h["content-type"] == "text/html; charset=utf-8"
    assert b"<title>wsd console</title>" in page
    assert h["content-length"] == str(len(page))
    for path in ["/anything/else?x=1", "/favicon.ico"]:
        st, _, body = get(srv.port, path)
        assert st == 200 and body == page, path
    for path in ["//a/../b", "/%zz", "/%00"]:
        out = raw(srv.port, req(path, extra="Connection: close\r\n"))
        assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(page), path
    st, _, body = get(srv.port, "/x", method="POST", body=b"abc")
    assert st == 200 and body == page
    out = raw(srv.port, req("/", "HEAD", "Connection: close\r\n"))
    assert out.endswith(b"\r\n\r\n") and f"Content-Length: {len(page)}".encode() in out
    st, h2, body = get(srv.port, "/", headers={"If-Modified-Since": h["last-modified"]})
    assert st == 304 and body == b""
    st, _, body = get(srv.port, "/", headers={"Range": "bytes=0-14"})
    assert st == 206 and body == page[:15]
    srv.wait_log(r"\| ACCESS \| http +\| url:'http://127\.0\.0\.1:\d+/favicon\.ico'.* \| DEVCONSOLE$")
    assert f"| Developer console enabled   : http://127.0.0.1:{srv.port}/" in srv.log()
    # no external resources
    assert b"http://" not in page and b"https://" not in page and b"src=" not in page


@pytest.mark.parametrize("path", ['/"><script>alert(1)</script>',
                                  "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
                                  "/?x=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
                                  "/'-alert(1)-'"])
def test_devconsole_never_reflects_the_url(wsd, path):
    srv = wsd(CHILD, "echo", flags=["--devconsole"])
    out = raw(srv.port, req(path, extra="Connection: close\r\n"))
    assert out.startswith(b"HTTP/1.1 200 OK\r\n"), out[:200]
    body = out.partition(b"\r\n\r\n")[2]
    assert b"alert(1)" not in body and b"<script>alert" not in body
    assert body == get(srv.port, "/")[2]


def test_devconsole_and_websocket_on_one_port(wsd):
    srv = wsd(CHILD, "echo", flags=["--devconsole"])
    c = RawClient(srv.port)
    c.handshake("/")
    c.send_text("via console port")
    assert c.recv_text() == "via console port"
    c.close()


def test_plain_server_still_404(wsd):
    srv = wsd(CHILD, "echo")
    st, _, data = get(srv.port, "/")
    assert st == 404 and data == b"404 page not found\n"
    # no ServeMux 301 where paths do not name files (docs/compat.md)
    out = raw(srv.port, req("//a/../b", extra="Connection: close\r\n"))
    assert out.startswith(b"HTTP/1.1 404 ")
