"""Zero-downtime binary upgrade (SIGUSR2, docs/operations.md "Upgrading"):
the new binary takes the listening sockets over, the old process stops
accepting, serves its open connections for --drainms and then closes them
with 1001.

Each test runs a copy of the server binary from a temp directory and
upgrades it by putting a new copy at that path (a different file: the
inode changes) and sending SIGUSR2, as an operator does after
`install wsd /usr/local/bin/wsd`. Every generation writes to the same log
(the new process inherits stdout); each "Upgrade: the new wsd (pid N)
accepts" line names the next generation."""
import asyncio
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest
import websockets

from conftest import (CHILD, IS_WEBSOCKETD, WSD_BIN, arun, children_of, connect, is_alive,
                      proc_stat, wait_until, write_prog)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only (deliberate)")

READY_RX = re.compile(r"Upgrade: the new wsd \(pid (\d+)\) accepts on the sockets; "
                      r"this wsd \(pid (\d+)\)")


# --------------------------------------------------------------------------
# helpers

def install_binary(bindir):
    """Puts a fresh copy of the server binary at bindir/wsd (a new inode,
    renamed into place as install(1) does). Returns its path."""
    bindir.mkdir(exist_ok=True)
    dst = bindir / "wsd"
    tmp = bindir / ".wsd.new"
    shutil.copy2(WSD_BIN, tmp)
    os.replace(tmp, dst)
    return dst


def exe_inode(pid):
    return os.stat(f"/proc/{pid}/exe").st_ino


def gone(pid):
    """Not running; reaped if it was our child (the test process is a
    subreaper: later generations come to us when their parent exits).
    Returns True when it is gone."""
    st = proc_stat(pid)
    if st is None:
        return True
    if st["state"] in ("Z", "X"):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return proc_stat(pid) is None
    return False


class Generations:
    """The chain of wsd processes: gens[0] is the one the fixture started."""

    def __init__(self, srv):
        self.srv = srv
        self.mains = [srv.pid]
        self.ready_at = {}          # main pid -> when its successor was seen ready

    def upgrade(self, bindir, timeout=20.0):
        old = self.mains[-1]
        old_ino = exe_inode(old)
        install_binary(bindir)
        n = len(READY_RX.findall(self.srv.log()))
        os.kill(old, signal.SIGUSR2)
        m = wait_until(lambda: (lambda a: a[n] if len(a) > n else None)(
            READY_RX.findall(self.srv.log())), timeout)
        assert m, f"no new generation after SIGUSR2 to {old}:\n{self.srv.log()[-3000:]}"
        new, said_old = int(m[0]), int(m[1])
        assert said_old == old
        self.ready_at[old] = time.monotonic()
        self.mains.append(new)
        assert exe_inode(new) != old_ino, "the new generation runs the old file"
        return new

    def generation_of(self, pid):
        """The generation index of a wsd process (a main or one of its
        workers), looked up while it runs."""
        if pid in self.mains:
            return self.mains.index(pid)
        st = proc_stat(pid)
        if st and st["ppid"] in self.mains:
            return self.mains.index(st["ppid"])
        return None

    def stop_all(self, timeout=15.0):
        """SIGTERM to the last generation; every earlier one must have
        exited by itself (drained). Returns the last one's exit status."""
        last = self.mains[-1]
        for p in self.mains[:-1]:
            if p == self.srv.pid:
                assert self.srv.proc.wait(timeout) == 0, "the first generation's exit status"
                continue
            assert wait_until(lambda: gone(p), timeout), f"old generation {p} never exited"
        os.kill(last, signal.SIGTERM)
        if last == self.srv.pid:
            return self.srv.proc.wait(timeout)
        assert wait_until(lambda: gone(last), timeout), f"{last} ignored SIGTERM"
        return 0


def dir_of_programs(tmp_path, finite_lines, interval_ms):
    d = tmp_path / "ws"
    d.mkdir()
    write_prog(d / "echo", f"#!/bin/sh\nexec {CHILD} echo\n")
    write_prog(d / "finite", f"#!/bin/sh\nexec {CHILD} stream {interval_ms} {finite_lines}\n")
    write_prog(d / "forever", f"#!/bin/sh\nexec {CHILD} stream {interval_ms} 0\n")
    return d


# --------------------------------------------------------------------------
# the load test

