"""RFC 7692 permessage-deflate conformance with hand-built frames, organised
like the Autobahn|Testsuite sections 12 (compressed echo of messages of
many sizes) and 13 (the same under each parameter combination), plus the
negotiation rules of RFC 7692 §5/§7 and the failure cases.

The server is `wsd --lossless cat` (exact echo). The client side is
Python's zlib: messages compressed with the agreed client window
(§7.1.2.2), a DEFLATE sync flush with its 00 00 ff ff removed (§7.2.1),
one compressor kept across messages unless client_no_context_takeover was
agreed (§7.1.1.2). The server's messages: RSV1 on the first frame only
(§6.1), fragments reassembled, 00 00 ff ff appended (§7.2.2), one inflater
kept across messages unless server_no_context_takeover was agreed
(§7.1.1.1) — a fresh one per message then, so a reference to an earlier
message fails. The inflater has exactly the agreed server window and is fed
one output byte at a time (zlib then resolves every back-reference from its
2^N-byte window, not from our output buffer): a distance beyond
server_max_window_bits fails with "invalid distance too far back"
(§7.1.2.1)."""
import random
import re
import zlib

import pytest

from conftest import (OP_BIN, OP_CONT, OP_PING, OP_TEXT, RawClient, build_frame, recv_events,
                      run_wsd, upgrade_headers)

pytestmark = pytest.mark.deliberate   # websocketd has no --lossless and no permessage-deflate

TAIL = b"\x00\x00\xff\xff"
EXT = "Sec-WebSocket-Extensions"
KIND = {OP_TEXT: "text", OP_BIN: "binary"}
PARAMS = ("server_no_context_takeover", "client_no_context_takeover",
          "server_max_window_bits", "client_max_window_bits")
MiB = 1024 * 1024


# ---------------------------------------------------------------- helpers

def echo_server(wsd, *flags):
    return wsd("cat", flags=["--lossless", *flags])


def parse_extensions(value):
    """A Sec-WebSocket-Extensions value (RFC 6455 §9.1) → [(name, [(param,
    value or None), ...]), ...]; quoted-string values unquoted."""
    def split(s, sep):
        out, cur, inq, esc = [], "", False, False
        for ch in s:
            if esc:
                cur, esc = cur + ch, False
            elif ch == "\\" and inq:
                cur, esc = cur + ch, True
            elif ch == '"':
                cur, inq = cur + ch, not inq
            elif ch == sep and not inq:
                out.append(cur)
                cur = ""
            else:
                cur += ch
        return out + [cur]
    exts = []
    for elem in split(value, ","):
        if not elem.strip():
            continue
        name, *params = [p.strip() for p in split(elem, ";")]
        parsed = []
        for p in params:
            k, eq, v = p.partition("=")
            v = v.strip()
            if v.startswith('"') and v.endswith('"') and len(v) >= 2:
                v = re.sub(r"\\(.)", r"\1", v[1:-1])
            parsed.append((k.strip(), v if eq else None))
        exts.append((name, parsed))
    return exts


class Agreed:
    """What a 101 response agreed on (absent window bits: 15)."""

    def __init__(self, params):
        d = dict(params)
        self.snct = "server_no_context_takeover" in d
        self.cnct = "client_no_context_takeover" in d
        self.smwb = int(d.get("server_max_window_bits") or 15)
        self.cmwb = int(d.get("client_max_window_bits") or 15)
        self.params = d


