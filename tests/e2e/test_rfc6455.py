"""RFC 6455 conformance with hand-built frames, organised like the sections
of the Autobahn|Testsuite: 1 framing, 2 pings/pongs, 3 reserved bits,
4 opcodes, 5 fragmentation, 6 UTF-8, 7 close, 9 large and many messages,
10 auto-fragmentation. (test_rfc7692.py has 12/13, permessage-deflate.)

The server is `wsd --lossless cat`: an exact echo, each message comes back
with the same type and payload. Every frame the server sends is checked by
conftest.recv_frame_strict (RFC 6455 §5.1, §5.2, §5.5) and the sequence by
recv_events (§5.4). Where the client breaks the protocol, the server must
_Fail the WebSocket Connection_ (§7.1.7): a close frame with the exact code
(§7.4.1), then the end of the TCP connection, and nothing sent after the bad
frame may have an effect (no pong for a later ping). Cases that check what
reached the program use `tee -a LOG` instead of cat (the same echo, plus a
log of the records wsd wrote to its stdin)."""
import random
import time

import pytest

from conftest import (OP_BIN, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawClient,
                      build_frame, close_payload, recv_events, send_chopped, upgrade_headers,
                      wait_until)

pytestmark = pytest.mark.deliberate   # websocketd has no --lossless (and differs on UTF-8)

KIND = {OP_TEXT: "text", OP_BIN: "binary"}
OPS = pytest.mark.parametrize("op", [OP_TEXT, OP_BIN], ids=["text", "binary"])
MiB = 1024 * 1024


# ---------------------------------------------------------------- helpers

def echo_server(wsd, *flags):
    return wsd("cat", flags=["--lossless", *flags])


def tee_server(wsd, tmp_path, *flags):
    """An exact echo that also appends every record it reads to LOG. When a
    connection fails, wsd closes the program's stdin and sends SIGINT 100 ms
    + --closems later: --closems=2000 gives tee time to read and log what
    was written to its stdin even on a loaded machine (tee ends at EOF)."""
    log = tmp_path / "stdin.log"
    log.write_bytes(b"")
    return wsd("tee", "-a", str(log), flags=["--lossless", "--closems=2000", *flags]), log


def record(kind, payload):
    return b"%s %d\n%s\n" % (kind.encode(), len(payload), payload)


def logged(log, kind, payload, timeout=3.0):
    """Waits until the program has received this message (as a record)."""
    rec = record(kind, payload)
    return bool(wait_until(lambda: rec in log.read_bytes(), timeout))


def open_client(srv, headers=None, timeout=10.0):
    c = RawClient(srv.port, timeout=timeout)
    c.response = c.handshake(headers=headers)
    return c


def expect_failure(c, code, timeout=3.0):
    """The server's close frame with `code`, then EOF (RFC 6455 §7.1.7).
    Returns the events before the close."""
    evs = recv_events(c, until_close=True, timeout=timeout)
    assert evs[-1][:2] == ("close", code), f"expected close {code}, got {evs[-3:]!r}"
    c.expect_eof(timeout)
    return evs[:-1]


def assert_cut_echo(evs, payload, kind="text"):
    """Events before a failure: nothing, or the echo of the message
    `payload` sent just before the bad frame, whole or cut by the close (wsd
    streams a message to the program as it arrives, and the program's echo,
    as it comes, as fragments; the close may interrupt them: RFC 6455 §5.4
    lets a control frame come between fragments, and §5.5.1 forbids data
    after it). RFC 6455 does not say whether such an echo must come first
    (§7.1.7 only requires the close); Autobahn counts both as a pass."""
    assert evs == [] or (len(evs) == 1 and (evs[0] == (kind, payload) or
                         (evs[0][:2] == ("partial", kind) and payload.startswith(evs[0][2])))), \
        evs


def each_case(cases, run):
    """Calls run(name, case) for every case (each on its own connections of
    one server) and fails at the end with every failing case listed."""
    failures = []
    for name, case in cases.items():
        try:
            run(name, case)
        except (AssertionError, EOFError, OSError) as e:
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def close_cleanly(c, code=1000):
    """Closing handshake (RFC 6455 §5.5.1): the server echoes the code and
    then closes the TCP connection (§7.1.1)."""
    c.send_close(code)
    evs = recv_events(c, until_close=True)
    assert evs == [("close", code, b"")], evs
    c.expect_eof(2.0)


def utf8_bytes(n, seed=0):
    """Valid UTF-8 of exactly n bytes with 1-, 2-, 3- and 4-byte characters
    (over 64 KiB: a 64 KiB random block repeated, then a random tail)."""
    if n > 65536:
        block = utf8_bytes(65536, seed)
        return block * (n // 65536) + utf8_bytes(n % 65536, seed + 1)
    rnd = random.Random(seed)
    chars = [c.encode() for c in ("a", "Z", " ", "\n", "\u00e9", "\u00df", "\u20ac",
                                  "\u4e2d", "\U0001F600", "\U0010FFFF", "\x00")]
    out, size = [], 0
    while size < n:
        ch = rnd.choice(chars)
        if size + len(ch) > n:
            ch = b"a"
        out.append(ch)
        size += len(ch)
    return b"".join(out)


def payload_for(op, n, seed=0):
    return utf8_bytes(n, seed) if op == OP_TEXT else random.Random(seed).randbytes(n)


def frames(*specs):
    """build_frame over (opcode, payload[, fin]) tuples, concatenated."""
    return b"".join(build_frame(s[0], s[1], fin=s[2] if len(s) > 2 else True) for s in specs)


# ---------------------------------------------------------------- 1 framing

LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]


