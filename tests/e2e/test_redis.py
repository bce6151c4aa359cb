"""--redis: one shared program, its clients on edges anywhere (docs/redis.md).

Every test starts its own redis-server (Debian's, in the foreground, on an
ephemeral 127.0.0.1 port, no persistence), one wsd that runs the program
(--shared --redis) and edges (--sharededge=N --redis); the HAProxy ones
take their configuration from docs/operations.md (round-robin over the
edges). Real clients (python-websockets) on every edge: every message in
order; addressed mode across edges (private messages, the program closing
a client on another edge, join and leave records with ids unique across
edges); an edge killed loses only its clients; Redis killed and restarted,
and the program's wsd restarted, while clients stay connected; bad input
(Redis unreachable at start-up, a URL that does not parse, garbage and
oversized payloads published on the channels by something else).
"""
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (IS_WEBSOCKETD, arun, connect, is_alive, recv_all, run_wsd, wait_until,
                      write_prog)
import proxies
from proxies import doc_block, free_port, replace, runtime_dir
from test_shared import CHAT, GO_LINES, collect_until

pytestmark = [
    pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: --redis"),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server not installed"),
]

PY = "#!/usr/bin/python3\nimport sys, os, time\n"

# Prints "<n>" every 20 ms for ever (n from 0), and echoes stdin lines as
# "echo <line>": a live feed whose order and gaps a client can check.
TICKER = PY + """
import threading
def echo():
    for line in sys.stdin:
        sys.stdout.write("echo " + line)
        sys.stdout.flush()
    os._exit(0)
threading.Thread(target=echo, daemon=True).start()
n = 0
while True:
    sys.stdout.write("%d\\n" % n)
    sys.stdout.flush()
    n += 1
    time.sleep(0.02)
"""


class Redis:
    """A redis-server of the test's own, in the foreground, on `port`."""

    def __init__(self, tmp, port=None):
        self.port = port or free_port()
        self.dir = tmp / f"redis-{self.port}"
        self.dir.mkdir(exist_ok=True)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        assert wait_until(lambda: self.pong(), 10), "redis-server did not start"

    def pong(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
        except OSError:
            return False
        s.close()
        return self.cli("PING").strip() == "PONG"

    def cli(self, *args, stdin=None):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], input=stdin,
                           capture_output=True, timeout=20)
        return r.stdout.decode("utf-8", "replace")

    def publish(self, channel, payload):
        """PUBLISH channel payload (bytes, any size, through redis-cli -x)."""
        return self.cli("-x", "PUBLISH", channel, stdin=payload)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.log.close()

    def url(self):
        return f"redis://127.0.0.1:{self.port}"


@pytest.fixture
def redis(tmp_path):
    servers = []

    def start(port=None):
        r = Redis(tmp_path, port)
        servers.append(r)
        return r
    yield start
    for r in servers:
        r.kill()


class Cluster:
    """The program's wsd and `edges` edges on one Redis; clients connect to
    edge i with url(i)."""

    def __init__(self, wsd, redis_url, cmd, edges=3, flags=(), edge_flags=(), origin_flags=()):
        self.wsd = wsd
        self.redis_url = redis_url
        self.cmd = [str(c) for c in cmd]
        self.flags = list(flags)
        self.edge_flags = list(edge_flags)
        self.origin = self.start_origin(origin_flags)
        self.edges = [self.start_edge(i + 1) for i in range(edges)]
        for e in self.edges:
            e.wait_log(r"Redis link up", timeout=10)
        self.origin.wait_log(r"Redis link up", timeout=10)
        for i in range(len(self.edges)):
            self.origin.wait_log(rf"Edge {i + 1} \(worker 0\) is here", timeout=10)

    def start_origin(self, extra=()):
        return self.wsd(*self.cmd, flags=["--shared", f"--redis={self.redis_url}",
                                          *self.flags, *extra])

    def start_edge(self, n, extra=()):
        return self.wsd(*self.cmd, flags=[f"--sharededge={n}", f"--redis={self.redis_url}",
                                          *self.flags, *self.edge_flags, *extra])

    def url(self, i, path="/"):
        return self.edges[i].url(path)

    def all_logs(self):
        return "\n".join(f"--- {s.stdout_path.name}\n{s.log()[-3000:]}"
                         for s in [self.origin] + self.edges)