def check_response(offer, response):
    """The 101's Sec-WebSocket-Extensions value `response`, for the accepted
    offer `offer` ([(param, value)]), checked against RFC 7692; returns the
    Agreed parameters."""
    exts = parse_extensions(response)
    assert len(exts) == 1 and exts[0][0].lower() == "permessage-deflate", \
        f"{response!r}: one permessage-deflate element expected (RFC 6455 §9.1, RFC 7692 §5)"
    params = exts[0][1]
    names = [k.lower() for k, _ in params]
    assert len(set(names)) == len(names), f"{response!r}: repeated parameter (RFC 7692 §7)"
    assert set(names) <= set(PARAMS), f"{response!r}: unknown parameter (RFC 7692 §7)"
    d = {k.lower(): v for k, v in params}
    o = {k.lower(): v for k, v in offer}
    for k, v in d.items():
        if k.endswith("no_context_takeover"):
            assert v is None, f"{response!r}: {k} has no value (RFC 7692 §7.1.1)"
        else:
            assert v is not None and re.fullmatch(r"[89]|1[0-5]", v), \
                f"{response!r}: {k} must be 8..15 without leading zeros (RFC 7692 §7.1.2)"
    if "server_no_context_takeover" in o:
        assert "server_no_context_takeover" in d, \
            f"{response!r}: offered server_no_context_takeover must be in the response (§7.1.1.1)"
    if o.get("server_max_window_bits"):
        assert "server_max_window_bits" in d and \
            int(d["server_max_window_bits"]) <= int(o["server_max_window_bits"]), \
            f"{response!r}: server_max_window_bits ≤ the offer's required (§7.1.2.1)"
    if "client_max_window_bits" not in o:
        assert "client_max_window_bits" not in d, \
            f"{response!r}: client_max_window_bits not offered, must not be answered (§7.1.2.2)"
    elif o["client_max_window_bits"] and "client_max_window_bits" in d:
        assert int(d["client_max_window_bits"]) <= int(o["client_max_window_bits"]), \
            f"{response!r}: client_max_window_bits above the offer's (§7.1.2.2)"
    return Agreed(params)


def handshake(srv, *offers, timeout=10.0):
    """Connects with each offer string as one Sec-WebSocket-Extensions header;
    returns (client, response value or None)."""
    c = RawClient(srv.port, timeout=timeout)
    r = c.handshake(headers=upgrade_headers(extra=[(EXT, o) for o in offers]))
    vals = [v for k, v in r.headers if k.lower() == EXT.lower()]
    assert len(vals) <= 1, f"several {EXT} headers: {vals}"
    return c, (vals[0] if vals else None)


def inflate_checked(d, data, strict_bytes=1 << 30):
    """Inflates with decompressobj d, one output byte per call for the first
    `strict_bytes` bytes (every back-reference then has to come from zlib's
    window of exactly the size d was made with), then the rest at once."""
    out, buf = bytearray(), data
    while len(out) < strict_bytes:
        chunk = d.decompress(buf, 1)
        buf = d.unconsumed_tail
        if not chunk and not buf:
            return bytes(out)
        out += chunk
    return bytes(out + d.decompress(buf))


class Session:
    """Both sides of permessage-deflate as the client sees them."""

    def __init__(self, c, agreed):
        self.c, self.a = c, agreed
        self.comp = self.decomp = None
        self.compressed_replies = 0

    def compress(self, data):
        """One message's payload (RFC 7692 §7.2.1)."""
        if self.comp is None or self.a.cnct:
            # zlib cannot deflate raw with an 8-bit window; Z_RLE's matches
            # all have distance 1, which fits any window.
            self.comp = (zlib.compressobj(wbits=-9, strategy=zlib.Z_RLE) if self.a.cmwb == 8
                         else zlib.compressobj(wbits=-self.a.cmwb))
        out = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]

    def on_message(self, op, frames, strict_bytes=4096):
        """recv_events callback: the payload of a server message (§7.2.2)."""
        wire = b"".join(f.payload for f in frames)
        if not frames[0].rsv & 4:
            return wire
        self.compressed_replies += 1
        if self.decomp is None or self.a.snct:
            self.decomp = zlib.decompressobj(wbits=-self.a.smwb)
        try:
            return inflate_checked(self.decomp, wire + TAIL, strict_bytes)
        except zlib.error as e:
            raise AssertionError(f"server message does not inflate with the agreed parameters "
                                 f"{self.a.params} ({e})") from None

    def send(self, op, data, how="one frame"):
        """how: "one frame", "3 fragments" (compressed, RSV1 on the first
        only), "plain" (uncompressed: RSV1 0, RFC 7692 §6)."""
        if how == "plain":
            self.c.send(build_frame(op, data))
            return
        payload = self.compress(data)
        if how == "one frame":
            self.c.send(build_frame(op, payload, rsv=4))
            return
        a, b = len(payload) // 3, 2 * len(payload) // 3
        self.c.send(build_frame(op, payload[:a], fin=False, rsv=4) +
                    build_frame(OP_CONT, payload[a:b], fin=False) +
                    build_frame(OP_CONT, payload[b:]))

    def recv(self, n=1, timeout=10.0, strict_bytes=4096):
        return recv_events(self.c, n, timeout=timeout, rsv_ok=4,
                           on_message=lambda op, fr: self.on_message(op, fr, strict_bytes))

    def echo(self, op, data, how="one frame"):
        self.send(op, data, how)
        got = self.recv()
        assert got == [(KIND[op], data)], (f"{KIND[op]} {len(data)} bytes sent {how}: got "
                                           f"{[(e[0], len(e[-1])) for e in got]}")


