"""Limits per client (#13 item 4): --maxperip (connections at once per
address, 429 beyond), --ratelimit/--rateburst (handshakes a minute per
address, 429 with Retry-After; failed logins cost a token too), applied to
the real client behind a trusted proxy, in a table of fixed size.
"""
import asyncio
import base64
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (IS_WEBSOCKETD, SCRIPTS, WSD_BIN, RawClient, arun, connect,
                      upgrade_headers, vm_rss_kb, wait_until)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #13 access control")


def upgrade(port, extra=(), local="127.0.0.1"):
    s = socket.socket()
    s.settimeout(5)
    s.bind((local, 0))
    s.connect(("127.0.0.1", port))
    c = RawClient.__new__(RawClient)
    c.sock, c.port, c.buf, c.eof, c.controls, c.send_failed = s, port, b"", False, [], False
    c.send(c.request_bytes(headers=upgrade_headers(extra=extra)))
    return c, c.read_response()


def test_maxperip_refuses_the_connection_beyond_with_429(wsd):
    srv = wsd("cat", flags=["--maxperip=3"])
    open_ = [upgrade(srv.port)[0] for _ in range(3)]
    c, r = upgrade(srv.port)
    body = c.read_to_eof()
    assert r.status == 429 and b"too many connections from your address" in body
    srv.wait_log(r"127\.0\.0\.1 has 3 connections already \(--maxperip\): 429")
    # another address is another client
    other, r2 = upgrade(srv.port, local="127.0.0.2")
    assert r2.status == 101
    # one closes: its slot is free again
    open_[0].close()
    assert wait_until(lambda: upgrade(srv.port)[1].status == 101, 3.0)
    for x in open_[1:] + [other]:
        x.close()


def test_maxperip_counts_the_real_client_behind_a_trusted_proxy(wsd):
    srv = wsd("cat", flags=["--maxperip=2", "--trustproxy=127.0.0.1"])
    a = [upgrade(srv.port, [("X-Forwarded-For", "203.0.113.1")]) for _ in range(2)]
    assert all(r.status == 101 for _, r in a)
    c, r = upgrade(srv.port, [("X-Forwarded-For", "203.0.113.1")])
    assert r.status == 429
    b, r = upgrade(srv.port, [("X-Forwarded-For", "203.0.113.2")])
    assert r.status == 101               # the same proxy, another client
    for x, _ in a:
        x.close()
    b.close()
    srv.wait_log(r"203\.0\.113\.1 has 2 connections already")


def test_ratelimit_429_with_retry_after_then_refilled(wsd):
    srv = wsd("cat", flags=["--ratelimit=60", "--rateburst=3"])     # one a second
    conns = []
    for _ in range(3):
        c, r = upgrade(srv.port)
        assert r.status == 101
        conns.append(c)
    c, r = upgrade(srv.port)
    assert r.status == 429 and r.header("Retry-After") == "1"
    assert b"slow down" in c.read_to_eof()
    srv.wait_log(r"Rate limit: 127\.0\.0\.1 made more than 60 handshakes a minute \(burst 3\): "
                 r"429, retry after 1 s")
    time.sleep(1.05)
    c, r = upgrade(srv.port)
    assert r.status == 101
    conns.append(c)
    for x in conns:
        x.close()


def test_ratelimit_empty_bucket_refuses_plain_requests_too(wsd, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.txt").write_text("a\n")
    srv = wsd("cat", flags=["--ratelimit=1", "--rateburst=1", f"--staticdir={tmp_path / 's'}"])
    c, r = upgrade(srv.port)
    assert r.status == 101
    c.close()
    get = RawClient(srv.port)
    get.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    r = get.read_response()
    assert r.status == 429 and int(r.header("Retry-After")) > 50
    get.close()


def test_ratelimit_per_client_behind_a_trusted_proxy(wsd):
    srv = wsd("cat", flags=["--ratelimit=6", "--rateburst=1", "--trustproxy=127.0.0.1"])
    c, r = upgrade(srv.port, [("Forwarded", "for=198.51.100.1")])
    assert r.status == 101
    c.close()
    assert upgrade(srv.port, [("Forwarded", "for=198.51.100.1")])[1].status == 429
    assert upgrade(srv.port, [("Forwarded", "for=198.51.100.2")])[1].status == 101
    # a client talking to wsd directly cannot pick another client's bucket
    srv2 = wsd("cat", flags=["--ratelimit=6", "--rateburst=1"])
    assert upgrade(srv2.port, [("X-Forwarded-For", "198.51.100.3")])[1].status == 101
    assert upgrade(srv2.port, [("X-Forwarded-For", "198.51.100.4")])[1].status == 429


def test_failed_logins_cost_tokens(wsd, tmp_path):
    """A password cannot be guessed faster than --ratelimit allows: each
    failure takes a token; then even the right password waits."""
    ht = tmp_path / "ht"
    subprocess.run(["htpasswd", "-cbB", str(ht), "alice", "right"], check=True, capture_output=True)
    srv = wsd("cat", flags=[f"--htpasswd={ht}", "--ratelimit=6", "--rateburst=3"])
    wrong = [("Authorization", "Basic " + base64.b64encode(b"alice:wrong").decode())]
    right = [("Authorization", "Basic " + base64.b64encode(b"alice:right").decode())]
    statuses = [upgrade(srv.port, wrong)[1].status for _ in range(3)]
    # the handshake itself takes a token and so does the failure: the
    # bucket of 3 is empty after two attempts
    assert statuses[:2] == [401, 401] and statuses[2] == 429, statuses
    c, r = upgrade(srv.port, right)
    assert r.status == 429 and int(r.header("Retry-After")) >= 1


@pytest.mark.timeout(120)
def test_the_per_client_table_does_not_grow(wsd, tmp_path):
    """70 000 client addresses (more than the table's 65 536) through one
    trusted proxy connection: the table stays at its size, wsd's memory
    grows by at most the table, and the newest clients are still served."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a").write_text("a")
    srv = wsd("cat", flags=["--ratelimit=600", "--trustproxy=127.0.0.1", "--maxperip=4",
                            f"--staticdir={tmp_path / 's'}"])
    rss0 = vm_rss_kb(srv.pid)
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(10)
    n, got, tail, mark = 70000, 0, b"", b"HTTP/1.1 200 OK"
    batch = 2000
    for start in range(0, n, batch):
        reqs = b"".join(b"GET /a HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.%d.%d.%d\r\n\r\n" %
                        (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(start, start + batch))
        s.sendall(reqs)
        while got < start + batch:
            d = s.recv(1 << 20)
            assert d, "connection closed"
            got += (tail + d).count(mark)
            tail = (tail + d)[-(len(mark) - 1):]
    s.close()
    srv.kill(signal.SIGUSR1)
    m = srv.wait_log(r"Status: (\d+) client addresses tracked \(at most 65536\)")
    assert int(m.group(1)) == 65536
    grown = vm_rss_kb(srv.pid) - rss0
    if "asan" not in str(WSD_BIN):       # ASan's quarantine and shadow memory grow on their own
        assert grown < 8 * 1024, f"RSS grew by {grown} KiB"
    c, r = upgrade(srv.port, [("X-Forwarded-For", "10.1.17.111")])
    assert r.status == 101
    c.close()
