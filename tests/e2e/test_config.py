"""--config=FILE, --check, routes and SIGHUP reloads (#14 item 1, and the
SIGHUP half of item 2): docs/config.md.

Every test starts the real wsd with a configuration file in its temp
directory; the Server fixture puts --port, --address and --closems on the
command line, which win over the file. Clients: python-websockets, raw
sockets, curl.
"""
import asyncio
import re
import signal
import subprocess
import time

import pytest
import websockets

from conftest import (CHILD, IS_WEBSOCKETD, RawClient, arun, connect, raw_request, recv_all,
                      run_wsd, upgrade_headers, wait_until, write_prog)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: --config (#14)")


def write_conf(tmp_path, text, name="wsd.conf"):
    p = tmp_path / name
    p.write_text(text)
    return p


def start(wsd, tmp_path, text, flags=(), cmd=()):
    conf = write_conf(tmp_path, text)
    srv = wsd(*cmd, flags=[f"--config={conf}", *flags])
    srv.conf = conf
    return srv


def reload(srv, text=None, expect="reloaded", timeout=10.0):
    """Writes the new text (if any), sends SIGHUP, waits for the outcome's
    log line (one more than before)."""
    rx = re.compile(r"Configuration reloaded" if expect == "reloaded"
                    else r"Configuration not reloaded")
    before = len(rx.findall(srv.log()))
    if text is not None:
        srv.conf.write_text(text)
    srv.kill(signal.SIGHUP)
    ok = wait_until(lambda: len(rx.findall(srv.log())) > before, timeout)
    assert ok, f"no '{rx.pattern}' in the log:\n{srv.log()[-3000:]}"


def http_get(srv, path, headers=()):
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in headers)
    r = raw_request(srv.port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    f"{hdrs}\r\n".encode())
    return r


def status_of(srv, path, **kw):
    async def go():
        try:
            async with connect(srv, path, **kw):
                return 101
        except websockets.InvalidStatusCode as e:
            return e.status_code
    return arun(go())


def first_message(srv, path="/", send=None, **kw):
    async def go():
        async with connect(srv, path, **kw) as ws:
            if send is not None:
                await ws.send(send)
            return await asyncio.wait_for(ws.recv(), 5)
    return arun(go())


def ws_env(srv, path):
    async def go():
        async with connect(srv, path) as ws:
            msgs, _, _ = await recv_all(ws)
        return dict(m.partition("=")[::2] for m in msgs)
    return arun(go())


# --------------------------------------------------------------------------
# Keys: one for each kind of flag, the command line over them

def test_every_flag_kind_as_a_key_and_the_command_line_wins(wsd, tmp_path):
    srv = start(wsd, tmp_path, f"""
# the command line's --port and --address win over these
port = 1
address = 192.0.2.1
binary = true
maxframesize = 0x80
maxforks = 1
header = X-One: 1
header = X-Two: 2
passenv = PATH,CONF_VAR
command = {CHILD}
arg = echo
""", flags=["--header=X-Cli: 3"])
    # uint (0x: Go syntax) and bool: a binary echo, and 1009 past 128 bytes
    got = first_message(srv, "/", send=b"\x00\x01")
    assert got == b"\x00\x01"
    srv.wait_no_children()          # maxforks = 1: its slot free again

    async def big():
        async with connect(srv, "/") as ws:
            await ws.send(b"x" * 200)
            msgs, code, _ = await recv_all(ws)
            return code
    assert arun(big()) == 1009
    srv.wait_no_children()
    # list: the command line's --header replaces the file's headers
    c = RawClient(srv.port)
    c.send(c.request_bytes(headers=upgrade_headers()))
    r = c.read_response()
    c.close()
    assert r.status == 101
    assert r.header("X-Cli") == "3" and r.header("X-One") is None
    srv.wait_no_children()

    # int: maxforks = 1: a second program at once is refused
    async def two():
        async with connect(srv, "/") as ws:
            await ws.send(b"a")
            await ws.recv()
            try:
                async with connect(srv, "/"):
                    return 101
            except websockets.InvalidStatusCode as e:
                return e.status_code
    assert arun(two()) == 429


