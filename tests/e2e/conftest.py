"""End-to-end test harness for wsd: starts the REAL server binary and drives it
with real clients (python-websockets and a raw-socket client below).

Environment:
  WSD_BIN    server binary (default build/wsd, relative to the repo root);
             WSD_BIN=/usr/bin/websocketd runs the suite against the oracle
             (tests marked `deliberate` then fail by design).
  WSD_CHILD  the multi-mode test child (default build/tests/child).

Process accounting: the pytest process (each xdist worker) makes itself a
child subreaper, so anything wsd spawns and leaves behind is re-parented to
us instead of init and is detected (and killed) at teardown.
"""
import asyncio
import base64
import ctypes
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "e2e" / "scripts"


def _repo_path(value):
    p = Path(value)
    return p if p.is_absolute() else REPO / p


WSD_BIN = _repo_path(os.environ.get("WSD_BIN", "build/wsd"))
CHILD = _repo_path(os.environ.get("WSD_CHILD", "build/tests/child"))
IS_WEBSOCKETD = WSD_BIN.name.startswith("websocketd")
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SANITIZER_RX = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                          r"ThreadSanitizer|\.[ch]:\d+:\d+: runtime error:")

try:
    import pytest_timeout  # noqa: F401
    HAVE_PYTEST_TIMEOUT = True
except ImportError:
    HAVE_PYTEST_TIMEOUT = False


# --------------------------------------------------------------------------
# pytest plumbing: markers, per-test timeout fallback, subreaper

def pytest_addoption(parser):
    if not HAVE_PYTEST_TIMEOUT:
        parser.addini("timeout", "per-test timeout in seconds (fallback)", default="30")


def pytest_configure(config):
    config.addinivalue_line("markers", "deliberate: wsd deliberately differs from websocketd 0.4.1")
    if not HAVE_PYTEST_TIMEOUT:
        config.addinivalue_line("markers", "timeout(seconds): per-test timeout")
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        pass


if not HAVE_PYTEST_TIMEOUT:
    @pytest.fixture(autouse=True)
    def _alarm_timeout(request):
        m = request.node.get_closest_marker("timeout")
        secs = int(m.args[0]) if m else int(request.config.getini("timeout"))

        def fire(signum, frame):
            raise TimeoutError(f"test exceeded {secs}s")
        old = signal.signal(signal.SIGALRM, fire)
        signal.alarm(secs)
        yield
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session", autouse=True)
def _check_binaries():
    if not WSD_BIN.exists():
        pytest.exit(f"server binary {WSD_BIN} missing (run `make`)", returncode=3)
    if not CHILD.exists():
        pytest.exit(f"test child {CHILD} missing (run `make {CHILD.relative_to(REPO)}`)",
                    returncode=3)


# --------------------------------------------------------------------------
# /proc helpers

def proc_stat(pid):
    """{'comm', 'state', 'ppid', 'pgrp', 'session', 'tpgid'} of pid (tpgid:
    its terminal's foreground process group, -1 without one), or None if it
    is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return {"comm": data[data.index("(") + 1:data.rindex(")")], "state": rest[0],
            "ppid": int(rest[1]), "pgrp": int(rest[2]), "session": int(rest[3]),
            "tpgid": int(rest[5])}


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(pid):
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st["ppid"] == pid:
            out.append(p)
    return out


def descendants(pid):
    """All live-or-zombie descendants of pid (breadth first)."""
    table = {}
    for p in all_pids():
        st = proc_stat(p)
        if st:
            table.setdefault(st["ppid"], []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in table.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def is_alive(pid):
    """True if pid exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st["state"] not in ("Z", "X")


def exists(pid):
    """True if pid has a /proc entry at all (zombies included)."""
    return proc_stat(pid) is not None


