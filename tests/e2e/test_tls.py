"""TLS (--ssl/--sslcert/--sslkey), mutual TLS (--sslca) and --redirport.

Certificates: tests/certs (make-certs.sh): server.pem is a chain for
localhost/127.0.0.1 signed by ca.pem; client.pem is signed by ca.pem,
client2.pem by the unrelated ca2.pem. Tests marked `deliberate` fail on
websocketd 0.4.1 (TLS 1.0/1.1 and h2 accepted, no --sslca, --redirport drops
the path, no permessage-deflate); see docs/compat.md.
"""
import asyncio
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import warnings

import pytest

from conftest import (CHILD, REPO, RawClient, arun, connect, is_alive, raw_request, run_wsd,
                      upgrade_headers, vm_rss_kb, wait_gone, write_prog)

CERTS = REPO / "tests" / "certs"
CERT, KEY = CERTS / "server.pem", CERTS / "server.key"
SSL_FLAGS = ["--ssl", f"--sslcert={CERT}", f"--sslkey={KEY}"]


def client_ctx(cert=None, key=None):
    ctx = ssl.create_default_context(cafile=str(CERTS / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def wss(srv, path="/"):
    return f"wss://127.0.0.1:{srv.port}{path}"


class TlsRawClient(RawClient):
    """RawClient over TLS (Host: 127.0.0.1:PORT unless told otherwise)."""

    def __init__(self, port, ctx=None, timeout=5.0, rcvbuf=None):
        super().__init__(port, timeout=timeout, rcvbuf=rcvbuf)
        self.sock = (ctx or client_ctx()).wrap_socket(self.sock, server_hostname="127.0.0.1")


def env_lines(msgs):
    env = {}
    for _, line in msgs:
        k, _, v = line.decode().partition("=")
        env[k] = v
    return env


def read_all_messages(c):
    """Messages until the close frame or EOF."""
    msgs = []
    try:
        while True:
            op, data = c.recv_message()
            if op == 8:
                return msgs
            msgs.append((op, data))
    except EOFError:
        return msgs


# --------------------------------------------------------------------------
# wss: echo, environment, log

def test_wss_text_echo_and_env(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)

    async def go():
        async with connect(wss(srv), ssl=client_ctx()) as ws:
            await ws.send("hello over tls")
            assert await ws.recv() == "hello over tls"
            await ws.send("ünïcødé")
            assert await ws.recv() == "ünïcødé"
    arun(go())
    srv.wait_log(rf"url:'https://127\.0\.0\.1:{srv.port}/'.*\| CONNECT$")
    assert re.search(rf"Starting WebSocket server +: wss://127\.0\.0\.1:{srv.port}/", srv.log())


# websocketd deadlocks on ≥300 KB both ways (compat.md: "4 MB both ways").
@pytest.mark.deliberate
@pytest.mark.parametrize("mode", ["--binary", "--lossless"])
def test_wss_1mb_binary_echo(wsd, mode):
    srv = wsd("cat", flags=SSL_FLAGS + [mode])
    blob = os.urandom(1000 * 1000)   # under the default --maxframesize (1 MiB)

    async def go():
        async with connect(wss(srv), ssl=client_ctx()) as ws:
            async def receive():
                got, n = b"", 0
                while len(got) < len(blob):
                    m = await ws.recv()
                    assert isinstance(m, bytes)
                    got += m
                    n += 1
                return got, n
            # Send while receiving: with --binary the echo comes back in many
            # messages, more than the client's queue holds.
            _, (got, n) = await asyncio.gather(ws.send(blob), receive())
            assert got == blob
            if mode == "--lossless":
                assert n == 1, "--lossless keeps message boundaries"
                await ws.send("text too")
                assert await ws.recv() == "text too"
    arun(go(), timeout=25)


def test_wss_env_https_and_server_port(wsd):
    srv = wsd(CHILD, "env", flags=SSL_FLAGS)
    c = TlsRawClient(srv.port)
    c.handshake("/p?q=1")
    env = env_lines(read_all_messages(c))
    assert env["HTTPS"] == "on"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["REQUEST_URI"] == "/p?q=1"
    c.close()
    # Host without a port: SERVER_PORT defaults to 443 over TLS.
    c = TlsRawClient(srv.port)
    c.send(c.request_bytes("/", host="127.0.0.1"))
    assert c.read_response().status == 101
    env = env_lines(read_all_messages(c))
    assert env["HTTPS"] == "on" and env["SERVER_PORT"] == "443"
    c.close()
    srv.wait_log(r"url:'https://127\.0\.0\.1/'.*\| CONNECT$")


def test_plain_server_has_no_https_variable(wsd):
    srv = wsd(CHILD, "env")
    c = RawClient(srv.port)
    c.handshake()
    env = env_lines(read_all_messages(c))
    assert "HTTPS" not in env
    c.close()


# --------------------------------------------------------------------------
# Protocol versions, ALPN, plain HTTP on the TLS port

@pytest.mark.deliberate
def test_tls11_client_refused(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(CERTS / "ca.pem"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    # Let the client itself offer TLS 1.1 (OpenSSL's default level refuses it),
    # so that it is the server that says no.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    with pytest.raises(ssl.SSLError) as ei:
        ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.close()
    assert "PROTOCOL_VERSION" in str(ei.value).upper(), ei.value
    # TLS 1.2 and 1.3 work.
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_ctx()
        ctx.minimum_version = ctx.maximum_version = v
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=5),
                             server_hostname="127.0.0.1") as s:
            assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                   ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[v]


@pytest.mark.deliberate
@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl CLI not installed")
def test_alpn_offering_h2_gets_http11(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}",
                        "-alpn", "h2,http/1.1", "-CAfile", str(CERTS / "ca.pem")],
                       input=b"", capture_output=True, timeout=10)
    out = r.stdout.decode("utf-8", "replace")
    assert "ALPN protocol: http/1.1" in out, out[-2000:]