def test_header_list_and_strings_from_the_file(wsd, tmp_path):
    prog = write_prog(tmp_path / "env.sh", "#!/bin/sh\nenv\n")
    srv = start(wsd, tmp_path, f"""
header = X-One: 1
header = X-Two: 2
subprotocols = chat, v2
origin = localhost, 127.0.0.1
command = {prog}
""")
    c = RawClient(srv.port)
    c.send(c.request_bytes(headers=upgrade_headers(extra=[("Sec-WebSocket-Protocol", "v2"),
                                                          ("Origin", "http://127.0.0.1")])))
    r = c.read_response()
    c.close()
    assert r.status == 101
    assert r.header("X-One") == "1" and r.header("X-Two") == "2"
    assert r.header("Sec-WebSocket-Protocol") == "v2"
    assert status_of(srv, "/", origin="http://evil.example") == 403


def test_command_line_command_wins_over_the_file(wsd, tmp_path):
    a = write_prog(tmp_path / "a.sh", "#!/bin/sh\necho file\n")
    b = write_prog(tmp_path / "b.sh", "#!/bin/sh\necho cli\n")
    srv = start(wsd, tmp_path, f"command = {a}\n", cmd=[b])
    assert first_message(srv) == "cli"


# --------------------------------------------------------------------------
# --check and problems: FILE:LINE: key: problem

def test_check_good_file(tmp_path):
    conf = write_conf(tmp_path, f"port = 8080\n[route /t]\ncommand = date\n"
                                f"[route /logs]\nstaticdir = {tmp_path}\n")
    st, out = run_wsd(f"--config={conf}", "--check")
    assert st == 0, out
    assert out == f"{conf}: configuration OK; routes: /t, /logs\n"


@pytest.mark.parametrize("text, line, msg", [
    ("port = abc\n", 1, 'port: invalid value "abc": parse error'),
    ("command = cat\n\nbinary = maybe\n", 3, 'binary: invalid boolean value "maybe": true or false'),
    ("command = cat\nmaxframesize = -1\n", 2, 'maxframesize: invalid value "-1": parse error'),
    ("command = cat\nworkers = 0\n", 2, 'workers: invalid value "0": must be 1 to 256'),
    ("command = cat\nportt = 1\n", 2, "portt: unknown key"),
    ("command = cat\n[route /x]\nworkers = 2\n", 3,
     "workers: a setting of the whole server, not of a route"),
    ("command = cat\n[route /x]\ncommand = no-such-program-here\n", 3,
     "command: Unable to locate specified COMMAND 'no-such-program-here'"),
    ("command = cat\n[rout /x]\nbinary = true\n", 2, "unknown section [rout /x]"),
    ("command = cat\njunk\n", 2, "not a `key = value`"),
    ("command = cat\nport = 1\nport = 2\n", 3, "port: given twice (first on line 2)"),
    ("[route /x]\ncommand = cat\nlossless = true\npassstderr = true\n", 4,
     "passstderr: wsd: --lossless cannot be combined with --passstderr"),
], ids=["int", "bool", "uint", "range", "unknown", "server-only", "no-program", "section",
        "syntax", "twice", "combination"])
def test_check_reports_file_line_and_key(tmp_path, text, line, msg):
    conf = write_conf(tmp_path, text)
    st, out = run_wsd(f"--config={conf}", "--check")
    assert st == 1, out
    assert out.startswith(f"{conf}:{line}: {msg}"), out
    # and without --check the server does not start, with the same words
    st, out2 = run_wsd(f"--config={conf}", "--port=0", timeout=5)
    assert st == 1 and out2.startswith(f"{conf}:{line}: {msg}"), out2


def test_missing_config_file(tmp_path):
    st, out = run_wsd(f"--config={tmp_path}/none.conf", "--check")
    assert st == 1
    assert "none.conf: cannot read the configuration file: No such file or directory" in out


# --------------------------------------------------------------------------
# Routes