def wait_until(pred, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def wait_gone(pid, timeout=3.0):
    """Waits until pid has no /proc entry (dead AND reaped). Returns the time
    (time.monotonic()) it was first seen gone, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not exists(pid):
            return time.monotonic()
        time.sleep(0.005)
    return None


def vm_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _reap_our_zombies():
    for c in children_of(os.getpid()):
        st = proc_stat(c)
        if st and st["state"] == "Z":
            try:
                os.waitpid(c, os.WNOHANG)
            except ChildProcessError:
                pass


def _tree(pid):
    """pid and all its descendants (with --workers the listeners are the
    workers')."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def owns_listener(pid, port):
    """True if a process of pid's tree holds a socket listening on port.
    A connect() alone can reach another test's server that picked the same
    free port at the same moment (xdist workers), while ours failed to bind."""
    want = ":%04X" % port
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    p = line.split()
                    if p[1].endswith(want) and p[3] == "0A":
                        inodes.add(p[9])
        except OSError:
            pass
    if not inodes:
        return False
    for q in _tree(pid):
        try:
            for fd in os.listdir(f"/proc/{q}/fd"):
                try:
                    link = os.readlink(f"/proc/{q}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return True
        except OSError:
            pass
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# The server under test

def root_flags(binary=None):
    """["--allowroot"] when the tests run as root (CI does): wsd refuses to
    run programs as root without --user or it (#13, docs/security.md);
    websocketd has no such flag."""
    name = Path(binary).name if binary else WSD_BIN.name
    return ["--allowroot"] if os.geteuid() == 0 and not name.startswith("websocketd") else []


def wsd_env(extra=None):
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH"):
        if k in os.environ:
            env[k] = os.environ[k]
    if extra:
        env.update(extra)
    return env


class Server:
    """One running server. `cmd` is COMMAND [ARGS...]; `flags` go before it."""

    def __init__(self, tmp, cmd, flags=(), env=None, cwd=None, port_args=None,
                 closems=True):
        self.tmp = Path(tmp)
        self.cmd = [str(c) for c in cmd]
        self.flags = list(flags)
        self.marker = uuid.uuid4().hex
        self.env = wsd_env({"WSD_E2E_MARKER": self.marker, **(env or {})})
        self.cwd = str(cwd or self.tmp)
        self.port_args = port_args or (lambda p: [f"--port={p}"])
        self.closems = closems
        self.stopped_by_test = False
        self.expect_exit = 0       # exit status expected at teardown's SIGTERM
        self.proc = None
        n = len(list(self.tmp.glob("wsd-*.out")))
        self.stdout_path = self.tmp / f"wsd-{n}.out"
        self.stderr_path = self.tmp / f"wsd-{n}.err"
        self._start()

    def argv(self, port):
        a = [str(WSD_BIN)] + self.port_args(port) + ["--address=127.0.0.1"]
        a += root_flags(getattr(self, "binary", None))
        if self.closems:
            a.append("--closems=0")
        return a + self.flags + self.cmd

    def _start(self):
        last = ""
        for _attempt in range(6):
            self.port = free_port()
            with open(self.stdout_path, "wb") as o, open(self.stderr_path, "wb") as e:
                self.proc = subprocess.Popen(self.argv(self.port), stdin=subprocess.DEVNULL,
                                             stdout=o, stderr=e, env=self.env, cwd=self.cwd,
                                             start_new_session=True)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                rc = self.proc.poll()
                if rc is not None:
                    break
                if owns_listener(self.proc.pid, self.port):
                    try:
                        socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                        return
                    except OSError:
                        pass
                time.sleep(0.02)
            rc = self.proc.poll()
            last = f"exit {rc}: {self.err()[-2000:]} {self.log()[-2000:]}"
            if rc is None:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"server not accepting on {self.port} after 5 s")
            if rc != 3 and "address already in use" not in last:
                raise RuntimeError(f"server failed to start: {last}")
        raise RuntimeError(f"server failed to start (port races?): {last}")

    # ---- observation
    @property
    def pid(self):
        return self.proc.pid

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self):
        return self.stdout_path.read_bytes().decode("utf-8", "replace")

    def err(self):
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=3.0, flags=re.M):
        """Waits for a regex to match the stdout log; returns the match."""
        rx = re.compile(pattern, flags)
        m = wait_until(lambda: rx.search(self.log()), timeout)
        assert m, f"log never matched {pattern!r}; log:\n{self.log()[-3000:]}"
        return m

    def children(self):
        return children_of(self.pid)

    def wait_children(self, n, timeout=3.0):
        kids = wait_until(lambda: [c for c in self.children() if is_alive(c)]
                          if len([c for c in self.children() if is_alive(c)]) >= n else None,
                          timeout)
        assert kids, f"expected {n} live children of wsd, have {self.children()}"
        return kids

    def wait_no_children(self, timeout=3.0):
        ok = wait_until(lambda: not self.children(), timeout)
        assert ok, f"wsd still has children {self.children()} after {timeout}s"

    # ---- control
    def kill(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signals the server and waits; returns its exit status (None if it
        had to be SIGKILLed)."""
        self.stopped_by_test = True
        return self._terminate(sig, timeout)

    def _terminate(self, sig, timeout):
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def sanitizer_report(self):
        m = SANITIZER_RX.search(self.err())
        return m.group(0) if m else None


@pytest.fixture
def wsd(tmp_path):
    """Factory: wsd(*cmd, flags=[...], env={...}, cwd=..., port_args=...)."""
    servers = []

    def start(*cmd, **kw):
        s = Server(tmp_path, cmd, **kw)
        servers.append(s)
        return s

    yield start

    problems = []
    for s in servers:
        was_running = s.proc.poll() is None
        rc = s._terminate(signal.SIGTERM, 6.0)
        if not IS_WEBSOCKETD:
            if was_running and rc is None:
                problems.append(f"wsd pid {s.pid} ignored SIGTERM for 6 s (SIGKILLed)")
            elif was_running and s.expect_exit is not None and rc != s.expect_exit:
                problems.append(f"wsd exited {rc} on SIGTERM, expected {s.expect_exit}")
        rep = None if IS_WEBSOCKETD else s.sanitizer_report()
        if rep:
            problems.append(f"sanitizer report ({rep}) in wsd stderr:\n{s.err()[-6000:]}")
    # Anything left behind has been re-parented to us (subreaper).
    me = os.getpid()
    ours = {s.pid for s in servers}

    def leftovers():
        _reap_our_zombies()
        # The test's own children are only the servers (tracked) and
        # subprocess.run calls (already waited for): anything else alive was
        # re-parented to us by the subreaper, i.e. left behind by wsd.
        return [c for c in children_of(me) if c not in ours and is_alive(c)]
    left = wait_until(lambda: not leftovers(), 3.0) or leftovers()
    if left is not True and left:
        desc = []
        for p in left:
            try:
                desc.append(f"{p}: {Path(f'/proc/{p}/cmdline').read_bytes()!r}")
            except OSError:
                desc.append(str(p))
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not [c for c in left if is_alive(c)], 2.0)
        _reap_our_zombies()
        if not IS_WEBSOCKETD:
            problems.append("processes left behind after wsd exited: " + "; ".join(desc))
    if problems:
        pytest.fail("\n".join(problems))


# --------------------------------------------------------------------------
# Raw-socket WebSocket client (hand-built frames, exact bytes)

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_headers(key=None, extra=()):
    """The four handshake headers (plus `extra` (name, value) pairs)."""
    return [("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key or ws_key()), ("Sec-WebSocket-Version", "13")] + list(extra)


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None):
    """A client frame, masked unless mask=False. rsv: bits 0b100=RSV1 etc."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = key or os.urandom(4)
    return head + key + mask_bytes(payload, key)


def mask_bytes(payload, key):
    if not payload:
        return b""
    k = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(len(payload), "big")


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    @property
    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self):
        return self.payload[2:].decode("utf-8")

    def __repr__(self):
        p = self.payload if len(self.payload) < 80 else self.payload[:80] + b"..."
        return f"Frame(fin={self.fin}, rsv={self.rsv}, op={self.opcode}, {p!r})"