def test_alpn_http11_only_and_python_alpn(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)
    ctx = client_ctx()
    ctx.set_alpn_protocols(["http/1.1"])
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=5),
                         server_hostname="127.0.0.1") as s:
        assert s.selected_alpn_protocol() == "http/1.1"


def test_plain_http_to_tls_port(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)
    c = RawClient(srv.port)
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = c.read_to_eof(3.0)
    c.close()
    assert data == (b"HTTP/1.0 400 Bad Request\r\n\r\n"
                    b"Client sent an HTTP request to an HTTPS server.\n"), data
    # The server is still fine.
    c = TlsRawClient(srv.port)
    c.handshake()
    c.send_text("ok")
    assert c.recv_text() == "ok"
    c.close()


# --------------------------------------------------------------------------
# Start-up errors

def fatal_line(out):
    m = re.search(r"^.*\| FATAL +\|.*$", out, re.M)
    assert m, f"no FATAL line in: {out!r}"
    return m.group(0)


def test_missing_cert_file_exit_3(tmp_path):
    """Named even when the port (443 for --port=0 with --ssl) is taken: the
    files are checked before anything is bound (these tests run in parallel,
    and the port is the same for all of them)."""
    missing = tmp_path / "nope.pem"
    holder = socket.socket()
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 443))
        holder.listen(1)
    except OSError:
        pass                       # taken already (another test), or not root: taken or not
    try:
        rc, out = run_wsd("--port=0", "--address=127.0.0.1", "--ssl", f"--sslcert={missing}",
                          f"--sslkey={KEY}", "cat")
    finally:
        holder.close()
    assert rc == 3, out
    assert "nope.pem" in fatal_line(out)


def test_missing_key_file_exit_3(tmp_path):
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", "--ssl", f"--sslcert={CERT}",
                      f"--sslkey={tmp_path / 'nokey.key'}", "cat")
    assert rc == 3, out
    assert "nokey.key" in fatal_line(out)


def test_key_not_matching_cert_exit_3():
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", "--ssl", f"--sslcert={CERT}",
                      f"--sslkey={CERTS / 'client.key'}", "cat")
    assert rc == 3, out
    assert re.search(r"not match", fatal_line(out)), out


def test_garbage_cert_exit_3(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", "--ssl", f"--sslcert={bad}",
                      f"--sslkey={KEY}", "cat")
    assert rc == 3, out
    fatal_line(out)


@pytest.mark.parametrize("flags", [["--ssl"], ["--ssl", f"--sslcert={CERT}"],
                                   ["--ssl", f"--sslkey={KEY}"]],
                         ids=["none", "cert-only", "key-only"])
