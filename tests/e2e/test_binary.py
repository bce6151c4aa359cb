"""--binary mode (spec 3): stdout bytes -> binary messages, messages raw."""
import os

import pytest

from conftest import OP_BIN, SCRIPTS, RawClient, arun, connect, recv_all


def test_cat_100k_round_trip(wsd):
    srv = wsd("/bin/cat", flags=["--binary"])
    data = os.urandom(100_000)

    async def go():
        async with connect(srv) as ws:
            await ws.send(data)
            got = b""
            while len(got) < len(data):
                m = await ws.recv()
                assert isinstance(m, bytes), "binary mode must send binary messages"
                got += m
            return got
    assert arun(go()) == data


def test_binary_messages_written_raw(wsd):
    srv = wsd("/bin/cat", flags=["--binary"])
    c = RawClient(srv.port)
    c.handshake()
    c.send_binary(b"\x00\xff\n\r")
    got = b""
    while len(got) < 4:
        op, data = c.recv_message()
        assert op == OP_BIN
        got += data
    assert got == b"\x00\xff\n\r"


def test_partial_chunk_at_eof_is_delivered(wsd):
    srv = wsd(SCRIPTS / "printf.sh", r"line1\r\n\nno-newline-tail", flags=["--binary"])

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, code, _ = arun(go())
    assert all(isinstance(m, bytes) for m in msgs)
    assert b"".join(msgs) == b"line1\r\n\nno-newline-tail"


@pytest.mark.deliberate
def test_binary_mode_exit_closes_1000(wsd):
    srv = wsd(SCRIPTS / "printf.sh", "abc", flags=["--binary"])
    c = RawClient(srv.port)
    c.handshake()
    code, _, msgs = c.expect_close()
    assert b"".join(d for _, d in msgs) == b"abc"
    assert code == 1000
