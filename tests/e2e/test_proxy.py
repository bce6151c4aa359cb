"""Behind proxies (#13 item 2): --trustproxy (Forwarded, X-Forwarded-For,
X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host from trusted peers only),
--proxyprotocol (PROXY v1/v2 before HTTP and before TLS, every refusal), and
the documented nginx and HAProxy set-ups run for real (proxies.py: Debian's
nginx and HAProxy, unprivileged, configurations taken from
docs/operations.md).

Clients connect from 127.0.0.2 where the proxy listens on 127.0.0.1 and
wsd trusts 127.0.0.1 only, so "the program sees the real client's address"
is a different address from the proxy's.
"""
import asyncio
import socket
import ssl
import struct
import time

import pytest

from conftest import (IS_WEBSOCKETD, REPO, SCRIPTS, RawClient, arun, connect, raw_request,
                      recv_all, upgrade_headers, write_prog)
import proxies
from proxies import certs_into, doc_block, free_port, replace, runtime_dir

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #13 access control")

ENV = str(SCRIPTS / "env.sh")
CERTS = REPO / "tests" / "certs"
CLIENT = "127.0.0.2"


def client_ctx():
    return ssl.create_default_context(cafile=str(CERTS / "ca.pem"))


def env_via(url, headers=None, local=CLIENT, **kw):
    """Connects with python-websockets (from `local`), returns the
    environment env.sh printed."""
    async def go():
        async with connect(url, extra_headers=headers or {}, local_addr=(local, 0), **kw) as ws:
            msgs, _, _ = await recv_all(ws)
        return dict(m.partition("=")[::2] for m in msgs)
    return arun(go())


class Raw(RawClient):
    """A RawClient from a chosen source address; `pre` bytes (a PROXY
    header) go first; tls: a TLS client after them."""

    def __init__(self, port, local=CLIENT, pre=b"", tls=False, timeout=5.0):
        self.port = port
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((local, 0))
        self.sock.connect(("127.0.0.1", port))
        self.local_port = self.sock.getsockname()[1]
        if pre:
            self.sock.sendall(pre)
        if tls:
            self.sock = client_ctx().wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.buf = b""
        self.eof = False
        self.controls = []
        self.send_failed = False

    def env(self, headers=()):
        """Handshake (plus headers), then env.sh's lines until the close."""
        self.handshake(headers=upgrade_headers(extra=headers))
        env = {}
        while True:
            op, data = self.recv_message()
            if op == 8:
                return env
            k, _, v = data.decode().partition("=")
            env[k] = v


def closed_without_answer(c, timeout=3.0):
    """The server closed the connection without one byte of answer."""
    try:
        data = c.read_to_eof(timeout)
    except (ConnectionResetError, OSError):
        data = b""
    return data == b""


# --------------------------------------------------------------------------
# --trustproxy, headers sent straight to wsd

SPOOF = [("X-Forwarded-For", "203.0.113.66"), ("X-Real-IP", "203.0.113.67"),
         ("Forwarded", "for=203.0.113.68;proto=https"), ("X-Forwarded-Proto", "https"),
         ("X-Forwarded-Host", "evil.example")]


@pytest.mark.parametrize("flags", [[], ["--trustproxy=10.9.9.9,::1"]], ids=["none", "other"])
def test_headers_from_an_untrusted_peer_change_nothing(wsd, flags):
    """A client that sends its own forwarding headers straight to wsd keeps
    its own REMOTE_ADDR, port and scheme; the headers stay HTTP_* only."""
    srv = wsd(ENV, flags=flags)
    c = Raw(srv.port)
    env = c.env(SPOOF)
    assert env["REMOTE_ADDR"] == CLIENT
    assert env["REMOTE_PORT"] == str(c.local_port)
    assert "HTTPS" not in env
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.66"
    srv.wait_log(rf"remote:'{CLIENT}'.*\| CONNECT")


