"""--shared: one program for many clients (docs/shared.md).

Real clients (python-websockets, and the raw client where frames matter)
against the real binary: broadcast in order to 200 clients, a late joiner
starting at a message boundary, slow clients closed (1008) or dropped
(--shareddrop) while the others keep every message, whole input messages
never interleaved, addressed mode (join, leave, private messages, close),
--sharedalways restarts with backoff, the program's end and its last
client's leaving, the environment, --dir hubs, malformed records, and
compression next to plain clients.
"""
import asyncio
import os
import re
import signal
import struct
import time

import pytest

from conftest import (CHILD, OP_BIN, OP_CLOSE, OP_CONT, OP_TEXT, RawClient, arun, build_frame,
                      children_of, connect, is_alive, recv_all, recv_events, wait_until,
                      write_prog)

PY = "#!/usr/bin/python3\nimport sys, os, time\n"

# Waits for "go" on stdin, then prints N numbered lines, then keeps
# reading stdin until EOF (so it stays while clients come and go).
GO_LINES = PY + """
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
for line in sys.stdin:
    if line.strip() == "go":
        out = sys.stdout
        pad = "x" * int(os.environ.get("PAD", "0"))
        for i in range(n):
            out.write("%d %s\\n" % (i, pad))
            if os.environ.get("PACE") and i % 10 == 9:
                out.flush()
                time.sleep(0.005)   # about 4 MB/s of 2 KB lines: Python readers keep up
        out.write("end\\n")
        out.flush()
"""


def go_prog(tmp_path, name="go.py"):
    return write_prog(tmp_path / name, GO_LINES)


async def collect_until(ws, last, timeout=20.0):
    msgs = []
    while True:
        m = await asyncio.wait_for(ws.recv(), timeout)
        msgs.append(m)
        if m == last:
            return msgs


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_broadcast_200_clients_every_message_in_order(wsd, tmp_path):
    srv = wsd(go_prog(tmp_path), "1000", flags=["--shared"])

    async def main():
        clients = [await connect(srv) for _ in range(200)]
        await clients[0].send("go")
        got = await asyncio.gather(*(collect_until(c, "end") for c in clients))
        for c in clients:
            await c.close()
        return got

    try:
        got = arun(main(), timeout=60)
    except Exception as e:   # noqa: BLE001 - the log says what wsd saw
        raise AssertionError(f"{type(e).__name__}: {e}\nlog:\n{srv.log()[-4000:]}") from e
    want = ["%d " % i for i in range(1000)] + ["end"]
    for k, msgs in enumerate(got):
        assert msgs == want, f"client {k}: {len(msgs)} messages, first difference at " \
                             f"{next(i for i, (a, b) in enumerate(zip(msgs, want)) if a != b)}"
    # one program for all of them
    assert len(re.findall(r"Shared program started", srv.log())) == 1


