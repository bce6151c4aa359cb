"""Features beyond websocketd 0.4.1's single-program TCP server, driven with
real clients: --unixsocket, --passstderr, --pingms, --reverselookup,
--subprotocols; and server behaviour around them: a program that cannot be
started (500), the request-head timeout (408) and header-count limit (431),
UNIQUE_ID. (--lossless: test_lossless.py; --deflate: test_deflate.py.)
Tests marked `deliberate` fail on websocketd 0.4.1 (flags it lacks, or
behaviour listed in docs/compat.md); the --reverselookup tests pass there."""
import asyncio
import json
import os
import re
import select
import signal
import socket
import stat
import time
from pathlib import Path

import pytest

from conftest import (CHILD, IS_WEBSOCKETD, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, RawClient, arun, connect,
                      free_port, raw_request, recv_all, run_wsd, upgrade_headers, wait_gone,
                      wait_until, write_prog)


def env_lines(msgs):
    env = {}
    for m in msgs:
        line = m.decode() if isinstance(m, bytes) else m
        k, _, v = line.partition("=")
        env[k] = v
    return env


def messages_until_close(c):
    """(close code, [payloads]) until the close frame; websocketd 0.4.1
    drops TCP without one (code None there)."""
    msgs = []
    while True:
        try:
            op, data = c.recv_message()
        except EOFError:
            assert IS_WEBSOCKETD, f"EOF without a close frame after {msgs}"
            return None, msgs
        if op == OP_CLOSE:
            return (int.from_bytes(data[:2], "big") if len(data) >= 2 else None), msgs
        msgs.append(data)


def raw_env(srv, headers=()):
    """Connects with RawClient, returns (child environment, 101 response)."""
    c = RawClient(srv.port)
    r = c.handshake(headers=upgrade_headers(extra=headers))
    code, msgs = messages_until_close(c)
    assert code == 1000 or IS_WEBSOCKETD
    return env_lines(msgs), r


# ================================================================ --unixsocket

def _listen_inodes():
    """Inodes of every listening TCP socket (IPv4 and IPv6) on the host."""
    out = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) > 9 and parts[3] == "0A":
                out.add(parts[9])
    return out


def _socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            out.add(m.group(1))
    return out


async def _echo(ws, msgs):
    out = []
    for m in msgs:
        await ws.send(m)
        out.append(await ws.recv())
    return out


@pytest.mark.deliberate
def test_unix_socket_echo_through_cat(wsd_unix, unix_dir):
    srv = wsd_unix("/bin/cat", sock_path=unix_dir / "s")
    msgs = ["hello", "wörld 😀", "x" * 70000, ""]

    async def go():
        async with srv.unix_connect() as ws:
            return await _echo(ws, msgs)
    assert arun(go()) == msgs
    assert stat.S_ISSOCK(os.stat(unix_dir / "s").st_mode)


@pytest.mark.deliberate
def test_unix_socket_env_and_log(wsd_unix, unix_dir):
    srv = wsd_unix(CHILD, "env", sock_path=unix_dir / "s")

    async def go():
        async with srv.unix_connect("/p?q=1") as ws:
            return await recv_all(ws)
    msgs, code, _ = arun(go())
    assert code == 1000
    env = env_lines(msgs)
    assert env["REMOTE_ADDR"] == "unix-socket"
    assert env["REMOTE_HOST"] == "unix-socket"
    assert "REMOTE_PORT" in env and env["REMOTE_PORT"] == "", env.get("REMOTE_PORT")
    assert env["PATH_INFO"] == "/p" and env["QUERY_STRING"] == "q=1"
    srv.wait_log(r"remote:'unix-socket'.*\| CONNECT$")


@pytest.mark.deliberate
def test_unix_socket_alone_opens_no_tcp_listener(wsd_unix, unix_dir):
    srv = wsd_unix("/bin/cat", sock_path=unix_dir / "s")
    mine = _socket_inodes(srv.pid)
    assert mine, "wsd has no socket open at all?"
    assert not mine & _listen_inodes(), "wsd --unixsocket alone listens on TCP too"
    log = srv.log()
    assert "Starting WebSocket server   : ws://" not in log, log
    assert str(unix_dir / "s") in log, log