def haproxy_over(tmp, ports):
    """HAProxy from docs/operations.md, round-robin over 127.0.0.1:ports."""
    d = runtime_dir()
    text = doc_block("haproxy", "haproxy: round-robin over three wsd edges")
    port = free_port()
    text = replace(text, "bind :8000", f"bind 127.0.0.1:{port}")
    for i, p in enumerate(ports):
        text = replace(text, f"10.0.0.{i + 1}:8081", f"127.0.0.1:{p}")
    return proxies.start_haproxy(d, text=text, port=port), d


def edge_of(cid):
    return int(cid) % 1024


async def recv_json_until(ws, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        m = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        if pred(m):
            return m


# ----------------------------------------------------------------------------

def test_every_client_on_every_edge_gets_every_message_in_order(wsd, redis, tmp_path):
    """Three edges behind HAProxy (docs/operations.md), 30 clients landing on
    all of them round-robin: each gets all 500 lines, in order, once."""
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "go.py", GO_LINES), "500"])
    hap, d = haproxy_over(tmp_path, [e.port for e in c.edges])
    try:
        async def main():
            clients = [await connect(f"ws://127.0.0.1:{hap.port}/") for _ in range(30)]
            await clients[4].send("go")
            got = await asyncio.gather(*(collect_until(w, "end") for w in clients))
            for w in clients:
                await w.close()
            return got

        got = arun(main(), timeout=60)
        want = ["%d " % i for i in range(500)] + ["end"]
        assert all(g == want for g in got), c.all_logs()
        per_edge = [len(re.findall(r"\| CONNECT", e.log())) for e in c.edges]
        assert all(n >= 5 for n in per_edge), f"clients per edge: {per_edge}"
        assert len(re.findall(r"Shared program started", c.origin.log())) == 1
        assert not any("payloads on" in e.log() and "missed" in e.log() for e in c.edges)
    finally:
        hap.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_addressed_mode_across_edges(wsd, redis, tmp_path):
    """--lossless on every wsd: the program sees a join for each client on
    each edge, ids unique across edges (≡ the edge's number mod 1024); a
    private message reaches a client on another edge; the program closes a
    client on another edge; leaves with their codes."""
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "chat.py", CHAT)], flags=["--lossless"])

    async def main():
        ws, ids = [], []
        for k in range(6):
            w = await connect(c.url(k % 3))
            ws.append(w)
            mine = await recv_json_until(w, lambda m: m.startswith("joined "))
            ids.append(mine.split()[1])
            for other in ws[:-1]:
                got = await recv_json_until(other, lambda m: m.startswith("joined "))
                assert got.split()[1] == ids[-1]
        assert len(set(ids)) == 6
        assert [edge_of(i) for i in ids] == [1, 2, 3, 1, 2, 3]
        # to everyone
        await ws[0].send("hello")
        for w in ws:
            assert await w.recv() == f"{ids[0]}: hello"
        # private, edge 1 → edge 3
        await ws[0].send(f"to {ids[2]} psst")
        assert await ws[2].recv() == f"{ids[0]} says psst"
        # the program closes the client on edge 2; the rest are told
        await ws[0].send(f"kick {ids[1]}")
        msgs, code, reason = await recv_all(ws[1])
        assert (code, reason) == (4000, "kicked out")
        for k, w in enumerate(ws):
            if k != 1:
                assert await w.recv() == f"left {ids[1]} 4000"
        # a client of edge 3 leaves with 1000
        await ws[5].close()
        for k, w in enumerate(ws):
            if k not in (1, 5):
                assert await w.recv() == f"left {ids[5]} 1000"
        for k, w in enumerate(ws):
            if k not in (1, 5):
                await w.close()

    arun(main(), timeout=40)