def test_three_routes_shared_program_static_dir(wsd, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "app.log").write_text("line 1\n")
    (tmp_path / "www" / "index.html").write_text("<p>logs</p>\n")
    tick = write_prog(tmp_path / "time.sh", "#!/bin/sh\necho \"time $SCRIPT_NAME $PATH_INFO\"\n")
    srv = start(wsd, tmp_path, f"""
header = X-Server: wsd
[route /chat]
command = {CHILD}
arg = echo
shared = true
[route /time]
command = {tick}
[route /logs]
staticdir = {tmp_path}/www
header = X-Route: logs
""")
    srv.wait_log(r"Route /chat +: program .* \(shared\)")
    # /time: its own program, SCRIPT_NAME the route, PATH_INFO what follows
    assert first_message(srv, "/time") == "time /time "
    assert first_message(srv, "/time/x/y") == "time /time /x/y"

    # /chat: one program for every client: what one says, all hear
    async def chat():
        async with connect(srv, "/chat") as a, connect(srv, "/chat") as b:
            await asyncio.sleep(0.2)      # both members before the first line
            await a.send("hello from a")
            return await asyncio.wait_for(a.recv(), 5), await asyncio.wait_for(b.recv(), 5)
    assert arun(chat()) == ("hello from a", "hello from a")
    assert len(re.findall(r"Shared program started", srv.log())) == 1

    # /logs: static files, its own header list
    r = http_get(srv, "/logs/app.log")
    assert r.status == 200 and r.body == b"line 1\n"
    assert r.header("X-Route") == "logs" and r.header("X-Server") is None
    r = http_get(srv, "/logs")
    assert r.status == 301 and r.header("Location") == "logs/"
    r = http_get(srv, "/logs/")
    assert r.status == 200 and r.body == b"<p>logs</p>\n"
    assert status_of(srv, "/logs/app.log") != 101   # no program there (the file, as --staticdir)
    # not a route: the server's own (nothing): 404
    assert http_get(srv, "/other").status == 404
    assert status_of(srv, "/chatroom") == 404
    assert http_get(srv, "/time").status == 404      # no static files at /time


def test_routes_beside_dir_and_route_modes(wsd, tmp_path):
    d = tmp_path / "scripts"
    d.mkdir()
    write_prog(d / "hi.sh", "#!/bin/sh\necho \"dir $SCRIPT_NAME\"\n")
    write_prog(d / "env.sh", "#!/bin/sh\necho \"$SCRIPT_NAME|$PATH_INFO\"\n")
    srv = start(wsd, tmp_path, f"""
dir = {d}
[route /bin]
command = {CHILD}
arg = echo
binary = true
[route /lossless]
command = {CHILD}
arg = echo
lossless = true
[route /scripts]
dir = {d}
""")
    assert first_message(srv, "/hi.sh") == "dir /hi.sh"               # --dir, no route
    assert first_message(srv, "/bin", send=b"\x01\x02") == b"\x01\x02"   # binary route
    # lossless: the program sees records; echo sends them back as they are
    assert first_message(srv, "/lossless", send="ab") == "ab"
    assert first_message(srv, "/scripts/env.sh/more") == "/scripts/env.sh|/more"


def test_route_options_origin_and_limits(wsd, tmp_path):
    srv = start(wsd, tmp_path, f"""
command = {CHILD}
arg = echo
maxframesize = 100
[route /strict]
command = {CHILD}
arg = echo
origin = good.example
maxframesize = 10
[route /loose]
command = {CHILD}
arg = echo
maxframesize = 0
""")
    assert status_of(srv, "/strict", origin="http://bad.example") == 403
    assert status_of(srv, "/strict", origin="http://good.example") == 101
    assert status_of(srv, "/", origin="http://bad.example") == 101

    async def send(path, n):
        async with connect(srv, path, origin="http://good.example") as ws:
            await ws.send("x" * n)
            try:
                return len(await asyncio.wait_for(ws.recv(), 5))
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else 1006
    assert arun(send("/strict", 50)) == 1009
    assert arun(send("/", 50)) == 50
    assert arun(send("/", 150)) == 1009
    assert arun(send("/loose", 100000)) == 100000


def test_route_with_its_own_htpasswd(wsd, tmp_path):
    import base64
    pw = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-c", "-b", "-B", str(pw), "alice", "secret"], check=True,
                   capture_output=True)
    srv = start(wsd, tmp_path, f"""
command = {CHILD}
arg = echo
[route /private]
command = {CHILD}
arg = echo
htpasswd = {pw}
authrealm = Private
""")
    assert status_of(srv, "/") == 101
    assert status_of(srv, "/private") == 401
    r = http_get(srv, "/private")
    assert r.status == 401 and 'realm="Private"' in r.header("WWW-Authenticate")
    auth = "Basic " + base64.b64encode(b"alice:secret").decode()
    assert status_of(srv, "/private", extra_headers={"Authorization": auth}) == 101


# --------------------------------------------------------------------------
# SIGHUP

V1 = "#!/bin/sh\nwhile read l; do echo \"{v} $l\"; done\n"


