"""Abuse: what hostile or broken clients, programs and operators do to wsd
(issue #10).

Part 1 (items 1-8 of #10) are reproducers of robustness bugs of today's wsd:
each is a strict xfail (`reason="#10.N: ..."`), so the suite stays green
while the bug is there and turns red (XPASS) the moment it is fixed — the
fixer then removes the mark. Each one cleans up after itself (kills wsd,
its workers and its programs' groups) in a `finally`, so that the fixture's
teardown checks do not turn an expected failure into an error.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (CHILD, IS_WEBSOCKETD, OP_CLOSE, OP_PING, OP_TEXT, WSD_BIN, RawClient,
                      build_frame, children_of, descendants, free_port, is_alive,
                      proc_stat, vm_rss_kb, wait_until, write_prog, wsd_env, _reap_our_zombies)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: abuse of wsd's own bounds")

MiB = 1024 * 1024
ASAN = "asan" in str(WSD_BIN)


# --------------------------------------------------------------------------
# helpers

def hard_cleanup(srv, extra=()):
    """SIGKILLs wsd (if still running), everything below it, every process
    group of its programs and anything re-parented to us (the test process
    is a subreaper); waits until they are gone and reaps them. For tests
    whose wsd is expected to misbehave: the fixture's teardown then finds
    nothing to complain about."""
    me = os.getpid()
    pids = set(extra)
    pids |= set(descendants(srv.pid))
    for p in children_of(me):
        if p != srv.pid:
            pids.add(p)
            pids |= set(descendants(p))
    groups = set()
    for p in pids:
        st = proc_stat(p)
        if st and st["pgrp"] not in (os.getpgrp(), 0):
            groups.add(st["pgrp"])
    if srv.proc.poll() is None:
        srv.proc.kill()
        srv.proc.wait()
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def gone():
        _reap_our_zombies()
        return not [p for p in pids if is_alive(p)] and \
            not [c for c in children_of(me) if c != srv.pid and is_alive(c)]
    wait_until(gone, 5.0, 0.02)
    _reap_our_zombies()


def server_pids(srv):
    """wsd's own processes: the server, or the supervisor and its workers."""
    return [srv.pid] + [p for p in children_of(srv.pid)
                        if Path(f"/proc/{p}/exe").exists() and _exe(p) == _exe(srv.pid)]


def _exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def rss_kb(srv):
    total = 0
    for p in server_pids(srv):
        try:
            total += vm_rss_kb(p)
        except OSError:
            pass
    return total


def tcp_entries(local_port, remote_port):
    """[(state hex, inode)] of IPv4 sockets local_port → remote_port."""
    out = []
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        p = line.split()
        lp = int(p[1].split(":")[1], 16)
        rp = int(p[2].split(":")[1], 16)
        if lp == local_port and rp == remote_port:
            out.append((p[3], int(p[9])))
    return out


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(int(t[8:-1]))
    except OSError:
        pass
    return inodes


def wsd_holds(srv, client):
    """True while a wsd process still holds its end of `client`'s TCP
    connection (not merely an orphaned kernel socket: that has inode 0)."""
    cport = client.sock.getsockname()[1]
    mine = set()
    for p in server_pids(srv):
        mine |= socket_inodes(p)
    return any(ino and ino in mine for _, ino in tcp_entries(srv.port, cport))


def flood_nonblocking(sock, unit, total, deadline_s, stall_s=2.0, on_tick=None):
    """Sends `unit` repeatedly (whole units only: a partial send is finished
    before the next unit) without blocking, until `total` bytes, `deadline_s`
    seconds, or `stall_s` seconds without the socket taking a byte.
    on_tick() is called about every 50 ms and may return True to stop.
    Returns the bytes sent."""
    sock.setblocking(False)
    sent, pending = 0, b""
    t0 = last = tick = time.monotonic()
    while sent < total:
        now = time.monotonic()
        if now - t0 > deadline_s or now - last > stall_s:
            break
        if on_tick and now - tick > 0.05:
            tick = now
            if on_tick():
                break
        if not pending:
            pending = unit
        try:
            n = sock.send(pending)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        pending = pending[n:]
        sent += n
        last = time.monotonic()
    return sent


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


# ==========================================================================
# Part 1 — reproducers for #10 items 1-8 (strict xfail until fixed)

@pytest.mark.xfail(strict=True, reason="#10.1: a ping flood from a client that never reads "
                                       "grows wsd's memory without bound (one pong queued per ping)")
