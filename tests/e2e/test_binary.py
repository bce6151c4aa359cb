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


@pytest.mark.deliberate  # websocketd's one-goroutine relay deadlocks here
@pytest.mark.timeout(60)
def test_4mb_both_directions_concurrently(wsd):
    srv = wsd("/bin/cat", flags=["--binary"])
    chunks = [os.urandom(1_000_000) for _ in range(4)]
    want = b"".join(chunks)

    async def go():
        import asyncio
        async with connect(srv) as ws:
            async def reader():
                got = b""
                while len(got) < len(want):
                    got += await ws.recv()
                return got
            task = asyncio.ensure_future(reader())
            for ch in chunks:
                await ws.send(ch)
            return await asyncio.wait_for(task, 20)
    assert arun(go(), timeout=30) == want


def test_large_inbound_messages_reach_stdin_intact(wsd, tmp_path):
    from conftest import CHILD, wait_until
    out = tmp_path / "in.bin"
    srv = wsd(CHILD, "stdin-to-file", out, flags=["--binary"])
    chunks = [os.urandom(1_000_000) for _ in range(3)]

    async def go():
        async with connect(srv) as ws:
            assert await ws.recv() == b"ready\n"
            for ch in chunks:
                await ws.send(ch)
            ok = wait_until(lambda: out.stat().st_size >= 3_000_000, 10)
            return ok
    assert arun(go(), timeout=30)
    assert out.read_bytes() == b"".join(chunks)