def test_reload_adds_changes_and_removes_routes(wsd, tmp_path):
    a1 = write_prog(tmp_path / "a1.sh", V1.format(v="a1"))
    a2 = write_prog(tmp_path / "a2.sh", V1.format(v="a2"))
    gone = write_prog(tmp_path / "b.sh", V1.format(v="b"))
    new = write_prog(tmp_path / "c.sh", V1.format(v="c"))
    srv = start(wsd, tmp_path, f"""
[route /a]
command = {a1}
maxframesize = 1000
[route /b]
command = {gone}
""")

    async def scenario():
        old_a = await connect(srv, "/a").__aenter__()
        old_b = await connect(srv, "/b").__aenter__()
        await old_a.send("x")
        assert await old_a.recv() == "a1 x"
        # /a gets another program and limits, /b goes, /c comes
        await asyncio.get_running_loop().run_in_executor(None, reload, srv, f"""
[route /a]
command = {a2}
maxframesize = 10
binary = true
[route /c]
command = {new}
""")
        # the open connections keep their program and options
        await old_a.send("y" * 100)          # over the new limit, within the old one
        assert await old_a.recv() == "a1 " + "y" * 100
        await old_b.send("z")
        assert await old_b.recv() == "b z"
        # new connections: the new routes
        async with connect(srv, "/a") as ws:
            await ws.send("q")
            assert await ws.recv() == b"a2 q\n"    # binary now: the raw output
        async with connect(srv, "/c") as ws:
            await ws.send("q")
            assert await ws.recv() == "c q"
        try:
            async with connect(srv, "/b"):
                raise AssertionError("/b still routed")
        except websockets.InvalidStatusCode as e:
            assert e.status_code == 404
        await old_a.close()
        await old_b.close()
    arun(scenario(), timeout=30)
    srv.wait_log(r"Configuration reloaded from .*wsd\.conf \(2 routes, generation 2\)")


def test_bad_reload_is_logged_and_changes_nothing(wsd, tmp_path):
    a = write_prog(tmp_path / "a.sh", V1.format(v="a"))
    good = f"[route /a]\ncommand = {a}\n"
    srv = start(wsd, tmp_path, good)
    reload(srv, good + f"[route /b]\ncommand = {a}\nbogus = 1\n", expect="not reloaded")
    srv.wait_log(r"ERROR .*Configuration not reloaded: .*wsd\.conf:5: bogus: unknown key")
    assert status_of(srv, "/b") == 404 and first_message(srv, "/a", send="1") == "a 1"
    reload(srv, "unixsocket = /tmp/x.sock\n" + good, expect="not reloaded")
    srv.wait_log(r"Configuration not reloaded: .*wsd\.conf: unixsocket: a change that takes "
                 r"a restart")
    srv.conf.unlink()
    reload(srv, expect="not reloaded")
    srv.wait_log(r"Configuration not reloaded: .*cannot read the configuration file")
    assert first_message(srv, "/a", send="2") == "a 2"
    # a good one afterwards still applies
    reload(srv, f"[route /z]\ncommand = {a}\n")
    assert status_of(srv, "/a") == 404 and first_message(srv, "/z", send="3") == "a 3"


def test_sighup_without_config_changes_nothing(wsd):
    srv = wsd(str(CHILD), "echo")
    srv.kill(signal.SIGHUP)
    srv.wait_log(r"Received SIGHUP: nothing to reload")
    assert first_message(srv, "/", send="x") == "x"


def test_reload_shared_route_keeps_members_and_new_program_for_new_clients(wsd, tmp_path):
    srv = start(wsd, tmp_path, f"[route /chat]\ncommand = {CHILD}\narg = echo\nshared = true\n")

    async def scenario():
        old = await connect(srv, "/chat").__aenter__()
        await asyncio.sleep(0.2)
        await old.send("one")
        assert await old.recv() == "one"
        # the same program, an option it does not depend on: the same hub
        await asyncio.get_running_loop().run_in_executor(
            None, reload, srv, f"[route /chat]\ncommand = {CHILD}\narg = echo\nshared = true\n"
                               f"sharedqueue = 65536\n")
        async with connect(srv, "/chat") as same:
            await asyncio.sleep(0.2)
            await same.send("two")
            assert await same.recv() == "two"
            assert await old.recv() == "two"      # one program for both
        # another program: new clients get it, the old member keeps its own
        await asyncio.get_running_loop().run_in_executor(
            None, reload, srv, f"[route /chat]\ncommand = {CHILD}\narg = echo\nshared = true\n"
                               f"binary = true\n")
        async with connect(srv, "/chat") as new:
            await asyncio.sleep(0.2)
            await new.send(b"three")
            assert await new.recv() == b"three"
            await old.send("four")
            assert await old.recv() == "four"
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(new.recv(), 0.5)   # not the old program's output
        await old.close()
    arun(scenario(), timeout=30)
    assert len(re.findall(r"Shared program started", srv.log())) == 2