def expect_failure(c, code, timeout=3.0):
    evs = recv_events(c, until_close=True, timeout=timeout, rsv_ok=4)
    assert evs[-1][:2] == ("close", code), f"expected close {code}, got {evs[-3:]!r}"
    c.expect_eof(timeout)
    return evs[:-1]


def close_cleanly(c):
    c.send_close(1000)
    assert recv_events(c, until_close=True, rsv_ok=4) == [("close", 1000, b"")]
    c.expect_eof(2.0)


def utf8_bytes(n, seed=0):
    """Random (poorly compressible) valid UTF-8 of exactly n bytes."""
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n:
        ch = chr(rnd.choice((rnd.randint(0x21, 0x7e), rnd.randint(0xa0, 0x7ff),
                             rnd.randint(0x800, 0xd7ff), rnd.randint(0x10000, 0x10ffff))))
        b = ch.encode()
        if size + len(b) > n:
            b = b"a" * (n - size)
        out.append(b)
        size += len(b)
    return b"".join(out)


def compressible(n):
    unit = "the quick brown fox jumps over the lazy dog, \u00e9t\u00e9 \U0001F600 ".encode()
    s = (unit * (n // len(unit) + 1))[:n]
    while True:                           # do not cut a character
        try:
            s.decode()
            return s + b"." * (n - len(s))
        except UnicodeDecodeError:
            s = s[:-1]


SIZES = [0, 16, 64, 1000, 100000]
_random_cache = {}


def message_set():
    """Autobahn 12.x: text and binary, compressible and random, of each size."""
    if not _random_cache:
        for n in SIZES:
            _random_cache[n] = (utf8_bytes(n, seed=n), random.Random(n).randbytes(n))
    out = []
    for n in SIZES:
        rt, rb = _random_cache[n]
        out += [(OP_TEXT, compressible(n)), (OP_BIN, compressible(n)), (OP_TEXT, rt), (OP_BIN, rb)]
    return out


def window_probe(bits, seed=0):
    """A binary message with a 64-byte block repeated at distance 2^bits +
    100: beyond a 2^bits window, so a server keeping to it cannot refer
    back to it (one that does fails the strict inflater)."""
    rnd = random.Random(seed)
    x = rnd.randbytes(64)
    return x + rnd.randbytes((1 << bits) + 36) + x + x


# ---------------------------------------------------------------- negotiation

# (offer header values, expected response parameters or None = declined,
#  index of the offer element that must be accepted); wsd's default
#  --deflatebits=12: it announces server_max_window_bits=12 and answers
#  client_max_window_bits with at most 12.
NEGOTIATION = {
    "plain": (["permessage-deflate"], {"server_max_window_bits": "12"}),
    "server_no_context_takeover": (["permessage-deflate; server_no_context_takeover"],
                                   {"server_no_context_takeover": None,
                                    "server_max_window_bits": "12"}),
    "client_no_context_takeover": (["permessage-deflate; client_no_context_takeover"],
                                   {"client_no_context_takeover": None,
                                    "server_max_window_bits": "12"}),
    "both no_context_takeover": (["permessage-deflate; server_no_context_takeover; "
                                  "client_no_context_takeover"],
                                 {"server_no_context_takeover": None,
                                  "client_no_context_takeover": None,
                                  "server_max_window_bits": "12"}),
    **{f"server_max_window_bits={n}": ([f"permessage-deflate; server_max_window_bits={n}"],
                                       {"server_max_window_bits": str(min(n, 12))})
       for n in range(8, 16)},
    "client_max_window_bits": (["permessage-deflate; client_max_window_bits"],
                               {"server_max_window_bits": "12", "client_max_window_bits": "12"}),
    **{f"client_max_window_bits={n}": ([f"permessage-deflate; client_max_window_bits={n}"],
                                       {"server_max_window_bits": "12",
                                        "client_max_window_bits": str(min(n, 12))})
       for n in (8, 9, 12, 15)},
    "quoted value": (['permessage-deflate; server_max_window_bits="10"'],
                     {"server_max_window_bits": "10"}),
    "all four": (["permessage-deflate; client_max_window_bits=9; server_max_window_bits=9; "
                  "client_no_context_takeover; server_no_context_takeover"],
                 {"server_no_context_takeover": None, "client_no_context_takeover": None,
                  "server_max_window_bits": "9", "client_max_window_bits": "9"}),
    # several offers: the first acceptable one wins (RFC 7692 §5, RFC 6455 §9.1)
    "first of two offers": (["permessage-deflate; server_max_window_bits=10, permessage-deflate"],
                            {"server_max_window_bits": "10"}),
    "bad offer then good": (["permessage-deflate; foo=1, "
                             "permessage-deflate; client_no_context_takeover"],
                            {"client_no_context_takeover": None,
                             "server_max_window_bits": "12"}, 1),
    "other extension first": (["x-webkit-deflate-frame, "
                               "permessage-deflate; server_max_window_bits=9"],
                              {"server_max_window_bits": "9"}, 1),
    "window 16 then 15": (["permessage-deflate; server_max_window_bits=16, "
                           "permessage-deflate; server_max_window_bits=15"],
                          {"server_max_window_bits": "12"}, 1),
    "second header line": (["permessage-deflate; bogus",
                            "permessage-deflate; server_max_window_bits=11"],
                           {"server_max_window_bits": "11"}, 1),
    # invalid offers are declined: no header, no compression (RFC 7692 §7)
    "unknown parameter": (["permessage-deflate; unknown_param"], None),
    "unknown parameter with value": (["permessage-deflate; foo=1"], None),
    "repeated server_no_context_takeover": (["permessage-deflate; server_no_context_takeover; "
                                             "server_no_context_takeover"], None),
    "repeated client_max_window_bits": (["permessage-deflate; client_max_window_bits; "
                                         "client_max_window_bits=10"], None),
    "repeated server_max_window_bits": (["permessage-deflate; server_max_window_bits=10; "
                                         "server_max_window_bits=10"], None),
    "server_max_window_bits=7": (["permessage-deflate; server_max_window_bits=7"], None),
    "server_max_window_bits=16": (["permessage-deflate; server_max_window_bits=16"], None),
    "server_max_window_bits=08": (["permessage-deflate; server_max_window_bits=08"], None),
    "server_max_window_bits=abc": (["permessage-deflate; server_max_window_bits=abc"], None),
    "server_max_window_bits without value": (["permessage-deflate; server_max_window_bits"], None),
    "client_max_window_bits=7": (["permessage-deflate; client_max_window_bits=7"], None),
    "client_max_window_bits=16": (["permessage-deflate; client_max_window_bits=16"], None),
    "server_no_context_takeover=1": (["permessage-deflate; server_no_context_takeover=1"], None),
    "client_no_context_takeover=true": (["permessage-deflate; client_no_context_takeover=true"],
                                        None),
    "only another extension": (["x-webkit-deflate-frame"], None),
}


@pytest.mark.parametrize("group", ["accepted", "several offers", "declined"])
def test_13_negotiation(wsd, group):
    """RFC 7692 §5 and §7: the server accepts the first acceptable
    permessage-deflate offer and its response follows §7.1 (each parameter
    once, known, valid values; server_no_context_takeover echoed;
    server_max_window_bits ≤ the offer's; client_max_window_bits only if
    offered, ≤ its value); an offer with an unknown or repeated parameter,
    or a bad value, is declined (§7: no extension header, and the
    connection works uncompressed, RSV1 then being a protocol error, RFC
    6455 §5.2). After each accepted handshake, RFC 7692 §7.2.3.1's "Hello"
    and a compressible 2000-byte text are echoed under the agreed
    parameters (Autobahn 13.x negotiation)."""
    srv = echo_server(wsd)
    failures = []
    for name, entry in NEGOTIATION.items():
        offers, expected, index = entry if len(entry) == 3 else entry + (0,)
        kind = "declined" if expected is None else "several offers" if index or \
            len(offers) > 1 or "," in offers[0] else "accepted"
        if kind != group:
            continue
        c, resp = handshake(srv, *offers)
        try:
            if expected is None:
                assert resp is None, f"declined offer answered with {resp!r}"
                c.send_text(b"uncompressed")
                assert recv_events(c, 1) == [("text", b"uncompressed")]
                c.send(build_frame(OP_TEXT, bytes.fromhex("f248cdc9c90700"), rsv=4))
                assert expect_failure(c, 1002) == []
                continue
            assert resp is not None, "offer declined"
            elems = [e for o in offers for e in parse_extensions(o)]
            agreed = check_response(elems[index][1], resp)
            assert {k: v for k, v in agreed.params.items()} == expected, resp
            s = Session(c, agreed)
            c.send(build_frame(OP_TEXT, bytes.fromhex("f248cdc9c90700"), rsv=4))
            assert s.recv() == [("text", b"Hello")]
            s.echo(OP_TEXT, compressible(2000))
            assert s.compressed_replies == 1
            close_cleanly(c)
        except AssertionError as e:
            failures.append(f"{name} {offers}: {e}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- compressed echo

COMBOS = [
    "permessage-deflate",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    *[f"permessage-deflate; server_max_window_bits={n}" for n in range(8, 16)],
    "permessage-deflate; client_max_window_bits",
    *[f"permessage-deflate; client_max_window_bits={n}" for n in (8, 9, 15)],
    "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9; "
    "server_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8; "
    "client_no_context_takeover",
]


def exchange(c, agreed, seed=0):
    """The Autobahn 12.x message set (sizes 0, 16, 64, 1000, 100000; text
    and binary; compressible and random), each echoed exactly; sent in one
    compressed frame, in 3 compressed fragments, or uncompressed (RFC 7692
    §6: a sender may leave a message uncompressed), some after a ping (its
    pong comes back uncompressed, RSV1 0: §6.1). Then a repeated message
    (context takeover, or none, §7.1.1) and a window probe (§7.1.2.1)."""
    s = Session(c, agreed)
    rnd = random.Random(seed)
    for i, (op, data) in enumerate(message_set()):
        how = rnd.choice(["one frame", "one frame", "3 fragments", "plain"])
        if i % 3 == 0:
            c.send_frame(OP_PING, b"ping %d" % i)
            assert s.recv() == [("pong", b"ping %d" % i)]
        s.echo(op, data, how)
    assert s.compressed_replies >= 4, "the server compressed none of the large messages"
    twice = random.Random(seed + 1).randbytes(1000)
    s.echo(OP_BIN, twice)
    s.echo(OP_BIN, twice)       # refers to the previous message unless *_no_context_takeover
    if agreed.smwb < 15:
        probe = window_probe(agreed.smwb, seed)
        s.send(OP_BIN, probe)
        assert s.recv(strict_bytes=len(probe)) == [("binary", probe)]
        if not agreed.snct:
            # a block only found more than 2^N bytes back, in the previous message
            s.send(OP_BIN, probe[64:128])
            assert s.recv(strict_bytes=1 << 20) == [("binary", probe[64:128])]
    return s


@pytest.mark.timeout(60)
@pytest.mark.parametrize("offer", COMBOS, ids=[o.replace("permessage-deflate", "pmd")
                                                for o in COMBOS])
def test_13_compressed_echo_per_parameters(wsd, offer):
    """RFC 7692 §7 (Autobahn 12.x/13.x): under each accepted parameter
    combination, client messages compressed with the agreed client window
    and context takeover rule are inflated by the server, and the server's
    messages inflate with the agreed server window and context takeover rule
    (see the module docstring); RSV1 only on the first frame of a message
    (§6.1)."""
    srv = echo_server(wsd)
    c, resp = handshake(srv, offer)
    assert resp is not None, f"offer {offer!r} declined"
    agreed = check_response(parse_extensions(offer)[0][1], resp)
    exchange(c, agreed)
    close_cleanly(c)


# RFC 7692 §7.2.3: the examples, as payloads of client frames (the first
# frame of a message has RSV1). Each is "Hello".
RFC_EXAMPLES = {
    "7.2.3.1 one frame": [("f248cdc9c90700", True)],
    "7.2.3.1 two fragments": [("f248cd", False), ("c9c90700", True)],
    "7.2.3.3 no-compression block": [("000500faff48656c6c6f00", True)],
    "7.2.3.4 BFINAL block": [("f348cdc9c9070000", True)],
    "7.2.3.5 two DEFLATE blocks": [("f2480500000" "0ffffcac9c90700", True)],
}


def test_12_rfc7692_examples(wsd):
    """RFC 7692 §7.2.3: every example payload is inflated to "Hello" by the
    server: one frame, fragmented (RSV1 on the first frame only), a
    no-compression block, a block with BFINAL set (§7.2.3.4: allowed), two
    blocks. §7.2.3.2: with context takeover the second "Hello" may be just
    f2 00 11 00 00 (a reference into the first). §7.2.3.6: a lone 00 byte
    (an empty message)."""
    srv = echo_server(wsd)
    c, resp = handshake(srv, "permessage-deflate")
    s = Session(c, check_response([], resp))
    for name, parts in RFC_EXAMPLES.items():
        c.send(b"".join(build_frame(OP_TEXT if i == 0 else OP_CONT, bytes.fromhex(h), fin=fin,
                                    rsv=4 if i == 0 else 0)
                        for i, (h, fin) in enumerate(parts)))
        assert s.recv() == [("text", b"Hello")], name
    close_cleanly(c)

    c, resp = handshake(srv, "permessage-deflate")
    s = Session(c, check_response([], resp))
    c.send(build_frame(OP_TEXT, bytes.fromhex("f248cdc9c90700"), rsv=4))
    c.send(build_frame(OP_TEXT, bytes.fromhex("f200110000"), rsv=4))
    c.send(build_frame(OP_BIN, b"\x00", rsv=4))
    c.send(build_frame(OP_TEXT, b"", rsv=4))
    assert s.recv(4) == [("text", b"Hello"), ("text", b"Hello"), ("binary", b""), ("text", b"")]
    close_cleanly(c)


# ---------------------------------------------------------------- flags

@pytest.mark.parametrize("bits", [9, 10, 12, 15])
def test_13_deflatebits_flag(wsd, bits):
    """--deflatebits=N (9..15): wsd announces server_max_window_bits=N when
    N < 15 (RFC 7692 §7.1.2.1: a server may limit its window even when not
    asked) and answers an offered client_max_window_bits with N; its
    messages fit an N-bit window. N = 15: nothing to announce."""
    srv = echo_server(wsd, f"--deflatebits={bits}")
    offer = "permessage-deflate; client_max_window_bits"
    c, resp = handshake(srv, offer)
    agreed = check_response(parse_extensions(offer)[0][1], resp)
    expected = {} if bits == 15 else {"server_max_window_bits": str(bits),
                                      "client_max_window_bits": str(bits)}
    assert agreed.params == expected, resp
    exchange(c, agreed, seed=bits)
    close_cleanly(c)


@pytest.mark.parametrize("mem", [1, 9])
def test_13_deflatemem_flag(wsd, mem):
    """--deflatemem=M (zlib memLevel 1..9) changes memory and speed, not the
    negotiation: the plain offer gets the default answer and messages still
    round-trip exactly."""
    srv = echo_server(wsd, f"--deflatemem={mem}")
    c, resp = handshake(srv, "permessage-deflate")
    agreed = check_response([], resp)
    assert agreed.params == {"server_max_window_bits": "12"}, resp
    exchange(c, agreed, seed=mem)
    close_cleanly(c)


def test_13_deflate_flags_out_of_range_refused():
    """--deflatebits outside 9..15 and --deflatemem outside 1..9 are refused
    at start-up (non-zero exit, the flag named)."""
    for args in (["--deflatebits=8"], ["--deflatebits=16"], ["--deflatemem=0"],
                 ["--deflatemem=10"]):
        status, out = run_wsd("--port=1", *args, "cat", timeout=5)
        assert status not in (0, None), (args, status, out[:300])
        assert args[0].split("=")[0].lstrip("-") in out, (args, out[:300])


# ---------------------------------------------------------------- failures

def _status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@pytest.mark.timeout(60)
def test_12_decompression_bomb_is_1009_with_bounded_memory(wsd):
    """RFC 6455 §10.4 (limits) and §7.4.1 (1009), RFC 7692 §8.1 (a bomb):
    50 MB of zeros compressed to ~50 KB, sent as one frame and as 64
    fragments: the inflated message passes --maxframesize (1 MiB) → 1009,
    and wsd's peak resident memory grows by less than 16 MiB."""
    srv = echo_server(wsd)
    comp = zlib.compressobj(level=9, wbits=-15)
    bomb = b"".join(comp.compress(b"\0" * MiB) for _ in range(50))
    bomb += comp.flush(zlib.Z_SYNC_FLUSH)[:-4]
    assert len(bomb) < 100_000
    c, resp = handshake(srv, "permessage-deflate")
    assert resp is not None
    hwm0 = _status_kb(srv.pid, "VmHWM")
    c.send(build_frame(OP_BIN, bomb, rsv=4))
    assert expect_failure(c, 1009, timeout=10) == []
    c, resp = handshake(srv, "permessage-deflate")
    step = len(bomb) // 64 + 1
    c.send(b"".join(build_frame(OP_BIN if i == 0 else OP_CONT, bomb[i:i + step],
                                fin=i + step >= len(bomb), rsv=4 if i == 0 else 0)
                    for i in range(0, len(bomb), step)))
    assert expect_failure(c, 1009, timeout=10) == []
    grown = _status_kb(srv.pid, "VmHWM") - hwm0
    assert grown < 16 * 1024, f"wsd's peak RSS grew by {grown} KiB"


def _far_reference():
    """A valid DEFLATE continuation whose first symbol refers to data before it."""
    z = zlib.compressobj(wbits=-15)
    z.compress(b"a fairly long sentence that will be repeated, ")
    z.flush(zlib.Z_SYNC_FLUSH)
    return (z.compress(b"a fairly long sentence that will be repeated, ")
            + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


def _deflated(data):
    z = zlib.compressobj(wbits=-15)
    return (z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


BAD_COMPRESSED = {
    # id: (opcode, payload, expected close code)
    "block type 3": (OP_BIN, b"\xff\xff\xff\xff", 1007),
    "stored block LEN/NLEN mismatch": (OP_BIN, b"\x00\x05\x00\x00\x00hello", 1007),
    "reference before the start": (OP_BIN, _far_reference(), 1007),
    "message ends inside a block": (OP_BIN, _deflated(random.Random(3).randbytes(3000))[:-40],
                                    1007),
    "inflated text not UTF-8": (OP_TEXT, _deflated(b"ok \xc0\x80 overlong"), 1007),
    "inflated text surrogate": (OP_TEXT, _deflated(b"ok \xed\xa0\x80"), 1007),
    "inflated text truncated": (OP_TEXT, _deflated(b"ok \xe2\x82"), 1007),
}


def test_12_invalid_compressed_data(wsd):
    """RFC 7692 §8.1/§6.2: data that does not inflate (bad block type, bad
    stored block, a reference before the start of the stream, a message
    ending inside a block) fails the connection: wsd uses 1007 (data
    inconsistent with the message). RFC 6455 §8.1: an inflated text message
    that is not UTF-8 → 1007, also fail-fast: a first fragment whose
    inflated bytes are invalid, the rest never sent."""
    srv = echo_server(wsd)
    failures = []
    for name, (op, payload, code) in BAD_COMPRESSED.items():
        c, resp = handshake(srv, "permessage-deflate")
        c.send(build_frame(op, payload, rsv=4) + build_frame(OP_PING, b"after"))
        try:
            assert expect_failure(c, code) == []
        except (AssertionError, EOFError, TimeoutError) as e:
            failures.append(f"{name}: {e}")
    c, resp = handshake(srv, "permessage-deflate")
    z = zlib.compressobj(wbits=-15)
    first = z.compress(b"valid start, then \xed\xa0\x80") + z.flush(zlib.Z_SYNC_FLUSH)
    c.send(build_frame(OP_TEXT, first, fin=False, rsv=4))
    try:
        assert expect_failure(c, 1007, timeout=2.0) == []
    except (AssertionError, EOFError, TimeoutError) as e:
        failures.append(f"fail-fast fragment: {e}")
    assert not failures, "\n".join(failures)


def test_12_rsv1_rules_with_compression(wsd):
    """RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message
    only; on a continuation frame it is an error (1002); an uncompressed
    message (RSV1 0) is allowed between compressed ones and does not enter
    the shared window (§7.2.1)."""
    srv = echo_server(wsd)
    c, resp = handshake(srv, "permessage-deflate")
    s = Session(c, check_response([], resp))
    s.echo(OP_TEXT, compressible(500))
    s.echo(OP_TEXT, b"plain in between", "plain")
    s.echo(OP_TEXT, compressible(500))       # refers to the first, not to the plain one
    payload = s.compress(b"fragmented wrongly")
    c.send(build_frame(OP_TEXT, payload[:3], fin=False, rsv=4) +
           build_frame(OP_CONT, payload[3:], rsv=4))
    assert expect_failure(c, 1002) == []