def test_ping_flood_from_non_reader_memory_bounded(wsd):
    """~50 MB of 125-byte pings from a client with a tiny receive buffer
    that never reads: wsd may keep at most one pending pong (RFC 6455
    §5.5.3 allows answering only the most recent ping) and must stop
    reading a client whose outgoing queue is over its high-water mark, so
    its RSS stays bounded (growth < 32 MB) and the flood stalls in TCP."""
    srv = wsd("/bin/cat")
    try:
        c = RawClient(srv.port, rcvbuf=4096)
        c.handshake()
        base = peak = rss_kb(srv)
        limit = (64 if ASAN else 32) * 1024
        state = {"peak": peak}

        def tick():
            state["peak"] = max(state["peak"], rss_kb(srv))
            return state["peak"] - base > 4 * limit     # enough to know: stop early
        unit = b"".join(build_frame(OP_PING, b"p" * 125) for _ in range(512))
        sent = flood_nonblocking(c.sock, unit, 50 * MiB, deadline_s=15.0, on_tick=tick)
        time.sleep(0.3)
        tick()
        growth = state["peak"] - base
        assert growth < limit, (f"wsd grew by {growth // 1024} MB (from {base // 1024} MB) while a "
                                f"non-reading client sent {sent // MiB} MB of pings")
        c.close()
    finally:
        hard_cleanup(srv)


@pytest.mark.xfail(strict=True, reason="#10.2: with --passstderr a program flooding stderr to a "
                                       "client that never reads grows wsd's memory without bound")
def test_passstderr_flood_to_non_reader_memory_bounded(wsd, tmp_path):
    """--passstderr: stderr lines go to the client as JSON messages, so a
    program flooding stderr to a client that reads nothing must meet the
    same backpressure as stdout (reading stops above the high-water mark):
    wsd's RSS stays bounded."""
    done = tmp_path / "stderr.done"
    srv = wsd(CHILD, "stderr-flood", str(1 << 30), done, flags=["--passstderr"])
    try:
        c = RawClient(srv.port, rcvbuf=4096)
        c.handshake()
        srv.wait_children(1)
        base = rss_kb(srv)
        limit = (160 if ASAN else 64) * 1024
        peak = base
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:
            peak = max(peak, rss_kb(srv))
            if peak - base > 4 * limit:
                break
            time.sleep(0.02)
        assert peak - base < limit, (f"wsd grew by {(peak - base) // 1024} MB (from {base // 1024} MB)"
                                     f" in {time.monotonic() - t0:.1f} s of a stderr flood")
        assert not done.exists(), "the program wrote 1 GB to stderr for a client that reads nothing"
        c.close()
    finally:
        hard_cleanup(srv)


def test_stderr_flood_without_passstderr_does_not_block_the_program(wsd, tmp_path):
    """Without --passstderr, stderr only goes to the log and is always read:
    a program writing 16 MB to stderr is never blocked, whether or not the
    client reads (it reads nothing until the program says "done")."""
    done = tmp_path / "stderr.done"
    srv = wsd(CHILD, "stderr-flood", str(16 * MiB), done)
    c = RawClient(srv.port, rcvbuf=4096, timeout=20)
    c.handshake()
    assert wait_until(done.exists, 20.0, 0.05), "stderr flood blocked without --passstderr"
    assert c.recv_text(timeout=5) == "start"
    assert c.recv_text(timeout=5) == "done"
    assert srv.wait_log(r"\| ERROR  \|.*abcdefghij", timeout=5)
    c.send_close(1000)
    code, _, _ = c.expect_close(timeout=5)
    assert code == 1000


def _closing_non_reader(wsd, tmp_path):
    """A client that sends a close frame and then stops reading while its
    program floods stdout (wsd's queue to it already full)."""
    done = tmp_path / "flood.done"
    srv = wsd(CHILD, "flood", str(1 << 30), done)
    c = RawClient(srv.port, rcvbuf=4096)
    c.handshake()
    child = srv.wait_children(1)[0]
    time.sleep(1.0)              # wsd's queue to the client fills; stdout reading pauses
    c.send_close(1000)
    return srv, c, child


@pytest.mark.xfail(strict=True, reason="#10.3: a client that sent a close frame and stopped reading "
                                       "(program flooding) is never closed")
def test_close_then_stop_reading_is_closed_in_bounded_time(wsd, tmp_path):
    """The client's close frame cannot be echoed while the queue to the
    client is full and it never reads: wsd must still close the connection
    (and end the program) within a bounded time (≤ 10 s here)."""
    srv, c, child = _closing_non_reader(wsd, tmp_path)
    try:
        t0 = time.monotonic()
        ok = wait_until(lambda: not wsd_holds(srv, c) and not is_alive(child), 10.0, 0.1)
        assert ok, (f"after {time.monotonic() - t0:.1f} s wsd still holds the connection "
                    f"({wsd_holds(srv, c)}) / the program is alive ({is_alive(child)})")
        c.close()
    finally:
        hard_cleanup(srv)


