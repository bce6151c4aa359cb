"""WebSocket protocol handling with hand-built frames: pings (spec 9) and
violations (spec 10). Each violation must produce the server's close frame
with the right code, then the TCP connection must be closed."""
import asyncio

import pytest

from conftest import (OP_BIN, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, SCRIPTS,
                      RawClient, arun, build_frame, close_payload, connect)

MiB = 1024 * 1024


def cat_client(wsd, flags=()):
    srv = wsd("/bin/cat", flags=list(flags))
    c = RawClient(srv.port)
    c.handshake()
    return srv, c


def expect_fail(c, code, timeout=3.0):
    got, reason, _ = c.expect_close(timeout)
    assert got == code, f"expected close {code}, got {got} ({reason!r})"
    c.expect_eof(timeout)


# ---------------------------------------------------------------- pings

def test_ping_answered_with_same_payload(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_PING, b"hello ping")
    f = c.recv_frame()
    assert f.opcode == OP_PONG and f.payload == b"hello ping"


def test_ping_max_payload_125(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_PING, b"p" * 125)
    f = c.recv_frame()
    assert f.opcode == OP_PONG and f.payload == b"p" * 125


def test_ping_answered_while_child_busy(wsd):
    srv = wsd(SCRIPTS / "busy.sh")

    async def go():
        async with connect(srv) as ws:
            assert await ws.recv() == "busy"
            waiter = await ws.ping(b"x")
            await asyncio.wait_for(waiter, 1.0)
            waiter = await ws.ping(b"y")
            await asyncio.wait_for(waiter, 1.0)
            return True
    assert arun(go(), timeout=10)


def test_unsolicited_pong_ignored(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_PONG, b"whatever")
    c.send_text("still here")
    assert c.recv_text() == "still here"


def test_fragmented_text_with_interleaved_pings(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_TEXT, b"hel", fin=False)
    c.send_frame(OP_PING, b"p1")
    c.send_frame(OP_CONT, b"lo ", fin=False)
    c.send_frame(OP_PING, b"p2")
    c.send_frame(OP_CONT, b"world")
    assert c.recv_text() == "hello world"
    assert [(f.opcode, f.payload) for f in c.controls] == [(OP_PONG, b"p1"), (OP_PONG, b"p2")]


def test_valid_4_byte_char_split_across_fragments(wsd):
    srv, c = cat_client(wsd)
    smile = "😀".encode()
    c.send_frame(OP_TEXT, b"a" + smile[:2], fin=False)
    c.send_frame(OP_CONT, smile[2:] + b"b")
    assert c.recv_text() == "a😀b"


def test_fragmented_binary_reassembled(wsd):
    srv, c = cat_client(wsd, ["--binary"])
    c.send_frame(OP_BIN, b"\x00\x01", fin=False)
    c.send_frame(OP_CONT, b"\x02", fin=False)
    c.send_frame(OP_CONT, b"\x03")
    got = b""
    while len(got) < 4:
        op, data = c.recv_message()
        got += data
    assert got == b"\x00\x01\x02\x03"


# ---------------------------------------------------------------- violations

VIOLATIONS = [
    ("unmasked", [build_frame(OP_TEXT, b"hi", mask=False)], 1002),
    ("rsv1", [build_frame(OP_TEXT, b"hi", rsv=4)], 1002),
    ("rsv2", [build_frame(OP_TEXT, b"hi", rsv=2)], 1002),
    ("rsv3", [build_frame(OP_TEXT, b"hi", rsv=1)], 1002),
    ("opcode 3", [build_frame(3, b"hi")], 1002),
    ("opcode 11", [build_frame(11, b"hi")], 1002),
    ("ping 126 bytes", [build_frame(OP_PING, b"p" * 126)], 1002),
    ("fragmented ping", [build_frame(OP_PING, b"p", fin=False)], 1002),
    ("continuation without start", [build_frame(OP_CONT, b"x")], 1002),
    ("text inside fragmented text", [build_frame(OP_TEXT, b"a", fin=False),
                                     build_frame(OP_TEXT, b"b")], 1002),
    ("close 1-byte payload", [build_frame(OP_CLOSE, b"\x03")], 1002, "deliberate"),
    ("close code 999", [build_frame(OP_CLOSE, close_payload(999))], 1002),
    ("close code 1004", [build_frame(OP_CLOSE, close_payload(1004))], 1002),
    ("close code 1005", [build_frame(OP_CLOSE, close_payload(1005))], 1002),
    ("close code 1006", [build_frame(OP_CLOSE, close_payload(1006))], 1002),
    ("close code 1015", [build_frame(OP_CLOSE, close_payload(1015))], 1002),
    ("close code 1016", [build_frame(OP_CLOSE, close_payload(1016))], 1002),
    ("close code 2999", [build_frame(OP_CLOSE, close_payload(2999))], 1002),
    ("close code 5000", [build_frame(OP_CLOSE, close_payload(5000))], 1002),
]