@OPS
@pytest.mark.parametrize("how", ["whole", "bytewise", "random"])
def test_1_framing_payload_lengths(wsd, op, how):
    """RFC 6455 §5.2 payload length: 7-bit (0, 125), 16-bit (126..65535) and
    64-bit (65536) encodings; §5.3 masking. Autobahn 1.1.x (text), 1.2.x
    (binary). "bytewise": the header and the first and last 64 payload bytes
    in 1-byte writes (frames ≤ 128 bytes entirely); "random": 1..1500-byte
    writes; small delays between writes. Each message is echoed exactly (the
    server may fragment; its frames must use minimal length encodings)."""
    srv = echo_server(wsd)
    c = open_client(srv)
    for n in LENGTHS:
        payload = payload_for(op, n, seed=n)
        frame = build_frame(op, payload)
        head = len(frame) - n
        if how == "whole":
            c.send(frame)
        elif how == "bytewise":
            if n <= 128:
                send_chopped(c, frame, 1)
            else:
                send_chopped(c, frame[:head + 64], 1)
                send_chopped(c, frame[head + 64:-64], (1, 4096), seed=n)
                send_chopped(c, frame[-64:], 1)
        else:
            send_chopped(c, frame, (1, 1500), delay=0.001, seed=n)
        assert recv_events(c, 1, timeout=10) == [(KIND[op], payload)], f"length {n}"
    close_cleanly(c)