def test_killed_edge_loses_only_its_own_clients(wsd, redis, tmp_path):
    """Edge 2 is killed (SIGKILL): its clients are cut off; the clients of
    the other edges keep every message; the program is told its clients
    left (1006) once the edge has been silent for 5 s."""
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "chat.py", CHAT)], flags=["--lossless"])

    async def main():
        ws, ids = [], []
        for k in range(6):
            w = await connect(c.url(k % 3))
            ws.append(w)
            ids.append((await recv_json_until(w, lambda m: m.startswith("joined "))).split()[1])
        for k, w in enumerate(ws):                 # drain the others' joins
            for j in range(k + 1, 6):
                await recv_json_until(w, lambda m, j=j: m == f"joined {ids[j]} REMOTE_ADDR=127.0.0.1")
        c.edges[1].kill(signal.SIGKILL)
        for k in (1, 4):
            with pytest.raises(Exception):
                await asyncio.wait_for(ws[k].recv(), 5)
        survivors = [ws[k] for k in (0, 2, 3, 5)]
        gone = {ids[1], ids[4]}
        left = [set(), set(), set(), set()]
        for i, w in enumerate(survivors):
            while left[i] != gone:
                m = await asyncio.wait_for(w.recv(), 15)
                f = m.split()
                assert f[0] == "left" and f[1] in gone and f[2] == "1006", m
                left[i].add(f[1])
        await survivors[0].send("still here")
        for w in survivors:
            assert await w.recv() == f"{ids[0]}: still here"
        for w in survivors:
            await w.close()

    arun(main(), timeout=40)
    c.origin.wait_log(r"Edge 2 \(worker 0\) silent for 5 s: its 2 clients left")


def _seqs(msgs):
    return [int(m) for m in msgs if m.isdigit()]


@pytest.mark.timeout(60)
def test_redis_killed_and_restarted_delivery_resumes(wsd, redis, tmp_path):
    """Redis dies (SIGKILL) under a 50 lines/s feed and comes back on the
    same port a second later: every client stays connected, gets messages
    again within 2 s of Redis accepting connections, and never one twice or
    out of order (what was published meanwhile is lost: pub/sub is
    at-most-once)."""
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "tick.py", TICKER)])

    async def main():
        ws = [await connect(c.url(k % 3)) for k in range(6)]
        got = [[] for _ in ws]
        stop = asyncio.Event()

        async def reader(i, w):
            while not stop.is_set():
                try:
                    m = await asyncio.wait_for(w.recv(), 0.2)
                except asyncio.TimeoutError:
                    continue
                got[i].append((time.monotonic(), m))

        tasks = [asyncio.ensure_future(reader(i, w)) for i, w in enumerate(ws)]
        await asyncio.sleep(1.0)
        assert all(len(g) > 10 for g in got), [len(g) for g in got]
        r.kill(signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.sleep(1.0)
        r.start()
        back = time.monotonic()
        await asyncio.sleep(3.0)
        stop.set()
        await asyncio.gather(*tasks)
        for w in ws:
            assert w.open, "a client was disconnected"
            await w.close()
        return got, killed, back

    got, killed, back = arun(main(), timeout=40)
    for g in got:
        seqs = _seqs(m for _, m in g)
        assert seqs == sorted(set(seqs)), "a duplicate or out-of-order message"
        after = [t for t, m in g if t > back and m.isdigit()]
        assert after and after[0] - back < 2.0, \
            f"delivery resumed {after[0] - back if after else None} s after Redis was back\n" \
            + c.all_logs()
    for s in [c.origin] + c.edges:
        s.wait_log(r"Redis link lost \(127\.0\.0\.1:\d+\): .*reconnecting")
        s.wait_log(r"Redis link back \(127\.0\.0\.1:\d+\) after \d+ ms")
    c.edges[0].wait_log(r"payloads on \S+ missed")


def test_program_wsd_restarted_edges_keep_their_clients(wsd, redis, tmp_path):
    """The program's wsd is stopped (SIGTERM) and started again: the edges'
    clients stay connected, and the new program is told who is there (a
    join record for each, once) and serves them."""
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "chat.py", CHAT)], flags=["--lossless"])

    async def main():
        ws, ids = [], []
        for k in range(3):
            w = await connect(c.url(k))
            ws.append(w)
            ids.append((await recv_json_until(w, lambda m: m.startswith("joined "))).split()[1])
        for k, w in enumerate(ws):
            for j in range(k + 1, 3):
                await recv_json_until(w, lambda m, j=j: m.startswith(f"joined {ids[j]} "))
        assert c.origin.stop() == 0
        c.origin = c.start_origin()
        # the new program learns of the three clients: each gets the three
        # joins (in the order the edges' SYNCs arrive), and not twice
        for w in ws:
            seen = []
            while len(seen) < 3:
                m = await asyncio.wait_for(w.recv(), 15)
                assert m.startswith("joined "), m
                seen.append(m.split()[1])
            assert sorted(seen) == sorted(ids)
        await ws[2].send("after the restart")
        for w in ws:
            assert await asyncio.wait_for(w.recv(), 5) == f"{ids[2]}: after the restart"
        for w in ws:
            assert w.open
            await w.close()

    arun(main(), timeout=40)