def test_x_forwarded_for_from_a_trusted_peer(wsd):
    """The right-most address that is not a trusted proxy: a spoofed
    left-most entry is ignored, a trusted hop is passed."""
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.2,10.0.0.0/8"])
    env = Raw(srv.port).env([("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.2.3")])
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["REMOTE_HOST"] == "203.0.113.7"
    assert env["REMOTE_PORT"] == ""          # not said
    assert "HTTPS" not in env
    srv.wait_log(r"remote:'203\.0\.113\.7'.*\| CONNECT")


def test_forwarded_from_a_trusted_peer_gives_address_port_and_scheme(wsd):
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.2"])
    env = Raw(srv.port).env([
        ("Forwarded", 'for=198.51.100.9, for="[2001:db8:cafe::17]:4711";proto=https;'
                      'host="ws.example.com:8443"'),
        ("X-Forwarded-For", "192.0.2.99")])      # Forwarded comes first
    assert env["REMOTE_ADDR"] == "2001:db8:cafe::17"
    assert env["REMOTE_PORT"] == "4711"
    assert env["HTTPS"] == "on"
    assert env["SERVER_NAME"] == "ws.example.com"
    assert env["SERVER_PORT"] == "8443"


def test_x_real_ip_and_proto_from_a_trusted_peer(wsd):
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.0/8"])
    env = Raw(srv.port).env([("X-Real-IP", "203.0.113.8"), ("X-Forwarded-Proto", "https")])
    assert env["REMOTE_ADDR"] == "203.0.113.8"
    assert env["HTTPS"] == "on"


def test_malformed_forwarding_headers_are_ignored_and_logged_at_debug(wsd):
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.2", "--loglevel=debug"])
    env = Raw(srv.port).env([("Forwarded", "for=2001:db8::1"),          # IPv6 unquoted
                             ("X-Forwarded-Proto", "gopher"),
                             ("X-Forwarded-Host", "a/b")])
    assert env["REMOTE_ADDR"] == CLIENT
    assert "HTTPS" not in env
    assert env["SERVER_NAME"] == "127.0.0.1"
    srv.wait_log(r"DEBUG.*From proxy 127\.0\.0\.2: Forwarded: bad for= node: 'for=2001:db8::1' ignored")
    env = Raw(srv.port).env([("X-Forwarded-For", "203.0.113.7, not-an-ip")])
    assert env["REMOTE_ADDR"] == CLIENT          # the nearest entry is garbage: the peer
    srv.wait_log(r"the nearest entry is no address")


def sameorigin_request(port, extra=()):
    """An upgrade with Host "ws.example.com" (no port) and a browser's
    Origin "https://ws.example.com", as a TLS-terminating proxy passes it."""
    c = RawClient(port)
    c.send(c.request_bytes(host="ws.example.com", headers=upgrade_headers(extra=[
        ("Origin", "https://ws.example.com")] + list(extra))))
    r = c.read_response()
    c.close()
    return r.status


def test_sameorigin_behind_a_tls_terminating_proxy(wsd):
    """Origin https://host (port 443) against Host "host" on a plain
    connection: 403 today — unless a trusted proxy says the client used
    https (X-Forwarded-Proto, or Forwarded proto=)."""
    plain = wsd(ENV, flags=["--sameorigin"])
    assert sameorigin_request(plain.port, [("X-Forwarded-Proto", "https")]) == 403
    behind = wsd(ENV, flags=["--sameorigin", "--trustproxy=127.0.0.1"])
    assert sameorigin_request(behind.port) == 403          # the proxy said nothing
    assert sameorigin_request(behind.port, [("X-Forwarded-Proto", "https")]) == 101
    assert sameorigin_request(behind.port, [("Forwarded", "for=192.0.2.1;proto=https")]) == 101
    assert sameorigin_request(behind.port, [("X-Forwarded-Proto", "http")]) == 403