def test_late_joiner_starts_at_a_message_boundary(wsd, tmp_path):
    """A client that joins while a line is half written must not get the
    rest of it (a continuation frame with no message open): it starts with
    the next line."""
    prog = write_prog(tmp_path / "half.py", PY + """
sys.stdout.write("first\\n"); sys.stdout.write("partial-"); sys.stdout.flush()
sys.stdin.readline()                      # the test says when the 2nd client is in
sys.stdout.write("rest\\nsecond\\n"); sys.stdout.flush()
sys.stdin.read()
""")
    srv = wsd(prog, flags=["--shared"])
    a = RawClient(srv.port)
    a.handshake()
    ev = recv_events(a, count=1)
    assert ev == [("text", b"first")]
    # the fragment "partial-" reached a (a message is now open)
    f = a.recv_frame()
    assert (f.opcode, f.fin, f.payload) == (OP_TEXT, False, b"partial-")
    b = RawClient(srv.port)
    b.handshake()
    time.sleep(0.2)
    a.send(build_frame(OP_TEXT, b"continue"))
    # a gets the end of the open message, then "second"
    f = a.recv_frame()
    assert (f.opcode, f.fin, f.payload) == (OP_CONT, True, b"rest")
    assert recv_events(a, count=1) == [("text", b"second")]
    # b starts cleanly with "second" (recv_events checks the frame sequence)
    assert recv_events(b, count=1) == [("text", b"second")]
    a.close()
    b.close()


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_slow_client_closed_1008_others_get_everything(wsd, tmp_path):
    """A client that never reads is closed with 1008 once --sharedqueue
    bytes (1 MiB) wait for it; the others receive every one of 4000 lines
    and the program is never held back."""
    # 8 MB: more than the kernel's socket buffers can hide
    srv = wsd(go_prog(tmp_path), "4000",
              flags=["--shared", "--passenv=PATH,PAD,PACE"],
              env={"PAD": "2000", "PACE": "1"})
    slow = RawClient(srv.port, rcvbuf=4096)
    slow.handshake()

    async def main():
        a, b = await connect(srv), await connect(srv)
        await a.send("go")
        ga, gb = await asyncio.gather(collect_until(a, "end"), collect_until(b, "end"))
        await a.close()
        await b.close()
        return ga, gb

    ga, gb = arun(main(), timeout=60)
    assert len(ga) == len(gb) == 4001
    assert ga == gb
    srv.wait_log(r"Client \d+ too slow \(\d+ bytes waiting\): closing with 1008")
    # the slow client: a prefix of the lines, in order, then close 1008
    events = recv_events(slow, until_close=True, timeout=10)
    assert events[-1][0] == "close" and events[-1][1] == 1008, events[-1]
    lines = [int(p.split(b" ")[0]) for kind, p, *_ in events[:-1] if kind == "text"]
    assert lines == list(range(len(lines))), "the slow client's lines are not a prefix"
    assert len(lines) < 4000
    slow.close()


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_shareddrop_loses_oldest_keeps_order_and_connection(wsd, tmp_path):
    """--shareddrop: the non-reader is not closed; when it reads it gets a
    subsequence of the lines, in order, whole, ending with the last one."""
    count, pad = 4000, 2000
    srv = wsd(go_prog(tmp_path), str(count),
              flags=["--shared", "--shareddrop", "--passenv=PATH,PAD,PACE"],
              env={"PAD": str(pad), "PACE": "1"})
    slow = RawClient(srv.port, rcvbuf=4096)
    slow.handshake()

    async def main():
        a = await connect(srv)
        await a.send("go")
        got = await collect_until(a, "end")
        await a.close()
        return got

    assert len(arun(main(), timeout=60)) == count + 1
    seen = []
    while True:
        ev = recv_events(slow, count=1, timeout=5)[0]
        assert ev[0] == "text", f"the dropping client got {ev}"
        if ev[1] == b"end":
            break
        n, _, rest = ev[1].partition(b" ")
        assert rest == b"x" * pad, f"line {n!r} is not whole ({len(rest)} bytes)"
        seen.append(int(n))
    assert seen == sorted(seen) and len(set(seen)) == len(seen), "out of order or repeated"
    assert len(seen) < count, "nothing was dropped"
    slow.send(build_frame(OP_CLOSE, struct.pack("!H", 1000)))
    ev = recv_events(slow, until_close=True, timeout=5)
    assert ev[-1][0] == "close" and ev[-1][1] == 1000
    slow.close()