def test_reload_sharedalways_starts_new_and_retires_removed(wsd, tmp_path):
    tick = f"command = {CHILD}\narg = no-read\nsharedalways = true\n"
    srv = start(wsd, tmp_path, f"[route /one]\n{tick}")
    srv.wait_log(r"Shared program started")
    one = [p for p in srv.children()]
    assert len(one) == 1
    reload(srv, f"[route /two]\n{tick}")
    # /two's program starts at once; /one's has no client: it ends
    ok = wait_until(lambda: len(srv.children()) == 1 and srv.children() != one, 5)
    assert ok, f"children {srv.children()} (before {one})"
    assert status_of(srv, "/one") == 404
    assert first_message(srv, "/two").startswith("tick ")


def test_reload_with_workers_and_a_shared_route(wsd, tmp_path):
    srv = start(wsd, tmp_path, f"[route /e]\ncommand = {CHILD}\narg = echo\n",
                flags=["--workers=2"])
    reload(srv, f"[route /e]\ncommand = {CHILD}\narg = echo\n"
                f"[route /chat]\ncommand = {CHILD}\narg = echo\nshared = true\n")
    # every worker and the hub process took it: many connections, all routed
    assert wait_until(lambda: len(re.findall(r"Configuration reloaded", srv.log())) >= 2, 5)

    async def many():
        async def one(i):
            async with connect(srv, "/chat") as ws:
                await ws.send(f"m{i}")
                got = set()
                while f"m{i}" not in got:
                    got.add(await asyncio.wait_for(ws.recv(), 5))
            return True
        return await asyncio.gather(*[one(i) for i in range(12)])
    assert all(arun(many(), timeout=30))
    assert len(re.findall(r"Shared program started", srv.log())) >= 1
    assert first_message(srv, "/e", send="x") == "x"
    # a bad file: the supervisor says so once, the workers keep theirs
    reload(srv, "port = x\n", expect="not reloaded")
    assert first_message(srv, "/chat", send="y") == "y"


# --------------------------------------------------------------------------
# Reloads under load

@pytest.mark.timeout(90)
@pytest.mark.parametrize("workers", [1, 2])
def test_reload_under_load_no_failed_handshake_no_reset(wsd, tmp_path, workers):
    base = f"""
[route /echo]
command = {CHILD}
arg = echo
[route /tick]
command = {CHILD}
arg = no-read
[route /feed]
command = {CHILD}
arg = no-read
shared = true
"""
    variants = [base, base + f"[route /extra]\ncommand = {CHILD}\narg = echo\n",
                base.replace("[route /echo]", "[route /echo]\nheader = X-V: 2")]
    srv = start(wsd, tmp_path, base, flags=[f"--workers={workers}"])
    stats = {"cycles": 0, "failed": [], "reloads": 0}
    stop = None

    async def streamer(path):
        """A long-lived connection: ticks arrive in order, it stays open."""
        ws = await connect(srv, path).__aenter__()
        last = None
        try:
            while not stop.is_set():
                try:
                    m = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                n = int(m.split()[1])
                if path == "/tick" and last is not None and n != last + 1:
                    stats["failed"].append(f"{path}: tick {n} after {last}")
                last = n
            if last is None:
                stats["failed"].append(f"{path}: nothing received")
        except websockets.ConnectionClosed as e:
            stats["failed"].append(f"{path}: closed {e}")
        finally:
            await ws.close()

    async def cycler(k):
        for i in range(400):
            if stop.is_set():
                return
            try:
                async with connect(srv, "/echo") as ws:
                    await ws.send(f"c{k}-{i}")
                    got = await asyncio.wait_for(ws.recv(), 5)
                    if got != f"c{k}-{i}":
                        stats["failed"].append(f"echo {got!r}")
                stats["cycles"] += 1
            except Exception as e:     # a refused handshake, a reset, a timeout
                stats["failed"].append(f"cycle: {type(e).__name__}: {e}")

    async def reloader():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.5)
        for i in range(5):
            await loop.run_in_executor(None, reload, srv, variants[(i + 1) % len(variants)])
            stats["reloads"] += 1
            await asyncio.sleep(0.3)
        stop.set()

    async def main():
        nonlocal stop
        stop = asyncio.Event()
        streams = [asyncio.create_task(streamer("/tick" if i % 2 else "/feed"))
                   for i in range(20)]
        await asyncio.sleep(0.3)
        cyclers = [asyncio.create_task(cycler(k)) for k in range(4)]
        await reloader()
        await asyncio.gather(*cyclers, *streams)
    arun(main(), timeout=80)
    assert stats["reloads"] == 5
    assert stats["failed"] == [], stats["failed"][:10]
    assert stats["cycles"] >= 20, stats
    assert "Configuration not reloaded" not in srv.log()


