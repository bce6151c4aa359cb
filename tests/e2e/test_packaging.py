"""The Debian package (#14.5): `dpkg-buildpackage -us -uc -b` on a copy of
the tree (offline: xterm.js from XTERM_DIR), lintian without errors or
warnings, the .deb unpacked into a throw-away root with `dpkg -x`, and the
unpacked binary run through a smoke test (docs/packaging.md)."""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (IS_WEBSOCKETD, REPO, WSD_BIN, descendants, free_port, root_flags,
                      wait_until)
from scrape import get

# The package builds its own binary: once, in the plain e2e stage (not again
# under ASan or valgrind, where WSD_BIN is another build).
pytestmark = [pytest.mark.skipif(IS_WEBSOCKETD or WSD_BIN != REPO / "build" / "wsd",
                                 reason="wsd's own packaging, in the plain e2e stage"),
              pytest.mark.xdist_group("package")]

TOOLS = ("dpkg-buildpackage", "dh", "lintian", "dpkg-deb", "readelf")


def copy_tree(dest):
    """The working tree as git sees it (tracked and new files, not ignored
    ones: no build/, no node_modules)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        src = REPO / os.fsdecode(f)
        if not src.is_file():
            continue                # deleted in the working tree
        d = dest / os.fsdecode(f)
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, d)


def build_package(top):
    missing = [t for t in TOOLS if not shutil.which(t)]
    assert not missing, f"{missing} missing: scripts/install-deps --test installs them"
    xterm = REPO / "web" / "node_modules" / "@xterm"
    assert (xterm / "xterm" / "lib" / "xterm.mjs").is_file(), \
        "no xterm.js: run `make` once (npm), or XTERM_DIR (docs/packaging.md)"
    src = top / "wsd"
    copy_tree(src)
    env = dict(os.environ, XTERM_DIR=str(xterm), DEB_BUILD_OPTIONS="nocheck parallel=2",
               LC_ALL="C.UTF-8")
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    debs = {p.name.split("_")[0]: p for p in top.glob("*.deb")}
    return top, debs


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The package, built once for this module's tests (the build is the
    slow part: ~30-60 s on 2 cores). The tests share an xdist group, so
    they run in one worker and share the build."""
    top = tmp_path_factory.mktemp("pkg")
    return build_package(top)


