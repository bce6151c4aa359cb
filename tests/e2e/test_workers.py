"""--workers=N: N event-loop processes share the listeners (SO_REUSEPORT)."""
import asyncio
import os
import signal

import pytest
import websockets

from conftest import IS_WEBSOCKETD, arun, run_wsd, write_prog

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only (deliberate)")


def test_two_workers_serve_and_share_connections(wsd, tmp_path):
    # Each program reports its parent: the wsd worker that spawned it.
    prog = write_prog(tmp_path / "ppid.sh", "#!/bin/sh\necho \"$PPID\"\nread x\n")
    srv = wsd(prog, flags=["--workers=2"])

    async def one():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            return await ws.recv()

    async def many():
        parents = set()
        for _ in range(6):   # a few rounds: the kernel hashes by source port
            parents |= set(await asyncio.gather(*[one() for _ in range(20)]))
            if len(parents) >= 2:
                break
        return parents

    parents = arun(many())
    assert len(parents) == 2, f"connections reached only workers {parents}"
    assert str(srv.pid) not in parents, "the supervisor must not serve connections itself"


def test_workers_unique_ids(wsd, tmp_path):
    prog = write_prog(tmp_path / "id.sh", "#!/bin/sh\necho \"$UNIQUE_ID\"\n")
    srv = wsd(prog, flags=["--workers=2"])

    async def one():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/") as ws:
            return await ws.recv()

    async def many():
        return await asyncio.gather(*[one() for _ in range(40)])

    ids = arun(many())
    assert len(set(ids)) == len(ids), "UNIQUE_ID repeated across workers"


def test_workers_sigterm_stops_everything(wsd):
    srv = wsd("/bin/cat", flags=["--workers=3"])
    assert srv.stop(signal.SIGTERM, timeout=5.0) == 0


def test_workers_port_in_use_exit_3(wsd):
    srv = wsd("/bin/cat")
    st, out = run_wsd(f"--port={srv.port}", "--address=127.0.0.1", "--workers=2", "/bin/cat")
    assert st == 3, out
    assert "address already in use" in out.lower()
