"""Text mode (spec 2): stdout lines -> text messages, messages -> stdin + \\n."""
import pytest

from conftest import (CHILD, OP_BIN, OP_TEXT, SCRIPTS, RawClient, arun, build_frame,
                      connect, recv_all, wait_until)


def test_count_lines_become_messages(wsd):
    srv = wsd(SCRIPTS / "count.sh", "5")

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, _, _ = arun(go())
    assert msgs == ["1", "2", "3", "4", "5"]


def test_line_endings_and_empty_lines(wsd):
    # \r\n and \n are stripped, a bare \r is kept, an empty line is a message.
    srv = wsd(SCRIPTS / "printf.sh", r"x\r\ny\rz\n\nw\n")
    c = RawClient(srv.port)
    c.handshake()
    got = [c.recv_text() for _ in range(4)]
    assert got == ["x", "y\rz", "", "w"]


@pytest.mark.deliberate
def test_final_line_without_newline_is_delivered(wsd):
    srv = wsd(SCRIPTS / "printf.sh", r"a\nb")
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, b"a"), (OP_TEXT, b"b")]
    assert code == 1000


def test_client_text_reaches_stdin_with_newline(wsd, tmp_path):
    out = tmp_path / "stdin.bin"
    srv = wsd(CHILD, "stdin-to-file", out)
    c = RawClient(srv.port)
    c.handshake()
    assert c.recv_text() == "ready"
    c.send_text("hello")
    c.send_text("")
    c.send_text("x\r\n")
    c.send_text("a\nb")
    want = b"hello\n\nx\r\n\na\nb\n"
    assert wait_until(lambda: out.read_bytes() == want, 3), out.read_bytes()


def test_embedded_newlines_become_separate_lines(wsd):
    srv = wsd("/bin/cat")

    async def go():
        async with connect(srv) as ws:
            await ws.send("a\nb")
            return [await ws.recv(), await ws.recv()]
    assert arun(go()) == ["a", "b"]


def test_binary_message_in_text_mode_is_written_raw(wsd, tmp_path):
    out = tmp_path / "stdin.bin"
    srv = wsd(CHILD, "stdin-to-file", out)
    c = RawClient(srv.port)
    c.handshake()
    assert c.recv_text() == "ready"
    c.send_binary(b"\x00\x01raw\xff")
    c.send_text("t")
    want = b"\x00\x01raw\xfft\n"
    assert wait_until(lambda: out.read_bytes() == want, 3), out.read_bytes()


def test_long_line_is_one_message(wsd):
    srv = wsd("/bin/cat")
    line = "L" * 200_000

    async def go():
        async with connect(srv) as ws:
            await ws.send(line)
            return await ws.recv()
    assert arun(go()) == line


@pytest.mark.deliberate
def test_invalid_utf8_from_child_is_replaced(wsd):
    srv = wsd(SCRIPTS / "printf.sh", r"a\377b\n")
    c = RawClient(srv.port)
    c.handshake()
    op, data = c.recv_message()
    assert op == OP_TEXT
    assert data.decode("utf-8") == "a\ufffdb"


def test_echo_many_messages_in_order(wsd):
    srv = wsd("/bin/cat")

    async def go():
        async with connect(srv) as ws:
            for i in range(200):
                await ws.send(f"m{i}")
            return [await ws.recv() for _ in range(200)]
    assert arun(go()) == [f"m{i}" for i in range(200)]


def test_utf8_round_trip(wsd):
    srv = wsd("/bin/cat")
    s = "héllo wörld ✓ 😀"

    async def go():
        async with connect(srv) as ws:
            await ws.send(s)
            return await ws.recv()
    assert arun(go()) == s


def test_permessage_deflate_offer_is_declined_with_deflate_false(wsd):
    srv = wsd("/bin/cat", flags=["--deflate=false"])
    c = RawClient(srv.port)
    from conftest import ws_key
    key = ws_key()
    r = c.handshake(headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                             ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                             ("Sec-WebSocket-Extensions",
                              "permessage-deflate; client_max_window_bits")], key=key)
    assert r.header("Sec-WebSocket-Extensions") is None
    c.send(build_frame(OP_TEXT, b"plain"))
    assert c.recv_text() == "plain"
    c.send(build_frame(OP_BIN, b"x"))  # in text mode: raw, no newline
    c.send_text("y")
    assert c.recv_text() == "xy"
