"""systemd (docs/operations.md, "systemd"): socket activation through
Debian's systemd-socket-activate (sockets named ws, http, redirect), the
notify protocol through a fake NOTIFY_SOCKET the test reads (READY,
RELOADING, STOPPING, MAINPID after an upgrade, WATCHDOG), --inetd through
socat and systemd-socket-activate --accept, and the shipped units
(systemd-analyze verify and security, make install). No system service is
touched: every process is a foreground child of the test on 127.0.0.1."""
import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import websockets

from conftest import (CHILD, IS_WEBSOCKETD, REPO, WSD_BIN, RawClient, arun, connect, free_port,
                      owns_listener, proc_stat, root_flags, wait_until, write_prog)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only (deliberate)")

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")
SOCAT = shutil.which("socat")
ANALYZE = shutil.which("systemd-analyze")
CERTS = REPO / "tests" / "certs"
SAN_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH")
SANITIZER_RX = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                          r"runtime error:")


def base_env(extra=None):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    for k in SAN_ENV:
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra or {})
    return env


class Procs:
    """Foreground processes of one test, each in its own session: killed
    (the whole group) and reaped at teardown; their output in files."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.started = []

    def start(self, argv, env=None, stdin=subprocess.DEVNULL):
        n = len(self.started)
        out = open(self.tmp / f"p{n}.out", "wb")
        err = open(self.tmp / f"p{n}.err", "wb")
        p = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=out, stderr=err,
                             env=base_env(env), cwd=self.tmp, start_new_session=True)
        p.out_path, p.err_path = self.tmp / f"p{n}.out", self.tmp / f"p{n}.err"
        out.close()
        err.close()
        self.started.append(p)
        return p

    def cleanup(self):
        problems = []
        for p in self.started:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(6)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            try:
                os.killpg(p.pid, signal.SIGKILL)   # anything left in its group
            except ProcessLookupError:
                pass
            for path in (p.out_path, p.err_path):
                m = SANITIZER_RX.search(path.read_text(errors="replace"))
                if m:
                    problems.append(f"sanitizer report in {path}:\n"
                                    f"{path.read_text(errors='replace')[-4000:]}")
        for c in [int(d) for d in os.listdir("/proc") if d.isdigit()]:
            st = proc_stat(c)
            if st and st["ppid"] == os.getpid() and st["state"] == "Z":
                try:
                    os.waitpid(c, os.WNOHANG)
                except ChildProcessError:
                    pass
        return problems


@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    yield p
    problems = p.cleanup()
    if problems:
        pytest.fail("\n".join(problems))


def text(path):
    return Path(path).read_text(errors="replace")


def wait_text(path, rx, timeout=10.0):
    r = re.compile(rx, re.M)
    m = wait_until(lambda: r.search(text(path)), timeout)
    assert m, f"{path.name} never matched {rx!r}:\n{text(path)[-3000:]}"
    return m


def arun_all(coros, timeout=30):
    async def all_of():
        return list(await asyncio.gather(*coros))
    return arun(all_of(), timeout)


async def echo(url, msg="hello", **kw):
    async with connect(url, open_timeout=10, **kw) as ws:
        await ws.send(msg)
        return await asyncio.wait_for(ws.recv(), 10)


def listening_start(procs, make_argv, nports, env=None, stdin=subprocess.DEVNULL):
    """Starts make_argv(ports) on nports free ports, until its own process
    tree listens on all of them: another test may take a free port at the
    same moment (then the bind fails and it is tried again on others).
    Returns (process, ports)."""
    last = None
    for _attempt in range(6):
        ports = [free_port() for _ in range(nports)]
        p = procs.start(make_argv(ports), env=env, stdin=stdin)
        ok = wait_until(lambda: p.poll() is not None or
                        all(owns_listener(p.pid, q) for q in ports), 10)
        if ok and p.poll() is None:
            return p, ports
        last = f"exit {p.poll()}: {text(p.err_path)[-500:]} {text(p.out_path)[-500:]}"
    raise RuntimeError(f"could not start on free ports: {last}")


def activate(procs, names, wsd_args, env=None, accept=False, inetd=False):
    """systemd-socket-activate listening on one 127.0.0.1 port per entry of
    names (a FileDescriptorName or None), running wsd with wsd_args;
    returns (the process — it execs wsd at the first connection — , ports)."""
    def argv(ports):
        a = [SOCKET_ACTIVATE]
        for port in ports:
            a += ["-l", f"127.0.0.1:{port}"]
        if [n for n in names if n]:
            a.append("--fdname=" + ":".join(n for n in names if n))
        if accept:
            a.append("--accept")
        if inetd:
            a.append("--inetd")
        for k in list(env or {}) + [k for k in SAN_ENV if k in os.environ]:
            a.append(f"-E{k}")
        return a + [str(WSD_BIN), *root_flags(), *map(str, wsd_args)]
    return listening_start(procs, argv, len(names), env=env)


needs_activate = pytest.mark.skipif(not SOCKET_ACTIVATE, reason="systemd-socket-activate missing")
needs_socat = pytest.mark.skipif(not SOCAT, reason="socat missing")


# --------------------------------------------------------------------------
# socket activation

@needs_activate
def test_socket_activation_named_sockets(procs):
    """Three sockets from "systemd": ws, http (never TLS: here plain anyway)
    and redirect; wsd binds nothing itself (--port would be 80). The
    connection that started wsd (systemd-socket-activate execs it on the
    first one) is served, not lost."""
    p, (pw, ph, pr) = activate(procs, ["ws", "http", "redirect"],
                               ["--loglevel=info", CHILD, "echo"])
    assert arun(echo(f"ws://127.0.0.1:{pw}/", "first")) == "first"
    assert arun(echo(f"ws://127.0.0.1:{ph}/", "plain")) == "plain"
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        f"http://127.0.0.1:{pr}/a?b=1"], capture_output=True, text=True,
                       timeout=10)
    assert r.stdout == "301 http://127.0.0.1:80/a?b=1", r.stdout
    log = text(p.out_path)
    assert f"Starting WebSocket server   : ws://127.0.0.1:{pw}/ (socket from systemd)" in log
    assert f"Starting WebSocket server   : http://127.0.0.1:{ph}/ (socket from systemd)" in log
    assert f"Starting redirect server   : http://127.0.0.1:{pr}/ (socket from systemd)" in log
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(10) == 0


@needs_activate
def test_socket_activation_unknown_name_exits_3(procs):
    p, (port,) = activate(procs, ["wss"], [CHILD, "echo"])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()   # starts wsd
    assert p.wait(10) == 3
    assert re.search(r'socket 3 passed in is named "wss": wsd knows ws, http, redirect and metrics',
                     text(p.out_path))


@needs_activate
def test_socket_activation_with_workers_and_upgrade(procs, tmp_path):
    """--workers=2 on one socket from systemd: both workers accept on it;
    SIGUSR2 hands it to a new binary, which serves while the old drains."""
    prog = write_prog(tmp_path / "who.sh", "#!/bin/sh\necho \"$PPID\"\nread x\n")
    p, (port,) = activate(procs, [None], ["--workers=2", "--drainms=500", prog])

    async def who():
        async with connect(f"ws://127.0.0.1:{port}/", open_timeout=10) as ws:
            return int(await asyncio.wait_for(ws.recv(), 10))
    first = arun(who())
    assert proc_stat(first)["ppid"] == p.pid
    wait_text(p.out_path, r"\(socket from systemd\)")
    os.kill(p.pid, signal.SIGUSR2)
    m = wait_text(p.out_path, r"Upgrade: the new wsd \(pid (\d+)\) accepts")
    new = int(m.group(1))
    # (until its workers have closed their listeners, the old wsd may still
    # take a connection, and serve it to its end)
    assert p.wait(10) == 0
    w = arun(who())
    assert proc_stat(w)["ppid"] == new
    wait_text(p.out_path, r"socket from the previous wsd")
    os.kill(new, signal.SIGTERM)
    assert wait_until(lambda: proc_stat(new) is None or proc_stat(new)["state"] == "Z", 10)


# --------------------------------------------------------------------------
# the notify protocol

class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket, with the
    sender's credentials (SO_PASSCRED) as systemd reads them, read at once
    by a thread as PID 1 reads it (sd_notify blocks while the receiver's
    queue is full: net.unix.max_dgram_qlen, 10 here)."""

    def __init__(self, tmp):
        self.path = f"/tmp/wsd-notify-{os.getpid()}-{time.monotonic_ns()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []          # (pid, {key: value}), in arrival order
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, typ, d in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(d[:4], "little")
            kv = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.cond:
                self.msgs.append((pid, kv))
                self.cond.notify_all()

    def read(self, timeout=10.0, until=None):
        """Waits until until(msgs) is true (or the timeout); returns msgs."""
        with self.cond:
            self.cond.wait_for(lambda: until is not None and until(self.msgs), timeout)
            return list(self.msgs)

    def has(self, key, value=None):
        with self.cond:
            return [m for m in self.msgs
                    if key in m[1] and (value is None or m[1][key] == value)]

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()
        os.unlink(self.path)