def test_forwarded_host_counts_for_sameorigin(wsd):
    srv = wsd(ENV, flags=["--sameorigin", "--trustproxy=127.0.0.1"])
    c = RawClient(srv.port)
    c.send(c.request_bytes(host="backend:8080", headers=upgrade_headers(extra=[
        ("Origin", "https://ws.example.com"), ("X-Forwarded-Host", "ws.example.com"),
        ("X-Forwarded-Proto", "https")])))
    assert c.read_response().status == 101
    c.close()


def test_cgi_sees_the_client_behind_a_trusted_proxy(wsd, tmp_path):
    cgi = tmp_path / "cgi"
    cgi.mkdir()
    write_prog(cgi / "env.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n")
    srv = wsd(flags=[f"--cgidir={cgi}", "--trustproxy=127.0.0.1"])
    r = raw_request(srv.port, b"GET /env.cgi HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5"
                              b"\r\nX-Forwarded-Proto: https\r\n\r\n")
    env = dict(line.partition("=")[::2] for line in r.body.decode().splitlines())
    assert r.status == 200
    assert env["REMOTE_ADDR"] == "203.0.113.5"
    assert env["REMOTE_PORT"] == ""
    assert env["HTTPS"] == "on"


def test_unix_socket_peers_are_trusted_with_unix(wsd_unix, unix_dir):
    def env_over(sock_path):
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(sock_path))
        c = RawClient.__new__(RawClient)
        c.sock, c.buf, c.eof, c.controls, c.send_failed, c.port = s, b"", False, [], False, 0
        c.sock.settimeout(5)
        c.send(c.request_bytes(host="localhost", headers=upgrade_headers(
            extra=[("X-Forwarded-For", "203.0.113.44")])))
        assert c.read_response().status == 101
        env = {}
        while True:
            op, data = c.recv_message()
            if op == 8:
                return env
            k, _, v = data.decode().partition("=")
            env[k] = v
    a = wsd_unix(ENV, sock_path=unix_dir / "a.sock", flags=["--trustproxy=unix"])
    assert env_over(a.sock_path)["REMOTE_ADDR"] == "203.0.113.44"
    b = wsd_unix(ENV, sock_path=unix_dir / "b.sock", flags=["--trustproxy=127.0.0.1"])
    assert env_over(b.sock_path)["REMOTE_ADDR"] == "unix-socket"


# --------------------------------------------------------------------------
# --proxyprotocol, raw

def v2(cmd=1, fam=0x11, body=None):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if body is None:
        body = socket.inet_aton("198.51.100.7") + socket.inet_aton("127.0.0.1") + \
            struct.pack("!HH", 40000, 443)
    return sig + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def test_proxy_protocol_v1_names_the_client(wsd):
    srv = wsd(ENV, flags=["--proxyprotocol"])
    c = Raw(srv.port, pre=b"PROXY TCP4 203.0.113.10 127.0.0.1 51234 443\r\n")
    env = c.env()
    assert env["REMOTE_ADDR"] == "203.0.113.10"
    assert env["REMOTE_PORT"] == "51234"
    srv.wait_log(r"remote:'203\.0\.113\.10'.*\| CONNECT")
    env = Raw(srv.port, pre=b"PROXY TCP6 2001:db8::5 ::1 7 443\r\n").env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("2001:db8::5", "7")


def test_proxy_protocol_v2_names_the_client(wsd):
    srv = wsd(ENV, flags=["--proxyprotocol"])
    env = Raw(srv.port, pre=v2()).env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("198.51.100.7", "40000")
    body = socket.inet_pton(socket.AF_INET6, "2001:db8::9") + \
        socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!HH", 1234, 443) + \
        b"\x04\x00\x03abc"                      # a NOOP TLV
    env = Raw(srv.port, pre=v2(fam=0x21, body=body)).env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("2001:db8::9", "1234")


