"""The Debian package (#14.5): `dpkg-buildpackage -us -uc -b` on a copy of
the tree (offline: xterm.js from XTERM_DIR), lintian without errors or
warnings, the .deb unpacked into a throw-away root with `dpkg -x`, and the
unpacked binary run through a smoke test (docs/packaging.md)."""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import IS_WEBSOCKETD, REPO, WSD_BIN, free_port, root_flags, wait_until
from scrape import get

# The package builds its own binary: once, in the plain e2e stage (not again
# under ASan or valgrind, where WSD_BIN is another build).
pytestmark = pytest.mark.skipif(IS_WEBSOCKETD or WSD_BIN != REPO / "build" / "wsd",
                                reason="wsd's own packaging, in the plain e2e stage")

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


@pytest.mark.timeout(900)
def test_debian_package_builds_lints_unpacks_and_runs(tmp_path):
    """One test (the build is the slow part: ~1 min on 2 cores, lintian
    ~30 s): build, lintian, dpkg -x, the files, the smoke test."""
    top = tmp_path / "pkg"
    top.mkdir()
    top, debs = build_package(top)
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
              "etc/wsd/wsd.conf", "usr/share/doc/wsd/copyright",
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