# --------------------------------------------------------------------------
# The sample shipped as /etc/wsd/wsd.conf

def test_the_sample_configuration_works(wsd, tmp_path):
    from conftest import REPO
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("started\n")
    text = (REPO / "examples" / "wsd.conf").read_text().replace("/var/log/wsd",
                                                                 str(tmp_path / "logs"))
    conf = write_conf(tmp_path, text, "sample.conf")
    st, out = run_wsd(f"--config={conf}", "--check")
    assert st == 0 and out.endswith("configuration OK; routes: /chat, /time, /logs\n"), out
    srv = start(wsd, tmp_path, text)
    assert re.match(r"\d{4}-\d\d-\d\dT", first_message(srv, "/time"))
    assert http_get(srv, "/logs/app.log").body == b"started\n"

    async def chat():
        async with connect(srv, "/chat") as a, connect(srv, "/chat") as b:
            await asyncio.sleep(0.2)
            await b.send("hi all")
            return await asyncio.wait_for(a.recv(), 5)
    assert arun(chat()) == "hi all"


def test_shared_route_refused_by_maxforks_then_clean_exit(wsd, tmp_path):
    """A hub made for a handshake that is then refused (429) has no member;
    it is freed at exit without trouble."""
    srv = start(wsd, tmp_path, f"""
maxforks = 1
[route /busy]
command = {CHILD}
arg = no-read
[route /room]
command = {CHILD}
arg = echo
shared = true
""")

    async def go():
        async with connect(srv, "/busy") as ws:
            await ws.recv()
            try:
                async with connect(srv, "/room"):
                    return 101
            except websockets.InvalidStatusCode as e:
                return e.status_code
    assert arun(go()) == 429
    srv.wait_no_children()
    assert srv.stop() == 0


def test_route_pty_and_passenv(wsd, tmp_path):
    env = write_prog(tmp_path / "env.sh", "#!/bin/sh\necho \"A=$ROUTE_A B=$ROUTE_B\"\n")
    conf = write_conf(tmp_path, f"""
passenv = PATH,ROUTE_A
[route /a]
command = {env}
[route /b]
command = {env}
passenv = PATH,ROUTE_B
[route /term]
command = /bin/sh
pty = true
""")
    srv = wsd(flags=[f"--config={conf}"], env={"ROUTE_A": "1", "ROUTE_B": "2"})
    assert first_message(srv, "/a") == "A=1 B="
    assert first_message(srv, "/b") == "A= B=2"

    async def term():
        async with connect(srv, "/term") as ws:
            await ws.send(b"echo $((6*7))\n")
            out = b""
            while b"42" not in out:
                out += await asyncio.wait_for(ws.recv(), 5)
            return out
    assert b"42" in arun(term())


def test_reload_adds_a_login_to_a_route(wsd, tmp_path):
    pw = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-c", "-b", "-B", str(pw), "bob", "pw"], check=True,
                   capture_output=True)
    route = f"[route /r]\ncommand = {CHILD}\narg = echo\n"
    srv = start(wsd, tmp_path, route)
    assert status_of(srv, "/r") == 101
    reload(srv, route + f"htpasswd = {tmp_path}/missing\n", expect="not reloaded")
    srv.wait_log(r"Configuration not reloaded: --htpasswd=.*missing: No such file")
    assert status_of(srv, "/r") == 101            # nothing changed
    reload(srv, route + f"htpasswd = {pw}\n")
    assert status_of(srv, "/r") == 401
    reload(srv, route)                             # and off again
    assert status_of(srv, "/r") == 101
