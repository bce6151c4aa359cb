"""--metrics (#14.4): the Prometheus exposition of a real server, checked by
promtool and scraped by a real Prometheus; what is counted, by route, by
close code, by refused status and by cause; with --workers, the numbers of
every process summed; --shared's slow-client closes.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import (IS_WEBSOCKETD, RawClient, arun, children_of, connect, free_port,
                      is_alive, raw_request, recv_all, upgrade_headers, wait_until, write_prog)
from scrape import get, promtool_check, scrape, text, value

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #14 metrics")

ECHO = "#!/bin/sh\nwhile read -r l; do [ \"$l\" = bye ] && exit 3; echo \"$l\"; done\n"


def metrics_flags():
    port = free_port()
    return port, [f"--metrics=127.0.0.1:{port}"]


def wait_value(port, name, want, timeout=5.0, **labels):
    """Waits until the metric equals `want`; returns the last scrape."""
    last = {}

    def check():
        nonlocal last
        last = scrape(port)
        return value(last, name, **labels) == want
    assert wait_until(check, timeout), \
        f"{name}{labels} is {value(last, name, **labels)}, want {want}"
    return last


def test_exposition_passes_promtool_and_counts(wsd, tmp_path):
    mport, flags = metrics_flags()
    srv = wsd(write_prog(tmp_path / "echo.sh", ECHO), flags=flags)
    ok, out = promtool_check(text(mport))
    assert ok, out

    async def clients():
        async with connect(srv) as ws:                  # the client closes: 1000
            await ws.send("a")
            await ws.send("b")
            assert [await ws.recv(), await ws.recv()] == ["a", "b"]
            during = scrape(mport)
        async with connect(srv) as ws:                  # the program exits 3: 1011
            await ws.send("bye")
            msgs, code, _ = await recv_all(ws)
            assert code == 1011
        return during
    during = arun(clients())
    assert value(during, "wsd_websocket_connections", route="*") == 1
    assert value(during, "wsd_programs_running") == 1

    c = RawClient(srv.port)                             # the client closes with 4001
    c.handshake()
    c.send_close(4001)
    assert c.expect_close()[0] == 4001
    c.close()
    c = RawClient(srv.port)                             # no close frame at all: 1006
    c.handshake()
    c.close()
    # refused: a wrong version (426), no key (400)
    assert raw_request(srv.port, RawClient(srv.port).request_bytes(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "x" * 22 + "=="),
        ("Sec-WebSocket-Version", "12")])).status == 426
    assert raw_request(srv.port, RawClient(srv.port).request_bytes(headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13")])).status == 400
    assert raw_request(srv.port, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n").status == 404  # not an upgrade

    s = wait_value(mport, "wsd_programs_running", 0)
    s = wait_value(mport, "wsd_websocket_connections", 0, route="*")
    t = text(mport)
    ok, out = promtool_check(t)
    assert ok, out + t
    assert value(s, "wsd_websocket_connections_total", route="*") == 4
    assert value(s, "wsd_websocket_closes_total", code="1000") == 1
    assert value(s, "wsd_websocket_closes_total", code="1011") == 1
    assert value(s, "wsd_websocket_closes_total", code="4xxx") == 1
    assert value(s, "wsd_websocket_closes_total", code="1006") == 1
    assert value(s, "wsd_handshakes_refused_total", status="426") == 1
    assert value(s, "wsd_handshakes_refused_total", status="400") == 1
    assert value(s, "wsd_handshakes_refused_total", status="404") == 0   # plain HTTP
    assert value(s, "wsd_programs_started_total") == 4
    assert value(s, "wsd_received_messages_total") == 3
    assert value(s, "wsd_sent_messages_total") == 2
    assert value(s, "wsd_received_bytes_total") > 500
    assert value(s, "wsd_sent_bytes_total") > 500
    assert value(s, "wsd_handshake_duration_seconds_count") == 4
    assert value(s, "wsd_handshake_duration_seconds_bucket", le="+Inf") == 4
    assert value(s, "wsd_program_lifetime_seconds_count") == 4
    assert value(s, "wsd_client_connections_accepted_total") >= 9
    assert value(s, "wsd_workers") == 1
    assert value(s, "wsd_draining") == 0
    assert abs(value(s, "wsd_start_time_seconds") - time.time()) < 120
    build = [k for k in s if k[0] == "wsd_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"] and s[build[0]] == 1


def test_dir_routes_spawn_failures_and_refusals(wsd, tmp_path):
    d = tmp_path / "scripts"
    (d / "sub").mkdir(parents=True)
    write_prog(d / "a.sh", "#!/bin/sh\necho a\n")
    write_prog(d / "sub" / "b.sh", "#!/bin/sh\necho b\n")
    (d / "noexec.sh").write_text("#!/bin/sh\necho never\n")      # not executable: 500
    mport, flags = metrics_flags()
    srv = wsd(flags=flags + [f"--dir={d}", "--maxforks=1"])

    async def run(path):
        async with connect(srv, path) as ws:
            return await recv_all(ws)
    for path in ("/a.sh", "/a.sh/extra/info", "/sub/b.sh"):
        assert arun(run(path))[0] in (["a"], ["b"])
    c = RawClient(srv.port)
    c.send(c.request_bytes("/noexec.sh"))
    assert c.read_response().status == 500
    c.close()
    c = RawClient(srv.port)
    c.send(c.request_bytes("/missing.sh"))
    assert c.read_response().status == 404
    c.close()
    # --maxforks=1: one program held open, the next upgrade gets 429
    hold = write_prog(d / "hold.sh", "#!/bin/sh\necho up\nexec cat\n")
    assert hold
    held = RawClient(srv.port)
    held.handshake("/hold.sh")
    assert held.recv_text() == "up"
    c = RawClient(srv.port)
    c.send(c.request_bytes("/a.sh"))
    assert c.read_response().status == 429
    c.close()
    held.send_close(1000)
    held.expect_close()
    held.close()

    s = wait_value(mport, "wsd_programs_running", 0)
    assert value(s, "wsd_websocket_connections_total", route="/a.sh") == 2
    assert value(s, "wsd_websocket_connections_total", route="/sub/b.sh") == 1
    assert value(s, "wsd_websocket_connections_total", route="/hold.sh") == 1
    assert value(s, "wsd_program_start_failures_total", cause="exec") == 1
    assert value(s, "wsd_program_start_failures_total", cause="maxforks") == 1
    assert value(s, "wsd_handshakes_refused_total", status="500") == 1
    assert value(s, "wsd_handshakes_refused_total", status="404") == 1
    assert value(s, "wsd_handshakes_refused_total", status="429") == 1
    ok, out = promtool_check(text(mport))
    assert ok, out


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_route_names_are_bounded_and_escaped(wsd, tmp_path):
    """More scripts than route slots: the rest fold into "other"; a name
    with a quote, a backslash and non-ASCII is escaped (promtool agrees)."""
    d = tmp_path / "scripts"
    d.mkdir()
    for i in range(70):
        write_prog(d / f"s{i:02d}.sh", "#!/bin/sh\n")
    write_prog(d / 'q"b\\é.sh', "#!/bin/sh\n")
    mport, flags = metrics_flags()
    srv = wsd(flags=flags + [f"--dir={d}"])

    async def run_all():
        async with connect(srv, "/q%22b%5C%C3%A9.sh") as ws:
            await recv_all(ws)
        for i in range(70):
            async with connect(srv, f"/s{i:02d}.sh") as ws:
                await recv_all(ws)
    arun(run_all(), timeout=60)
    s = wait_value(mport, "wsd_programs_running", 0)
    routes = {dict(k[1])["route"]: v for k, v in s.items()
              if k[0] == "wsd_websocket_connections_total"}
    assert len(routes) == 64, len(routes)                   # 63 names + other
    assert sum(routes.values()) == 71
    assert routes["other"] == 71 - 63
    assert routes['/q\\"b\\\\é.sh'] == 1                 # as escaped in the text
    t = text(mport)
    assert 'route="/q\\"b\\\\é.sh"' in t
    ok, out = promtool_check(t)
    assert ok, out


@pytest.mark.timeout(90)   # its arun bound, and time to report
def test_workers_are_summed(wsd, tmp_path):
    """--workers=2: each scrape (either worker answers) counts the whole
    server's connections; a killed worker's counters stay, its open
    connections go."""
    mport, flags = metrics_flags()
    srv = wsd(write_prog(tmp_path / "echo.sh", ECHO), flags=flags + ["--workers=2"])

    async def many():
        for _ in range(20):
            async with connect(srv) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
    arun(many(), timeout=60)
    wait_value(mport, "wsd_programs_running", 0)
    seen = set()
    for _ in range(8):
        s = scrape(mport)
        assert value(s, "wsd_websocket_connections_total", route="*") == 20
        assert value(s, "wsd_received_messages_total") == 20
        assert value(s, "wsd_workers") == 2
        seen.add(value(s, "wsd_client_connections_accepted_total"))
    # the connections were spread over both workers (the kernel's choice):
    # per-worker numbers would differ between scrapes, sums do not
    workers = [p for p in children_of(srv.pid) if is_alive(p)]
    assert len(workers) == 2
    held = RawClient(srv.port)
    held.handshake()
    s = wait_value(mport, "wsd_websocket_connections", 1, route="*")
    # kill both workers in turn: the one holding `held` loses it
    for w in workers:
        os.kill(w, signal.SIGKILL)
        wait_until(lambda: w not in children_of(srv.pid), 5.0)
    held.close()
    assert wait_until(lambda: len([p for p in children_of(srv.pid) if is_alive(p)]) >= 2, 10)

    def settled():
        try:
            s = scrape(mport)
        except OSError:
            return None            # a worker still starting
        return s if value(s, "wsd_websocket_connections", route="*") == 0 else None
    s = wait_until(settled, 10.0)
    assert s, "a dead worker's open connections are still counted"
    assert value(s, "wsd_websocket_connections_total", route="*") == 21
    assert value(s, "wsd_client_connections") >= 1           # this scrape
    assert value(s, "wsd_programs_running") == 0
    srv.expect_exit = 0


def test_shared_slow_client_closes_are_counted(wsd, tmp_path):
    """--shared: a client that never reads is closed with 1008 at
    --sharedqueue: counted as a send-queue overflow and as close 1008.
    (Both clients reset while output still flows: under ASan this found
    the hub freed inside its own broadcast, when the last member's write
    failed — shared.c's `busy`.)"""
    prog = write_prog(tmp_path / "flood.py", "#!/usr/bin/python3\nimport sys\n"
                      "sys.stdin.readline()\n"
                      "for i in range(3000):\n    print(i, 'x' * 2000, flush=(i % 50 == 0))\n"
                      "sys.stdin.read()\n")
    mport, flags = metrics_flags()
    srv = wsd(prog, flags=flags + ["--shared", "--sharedqueue=65536"])
    slow = RawClient(srv.port, rcvbuf=4096)
    slow.handshake()
    reader = RawClient(srv.port)
    reader.handshake()
    reader.send_text("go")
    srv.wait_log(r"too slow .*closing with 1008", timeout=20)
    assert wait_until(lambda: value(scrape(mport), "wsd_send_queue_overflow_closes_total") >= 1,
                      10)
    slow.close()
    reader.close()
    assert wait_until(lambda: value(scrape(mport), "wsd_websocket_closes_total", code="1008") >= 1,
                      10)
    assert value(scrape(mport), "wsd_sent_messages_total") > 10
    ok, out = promtool_check(text(mport))
    assert ok, out


def test_metrics_listener_answers_only_metrics_and_health(wsd):
    mport, flags = metrics_flags()
    srv = wsd("/bin/cat", flags=flags + ["--devconsole"])
    st, h, body = get(mport, "/metrics", method="HEAD")
    assert st == 200 and body == b"" and int(h["Content-Length"]) > 1000
    assert h["Connection"] == "close"
    assert get(mport, "/metrics", method="POST")[0] == 405
    assert get(mport, "/")[0] == 404                          # no console there
    st, h, body = get(mport, "/health")
    assert st == 200 and body == b"ok\n" and h["Cache-Control"] == "no-store"
    c = RawClient(mport)                                      # and no WebSocket
    c.send(c.request_bytes("/"))
    assert c.read_response().status == 404
    c.close()
    assert get(srv.port, "/metrics")[0] == 200                # the console answers any path
    assert b"wsd_build_info" not in get(srv.port, "/metrics")[2]


def test_metrics_port_taken_is_a_clean_start_up_error(wsd, tmp_path):
    from conftest import run_wsd
    busy = __import__("socket").socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    p = busy.getsockname()[1]
    for extra in ([], ["--workers=2"]):
        rc, out = run_wsd("--port", free_port(), "--address=127.0.0.1",
                          f"--metrics=127.0.0.1:{p}", *extra, "/bin/cat")
        assert rc == 3, out
        assert f"127.0.0.1:{p}: bind: Address already in use" in out
    busy.close()


PROM_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: wsd
    static_configs:
      - targets: ['127.0.0.1:{port}']
"""


def test_a_real_prometheus_scrapes_it(wsd, tmp_path):
    """Debian's Prometheus, started on an ephemeral port with a 1 s scrape
    interval, scrapes wsd: the target is up and a query sees a connection."""
    prom = shutil.which("prometheus")
    assert prom, "prometheus is missing: scripts/install-deps --test installs it"
    mport, flags = metrics_flags()
    srv = wsd(write_prog(tmp_path / "echo.sh", ECHO), flags=flags)

    async def one():
        async with connect(srv, "/x") as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
    arun(one())
    (tmp_path / "prometheus.yml").write_text(PROM_CONFIG.replace("{port}", str(mport)))
    pport = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    p = subprocess.Popen([prom, f"--config.file={tmp_path / 'prometheus.yml'}",
                          f"--web.listen-address=127.0.0.1:{pport}",
                          f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=tmp_path, start_new_session=True)
    try:
        def query(q):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/query?query={q}",
                                            timeout=2) as r:
                    res = json.load(r)["data"]["result"]
            except OSError:
                return None
            return res or None
        res = wait_until(lambda: query("wsd_websocket_connections_total"), 60.0, 0.2)
        assert res, (tmp_path / "prometheus.log").read_text()[-3000:]
        assert res[0]["metric"]["route"] in ("*", "other")
        star = [r for r in res if r["metric"]["route"] == "*"]
        assert star and float(star[0]["value"][1]) == 1
        up = query("up")
        assert up and up[0]["value"][1] == "1" and up[0]["metric"]["job"] == "wsd"
        assert query("wsd_handshake_duration_seconds_count")[0]["value"][1] == "1"
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def test_access_refusals_count_and_health_needs_no_credentials(wsd, tmp_path):
    """--htpasswd: an upgrade without credentials (401) is a refused
    handshake; the health answers need no credentials (a load balancer has
    none); plain HTTP refusals are not handshakes."""
    ht = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-cbB", str(ht), "alice", "pw"], check=True, capture_output=True)
    mport, flags = metrics_flags()
    srv = wsd("/bin/cat", flags=flags + [f"--htpasswd={ht}", "--healthpath=/health"])
    c = RawClient(srv.port)
    c.send(c.request_bytes("/"))
    assert c.read_response().status == 401
    c.close()
    assert raw_request(srv.port, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n").status == 401
    assert get(srv.port, "/health")[:3:2] == (200, b"ok\n")
    s = scrape(mport)
    assert value(s, "wsd_handshakes_refused_total", status="401") == 1
