"""--lossless (docs/lossless.md): every message crosses the program's stdin
and stdout as one record `text|binary LEN\\n<payload>\\n`. With cat it is an
exact echo; a malformed or truncated record from the program is 1011."""
import os
import re

import pytest

from conftest import (OP_BIN, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawClient, arun, connect,
                      free_port, recv_all, run_wsd, wait_until, write_prog)

pytestmark = pytest.mark.deliberate   # websocketd has no --lossless

SIZES = [0, 1, 125, 126, 65535, 65536, 1_000_000]   # all under --maxframesize (1 MiB)


def text_of(n):
    """Valid UTF-8 of exactly n bytes with newlines, CRs and a 2-byte char."""
    unit = "ab\ncd\r\n\u00e9f\x00 "        # 12 bytes in UTF-8
    s = (unit * (n // 12 + 1)).encode()[:n]
    # don't cut the 2-byte é in half
    while True:
        try:
            s.decode("utf-8")
            return s.decode("utf-8") if len(s) == n else (s + b"x" * (n - len(s))).decode()
        except UnicodeDecodeError:
            s = s[:-1]


def cat_echo(srv, messages, timeout=30):
    async def go():
        out = []
        async with connect(srv) as ws:
            for m in messages:
                await ws.send(m)
                out.append(await ws.recv())
        return out
    return arun(go(), timeout=timeout)


def assert_exact(got, sent):
    assert len(got) == len(sent)
    for i, (g, s) in enumerate(zip(got, sent)):
        assert type(g) is type(s), f"message {i}: sent {type(s).__name__}, got {type(g).__name__}"
        assert len(g) == len(s), f"message {i}: sent {len(s)}, got {len(g)}"
        assert g == s, f"message {i} differs"


@pytest.mark.timeout(60)
def test_cat_exact_echo_text_sizes(wsd):
    srv = wsd("/bin/cat", flags=["--lossless"])
    sent = [text_of(n) for n in SIZES]
    assert [len(s.encode()) for s in sent] == SIZES
    assert_exact(cat_echo(srv, sent), sent)


@pytest.mark.timeout(60)
def test_cat_exact_echo_binary_sizes(wsd):
    srv = wsd("/bin/cat", flags=["--lossless"])
    sent = [os.urandom(n) for n in SIZES]
    assert_exact(cat_echo(srv, sent), sent)


SPECIAL = ["", "\n", "\r\n", "\n\n\n", "a\nb", "a\r\nb\r\n", "nul\x00byte", "\x00",
           "h\u00e9llo \U0001F600", "text 5\nhello\n", "binary 3\n", " ", "\r",
           b"", b"\n", b"\x00", b"\r\n", b"text 3\nabc\n", bytes(range(256)), b"\xff" * 10]


def test_cat_exact_echo_special_contents_and_types_interleaved(wsd):
    srv = wsd("/bin/cat", flags=["--lossless"])
    assert_exact(cat_echo(srv, SPECIAL), SPECIAL)


def test_cat_many_messages_pipelined(wsd):
    srv = wsd("/bin/cat", flags=["--lossless"])
    sent = [f"m{i}\n" if i % 3 else f"m{i}".encode() for i in range(300)]

    async def go():
        async with connect(srv) as ws:
            for m in sent:
                await ws.send(m)
            return [await ws.recv() for _ in sent]
    assert_exact(arun(go()), sent)


@pytest.mark.parametrize("op", [OP_TEXT, OP_BIN], ids=["text", "binary"])
def test_fragmented_message_with_pings_echoed_whole(wsd, op):
    srv = wsd("/bin/cat", flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    c.send_frame(op, b"hel", fin=False)
    c.send_frame(OP_PING, b"p1")
    c.send_frame(OP_CONT, b"lo\nwor", fin=False)
    c.send_frame(OP_PING, b"p2")
    c.send_frame(OP_CONT, b"", fin=False)
    c.send_frame(OP_CONT, b"ld\r\n")
    got = c.recv_message()
    assert got == (op, b"hello\nworld\r\n")
    assert [(f.opcode, f.payload) for f in c.controls] == [(OP_PONG, b"p1"), (OP_PONG, b"p2")]
    c.send_text("after")
    assert c.recv_message() == (OP_TEXT, b"after")


DUMP_STDIN = '''#!/usr/bin/python3
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
while True:
    b = os.read(0, 65536)
    if not b:
        break
    os.write(fd, b)
'''


def test_child_receives_exact_records(wsd, tmp_path):
    prog = write_prog(tmp_path / "dump.py", DUMP_STDIN)
    out = tmp_path / "stdin.bin"
    srv = wsd(prog, out, flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    c.send_text("hello")
    assert wait_until(lambda: out.exists() and out.read_bytes() == b"text 5\nhello\n", 3.0), \
        out.read_bytes() if out.exists() else "no file"
    c.send_binary(b"\x00\x01\x02")
    c.send_text("")
    c.send_text("a\nb")
    c.send_text("h\u00e9llo")
    c.send_binary(b"")
    c.send_frame(OP_TEXT, b"fr", fin=False)
    c.send_frame(OP_CONT, b"ag")
    want = (b"text 5\nhello\n" b"binary 3\n\x00\x01\x02\n" b"text 0\n\n" b"text 3\na\nb\n"
            b"text 6\nh\xc3\xa9llo\n" b"binary 0\n\n" b"text 4\nfrag\n")
    assert wait_until(lambda: out.read_bytes() == want, 3.0), out.read_bytes()


def test_lossless_with_binary_exit_1():
    rc, out = run_wsd(f"--port={free_port()}", "--address=127.0.0.1", "--lossless", "--binary",
                      "/bin/cat")
    assert rc == 1, f"exit {rc}\n{out}"


# ---------------------------------------------------------------- program output

def emitter(tmp_path, data, then="exec cat >/dev/null"):
    """A program that writes `data` (bytes) to stdout, then runs `then`
    (by default: keeps running, reading stdin, so an end comes from wsd)."""
    f = tmp_path / "out.bin"
    f.write_bytes(data)
    return write_prog(tmp_path / "emit.sh", f"#!/bin/sh\ncat '{f}'\n{then}\n")


def wait_malformed_logged(srv, why=r"\S.*"):
    """The log explains the close: an ERROR line whose message (after the last
    ' | ') says the record was malformed and why."""
    rx = re.compile(r"(?i)^malformed record.*: " + why + "$")

    def found():
        return any(rx.search(ln.rsplit(" | ", 1)[-1]) for ln in srv.log().splitlines()
                   if "| ERROR  |" in ln)
    assert wait_until(found, 3.0), srv.log()[-2000:]


def test_program_records_become_messages_then_1000(wsd, tmp_path):
    data = (b"text 5\nhello\n" b"binary 3\n\x00\n\xff\n" b"text 0\n\n" b"text 3\na\nb\n"
            b"binary 0\n\n" b"text 6\nh\xc3\xa9llo\n")
    srv = wsd(emitter(tmp_path, data, then="exit 0"), flags=["--lossless"])

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, code, _ = arun(go())
    assert_exact(msgs, ["hello", b"\x00\n\xff", "", "a\nb", b"", "h\u00e9llo"])
    assert code == 1000


def test_record_split_across_writes_is_one_message(wsd, tmp_path):
    prog = write_prog(tmp_path / "slow.py", r'''#!/usr/bin/python3
import os, time
for part in (b"te", b"xt 1", b"2\nh\xc3", b"\xa9llo", b" wor", b"ld\n", b"binary 2\n\x00", b"\x01\n"):
    os.write(1, part)
    time.sleep(0.05)
''')
    srv = wsd(prog, flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, "h\u00e9llo world".encode()), (OP_BIN, b"\x00\x01")]
    assert code == 1000, (code, reason)


def test_invalid_utf8_in_text_record_replaced(wsd, tmp_path):
    srv = wsd(emitter(tmp_path, b"text 5\na\xffb\xc3(\n", then="exit 0"), flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    code, _, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, "a\ufffdb\ufffd(".encode())]
    assert code == 1000


# (case, bad bytes after a good "text 2\nok\n", messages delivered before the
# close). A record's message is complete with its last payload byte (the
# payload is streamed), so a bad byte where its "\n" belongs comes after it.
MALFORMED = [
    ("unknown kind", b"bogus 3\nabc\n"),
    ("upper case kind", b"TEXT 1\na\n"),
    ("leading zero", b"text 05\nhello\n"),
    ("negative length", b"text -1\n"),
    ("no length", b"text\nabc\n"),
    ("CR in header", b"text 5\r\nhello\n"),
    ("missing newline after payload", b"text 3\nabcX", [b"abc"]),
    ("over 20 digits", b"text 123456789012345678901\n"),
    ("2^64 (wraps to 0)", b"text 18446744073709551616\n\n"),
    ("2^64 + 1 (wraps to 1)", b"text 18446744073709551617\nx\n"),
    ("20 nines", b"text 99999999999999999999\n"),
    ("plain line", b"just a line\n"),
]


@pytest.mark.parametrize("case,bad,more", [m if len(m) == 3 else m + ([],) for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_record_closes_1011(wsd, tmp_path, case, bad, more):
    srv = wsd(emitter(tmp_path, b"text 2\nok\n" + bad), flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, b"ok")] + [(OP_TEXT, m) for m in more], \
        "exactly the records before the bad byte are delivered"
    assert code == 1011, (code, reason)
    assert "malformed" in reason, reason
    c.expect_eof()
    wait_malformed_logged(srv)
    srv.wait_no_children()


def test_truncated_record_at_exit_is_1011(wsd, tmp_path):
    srv = wsd(emitter(tmp_path, b"text 5\nhel", then="exit 0"), flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert code == 1011, (code, reason, msgs)
    # the partial payload may have gone out as fragments of an unfinished
    # message, but no complete message may have been delivered
    assert msgs == []
    wait_malformed_logged(srv, r".*truncat.*")


def test_truncated_header_at_exit_is_1011(wsd, tmp_path):
    srv = wsd(emitter(tmp_path, b"text 2\nok\ntext 5", then="exit 0"), flags=["--lossless"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, b"ok")]
    assert code == 1011, (code, reason)
    wait_malformed_logged(srv, r".*truncat.*")