def test_unreachable_redis_at_start_up_is_retried(wsd, redis, tmp_path):
    """An edge and the program's wsd started before Redis: both run (the
    edge takes clients), log that Redis is unreachable and why, retry, and
    work once it is there; nothing exits."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    prog = write_prog(tmp_path / "tick.py", TICKER)
    origin = wsd(prog, flags=["--shared", f"--redis={url}"])
    edge = wsd(prog, flags=["--sharededge=1", f"--redis={url}"])
    for s in (origin, edge):
        s.wait_log(rf"Redis at 127\.0\.0\.1:{port} unreachable: .*(refused|Connection).*; "
                   r"retrying \(every 1000 ms at most\)", timeout=5)

    async def main():
        w = await connect(edge.url())          # accepted while Redis is away
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(w.recv(), 1.0)
        r = redis(port)
        m = await asyncio.wait_for(w.recv(), 10)
        assert m.isdigit()
        await w.close()
        return r

    arun(main(), timeout=30)
    for s in (origin, edge):
        s.wait_log(r"Redis link up \(127\.0\.0\.1:\d+\), reachable after \d+ ms")
        assert s.proc.poll() is None


@pytest.mark.parametrize("url,why", [
    ("localhost:6379", "it must start with redis://"),
    ("redis://h:99999", "the port must be 1 to 65535"),
    ("rediss://h", "TLS (rediss://) is not supported"),
    ("redis://:pw%zz@h", "a '%' not followed by two hex digits in the credentials"),
])
def test_unparsable_url_one_line_exit_1(url, why):
    rc, out = run_wsd("--shared", f"--redis={url}", "/bin/cat")
    assert rc == 1
    assert out == f"wsd: --redis: {why} (redis://[[user]:password@]host[:port][/db])\n"


def test_garbage_on_the_channels_is_logged_and_dropped(wsd, redis, tmp_path):
    """Something else publishes on wsd's channels: not wsd payloads, a bad
    version, a good envelope around bad frames (masked, invalid UTF-8,
    compressed), 20 MB (over wsd's 16 MiB bound) and 40 MB (over Redis's
    own 32 MB pub/sub limit: Redis drops the subscriber, which reconnects).
    Each is logged and dropped; no edge crashes; the clients keep getting
    the program's messages."""
    import struct
    r = redis()
    c = Cluster(wsd, r.url(), [write_prog(tmp_path / "tick.py", TICKER)], edges=1)

    def env(msgs, edge=0, inst=99, seq=1):
        return b"WSD\x01" + struct.pack(">QQHH", inst, seq, edge, 0) + b"".join(msgs)

    def frames_msg(frames, key=b"/"):
        body = bytes([10]) + struct.pack(">H", len(key)) + key + struct.pack(">H", 0) + \
            struct.pack(">I", len(frames)) + frames
        return struct.pack(">I", len(body)) + body

    async def main():
        w = await connect(c.url(0))
        first = await asyncio.wait_for(w.recv(), 5)
        assert first.isdigit()
        garbage = [
            ("wsd:/", b"hello"),
            ("wsd:/", b"WSD\x02" + bytes(20)),
            ("wsd:/", env([frames_msg(b"\x81\x82abcdxx")], inst=5)),        # masked
            ("wsd:/", env([frames_msg(b"\x81\x02\xc3\x28")], inst=6)),      # bad UTF-8
            ("wsd:/", env([frames_msg(b"\xc1\x01x")], inst=7)),             # RSV1
            ("wsd:/", env([frames_msg(b"\x81\x01x", key=b"/other")], inst=8)),
            ("wsd:/", env([frames_msg(b"\x81\x01x")], edge=3, inst=9)),     # not from the program
            ("wsd:in", b"\x00" * 100),
            ("wsd:in", env([b"\x00\x00\x00\x03abc"], edge=1, inst=10)),
            ("wsd:ctl", b"nonsense"),
            ("wsd:/", b"x" * (20 * 1024 * 1024)),
            ("wsd:/", b"y" * (40 * 1024 * 1024)),
        ]
        for ch, payload in garbage:
            r.publish(ch, payload)
        # the program's own messages still arrive, in order
        seqs = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(seqs) < 20:
            m = await asyncio.wait_for(w.recv(), 5)
            assert m.isdigit(), f"garbage reached a client: {m[:80]!r}"
            seqs.append(int(m))
        assert seqs == sorted(set(seqs)) and seqs[0] > int(first)
        await w.close()

    arun(main(), timeout=60)
    e = c.edges[0]
    e.wait_log(r"A payload on wsd:/ dropped: not a wsd payload")
    e.wait_log(r"A payload on wsd:/ dropped: unknown payload version")
    e.wait_log(r"A payload on wsd:/ dropped: malformed frames")
    e.wait_log(r"A payload on wsd:/ dropped: a message for another endpoint")
    e.wait_log(r"A payload on wsd:/ from edge 3 dropped")
    e.wait_log(r"A payload on wsd:/ dropped: payload too large \(20971520 bytes\)")
    e.wait_log(r"Redis link lost .*; clients stay connected, reconnecting", timeout=10)
    e.wait_log(r"Redis link back", timeout=10)
    c.origin.wait_log(r"A payload on wsd:in dropped: not a wsd payload")
    c.origin.wait_log(r"A payload on wsd:in dropped: a malformed message")


