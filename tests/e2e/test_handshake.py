"""Opening handshake and HTTP error responses (spec 1), with a raw socket."""
import pytest

from conftest import (OP_TEXT, RawClient, accept_for, build_frame, raw_request, ws_key)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
           ("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")]


def req(method="GET", path="/", version="HTTP/1.1", host="127.0.0.1", headers=UPGRADE):
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def without(name):
    return [(k, v) for k, v in UPGRADE if k != name]


def replaced(name, value):
    return [(k, value if k == name else v) for k, v in UPGRADE]


def assert_error(r, status):
    assert r.status == status, f"expected {status}, got {r.status} {r.raw_head!r}"
    assert 0 < len(r.body) < 256, f"error body should be short text: {r.body!r}"
    assert r.body.decode("utf-8").strip(), r.body
    assert r.eof, "the server must close the connection after an error response"


def test_101_headers_exact(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    key = ws_key()
    r = c.handshake(key=key)
    assert r.raw_head.split(b"\r\n")[0] == b"HTTP/1.1 101 Switching Protocols"
    assert sorted(r.header_names()) == ["connection", "sec-websocket-accept", "upgrade"]
    assert r.header("Upgrade") == "websocket"
    assert r.header("Connection") == "Upgrade"
    assert r.header("Sec-WebSocket-Accept") == accept_for(key)
    assert b"Upgrade: websocket\r\n" in r.raw_head + b"\r\n"
    assert b"Connection: Upgrade\r\n" in r.raw_head + b"\r\n"


def test_rfc_sample_key(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.send(req(host=f"127.0.0.1:{srv.port}"))
    r = c.read_response()
    assert r.status == 101
    assert r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_header_flags_on_101(wsd):
    srv = wsd("/bin/cat", flags=["--header=X-All: a", "--header-ws=X-Ws: b",
                                 "--header-http=X-Http: c"])
    c = RawClient(srv.port)
    r = c.handshake()
    assert r.header("X-All") == "a"
    assert r.header("X-Ws") == "b"
    assert r.header("X-Http") is None


@pytest.mark.deliberate
def test_header_flags_on_404(wsd):
    srv = wsd("/bin/cat", flags=["--header=X-All: a", "--header-ws=X-Ws: b",
                                 "--header-http=X-Http: c"])
    r = raw_request(srv.port, req(headers=[]))
    assert r.status == 404
    assert r.header("X-Http") == "c"
    assert r.header("X-Ws") is None
    assert r.header("X-All") == "a"


def test_plain_get_is_404(wsd):
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, req(headers=[]), timeout=1.0)
    assert r.status == 404
    assert r.body == b"404 page not found\n"


@pytest.mark.deliberate
def test_frame_pipelined_with_handshake_is_processed(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    key = ws_key()
    c.send(c.request_bytes(key=key) + build_frame(OP_TEXT, b"early bird"))
    r = c.read_response()
    assert r.status == 101
    assert c.recv_text() == "early bird"


@pytest.mark.parametrize("name,headers", [
    ("keep-alive", replaced("Connection", "keep-alive, Upgrade")),
    ("mixed case upgrade", replaced("Upgrade", "WebSocket")),
    ("lower case connection", replaced("Connection", "upgrade")),
], ids=["keep-alive", "WebSocket", "upgrade"])
def test_accepted_variants(wsd, name, headers):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.send(req(headers=headers))
    r = c.read_response()
    assert r.status == 101
    assert r.header("Sec-WebSocket-Accept") == accept_for(KEY)
    c.send(build_frame(OP_TEXT, b"hi"))
    assert c.recv_text() == "hi"


def test_post_upgrade_is_405(wsd):
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, req(method="POST"))
    assert r.status == 405


def test_missing_host_is_400(wsd):
    srv = wsd("/bin/cat")
    assert_error(raw_request(srv.port, req(host=None)), 400)


def test_garbage_is_400(wsd):
    srv = wsd("/bin/cat")
    assert_error(raw_request(srv.port, b"\x16\x03\x01 hello garbage\r\n\r\n"), 400)


def test_missing_version_is_400_with_version_header(wsd):
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, req(headers=without("Sec-WebSocket-Version")), timeout=1.0)
    assert r.status == 400
    assert r.header("Sec-WebSocket-Version") == "13"


def test_missing_key_is_400(wsd):
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, req(headers=without("Sec-WebSocket-Key")), timeout=1.0)
    assert r.status == 400


BROKEN = [
    ("post", req(method="POST"), 405),
    ("http/1.0", req(version="HTTP/1.0"), 400),
    ("no connection header", req(headers=without("Connection")), 400),
    ("no key", req(headers=without("Sec-WebSocket-Key")), 400),
    ("key not base64", req(headers=replaced("Sec-WebSocket-Key", "abc")), 400),
    ("key decodes to 15 bytes", req(headers=replaced("Sec-WebSocket-Key",
                                                     "AAAAAAAAAAAAAAAAAAAA")), 400),
    ("no version", req(headers=without("Sec-WebSocket-Version")), 400),
    ("version 8", req(headers=replaced("Sec-WebSocket-Version", "8")), 426),
    ("head over 16 KiB", req(headers=UPGRADE + [("X-Big", "a" * 17000)]), 431),
]


@pytest.mark.deliberate
@pytest.mark.parametrize("case,data,status", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_upgrade(wsd, case, data, status):
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, data, timeout=2.0)
    assert_error(r, status)
    if status in (400, 426) and case.startswith(("no version", "version")):
        assert r.header("Sec-WebSocket-Version") == "13"
    assert not srv.children(), "no child may be spawned for a refused upgrade"