def test_shareddrop_messages_larger_than_a_read(wsd, tmp_path):
    """--shareddrop with 64 KiB lines printed without pause: a line spans
    two reads of the program's output, so the queued chunks hardly ever
    begin at a message start. Twelve clients that do not read lose whole
    lines (they were closed 1008: nothing looked droppable), then get a
    subsequence of whole lines, in order, ending with the last one."""
    count, pad = 400, 65536
    srv = wsd(go_prog(tmp_path), str(count),
              flags=["--shared", "--shareddrop", "--loglevel=debug", "--passenv=PATH,PAD"],
              env={"PAD": str(pad)})
    cs = [RawClient(srv.port, rcvbuf=4096) for _ in range(12)]
    for c in cs:
        c.handshake()
    cs[0].send(build_frame(OP_TEXT, b"go", mask=True))
    srv.wait_log(r"too slow: \d+ messages dropped", timeout=20)
    for c in cs:
        seen = []
        while True:
            ev = recv_events(c, count=1, timeout=10)[0]
            assert ev[0] == "text", f"a dropping client got {ev[:2]}"
            if ev[1] == b"end":
                break
            n, _, rest = ev[1].partition(b" ")
            assert rest == b"x" * pad, f"line {n!r} is not whole ({len(rest)} bytes)"
            seen.append(int(n))
        assert seen == sorted(seen) and len(set(seen)) == len(seen), "out of order or repeated"
        assert len(seen) < count, "nothing was dropped"
        c.close()
    assert "closing with 1008" not in srv.log()


def test_messages_reach_stdin_whole_never_interleaved(wsd, tmp_path):
    """Three clients send fragmented messages whose fragments interleave on
    the wire: each reaches the program's stdin as one whole line."""
    out = tmp_path / "stdin.txt"
    srv = wsd(CHILD, "stdin-to-file", out, flags=["--shared"])
    cs = [RawClient(srv.port) for _ in range(3)]
    cs[0].handshake()
    assert recv_events(cs[0], count=1) == [("text", b"ready")]   # the child runs
    for c in cs[1:]:
        c.handshake()
    for part in range(4):
        for k, c in enumerate(cs):
            op = OP_TEXT if part == 0 else OP_CONT
            c.send(build_frame(op, (b"%c" % (65 + k)) * 50, fin=part == 3))
            time.sleep(0.01)
    want = {(b"%c" % (65 + k)) * 200 for k in range(3)}
    assert wait_until(lambda: out.exists() and len(out.read_bytes().splitlines()) == 3, 5)
    assert set(out.read_bytes().splitlines()) == want
    for c in cs:
        c.close()


def test_huge_message_within_maxframesize_arrives_whole(wsd, tmp_path):
    out = tmp_path / "stdin.bin"
    srv = wsd(CHILD, "stdin-to-file", out, flags=["--shared", "--binary"])
    c = RawClient(srv.port)
    c.handshake()
    assert recv_events(c, count=1)[0][0] == "binary"      # "ready"
    payload = os.urandom(1 << 20)
    for i in range(0, len(payload), 65536):
        c.send(build_frame(OP_BIN if i == 0 else OP_CONT, payload[i:i + 65536],
                           fin=i + 65536 >= len(payload)))
    assert wait_until(lambda: out.exists() and out.stat().st_size == len(payload), 10)
    assert out.read_bytes() == payload
    # one byte over --maxframesize: 1009
    c.send(build_frame(OP_BIN, b"x" * 1000, fin=False))
    c.send(build_frame(OP_CONT, b"x" * (1 << 20), fin=True))
    ev = recv_events(c, until_close=True)
    assert ev[-1][:2] == ("close", 1009)
    c.close()