class Load:
    """Continuous connect/echo/close cycles, plus long-lived connections
    streaming lines; everything that is not a clean, expected outcome is
    recorded as a failure."""

    def __init__(self, port, gens, finite_lines, drain_s):
        self.port = port
        self.gens = gens
        self.finite_lines = finite_lines
        self.drain_s = drain_s
        self.churn_drained = 0       # echo cycles still open at their drain time
        self.stop = asyncio.Event()
        self.cycles = 0
        self.failures = []
        self.kept = 0                # long-lived connections kept to their end
        self.closed_1001 = []        # (generation, time) of each 1001
        self.finite_done = 0

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    async def churn(self, k):
        i = 0
        while not self.stop.is_set():
            i += 1
            msg = f"m{k}.{i}"
            opened = None
            try:
                async with connect(self.url("/echo"), open_timeout=15) as ws:
                    opened = time.monotonic()
                    await ws.send(msg)
                    got = await asyncio.wait_for(ws.recv(), 15)
                    if got != msg:
                        self.failures.append(f"echo {msg!r} got {got!r}")
                self.cycles += 1
            except websockets.ConnectionClosed as e:
                # a cycle that a loaded machine kept open past its old
                # generation's drain time is closed with 1001, as it must
                # be; a 1001 any sooner is a failure
                code = e.rcvd.code if e.rcvd else None
                if code == 1001 and opened is not None \
                        and time.monotonic() - opened >= self.drain_s * 0.8:
                    self.churn_drained += 1
                else:
                    self.failures.append(f"churn {msg}: {type(e).__name__}: {e}")
            except Exception as e:   # noqa: BLE001 - every failure counts
                self.failures.append(f"churn {msg}: {type(e).__name__}: {e}")

    async def long_lived(self, path):
        """One client: stays connected; after a 1001 it reconnects (to the
        new generation), after a finite stream's end it starts another."""
        while not self.stop.is_set():
            try:
                ws = await connect(self.url(path), open_timeout=15)
            except Exception as e:   # noqa: BLE001
                self.failures.append(f"{path} connect: {type(e).__name__}: {e}")
                return
            gen, expect = None, 1
            try:
                first = await asyncio.wait_for(ws.recv(), 15)
                gen = self.gens.generation_of(int(first.split()[1]))
                while True:
                    rx = asyncio.ensure_future(ws.recv())
                    st = asyncio.ensure_future(self.stop.wait())
                    done, _ = await asyncio.wait({rx, st}, timeout=15,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if rx not in done:
                        rx.cancel()
                        st.cancel()
                        if st in done:           # the test is over: we end it
                            await ws.close()
                            self.kept += 1
                            return
                        self.failures.append(f"{path}: nothing for 15 s")
                        await ws.close()
                        return
                    st.cancel()
                    line = rx.result()
                    if line != f"line {expect}":
                        self.failures.append(f"{path}: got {line!r}, expected line {expect}")
                    expect += 1
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                if code == 1000 and path == "/finite" and expect == self.finite_lines + 1:
                    self.kept += 1
                    self.finite_done += 1
                elif code == 1001:
                    self.closed_1001.append((gen, time.monotonic()))
                else:
                    self.failures.append(f"{path}: closed {code} "
                                         f"{e.rcvd.reason if e.rcvd else '(no close frame)'} "
                                         f"after line {expect - 1}")
            except Exception as e:   # noqa: BLE001
                self.failures.append(f"{path}: {type(e).__name__}: {e}")
                return


@pytest.mark.timeout(150)
@pytest.mark.parametrize("workers,config", [(1, False), (2, False), (2, True)],
                         ids=["single", "workers2", "config-workers2"])
def test_three_upgrades_under_load(any_server, tmp_path, workers, config):
    """The issue's test: connect/echo/close cycles run continuously, and 200
    long-lived connections stream output (half end by themselves after 20
    lines, half stream until the test ends), while wsd is upgraded to a new
    binary 3 times — and, with --config, reloaded 5 times between them, each
    reload adding a route (the new binary reads the file afresh). Zero
    failed handshakes, zero resets; every long-lived connection is either
    kept to its end or closed with 1001 once its generation's drain time is
    up (and not before), then reconnects to the new one. Every old
    generation exits by itself, exit status 0; the last route added works."""
    drain_ms, long_lived, finite_lines, interval = 2500, 200, 20, 100
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    d = dir_of_programs(tmp_path, finite_lines, interval)
    conf = tmp_path / "wsd.conf"
    base = f"dir = {d}\ndrainms = {drain_ms}\nworkers = {workers}\nloglevel = info\n"

    def write_conf(routes):
        conf.write_text(base + "".join(f"[route /r{i}]\ncommand = {CHILD}\narg = echo\n"
                                       for i in range(routes)))
    if config:
        write_conf(0)
        srv = any_server(binary, flags=[f"--config={conf}"])
    else:
        srv = any_server(binary, flags=[f"--dir={d}", f"--drainms={drain_ms}",
                                        f"--workers={workers}", "--loglevel=info"])
    gens = Generations(srv)
    reloads = 0

    def reload():
        nonlocal reloads
        reloads += 1
        write_conf(reloads)
        n = srv.log().count("Configuration reloaded")
        os.kill(gens.mains[-1], signal.SIGHUP)
        assert wait_until(lambda: srv.log().count("Configuration reloaded") > n, 15), \
            f"reload {reloads} not applied:\n{srv.log()[-2000:]}"

    async def scenario():
        load = Load(srv.port, gens, finite_lines, drain_ms / 1000)
        tasks = [asyncio.ensure_future(load.churn(k)) for k in range(8)]
        tasks += [asyncio.ensure_future(load.long_lived("/finite" if i % 2 else "/forever"))
                  for i in range(long_lived)]
        await asyncio.sleep(2.0)
        steps = (["reload", "upgrade", "reload", "upgrade", "reload", "upgrade", "reload",
                  "reload"] if config else ["upgrade"] * 3)
        for step in steps:
            fn = reload if step == "reload" else (lambda: gens.upgrade(bindir))
            await asyncio.get_running_loop().run_in_executor(None, fn)
            await asyncio.sleep(1.5 if step == "upgrade" else 0.7)
        if config:
            async with connect(f"ws://127.0.0.1:{srv.port}/r{reloads - 1}") as ws:
                await ws.send("routed")
                assert await asyncio.wait_for(ws.recv(), 10) == "routed"
        # the last old generation's drain time passes, its 1001s come
        await asyncio.sleep(drain_ms / 1000 + 1.5)
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        return load

    load = arun(scenario(), timeout=130)
    assert not load.failures, (f"{len(load.failures)} failures, e.g. {load.failures[:8]}\n"
                               f"log:\n{srv.log()[-3000:]}")
    assert load.cycles >= 20, f"only {load.cycles} echo cycles"
    assert load.finite_done >= long_lived // 2, "finite streams did not all end with 1000"
    assert load.closed_1001, "no long-lived connection reached its drain time"
    for gen, when in load.closed_1001:
        assert gen is not None and gen < 3, f"1001 from generation {gen}, which never drained"
        waited = when - gens.ready_at[gens.mains[gen]]
        assert waited >= drain_ms / 1000 * 0.8, \
            f"closed with 1001 {waited:.2f} s after its generation stopped accepting"
    assert len(set(gens.mains)) == 4
    assert gens.stop_all() == 0
    assert srv.proc.returncode == 0, "the first generation did not exit 0 after draining"
    assert len(re.findall(r"Drained: every connection has ended|Drain time is up",
                          srv.log())) >= 3 * workers


# --------------------------------------------------------------------------
# failures, the Unix socket, shared mode, keep-alive

def echo_ok(port, text="x"):
    async def go():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send(text)
            return await asyncio.wait_for(ws.recv(), 5)
    return arun(go()) == text


@pytest.mark.parametrize("bad", ["exits", "garbage", "not-executable"])
def test_failed_upgrade_keeps_serving(any_server, tmp_path, bad):
    """A new binary that cannot take over — it exits during start-up, it is
    not a program exec can run, it is not executable — is logged as a
    failed upgrade; the running wsd goes on accepting, and a good binary
    put there afterwards upgrades it."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    srv = any_server(binary, str(CHILD), "echo", flags=["--drainms=1000"])
    gens = Generations(srv)
    tmp = bindir / ".bad"
    if bad == "exits":
        write_prog(tmp, "#!/bin/sh\necho 'new binary: cannot start' >&2\nexit 1\n")
        why = r"the new wsd \(pid \d+\) exited before it was ready"
    elif bad == "garbage":
        write_prog(tmp, "\x7fELF this is not a program\n")
        why = r"exec \S+/bin/wsd: Exec format error"
    else:
        tmp.write_text("#!/bin/sh\n")
        tmp.chmod(0o644)
        why = r"\S+/bin/wsd is not an executable file"
    os.replace(tmp, binary)
    os.kill(srv.pid, signal.SIGUSR2)
    srv.wait_log(rf"ERROR  \| server +\|  \| Upgrade failed: {why}.*; this wsd goes on serving",
                 timeout=10)
    assert echo_ok(srv.port), "the old wsd stopped serving after a failed upgrade"
    assert is_alive(srv.pid)
    new = gens.upgrade(bindir)
    assert echo_ok(srv.port)
    assert gens.stop_all() == 0
    assert new != srv.pid


@pytest.mark.parametrize("workers,grace_ms", [(1, 0), (2, 0), (1, 4000)])
def test_stopping_the_new_wsd_stops_the_draining_one_too(any_server, tmp_path, workers,
                                                         grace_ms):
    """After an upgrade the new wsd is the one a service manager stops
    (systemd's main process): a SIGTERM to it is passed on to the old one,
    still draining, whose client is closed with 1001 at once (not when
    --drainms is up, not by SIGKILL), and the new one exits after it. With
    --gracems the old one is told at the signal, so the two grace periods
    run at once (one after the other would be 8 s)."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    srv = any_server(binary, str(CHILD), "echo",
                     flags=["--drainms=60000", f"--workers={workers}", "--loglevel=info",
                            f"--gracems={grace_ms}"])
    gens = Generations(srv)

    async def scenario():
        async with connect(f"ws://127.0.0.1:{srv.port}/") as old_client:
            await old_client.send("one")
            assert await asyncio.wait_for(old_client.recv(), 5) == "one"
            new = await asyncio.get_running_loop().run_in_executor(
                None, lambda: gens.upgrade(bindir))
            await old_client.send("two")         # still served by the old wsd
            assert await asyncio.wait_for(old_client.recv(), 5) == "two"
            async with connect(f"ws://127.0.0.1:{srv.port}/") as new_client:
                await new_client.send("new")         # the new wsd serves
                assert await asyncio.wait_for(new_client.recv(), 5) == "new"
            t0 = time.monotonic()
            os.kill(new, signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(old_client.recv(), 10 + grace_ms / 1000)
            assert e.value.rcvd and e.value.rcvd.code == 1001, e.value
            return new, time.monotonic() - t0
    new, took = arun(scenario(), timeout=40)
    assert took < (grace_ms / 1000 + 2.5 if grace_ms else 5), \
        f"the old wsd's client was closed {took:.1f} s after the stop"
    assert srv.proc.wait(10) == 0, "the old wsd's exit status"
    assert wait_until(lambda: gone(new), 10), "the new wsd did not exit"
    log = srv.log()
    assert f"Stopping the wsd this one was upgraded from (pid {srv.pid}), which is draining" \
        in log, log[-3000:]
    assert "Drain time is up" not in log
    assert "still running after" not in log


def test_upgrade_hands_the_unix_socket_over(any_server, tmp_path):
    """--unixsocket with a TCP port: the new generation takes both; the old
    one does not remove the socket file when it exits; the last one does at
    its shutdown."""
    sock_dir = Path(f"/tmp/wsd-up-{os.getpid()}-{time.monotonic_ns()}")
    sock_dir.mkdir()
    path = sock_dir / "s"
    try:
        bindir = tmp_path / "bin"
        binary = install_binary(bindir)
        prog = write_prog(tmp_path / "who.sh", "#!/bin/sh\necho \"$PPID\"\n")
        srv = any_server(binary, prog, flags=[f"--unixsocket={path}"])
        gens = Generations(srv)
        new = gens.upgrade(bindir)
        assert srv.proc.wait(10) == 0          # nothing to drain: it exits at once
        assert path.is_socket(), "the old generation removed the socket file"

        async def over_unix():
            async with websockets.unix_connect(str(path), "ws://localhost/") as ws:
                return await ws.recv()
        assert arun(over_unix()) == str(new)
        os.kill(new, signal.SIGTERM)
        assert wait_until(lambda: gone(new), 10)
        assert not os.path.lexists(path), "the last generation left its socket file"
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_sigusr2_while_draining_is_ignored(any_server, tmp_path):
    """The old generation, draining, gets SIGUSR2 again: logged and ignored
    (the sockets are the new one's); its connection still gets 1001 when
    --drainms is up."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    srv = any_server(binary, str(CHILD), "echo", flags=["--drainms=1500"])
    gens = Generations(srv)

    async def go():
        async with connect(srv.url()) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            await asyncio.get_running_loop().run_in_executor(None, gens.upgrade, bindir)
            os.kill(srv.pid, signal.SIGUSR2)
            await ws.send("during")
            assert await ws.recv() == "during"
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
    assert arun(go(), timeout=30) == 1001
    srv.wait_log(r"Received SIGUSR2: ignored \(draining: the sockets were handed over\)")
    assert gens.stop_all() == 0


def test_upgrade_shared_members_stay_with_the_old_program(any_server, tmp_path):
    """--shared: clients of the old generation stay with its program (the
    same instance, nothing missed); clients of the new one get a program of
    their own; the old program ends with the old generation's last client."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    prog = write_prog(tmp_path / "tick.sh",
                      "#!/bin/sh\ni=0\nwhile :; do i=$((i+1)); echo \"$$ $i\"; sleep 0.1; done\n")
    srv = any_server(binary, prog, flags=["--shared", "--drainms=60000"])
    gens = Generations(srv)

    async def go():
        a = await connect(srv.url())
        pa, na = map(int, (await a.recv()).split())
        await asyncio.get_running_loop().run_in_executor(None, gens.upgrade, bindir)
        b = await connect(srv.url())
        pb, _ = map(int, (await b.recv()).split())
        for _ in range(5):        # a's program goes on, no line missed
            p, n = map(int, (await a.recv()).split())
            assert p == pa and n == na + 1, (p, n, pa, na)
            na = n
        await a.close()
        # the old generation's last client left: its program ends, it exits
        assert await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_until(lambda: not is_alive(pa), 10))
        p, _ = map(int, (await b.recv()).split())
        await b.close()
        return pa, pb, p
    pa, pb, p = arun(go(), timeout=40)
    assert pa != pb and p == pb
    assert srv.proc.wait(10) == 0
    assert gens.stop_all() == 0


