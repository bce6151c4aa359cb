"""Close codes when the program exits (spec 4) and the client closing first
(spec 5): stdin EOF, then SIGINT, SIGTERM, SIGKILL to the process group."""
import time

import pytest

from conftest import (CHILD, OP_TEXT, SCRIPTS, RawClient, arun, connect, exists, is_alive,
                      recv_all, wait_gone, wait_until)



@pytest.mark.deliberate
def test_exit_0_sends_all_output_then_1000(wsd):
    srv = wsd(SCRIPTS / "count.sh", "50")
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert [d for _, d in msgs] == [str(i).encode() for i in range(1, 51)]
    assert code == 1000
    c.expect_eof()


@pytest.mark.deliberate
def test_exit_0_python_client_sees_clean_close(wsd):
    srv = wsd(CHILD, "exit", "0", "one", "two")

    async def go():
        async with connect(srv) as ws:
            return await recv_all(ws)
    msgs, code, _ = arun(go())
    assert msgs == ["one", "two"]
    assert code == 1000


@pytest.mark.deliberate
def test_exit_status_3_is_1011_with_status_in_reason(wsd):
    srv = wsd(SCRIPTS / "exit.sh", "3")
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, b"bye")]
    assert code == 1011
    assert "3" in reason, reason
    assert reason == "exited with status 3"
    c.expect_eof()


@pytest.mark.deliberate
def test_killed_by_signal_is_1011_with_signal_in_reason(wsd):
    srv = wsd(CHILD, "kill-self", "9")
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close()
    assert msgs == [(OP_TEXT, b"bye")]
    assert code == 1011
    assert "9" in reason and "KILL" in reason, reason


@pytest.mark.deliberate
def test_1mb_then_exit_all_bytes_before_close(wsd):
    srv = wsd(CHILD, "write-then-exit", "1000000", "0")
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close(timeout=10)
    assert len(msgs) == 10000
    assert sum(len(d) + 1 for _, d in msgs) == 1_000_000
    assert all(d == b"x" * 99 for _, d in msgs)
    assert code == 1000


@pytest.mark.deliberate
def test_1mb_then_exit_binary(wsd):
    srv = wsd(CHILD, "write-then-exit", "1000000", "0", flags=["--binary"])
    c = RawClient(srv.port)
    c.handshake()
    code, reason, msgs = c.expect_close(timeout=10)
    assert sum(len(d) for _, d in msgs) == 1_000_000
    assert code == 1000