@pytest.mark.xfail(strict=True, reason="#10.3: SIGTERM never ends wsd while a closing client "
                                       "stopped reading")
def test_close_then_stop_reading_does_not_block_shutdown(wsd, tmp_path):
    """Same client; then SIGTERM: wsd must exit (within 10 s)."""
    srv, c, child = _closing_non_reader(wsd, tmp_path)
    try:
        time.sleep(0.5)
        srv.kill(signal.SIGTERM)
        rc = wait_exit(srv.proc, 10.0)
        assert rc is not None, "wsd still running 10 s after SIGTERM"
        assert not is_alive(child)
        c.close()
    finally:
        hard_cleanup(srv)


@pytest.mark.xfail(strict=True, reason="#10.4: SIGTERM waits forever for a stalled static-file "
                                       "download")
def test_shutdown_with_stalled_static_download(wsd, tmp_path):
    """--staticdir: a client asks for a 64 MB file and never reads it; on
    SIGTERM wsd must give the download a bounded grace and exit (≤ 10 s)."""
    site = tmp_path / "static"
    site.mkdir()
    with open(site / "big.bin", "wb") as f:
        f.truncate(64 * MiB)
    srv = wsd(flags=[f"--staticdir={site}"])
    try:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.5)
        assert srv.proc.poll() is None
        srv.kill(signal.SIGTERM)
        t0 = time.monotonic()
        rc = wait_exit(srv.proc, 11.0)
        assert rc is not None, "wsd still running 11 s after SIGTERM (a download never read)"
        assert rc == 0, f"exit status {rc}"
        assert time.monotonic() - t0 <= 11.0
        s.close()
    finally:
        hard_cleanup(srv)


@pytest.mark.xfail(strict=True, reason="#10.5: bytes after a protocol error end the close linger "
                                       "at once and log the error again")
def test_protocol_error_linger_discards_further_input(wsd):
    """After wsd failed the connection (close 1002 for an unmasked frame)
    it lingers ≤ 2 s for the client's close; bytes the client still sends
    meanwhile are read and discarded: "Protocol error" is logged once and
    wsd keeps its end of the connection until the linger ends."""
    srv = wsd("/bin/cat")
    try:
        c = RawClient(srv.port)
        c.handshake()
        c.send(build_frame(OP_TEXT, b"unmasked", mask=False))
        f = c.recv_frame()
        assert f.opcode == OP_CLOSE and f.close_code == 1002, f
        t_close = time.monotonic()
        assert wsd_holds(srv, c), "wsd gave up its end before the linger"
        c.send(build_frame(OP_TEXT, b"more bytes") + build_frame(OP_PING, b"x") + b"\x81")
        time.sleep(0.4)
        held = wsd_holds(srv, c)
        # the linger ends by itself (≤ 2 s after the close frame)
        ended = wait_until(lambda: not wsd_holds(srv, c), 3.0, 0.02)
        srv.wait_log(r"\| DISCONNECT", timeout=3.0)
        n = len(re.findall(r"Protocol error", srv.log()))
        problems = []
        if n != 1:
            problems.append(f"'Protocol error' logged {n} times")
        if not held:
            problems.append("wsd closed the connection as soon as more bytes came (no linger)")
        assert not problems, "; ".join(problems) + f"\n{srv.log()[-2000:]}"
        assert ended and time.monotonic() - t_close < 3.0, "the linger did not end"
        c.close()
    finally:
        hard_cleanup(srv)


def _unix_ready(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2],
                         ids=lambda s: s.name)
@pytest.mark.xfail(strict=True, reason="#10.6: SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 kill wsd outright "
                                       "(no close frame, program orphaned, socket file left)")
