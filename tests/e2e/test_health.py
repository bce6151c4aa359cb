"""The health endpoint and the drain (#14.4): --healthpath on wsd's own
listeners, /health on the --metrics listener, 200 while wsd accepts and
503 while it drains (--gracems before the graceful shutdown). A real HAProxy
acting on it: test_proxy.py (the documented configuration).
"""
import asyncio
import signal
import time

import pytest

from conftest import (IS_WEBSOCKETD, RawClient, arun, children_of, connect, free_port,
                      is_alive, recv_all, wait_until, write_prog)
from scrape import get, scrape, value

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #14 health")


def test_healthpath_answers_200_and_nothing_else_changes(wsd):
    srv = wsd("/bin/cat", flags=["--healthpath=/health"])
    st, h, body = get(srv.port, "/health")
    assert (st, body) == (200, b"ok\n")
    assert h["Cache-Control"] == "no-store" and h["Connection"] == "close"
    st, h, body = get(srv.port, "/health", method="HEAD")
    assert (st, body) == (200, b"") and h["Content-Length"] == "3"
    assert get(srv.port, "/health", method="OPTIONS")[0] == 200   # HAProxy's default check
    assert get(srv.port, "/health?x=1")[0] == 200                 # the path decides
    assert get(srv.port, "/healthz")[0] == 404
    assert get(srv.port, "/")[0] == 404

    async def echo():
        async with connect(srv, "/other") as ws:
            await ws.send("x")
            return await ws.recv()
    assert arun(echo()) == "x"
    assert "HEALTH" not in srv.log()                              # DEBUG only


def test_grace_503_keeps_serving_then_shuts_down(wsd):
    """SIGTERM with --gracems: health turns 503 at once; existing
    connections go on and new ones are still accepted during the grace;
    then the graceful shutdown (close 1001) and exit 0."""
    mport = free_port()
    srv = wsd("/bin/cat", flags=["--healthpath=/health", "--gracems=2500",
                                 f"--metrics=127.0.0.1:{mport}"])
    old = RawClient(srv.port)
    old.handshake()
    t0 = time.monotonic()
    srv.kill(signal.SIGTERM)
    srv.wait_log(r"Received SIGTERM: health checks get 503 for 2500 ms \(--gracems\)")
    assert get(srv.port, "/health")[:3:2] == (503, b"draining\n")
    assert get(mport, "/health")[0] == 503
    assert value(scrape(mport), "wsd_draining") == 1
    old.send_text("still here")
    assert old.recv_text() == "still here"
    new = RawClient(srv.port)                       # still accepted
    new.handshake()
    new.send_text("new")
    assert new.recv_text() == "new"
    # then the shutdown: both get 1001
    for c in (old, new):
        code, reason, _ = c.expect_close(timeout=10)
        assert (code, reason) == (1001, "server shutting down")
        c.close()
    assert time.monotonic() - t0 >= 2.0            # not before the grace (a lower bound)
    assert srv.proc.wait(10) == 0
    srv.stopped_by_test = True


def test_second_signal_cuts_the_grace_short(wsd):
    srv = wsd("/bin/cat", flags=["--healthpath=/health", "--gracems=60000"])
    c = RawClient(srv.port)
    c.handshake()
    srv.kill(signal.SIGTERM)
    srv.wait_log(r"health checks get 503 for 60000 ms")
    assert get(srv.port, "/health")[0] == 503
    srv.kill(signal.SIGQUIT)
    srv.wait_log(r"Second SIGQUIT during --gracems: shutting down now")
    code, _, _ = c.expect_close(timeout=5)
    assert code == 1001
    c.close()
    assert srv.proc.wait(10) == 0
    srv.stopped_by_test = True


def test_without_gracems_the_shutdown_is_immediate(wsd):
    srv = wsd("/bin/cat", flags=["--healthpath=/health"])
    c = RawClient(srv.port)
    c.handshake()
    srv.kill(signal.SIGTERM)
    assert c.expect_close(timeout=5)[0] == 1001
    c.close()
    assert srv.proc.wait(10) == 0
    srv.stopped_by_test = True
    assert "--gracems" not in srv.log()


def test_workers_grace_together(wsd):
    """--workers=2: the supervisor forwards SIGTERM; every worker answers
    503 (any of them may take a check) and still serves."""
    mport = free_port()
    srv = wsd("/bin/cat", flags=["--workers=2", "--healthpath=/health", "--gracems=3000",
                                 f"--metrics=127.0.0.1:{mport}"])
    assert wait_until(lambda: len([p for p in children_of(srv.pid) if is_alive(p)]) == 2, 5)
    assert all(get(srv.port, "/health")[0] == 200 for _ in range(6))
    srv.kill(signal.SIGTERM)
    assert wait_until(lambda: get(srv.port, "/health")[0] == 503, 3)
    assert all(get(srv.port, "/health")[0] == 503 for _ in range(10))
    assert all(get(mport, "/health")[0] == 503 for _ in range(4))

    async def echo():
        async with connect(srv) as ws:
            await ws.send("y")
            return await ws.recv()
    assert arun(echo()) == "y"
    assert srv.proc.wait(15) == 0
    srv.stopped_by_test = True