CHAT = PY + """
inp, out = sys.stdin.buffer, sys.stdout.buffer
def send(text, to=None):
    b = text.encode()
    out.write(b"text %d%s\\n" % (len(b), (b" to=" + to.encode()) if to else b"") + b + b"\\n")
    out.flush()
while True:
    line = inp.readline()
    if not line:
        break
    f = line.split()
    if f[0] == b"join":
        cid, n = f[1].decode(), int(f[2])
        env = inp.read(n + 1)[:-1].decode().splitlines()
        addr = [e for e in env if e.startswith("REMOTE_ADDR=")]
        send("joined %s %s" % (cid, addr[0] if addr else "?"))
    elif f[0] == b"leave":
        send("left %s %s" % (f[1].decode(), f[2].decode()))
    else:
        n = int(f[1]); sender = f[2].split(b"=")[1].decode()
        msg = inp.read(n).decode(); inp.read(1)
        if msg.startswith("to "):
            _, dest, text = msg.split(" ", 2)
            send("%s says %s" % (sender, text), dest)
        elif msg.startswith("kick "):
            who, reason = msg[5:].encode(), b"kicked out"
            out.write(b"close %s 4000 %d\\n%s\\n" % (who, len(reason), reason)); out.flush()
        elif msg == "garbage":
            out.write(b"bogus record\\ntext 3 to=x\\nabc\\n"); out.flush()
            send("after garbage")
        else:
            send("%s: %s" % (sender, msg))
"""


def test_addressed_chat_join_leave_private_close(wsd, tmp_path):
    srv = wsd(write_prog(tmp_path / "chat.py", CHAT), flags=["--shared", "--lossless"])

    async def main():
        a = await connect(srv)
        ja = await a.recv()
        ida = ja.split()[1]
        assert ja == f"joined {ida} REMOTE_ADDR=127.0.0.1"
        b = await connect(srv)
        jb = await a.recv()
        idb = jb.split()[1]
        assert await b.recv() == jb
        c = await connect(srv)
        jc = await a.recv()
        idc = jc.split()[1]
        assert await b.recv() == jc and await c.recv() == jc
        assert len({ida, idb, idc}) == 3
        # to everyone
        await a.send("hello")
        for w in (a, b, c):
            assert await w.recv() == f"{ida}: hello"
        # a private message: only b gets it
        await a.send(f"to {idb} psst")
        assert await b.recv() == f"{ida} says psst"
        # malformed records from the program reach nobody
        await c.send("garbage")
        for w in (a, b, c):
            assert await w.recv() == "after garbage"
        # the program closes c with its own code and reason
        await a.send(f"kick {idc}")
        msgs, code, reason = await recv_all(c)
        assert (msgs, code, reason) == ([], 4000, "kicked out")
        for w in (a, b):
            assert await w.recv() == f"left {idc} 4000"
        # b leaves with 1000: a is told
        await b.close()
        assert await a.recv() == f"left {idb} 1000"
        await a.close()

    arun(main(), timeout=20)
    srv.wait_log(r"Malformed record from program skipped: unknown record kind")
    srv.wait_log(r"Malformed record from program skipped: bad connection id in to=")


def test_program_exit_gives_every_member_its_output_then_1011(wsd, tmp_path):
    prog = write_prog(tmp_path / "exit.py", PY + """
sys.stdin.readline()
for i in range(100): print(i)
sys.stdout.flush(); sys.exit(3)
""")
    srv = wsd(prog, flags=["--shared"])

    async def main():
        a, b = await connect(srv), await connect(srv)
        await b.send("go")
        return await asyncio.gather(recv_all(a), recv_all(b))

    for msgs, code, reason in arun(main()):
        assert msgs == [str(i) for i in range(100)]
        assert (code, reason) == (1011, "exited with status 3")


def test_last_member_leaving_ends_the_program_next_client_starts_a_new_one(wsd, tmp_path):
    srv = wsd("/bin/cat", flags=["--shared"])

    async def two():
        a, b = await connect(srv), await connect(srv)
        kids = srv.wait_children(1)
        assert len(kids) == 1, "one program for both clients"
        await a.send("x")
        assert await a.recv() == "x" and await b.recv() == "x"
        await a.close()
        assert is_alive(kids[0]), "the program ended while a client remained"
        await b.close()
        return kids[0]

    first = arun(two())
    assert wait_until(lambda: not is_alive(first), 3), "the program outlived its last client"
    second = arun(two())
    assert second != first