def test_stray_signals_do_not_kill_wsd(wsd_unix, unix_dir, tmp_path, sig):
    """wsd with an open WebSocket (and a --unixsocket) gets a stray signal:
    it must never die of it. SIGHUP may (until config reload exists) be a
    graceful shutdown — close 1001 to the client, exit 0, program ended,
    socket file removed — or be ignored; SIGQUIT, SIGUSR1 and SIGUSR2 must
    leave it serving."""
    path = unix_dir / "s"
    # echoes lines; after stdin EOF it stays (as a program that is not told
    # to stop would): an abrupt death of wsd leaves it running
    prog_sh = write_prog(tmp_path / "echo-stay.sh",
                         "#!/bin/sh\nwhile read -r l; do echo \"$l\"; done\nexec sleep 30\n")
    srv = wsd_unix(prog_sh, sock_path=path, tcp=True)
    try:
        c = RawClient(srv.port)
        c.handshake()
        c.send_text("before")
        assert c.recv_text() == "before"
        prog = srv.wait_children(1)[0]
        srv.kill(sig)
        time.sleep(0.3)
        c.send_text("after")
        try:
            op, data = c.recv_message(timeout=3.0)
        except (EOFError, TimeoutError, OSError):
            op, data = None, b""
        if op == OP_TEXT:
            # still running: still serving, the open connection and new ones
            assert data == b"after"
            assert srv.proc.poll() is None
            c2 = RawClient(srv.port)
            c2.handshake()
            c2.send_text("new")
            assert c2.recv_text() == "new"
            c2.close()
            assert _unix_ready(path), "the Unix socket stopped accepting"
        else:
            code = (struct.unpack("!H", data[:2])[0] if op == OP_CLOSE and len(data) >= 2
                    else None)
            rc = wait_exit(srv.proc, 5.0)
            ended = wait_until(lambda: not is_alive(prog), 3.0)
            facts = (f"exit status {rc}, close frame {code}, program "
                     f"{'ended' if ended else 'still running'}, socket file "
                     f"{'left behind' if os.path.lexists(path) else 'removed'}")
            assert sig == signal.SIGHUP, f"wsd stopped serving on {sig.name}: {facts}"
            assert rc == 0 and code == 1001 and ended and not os.path.lexists(path), \
                f"SIGHUP was not a graceful shutdown: {facts}"
        c.close()
    finally:
        hard_cleanup(srv)


def _workers(srv, n=2, timeout=5.0):
    ws = wait_until(lambda: (lambda k: k if len(k) >= n else None)(
        [p for p in children_of(srv.pid) if is_alive(p)]), timeout)
    assert ws, f"expected {n} workers under {srv.pid}, have {children_of(srv.pid)}"
    return ws


@pytest.mark.xfail(strict=True, reason="#10.7: a worker killed with SIGKILL leaves its programs "
                                       "running (re-parented)")
def test_killed_worker_programs_are_ended(wsd):
    """--workers=2: a worker dies (SIGKILL). The supervisor replaces it
    (already true) and its programs' process groups must be ended too,
    within a few seconds, instead of running on re-parented."""
    srv = wsd(CHILD, "grandchild", "stay", flags=["--workers=2"])
    progs = []
    try:
        workers = _workers(srv)
        c = RawClient(srv.port)
        c.handshake()
        gpid = int(c.recv_text().split()[1])
        prog = proc_stat(gpid)["ppid"]
        worker = proc_stat(prog)["ppid"]
        progs = [prog, gpid]
        assert worker in workers, (worker, workers)
        os.kill(worker, signal.SIGKILL)
        # replaced (already true)
        assert wait_until(lambda: len([p for p in children_of(srv.pid) if is_alive(p)
                                       and p != worker]) >= 2, 5.0), "worker not replaced"
        left = wait_until(lambda: not [p for p in progs if is_alive(p)], 5.0, 0.05)
        assert left, (f"programs of the killed worker still running 5 s later: "
                      f"{[p for p in progs if is_alive(p)]}")
        c.close()
    finally:
        hard_cleanup(srv, progs)


@pytest.mark.xfail(strict=True, reason="#10.8: the supervisor killed with SIGKILL leaves both "
                                       "workers serving forever")
def test_killed_supervisor_workers_exit(wsd):
    """--workers=2: the supervisor dies (SIGKILL). The workers must notice
    and shut down gracefully (close 1001, programs ended) within a few
    seconds, so that a new wsd can bind the same port."""
    srv = wsd("/bin/cat", flags=["--workers=2"])
    extra = []
    port = srv.port
    try:
        workers = _workers(srv)
        c = RawClient(srv.port)
        c.handshake()
        c.send_text("hi")
        assert c.recv_text() == "hi"
        progs = [p for w in workers for p in children_of(w)]
        extra = workers + progs
        srv.proc.kill()
        srv.proc.wait()
        gone = wait_until(lambda: not [p for p in workers + progs if is_alive(p)], 5.0, 0.05)
        assert gone, (f"5 s after the supervisor died: workers alive "
                      f"{[w for w in workers if is_alive(w)]}, programs alive "
                      f"{[p for p in progs if is_alive(p)]}")
        code, _, _ = c.expect_close(timeout=1.0)
        assert code == 1001
        # the port is free again: a new wsd can listen there
        p2 = subprocess.Popen([str(WSD_BIN), f"--port={port}", "--address=127.0.0.1",
                               "/bin/cat"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=wsd_env(), start_new_session=True)
        extra.append(p2.pid)
        try:
            ok = wait_until(lambda: p2.poll() is None and _tcp_accepts(port), 5.0, 0.05)
            assert ok, f"a new wsd could not listen on {port} (exit {p2.poll()})"
        finally:
            if p2.poll() is None:
                p2.terminate()
            wait_exit(p2, 5.0)
        c.close()
    finally:
        hard_cleanup(srv, extra)


def _tcp_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False