class HTTPResponse:
    def __init__(self, status, reason, headers, raw_head):
        self.status, self.reason, self.headers, self.raw_head = status, reason, headers, raw_head
        self.body = b""
        self.extra = b""
        self.eof = False

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return vals[0] if vals else None

    def header_names(self):
        return [k.lower() for k, _ in self.headers]


class RawClient:
    """A blocking socket client with timeouts. Use handshake() or request()."""

    def __init__(self, port, timeout=5.0, rcvbuf=None):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.eof = False
        self.controls = []   # ping/pong frames seen by recv_message
        self.send_failed = False

    # ---- HTTP
    def request_bytes(self, path="/", headers=None, key=None, method="GET", version="HTTP/1.1",
                      host=True):
        key = key or ws_key()
        hs = [] if host is False else [("Host", host if isinstance(host, str)
                                         else f"127.0.0.1:{self.port}")]
        if headers is None:
            headers = upgrade_headers(key)
        lines = [f"{method} {path} {version}"] + [f"{k}: {v}" for k, v in hs + list(headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def send(self, data):
        """sendall; a peer that already closed (EPIPE/ECONNRESET) is not an
        error here: the test then reads whatever the server said."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.send_failed = True

    def _fill(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(262144)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def _take(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {n} bytes (have {len(self.buf)})")
            if not self._fill(left):
                raise EOFError(f"EOF while waiting for {n} bytes (have {self.buf[:200]!r})")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete response head: {self.buf[:500]!r}")
            if not self._fill(left):
                raise EOFError(f"EOF before response head: {self.buf[:500]!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        ver, code, *reason = lines[0].split(" ", 2)
        headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers.append((k, v.strip()))
        return HTTPResponse(int(code), reason[0] if reason else "", headers, head)

    def read_to_eof(self, timeout=3.0):
        """Reads until the server closes; returns everything unread."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"server did not close the connection in {timeout}s;"
                                   f" got {self.buf[:300]!r}")
            try:
                self._fill(left)
            except socket.timeout:
                continue
        out, self.buf = self.buf, b""
        return out

    def handshake(self, path="/", headers=None, extra=b"", key=None, timeout=3.0):
        if key is None and headers is not None:
            key = next((v for k, v in headers if k.lower() == "sec-websocket-key"), None)
        key = key or ws_key()
        self.send(self.request_bytes(path, headers, key) + extra)
        r = self.read_response(timeout)
        assert r.status == 101, f"expected 101, got {r.status} {r.raw_head!r} {self.buf!r}"
        assert r.header("Sec-WebSocket-Accept") == accept_for(key)
        return r

    # ---- frames
    def send_frame(self, opcode, payload=b"", **kw):
        self.send(build_frame(opcode, payload, **kw))

    def send_text(self, s):
        self.send_frame(OP_TEXT, s.encode() if isinstance(s, str) else s)

    def send_binary(self, b):
        self.send_frame(OP_BIN, b)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, close_payload(code, reason) if code is not None else b"")

    def recv_frame(self, timeout=3.0):
        h = self._take(2, timeout)
        fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 15
        masked, n = h[1] >> 7, h[1] & 127
        assert not masked, "server frames must not be masked"
        if n == 126:
            n = struct.unpack("!H", self._take(2, timeout))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8, timeout))[0]
        return Frame(fin, rsv, op, self._take(n, timeout) if n else b"")

    def recv_message(self, timeout=3.0):
        """Next data message as (opcode, bytes), or (OP_CLOSE, payload).
        Pings/pongs are collected in self.controls."""
        deadline = time.monotonic() + timeout
        op, data = None, b""
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if f.opcode in (OP_PING, OP_PONG):
                self.controls.append(f)
                continue
            if f.opcode == OP_CLOSE:
                # Legal even inside a fragmented message (RFC 6455 5.4); the
                # unfinished message is then dropped.
                return OP_CLOSE, f.payload
            if op is None:
                assert f.opcode in (OP_TEXT, OP_BIN), f"unexpected {f}"
                op = f.opcode
            else:
                assert f.opcode == OP_CONT, f"expected continuation, got {f}"
            data += f.payload
            if f.fin:
                return op, data

    def recv_text(self, timeout=3.0):
        op, data = self.recv_message(timeout)
        assert op == OP_TEXT, f"expected text, got op {op} {data[:100]!r}"
        return data.decode("utf-8")

    def expect_close(self, timeout=3.0):
        """Reads messages until the server's close frame. Returns
        (code, reason, [messages before it])."""
        msgs = []
        deadline = time.monotonic() + timeout
        while True:
            op, data = self.recv_message(max(0.01, deadline - time.monotonic()))
            if op == OP_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                return code, data[2:].decode("utf-8"), msgs
            msgs.append((op, data))

    def expect_eof(self, timeout=3.0):
        rest = self.read_to_eof(timeout)
        assert rest == b"", f"bytes after the close frame: {rest[:200]!r}"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_request(port, data, timeout=3.0):
    """Sends raw bytes and reads one response: .body is the Content-Length
    body (or everything up to EOF without one); .eof tells whether the server
    then closed the connection within `timeout`."""
    c = RawClient(port, timeout=timeout)
    try:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response(timeout)
        cl = r.header("Content-Length")
        try:
            if cl is not None:
                r.body = c._take(int(cl), timeout)
                rest = c.read_to_eof(timeout)
                r.extra = rest
            else:
                r.body = c.read_to_eof(timeout)
                r.extra = b""
            r.eof = True
        except (TimeoutError, EOFError):
            r.body = r.body or c.buf
            r.eof = c.eof
        return r
    finally:
        c.close()