def test_sharedalways_restarts_with_backoff_clients_stay(wsd, tmp_path):
    prog = write_prog(tmp_path / "brief.py", PY + """
print("start", os.getpid(), flush=True)
time.sleep(0.05)
""")
    srv = wsd(prog, flags=["--sharedalways"])

    async def main():
        a = await connect(srv)
        starts = []
        while len(starts) < 4:
            m = await asyncio.wait_for(a.recv(), 10)
            starts.append(m)
        await a.close()
        return starts

    starts = arun(main(), timeout=20)
    assert len({s.split()[1] for s in starts}) == 4, "not four instances"
    delays = [int(d) for d in re.findall(r"Restarting the shared program in (\d+) ms", srv.log())]
    assert delays[:3] == [100, 200, 400], delays


def test_shared_environment_is_server_level(wsd):
    srv = wsd(CHILD, "env", flags=["--shared", "--passenv=PATH,WSD_E2E_MARKER"])

    async def main():
        async with connect(srv) as ws:
            return (await recv_all(ws))[0]

    env = dict(line.split("=", 1) for line in arun(main()))
    assert env["WSD_SHARED"] == "1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert "REMOTE_ADDR" not in env and not [k for k in env if k.startswith("HTTP_")]


def test_dir_one_hub_per_script(wsd, tmp_path):
    d = tmp_path / "scripts"
    d.mkdir()
    for name in ("a.sh", "b.sh"):
        # `exec cat`, not `exec cat >/dev/null`: a program that closes its
        # stdout has ended its output, and wsd ends the instance
        write_prog(d / name, "#!/bin/sh\necho \"$0 $$\"\nexec cat\n")
    srv = wsd(flags=["--shared", f"--dir={d}"])

    async def main():
        a1, a2 = await connect(srv, "/a.sh"), await connect(srv, "/a.sh")
        b1 = await connect(srv, "/b.sh")
        ma1, mb1 = await a1.recv(), await b1.recv()
        for w in (a1, a2, b1):
            await w.close()
        return ma1, mb1

    ma, mb = arun(main())
    assert ma.split()[0].endswith("/a.sh") and mb.split()[0].endswith("/b.sh")
    assert ma.split()[1] != mb.split()[1]
    assert len(re.findall(r"Shared program started", srv.log())) == 2, srv.log()


def test_compressed_and_plain_members_get_the_same_messages(wsd, tmp_path):
    srv = wsd(go_prog(tmp_path), "500", flags=["--shared", "--passenv=PATH,PAD"],
              env={"PAD": "200"})

    async def main():
        z = await connect(srv, compression="deflate")
        p = await connect(srv)
        await p.send("go")
        got = await asyncio.gather(collect_until(z, "end"), collect_until(p, "end"))
        ext = z.response_headers.get("Sec-WebSocket-Extensions", "")
        await z.close()
        await p.close()
        return got, ext

    (gz, gp), ext = arun(main())
    assert "permessage-deflate" in ext and "server_no_context_takeover" in ext
    assert gz == gp and len(gz) == 501


def _program_pids(srv):
    """Pids of programs (children of wsd's processes that are not wsd)."""
    from conftest import descendants
    out = []
    for p in descendants(srv.pid):
        try:
            exe = os.readlink(f"/proc/{p}/exe")
        except OSError:
            continue
        if not exe.endswith("/wsd"):
            out.append(p)
    return out


def _sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def _listen_inodes(port):
    inodes = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(f).read().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def _workers(srv):
    """The worker processes: children of the supervisor holding a listening
    socket on the port (the hub process holds none)."""
    from conftest import children_of
    inodes = _listen_inodes(srv.port)
    out = []
    for p in children_of(srv.pid):
        try:
            fds = [os.readlink(f"/proc/{p}/fd/{fd}") for fd in os.listdir(f"/proc/{p}/fd")]
        except OSError:
            continue
        if any(f.startswith("socket:[") and f[8:-1] in inodes for f in fds):
            out.append(p)
    return out


