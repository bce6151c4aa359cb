"""--maxforks (spec 14) and a concurrency smoke test (spec 16)."""
import asyncio
import time

import pytest

from conftest import (RawClient, arun, connect, raw_request, recv_all, upgrade_headers, wait_gone,
                      wait_until)


def nofile_limited(tmp_path, limit):
    """An executable that starts build/wsd (WSD_BIN) with an open-files
    limit of `limit`, soft and hard: use it as any_server's binary."""
    from conftest import WSD_BIN
    wrap = tmp_path / f"wsd-nofile-{limit}"
    wrap.write_text(
        "#!/usr/bin/python3\n"
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))\n"
        f"os.execv({str(WSD_BIN)!r}, [{str(WSD_BIN)!r}] + sys.argv[1:])\n")
    wrap.chmod(0o755)
    return wrap


def upgrade_request(port):
    lines = ["GET / HTTP/1.1", f"Host: 127.0.0.1:{port}"] + \
        [f"{k}: {v}" for k, v in upgrade_headers()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_maxforks_1_second_connection_429(wsd):
    srv = wsd("/bin/cat", flags=["--maxforks=1"])
    c = RawClient(srv.port)
    c.handshake()
    c.send_text("one")
    assert c.recv_text() == "one"
    child = srv.wait_children(1)[0]
    r = raw_request(srv.port, upgrade_request(srv.port), timeout=2.0)
    assert r.status == 429
    assert r.body == b"429 Too Many Requests\n"
    # The first connection is unaffected.
    c.send_text("still")
    assert c.recv_text() == "still"
    c.send_close(1000)
    c.expect_close()
    c.expect_eof()
    assert wait_gone(child, 3.0)

    def try_again():
        c2 = RawClient(srv.port)
        c2.send(upgrade_request(srv.port))
        r2 = c2.read_response()
        if r2.status != 101:
            c2.close()
            return None
        return c2
    c2 = wait_until(try_again, 3.0, interval=0.05)
    assert c2, "no new connection accepted after the first one closed"


def test_maxforks_slot_freed_after_child_exit(wsd):
    from conftest import SCRIPTS
    srv = wsd(SCRIPTS / "count.sh", "1", flags=["--maxforks=1"])

    import websockets

    async def one():
        async with connect(srv) as ws:
            return (await recv_all(ws))[0]
    for _ in range(5):
        # Slots are freed once the child is reaped: retry briefly on 429.
        deadline = time.monotonic() + 3
        while True:
            try:
                assert arun(one()) == ["1"]
                break
            except websockets.InvalidStatusCode as e:
                assert e.status_code == 429
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


@pytest.mark.timeout(60)
def test_50_concurrent_clients_echo(wsd):
    srv = wsd("/bin/cat")

    async def client(i):
        async with connect(srv) as ws:
            got = []
            for j in range(20):
                msg = f"client {i} message {j} " + "x" * (i * 7 % 50)
                await ws.send(msg)
                got.append(await ws.recv())
            return got == [f"client {i} message {j} " + "x" * (i * 7 % 50) for j in range(20)]

    async def go():
        return await asyncio.gather(*[client(i) for i in range(50)])
    t0 = time.monotonic()
    results = arun(go(), timeout=40)
    assert all(results), f"{results.count(False)} clients got wrong echoes"
    assert time.monotonic() - t0 < 40
    srv.wait_no_children(5.0)


@pytest.mark.deliberate
def test_maxforks_default_follows_open_files_limit(any_server, tmp_path):
    """No --maxforks: wsd allows as many programs as its open-files limit can
    hold ((limit - 64) / 4: a socket and three pipes each), and the next
    connection gets a clean 429 rather than a 500 or a reset when a
    descriptor runs out. Hard limit 100 here: 9 programs."""
    from conftest import IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's default")
    wrap = nofile_limited(tmp_path, 100)
    srv = any_server(wrap, "/bin/cat")
    clients = []
    for i in range(9):
        c = RawClient(srv.port)
        c.handshake()
        c.send_text(f"m{i}")
        assert c.recv_text() == f"m{i}"
        clients.append(c)
    r = raw_request(srv.port, upgrade_request(srv.port), timeout=2.0)
    assert r.status == 429, (r.status, r.body)
    # every one of the nine still answers
    for i, c in enumerate(clients):
        c.send_text(f"again{i}")
        assert c.recv_text() == f"again{i}"
    for c in clients:
        c.send_close(1000)
        c.expect_close()


def _listeners_on(port):
    want = ":%04X" % port
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    p = line.split()
                    n += p[1].endswith(want) and p[3] == "0A"
        except OSError:
            pass
    return n


def test_maxforks_default_is_per_worker(any_server, tmp_path):
    """The default --maxforks comes from the open-files limit, which each
    --workers process has in full: with a hard limit of 100 each of two
    workers runs 9 programs (18 in all; a --maxforks given is still split).
    60 connections spread by SO_REUSEPORT fill both workers; every one past
    a worker's 9 gets 429."""
    from conftest import IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's --workers")
    wrap = nofile_limited(tmp_path, 100)
    srv = any_server(wrap, "/bin/cat", flags=["--workers=2"])
    wait_until(lambda: _listeners_on(srv.port) >= 2, 10.0)
    held, refused = [], 0
    for i in range(60):
        c = RawClient(srv.port)
        c.send(c.request_bytes("/", None, None))
        r = c.read_response(3.0)
        if r.status == 101:
            held.append(c)
        else:
            assert r.status == 429, (r.status, r.raw_head)
            refused += 1
            c.close()
    assert len(held) == 18 and refused == 42, (len(held), refused)
    for i, c in enumerate(held):
        c.send_text(f"m{i}")
        assert c.recv_text() == f"m{i}"
    for c in held:
        c.send_close(1000)
        c.expect_close()


def test_out_of_descriptors_is_503_not_500(any_server, tmp_path):
    """--maxforks=0 (unlimited) under a hard open-files limit of 100: once
    another program's pipes would eat the descriptors kept for handshakes,
    the request is answered 503 Service Unavailable at once (not 500, not a
    reset, not a wait), and the connections already open go on answering."""
    from conftest import IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's answer")
    wrap = nofile_limited(tmp_path, 100)
    srv = any_server(wrap, "/bin/cat", flags=["--maxforks=0"])
    held, statuses = [], []
    for i in range(40):
        c = RawClient(srv.port)
        c.send(c.request_bytes("/", None, None))
        r = c.read_response(3.0)
        statuses.append(r.status)
        if r.status == 101:
            held.append(c)
        else:
            assert r.status == 503, (r.status, r.raw_head)
            c.close()
    assert 8 <= len(held) < 40 and 503 in statuses, statuses
    assert statuses == [101] * len(held) + [503] * (40 - len(held)), statuses
    for i, c in enumerate(held):
        c.send_text(f"m{i}")
        assert c.recv_text() == f"m{i}"
    for c in held:
        c.send_close(1000)
        c.expect_close()


def test_burst_past_the_descriptor_limit_waits_then_gets_429(any_server, tmp_path):
    """A hard open-files limit of 100 (9 programs by default), 9 connections
    held, then 120 handshakes sent at once: more sockets than descriptors
    left. wsd stops accepting short of the limit (the clients wait in the
    kernel's backlog) instead of running accept into EMFILE, where libuv
    resets every waiting connection; as each refused one closes, the next is
    let in. Every one of the 120 gets a clean 429, the 9 keep answering."""
    import select
    import socket
    from conftest import IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's descriptor budget")
    wrap = nofile_limited(tmp_path, 100)
    srv = any_server(wrap, "/bin/cat")
    held = []
    for i in range(9):
        c = RawClient(srv.port)
        c.handshake()
        held.append(c)
    req = upgrade_request(srv.port)
    socks = []
    for i in range(120):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(req)
        socks.append(s)
    got = {}
    pending = {s.fileno(): s for s in socks}
    bufs = {fd: b"" for fd in pending}
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in r:
            s = pending[fd]
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = None
            if data:
                bufs[fd] += data
                if b"\r\n" not in bufs[fd]:
                    continue
            got[fd] = bufs[fd].split(b"\r\n", 1)[0] if data else b"reset/eof"
            del pending[fd]
            s.close()      # frees the server's socket: the next one is let in
    assert not pending, f"{len(pending)} never answered"
    statuses = sorted(set(got.values()))
    assert statuses == [b"HTTP/1.1 429 Too Many Requests"], (statuses, len(got))
    for i, c in enumerate(held):
        c.send_text(f"m{i}")
        assert c.recv_text() == f"m{i}"
    for c in held:
        c.send_close(1000)
        c.expect_close()


def test_tiny_open_files_limit_answers_503_not_silence(any_server, tmp_path):
    """An open-files limit of 15 leaves no room for a program's pipes next
    to what wsd itself holds: the connection is still accepted (wsd never
    stops accepting with no connection open) and answered 503, and the
    server keeps running."""
    from conftest import IS_WEBSOCKETD
    if IS_WEBSOCKETD:
        pytest.skip("wsd's descriptor budget")
    wrap = nofile_limited(tmp_path, 15)
    srv = any_server(wrap, "/bin/cat")
    for _ in range(3):
        r = raw_request(srv.port, upgrade_request(srv.port), timeout=3.0)
        assert r.status == 503, (r.status, r.body)
    assert srv.proc.poll() is None
