"""Command line (spec 12): Go flag syntax, messages and exit codes."""
import os
import socket
import subprocess

import pytest

from conftest import (IS_WEBSOCKETD, SCRIPTS, WSD_BIN, RawClient, arun, connect, free_port,
                      recv_all, root_flags, wsd_env)


def run(*args, timeout=3, cwd=None):
    """Runs wsd to completion (a server that starts instead is killed after
    `timeout` and the test fails with TimeoutExpired)."""
    return subprocess.run([str(WSD_BIN), *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, env=wsd_env(), cwd=cwd,
                          text=True)


def test_help_exit_0_usage_on_stderr():
    r = run("--help")
    assert r.returncode == 0
    assert "--port" in r.stderr or "-port" in r.stderr
    assert r.stdout == ""


def test_help_has_no_stale_unsupported_note():
    """Every flag is built: --help no longer ends with a note about flags
    "not supported by this build yet"."""
    r = run("--help")
    assert r.returncode == 0
    assert "not supported" not in r.stderr
    assert r.stderr.rstrip().endswith("for details.")


def test_help_long_text_covers_every_flag_of_readme():
    """Every flag in README.md's flag table has an entry in --help's long
    text (the part after "Options:"), not only in Go's flag list."""
    from conftest import REPO, IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's README")
    import re
    table = [line for line in (REPO / "README.md").read_text().splitlines()
             if line.startswith("| `--")]
    names = {n for line in table for n in re.findall(r"`--([a-z][a-z-]*)", line.split("|")[1])}
    assert {"port", "workers", "lossless", "deflatebits", "help"} <= names, names
    r = run("--help")
    assert r.returncode == 0
    options = r.stderr.split("\nOptions:\n", 1)[1]
    missing = sorted(n for n in names if not re.search(rf"^  --{n}(?![\w-])", options, re.M))
    assert not missing, f"--help lacks {missing}"


def test_short_h():
    r = run("-h")
    assert r.returncode == 0
    assert "port" in r.stderr


@pytest.mark.deliberate
def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("wsd ")


def test_unknown_flag_exit_2():
    r = run("--bogus", "cat")
    assert r.returncode == 2
    assert "flag provided but not defined: -bogus" in r.stderr


def test_bad_int_value_exit_2():
    r = run("--port=abc", "cat")
    assert r.returncode == 2
    assert "invalid value" in r.stderr


OUT_OF_RANGE = [
    ("port", "70000", "invalid port, must be 0 to 65535"),
    ("port", "-1", "invalid port, must be 0 to 65535"),
    ("redirport", "65536", "invalid port, must be 0 to 65535"),
    ("redirport", "-80", "invalid port, must be 0 to 65535"),
    ("maxforks", "2147483648", "must be at most 2147483647 (0 or less: unlimited)"),
    ("maxframesize", "18446744073709551615", "must be at most 9223372036854775807"),
    ("closems", "18446744073709551615", "must be 0 to 2147483647 milliseconds"),
    ("pingms", "9223372036854775807", "must be 0 to 2147483647 milliseconds"),
    ("workers", "0", "must be 1 to 256"),
    ("workers", "257", "must be 1 to 256"),
    ("deflatebits", "8", "must be 9 to 15"),
    ("deflatebits", "16", "must be 9 to 15"),
    ("deflatemem", "0", "must be 1 to 9"),
    ("deflatemem", "10", "must be 1 to 9"),
]


@pytest.mark.deliberate
@pytest.mark.parametrize("flag,value,why", OUT_OF_RANGE,
                         ids=[f"{f}={v}" for f, v, _ in OUT_OF_RANGE])
def test_numeric_flag_out_of_range_exit_2(flag, value, why):
    """Every numeric flag is range-checked as it is parsed: one line in Go's
    "invalid value" form naming the range, then the usage, exit 2, and no
    server. (--port=70000 used to listen on 4464, --port=-1 said "no such
    host"; websocketd fails only when it listens: "invalid port", exit 3.)"""
    r = run(f"--{flag}={value}", "--address=127.0.0.1", "cat")
    assert r.returncode == 2, r.stderr[:300]
    first = r.stderr.splitlines()[0]
    assert first == f'invalid value "{value}" for flag -{flag}: ' + first.split(": ", 1)[1]
    assert why in first, first
    assert r.stderr.endswith("    wsd --help\n")


@pytest.mark.deliberate
def test_numeric_flag_bounds_accepted(wsd):
    """The bounds themselves are accepted (the server runs)."""
    srv = wsd("/bin/cat", flags=["--maxforks=2147483647", "--maxframesize=9223372036854775807",
                                 "--pingms=2147483647", "--closems=0", "--workers=1",
                                 "--deflatebits=15", "--deflatemem=1", "--redirport=0"])

    async def go():
        async with connect(srv) as ws:
            await ws.send("x")
            return await ws.recv()
    assert arun(go()) == "x"


def test_no_args_exit_1():
    r = run()
    assert r.returncode == 1
    assert r.stdout.strip() == "Command line arguments are missing."


def test_missing_command_exit_1():
    r = run("--port=1", "nope")
    assert r.returncode == 1
    assert "Unable to locate specified COMMAND 'nope' in OS path." in r.stdout + r.stderr


@pytest.mark.deliberate
def test_command_without_execute_bit_is_reported(tmp_path):
    """A COMMAND that exists but has no execute bit is reported as such,
    not as "Unable to locate ... in OS path" (websocketd's words for every
    case); so is a directory given as COMMAND."""
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    r = run(script)
    assert r.returncode == 1
    assert r.stderr.startswith(f"COMMAND '{script}' is not executable (permission denied).\n")
    assert "Unable to locate" not in r.stderr
    assert r.stderr.endswith("    wsd --help\n")

    r = subprocess.run([str(WSD_BIN), "s.sh"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=3, text=True, env=wsd_env({"PATH": f"{tmp_path}:/usr/bin:/bin"}))
    assert r.returncode == 1
    assert r.stderr.startswith(f"COMMAND 's.sh' found in OS path as '{script}', but it is not "
                               "executable (permission denied).\n"), r.stderr

    r = run(tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(f"COMMAND '{tmp_path}' is a directory, not a program"), r.stderr


def test_bad_loglevel_exit_1():
    r = run("--loglevel=chatty", "cat")
    assert r.returncode == 1
    assert "Incorrect loglevel flag 'chatty'" in r.stdout


def test_port_in_use_exit_3():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        r = run(f"--port={s.getsockname()[1]}", "--address=127.0.0.1", *root_flags(), "cat")
    finally:
        s.close()
    assert r.returncode == 3
    assert "address already in use" in (r.stdout + r.stderr).lower()


@pytest.mark.parametrize("style", ["-port P", "--port P", "-port=P", "--port=P"])
def test_port_flag_spellings(wsd, style):
    def port_args(p):
        flag, _, rest = style.partition("=") if "=" in style else style.partition(" ")
        return [f"{flag}={p}"] if "=" in style else [flag, str(p)]
    srv = wsd(SCRIPTS / "count.sh", "1", port_args=port_args)

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, _, _ = arun(go())
    assert msgs == ["1"]


def test_flag_after_command_goes_to_command(wsd):
    srv = wsd("./args.sh", "--foo", "--port=1", cwd=SCRIPTS)

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, _, _ = arun(go())
    assert msgs == ["./args.sh", "--foo", "--port=1"]


def test_double_dash_ends_flags(wsd):
    srv = wsd("--", "./args.sh", "x", cwd=SCRIPTS)

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, _, _ = arun(go())
    assert msgs == ["./args.sh", "x"]


def test_bool_flag_bare_and_explicit(wsd):
    for flags in (["--binary"], ["--binary=true"], ["-binary=1"]):
        srv = wsd("/bin/cat", flags=flags)

        async def go():
            async with connect(srv) as ws:
                await ws.send(b"\x00\x01")
                return await ws.recv()
        assert arun(go()) == b"\x00\x01", flags


@pytest.mark.deliberate
@pytest.mark.parametrize("flag", ["--header", "--header-ws", "--header-http"])
def test_header_with_crlf_refused(flag):
    r = run(f"--port={free_port()}", "--address=127.0.0.1", f"{flag}=X: a\r\nb", "cat")
    assert r.returncode == 1


def test_make_install_stages_binary_and_man_page(tmp_path):
    """`make install DESTDIR=... PREFIX=/usr` puts the binary (stripped),
    the man page, the systemd units and the sample configuration where a
    user looks for them; the installed binary runs; `make uninstall`
    removes them (docs/packaging.md)."""
    import subprocess
    from conftest import REPO, IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's Makefile")
    dest = tmp_path / "stage"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr"], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wsd_bin = dest / "usr/bin/wsd"
    man = dest / "usr/share/man/man1/wsd.1"
    assert wsd_bin.is_file() and os.access(wsd_bin, os.X_OK)
    assert man.read_text().startswith(".TH") or ".TH WSD" in man.read_text()
    v = subprocess.run([str(wsd_bin), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and "wsd" in (v.stdout + v.stderr).lower()
    syms = subprocess.run(["readelf", "-S", "-W", str(wsd_bin)], capture_output=True, text=True)
    assert syms.returncode == 0 and ".symtab" not in syms.stdout, "not stripped"
    unit = dest / "usr/lib/systemd/system/wsd.service"
    conf = dest / "etc/wsd/wsd.conf"
    assert "ExecStart=/usr/bin/wsd " in unit.read_text()
    assert conf.read_text() == (REPO / "examples/wsd.conf").read_text()
    assert (dest / "var/log/wsd").is_dir()       # the sample's /logs route serves it
    r = subprocess.run(["make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/usr"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not wsd_bin.exists() and not man.exists()
    assert not unit.exists() and not conf.exists() and not (dest / "var/log/wsd").exists()
    # /usr/local: units under /usr/local/lib/systemd/system pointing at
    # /usr/local/bin/wsd; an edited configuration is neither replaced nor removed
    local = tmp_path / "local"
    (local / "usr/local/etc/wsd").mkdir(parents=True)
    (local / "usr/local/etc/wsd/wsd.conf").write_text("port = 1\n")
    for target in ("install", "uninstall"):
        r = subprocess.run(["make", "-s", target, f"DESTDIR={local}"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        if target == "install":
            u = (local / "usr/local/lib/systemd/system/wsd.service").read_text()
            assert "ExecStart=/usr/local/bin/wsd " in u and "/usr/bin/wsd" not in u
    assert (local / "usr/local/etc/wsd/wsd.conf").read_text() == "port = 1\n"
    assert not (local / "usr/local/bin/wsd").exists()
