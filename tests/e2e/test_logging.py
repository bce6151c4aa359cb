"""wsd's log on stdout, websocketd's format (spec 11)."""
import re
import time

from conftest import CHILD, SCRIPTS, RawClient, arun, connect, recv_all, upgrade_headers

DATE = r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"


def session_prefix(srv, path, cmd, origin="file:"):
    return (rf"^{DATE} \| ACCESS \| session    \| url:'http://127\.0\.0\.1:{srv.port}"
            + re.escape(path) + r"' id:'(?P<id>[^']+)' remote:'127\.0\.0\.1' command:'"
            + re.escape(cmd) + r"' origin:'" + re.escape(origin) + "'")


def test_startup_lines(wsd):
    srv = wsd(SCRIPTS / "count.sh")
    cmd = str(SCRIPTS / "count.sh")
    srv.wait_log(rf"^{DATE} \| INFO   \| server     \|  \| Serving using application   : "
                 + re.escape(cmd) + r" ?$")
    srv.wait_log(rf"^{DATE} \| INFO   \| server     \|  \| Starting WebSocket server   : "
                 rf"ws://127\.0\.0\.1:{srv.port}/$")


def test_connect_and_disconnect_lines(wsd):
    srv = wsd(CHILD, "info")
    c = RawClient(srv.port)
    c.handshake(path="/some/path?q=1")
    pid = int(c.recv_text().split()[1])
    pre = session_prefix(srv, "/some/path?q=1", str(CHILD))
    m = srv.wait_log(pre + r" \| CONNECT$")
    conn_id = m.group("id")
    c.send_close(1000)
    c.expect_close()
    m2 = srv.wait_log(pre + rf" pid:'{pid}' \| DISCONNECT$")
    assert m2.group("id") == conn_id
    assert srv.log().index("CONNECT") < srv.log().index("DISCONNECT")


def test_origin_is_logged(wsd):
    srv = wsd("/bin/cat")
    c = RawClient(srv.port)
    c.handshake(headers=upgrade_headers(extra=[("Origin", "http://example.com")]))
    srv.wait_log(session_prefix(srv, "/", "/bin/cat", "http://example.com") + r" \| CONNECT$")


def test_ids_differ_between_connections(wsd):
    srv = wsd(SCRIPTS / "count.sh", "1")

    async def go():
        for _ in range(3):
            async with connect(srv) as ws:
                await recv_all(ws)
    arun(go())
    time.sleep(0.2)
    ids = re.findall(r"id:'([^']+)'.*\| CONNECT$", srv.log(), re.M)
    assert len(ids) == 3 and len(set(ids)) == 3, ids


def test_loglevel_error_hides_access(wsd):
    srv = wsd(CHILD, "stderr", "visible problem", flags=["--loglevel=error"])
    c = RawClient(srv.port)
    c.handshake()
    assert c.recv_text() == "done"
    srv.wait_log(r"\| ERROR  \|.*visible problem")
    c.send_close(1000)
    c.expect_close()
    time.sleep(0.3)
    log = srv.log()
    assert "| ACCESS |" not in log
    assert "| INFO   |" not in log
    assert "CONNECT" not in log


def test_plain_http_404_logged(wsd):
    srv = wsd("/bin/cat")
    from conftest import raw_request
    r = raw_request(srv.port, f"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n"
                    .encode(), timeout=1.0)
    assert r.status == 404
    srv.wait_log(r"\| ACCESS \| http       \| url:'http://127\.0\.0\.1:\d+/nothing'.*NOT FOUND")