@pytest.mark.deliberate
def test_unix_socket_with_port_listens_on_both(wsd_unix, unix_dir):
    # Also the positive control of the /proc/net/tcp check above.
    srv = wsd_unix("/bin/cat", sock_path=unix_dir / "s", tcp=True)
    assert _socket_inodes(srv.pid) & _listen_inodes(), "no TCP listener found for wsd"

    async def go():
        async with srv.unix_connect() as ws:
            a = await _echo(ws, ["over unix"])
        async with connect(srv.url()) as ws:
            b = await _echo(ws, ["over tcp"])
        return a + b
    assert arun(go()) == ["over unix", "over tcp"]


@pytest.mark.deliberate
def test_second_wsd_on_live_socket_exits_3(wsd_unix, unix_dir):
    path = unix_dir / "s"
    srv = wsd_unix("/bin/cat", sock_path=path)
    rc, out = run_wsd(f"--unixsocket={path}", "/bin/cat")
    assert rc == 3, f"second wsd: exit {rc}\n{out}"
    assert "already in use" in out.lower(), out
    # the first one still owns the socket and serves

    async def go():
        async with srv.unix_connect() as ws:
            return await _echo(ws, ["still mine"])
    assert arun(go()) == ["still mine"]
    assert stat.S_ISSOCK(os.stat(path).st_mode)


@pytest.mark.deliberate
def test_stale_socket_file_is_replaced(wsd_unix, unix_dir):
    path = unix_dir / "s"
    first = wsd_unix("/bin/cat", sock_path=path)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert stat.S_ISSOCK(os.lstat(path).st_mode), "SIGKILLed wsd should leave its socket file"
    second = wsd_unix("/bin/cat", sock_path=path)

    async def go():
        async with second.unix_connect() as ws:
            return await _echo(ws, ["fresh"])
    assert arun(go()) == ["fresh"]


@pytest.mark.deliberate
def test_socket_file_removed_after_sigterm(wsd_unix, unix_dir):
    path = unix_dir / "s"
    srv = wsd_unix("/bin/cat", sock_path=path)
    assert path.exists()
    assert srv.stop(signal.SIGTERM) == 0
    assert not os.path.lexists(path), "socket file left behind after a graceful shutdown"


@pytest.mark.deliberate
def test_regular_file_at_socket_path_exit_3_untouched(unix_dir):
    path = unix_dir / "s"
    path.write_bytes(b"precious data\n")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    before = os.stat(path)
    rc, out = run_wsd(f"--unixsocket={path}", "/bin/cat")
    assert rc == 3, f"exit {rc}\n{out}"
    after = os.stat(path)
    assert stat.S_ISREG(after.st_mode)
    assert path.read_bytes() == b"precious data\n"
    assert (after.st_ino, after.st_mtime, after.st_size) == \
        (before.st_ino, before.st_mtime, before.st_size)


# ================================================================ --passstderr

PASSSTDERR_PROG = r'''#!/usr/bin/python3
import os
os.write(1, b'plain out\n')
os.write(2, b'plain err\n')
os.write(1, b'q"uo\\te\ttab\x01ctl\x1f\x7fend\n')
os.write(2, b'bad \xff\xfe utf8 \xc3\xa9 \xe2\x82\n')
os.write(1, b'crlf line\r\n')
os.write(1, b'\n')
os.write(2, b'</script>\\u0000\n')
os.write(1, b'last out no newline')
os.write(2, b'last err no newline')
'''

EXPECT_STDOUT = [b'plain out', b'q"uo\\te\ttab\x01ctl\x1f\x7fend', b'crlf line', b'',
                 b'last out no newline']
EXPECT_STDERR = [b'plain err', b'bad \xff\xfe utf8 \xc3\xa9 \xe2\x82', b'</script>\\u0000',
                 b'last err no newline']


def _tagged(msgs):
    """{'stdout': [...], 'stderr': [...]} from the JSON messages (strictly parsed)."""
    out = {"stdout": [], "stderr": []}
    for op, data in msgs:
        assert op == OP_TEXT, f"non-text message {op} {data[:80]!r}"
        obj = json.loads(data.decode("utf-8"))
        assert set(obj) == {"stream", "data"}, obj
        assert isinstance(obj["data"], str)
        out[obj["stream"]].append(obj["data"])
    return out