@pytest.mark.timeout(900)
def test_debian_package_builds_lints_unpacks_and_runs(package, tmp_path):
    """Build, lintian (~30 s), dpkg -x, the files, the smoke test."""
    top, debs = package
    assert set(debs) == {"wsd", "wsd-dbgsym"}, debs
    changes = next(top.glob("*.changes"))
    r = subprocess.run(["lintian", "--fail-on", "error,warning", str(changes)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [ln for ln in r.stdout.splitlines() if ln[:2] in ("E:", "W:")], r.stdout

    root = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(debs["wsd"]), str(root)], check=True, timeout=60)
    wsd = root / "usr/bin/wsd"
    for p in ("usr/bin/wsd", "usr/share/man/man1/wsd.1.gz", "lib/systemd/system/wsd.service",
              "etc/wsd/wsd.conf", "var/log/wsd", "usr/share/doc/wsd/copyright",
              "usr/share/doc/wsd/examples/count.sh", "usr/share/doc/wsd/observability.md.gz"):
        assert (root / p).exists(), p
    conffiles = subprocess.run(["dpkg-deb", "-I", str(debs["wsd"]), "conffiles"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert "/etc/wsd/wsd.conf" in conffiles
    unit = (root / "lib/systemd/system/wsd.service").read_text()
    assert "ExecStart=/usr/bin/wsd " in unit and "KillMode=mixed" in unit
    # stripped, with its symbols in -dbgsym (found through the build id)
    sections = subprocess.run(["readelf", "-S", "-W", str(wsd)], capture_output=True,
                              text=True, check=True).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections
    note = subprocess.run(["readelf", "-n", str(wsd)], capture_output=True, text=True,
                          check=True).stdout
    build_id = note.split("Build ID: ")[1].split()[0]
    dbg = subprocess.run(["dpkg-deb", "-c", str(debs["wsd-dbgsym"])], capture_output=True,
                         text=True, check=True).stdout
    assert f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug" in dbg
    # hardened: PIE, BIND_NOW
    dyn = subprocess.run(["readelf", "-h", "-d", str(wsd)], capture_output=True, text=True,
                         check=True).stdout
    assert "DYN (Position-Independent Executable" in dyn and "BIND_NOW" in dyn

    v = subprocess.run([str(wsd), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("wsd 0.1.0")
    port, mport = free_port(), free_port()
    log = open(tmp_path / "wsd.log", "wb")
    p = subprocess.Popen([str(wsd)] + root_flags(wsd) + [f"--port={port}", "--address=127.0.0.1",
                          f"--metrics=127.0.0.1:{mport}", "--healthpath=/health", "/bin/cat"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        assert wait_until(up, 10), (tmp_path / "wsd.log").read_text()

        async def echo():
            import websockets
            async with websockets.connect(f"ws://127.0.0.1:{port}/", open_timeout=5) as ws:
                await ws.send("from the package")
                return await asyncio.wait_for(ws.recv(), 5)
        assert asyncio.run(echo()) == "from the package"
        assert get(port, "/health")[:3:2] == (200, b"ok\n")
        status, _, body = get(mport, "/metrics")
        assert status == 200 and b'wsd_build_info{version="0.1.0"' in body
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()


# --------------------------------------------------------------------------
# The "done when" (#14), under systemd as PID 1: a user installs the
# .deb, enables wsd.socket, edits /etc/wsd/wsd.conf to add a route, runs
# `systemctl reload wsd` without dropping a client, and scrapes the metrics
# with Prometheus.
#
# The machine is this host's own Debian, booted by systemd-nspawn (Debian's
# systemd-container) with systemd as PID 1, on a throw-away overlay of / (a
# tmpfs takes every write: dpkg, /etc, the journal) and with a private
# network: its loopback has nothing but what the test starts there, so the
# sample configuration's fixed ports (80 from wsd.socket, the metrics port,
# Prometheus's 9090) cannot meet another test's. It boots basic.target:
# a minimal machine, without the host's enabled servers (nginx, Redis...).

MACHINE_CLIENT = r'''
import asyncio, os, sys, time, websockets

async def main(path, go_file=None):
    async with websockets.connect(f"ws://127.0.0.1{path}", open_timeout=20) as ws:
        if go_file is None:                  # the program's first message
            print(await asyncio.wait_for(ws.recv(), 20), flush=True)
            return
        await ws.send("before")
        print(await asyncio.wait_for(ws.recv(), 20), flush=True)
        # held open across reloads and upgrades: each time GO_FILE.n
        # appears, one more message and its echo
        n = 1
        try:
            while True:
                while not os.path.exists(f"{go_file}.{n}"):
                    await asyncio.sleep(0.05)
                    if ws.closed:
                        await ws.recv()      # raises ConnectionClosed
                await ws.send(f"after{n}")
                print(await asyncio.wait_for(ws.recv(), 20), flush=True)
                n += 1
        except websockets.ConnectionClosed as e:
            print("closed", e.rcvd.code if e.rcvd else None, flush=True)

asyncio.run(main(*sys.argv[1:]))
'''

PROMETHEUS_JOB = """
  - job_name: wsd
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:{port}']
"""


class Machine:
    """A Debian machine booted with systemd as PID 1 (see above)."""

    def __init__(self, top, binds):
        self.top = top
        self.proc = self.log = self.pid1 = None
        try:
            self._boot(binds)
        except BaseException:
            self.close()
            raise

    def _boot(self, binds):
        top = self.top
        rw, self.root = top / "rw", top / "root"
        rw.mkdir(parents=True)
        self.root.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(rw)], check=True)
        (rw / "up").mkdir()
        (rw / "wk").mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/,upperdir={rw / 'up'},workdir={rw / 'wk'}", str(self.root)],
                       check=True)
        self.log = open(top / "boot.log", "wb")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", str(self.root), "--boot", "--private-network",
             "--register=no", "--keep-unit", "--machine=wsdtest", "--console=read-only"]
            + [f"--bind-ro={a}:{b}" for a, b in binds]
            + ["--", "systemd.unit=basic.target"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

        def booted():
            if self.proc.poll() is not None:
                return True
            for p in descendants(self.proc.pid):
                try:
                    if open(f"/proc/{p}/comm").read().strip() == "systemd":
                        self.pid1 = p
                        return True
                except OSError:
                    pass
            return False
        assert wait_until(booted, 30, 0.1) and self.pid1, self.boot_log()
        # the manager's bus socket comes a moment after PID 1 itself
        state = []

        def up():
            r = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=90)
            state[:] = [r.stdout + r.stderr]
            return r.stdout.strip() in ("running", "degraded")
        assert wait_until(up, 60, 0.2), state[0] + self.boot_log()

    def boot_log(self):
        self.log.flush()
        return (self.top / "boot.log").read_text(errors="replace")[-4000:]

    def run(self, *cmd, check=True, timeout=120, ns="-a"):
        """cmd inside the machine (every namespace: its files, its
        systemd), or with ns="-n" only in its network (a client from the
        host's files)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid1), ns, "--", *cmd],
                           capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, f"{cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def path(self, p):
        """A file of the machine, as the host reaches it."""
        return Path(f"/proc/{self.pid1}/root") / p.lstrip("/")

    def journal(self, unit):
        return self.run("journalctl", "-u", unit, "--no-pager", "-o", "short-precise",
                        check=False).stdout

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()           # nspawn: a clean poweroff of the machine
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                # SIGKILL to the machine's PID 1 ends its whole PID namespace
                if self.pid1:
                    try:
                        os.kill(self.pid1, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        if self.log is not None:
            self.log.close()
        # unmounted before pytest removes tmp_path: never a tree walk into
        # an overlay of /
        for m in (self.top / "root", self.top / "rw"):
            if subprocess.run(["mountpoint", "-q", str(m)]).returncode == 0:
                if subprocess.run(["umount", str(m)]).returncode != 0:
                    subprocess.run(["umount", "-l", str(m)], check=False)


@pytest.mark.timeout(600)
def test_installed_package_under_systemd(package, tmp_path):
    """Install the .deb on a machine that runs systemd, enable wsd.socket
    and connect (the socket starts wsd.service); Debian's Prometheus service
    scrapes wsd; add a route to /etc/wsd/wsd.conf and `systemctl reload
    wsd` while a client stays connected: same main process, the new route
    answers, the client still echoes; `systemctl stop` closes it with 1001."""
    if os.geteuid() != 0:
        pytest.skip("booting a machine with systemd-nspawn needs root")
    for tool in ("systemd-nspawn", "nsenter", "prometheus", "curl"):
        assert shutil.which(tool), f"{tool} missing: scripts/install-deps --test installs it"
    top, debs = package
    client = tmp_path / "client.py"
    client.write_text(MACHINE_CLIENT)
    py = "/usr/bin/python3"
    m = Machine(tmp_path / "machine", [(top, "/pkg")])
    held = None
    try:
        # install, enable the socket: nothing runs until the first client
        m.run("dpkg", "-i", f"/pkg/{debs['wsd'].name}")
        m.run("systemctl", "enable", "--now", "wsd.socket")
        assert m.run("systemctl", "is-active", "wsd.service", check=False).stdout.strip() \
            == "inactive"
        conf = m.path("/etc/wsd/wsd.conf").read_text()
        mport = int(re.search(r"^metrics = 127\.0\.0\.1:(\d+)$", conf, re.M).group(1))

        # a client on the sample's shared /chat route starts wsd.service,
        # and stays connected
        go = tmp_path / "go"                     # go.1, go.2: the held client's cues
        held_out = open(tmp_path / "held.out", "w+")
        held = subprocess.Popen(["nsenter", "-t", str(m.pid1), "-n", "--", py, str(client),
                                 "/chat", str(go)], stdout=held_out, stderr=subprocess.STDOUT,
                                text=True)
        assert wait_until(lambda: (tmp_path / "held.out").read_text().startswith("before\n"),
                          30, 0.1), (tmp_path / "held.out").read_text() + m.journal("wsd")
        assert m.run("systemctl", "is-active", "wsd.service").stdout.strip() == "active"
        main_pid = m.run("systemctl", "show", "-P", "MainPID", "wsd.service").stdout.strip()
        assert main_pid not in ("", "0")
        status = m.run("systemctl", "show", "-P", "StatusText", "wsd.service").stdout
        assert "accepting connections" in status, status   # Type=notify reached READY
        assert "(socket from systemd)" in m.journal("wsd")
        assert m.run("curl", "-sf", "http://127.0.0.1/health", ns="-n").stdout == "ok\n"

        # Debian's Prometheus service, told where wsd's metrics are
        prom_yml = m.path("/etc/prometheus/prometheus.yml")
        prom_yml.write_text(prom_yml.read_text() + PROMETHEUS_JOB.format(port=mport))
        m.run("systemctl", "start", "prometheus.service")

        def query(q):
            r = m.run("curl", "-sf", "--get", "--data-urlencode", f"query={q}",
                      "http://127.0.0.1:9090/api/v1/query", ns="-n", check=False)
            if r.returncode != 0:
                return None
            res = json.loads(r.stdout)["data"]["result"]
            return float(res[0]["value"][1]) if res else None
        assert wait_until(lambda: query('up{job="wsd"}') == 1, 90, 0.5), \
            m.journal("prometheus")[-3000:]
        assert wait_until(lambda: (query('sum(wsd_websocket_connections{job="wsd"})') or 0) >= 1,
                          30, 0.5)

        # the user adds a route and reloads
        wsd_conf = m.path("/etc/wsd/wsd.conf")
        wsd_conf.write_text(wsd_conf.read_text()
                            + "\n[route /hello]\ncommand = /bin/echo\narg = hello from a new route\n")
        m.run("wsd", "--config=/etc/wsd/wsd.conf", "--check")
        m.run("systemctl", "reload", "wsd")
        assert "Configuration reloaded from /etc/wsd/wsd.conf" in m.journal("wsd")
        assert m.run("systemctl", "show", "-P", "MainPID", "wsd.service").stdout.strip() \
            == main_pid, "reload restarted wsd"
        r = m.run(py, str(client), "/hello", ns="-n")
        assert r.stdout == "hello from a new route\n"
        held_says = lambda: (tmp_path / "held.out").read_text()   # noqa: E731
        (tmp_path / "go.1").touch()              # the held client echoes again
        assert wait_until(lambda: "after1\n" in held_says(), 30, 0.1), held_says()
        assert held.poll() is None, "the held client was disconnected"
        assert wait_until(lambda: (query('sum(wsd_websocket_connections_total{job="wsd"})')
                                   or 0) >= 2, 30, 0.5), "the new connection not scraped"

        # the zero-downtime upgrade the unit documents: a new process takes
        # the sockets over and becomes the main process (MAINPID); the old
        # one keeps serving the held client
        m.run("systemctl", "kill", "-s", "USR2", "--kill-whom=main", "wsd")
        assert wait_until(lambda: m.run("systemctl", "show", "-P", "MainPID", "wsd.service")
                          .stdout.strip() not in (main_pid, "", "0"), 30, 0.2), m.journal("wsd")
        assert m.run("systemctl", "is-active", "wsd.service").stdout.strip() == "active"
        assert m.run(py, str(client), "/hello", ns="-n").stdout == "hello from a new route\n"
        (tmp_path / "go.2").touch()
        assert wait_until(lambda: "after2\n" in held_says(), 30, 0.1), held_says()

        # stop: the held client, still on the old process, gets 1001; wsd
        # and its program are gone
        m.run("systemctl", "stop", "wsd.socket", "wsd.service")
        assert held.wait(30) == 0
        assert held_says() == "before\nafter1\nafter2\nclosed 1001\n", m.journal("wsd")
        assert m.run("systemctl", "is-active", "wsd.service", check=False).stdout.strip() \
            == "inactive"
        assert "Failed" not in m.run("systemctl", "status", "wsd.service", check=False).stdout
        journal = m.journal("wsd")
        assert "SIGKILL" not in journal, journal[-3000:]      # every process exited by itself
        assert "Stopping the wsd this one was upgraded from" in journal
    finally:
        if held is not None and held.poll() is None:
            held.kill()
            held.wait()
        m.close()
