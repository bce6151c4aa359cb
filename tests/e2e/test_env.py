"""The child's CGI-style environment (spec 13)."""
import re

import pytest

from conftest import CHILD, RawClient, upgrade_headers


def child_env(srv, path="/", headers=(), host=None):
    """Connects (raw), returns the child's environment as a dict, plus the
    client's local port."""
    c = RawClient(srv.port)
    if host is not None:
        hdrs = upgrade_headers(extra=headers)
        key = hdrs[2][1]
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in hdrs]
        c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        r = c.read_response()
        assert r.status == 101
        from conftest import accept_for
        assert r.header("Sec-WebSocket-Accept") == accept_for(key)
    else:
        c.handshake(path=path, headers=upgrade_headers(extra=headers))
    code, _, msgs = c.expect_close() if not _websocketd() else _until_eof(c)
    env = {}
    for _, line in msgs:
        k, _, v = line.decode().partition("=")
        env[k] = v
    return env, c.sock.getsockname()[1]


def _websocketd():
    from conftest import IS_WEBSOCKETD
    return IS_WEBSOCKETD


def _until_eof(c):
    msgs = []
    try:
        while True:
            msgs.append(c.recv_message())
    except EOFError:
        pass
    return None, None, msgs


def test_cgi_variables(wsd):
    srv = wsd(CHILD, "env")
    env, cport = child_env(srv, "/the/path?a=1&b=%20x")
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(cport)
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["GATEWAY_INTERFACE"] == "websocketd-CGI/0.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/"
    assert env["PATH_INFO"] == "/the/path"
    assert env["QUERY_STRING"] == "a=1&b=%20x"
    assert env["REQUEST_URI"] == "/the/path?a=1&b=%20x"
    for k in ("AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "REMOTE_IDENT", "REMOTE_USER"):
        assert env.get(k) == "", k
    assert env["HTTP_UPGRADE"] == "websocket"
    assert env["HTTP_SEC_WEBSOCKET_VERSION"] == "13"


def test_path_info_decoded(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv, "/a%20b/c")
    assert env["PATH_INFO"] == "/a b/c"
    assert env["REQUEST_URI"] == "/a%20b/c"


def test_server_name_and_port_from_host(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv, host="example.test:1234")
    assert env["SERVER_NAME"] == "example.test"
    assert env["SERVER_PORT"] == "1234"


def test_server_port_defaults_to_80(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv, host="example.test")
    assert env["SERVER_NAME"] == "example.test"
    assert env["SERVER_PORT"] == "80"


def test_http_headers(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv, headers=[("X-Foo-Bar", "v1"), ("X-Foo-Bar", "v2"),
                                     ("X-Single", "  padded  "), ("Cookie", "a=1; b=2")])
    assert env["HTTP_X_FOO_BAR"] == "v1, v2"
    assert env["HTTP_X_SINGLE"] == "padded"
    assert env["HTTP_COOKIE"] == "a=1; b=2"


@pytest.mark.deliberate
def test_header_names_beyond_letters_digits_dash_are_left_out(wsd):
    """X_Real_Ip and X.Real.Ip cannot pose as the X-Real-Ip a proxy sets:
    only names of letters, digits and '-' become HTTP_* variables (websocketd
    maps X_Real_Ip onto HTTP_X_REAL_IP too, one of the two winning at random)."""
    srv = wsd(CHILD, "env")
    for order in ([("X-Real-Ip", "10.0.0.1"), ("X_Real_Ip", "6.6.6.6"), ("X.Real.Ip", "6.6.6.7")],
                  [("X_Real_Ip", "6.6.6.6"), ("x.real.ip", "6.6.6.7"), ("X-Real-Ip", "10.0.0.1")]):
        env, _ = child_env(srv, headers=order)
        assert env["HTTP_X_REAL_IP"] == "10.0.0.1", order
        assert not [k for k in env if "REAL" in k and k != "HTTP_X_REAL_IP"], sorted(env)
    env, _ = child_env(srv, headers=[("X_Only", "u"), ("X.Dot", "d"), ("X~T", "t")])
    assert not [k for k in env if k.startswith(("HTTP_X_ONLY", "HTTP_X_DOT", "HTTP_X.", "HTTP_X~"))]


def test_unique_id_matches_log(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv)
    m = srv.wait_log(r"id:'([^']+)'.*\| CONNECT$")
    assert env["UNIQUE_ID"] == m.group(1)


@pytest.mark.deliberate
def test_http_host_present(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv, host="example.test:1234")
    assert env["HTTP_HOST"] == "example.test:1234"


@pytest.mark.deliberate
def test_server_software(wsd):
    srv = wsd(CHILD, "env")
    env, _ = child_env(srv)
    assert env["SERVER_SOFTWARE"].startswith("wsd/")


def test_only_default_passenv_inherited(wsd):
    srv = wsd(CHILD, "env", env={"FOO": "bar", "LD_LIBRARY_PATH": "/nowhere"})
    env, _ = child_env(srv)
    assert "FOO" not in env
    assert "WSD_E2E_MARKER" not in env
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert env["LD_LIBRARY_PATH"] == "/nowhere"
    assert not [k for k in env if k in ("HOME", "USER", "LANG")]


def test_passenv_list_replaces_default(wsd):
    srv = wsd(CHILD, "env", flags=["--passenv=FOO,PATH"],
              env={"FOO": "bar", "LD_LIBRARY_PATH": "/nowhere"})
    env, _ = child_env(srv)
    assert env["FOO"] == "bar"
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert "LD_LIBRARY_PATH" not in env


def test_passenv_without_path(wsd):
    srv = wsd(CHILD, "env", flags=["--passenv=FOO"], env={"FOO": "bar"})
    env, _ = child_env(srv)
    assert env["FOO"] == "bar"
    assert "PATH" not in env


def test_no_duplicate_variables(wsd):
    srv = wsd(CHILD, "env")
    c = RawClient(srv.port)
    c.handshake(path="/x")
    names = []
    try:
        while True:
            op, data = c.recv_message()
            if op == 8:
                break
            names.append(data.decode().partition("=")[0])
    except EOFError:
        pass
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f"duplicate variables: {dup}"
    assert all(re.fullmatch(r"[A-Z0-9_]+", n) for n in names), names