@pytest.fixture
def notify(tmp_path):
    n = NotifySocket(tmp_path)
    yield n
    n.close()


def start_wsd(procs, args, env=None, binary=WSD_BIN):
    p, (port,) = listening_start(procs, lambda ports: [
        binary, *root_flags(), f"--port={ports[0]}", "--address=127.0.0.1", *args], 1, env=env)
    return p, port


@pytest.mark.parametrize("workers", [1, 2], ids=["single", "workers2"])
def test_notify_ready_reloading_stopping(procs, notify, workers):
    """READY=1 once the server accepts (every worker) — a connection made
    right after it is served; SIGHUP: RELOADING=1 with MONOTONIC_USEC, then
    READY=1; SIGTERM: STOPPING=1. All from the main process."""
    p, port = start_wsd(procs, [f"--workers={workers}", CHILD, "echo"],
                        env={"NOTIFY_SOCKET": notify.path})
    notify.read(until=lambda m: notify.has("READY", "1"))
    assert notify.has("READY", "1"), notify.msgs
    assert arun(echo(f"ws://127.0.0.1:{port}/")) == "hello"
    if workers > 1:      # the workers too: each takes part of the connections
        assert arun_all([echo(f"ws://127.0.0.1:{port}/", str(i))
                         for i in range(10)]) == [str(i) for i in range(10)]
    os.kill(p.pid, signal.SIGHUP)
    notify.read(until=lambda m: len(notify.has("READY", "1")) >= 2)
    rel = notify.has("RELOADING", "1")
    assert rel and re.fullmatch(r"\d+", rel[0][1].get("MONOTONIC_USEC", "")), notify.msgs
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(10) == 0
    notify.read(timeout=2, until=lambda m: notify.has("STOPPING", "1"))
    assert notify.has("STOPPING", "1")
    assert {pid for pid, _ in notify.msgs} == {p.pid}, "only the main process notifies"
    order = [k for _, kv in notify.msgs for k in kv if k in ("READY", "RELOADING", "STOPPING")]
    assert order == ["READY", "RELOADING", "READY", "STOPPING"], order