@pytest.mark.parametrize("frames,code", [
    pytest.param(v[1], v[2], id=v[0], marks=[pytest.mark.deliberate] if len(v) > 3 else [])
    for v in VIOLATIONS])
def test_protocol_violation(wsd, frames, code):
    srv, c = cat_client(wsd)
    c.send(b"".join(frames))
    expect_fail(c, code)
    srv.wait_no_children()


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_valid_close_codes_echoed(wsd, code):
    srv, c = cat_client(wsd)
    c.send_close(code)
    got, _, _ = c.expect_close()
    assert got == code
    c.expect_eof()


def test_close_reason_invalid_utf8(wsd):
    srv, c = cat_client(wsd)
    c.send(build_frame(OP_CLOSE, close_payload(1000) + b"\xff\xfe"))
    got, _, _ = c.expect_close()
    assert got in (1002, 1007)
    c.expect_eof()


@pytest.mark.deliberate
def test_invalid_utf8_text_is_1007(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_TEXT, b"ok\xffno")
    expect_fail(c, 1007)


@pytest.mark.deliberate
def test_invalid_utf8_split_across_fragments_is_1007(wsd):
    srv, c = cat_client(wsd)
    # \xe2\x82 is a valid prefix of a 3-byte sequence; "(" cannot continue it.
    c.send_frame(OP_TEXT, b"a\xe2\x82", fin=False)
    c.send_frame(OP_CONT, b"(b")
    expect_fail(c, 1007)


@pytest.mark.deliberate
def test_truncated_utf8_at_message_end_is_1007(wsd):
    srv, c = cat_client(wsd)
    c.send_frame(OP_TEXT, b"a\xe2\x82")
    expect_fail(c, 1007)


@pytest.mark.deliberate
def test_maxframesize_message_limit(wsd):
    srv, c = cat_client(wsd, ["--maxframesize=1000"])
    c.send_text("a" * 1000)
    assert c.recv_text() == "a" * 1000
    c.send_text("b" * 1001)
    expect_fail(c, 1009)


@pytest.mark.deliberate
def test_maxframesize_applies_to_reassembled_message(wsd):
    srv, c = cat_client(wsd, ["--maxframesize=1000"])
    c.send_frame(OP_TEXT, b"a" * 600, fin=False)
    c.send_frame(OP_CONT, b"a" * 600)
    expect_fail(c, 1009)


@pytest.mark.deliberate
@pytest.mark.timeout(40)
def test_default_limit_1mib_boundary(wsd):
    srv, c = cat_client(wsd)
    c.send_text("x" * MiB)
    assert c.recv_text(timeout=10) == "x" * MiB
    c.send_text("y" * (MiB + 1))
    expect_fail(c, 1009, timeout=10)


@pytest.mark.deliberate  # websocketd drops TCP without a close frame
def test_64bit_length_with_top_bit_is_1002(wsd):
    import struct
    srv, c = cat_client(wsd)
    c.send(b"\x81\xff" + struct.pack("!Q", 1 << 63) + b"abcd")
    got, _, _ = c.expect_close()
    assert got in (1002, 1009)
    c.expect_eof()


@pytest.mark.deliberate
def test_4gib_frame_header_is_1009_at_once(wsd):
    import struct
    srv, c = cat_client(wsd)
    c.send(b"\x82\xff" + struct.pack("!Q", 1 << 32) + b"abcd")
    expect_fail(c, 1009)


def test_data_after_client_close_is_ignored(wsd):
    srv, c = cat_client(wsd)
    c.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_TEXT, b"late"))
    got, _, msgs = c.expect_close()
    assert got == 1000 and msgs == []
    c.expect_eof()