@pytest.mark.deliberate
def test_passstderr_tags_both_streams_as_json(wsd, tmp_path):
    prog = write_prog(tmp_path / "prog.py", PASSSTDERR_PROG)
    srv = wsd(prog, flags=["--passstderr"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    got = _tagged(msgs)
    assert got["stdout"] == [b.decode("utf-8", "replace") for b in EXPECT_STDOUT]
    assert got["stderr"] == [b.decode("utf-8", "replace") for b in EXPECT_STDERR]
    assert "\ufffd" in got["stderr"][1]
    assert code == 1000, (code, reason)
    c.expect_eof()
    # stderr is still logged, at ERROR, as without --passstderr
    srv.wait_log(r"^.*\| ERROR  \|.*plain err")
    srv.wait_log(r"^.*\| ERROR  \|.*last err no newline")


@pytest.mark.deliberate
def test_passstderr_close_only_after_both_streams_end(wsd, tmp_path):
    # A burst on stderr right before exit: every line still precedes the
    # close frame, and so does the stdout line written last.
    prog = write_prog(tmp_path / "burst.py", r'''#!/usr/bin/python3
import os
os.write(1, b'first\n')
for i in range(2000):
    os.write(2, b'err %05d %s\n' % (i, b'e' * 40))
os.write(2, b'err tail')
os.write(1, b'out tail')
''')
    srv = wsd(prog, flags=["--passstderr", "--loglevel=fatal"])
    c = RawClient(srv.port, timeout=10)
    c.handshake()
    code, reason, msgs = c.expect_close(timeout=10)
    got = _tagged(msgs)
    assert got["stdout"] == ["first", "out tail"]
    assert got["stderr"] == ["err %05d %s" % (i, "e" * 40) for i in range(2000)] + ["err tail"]
    assert code == 1000, (code, reason)


@pytest.mark.deliberate
def test_passstderr_python_client(wsd, tmp_path):
    prog = write_prog(tmp_path / "p.sh", "#!/bin/sh\necho out\necho err >&2\nexec cat\n")
    srv = wsd(prog, flags=["--passstderr"])

    async def go():
        async with connect(srv) as ws:
            first = sorted([json.loads(await ws.recv()), json.loads(await ws.recv())],
                           key=lambda o: o["stream"])
            await ws.send('echo "me"')
            echoed = json.loads(await ws.recv())
            return first, echoed
    first, echoed = arun(go())
    assert first == [{"stream": "stderr", "data": "err"}, {"stream": "stdout", "data": "out"}]
    assert echoed == {"stream": "stdout", "data": 'echo "me"'}


@pytest.mark.deliberate
def test_passstderr_with_binary_exit_1():
    rc, out = run_wsd(f"--port={free_port()}", "--address=127.0.0.1", "--passstderr",
                      "--binary", "/bin/cat")
    assert rc == 1, f"exit {rc}\n{out}"


# ================================================================ --pingms

def _frames_until_eof(c, limit, t0=None):
    """Reads frames until EOF; returns (ping times since t0 (default: now),
    eof time since t0, other frames). Fails if still open after limit s."""
    t0 = time.monotonic() if t0 is None else t0
    pings, other = [], []
    while True:
        left = t0 + limit - time.monotonic()
        if left <= 0:
            pytest.fail(f"connection still open after {limit} s (pings at {pings})")
        try:
            f = c.recv_frame(timeout=left)
        except EOFError:
            return pings, time.monotonic() - t0, other
        except TimeoutError:
            continue
        if f.opcode == OP_PING:
            pings.append(time.monotonic() - t0)
        else:
            other.append(f)


@pytest.mark.deliberate
def test_pingms_silent_client_is_dropped(wsd):
    # `child info` prints its pid (so no /proc scan races the drop), then
    # waits for stdin EOF
    srv = wsd(CHILD, "info", flags=["--pingms=200"])
    c = RawClient(srv.port)
    t0 = time.monotonic()     # before wsd can start its ping timer
    c.handshake()
    pings, t_eof, other = _frames_until_eof(c, 4.0, t0)
    assert pings, "no ping before the drop"
    assert pings[0] < 0.8, pings
    assert 0.3 < t_eof < 2.0, f"dropped after {t_eof:.3f} s (pings at {pings})"
    texts = [f.payload for f in other if f.opcode == OP_TEXT]
    assert all(f.opcode in (OP_TEXT, OP_CLOSE) for f in other), other
    assert texts and texts[0].startswith(b"pid "), texts
    kid = int(texts[0].split()[1])
    assert wait_gone(kid, 3.0), "child not terminated after the client was dropped"


@pytest.mark.deliberate
def test_pingms_answering_client_gets_regular_pings_then_silence_drops(wsd):
    srv = wsd("/bin/cat", flags=["--pingms=200"])
    c = RawClient(srv.port)
    c.handshake()
    t0 = time.monotonic()
    pings = []
    while time.monotonic() - t0 < 1.4:
        try:
            f = c.recv_frame(timeout=0.05)
        except TimeoutError:
            continue
        assert f.opcode == OP_PING, f
        pings.append(time.monotonic() - t0)
        c.send_frame(OP_PONG, f.payload)
    assert 3 <= len(pings) <= 10, f"pings at {pings} in 1.4 s with --pingms=200"
    gaps = sorted(b - a for a, b in zip(pings, pings[1:]))
    median = gaps[len(gaps) // 2]
    assert 0.12 < median < 0.4, f"ping gaps {gaps}"
    # still open and echoing
    c.send_text("alive")
    assert c.recv_text() == "alive"
    # now silent: dropped
    _, t_eof, _ = _frames_until_eof(c, 4.0)
    assert t_eof < 2.0


@pytest.mark.deliberate
def test_pingms_python_client_stays_open(wsd):
    srv = wsd("/bin/cat", flags=["--pingms=200"])

    async def go():
        # python-websockets answers pings itself (ping_interval=None only
        # stops it sending its own)
        async with connect(srv) as ws:
            assert await _echo(ws, ["before"]) == ["before"]
            await asyncio.sleep(1.5)
            assert ws.open
            return await _echo(ws, ["after 1.5 s"])
    assert arun(go()) == ["after 1.5 s"]
    assert "No pong" not in srv.log()


# ================================================================ --reverselookup

def test_reverselookup_remote_host_is_name(wsd):
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError as e:
        pytest.skip(f"127.0.0.1 has no name here: {e}")
    srv = wsd(CHILD, "env", flags=["--reverselookup"])
    env, _ = raw_env(srv)
    assert env["REMOTE_HOST"] == name
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    srv.wait_log(r"remote:'" + re.escape(name) + r"'.*\| CONNECT$")


def test_without_reverselookup_remote_host_is_ip(wsd):
    srv = wsd(CHILD, "env")
    env, _ = raw_env(srv)
    assert env["REMOTE_HOST"] == "127.0.0.1"
    srv.wait_log(r"remote:'127\.0\.0\.1'.*\| CONNECT$")


# ================================================================ --subprotocols

@pytest.mark.deliberate
def test_subprotocol_negotiated_and_in_env(wsd):
    srv = wsd(CHILD, "env", flags=["--subprotocols=chat,superchat"])

    async def go():
        async with connect(srv, subprotocols=["superchat", "chat"]) as ws:
            proto = ws.subprotocol
            hdr = ws.response_headers.get_all("Sec-WebSocket-Protocol")
            msgs, code, _ = await recv_all(ws)
            return proto, hdr, msgs, code
    proto, hdr, msgs, code = arun(go())
    assert proto == "superchat"
    assert hdr == ["superchat"]
    env = env_lines(msgs)
    assert env["WEBSOCKET_PROTOCOL"] == "superchat"
    assert env["HTTP_SEC_WEBSOCKET_PROTOCOL"] == "superchat, chat"


@pytest.mark.deliberate
def test_subprotocol_no_match_no_header(wsd):
    srv = wsd(CHILD, "env", flags=["--subprotocols=chat,superchat"])
    env, r = raw_env(srv, headers=[("Sec-WebSocket-Protocol", "other")])
    assert r.status == 101
    assert r.header("Sec-WebSocket-Protocol") is None, r.raw_head
    assert env.get("WEBSOCKET_PROTOCOL", "") == ""
    assert env["HTTP_SEC_WEBSOCKET_PROTOCOL"] == "other"

    # python-websockets 10.4 accepts a 101 without the header (the
    # subprotocol is then None) and fails if the server names one it did not
    # offer; both ways round it must connect with none.
    async def go(offer):
        async with connect(srv, subprotocols=offer) as ws:
            proto = ws.subprotocol
            await recv_all(ws)
            return proto
    assert arun(go(["other"])) is None
    assert arun(go(None)) is None


@pytest.mark.deliberate
def test_subprotocols_case_sensitive(wsd):
    srv = wsd("/bin/cat", flags=["--subprotocols=chat"])
    c = RawClient(srv.port)
    r = c.handshake(headers=upgrade_headers(extra=[("Sec-WebSocket-Protocol", "Chat")]))
    assert r.header("Sec-WebSocket-Protocol") is None, r.raw_head


def test_without_subprotocols_flag_no_header(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    r = c.handshake(headers=upgrade_headers(extra=[("Sec-WebSocket-Protocol", "chat")]))
    assert r.header("Sec-WebSocket-Protocol") is None, r.raw_head
    c.send_text("ok")
    assert c.recv_text() == "ok"


# ================================================================ spawn failure

@pytest.mark.deliberate
def test_program_not_executable_at_connect_is_500(wsd, tmp_path):
    prog = write_prog(tmp_path / "prog.sh", "#!/bin/sh\nexec cat\n")
    srv = wsd(prog)
    prog.chmod(0o644)
    c = RawClient(srv.port)
    c.send(c.request_bytes())
    r = c.read_response()
    assert r.status == 500, r.raw_head
    c.read_to_eof()
    c.close()
    srv.wait_log(r"\| ERROR  \|.*prog\.sh")
    assert not srv.children()
    assert srv.proc.poll() is None, "wsd exited after a spawn failure"
    # still serving: the same program works again once executable
    prog.chmod(0o755)
    c = RawClient(srv.port)
    c.handshake()
    c.send_text("back")
    assert c.recv_text() == "back"


# ================================================================ request head limits

HEAD_TIMEOUT = 10.0


@pytest.mark.deliberate
@pytest.mark.timeout(25)
def test_incomplete_head_times_out_408(wsd):
    """10 s for the whole head: a silent client and one trickling a byte
    every 0.5 s (never finishing) both get 408 at ~10 s, then EOF."""
    srv = wsd("/bin/cat")
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    silent, slow = RawClient(srv.port, timeout=15), RawClient(srv.port, timeout=15)
    t0 = time.monotonic()
    silent.send(head)
    slow.send(head)
    trickle = b"X-Slow: " + b"a" * 100
    done = {}
    i = 0
    while len(done) < 2 and time.monotonic() - t0 < HEAD_TIMEOUT + 3:
        if "slow" not in done and i < len(trickle):
            slow.send(trickle[i:i + 1])
            i += 1
        socks = [c.sock for n, c in (("silent", silent), ("slow", slow)) if n not in done]
        ready, _, _ = select.select(socks, [], [], 0.5)
        for s in ready:
            name = "silent" if s is silent.sock else "slow"
            done[name] = time.monotonic() - t0
    assert set(done) == {"silent", "slow"}, f"no answer after {HEAD_TIMEOUT + 3} s: {done}"
    for name, c in (("silent", silent), ("slow", slow)):
        r = c.read_response(timeout=2)
        assert r.status == 408, (name, r.raw_head)
        c.read_to_eof(timeout=2)
        assert HEAD_TIMEOUT - 1.0 <= done[name] <= HEAD_TIMEOUT + 2.0, (name, done)
    assert not srv.children()


@pytest.mark.deliberate
def test_over_100_header_lines_is_431(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    many = upgrade_headers(extra=[(f"X-H{i}", "v") for i in range(150)])
    r = raw_request(srv.port, c.request_bytes(headers=many))
    c.close()
    assert r.status == 431, r.raw_head
    assert not srv.children()
    # well under the limit is fine
    c = RawClient(srv.port)
    c.handshake(headers=upgrade_headers(extra=[(f"X-H{i}", "v") for i in range(60)]))


# ================================================================ UNIQUE_ID

@pytest.mark.deliberate
def test_unique_ids_distinct_increasing_and_logged(wsd, tmp_path):
    prog = write_prog(tmp_path / "idenv.sh", '#!/bin/sh\necho "PID=$$"\nexec env\n')
    srv = wsd(prog)
    clients = []
    for _ in range(20):          # each handshake completes before the next
        c = RawClient(srv.port)
        c.handshake()
        clients.append(c)
    envs = []
    for c in clients:
        code, msgs = messages_until_close(c)
        assert code == 1000 or IS_WEBSOCKETD
        envs.append(env_lines(msgs))
    ids = [e["UNIQUE_ID"] for e in envs]
    assert all(re.fullmatch(r"[1-9][0-9]*", i) for i in ids), ids
    nums = [int(i) for i in ids]
    assert len(set(nums)) == 20, ids
    assert all(a < b for a, b in zip(nums, nums[1:])), f"not increasing: {ids}"
    rx = re.compile(r"id:'(\d+)'.* pid:'(\d+)' \| DISCONNECT$", re.M)
    ok = wait_until(lambda: len(rx.findall(srv.log())) >= 20, 3.0)
    assert ok, srv.log()[-3000:]
    by_pid = {pid: uid for uid, pid in rx.findall(srv.log())}
    for e in envs:
        assert by_pid.get(e["PID"]) == e["UNIQUE_ID"], (e["PID"], e["UNIQUE_ID"], by_pid)
    connect_ids = re.findall(r"id:'(\d+)'.*\| CONNECT$", srv.log(), re.M)
    assert connect_ids == ids
