"""Privilege drop and program limits (#13 item 3): --user/--group (after
binding and reading the TLS files; for good, verified), no programs as root
without --allowroot, --rlimit and --chdir in each program, the --unixsocket
file's mode and owner. The drop needs root (CI runs the tests as root):
those tests are skipped otherwise; the system user `nobody` is used.
"""
import asyncio
import grp
import os
import pwd
import shutil
import stat
import subprocess

import pytest

from conftest import (IS_WEBSOCKETD, REPO, WSD_BIN, arun, children_of, connect, recv_all,
                      run_wsd, wait_until, write_prog, wsd_env)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #13 access control")
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="changing user needs root")
NOBODY = pwd.getpwnam("nobody")
CERTS = REPO / "tests" / "certs"


def ids(pid):
    """Real, effective, saved, fs uids and gids, and groups of pid."""
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("Uid", "Gid", "Groups"):
            out[k] = [int(x) for x in v.split()]
    return out


def messages(srv, path="/", **kw):
    async def go():
        async with connect(srv, path, **kw) as ws:
            return await recv_all(ws)
    return arun(go())


def open_dir(tmp_path):
    """A copy of a directory others can reach (pytest's is 0700)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="wsdu-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


@needs_root
def test_user_drops_privileges_for_good(wsd):
    srv = wsd("/bin/sh", "-c", "id -u; id -g; id -G; cat /proc/self/status | grep -E '^(Uid|Gid|CapEff)'",
              flags=["--user=nobody"])
    srv.wait_log(rf"Running as +: uid {NOBODY.pw_uid}, gid {NOBODY.pw_gid} \(nobody\)")
    w = ids(srv.pid)
    assert w["Uid"] == [NOBODY.pw_uid] * 4 and w["Gid"] == [NOBODY.pw_gid] * 4
    assert 0 not in w["Groups"]
    msgs, code, _ = messages(srv)
    assert code == 1000
    assert msgs[0] == str(NOBODY.pw_uid) and msgs[1] == str(NOBODY.pw_gid)
    assert "0" not in msgs[2].split()
    assert f"Uid:\t{NOBODY.pw_uid}\t{NOBODY.pw_uid}\t{NOBODY.pw_uid}\t{NOBODY.pw_uid}" in msgs
    assert "CapEff:\t0000000000000000" in msgs


@needs_root
def test_group_replaces_the_users_groups(wsd):
    www = grp.getgrnam("www-data").gr_gid
    srv = wsd("/bin/sh", "-c", "id -u; id -G", flags=["--user=nobody", "--group=www-data"])
    w = ids(srv.pid)
    assert w["Gid"] == [www] * 4 and w["Groups"] == [www]
    msgs, _, _ = messages(srv)
    assert msgs == [str(NOBODY.pw_uid), str(www)]


@needs_root
def test_tls_key_readable_by_root_only_is_read_before_the_drop(wsd, tmp_path):
    """The key (0600 root) is read, then wsd runs as nobody and serves TLS."""
    import ssl
    key = tmp_path / "key.pem"
    shutil.copy(CERTS / "server.key", key)
    key.chmod(0o600)
    srv = wsd("/bin/sh", "-c", "id -un", flags=["--user=nobody", "--ssl",
                                                f"--sslcert={CERTS / 'server.pem'}", f"--sslkey={key}"])
    ctx = ssl.create_default_context(cafile=str(CERTS / "ca.pem"))
    msgs, code, _ = messages(f"wss://127.0.0.1:{srv.port}/", ssl=ctx)
    assert msgs == ["nobody"] and code == 1000


@needs_root
def test_workers_each_drop_the_supervisor_stays(wsd):
    srv = wsd("/bin/sh", "-c", "id -un", flags=["--user=nobody", "--workers=2"])
    workers = wait_until(lambda: children_of(srv.pid) if len(children_of(srv.pid)) == 2 else None, 3)
    assert workers
    for w in workers:
        assert wait_until(lambda: ids(w)["Uid"] == [NOBODY.pw_uid] * 4, 3.0)
    assert ids(srv.pid)["Uid"][1] == 0         # the supervisor only restarts workers
    assert messages(srv)[0] == ["nobody"]


@needs_root
def test_root_refuses_to_run_programs_without_user_or_allowroot(tmp_path):
    r = subprocess.run([str(WSD_BIN), "--port=0", "cat"], capture_output=True, text=True,
                       timeout=5, env=wsd_env())
    assert r.returncode == 1
    assert r.stderr.startswith("wsd: refusing to run programs as root: give --user=NAME")
    r = subprocess.run([str(WSD_BIN), "--port=0", "--user=root", "cat"], capture_output=True,
                       text=True, timeout=5, env=wsd_env())
    assert r.returncode == 1 and "refusing to run programs as root" in r.stderr
    for extra in (["--dir", str(tmp_path)], ["--cgidir", str(tmp_path)]):
        r = subprocess.run([str(WSD_BIN), "--port=0", *extra], capture_output=True, text=True,
                           timeout=5, env=wsd_env())
        assert r.returncode == 1 and "refusing to run programs as root" in r.stderr


@needs_root
def test_check_as_root_notes_the_refusal_and_passes(tmp_path):
    """`sudo wsd --config=/etc/wsd/wsd.conf --check` checks a file that
    wsd.service runs as its dynamic user: the root refusal is a note, not a
    failure; a real problem still fails."""
    conf = tmp_path / "wsd.conf"
    conf.write_text("port = 8080\ncommand = cat\n")
    r = subprocess.run([str(WSD_BIN), f"--config={conf}", "--check"], capture_output=True,
                       text=True, timeout=5, env=wsd_env())
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("wsd: note: run as root, this configuration would refuse to run")
    conf.write_text("port = 8080\ncommand = cat\nuser = no-such-user-here\n")
    r = subprocess.run([str(WSD_BIN), f"--config={conf}", "--check"], capture_output=True,
                       text=True, timeout=5, env=wsd_env())
    assert r.returncode == 1 and "no-such-user-here" in r.stderr, r.stderr


@needs_root
def test_root_may_serve_static_files_without_programs(wsd, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "f").write_text("x")
    # no --allowroot (the fixture adds it as root: use the binary directly)
    import socket
    import time
    from conftest import free_port
    port = free_port()
    p = subprocess.Popen([str(WSD_BIN), f"--port={port}", "--address=127.0.0.1",
                          f"--staticdir={tmp_path / 's'}"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=wsd_env())
    try:
        assert wait_until(lambda: p.poll() is None and
                          not socket.socket().connect_ex(("127.0.0.1", port)), 3.0)
    finally:
        p.terminate()
        p.wait(5)


@pytest.mark.parametrize("flag,why", [("--user=no-such-user-x", "--user: no user 'no-such-user-x'"),
                                      ("--group=no-such-group-x", "--group: no group 'no-such-group-x'")])
def test_unknown_user_or_group(flag, why):
    st, out = run_wsd(flag, "--port=0", "cat")
    assert st == 1 and why in out


@pytest.mark.skipif(ROOT, reason="as a user: --user of another user must fail")
def test_user_without_root_is_refused():
    st, out = run_wsd("--user=nobody", "--port=0", "cat")
    assert st == 1 and "only root can change" in out


def test_rlimits_are_set_in_the_program(wsd):
    srv = wsd("/bin/cat", "/proc/self/limits",
              flags=["--rlimit=as=512M,nofile=77,fsize=1M,core=0,cpu=30,stack=8M,data=1G,nproc=500"])
    msgs, code, _ = messages(srv)
    lim = {}
    for line in msgs[1:]:
        name = line[:26].strip()
        soft, hard = line[26:47].split(), line[47:68].split()
        lim[name] = (soft[0], hard[0])
    assert code == 1000
    assert lim["Max address space"] == (str(512 << 20),) * 2
    assert lim["Max open files"] == ("77", "77")
    assert lim["Max file size"] == (str(1 << 20),) * 2
    assert lim["Max core file size"] == ("0", "0")
    assert lim["Max cpu time"] == ("30", "31")
    assert lim["Max stack size"] == (str(8 << 20),) * 2
    assert lim["Max data size"] == (str(1 << 30),) * 2
    assert lim["Max processes"] == ("500", "500")


@pytest.mark.timeout(30)
def test_program_over_its_cpu_limit_is_killed_and_the_client_told(wsd):
    srv = wsd("/bin/sh", "-c", "echo spinning; while :; do :; done", flags=["--rlimit=cpu=1"])
    msgs, code, reason = messages(srv)
    assert msgs == ["spinning"]
    assert code == 1011 and reason == "killed by signal 24 (SIGXCPU)"


def test_program_over_its_file_size_limit(wsd, tmp_path):
    out = tmp_path / "big"
    srv = wsd("/bin/sh", "-c", f"head -c 3000000 /dev/zero > {out}; echo status $?",
              flags=["--rlimit=fsize=1M"])
    msgs, code, _ = messages(srv)
    assert out.stat().st_size == 1 << 20
    assert msgs and msgs[-1] != "status 0"


@needs_root
def test_nproc_limit_for_the_users_programs(wsd):
    d = open_dir(None)
    try:
        srv = wsd("/bin/sh", "-c", "(true) && echo forked", flags=[
            "--user=nobody", "--rlimit=nproc=1", f"--chdir={d}"])
        msgs, code, reason = messages(srv)
        assert msgs == [] and code == 1011 and reason.startswith("exited with status")
        srv.wait_log(r"ERROR +\| stderr .*Cannot fork")
    finally:
        os.rmdir(d)


def test_chdir(wsd, tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    write_prog(tmp_path / "pwd.sh", "#!/bin/sh\npwd\n")
    srv = wsd("./pwd.sh", flags=[f"--chdir={d}"], cwd=tmp_path)   # a relative COMMAND still found
    msgs, code, _ = messages(srv)
    assert msgs == [str(d)] and code == 1000


def test_bad_rlimit_and_chdir_values():
    st, out = run_wsd("--rlimit=cpu=1x", "--port=0", "cat")
    assert st == 1 and "--rlimit: bad value for cpu" in out
    st, out = run_wsd("--chdir=/no/such", "--port=0", "cat")
    assert st == 1 and "--chdir: '/no/such' is not a directory" in out


@needs_root
def test_unixsocket_mode_owner_and_group(wsd_unix, unix_dir):
    sock = unix_dir / "w.sock"
    wsd_unix("cat", sock_path=sock, flags=["--unixsocketmode=0660", "--unixsocketuser=nobody",
                                           "--unixsocketgroup=www-data"])
    st = sock.stat()
    assert stat.S_ISSOCK(st.st_mode) and oct(st.st_mode & 0o777) == "0o660"
    assert st.st_uid == NOBODY.pw_uid and st.st_gid == grp.getgrnam("www-data").gr_gid


def test_unixsocket_default_mode_is_unchanged(wsd_unix, unix_dir):
    sock = unix_dir / "d.sock"
    old = os.umask(0o022)
    try:
        wsd_unix("cat", sock_path=sock)
    finally:
        os.umask(old)
    assert oct(sock.stat().st_mode & 0o777) == "0o755"


def test_unixsocket_flags_need_unixsocket():
    st, out = run_wsd("--unixsocketmode=0660", "--port=0", "cat")
    assert st == 1 and "need --unixsocket" in out