def test_notify_upgrade_hands_mainpid_over(procs, notify, tmp_path):
    """After SIGUSR2, the old main process tells systemd MAINPID=<new>
    (NotifyAccess=main is enough) once the new one accepts; the new one
    (not ready itself: the old one said it) is then the one that notifies:
    STOPPING=1 at its SIGTERM, watchdog pings from its pid."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy2(WSD_BIN, bindir / "wsd")
    p, port = start_wsd(procs, ["--drainms=500", CHILD, "echo"], binary=bindir / "wsd",
                        env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"})
    notify.read(until=lambda m: notify.has("READY", "1"))
    held = RawClient(port)          # the old process drains it for --drainms
    held.handshake()
    os.kill(p.pid, signal.SIGUSR2)
    notify.read(until=lambda m: notify.has("MAINPID"))
    (sender, kv), = notify.has("MAINPID")
    new = int(kv["MAINPID"])
    assert sender == p.pid and new != p.pid and kv.get("READY") == "1"
    assert p.wait(10) == 0
    held.close()
    notify.read(timeout=5, until=lambda m: [x for x in notify.has("WATCHDOG") if x[0] == new])
    assert [x for x in notify.has("WATCHDOG") if x[0] == new], "the new process does not ping"
    assert arun(echo(f"ws://127.0.0.1:{port}/")) == "hello"
    os.kill(new, signal.SIGTERM)
    notify.read(until=lambda m: [x for x in notify.has("STOPPING") if x[0] == new])
    assert [x for x in notify.has("STOPPING") if x[0] == new]
    assert len([x for x in notify.has("READY", "1") if x[0] == new]) == 0
    i = next(k for k, m in enumerate(notify.msgs) if "MAINPID" in m[1])
    assert not [m for m in notify.msgs[i + 1:] if m[0] == p.pid], \
        "the old process notified after handing over (systemd refuses it: not the main pid)"
    assert wait_until(lambda: proc_stat(new) is None or proc_stat(new)["state"] == "Z", 10)


@pytest.mark.parametrize("workers", [1, 2], ids=["single", "workers2"])
def test_watchdog_pings(procs, notify, workers):
    """WATCHDOG_USEC=200000: WATCHDOG=1 every 100 ms from the main process
    (the event loop's, or the supervisor's)."""
    p, _ = start_wsd(procs, [f"--workers={workers}", CHILD, "echo"],
                     env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"})
    notify.read(timeout=10, until=lambda m: len(notify.has("WATCHDOG", "1")) >= 5)
    pings = notify.has("WATCHDOG", "1")
    assert len(pings) >= 5 and {pid for pid, _ in pings} == {p.pid}


def test_watchdog_for_another_pid_is_not_ours(procs, notify):
    """WATCHDOG_PID names another process (the variable was inherited):
    wsd does not ping; READY=1 still comes."""
    p, _ = start_wsd(procs, [CHILD, "echo"], env={"NOTIFY_SOCKET": notify.path,
                                                   "WATCHDOG_USEC": "100000",
                                                   "WATCHDOG_PID": "1"})
    notify.read(timeout=1.5, until=lambda m: notify.has("WATCHDOG"))
    assert notify.has("READY", "1") and not notify.has("WATCHDOG")


# --------------------------------------------------------------------------
# --inetd

@needs_socat
@pytest.mark.parametrize("nofork", [False, True], ids=["socketpair", "tcp-on-stdin"])
def test_inetd_through_socat(procs, tmp_path, nofork):
    """socat accepts and runs `wsd --inetd` per connection: with EXEC: the
    connection comes on a socketpair (REMOTE_ADDR unix-socket), with
    nofork on the TCP socket itself (REMOTE_ADDR the client's). Each
    connection is a process of its own that exits when it ends; log lines
    go to stderr."""
    prog = write_prog(tmp_path / "env.sh", "#!/bin/sh\necho \"$REMOTE_ADDR $$\"\nread x\n"
                      "echo \"got $x\"\n")
    cmd = f"{WSD_BIN} {' '.join(root_flags())} --inetd {prog}"
    p, (port,) = listening_start(procs, lambda ports: [
        SOCAT, f"TCP-LISTEN:{ports[0]},bind=127.0.0.1,reuseaddr,fork",
        f"EXEC:{cmd}" + (",nofork" if nofork else "")], 1,
        env={k: os.environ[k] for k in SAN_ENV if k in os.environ})

    async def one(i):
        async with connect(f"ws://127.0.0.1:{port}/", open_timeout=10) as ws:
            addr, pid = (await asyncio.wait_for(ws.recv(), 10)).split()
            await ws.send(f"m{i}")
            got = await asyncio.wait_for(ws.recv(), 10)
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as e:
                return addr, got, e.rcvd.code if e.rcvd else None
    res = arun_all([one(i) for i in range(3)])
    want_addr = "127.0.0.1" if nofork else "unix-socket"
    assert res == [(want_addr, f"got m{i}", 1000) for i in range(3)]
    err = text(p.err_path)
    assert len(re.findall(r"\| CONNECT$", err, re.M)) == 3
    assert text(p.out_path) == ""


@needs_socat
def test_inetd_tls(procs, tmp_path):
    cmd = (f"{WSD_BIN} {' '.join(root_flags())} --inetd --ssl --sslcert={CERTS}/server.pem "
           f"--sslkey={CERTS}/server.key {CHILD} echo")
    _, (port,) = listening_start(procs, lambda ports: [
        SOCAT, f"TCP-LISTEN:{ports[0]},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{cmd},nofork"], 1,
        env={k: os.environ[k] for k in SAN_ENV if k in os.environ})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    assert arun(echo(f"wss://127.0.0.1:{port}/", "secret", ssl=ctx)) == "secret"


@needs_activate
@pytest.mark.parametrize("stdio", [False, True], ids=["accept-fd3", "accept-stdio"])
def test_inetd_systemd_accept(procs, tmp_path, stdio):
    """A .socket unit with Accept=yes: a wsd per connection, given the
    connection as descriptor 3 (LISTEN_FDS=1) or on stdin/stdout
    (StandardInput=socket; systemd-socket-activate --inetd)."""
    prog = write_prog(tmp_path / "env.sh", "#!/bin/sh\necho \"$REMOTE_ADDR\"\n")
    _, (port,) = activate(procs, [None], ["--inetd", prog], accept=True, inetd=stdio)

    async def one():
        async with connect(f"ws://127.0.0.1:{port}/", open_timeout=10) as ws:
            return await asyncio.wait_for(ws.recv(), 10)
    assert arun_all([one(), one()]) == ["127.0.0.1", "127.0.0.1"]


def test_inetd_refusals(tmp_path):
    """stdin that is not a socket; flags that mean listening; a listening
    socket passed by systemd (Accept=no) — each a one-line reason."""
    def run(args, stdin=subprocess.DEVNULL, env=None):
        r = subprocess.run([str(WSD_BIN), *root_flags(), *args], stdin=stdin,
                           capture_output=True, text=True, env=base_env(env), timeout=10)
        return r.returncode, r.stdout + r.stderr
    rc, out = run(["--inetd", "/bin/cat"])
    assert rc == 1 and "--inetd: stdin is not a connected stream socket" in out, out
    for flag in ("--port=8080", "--address=127.0.0.1", "--workers=2", "--shared",
                 f"--unixsocket={tmp_path}/s", "--redirport=8081"):
        rc, out = run(["--inetd", flag, "/bin/cat"])
        name = flag.split("=")[0].lstrip("-")
        assert rc == 1 and f"--inetd cannot be combined with --{name}" in out, (flag, out)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    r = subprocess.run(["/bin/sh", "-c", f'exec 3<&0; LISTEN_PID=$$ LISTEN_FDS=1 exec {WSD_BIN} '
                        f'{" ".join(root_flags())} --inetd /bin/cat'], stdin=ls.fileno(),
                       capture_output=True, text=True, env=base_env(), timeout=10)
    ls.close()
    assert r.returncode == 1 and "not one connected stream socket" in r.stderr, r.stderr


# --------------------------------------------------------------------------
# the shipped units

UNITS = ["wsd.service", "wsd.socket", "wsd@.service"]
needs_analyze = pytest.mark.skipif(not ANALYZE, reason="systemd-analyze missing")


def unit_copy(tmp_path, name, binary):
    """A copy of systemd/NAME whose ExecStart runs `binary` (verify checks
    that the program exists)."""
    dst = tmp_path / name.replace("@.", "@test.")
    dst.write_text((REPO / "systemd" / name).read_text().replace("/usr/bin/wsd", str(binary)))
    return dst


@needs_analyze
def test_units_verify(tmp_path):
    files = [unit_copy(tmp_path, u, WSD_BIN) for u in UNITS]
    r = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, files)], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def _security_offline_supported():
    if not ANALYZE:
        return False
    r = subprocess.run([ANALYZE, "security", "--help"], capture_output=True, text=True)
    return "--offline" in r.stdout


@pytest.mark.skipif(not _security_offline_supported(),
                    reason="systemd-analyze security --offline needs systemd 250+")
@pytest.mark.parametrize("unit", ["wsd.service", "wsd@.service"])
def test_units_security_ok(tmp_path, unit):
    """The hardening scores "OK" or better (docs/operations.md records the
    number: 1.5 with systemd 252)."""
    f = unit_copy(tmp_path, unit, WSD_BIN)
    r = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager", str(f)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", r.stdout)
    assert m, r.stdout[-2000:] + r.stderr
    assert m.group(2) in ("OK", "SAFE", "PERFECT") and float(m.group(1)) <= 2.0, m.group(0)


def test_units_have_the_required_settings():
    svc = (REPO / "systemd" / "wsd.service").read_text()
    for line in ("Type=notify", "KillMode=mixed", "Restart=on-failure", "DynamicUser=yes",
                 "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "NotifyAccess=main"):
        assert re.search(rf"^{re.escape(line)}", svc, re.M), line
    tmpl = (REPO / "systemd" / "wsd@.service").read_text()
    assert "ExecStart=/usr/bin/wsd --config=/etc/wsd/%i.conf" in tmpl
    sock = (REPO / "systemd" / "wsd.socket").read_text()
    assert re.search(r"^FileDescriptorName=ws$", sock, re.M)


@needs_analyze
def test_make_install_installs_units(tmp_path):
    """`make install` puts the units in PREFIX/lib/systemd/system with
    ExecStart pointing at the installed binary; they verify against it;
    `make uninstall` removes them."""
    dest = tmp_path / "stage"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr/local"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    unitdir = dest / "usr/local/lib/systemd/system"
    for u in UNITS:
        body = (unitdir / u).read_text()
        assert oct((unitdir / u).stat().st_mode & 0o777) == "0o644"
        if u.endswith(".service"):
            assert re.search(r"^ExecStart=/usr/local/bin/wsd ", body, re.M), body
    staged = dest / "usr/local/bin/wsd"
    copies = []
    for u in UNITS:
        c = tmp_path / u.replace("@.", "@x.")
        c.write_text((unitdir / u).read_text().replace("/usr/local/bin/wsd", str(staged)))
        copies.append(c)
    v = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, copies)], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    assert v.returncode == 0, v.stderr
    r = subprocess.run(["make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local"],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not any((unitdir / u).exists() for u in UNITS)


@needs_activate
def test_socket_activation_metrics_from_the_flag_or_passed_in(procs):
    """--metrics under socket activation: without a "metrics" socket wsd
    binds the flag's address itself (it would otherwise have no metrics);
    with one, that socket serves /metrics and the flag's port is not bound."""
    import scrape
    mport = free_port()
    p, (port,) = activate(procs, ["ws"], [f"--metrics=127.0.0.1:{mport}", CHILD, "echo"])
    assert arun(echo(f"ws://127.0.0.1:{port}/", "one")) == "one"
    s = scrape.scrape(mport)
    assert scrape.value(s, "wsd_client_connections_accepted_total") >= 1
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(10) == 0

    unused = free_port()
    p, (port, mp) = activate(procs, ["ws", "metrics"],
                             [f"--metrics=127.0.0.1:{unused}", CHILD, "echo"])
    assert arun(echo(f"ws://127.0.0.1:{port}/", "two")) == "two"
    assert scrape.value(scrape.scrape(mp), "wsd_client_connections_accepted_total") >= 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", unused), timeout=2).close()
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(10) == 0