def test_proxy_protocol_local_keeps_the_peer(wsd):
    """A LOCAL header (HAProxy's health checks) and v1 UNKNOWN carry no
    client: the proxy's own address stands."""
    srv = wsd(ENV, flags=["--proxyprotocol"])
    assert Raw(srv.port, pre=v2(cmd=0, fam=0, body=b"")).env()["REMOTE_ADDR"] == CLIENT
    assert Raw(srv.port, pre=b"PROXY UNKNOWN\r\n").env()["REMOTE_ADDR"] == CLIENT


REFUSED = {
    "none": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "oversized-v1": b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n",
    "lying-v1": b"PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n",
    "lying-v2": v2(body=b"\x01\x02\x03"),
    "oversized-v2": b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x08\x01" + b"\x00" * 64,
    "datagram-v2": v2(fam=0x12),
    "truncated-then-http": b"PROXY TCP4 203.0.113.1 GET / HTTP/1.1\r\n\r\n",
    "lf-only": b"PROXY TCP4 203.0.113.1 127.0.0.1 1 2\n",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_proxy_protocol_refusals_close_and_log(wsd, name):
    """No header, an oversized, lying, truncated or malformed one: closed
    without an answer, logged; wsd serves the next connection as before."""
    srv = wsd(ENV, flags=["--proxyprotocol"])
    c = Raw(srv.port, pre=REFUSED[name])
    assert closed_without_answer(c)
    srv.wait_log(r"ACCESS \| server +\|  \| PROXY header from 127\.0\.0\.2 refused \(.+\): closed")
    assert Raw(srv.port, pre=b"PROXY TCP4 203.0.113.2 127.0.0.1 9 9\r\n").env()["REMOTE_ADDR"] \
        == "203.0.113.2"


@pytest.mark.timeout(30)
def test_proxy_protocol_slow_header_is_under_the_handshake_timeout(wsd):
    """A header trickling in (or stopping half way) is cut off by the 10 s
    request-head timeout, like a slow HTTP head; other clients meanwhile
    are served."""
    srv = wsd(ENV, flags=["--proxyprotocol"])
    c = Raw(srv.port, pre=b"PROXY TCP4 203.0.1", timeout=15)
    t0 = time.monotonic()
    env = Raw(srv.port, pre=b"PROXY TCP4 203.0.113.3 127.0.0.1 9 9\r\n").env()
    assert env["REMOTE_ADDR"] == "203.0.113.3"
    data = c.read_to_eof(14)
    assert 9 < time.monotonic() - t0 < 13
    assert not data.startswith(b"HTTP/1.1 101")
    srv.wait_log(r"Request head from 127\.0\.0\.2 not complete after 10000 ms")


def test_proxy_protocol_comes_before_tls(wsd):
    """HAProxy's send-proxy to a TLS port: the header, then the ClientHello."""
    srv = wsd(ENV, flags=["--proxyprotocol", "--ssl", f"--sslcert={CERTS / 'server.pem'}",
                          f"--sslkey={CERTS / 'server.key'}"])
    env = Raw(srv.port, pre=v2(), tls=True).env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["HTTPS"]) == ("198.51.100.7", "40000", "on")
    c = Raw(srv.port, tls=False, pre=b"\x16\x03\x01\x00\x05hello")   # TLS without a header
    assert closed_without_answer(c)
    srv.wait_log(r"PROXY header from 127\.0\.0\.2 refused \(not a PROXY header\)")


def test_proxy_protocol_only_from_trusted_proxies(wsd):
    """With --trustproxy, a peer that is not listed may not send a PROXY
    header at all (it could name any address): closed at accept."""
    srv = wsd(ENV, flags=["--proxyprotocol", "--trustproxy=127.0.0.1"])
    c = Raw(srv.port, local="127.0.0.2", pre=b"PROXY TCP4 203.0.113.4 127.0.0.1 1 2\r\n")
    assert closed_without_answer(c)
    srv.wait_log(r"PROXY header expected from 127\.0\.0\.2, which --trustproxy does not list")
    env = Raw(srv.port, local="127.0.0.1", pre=b"PROXY TCP4 203.0.113.4 127.0.0.1 1 2\r\n").env(
        [("X-Forwarded-For", "198.51.100.200")])
    # the PROXY header's client is not a trusted proxy: its X-Forwarded-For means nothing
    assert env["REMOTE_ADDR"] == "203.0.113.4"