def test_ssl_without_cert_and_key_exit_1(flags):
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", *flags, "cat")
    assert rc == 1, out
    assert "Please specify both --sslcert and --sslkey when requesting --ssl." in out


def test_ssl_flags_without_ssl_exit_1():
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", f"--sslcert={CERT}",
                      f"--sslkey={KEY}", "cat")
    assert rc == 1, out
    assert "You should not be using --ssl* flags when there is no --ssl option." in out


@pytest.mark.deliberate
def test_missing_ca_file_exit_3(tmp_path):
    rc, out = run_wsd("--port=0", "--address=127.0.0.1", *SSL_FLAGS,
                      f"--sslca={tmp_path / 'noca.pem'}", "cat")
    assert rc == 3, out
    assert "noca.pem" in fatal_line(out)


# --------------------------------------------------------------------------
# Mutual TLS

def mtls_attempt(srv, ctx):
    """Tries a TLS handshake and a WebSocket upgrade; returns "ok" (echo
    worked) or a description of the failure. With TLS 1.3 the server's
    refusal of the client certificate arrives after the client's handshake
    completes, so the failure may show up on the first read."""
    try:
        c = TlsRawClient(srv.port, ctx=ctx, timeout=3.0)
    except (ssl.SSLError, OSError) as e:
        return f"handshake: {e}"
    try:
        c.send(c.request_bytes("/"))
        try:
            r = c.read_response(3.0)
        except (ssl.SSLError, EOFError, OSError) as e:
            return f"read: {e!r}"
        if r.status != 101:
            return f"status {r.status}"
        c.send_text("mtls")
        return "ok" if c.recv_text() == "mtls" else "bad echo"
    finally:
        c.close()


@pytest.mark.deliberate
def test_sslca_requires_client_cert_from_that_ca(wsd):
    srv = wsd(CHILD, "echo", flags=SSL_FLAGS + [f"--sslca={CERTS / 'ca.pem'}"])
    none = mtls_attempt(srv, client_ctx())
    assert none != "ok", "a client without a certificate was served"
    other = mtls_attempt(srv, client_ctx(CERTS / "client2.pem", CERTS / "client2.key"))
    assert other != "ok", "a certificate from another CA was accepted"
    good = mtls_attempt(srv, client_ctx(CERTS / "client.pem", CERTS / "client.key"))
    assert good == "ok", good


@pytest.mark.deliberate
def test_sslca_python_websockets_client(wsd):
    srv = wsd("cat", flags=SSL_FLAGS + [f"--sslca={CERTS / 'ca.pem'}"])

    async def go():
        ctx = client_ctx(CERTS / "client.pem", CERTS / "client.key")
        async with connect(wss(srv), ssl=ctx) as ws:
            await ws.send("hi")
            return await ws.recv()
    assert arun(go()) == "hi"


def test_without_sslca_client_cert_not_required(wsd):
    srv = wsd(CHILD, "echo", flags=SSL_FLAGS)
    assert mtls_attempt(srv, client_ctx()) == "ok"
    # A client that presents a certificate anyway is fine too.
    assert mtls_attempt(srv, client_ctx(CERTS / "client2.pem", CERTS / "client2.key")) == "ok"


# --------------------------------------------------------------------------
# --redirport

def redir_server(wsd, tmp_path):
    from conftest import free_port
    for _ in range(5):
        p2 = free_port()
        try:
            srv = wsd("cat", flags=SSL_FLAGS + [f"--redirport={p2}"])
        except RuntimeError as e:
            if "in use" in str(e).lower():
                continue
            raise
        srv.redirport = p2
        # wsd opens --redirport after --port (which the fixture waited for)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", p2), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        return srv
    pytest.fail("could not find a free redirect port")


