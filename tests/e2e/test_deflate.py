"""permessage-deflate (RFC 7692), on by default (--deflate), with
python-websockets 10.4 (which offers it by default) and with hand-built
compressed frames."""
import base64
import os
import zlib

import pytest

from conftest import (OP_BIN, OP_CONT, OP_TEXT, RawClient, arun, build_frame, connect,
                      upgrade_headers)

pytestmark = pytest.mark.deliberate   # websocketd 0.4.1 never negotiates extensions

K200 = 200_000


def compressible_text(n):
    return ("the quick brown fox jumps over the lazy dog " * (n // 44 + 1))[:n]


def random_text(n):
    """Close to incompressible, one line (no newline), valid UTF-8."""
    return base64.b64encode(os.urandom(n))[:n].decode()


async def _exchange(ws, msgs):
    out = []
    for m in msgs:
        await ws.send(m)
        out.append(await ws.recv())
    return out


@pytest.mark.timeout(60)   # its arun bound, and time to report
def test_default_negotiates_and_echoes_text(wsd):
    srv = wsd("/bin/cat")
    msgs = ["hello", "", "h\u00e9llo \U0001F600", compressible_text(K200), random_text(K200),
            "again " * 10, compressible_text(K200)]

    async def go():
        async with connect(srv, compression="deflate") as ws:
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            return ext, await _exchange(ws, msgs)
    ext, got = arun(go(), timeout=30)
    assert ext is not None and ext.split(";")[0].strip() == "permessage-deflate", ext
    assert [len(g) for g in got] == [len(m) for m in msgs]
    assert got == msgs


@pytest.mark.timeout(60)   # its arun bound, and time to report
def test_default_negotiates_binary_mode_random_and_compressible(wsd):
    srv = wsd("/bin/cat", flags=["--binary"])
    payloads = [os.urandom(K200), compressible_text(K200).encode(), b"x"]

    async def go():
        out = []
        async with connect(srv, compression="deflate") as ws:
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            for p in payloads:
                await ws.send(p)
                got = b""
                while len(got) < len(p):       # --binary: cat's chunks, any split
                    m = await ws.recv()
                    assert isinstance(m, bytes)
                    got += m
                out.append(got)
        return ext, out
    ext, got = arun(go(), timeout=30)
    assert ext is not None and ext.startswith("permessage-deflate"), ext
    assert got == payloads


@pytest.mark.timeout(60)   # its arun bound, and time to report
def test_deflate_false_no_extension(wsd):
    srv = wsd("/bin/cat", flags=["--deflate=false"])

    async def go():
        async with connect(srv, compression="deflate") as ws:
            ext = ws.response_headers.get("Sec-WebSocket-Extensions")
            return ext, await _exchange(ws, ["plain", compressible_text(K200)])
    ext, got = arun(go(), timeout=30)
    assert ext is None
    assert got == ["plain", compressible_text(K200)]


def test_no_offer_no_extension(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    r = c.handshake()
    assert r.header("Sec-WebSocket-Extensions") is None
    c.send_text("x" * 5000)
    f = c.recv_frame()
    assert f.rsv == 0 and f.opcode == OP_TEXT


def _deflate_message(comp, data):
    """RFC 7692 §7.2.1: compress, sync-flush, drop the trailing 00 00 ff ff."""
    out = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def _recv_compressed_message(c, decomp, timeout=5.0):
    """Reads one data message frame by frame; returns (opcode, rsv of the
    first frame, bytes on the wire, inflated payload)."""
    first = c.recv_frame(timeout)
    assert first.opcode in (OP_TEXT, OP_BIN), first
    frames = [first]
    while not frames[-1].fin:
        f = c.recv_frame(timeout)
        assert f.opcode == OP_CONT and f.rsv == 0, f
        frames.append(f)
    wire = b"".join(f.payload for f in frames)
    if first.rsv & 4:
        data = decomp.decompress(wire + b"\x00\x00\xff\xff")
    else:
        data = wire
    return first.opcode, first.rsv, len(wire), data


def test_raw_compressed_frames_both_ways_with_context_takeover(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port, timeout=10)
    r = c.handshake(headers=upgrade_headers(extra=[(
        "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]))
    ext = r.header("Sec-WebSocket-Extensions")
    assert ext is not None and ext.startswith("permessage-deflate"), r.raw_head
    params = [p.strip().split("=")[0] for p in ext.split(";")[1:]]
    comp = zlib.compressobj(wbits=-15)
    decomp = zlib.decompressobj(wbits=-15)
    for text in (compressible_text(K200), compressible_text(K200), "short"):
        payload = _deflate_message(comp, text.encode())
        c.send(build_frame(OP_TEXT, payload, rsv=4))
        op, rsv, wire, data = _recv_compressed_message(c, decomp)
        assert op == OP_TEXT
        assert data == text.encode()
        if len(text) == K200:
            # a 200 KB line of repeated words must actually go out compressed
            assert rsv & 4, "server sent the 200 KB compressible message uncompressed"
            assert wire < K200 // 10, f"{wire} bytes on the wire for {K200}"
    if "client_no_context_takeover" not in params:
        # our second compressed message referred back to the first: it only
        # decompresses correctly if wsd kept its inflate context (checked by
        # the echo above); and an uncompressed (RSV1=0) message is fine too.
        c.send_text("uncompressed")
        op, rsv, wire, data = _recv_compressed_message(c, decomp)
        assert data == b"uncompressed"


def test_rsv1_without_negotiation_is_1002(wsd):
    srv = wsd("/bin/cat", flags=["--deflate=false"])
    c = RawClient(srv.port)
    c.handshake(headers=upgrade_headers(extra=[(
        "Sec-WebSocket-Extensions", "permessage-deflate")]))
    comp = zlib.compressobj(wbits=-15)
    c.send(build_frame(OP_TEXT, _deflate_message(comp, b"hello"), rsv=4))
    code, _, _ = c.expect_close()
    assert code == 1002