def _signal_times(path):
    """{'EOF': ms, 'SIGINT': ms, 'SIGTERM': ms} from the ignore-term record."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, ms = line.split()
            out.setdefault(name, int(ms) / 1000.0)
    return out


def _start_ignorer(wsd, tmp_path, closems=0):
    rec = tmp_path / "signals.txt"
    flags = [] if closems == 0 else [f"--closems={closems}"]
    srv = wsd(CHILD, "ignore-term", rec, flags=flags)
    c = RawClient(srv.port)
    c.handshake()
    line = c.recv_text()
    assert line.startswith("ready ")
    pid = int(line.split()[1])
    return srv, c, pid, rec


def test_client_close_echoed_at_once_then_escalation(wsd, tmp_path):
    srv, c, pid, rec = _start_ignorer(wsd, tmp_path)
    t0 = time.monotonic()
    c.send_close(1000, "bye")
    code, reason, _ = c.expect_close(timeout=1.0)
    t_echo = time.monotonic()
    assert code == 1000
    # "At once": the echo must not wait for the child, which ignores INT/TERM
    # and so cannot be gone before the SIGKILL step (>= 850 ms).
    assert is_alive(pid), "close echo came only after the child was killed"
    assert t_echo - t0 < 0.8
    t_gone = wait_gone(pid, 3.0)
    assert t_gone is not None, "child not killed (and reaped) within 3 s"
    c.expect_eof(timeout=2.0)
    sig = _signal_times(rec)
    assert "EOF" in sig, "stdin was not closed"
    assert "SIGINT" in sig and "SIGTERM" in sig, sig
    assert sig["EOF"] <= sig["SIGINT"] < sig["SIGTERM"] < t_gone
    # Lower bounds only (a slow machine makes everything later, never earlier):
    # 100 ms, then 250 ms, then 500 ms; 40 ms of slack for timer granularity.
    assert sig["SIGINT"] - t0 >= 0.100 - 0.04
    assert sig["SIGTERM"] - sig["SIGINT"] >= 0.250 - 0.04
    assert t_gone - sig["SIGTERM"] >= 0.500 - 0.04
    srv.wait_no_children()


def test_closems_is_added_to_each_step(wsd, tmp_path):
    srv, c, pid, rec = _start_ignorer(wsd, tmp_path, closems=200)
    t0 = time.monotonic()
    c.send_close(1000)
    code, _, _ = c.expect_close(timeout=1.0)
    assert code == 1000
    t_gone = wait_gone(pid, 5.0)
    assert t_gone is not None, "child not killed within 5 s with --closems=200"
    sig = _signal_times(rec)
    assert sig["SIGINT"] - t0 >= 0.300 - 0.04
    assert sig["SIGTERM"] - sig["SIGINT"] >= 0.450 - 0.04
    assert t_gone - sig["SIGTERM"] >= 0.700 - 0.04


def test_client_drops_tcp_child_terminated(wsd, tmp_path):
    srv, c, pid, rec = _start_ignorer(wsd, tmp_path)
    c.close()
    assert wait_gone(pid, 3.0) is not None, "child not killed within 3 s of TCP drop"
    sig = _signal_times(rec)
    assert "EOF" in sig and "SIGINT" in sig and "SIGTERM" in sig, sig
    srv.wait_no_children()


def test_client_close_code_echoed(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.handshake()
    c.send_close(4321, "custom")
    code, reason, _ = c.expect_close()
    assert code == 4321
    c.expect_eof()


def test_client_close_empty_payload_echoed_empty(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.handshake()
    c.send_close(None)
    f = c.recv_frame()
    assert f.opcode == 8 and f.payload == b""
    c.expect_eof()


def test_cat_exits_on_eof_quickly(wsd):
    # A child that exits on stdin EOF needs no signal: the slot and TCP are
    # released promptly (well before the SIGINT step would matter).
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.handshake()
    kids = srv.wait_children(1)
    c.send_close(1000)
    c.expect_close()
    c.expect_eof(timeout=2.0)
    assert wait_gone(kids[0], 2.0)


@pytest.mark.deliberate
def test_grandchild_in_group_is_killed(wsd):
    srv = wsd(CHILD, "grandchild", "stay")
    c = RawClient(srv.port)
    c.handshake()
    gpid = int(c.recv_text().split()[1])
    child = srv.wait_children(1)[0]
    assert is_alive(gpid)
    c.send_close(1000)
    c.expect_close()
    assert wait_gone(child, 3.0), "child not terminated"
    assert wait_until(lambda: not is_alive(gpid), 3.0), "grandchild survived"
    srv.wait_no_children()


@pytest.mark.deliberate
def test_background_job_of_exited_script_is_killed(wsd):
    # background.sh exits on stdin EOF, leaving `sleep 60 &` (SIGINT ignored,
    # as bash does for background jobs) in the process group.
    srv = wsd(SCRIPTS / "background.sh")
    c = RawClient(srv.port)
    c.handshake()
    gpid = int(c.recv_text().split()[1])
    assert is_alive(gpid)
    c.send_close(1000)
    c.expect_close()
    assert wait_until(lambda: not is_alive(gpid), 3.0), \
        "background grandchild left running after the script exited"


@pytest.mark.deliberate
def test_no_zombie_after_child_exit(wsd):
    srv = wsd(SCRIPTS / "exit.sh", "0")
    c = RawClient(srv.port)
    c.handshake()
    c.expect_close()
    c.expect_eof()
    srv.wait_no_children(2.0)


@pytest.mark.deliberate
def test_many_short_connections_leave_no_zombies(wsd):
    srv = wsd(SCRIPTS / "count.sh", "2")

    async def one():
        async with connect(srv) as ws:
            return await recv_all(ws)

    async def go():
        import asyncio
        return await asyncio.gather(*[one() for _ in range(20)])
    res = arun(go())
    assert all(msgs == ["1", "2"] and code == 1000 for msgs, code, _ in res)
    srv.wait_no_children(3.0)
    assert not [p for p in srv.children() if exists(p)]


@pytest.mark.deliberate
def test_child_closing_stdout_is_terminated(wsd):
    srv = wsd(SCRIPTS / "close-stdout.sh")
    c = RawClient(srv.port)
    c.handshake()
    line = c.recv_text()
    assert line.startswith("closing stdout ")
    child = int(line.split()[2])   # from the child itself: no /proc race under load
    code, reason, _ = c.expect_close(timeout=3.0)
    assert code in (1000, 1011), (code, reason)
    c.expect_eof()
    assert wait_gone(child, 3.0)


@pytest.mark.deliberate
def test_exited_child_whose_orphan_holds_stdout(wsd):
    # The script exits 0 at once but its background `sleep` keeps the stdout
    # pipe open: the connection must still end (1000), and the sleep be killed.
    srv = wsd(SCRIPTS / "orphan-holds-stdout.sh")
    c = RawClient(srv.port)
    c.handshake()
    gpid = int(c.recv_text().split()[1])
    code, reason, _ = c.expect_close(timeout=3.0)
    assert code == 1000, reason
    c.expect_eof()
    assert wait_until(lambda: not is_alive(gpid), 3.0), "orphan holding stdout survived"