def test_proxy_protocol_then_a_trusted_proxy_chain(wsd):
    """PROXY names 10.0.0.5, a listed proxy: its X-Forwarded-For counts."""
    srv = wsd(ENV, flags=["--proxyprotocol", "--trustproxy=127.0.0.1,10.0.0.0/8"])
    env = Raw(srv.port, local="127.0.0.1", pre=b"PROXY TCP4 10.0.0.5 127.0.0.1 1 2\r\n").env(
        [("X-Forwarded-For", "203.0.113.77")])
    assert env["REMOTE_ADDR"] == "203.0.113.77"


# --------------------------------------------------------------------------
# The documented set-ups, with Debian's nginx and HAProxy

@pytest.fixture
def proxy_dir():
    import shutil
    d = runtime_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def run_proxy(wsd, proxy_dir):
    """Factory for proxies (after `wsd`, so they stop before its checks)."""
    started = []

    def start(kind, **kw):
        p = (proxies.start_nginx if kind == "nginx" else proxies.start_haproxy)(proxy_dir, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def nginx_tls_conf(wsd_port, d, port, host_var=None):
    cert, key, _ = certs_into(d)
    text = doc_block("nginx", "nginx: TLS at nginx, wsd on 127.0.0.1:8080")
    text = replace(text, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    text = replace(text, "/etc/ssl/certs/ws.example.com.pem", str(cert))
    text = replace(text, "/etc/ssl/private/ws.example.com.key", str(key))
    text = replace(text, "http://127.0.0.1:8080", f"http://127.0.0.1:{wsd_port}")
    if host_var:
        text = replace(text, "proxy_set_header Host $http_host;", f"proxy_set_header Host {host_var};")
    return text


def test_nginx_tls_documented_config(wsd, run_proxy, proxy_dir):
    """TLS at nginx, wsd behind it with --trustproxy=127.0.0.1 and
    --sameorigin: the program sees the client's address (not nginx's, not
    what the client claims), HTTPS=on; a browser-like Origin is accepted,
    also with a default-port Host."""
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.1", "--sameorigin"])
    port = free_port()
    ngx = run_proxy("nginx", http=nginx_tls_conf(srv.port, proxy_dir, port), port=port)
    url = f"wss://127.0.0.1:{port}/"
    env = env_via(url, ssl=client_ctx(), origin=f"https://127.0.0.1:{port}",
                  headers={"X-Forwarded-For": "198.51.100.66"})
    assert env["REMOTE_ADDR"] == CLIENT, ngx.log()
    assert env["HTTPS"] == "on"
    assert env["HTTP_HOST"] == f"127.0.0.1:{port}"
    assert env["HTTP_X_FORWARDED_FOR"] == f"198.51.100.66, {CLIENT}"
    srv.wait_log(rf"url:'http://127\.0\.0\.1:{port}/'.*remote:'{CLIENT}'.*\| CONNECT")
    # a browser on the default port: Origin without a port, Host without one
    c = Raw(port, tls=True)
    c.send(c.request_bytes(host="ws.example.com", headers=upgrade_headers(
        extra=[("Origin", "https://ws.example.com")])))
    assert c.read_response().status == 101
    c.close()
    c = Raw(port, tls=True)
    c.send(c.request_bytes(host="ws.example.com", headers=upgrade_headers(
        extra=[("Origin", "https://evil.example")])))
    assert c.read_response().status == 403
    c.close()


def test_nginx_host_instead_of_http_host_breaks_sameorigin(wsd, run_proxy, proxy_dir):
    """Why the documentation says $http_host: with the old `Host $host` the
    port is dropped and every browser on a non-default port gets 403."""
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.1", "--sameorigin"])
    port = free_port()
    run_proxy("nginx", http=nginx_tls_conf(srv.port, proxy_dir, port, host_var="$host"), port=port)
    c = Raw(port, tls=True)
    c.send(c.request_bytes(headers=upgrade_headers(extra=[("Origin", f"https://127.0.0.1:{port}")])))
    assert c.read_response().status == 403
    c.close()


@pytest.mark.parametrize("mode", [True, False], ids=["unixsocketmode", "default-mode"])
def test_nginx_unix_socket_documented_config(wsd_unix, proxy_dir, mode):
    """nginx's unprivileged workers and wsd's socket: with the documented
    --unixsocketmode=0660 --unixsocketgroup=www-data they connect and the
    program sees the client; with the socket as root creates it (0755),
    nginx answers 502 (Permission denied)."""
    sock = proxy_dir / "wsd.sock"
    flags = ["--trustproxy=unix"]
    if mode:
        flags += ["--unixsocketmode=0660", f"--unixsocketgroup={proxies.RUNAS_USER}"]
    srv = wsd_unix(ENV, sock_path=sock, flags=flags)
    st = sock.stat()
    if mode:
        assert oct(st.st_mode & 0o777) == "0o660"
    port = free_port()
    the_map = doc_block("nginx", "nginx: TLS at nginx, wsd on 127.0.0.1:8080")
    the_map = the_map[:the_map.index("server {")]
    text = doc_block("nginx", "nginx: wsd on a Unix socket")
    text = replace(text, "listen 80;", f"listen 127.0.0.1:{port};")
    text = replace(text, "unix:/run/wsd/wsd.sock", f"unix:{sock}")
    ngx = proxies.start_nginx(proxy_dir, http=the_map + text, port=port)
    try:
        if mode or not proxies.AS_ROOT:
            env = env_via(f"ws://127.0.0.1:{port}/")
            assert env["REMOTE_ADDR"] == CLIENT, ngx.log()
        else:
            c = Raw(port)
            c.send(c.request_bytes())
            assert c.read_response().status == 502
            c.close()
            assert "Permission denied" in ngx.log()
    finally:
        ngx.stop()
    del srv


def test_nginx_stream_proxy_protocol_documented_config(wsd, run_proxy, proxy_dir):
    """nginx's stream module passes TLS through to wsd --ssl with a PROXY v1
    header first: the program sees the client's address and port."""
    srv = wsd(ENV, flags=["--proxyprotocol", "--trustproxy=127.0.0.1", "--ssl",
                          f"--sslcert={CERTS / 'server.pem'}", f"--sslkey={CERTS / 'server.key'}"])
    port = free_port()
    text = doc_block("nginx", "nginx stream: TLS passed through, PROXY protocol to wsd on 127.0.0.1:8443")
    text = replace(text, "listen 443;", f"listen 127.0.0.1:{port};")
    text = replace(text, "127.0.0.1:8443", f"127.0.0.1:{srv.port}")
    run_proxy("nginx", main="load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + text,
              port=port)
    c = Raw(port, tls=True)
    env = c.env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["HTTPS"]) == (CLIENT, str(c.local_port), "on")


def test_haproxy_tls_documented_config(wsd, run_proxy, proxy_dir):
    srv = wsd(ENV, flags=["--trustproxy=127.0.0.1", "--sameorigin"])
    _, _, both = certs_into(proxy_dir)
    port = free_port()
    text = doc_block("haproxy", "haproxy: TLS at HAProxy, wsd on 127.0.0.1:8080")
    text = replace(text, "bind :443 ssl crt /etc/haproxy/ws.example.com.pem",
                   f"bind 127.0.0.1:{port} ssl crt {both}")
    text = replace(text, "127.0.0.1:8080", f"127.0.0.1:{srv.port}")
    hap = run_proxy("haproxy", text=text, port=port)
    env = env_via(f"wss://127.0.0.1:{port}/", ssl=client_ctx(), origin=f"https://127.0.0.1:{port}",
                  headers={"X-Forwarded-For": "198.51.100.66"})
    assert env["REMOTE_ADDR"] == CLIENT, hap.log()
    assert env["HTTPS"] == "on"


def test_haproxy_tcp_proxy_protocol_v2_documented_config(wsd, run_proxy, proxy_dir):
    srv = wsd(ENV, flags=["--proxyprotocol", "--trustproxy=127.0.0.1", "--ssl",
                          f"--sslcert={CERTS / 'server.pem'}", f"--sslkey={CERTS / 'server.key'}"])
    port = free_port()
    text = doc_block("haproxy", "haproxy: TCP, PROXY protocol v2 to wsd on 127.0.0.1:8443")
    text = replace(text, "bind :443", f"bind 127.0.0.1:{port}")
    text = replace(text, "127.0.0.1:8443", f"127.0.0.1:{srv.port}")
    run_proxy("haproxy", text=text, port=port)
    c = Raw(port, tls=True)
    env = c.env()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"], env["HTTPS"]) == (CLIENT, str(c.local_port), "on")


@pytest.mark.skipif(not proxies.AS_ROOT, reason="--user needs root")
def test_documented_server_behind_documented_nginx(wsd, run_proxy, proxy_dir):
    """The issue's goal: `wsd --htpasswd=… --user=www-data
    --trustproxy=127.0.0.1 --maxperip=20 ./app` behind the documented nginx
    with TLS: the program runs as www-data and sees the user and the
    client's address; no credentials: 401 through nginx; the 21st
    connection from one client: 429."""
    import base64
    app = write_prog(proxy_dir / "app", "#!/bin/sh\necho \"uid=$(id -un)\"\n"
                     "echo \"REMOTE_USER=$REMOTE_USER\"\necho \"REMOTE_ADDR=$REMOTE_ADDR\"\n"
                     "echo \"HTTPS=$HTTPS\"\nread line\n")
    app.chmod(0o755)
    ht = proxy_dir / "htpasswd"
    import subprocess
    subprocess.run(["htpasswd", "-cbB", str(ht), "alice", "s3cret pass"], check=True,
                   capture_output=True)
    srv = wsd(str(app), flags=[f"--htpasswd={ht}", "--user=www-data", "--trustproxy=127.0.0.1",
                               "--maxperip=20", "--sameorigin"])
    port = free_port()
    run_proxy("nginx", http=nginx_tls_conf(srv.port, proxy_dir, port), port=port)
    url = f"wss://127.0.0.1:{port}/"
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret pass").decode()}

    async def go():
        socks = []
        try:
            for _ in range(20):
                ws = await connect(url, ssl=client_ctx(), origin=f"https://127.0.0.1:{port}",
                                   extra_headers=auth, local_addr=(CLIENT, 0))
                socks.append(ws)
            first = await socks[0].recv()
            env = {}
            while True:
                line = await asyncio.wait_for(socks[0].recv(), 5)
                k, _, v = line.partition("=")
                env[k] = v
                if "REMOTE_USER" in env and "REMOTE_ADDR" in env and "HTTPS" in env:
                    break
            with pytest.raises(Exception) as e:
                await connect(url, ssl=client_ctx(), origin=f"https://127.0.0.1:{port}",
                              extra_headers=auth, local_addr=(CLIENT, 0))
            return first, env, str(e.value)
        finally:
            await asyncio.gather(*(ws.close() for ws in socks))
    first, env, err = arun(go())
    assert first == "uid=www-data"
    assert env["REMOTE_USER"] == "alice" and env["REMOTE_ADDR"] == CLIENT and env["HTTPS"] == "on"
    assert "429" in err
    with pytest.raises(Exception) as e:
        env_via(url, ssl=client_ctx(), origin=f"https://127.0.0.1:{port}")
    assert "401" in str(e.value)
    srv.wait_log(rf"remote:'{CLIENT}'.*user:'alice'.*\| CONNECT")