# --------------------------------------------------------------------------
# python-websockets helpers

def arun(coro, timeout=20):
    """Runs a coroutine to completion with an overall timeout."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def connect(srv_or_url, path="/", **kw):
    import websockets
    url = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.url(path)
    opts = dict(max_size=None, open_timeout=5, close_timeout=3, ping_interval=None,
                compression=None)
    opts.update(kw)
    return websockets.connect(url, **opts)


async def recv_all(ws, timeout=5.0):
    """Receives messages until the connection closes; returns (messages,
    close_code, close_reason)."""
    import websockets
    msgs = []
    try:
        while True:
            msgs.append(await asyncio.wait_for(ws.recv(), timeout))
    except websockets.ConnectionClosed as e:
        return msgs, e.rcvd.code if e.rcvd else 1006, e.rcvd.reason if e.rcvd else ""


# --------------------------------------------------------------------------
# Servers on a Unix socket (--unixsocket). Additive: `wsd` above is
# unchanged; `wsd_unix` has the same teardown checks (_finish_servers).
# Do not use `wsd` and `wsd_unix` in the same test (each teardown would
# count the other's still-running servers as left behind); wsd_unix(...,
# tcp=True) gives a server on both a Unix socket and a TCP port.

class UnixServer(Server):
    """wsd --unixsocket=PATH. tcp=False: no --port/--address at all, so wsd
    listens only on the socket (self.port is None); tcp=True: also on
    127.0.0.1 and a free port, like Server. Ready when the socket accepts."""

    def __init__(self, tmp, cmd, sock_path, tcp=False, **kw):
        self.sock_path = Path(sock_path)
        self.tcp = tcp
        super().__init__(tmp, cmd, **kw)

    def argv(self, port):
        a = [str(WSD_BIN), f"--unixsocket={self.sock_path}"] + root_flags()
        if self.tcp:
            a += self.port_args(port) + ["--address=127.0.0.1"]
        if self.closems:
            a.append("--closems=0")
        return a + self.flags + self.cmd

    def _unix_accepts(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(str(self.sock_path))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _start(self):
        if self.tcp:
            super()._start()
        else:
            self.port = None
            with open(self.stdout_path, "wb") as o, open(self.stderr_path, "wb") as e:
                self.proc = subprocess.Popen(self.argv(None), stdin=subprocess.DEVNULL,
                                             stdout=o, stderr=e, env=self.env, cwd=self.cwd,
                                             start_new_session=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self._unix_accepts():
                return
            time.sleep(0.02)
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"server not accepting on {self.sock_path} after 5 s")
        raise RuntimeError(f"server failed to start: exit {rc}: {self.err()[-2000:]} "
                           f"{self.log()[-2000:]}")

    def url(self, path="/"):
        """The TCP URL with tcp=True (connect() then works), else the URL
        used over the socket."""
        return super().url(path) if self.tcp else f"ws://localhost{path}"

    def unix_connect(self, path="/", **kw):
        """python-websockets client over the socket (same defaults as connect())."""
        import websockets
        opts = dict(max_size=None, open_timeout=5, close_timeout=3, ping_interval=None,
                    compression=None)
        opts.update(kw)
        return websockets.unix_connect(str(self.sock_path), f"ws://localhost{path}", **opts)


class RawUnixClient(RawClient):
    """RawClient over a Unix socket (Host: localhost)."""

    def __init__(self, sock_path, timeout=5.0):
        self.port = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(sock_path))
        self.buf = b""
        self.eof = False
        self.controls = []
        self.send_failed = False

    def request_bytes(self, path="/", headers=None, key=None, method="GET", version="HTTP/1.1",
                      host=True):
        return super().request_bytes(path, headers, key, method, version,
                                     "localhost" if host is True else host)


def _finish_servers(servers):
    """The `wsd` fixture's teardown checks, for other server factories:
    SIGTERM → exit status, sanitizer reports, processes left behind."""
    problems = []
    for s in servers:
        was_running = s.proc.poll() is None
        rc = s._terminate(signal.SIGTERM, 6.0)
        if not IS_WEBSOCKETD:
            if was_running and rc is None:
                problems.append(f"wsd pid {s.pid} ignored SIGTERM for 6 s (SIGKILLed)")
            elif was_running and s.expect_exit is not None and rc != s.expect_exit:
                problems.append(f"wsd exited {rc} on SIGTERM, expected {s.expect_exit}")
        rep = None if IS_WEBSOCKETD else s.sanitizer_report()
        if rep:
            problems.append(f"sanitizer report ({rep}) in wsd stderr:\n{s.err()[-6000:]}")
    me = os.getpid()
    ours = {s.pid for s in servers}

    def leftovers():
        _reap_our_zombies()
        return [c for c in children_of(me) if c not in ours and is_alive(c)]
    left = wait_until(lambda: not leftovers(), 3.0) or leftovers()
    if left is not True and left:
        desc = []
        for p in left:
            try:
                desc.append(f"{p}: {Path(f'/proc/{p}/cmdline').read_bytes()!r}")
            except OSError:
                desc.append(str(p))
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not [c for c in left if is_alive(c)], 2.0)
        _reap_our_zombies()
        if not IS_WEBSOCKETD:
            problems.append("processes left behind after wsd exited: " + "; ".join(desc))
    return problems


@pytest.fixture
def unix_dir():
    """A short temporary directory for socket paths (sun_path is 108 bytes)."""
    import shutil
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="wsdu-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def wsd_unix(tmp_path):
    """Factory: wsd_unix(*cmd, sock_path=..., tcp=False, flags=[...], env=...)."""
    servers = []

    def start(*cmd, sock_path, **kw):
        s = UnixServer(tmp_path, cmd, sock_path, **kw)
        servers.append(s)
        return s

    yield start
    problems = _finish_servers(servers)
    if problems:
        pytest.fail("\n".join(problems))


# --------------------------------------------------------------------------
# Small helpers for feature tests

def write_prog(path, text):
    """Writes an executable program (text starts with its #! line)."""
    path = Path(path)
    path.write_text(text)
    path.chmod(0o755)
    return path


def run_wsd(*args, timeout=5.0):
    """Runs wsd to completion (start-up errors); returns (status, stdout+stderr).
    status None: still running after `timeout` (it was killed). As root,
    --allowroot goes first (root_flags)."""
    try:
        r = subprocess.run([str(WSD_BIN), *root_flags(), *map(str, args)], stdin=subprocess.DEVNULL,
                           capture_output=True, env=wsd_env(), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        return None, out.decode("utf-8", "replace")
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Any server binary (differential tests: wsd beside websocketd). Additive:
# `wsd` above is unchanged. Do not mix `any_server` with `wsd`/`wsd_unix` in
# one test (each teardown would count the other's servers as left behind).

WEBSOCKETD_BIN = Path("/usr/bin/websocketd")


class BinServer(Server):
    """A Server running `binary` instead of WSD_BIN, with the same argv
    (--port, --address=127.0.0.1, --closems=0, flags, COMMAND). Every Server
    starts in its own session, so a websocketd and the children it orphans
    share one process group, SIGKILLed at teardown."""

    def __init__(self, binary, tmp, cmd, **kw):
        self.binary = Path(binary)
        super().__init__(tmp, cmd, **kw)

    @property
    def is_websocketd(self):
        return self.binary.name.startswith("websocketd")

    def argv(self, port):
        a = super().argv(port)
        a[0] = str(self.binary)
        return a


@pytest.fixture
def any_server(tmp_path):
    """Factory: any_server(binary, *cmd, flags=[...], env=..., cwd=...).
    Teardown: websocketd servers are stopped and their whole process group
    killed (websocketd orphans its children); every other server gets the
    `wsd` fixture's checks (exit 0 on SIGTERM, no sanitizer report, nothing
    left behind)."""
    servers = []

    def start(binary, *cmd, **kw):
        s = BinServer(binary, tmp_path, cmd, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        if s.is_websocketd:
            s._terminate(signal.SIGTERM, 3.0)
            try:
                os.killpg(s.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    problems = _finish_servers([s for s in servers if not s.is_websocketd])
    if problems:
        pytest.fail("\n".join(problems))


# --------------------------------------------------------------------------
# Conformance helpers (test_rfc6455.py, test_rfc7692.py): chopped writes and
# a frame reader that checks the server's frames against RFC 6455 §5.

def send_chopped(c, data, sizes=1, delay=0.0002, seed=0):
    """Writes `data` to RawClient c in pieces, with TCP_NODELAY so each piece
    leaves at once: sizes=N → pieces of N bytes; sizes=(lo, hi) → random
    sizes in [lo, hi] (reproducible from `seed`). Sleeps `delay` after each
    piece (every 16th piece when there are more than 512)."""
    import random
    rnd = random.Random(seed)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pos, k = 0, 0
    avg = sizes if isinstance(sizes, int) else max(1, sum(sizes) // 2)
    many = len(data) // avg > 512
    while pos < len(data):
        n = sizes if isinstance(sizes, int) else rnd.randint(*sizes)
        c.send(data[pos:pos + n])
        pos += n
        k += 1
        if delay and (not many or k % 16 == 0):
            time.sleep(delay)


def recv_frame_strict(c, timeout=3.0, rsv_ok=0):
    """RawClient.recv_frame plus the RFC 6455 §5.1/§5.2/§5.5 checks on a
    server frame: not masked, a known opcode, no RSV bit beyond `rsv_ok`
    (RSV1 = 4), the minimal length encoding (64-bit lengths with the top bit
    clear), control frames final and ≤ 125 bytes."""
    h = c._take(2, timeout)
    fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 15
    assert not h[1] & 0x80, f"masked server frame {h!r} (RFC 6455 §5.1)"
    n = h[1] & 127
    if n == 126:
        n = struct.unpack("!H", c._take(2, timeout))[0]
        assert n > 125, f"16-bit length for {n} bytes: not minimal (RFC 6455 §5.2)"
    elif n == 127:
        n = struct.unpack("!Q", c._take(8, timeout))[0]
        assert n >> 63 == 0, "64-bit length with the top bit set (RFC 6455 §5.2)"
        assert n > 0xFFFF, f"64-bit length for {n} bytes: not minimal (RFC 6455 §5.2)"
    assert op in (0, 1, 2, 8, 9, 10), f"server sent reserved opcode {op} (RFC 6455 §5.2)"
    assert not rsv & ~rsv_ok, f"server set RSV bits {rsv:03b} (RFC 6455 §5.2)"
    if op & 8:
        assert fin and n <= 125, f"bad control frame fin={fin} len={n} (RFC 6455 §5.5)"
    return Frame(fin, rsv, op, c._take(n, timeout) if n else b"")


def recv_events(c, count=None, until_close=False, timeout=5.0, on_message=None, rsv_ok=0):
    """Reads server frames (checked by recv_frame_strict, and their sequence
    by RFC 6455 §5.4) and returns events in arrival order:
    ("text"|"binary", payload), ("ping"|"pong", payload),
    ("close", code or None, reason bytes), and ("partial", kind, payload)
    for a fragmented message cut by the close. Stops after `count` events or
    at the close (until_close=True, or when it comes first). on_message(op,
    frames) → payload replaces plain concatenation (permessage-deflate)."""
    deadline = time.monotonic() + timeout
    events, cur = [], []
    names = {OP_TEXT: "text", OP_BIN: "binary", OP_PING: "ping", OP_PONG: "pong"}
    while until_close or count is None or len(events) < count:
        f = recv_frame_strict(c, max(0.01, deadline - time.monotonic()), rsv_ok)
        if rsv_ok and (f.opcode & 8 or f.opcode == OP_CONT):
            assert f.rsv == 0, f"RSV bits on a control or continuation frame: {f} (RFC 7692 §6.1)"
        if f.opcode == OP_CLOSE:
            if cur:
                events.append(("partial", names[cur[0].opcode],
                               b"".join(x.payload for x in cur)))
            code = struct.unpack("!H", f.payload[:2])[0] if len(f.payload) >= 2 else None
            assert len(f.payload) != 1, "close frame with a 1-byte payload (RFC 6455 §5.5.1)"
            events.append(("close", code, f.payload[2:]))
            return events
        if f.opcode in (OP_PING, OP_PONG):
            events.append((names[f.opcode], f.payload))
            continue
        if f.opcode == OP_CONT:
            assert cur, f"continuation frame without a message (RFC 6455 §5.4): {f}"
        else:
            assert not cur, f"new data frame inside a fragmented message (RFC 6455 §5.4): {f}"
        cur.append(f)
        if f.fin:
            op = cur[0].opcode
            data = (on_message(op, cur) if on_message
                    else b"".join(x.payload for x in cur))
            events.append((names[op], data))
            cur = []
    return events