REPEATED = [
    ("key twice, equal", UPGRADE + [("Sec-WebSocket-Key", KEY)], "Key"),
    ("key twice, different", UPGRADE + [("sec-websocket-key", "x3JJHMbDL1EzLkh9GBhXDw==")], "Key"),
    ("version twice, equal", UPGRADE + [("Sec-WebSocket-Version", "13")], "Version"),
    ("version 13 then 8", UPGRADE + [("Sec-WebSocket-Version", "8")], "Version"),
]


@pytest.mark.deliberate
@pytest.mark.parametrize("case,headers,which", REPEATED, ids=[c[0] for c in REPEATED])
def test_repeated_key_or_version_is_400(wsd, case, headers, which):
    """RFC 6455 §11.3.1 and §11.3.5: Sec-WebSocket-Key and
    Sec-WebSocket-Version may each appear once; a second field (equal or
    not) is refused, not silently ignored (websocketd answers 101)."""
    srv = wsd("/bin/cat")
    r = raw_request(srv.port, req(headers=headers), timeout=2.0)
    assert_error(r, 400)
    assert r.body == f"400 Bad Request: more than one Sec-WebSocket-{which} header\n".encode()
    assert r.header("Sec-WebSocket-Version") == "13"
    assert not srv.children(), "no child may be spawned for a refused upgrade"


def test_head_just_under_16k_is_accepted(wsd):
    srv = wsd("/bin/cat")
    base = len(req(headers=UPGRADE + [("X-Big", "")]))
    c = RawClient(srv.port)
    c.send(req(headers=UPGRADE + [("X-Big", "a" * (15000 - base))]))
    r = c.read_response()
    assert r.status == 101


def test_handshake_and_frame_sent_byte_by_byte(wsd):
    import socket
    import time
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = ws_key()
    c.send(c.request_bytes(key=key))   # the head in one go, then a frame bytewise
    r = c.read_response()
    assert r.status == 101 and r.header("Sec-WebSocket-Accept") == accept_for(key)
    data = build_frame(OP_TEXT, b"slow")
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(0.002)
    assert c.recv_text() == "slow"


def test_handshake_head_sent_byte_by_byte(wsd):
    import socket
    import time
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = ws_key()
    data = c.request_bytes(key=key)
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(0.001)
    r = c.read_response()
    assert r.status == 101 and r.header("Sec-WebSocket-Accept") == accept_for(key)
    c.send(build_frame(OP_TEXT, b"after"))
    assert c.recv_text() == "after"


def test_abandoned_connections_leave_nothing(wsd):
    import time
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")      # half a request, then gone
    c.close()
    c = RawClient(srv.port)
    c.close()                                     # connect, say nothing
    c = RawClient(srv.port)
    c.handshake()
    c.close()                                     # upgrade, then gone at once
    srv.wait_no_children(3.0)
    c = RawClient(srv.port)                       # still serving
    c.handshake()
    c.send_text("alive")
    assert c.recv_text() == "alive"


def test_multiple_header_flags_accumulate(wsd):
    srv = wsd("/bin/cat", flags=["--header=X-One: 1", "--header=X-Two: 2",
                                 "--header-ws=X-Three: 3"])
    r = RawClient(srv.port).handshake()
    assert (r.header("X-One"), r.header("X-Two"), r.header("X-Three")) == ("1", "2", "3")


ORIGINS = [
    # (flags, Origin header or None, "SAME" = http://127.0.0.1:PORT, expected status)
    # deliberate (docs/compat.md): without --origin/--sameorigin any Origin is
    # accepted; websocketd 0.4.1 answers 403 to one it cannot parse
    ([], "foo", 101),
    ([], "null", 101),
    ([], "http://anything.example", 101),
    ([], None, 101),
    (["--origin=example.com"], "http://example.com", 101),
    (["--origin=example.com"], "http://example.com:8080", 101),
    (["--origin=example.com"], "https://example.com", 101),
    # deliberate (docs/compat.md): hosts compare case-insensitively (RFC 6454);
    # websocketd 0.4.1 answers 403
    (["--origin=example.com"], "http://Example.com", 101),
    (["--origin=Example.COM"], "http://example.com", 101),
    (["--origin=example.com"], "null", 403),
    (["--origin=example.com"], None, 403),
    (["--origin=https://example.com,example.com:8080"], "http://example.com", 403),
    (["--origin=https://example.com,example.com:8080"], "https://example.com", 101),
    (["--origin=https://example.com,example.com:8080"], "http://example.com:8080", 101),
    (["--sameorigin"], "SAME", 101),
    (["--sameorigin"], "http://127.0.0.1", 403),
    (["--sameorigin"], None, 403),
]


@pytest.mark.parametrize("flags,origin,status", ORIGINS,
                         ids=[f"{' '.join(f) or 'any'} {o}" for f, o, _ in ORIGINS])
def test_origin_checks(wsd, flags, origin, status):
    srv = wsd("/bin/cat", flags=flags)
    if origin == "SAME":
        origin = f"http://127.0.0.1:{srv.port}"
    c = RawClient(srv.port)
    from conftest import upgrade_headers
    c.send(c.request_bytes(headers=upgrade_headers(extra=[("Origin", origin)] if origin else [])))
    r = c.read_response()
    assert r.status == status
    if status == 403:
        assert not srv.children()