def test_upgrade_closes_idle_keepalive_connections(any_server, tmp_path):
    """A kept-alive HTTP connection idle at the upgrade is closed by the
    old generation (nothing lost: no request was in flight); a WebSocket
    handshake or request on a new connection goes to the new one."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    static = tmp_path / "static"
    static.mkdir()
    (static / "a.txt").write_text("hello\n")
    srv = any_server(binary, str(CHILD), "echo", flags=[f"--staticdir={static}"])
    gens = Generations(srv)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while not data.endswith(b"hello\n"):
        data += s.recv(4096)
    assert data.startswith(b"HTTP/1.1 200")
    gens.upgrade(bindir)
    s.settimeout(5)
    assert s.recv(4096) == b"", "the idle kept-alive connection stayed open"
    s.close()
    assert srv.proc.wait(10) == 0
    assert echo_ok(srv.port)
    assert gens.stop_all() == 0


def test_sigusr2_to_every_process_upgrades_once(any_server, tmp_path):
    """`killall -USR2 wsd` with --workers: the supervisor upgrades, its
    workers ignore the signal (they drain only when the supervisor says, on
    its own signal), a connection held by a worker is kept."""
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    srv = any_server(binary, str(CHILD), "echo", flags=["--workers=2", "--drainms=60000"])
    gens = Generations(srv)
    workers = wait_until(lambda: (lambda k: k if len(k) == 2 else None)(
        [p for p in children_of(srv.pid) if is_alive(p)]), 5)
    assert workers

    async def go():
        async with connect(srv.url()) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            install_binary(bindir)
            for p in [srv.pid] + workers:
                os.kill(p, signal.SIGUSR2)
            m = await asyncio.get_running_loop().run_in_executor(
                None, lambda: srv.wait_log(READY_RX.pattern, timeout=20))
            gens.mains.append(int(m.group(1)))
            await ws.send("after")
            return await ws.recv()
    assert arun(go(), timeout=40) == "after"
    srv.wait_log(r"Received SIGUSR2 in worker \d: ignored")
    assert len(READY_RX.findall(srv.log())) == 1
    assert echo_ok(srv.port)
    assert gens.stop_all() == 0


def test_upgrade_hands_the_metrics_socket_over(any_server, tmp_path):
    """--metrics: the new generation takes the metrics socket with the
    others (its own bind would find the port in use); once it is ready the
    old one, still draining a client, no longer answers scrapes."""
    import scrape
    from conftest import free_port
    bindir = tmp_path / "bin"
    binary = install_binary(bindir)
    mport = free_port()
    srv = any_server(binary, CHILD, "echo", flags=[f"--metrics=127.0.0.1:{mport}",
                                                   "--drainms=20000"])
    start0 = scrape.value(scrape.scrape(mport), "wsd_start_time_seconds")

    async def held_then_upgrade():
        async with connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            new = gens.upgrade(bindir)
            for _ in range(10):      # every scrape: the new generation's
                s = scrape.scrape(mport)
                assert scrape.value(s, "wsd_draining") == 0
                assert scrape.value(s, "wsd_start_time_seconds") >= start0
                assert scrape.value(s, "wsd_websocket_connections") == 0
            await ws.send("still")
            assert await asyncio.wait_for(ws.recv(), 10) == "still"   # the old one serves it
            return new
    gens = Generations(srv)
    arun(held_then_upgrade())
    assert gens.stop_all() == 0