def _hub_process(srv):
    from conftest import children_of
    ws = set(_workers(srv))
    hubs = [p for p in children_of(srv.pid) if p not in ws and is_alive(p)
            and os.readlink(f"/proc/{p}/exe").endswith("/wsd")]
    assert len(hubs) == 1, hubs
    return hubs[0]


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_workers_one_program_every_client_every_message(wsd, tmp_path):
    """--workers=3: one program for the whole server (in the hub process);
    its output reaches every worker once and every client in order."""
    srv = wsd(go_prog(tmp_path), "500", flags=["--shared", "--workers=3"])

    async def main():
        clients = [await connect(srv) for _ in range(30)]
        await clients[7].send("go")
        got = await asyncio.gather(*(collect_until(c, "end") for c in clients))
        for c in clients:
            await c.close()
        return got

    got = arun(main(), timeout=60)
    want = ["%d " % i for i in range(500)] + ["end"]
    assert all(g == want for g in got)
    ids = [int(m) for m in re.findall(r"id:'(\d+)'[^|]*\| CONNECT", srv.log())]
    assert len({i % 3 for i in ids}) >= 2, "the clients all landed on one worker"
    assert len(re.findall(r"Shared program started", srv.log())) == 1


@pytest.mark.timeout(60)   # its arun bound, and time to report
def test_workers_addressed_across_workers(wsd, tmp_path):
    srv = wsd(write_prog(tmp_path / "chat.py", CHAT), flags=["--shared", "--lossless",
                                                             "--workers=3"])

    async def main():
        cs, ids = [], []
        for _ in range(9):
            c = await connect(srv)
            cs.append(c)
            ids.append((await c.recv()).split()[1])     # its own join
            for other in cs[:-1]:
                assert (await other.recv()).split()[1] == ids[-1]
        workers = {int(i) % 3 for i in ids}
        assert len(workers) >= 2, "all on one worker"
        # a private message between two clients on different workers
        a = next(k for k in range(9) if int(ids[k]) % 3 != int(ids[0]) % 3)
        await cs[0].send(f"to {ids[a]} across")
        assert await cs[a].recv() == f"{ids[0]} says across"
        # the program closes a client on another worker; the rest are told
        await cs[0].send(f"kick {ids[a]}")
        _, code, reason = await recv_all(cs[a])
        assert (code, reason) == (4000, "kicked out")
        for k, c in enumerate(cs):
            if k != a:
                assert await c.recv() == f"left {ids[a]} 4000"
        for k, c in enumerate(cs):
            if k != a:
                await c.close()

    arun(main(), timeout=30)


@pytest.mark.timeout(70)   # its arun bound, and time to report
def test_workers_killed_worker_loses_only_its_clients(wsd, tmp_path):
    srv = wsd(go_prog(tmp_path), "50", flags=["--shared", "--workers=3"])

    async def main():
        clients = [await connect(srv) for _ in range(24)]
        await clients[0].send("go")
        for c in clients:
            assert (await collect_until(c, "end"))[-1] == "end"
        prog = _program_pids(srv)
        assert len(prog) == 1
        workers = _workers(srv)
        assert len(workers) == 3, workers
        # a worker that has clients (more sockets than its listener)
        victim = max(workers, key=lambda w: _sockets(w))
        assert _sockets(victim) > 2, "no worker with clients"
        os.kill(victim, 9)
        await asyncio.sleep(1.0)
        alive = []
        for c in clients:
            try:
                await c.send("ping")
                alive.append(c)
            except Exception:
                pass
        # the program lives on; the survivors still get everything
        assert _program_pids(srv) == prog, "the shared program was lost with a worker"
        survivors = []
        for c in alive:
            if c.closed:
                continue
            survivors.append(c)
        assert 0 < len(survivors) < 24, f"{len(survivors)} survivors"
        await survivors[0].send("go")
        for c in survivors:
            assert (await collect_until(c, "end"))[-1] == "end"
        for c in survivors:
            await c.close()

    arun(main(), timeout=40)