@pytest.mark.deliberate
def test_redirport_keeps_path_and_query(wsd, tmp_path):
    srv = redir_server(wsd, tmp_path)
    p2 = srv.redirport
    r = raw_request(p2, f"GET /some/path?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{p2}\r\n\r\n".encode())
    assert r.status == 301, r.raw_head
    assert r.header("Location") == f"https://127.0.0.1:{srv.port}/some/path?x=1"
    # A Host without a port (websocketd 0.4.1 panics here).
    r = raw_request(p2, b"GET /a%20b?q HTTP/1.1\r\nHost: example.test\r\n\r\n")
    assert r.status == 301, r.raw_head
    assert r.header("Location") == f"https://example.test:{srv.port}/a%20b?q"
    srv.wait_log(r"\| REDIRECT$")
    # The TLS port itself still serves WebSockets.
    c = TlsRawClient(srv.port)
    c.handshake()
    c.send_text("still here")
    assert c.recv_text() == "still here"
    c.close()


def test_redirport_redirects_to_https(wsd, tmp_path):
    srv = redir_server(wsd, tmp_path)
    p2 = srv.redirport
    r = raw_request(p2, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{p2}\r\n\r\n".encode())
    assert r.status == 301
    assert r.header("Location").startswith(f"https://127.0.0.1:{srv.port}/")
    # An upgrade request on the redirect port is redirected too, not served.
    c = RawClient(p2)
    c.send(c.request_bytes("/"))
    assert c.read_response().status == 301
    c.close()


# --------------------------------------------------------------------------
# TLS with other features

def test_staticdir_file_over_https(wsd, tmp_path):
    """One file over https: the body is encrypted from a read buffer, not
    sendfile(2). (Keep-alive, Range and a 700 KB file over TLS:
    test_http_serving.py::test_static_over_tls_keep_alive.)"""
    site = tmp_path / "site"
    site.mkdir()
    blob = os.urandom(300 * 1024 + 3)
    (site / "f.bin").write_bytes(blob)
    (site / "page.html").write_text("<p>hi</p>\n")
    srv = wsd("cat", flags=SSL_FLAGS + [f"--staticdir={site}"])
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10, context=client_ctx())
    c.request("GET", "/f.bin")
    r = c.getresponse()
    assert r.status == 200 and r.read() == blob
    c.request("GET", "/page.html")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/html")
    assert r.read() == b"<p>hi</p>\n"
    c.close()
    # The same port still upgrades WebSockets.
    ws = TlsRawClient(srv.port)
    ws.handshake()
    ws.send_text("x")
    assert ws.recv_text() == "x"
    ws.close()


@pytest.mark.deliberate
def test_permessage_deflate_over_wss(wsd):
    srv = wsd("cat", flags=SSL_FLAGS)
    line = "compressible " * 2000

    async def go():
        async with connect(wss(srv), ssl=client_ctx(), compression="deflate") as ws:
            names = [e.name for e in ws.extensions]
            assert names == ["permessage-deflate"], names
            for i in range(3):
                await ws.send(f"{i} {line}")
                assert await ws.recv() == f"{i} {line}"
    arun(go())


@pytest.mark.timeout(30)
def test_slow_tls_reader_bounded_memory(wsd, tmp_path):
    done = tmp_path / "flood.done"
    srv = wsd(CHILD, "flood", str(256 * 1024 * 1024), done, flags=SSL_FLAGS)
    c = TlsRawClient(srv.port, rcvbuf=65536)
    c.handshake()
    child = srv.wait_children(1)[0]
    time.sleep(2.0)          # the client reads nothing meanwhile
    rss = vm_rss_kb(srv.pid)
    asan = "asan" in str(srv.argv(0)[0])
    limit = (160 if asan else 64) * 1024
    assert not done.exists(), "the child wrote 256 MB to a client that reads nothing"
    assert is_alive(child)
    assert rss < limit, f"wsd RSS {rss} kB with a stalled TLS client"
    # Reading resumes the flow: whole, valid messages.
    for _ in range(20):
        op, data = c.recv_message(5.0)
        assert op == 1 and len(data) == 999, (op, len(data))
    c.close()
    assert wait_gone(child, 3.0), "flooding child not ended after the client left"


def test_wss_env_with_handshake_headers(wsd, tmp_path):
    prog = write_prog(tmp_path / "e.sh", "#!/bin/sh\necho \"$HTTPS $HTTP_X_TEST $PATH_INFO\"\n")
    srv = wsd(prog, flags=SSL_FLAGS)
    c = TlsRawClient(srv.port)
    c.handshake("/info", headers=upgrade_headers(extra=[("X-Test", "yes")]))
    assert c.recv_text() == "on yes /info"
    c.close()