def test_dir_endpoints_and_workers_on_edges(wsd, redis, tmp_path):
    """--dir: one channel per script, the same scripts on the edges (not
    run there); an edge with --workers=2 (each worker subscribes); the
    program's wsd with --workers=2 (its hub process publishes)."""
    r = redis()
    d = tmp_path / "scripts"
    d.mkdir()
    write_prog(d / "a.py", GO_LINES)
    write_prog(d / "b.py", PY + "for line in sys.stdin:\n    print('b ' + line.strip(), flush=True)\n")
    origin = wsd(flags=["--shared", f"--redis={r.url()}", f"--dir={d}", "--workers=2"])
    edge = wsd(flags=["--sharededge=5", f"--redis={r.url()}", f"--dir={d}", "--workers=2"])
    edge.wait_log(r"Redis link up", timeout=10)
    origin.wait_log(r"Edge 5 \(worker 1\) is here", timeout=10)
    origin.wait_log(r"Edge 5 \(worker 0\) is here", timeout=10)

    async def main():
        a = [await connect(edge.url("/a.py")) for _ in range(8)]
        b = await connect(edge.url("/b.py"))
        await b.send("x")
        assert await asyncio.wait_for(b.recv(), 10) == "b x"
        await a[3].send("go")
        want = ["%d " % i for i in range(1000)] + ["end"]
        for w in a:
            assert await collect_until(w, "end") == want
        for w in a + [b]:
            await w.close()

    arun(main(), timeout=60)
    ids = [int(m) for m in re.findall(r"id:'(\d+)'[^|]*\| CONNECT", edge.log())]
    assert {i % 1024 for i in ids} == {5}
    assert len({(i // 1024) % 2 for i in ids}) == 2, "all clients on one worker"
    assert not (d / "a.py.out").exists()
    assert "Shared program started" not in edge.log()