@pytest.mark.timeout(60)
def test_workers_hub_process_killed_is_restarted(wsd, tmp_path):
    """The hub process dies: its program's group is ended, the on-demand
    members are closed with 1011 "shared program lost", the hub is started
    again and the next clients get a new program."""
    srv = wsd("/bin/cat", flags=["--shared", "--workers=2"])

    async def main():
        a = await connect(srv)
        await a.send("x")
        assert await a.recv() == "x"
        hub = _hub_process(srv)
        prog = _program_pids(srv)
        os.kill(hub, 9)
        msgs, code, reason = await recv_all(a)
        assert (code, reason) == (1011, "shared program lost")
        assert wait_until(lambda: not [p for p in prog if is_alive(p)], 3)
        srv.wait_log(r"Hub process \(pid \d+\) ended; restarting it", timeout=5)
        for _ in range(20):
            # a message sent before the worker's link is back is lost: retry
            b = await connect(srv)
            try:
                await b.send("y")
                if await asyncio.wait_for(b.recv(), 1) == "y":
                    break
            except Exception:
                pass
            await b.close()
        else:
            raise AssertionError("no program after the hub restarted")
        assert _hub_process(srv) != hub
        await b.close()

    arun(main(), timeout=40)


@pytest.mark.timeout(60)
def test_workers_stopped_worker_holds_the_program_then_loses_its_link(wsd, tmp_path):
    """A worker that takes nothing from its link (SIGSTOP) makes the hub stop
    reading the program once 4 MiB wait for it (the program waits for the
    server, never for a client); after 5 s without progress its link is
    dropped, the program runs on and the other worker's clients get its
    output again."""
    # 64 KiB lines, each stamped: what waits for a client (--sharedqueue,
    # socket buffers) is a few dozen lines, so a Python client soon reads
    # one printed after the drop
    stamps = ("import sys, time\n"
              "w = sys.stdout.write\n"
              "pad = 'x' * 65536\n"
              "while True:\n"
              "    w('%.6f %s\\n' % (time.time(), pad))\n"
              "    sys.stdout.flush()\n")
    srv = wsd("/usr/bin/python3", "-c", stamps,
              flags=["--shared", "--workers=2", "--shareddrop"])

    async def main():
        clients = [await connect(srv) for _ in range(12)]
        for c in clients:
            await asyncio.wait_for(c.recv(), 10)
        prog = _program_pids(srv)
        assert len(prog) == 1
        workers = _workers(srv)
        assert len(workers) == 2, workers
        victim = max(workers, key=lambda w: _sockets(w))
        other = [w for w in workers if w != victim][0]
        assert _sockets(other) > 2, "every client on one worker: nothing to check"
        os.kill(victim, signal.SIGSTOP)
        try:
            wait_until(lambda: "took nothing from its link" in srv.log(), timeout=20)
            dropped = time.time()
        finally:
            os.kill(victim, signal.SIGCONT)
        # the program lives on ...
        assert _program_pids(srv) == prog, "the shared program was lost with a worker"

        # ... and its output reaches clients again: each open client reads
        # until it has a line printed after the drop (--shareddrop bounded
        # what waited for it), within one overall deadline
        async def fresh(c):
            try:
                while float((await asyncio.wait_for(c.recv(), 5)).split()[0]) <= dropped:
                    pass
            except Exception:
                return False
            return True
        results = await asyncio.wait_for(asyncio.gather(*(fresh(c) for c in clients)), 30)
        assert any(results), "no client kept receiving after the stalled link was dropped"
        assert not all(results), "the stopped worker's clients were not closed"
        # (together: each close waits up to 3 s behind output it does not read)
        await asyncio.gather(*(c.close() for c in clients))

    arun(main(), timeout=50)
    assert "does not keep up" not in srv.log()
