"""--logformat=json and journald priority prefixes (#14.4): every line of a
real server's log is one JSON object with stable keys and escaped values;
"<N>" prefixes when stdout is the journal's stream (JOURNAL_STREAM) or
--journal asks. websocketd's text format stays the default (test_logging.py).
"""
import json
import os
import re

import pytest

from conftest import IS_WEBSOCKETD, RawClient, write_prog

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #14 logs")

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_lines(srv):
    out = []
    for line in srv.log().splitlines():
        obj = json.loads(line)           # every line, or the test fails here
        out.append(obj)
    return out


def wait_json(srv, pred, timeout=3.0):
    from conftest import wait_until
    found = wait_until(lambda: next((o for o in json_lines(srv) if pred(o)), None), timeout)
    assert found, f"no such line in:\n{srv.log()[-3000:]}"
    return found


def test_json_lines_keys_and_escaping(wsd, tmp_path):
    prog = write_prog(tmp_path / "p.sh",
                      "#!/bin/sh\nprintf 'bad \\001\\033[31m \\377\\376 \"q\" \\\\ é\\n' >&2\n"
                      "read l\necho \"$l\"\n")
    srv = wsd(prog, flags=["--logformat=json"])
    c = RawClient(srv.port)
    c.handshake(path="/p?a=%ff&b='x'")
    connect = wait_json(srv, lambda o: o["msg"] == "CONNECT")
    assert list(connect) == ["time", "level", "category", "url", "id", "remote", "command",
                             "origin", "msg"]
    assert TIME.match(connect["time"]), connect["time"]
    assert connect["level"] == "access" and connect["category"] == "session"
    assert connect["url"] == f"http://127.0.0.1:{srv.port}/p?a=%ff&b='x'"   # \x27 undone
    assert connect["remote"] == "127.0.0.1" and connect["origin"] == "file:"
    assert connect["command"] == str(prog)
    err = wait_json(srv, lambda o: o["category"] == "stderr")
    assert err["level"] == "error"
    assert err["msg"] == "bad \x01\x1b[31m \ufffd\ufffd \"q\" \\ é"
    assert "pid" in err
    c.send_text("hi")
    assert c.recv_text() == "hi"
    c.send_close(1000)
    c.expect_close()
    c.close()
    bye = wait_json(srv, lambda o: o["msg"] == "DISCONNECT")
    assert bye["id"] == connect["id"] and bye["pid"] == err["pid"]
    raw = srv.log()
    assert "\\u0001\\u001b[31m \\ufffd\\ufffd \\\"q\\\" \\\\ é" in raw   # escaped as JSON
    assert all(not line.startswith("<") for line in raw.splitlines())
    start = json_lines(srv)[0]
    assert start["level"] == "info" and start["category"] == "server"
    assert "url" not in start


def journal_env(srv_tmp):
    """JOURNAL_STREAM naming the file the next server's stdout will be:
    the Server class writes to tmp/wsd-N.out, N the number of such files,
    so with this one made first it is wsd-(N+1).out (opened with truncation:
    the same inode)."""
    n = len(list(srv_tmp.glob("wsd-*.out")))
    path = srv_tmp / f"wsd-{n + 1}.out"
    path.write_bytes(b"")
    st = os.stat(path)
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def test_journal_stream_gets_priority_prefixes(wsd, tmp_path):
    srv = wsd("/bin/false", env=journal_env(tmp_path))
    c = RawClient(srv.port)
    c.handshake()
    c.expect_close()
    c.close()
    srv.wait_log(r"^<6>.* \| ACCESS \| session .*\| CONNECT$")
    srv.wait_log(r"^<6>.* \| INFO   \| server ")
    lines = srv.log().splitlines()
    assert lines and all(re.match(r"<[2367]>", line) for line in lines), lines


def test_journal_prefix_on_error_lines_and_json(wsd, tmp_path):
    prog = write_prog(tmp_path / "e.sh", "#!/bin/sh\necho oops >&2\n")
    srv = wsd(prog, flags=["--logformat=json"], env=journal_env(tmp_path))
    c = RawClient(srv.port)
    c.handshake()
    c.expect_close()
    c.close()
    line = srv.wait_log(r"^<3>\{.*\"msg\":\"oops\"\}$").group(0)
    assert json.loads(line[3:])["level"] == "error"


def test_no_prefix_for_another_stream_or_when_refused(wsd, tmp_path):
    st = os.stat("/dev/null")
    srv = wsd("/bin/cat", env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    srv.wait_log(r"Starting WebSocket server")
    assert not srv.log().startswith("<")
    srv = wsd("/bin/cat", flags=["--journal=false"], env=journal_env(tmp_path))
    srv.wait_log(r"Starting WebSocket server")
    assert not srv.log().startswith("<")
    srv = wsd("/bin/cat", flags=["--journal"])
    srv.wait_log(r"^<6>.*Starting WebSocket server")