def test_1_masking(wsd):
    """RFC 6455 §5.3: any masking key works, including 00 00 00 00 (payload
    sent as is); §5.1: a server MUST close the connection on an unmasked
    client frame (wsd: 1002), whatever its opcode."""
    srv = echo_server(wsd)
    c = open_client(srv)
    for key in (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x01\x02\x03\x04"):
        c.send(build_frame(OP_TEXT, b"masked with " + key.hex().encode(), key=key))
        assert recv_events(c, 1) == [("text", b"masked with " + key.hex().encode())]
    close_cleanly(c)
    for op, payload in ((OP_TEXT, b"hi"), (OP_BIN, b"\x00\x01"), (OP_TEXT, b""),
                        (OP_PING, b"p"), (OP_PONG, b""), (OP_CLOSE, close_payload(1000))):
        c = open_client(srv)
        c.send(build_frame(op, payload, mask=False) + build_frame(OP_PING, b"after"))
        assert expect_failure(c, 1002) == [], f"unmasked opcode {op}"


# ---------------------------------------------------------------- 2 pings and pongs

PING_PAYLOADS = {
    "empty": b"",                                           # Autobahn 2.1
    "text": b"Hello, world!",                               # 2.2
    "binary": b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff",          # 2.3
    "125": bytes(range(125)),                               # 2.4, 2.6 (chopped)
}


def test_2_ping_answered_with_identical_pong(wsd):
    """RFC 6455 §5.5.2/§5.5.3: a pong with the ping's exact payload (empty,
    text, binary, 125 bytes), for a ping sent whole and in 1-byte writes
    (Autobahn 2.1-2.4, 2.6); the pong is a final, unmasked control frame."""
    srv = echo_server(wsd)

    def run(name, payload):
        c = open_client(srv)
        c.send_frame(OP_PING, payload)
        assert recv_events(c, 1) == [("pong", payload)]
        send_chopped(c, build_frame(OP_PING, payload), 1)
        assert recv_events(c, 1) == [("pong", payload)]
        close_cleanly(c)
    each_case(PING_PAYLOADS, run)


def test_2_ping_over_125_bytes_is_1002(wsd):
    """RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or
    less (Autobahn 2.5): 126, 127 and 65535 bytes → 1002, no pong; also
    when the header arrives byte by byte and the payload never does (the
    length alone decides)."""
    srv = echo_server(wsd)
    for n in (126, 127, 65535):
        c = open_client(srv)
        c.send(build_frame(OP_PING, b"p" * n) + build_frame(OP_PING, b"after"))
        assert expect_failure(c, 1002) == [], n
    c = open_client(srv)
    send_chopped(c, build_frame(OP_PING, b"p" * 126)[:8], 1)
    assert expect_failure(c, 1002) == []


def test_2_unsolicited_pongs_ignored(wsd):
    """RFC 6455 §5.5.3: an unsolicited pong needs no response (Autobahn 2.7,
    2.8, 2.9): pongs with no payload and with 125 bytes, then a ping → only
    that ping's pong, then the echo of a text message."""
    srv = echo_server(wsd)
    c = open_client(srv)
    c.send(frames((OP_PONG, b""), (OP_PONG, b"u" * 125), (OP_PING, b"ping!"),
                  (OP_PONG, b"unsolicited"), (OP_TEXT, b"still here")))
    assert recv_events(c, 2) == [("pong", b"ping!"), ("text", b"still here")]
    close_cleanly(c)


@pytest.mark.parametrize("how", ["whole", "bytewise"])
def test_2_ten_pings_ten_pongs_in_order(wsd, how):
    """RFC 6455 §5.5.2: each ping gets a pong, in order (Autobahn 2.10; 2.11
    with every ping in 1-byte writes)."""
    srv = echo_server(wsd)
    c = open_client(srv)
    pings = [b"payload-%d" % i for i in range(10)]
    data = b"".join(build_frame(OP_PING, p) for p in pings)
    if how == "whole":
        c.send(data)
    else:
        send_chopped(c, data, 1)
    assert recv_events(c, 10) == [("pong", p) for p in pings]
    close_cleanly(c)


# ---------------------------------------------------------------- 3 reserved bits

def _rsv_bad_frames(kind, rsv, tag):
    if kind == "text":
        return build_frame(OP_TEXT, b"bad-" + tag, rsv=rsv)
    if kind == "binary":
        return build_frame(OP_BIN, b"\x00bad-" + tag, rsv=rsv)
    if kind == "ping":
        return build_frame(OP_PING, b"bad-" + tag, rsv=rsv)
    if kind == "pong":
        return build_frame(OP_PONG, b"bad-" + tag, rsv=rsv)
    if kind == "close":
        return build_frame(OP_CLOSE, close_payload(1000), rsv=rsv)
    # a continuation frame of an open message
    return build_frame(OP_TEXT, b"frag-" + tag, fin=False) + build_frame(OP_CONT, b"x", rsv=rsv)


@pytest.mark.parametrize("kind", ["text", "binary", "ping", "pong", "close", "continuation"])
def test_3_reserved_bits_without_extension(wsd, tmp_path, kind):
    """RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them; if a
    nonzero value is received the endpoint MUST _Fail the WebSocket
    Connection_ (1002, §7.4.1) (Autobahn 3.1-3.7). Each of RSV1, RSV2, RSV3,
    RSV1+RSV2 and all three, on every frame type; no extension negotiated.
    A message echoed before the bad frame has arrived; the message pipelined
    just before it reaches the program (it may or may not be echoed before
    the close: RFC 6455 does not say, Autobahn counts both as a pass); the
    ping and text after it have no effect. The bad frame is written in
    1-byte pieces."""
    srv, log = tee_server(wsd, tmp_path)
    for rsv in (4, 2, 1, 6, 7):
        tag = f"{kind}-{rsv}".encode()
        c = open_client(srv)
        c.send_text(b"first-" + tag)
        assert recv_events(c, 1) == [("text", b"first-" + tag)]
        c.send_text(b"second-" + tag)
        send_chopped(c, _rsv_bad_frames(kind, rsv, tag) + build_frame(OP_PING, b"after")
                     + build_frame(OP_TEXT, b"third-" + tag), 1, delay=0.0002)
        evs = expect_failure(c, 1002)
        assert_cut_echo(evs, b"second-" + tag), (rsv, evs)
        assert logged(log, "text", b"second-" + tag), \
            f"rsv {rsv}: the message before the bad frame never reached the program"
        assert b"third-" + tag not in log.read_bytes()
        assert b"frag-" + tag not in log.read_bytes()


def test_3_reserved_bits_with_permessage_deflate(wsd, tmp_path):
    """RFC 7692 §6: with permessage-deflate negotiated RSV1 is the
    "Per-Message Compressed" bit of a message's first frame; RSV1 on a
    control frame or a continuation frame, and RSV2/RSV3 on any frame, still
    fail the connection with 1002 (RFC 6455 §5.2, RFC 7692 §6.1)."""
    import zlib
    srv, log = tee_server(wsd, tmp_path)

    def compressed(data):
        z = zlib.compressobj(wbits=-9)
        return (z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    def inflate(op, frs):     # replies under 64 bytes come uncompressed, but either is fine
        data = b"".join(f.payload for f in frs)
        if frs[0].rsv & 4:
            return zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")
        return data
    offer = upgrade_headers(extra=[("Sec-WebSocket-Extensions",
                                    "permessage-deflate; server_no_context_takeover")])
    bad = {
        "rsv1 ping": build_frame(OP_PING, b"p", rsv=4),
        "rsv1 pong": build_frame(OP_PONG, b"p", rsv=4),
        "rsv1 close": build_frame(OP_CLOSE, close_payload(1000), rsv=4),
        "rsv1 continuation of plain": build_frame(OP_TEXT, b"frag", fin=False)
        + build_frame(OP_CONT, compressed(b"ment"), rsv=4),
        "rsv1 continuation of compressed": build_frame(OP_BIN, compressed(b"frag"), fin=False,
                                                       rsv=4)
        + build_frame(OP_CONT, b"", rsv=4),
        "rsv2 text": build_frame(OP_TEXT, b"x", rsv=2),
        "rsv3 binary": build_frame(OP_BIN, b"x", rsv=1),
        "rsv1+rsv2 text": build_frame(OP_TEXT, compressed(b"x"), rsv=6),
        "rsv1+rsv3 binary": build_frame(OP_BIN, compressed(b"x"), rsv=5),
    }
    for name, frame in bad.items():
        tag = name.replace(" ", "-").encode()
        c = open_client(srv, headers=offer)
        c.send(build_frame(OP_TEXT, compressed(b"first-" + tag), rsv=4))
        ext = c.response.header("Sec-WebSocket-Extensions") or ""
        assert ext.startswith("permessage-deflate"), c.response.raw_head
        assert recv_events(c, 1, rsv_ok=4, on_message=inflate) == [("text", b"first-" + tag)], name
        c.send(frame + build_frame(OP_PING, b"after") + build_frame(OP_TEXT, b"late"))
        assert expect_failure(c, 1002) == [], name
        assert logged(log, "text", b"first-" + tag)


# ---------------------------------------------------------------- 4 opcodes

@pytest.mark.parametrize("opcodes", [[3, 4, 5, 6, 7], [11, 12, 13, 14, 15]],
                         ids=["non-control 3-7", "control 11-15"])
def test_4_reserved_opcodes(wsd, tmp_path, opcodes):
    """RFC 6455 §5.2: opcodes 0x3-0x7 (non-control) and 0xB-0xF (control)
    are reserved; receiving one MUST fail the connection (1002). Autobahn
    4.1.x/4.2.x: alone with no payload; after a valid message, with a
    payload, followed by a ping and a text (no effect); and in 1-byte
    writes."""
    srv, log = tee_server(wsd, tmp_path)
    each_case({f"opcode {op}": op for op in opcodes},
              lambda name, op: _reserved_opcode(srv, log, op))


def _reserved_opcode(srv, log, opcode):
    c = open_client(srv)
    c.send(build_frame(opcode, b"") + build_frame(OP_PING, b"after"))
    assert expect_failure(c, 1002) == []

    for how in ("whole", "bytewise"):
        tag = f"{opcode}-{how}".encode()
        c = open_client(srv)
        c.send_text(b"first-" + tag)
        assert recv_events(c, 1) == [("text", b"first-" + tag)]
        data = (build_frame(OP_TEXT, b"second-" + tag) + build_frame(opcode, b"reserved " * 5)
                + build_frame(OP_PING, b"after") + build_frame(OP_TEXT, b"third-" + tag))
        if how == "whole":
            c.send(data)
        else:
            send_chopped(c, data, 1, delay=0.0002)
        evs = expect_failure(c, 1002)
        assert_cut_echo(evs, b"second-" + tag)
        assert logged(log, "text", b"second-" + tag)
        assert b"third-" + tag not in log.read_bytes()


# ---------------------------------------------------------------- 5 fragmentation

_bin = random.Random(5).randbytes(64 * 20)
FRAG_OK = {
    # id: ([(opcode, payload, fin)...], expected events)
    "text 2 fragments": ([(OP_TEXT, b"fragment1", False), (OP_CONT, b"fragment2", True)],
                         [("text", b"fragment1fragment2")]),                        # 5.3
    "binary 2 fragments": ([(OP_BIN, b"\x00\x01", False), (OP_CONT, b"\xff\xfe", True)],
                           [("binary", b"\x00\x01\xff\xfe")]),
    "text 10 fragments": ([(OP_TEXT, b"a", False)] + [(OP_CONT, bytes([c]), False)
                                                      for c in b"bcdefghi"]
                          + [(OP_CONT, b"j", True)], [("text", b"abcdefghij")]),
    "binary 64 fragments": ([(OP_BIN, _bin[:20], False)]
                            + [(OP_CONT, _bin[i:i + 20], i == 63 * 20)
                               for i in range(20, 64 * 20, 20)], [("binary", _bin)]),
    "ping between 2 fragments": ([(OP_TEXT, b"fragment1", False), (OP_PING, b"ping payload"),
                                  (OP_CONT, b"fragment2", True)],
                                 [("pong", b"ping payload"), ("text", b"fragment1fragment2")]),
    "pings between 5 fragments": ([(OP_TEXT, b"fragment1", False), (OP_CONT, b"fragment2", False),
                                   (OP_PING, b"pong, 1"), (OP_CONT, b"fragment3", False),
                                   (OP_CONT, b"fragment4", False), (OP_PING, b"pong, 2"),
                                   (OP_CONT, b"fragment5", True)],
                                  [("pong", b"pong, 1"), ("pong", b"pong, 2"),
                                   ("text", b"fragment1fragment2fragment3fragment4fragment5")]),
    "binary with pings and a pong": ([(OP_BIN, b"\x01", False), (OP_PING, b""),
                                      (OP_PONG, b"unsolicited"), (OP_CONT, b"\x02", False),
                                      (OP_PING, b"2"), (OP_CONT, b"\x03", True)],
                                     [("pong", b""), ("pong", b"2"), ("binary", b"\x01\x02\x03")]),
    "empty first fragment": ([(OP_TEXT, b"", False), (OP_CONT, b"abc", True)],
                             [("text", b"abc")]),
    "empty middle fragment": ([(OP_TEXT, b"a", False), (OP_CONT, b"", False),
                               (OP_CONT, b"b", True)], [("text", b"ab")]),
    "empty last fragment": ([(OP_BIN, b"abc", False), (OP_CONT, b"", True)],
                            [("binary", b"abc")]),
    "all fragments empty, text": ([(OP_TEXT, b"", False), (OP_CONT, b"", False),
                                   (OP_CONT, b"", True)], [("text", b"")]),      # 6.1.2
    "all fragments empty, binary": ([(OP_BIN, b"", False), (OP_CONT, b"", True)],
                                    [("binary", b"")]),
}


def test_5_fragmented_messages_echoed(wsd):
    """RFC 6455 §5.4: a message in 2..N fragments (first frame with the
    opcode, then continuations, FIN on the last), empty fragments allowed;
    control frames MAY be injected between fragments and are answered at
    once, so each pong comes back before the echoed message (Autobahn 5.3-
    5.8, 5.19, 5.20, 6.1.2/6.1.3). Sent whole, in 1-byte writes, and with a
    20 ms pause between frames."""
    srv = echo_server(wsd)

    def run(name, case):
        specs, expected = case
        for how in ("whole", "bytewise", "paused"):
            c = open_client(srv)
            if how == "whole":
                c.send(frames(*specs))
            elif how == "bytewise":
                send_chopped(c, frames(*specs), 1)
            else:
                for s in specs:
                    c.send(frames(s))
                    time.sleep(0.02 if len(specs) <= 10 else 0.002)
            assert recv_events(c, len(expected)) == expected, how
            close_cleanly(c)
    each_case(FRAG_OK, run)


FRAG_BAD = {
    # id: (frames, the message that may be echoed before the close, if any)
    "fragmented ping": ([(OP_PING, b"ping", False), (OP_CONT, b"pong", True)], None),      # 5.1
    "fragmented pong": ([(OP_PONG, b"ping", False), (OP_CONT, b"pong", True)], None),      # 5.2
    "fragmented close": ([(OP_CLOSE, close_payload(1000), False),
                          (OP_CONT, b"", True)], None),
    "ping with FIN 0 inside a message": ([(OP_TEXT, b"a", False), (OP_PING, b"p", False),
                                          (OP_CONT, b"b", True)], None),
    "continuation FIN 1 without start": ([(OP_CONT, b"fragment1", True)], None),           # 5.9
    "continuation FIN 0 without start": ([(OP_CONT, b"fragment1", False)], None),          # 5.12
    "continuations after a complete message": ([(OP_TEXT, b"fragment1", False),           # 5.15
                                                (OP_CONT, b"fragment2", True),
                                                (OP_CONT, b"fragment3", False),
                                                (OP_CONT, b"fragment4", True)],
                                               ("text", b"fragment1fragment2")),
    "cont, text FIN 0, cont (twice)": ([(OP_CONT, b"fragment1", False),                   # 5.16
                                        (OP_TEXT, b"fragment2", False),
                                        (OP_CONT, b"fragment3", True)] * 2, None),
    "cont FIN 1, text FIN 0, cont (twice)": ([(OP_CONT, b"fragment1", True),              # 5.17
                                              (OP_TEXT, b"fragment2", False),
                                              (OP_CONT, b"fragment3", True)] * 2, None),
    "text inside fragmented text": ([(OP_TEXT, b"fragment1", False),                      # 5.18
                                     (OP_TEXT, b"fragment2", True)], None),
    "binary inside fragmented text": ([(OP_TEXT, b"a", False), (OP_BIN, b"b", True)], None),
    "text inside fragmented binary": ([(OP_BIN, b"a", False), (OP_TEXT, b"b", False),
                                       (OP_CONT, b"c", True)], None),
}


def test_5_fragmentation_errors_are_1002(wsd, tmp_path):
    """RFC 6455 §5.4/§5.5: control frames MUST NOT be fragmented; a
    continuation frame needs an open message; a new data frame MUST NOT
    start inside a fragmented message → 1002 (Autobahn 5.1, 5.2, 5.9-5.18).
    A ping sent after the error is not answered; nothing after the error
    reaches the program. Sent whole and in 1-byte writes."""
    srv, log = tee_server(wsd, tmp_path)

    def run(name, case):
        specs, may_echo = case
        for how in ("whole", "bytewise"):
            late = f"late-{name}-{how}".encode()
            c = open_client(srv)
            data = frames(*specs) + frames((OP_PING, b"after"), (OP_TEXT, late))
            if how == "whole":
                c.send(data)
            else:
                send_chopped(c, data, 1)
            evs = expect_failure(c, 1002)
            if may_echo:
                assert_cut_echo(evs, may_echo[1], may_echo[0])
                assert logged(log, *may_echo)
            else:
                assert evs == [], how
            assert late not in log.read_bytes()
    each_case(FRAG_BAD, run)


# ---------------------------------------------------------------- 6 UTF-8

UTF8_VALID = {
    "autobahn 6.2": ["Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!"],
    "kosme": ["\u03ba\u1f79\u03c3\u03bc\u03b5"],
    "first of each length": ["\x00", "\u0080", "\u0800", "\U00010000"],
    "last of each length": ["\x7f", "\u07ff", "\uffff", "\U0010ffff"],
    "other boundaries": ["\ud7ff", "\ue000", "\ufffd", "\U0010fffe"],
    "noncharacters": ["\ufffe", "\U0001fffe", "\U0001ffff", "\ufdd0\ufdef"],
    "4-byte mix": ["a\U0001F600b\U0001F4A9\u00e9\u4e2d\U00020000z"],
}


@pytest.mark.parametrize("group", list(UTF8_VALID))
def test_6_valid_utf8_echoed_split_everywhere(wsd, group):
    """RFC 6455 §5.6/§8.1: a text message must be valid UTF-8 (RFC 3629) as
    a whole; fragment and write boundaries may fall inside a character. Each
    text is sent in one frame, in two fragments split at every byte position,
    in 1-byte fragments, and as one frame in 1-byte writes (Autobahn 6.2
    and the valid 6.x cases: κόσμε, boundaries, noncharacters); all are
    echoed intact."""
    srv = echo_server(wsd)
    c = open_client(srv)
    for text in UTF8_VALID[group]:
        b = text.encode()
        sends = [build_frame(OP_TEXT, b)]
        sends += [frames((OP_TEXT, b[:i], False), (OP_CONT, b[i:])) for i in range(len(b) + 1)]
        sends.append(frames(*[(OP_TEXT if i == 0 else OP_CONT, b[i:i + 1], i == len(b) - 1)
                              for i in range(len(b))]))
        c.send(b"".join(sends))
        assert recv_events(c, len(sends)) == [("text", b)] * len(sends), repr(text)
        send_chopped(c, build_frame(OP_TEXT, b), 1)
        assert recv_events(c, 1) == [("text", b)], repr(text)
    close_cleanly(c)


UTF8_INVALID = {
    "overlong": [b"\xc0\x80", b"\xc1\xbf", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xe0\x9f\xbf",
                 b"\xf0\x80\x80\xaf", b"\xf0\x8f\xbf\xbf", b"\xf8\x80\x80\x80\xaf",
                 b"\xfc\x80\x80\x80\x80\xaf"],
    # single and paired surrogates, and one inside a text (Autobahn 6.3)
    "surrogates": [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf",
                   b"\xed\xb0\x80", b"\xed\xbe\x80", b"\xed\xbf\xbf",
                   b"\xed\xa0\x80\xed\xb0\x80", b"\xed\xaf\xbf\xed\xbf\xbf",
                   b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"],
    "above U+10FFFF": [b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf7\xbf\xbf\xbf",
                       b"\xf8\x88\x80\x80\x80", b"\xfb\xbf\xbf\xbf\xbf",
                       b"\xfc\x84\x80\x80\x80\x80", b"\xfd\xbf\xbf\xbf\xbf\xbf"],
    "impossible bytes": [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"],
    "lone continuations": [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80\xbf\x80"],
    "start without continuation": [b"\xc2 ", b"\xdfA", b"\xe0\xa0A", b"\xef\xbfA",
                                   b"\xf0\x90\x80A", b"\xf4\x8f\xbfA", b"\xc2\xc2",
                                   b"\xe2\x82\xe2\x82\xac"],
}
# Valid as far as they go: invalid only because the message ends there.
UTF8_TRUNCATED = [b"\xc2", b"\xdf", b"\xe2\x82", b"\xef\xbf", b"\xf0\x9f\x98", b"\xf4\x8f\xbf",
                  b"\xf0"]


@pytest.mark.parametrize("group", list(UTF8_INVALID))
def test_6_invalid_utf8_is_1007_fail_fast(wsd, group):
    """RFC 6455 §8.1: on invalid UTF-8 in a text message the endpoint MUST
    _Fail the WebSocket Connection_, code 1007 (§7.4.1); RFC 3629 §3/§10:
    overlong forms, surrogates (U+D800-U+DFFF), code points above U+10FFFF,
    bytes C0, C1, F5-FF and misplaced continuation bytes are invalid
    (the invalid Autobahn 6.x cases). Each sequence inside a text message: in one frame;
    in two fragments split inside it; and fail-fast
    (Autobahn 6.4.x): the first fragment ends just after the sequence and
    the rest is never sent, or one frame announces more payload than is
    ever sent — the 1007 must come anyway. Nothing reaches the program."""
    srv = echo_server(wsd)
    for seq in UTF8_INVALID[group]:
        p = b"ok" + seq + b"end"
        cases = {"one frame": build_frame(OP_TEXT, p)}
        if len(seq) > 1:
            i = 2 + len(seq) // 2
            cases[f"split at {i}"] = frames((OP_TEXT, p[:i], False), (OP_CONT, p[i:]))
        cases["fail-fast fragment"] = build_frame(OP_TEXT, b"ok" + seq, fin=False)
        full = build_frame(OP_TEXT, p + b"x" * 1000)
        cases["fail-fast in frame"] = full[:len(full) - 1000 - 3]
        for how, data in cases.items():
            c = open_client(srv)
            c.send(data + (b"" if how.startswith("fail-fast") else build_frame(OP_PING, b"after")))
            assert expect_failure(c, 1007, timeout=2.0) == [], f"{seq!r} {how}"


def test_6_truncated_utf8_at_message_end_is_1007(wsd):
    """RFC 6455 §8.1 and §5.6: the whole message must be valid UTF-8, so a
    sequence cut by the end of the message is invalid (1007) — whether the
    message is one frame, ends with a fragment that is cut, or ends with an
    empty final fragment after one that is."""
    srv = echo_server(wsd)
    for seq in UTF8_TRUNCATED:
        for how, data in {
            "one frame": build_frame(OP_TEXT, b"ok" + seq),
            "two fragments": frames((OP_TEXT, b"ok", False), (OP_CONT, seq)),
            "empty final fragment": frames((OP_TEXT, b"ok" + seq, False), (OP_CONT, b"")),
        }.items():
            c = open_client(srv)
            c.send(data + build_frame(OP_PING, b"after"))
            assert expect_failure(c, 1007) == [], f"{seq!r} {how}"


def test_6_binary_messages_are_not_utf8_checked(wsd):
    """RFC 6455 §5.6: binary data is arbitrary: the invalid sequences above
    are echoed intact in binary messages, whole and fragmented."""
    srv = echo_server(wsd)
    c = open_client(srv)
    seqs = [s for group in UTF8_INVALID.values() for s in group] + UTF8_TRUNCATED
    for s in seqs:
        c.send(build_frame(OP_BIN, s) + frames((OP_BIN, s[:1], False), (OP_CONT, s[1:])))
    assert recv_events(c, 2 * len(seqs)) == [("binary", s) for s in seqs for _ in (0, 1)]
    close_cleanly(c)


# ---------------------------------------------------------------- 7 close

CLOSE_VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
               1012, 1013, 1014,   # IANA: Service Restart, Try Again Later, Bad Gateway
               3000, 3999, 4000, 4999]
CLOSE_INVALID = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def test_7_valid_close_codes_echoed(wsd):
    """RFC 6455 §5.5.1: on a close frame the endpoint MUST send a close frame
    in response, usually echoing the status code; §7.4.1/§7.4.2 and the IANA
    registry (§11.7): 1000-1003, 1007-1014 and 3000-4999 may be sent
    (Autobahn 7.7.x). §7.1.1: the server then closes the TCP connection
    first (EOF within 2 s, without the client closing its side)."""
    srv = echo_server(wsd)
    for code in CLOSE_VALID:
        c = open_client(srv)
        c.send_close(code)
        t0 = time.monotonic()
        assert recv_events(c, until_close=True) == [("close", code, b"")], code
        c.expect_eof(2.0)
        took = time.monotonic() - t0
        assert took < 2.0, f"code {code}: TCP closed after {took:.2f}s"


def test_7_invalid_close_codes_are_1002(wsd):
    """RFC 6455 §7.4.1/§7.4.2: 0-999 are unused, 1004-1006 and 1015 are
    reserved (never sent in a close frame), 1016-2999 are for future
    extensions of the protocol, ≥ 5000 undefined: receiving one is a
    protocol error (1002) (Autobahn 7.9.x, 7.13.x)."""
    srv = echo_server(wsd)
    for code in CLOSE_INVALID:
        c = open_client(srv)
        c.send_close(code)
        assert expect_failure(c, 1002) == [], code


CLOSE_PAYLOADS = {
    # id: (payload, expected (code, reason) of the server's close)
    "empty": (b"", (None, b"")),                                                        # 7.3.1
    "code only": (close_payload(1000), (1000, b"")),                                    # 7.3.3
    "code and reason": (close_payload(1000, b"Hello World!"), (1000, b"")),             # 7.3.4
    "123-byte reason": (close_payload(1001, "\u00e9" * 61 + "x"), (1001, b"")),         # 7.3.5
    "1-byte payload": (b"\x03", (1002, None)),                                          # 7.3.2
    "124-byte reason": (close_payload(1000, b"r" * 124), (1002, None)),                 # 7.3.6
    "reason 0xff": (close_payload(1000, b"\xff"), (1007, None)),                        # 7.5.1
    "reason overlong": (close_payload(1000, b"a\xc0\xafb"), (1007, None)),
    "reason surrogate": (close_payload(1000, b"\xed\xa0\x80"), (1007, None)),
    "reason truncated": (close_payload(1000, b"ok\xe2\x82"), (1007, None)),
}


def test_7_close_payloads(wsd):
    """RFC 6455 §5.5.1: a close frame's payload is empty or a 2-byte code
    followed by a UTF-8 reason; §5.5: at most 125 bytes. An empty close is
    answered with an empty one (§5.5.1: no code to echo); a code (with any
    valid reason, 123 bytes included) is echoed, and wsd (like websocketd)
    sends the code only. A 1-byte payload or one over 125 bytes → 1002;
    a reason that is not valid UTF-8 → 1007 (§8.1) (Autobahn 7.3.x, 7.5.1)."""
    srv = echo_server(wsd)

    def run(name, case):
        payload, (code, reason) = case
        c = open_client(srv)
        c.send_text(b"before")
        assert recv_events(c, 1) == [("text", b"before")]
        c.send(build_frame(OP_CLOSE, payload) + build_frame(OP_PING, b"after"))
        evs = recv_events(c, until_close=True)
        assert evs[-1][:2] == ("close", code), evs
        if reason is not None:
            assert evs == [("close", code, reason)]
        else:
            assert evs[:-1] == []
        c.expect_eof()
    each_case(CLOSE_PAYLOADS, run)


def test_7_nothing_after_close(wsd, tmp_path):
    """RFC 6455 §5.5.1: after sending a close frame the endpoint MUST NOT send
    more data, and the peer discards what follows its close (§1.4); data
    after the close is ignored (Autobahn 7.1.1-7.1.6): close after an
    echoed message; two closes (one answer); a close then a ping (no pong);
    a close then a text (not echoed, not delivered); a close between two
    fragments of a message (the message is dropped); a 256 KiB message, a
    close and a ping (the message may be echoed, wholly or partly, before
    the close; never a pong)."""
    srv, log = tee_server(wsd, tmp_path)
    c = open_client(srv)
    c.send_text(b"Hello World")
    assert recv_events(c, 1) == [("text", b"Hello World")]
    close_cleanly(c)

    for name, data in {
        "close twice": frames((OP_CLOSE, close_payload(1000)), (OP_CLOSE, close_payload(1001))),
        "close then ping": frames((OP_CLOSE, close_payload(1000)), (OP_PING, b"after")),
        "close then text": frames((OP_CLOSE, close_payload(1000)), (OP_TEXT, b"late-text")),
        "close inside a message": frames((OP_TEXT, b"frag-one", False),
                                         (OP_CLOSE, close_payload(1000)), (OP_CONT, b"two")),
    }.items():
        c = open_client(srv)
        c.send(data)
        assert recv_events(c, until_close=True) == [("close", 1000, b"")], name
        c.expect_eof()
    assert b"late-text" not in log.read_bytes()
    assert b"frag-one" not in log.read_bytes()

    big = utf8_bytes(256 * 1024, seed=7)
    c = open_client(srv)
    c.send(frames((OP_TEXT, big), (OP_CLOSE, close_payload(1000)), (OP_PING, b"after")))
    evs = recv_events(c, until_close=True, timeout=10)
    assert evs[-1] == ("close", 1000, b""), evs[-1]
    for ev in evs[:-1]:
        assert ev[0] in ("text", "partial") and big.startswith(ev[-1]), ev[:2]
    assert len(evs) <= 2
    c.expect_eof()


# ---------------------------------------------------------------- 9 large and many messages

@OPS
@pytest.mark.timeout(60)
def test_9_limit_boundary_1mib(wsd, op):
    """RFC 6455 §10.4: an implementation SHOULD limit frame and message
    sizes; §7.4.1: 1009 for a message too big to process. wsd's
    --maxframesize defaults to 1 MiB per message: exactly 1 MiB is echoed
    (one frame, and 16 fragments); 1 MiB + 1 byte → 1009, in one frame (at
    its header) and when the last of 16 fragments goes over."""
    srv = echo_server(wsd)
    big = payload_for(op, MiB, seed=9)
    c = open_client(srv, timeout=20)
    c.send(build_frame(op, big))
    assert recv_events(c, 1, timeout=20) == [(KIND[op], big)]
    step = MiB // 16
    c.send(frames(*[(op if i == 0 else OP_CONT, big[i:i + step], i + step >= MiB)
                    for i in range(0, MiB, step)]))
    assert recv_events(c, 1, timeout=20) == [(KIND[op], big)]
    close_cleanly(c)

    over = big + b"x"
    c = open_client(srv, timeout=20)
    c.send(build_frame(op, over)[:20000])
    assert expect_failure(c, 1009) == []
    c = open_client(srv, timeout=20)
    c.send(frames(*[(op if i == 0 else OP_CONT, over[i:i + step], i + step >= len(over))
                    for i in range(0, len(over), step)]))
    assert expect_failure(c, 1009, timeout=10) == []


def test_9_thousand_small_messages_in_order(wsd):
    """RFC 6455 §5.4/§6.1: messages are delivered in order. 1000 text and
    binary messages of 0-200 bytes, sent back to back in one write: all
    echoed, in order, with their types."""
    srv = echo_server(wsd)
    c = open_client(srv, timeout=20)
    rnd = random.Random(1000)
    msgs = []
    for i in range(1000):
        op = OP_TEXT if rnd.random() < 0.5 else OP_BIN
        msgs.append((op, payload_for(op, rnd.randint(0, 200), seed=i)))
    c.send(b"".join(build_frame(op, p) for op, p in msgs))
    assert recv_events(c, 1000, timeout=20) == [(KIND[op], p) for op, p in msgs]
    close_cleanly(c)


@OPS
@pytest.mark.timeout(60)
def test_9_4mib_unlimited_in_64kib_fragments(wsd, op):
    """RFC 6455 §5.4: a message of any size in fragments; --maxframesize=0
    lifts wsd's limit. 4 MiB in 64 KiB fragments, then 4 MiB in one frame
    (64-bit length), each echoed exactly (Autobahn 9.1.x/9.2.x, 9.3.x)."""
    srv = echo_server(wsd, "--maxframesize=0")
    big = payload_for(op, 4 * MiB, seed=4)
    c = open_client(srv, timeout=30)
    step = 64 * 1024
    c.send(frames(*[(op if i == 0 else OP_CONT, big[i:i + step], i + step >= len(big))
                    for i in range(0, len(big), step)]))
    assert recv_events(c, 1, timeout=30) == [(KIND[op], big)]
    c.send(build_frame(op, big))
    assert recv_events(c, 1, timeout=30) == [(KIND[op], big)]
    close_cleanly(c)


# ---------------------------------------------------------------- 10 auto-fragmentation

@OPS
def test_10_server_fragments_are_reassembled(wsd, op):
    """RFC 6455 §5.4: an intermediary or endpoint may fragment a message; the
    receiver reassembles it (Autobahn 10.1.1). A 200 KB message: whatever
    frames wsd uses (first with the opcode, then continuations, FIN only on
    the last, minimal length encodings, control frames allowed between), the
    reassembled message is the one sent; a ping sent right after is
    answered."""
    srv = echo_server(wsd)
    c = open_client(srv)
    big = payload_for(op, 200_000, seed=10)
    c.send(build_frame(op, big) + build_frame(OP_PING, b"after"))
    evs = recv_events(c, 2, timeout=10)
    assert sorted(evs, key=lambda e: e[0] != "pong") == [("pong", b"after"), (KIND[op], big)]
    close_cleanly(c)
