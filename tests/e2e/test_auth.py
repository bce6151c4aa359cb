"""Authentication (#13 item 1): --htpasswd (HTTP Basic against Apache's
htpasswd hashes, checked with libxcrypt) and --authcmd (an external
authorizer), for WebSocket handshakes, the console page, static files and
CGI; every refusal path. Clients: python-websockets with extra_headers,
raw sockets, curl, openssl s_client.
"""
import asyncio
import base64
import os
import signal
import subprocess
import time

import pytest

from conftest import (IS_WEBSOCKETD, REPO, SCRIPTS, RawClient, arun, connect, raw_request,
                      recv_all, run_wsd, upgrade_headers, wait_until, write_prog)

pytestmark = pytest.mark.skipif(IS_WEBSOCKETD, reason="wsd only: #13 access control")

ENV = str(SCRIPTS / "env.sh")
CERTS = REPO / "tests" / "certs"


def htpasswd(path, user, password, *opts):
    """Apache's htpasswd (apache2-utils) writes the entry (bcrypt unless
    told otherwise: htpasswd's own default is MD5, which wsd refuses)."""
    args = ["htpasswd", "-b", *(opts or ["-B"])]
    if not path.exists():
        args.insert(1, "-c")
    subprocess.run(args + [str(path), user, password], check=True, capture_output=True)
    return path


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ws_env(srv, headers=None, path="/"):
    async def go():
        async with connect(srv, path, extra_headers=headers or {}) as ws:
            msgs, _, _ = await recv_all(ws)
        return dict(m.partition("=")[::2] for m in msgs)
    return arun(go())


def refused_status(srv, headers=None, path="/"):
    """The HTTP status of a refused WebSocket handshake."""
    import websockets

    async def go():
        try:
            async with connect(srv, path, extra_headers=headers or {}):
                return 101
        except websockets.InvalidStatusCode as e:
            return e.status_code
    return arun(go())


def upgrade(srv, extra=(), method="GET"):
    c = RawClient(srv.port)
    c.send(c.request_bytes(headers=upgrade_headers(extra=extra), method=method))
    r = c.read_response()
    body = c.read_to_eof()
    c.close()
    return r, body


def curl(*args):
    r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *map(str, args)],
                       capture_output=True, text=True, timeout=10)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


@pytest.fixture
def pw(tmp_path):
    return htpasswd(tmp_path / "htpasswd", "alice", "wonder land")


# --------------------------------------------------------------------------
# --htpasswd

def test_basic_auth_user_reaches_the_program_and_the_log(wsd, pw):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}"])
    env = ws_env(srv, {"Authorization": basic("alice", "wonder land")})
    assert env["REMOTE_USER"] == "alice"
    assert env["AUTH_TYPE"] == "Basic"
    assert "HTTP_AUTHORIZATION" not in env      # the password stays with wsd
    srv.wait_log(r"remote:'127\.0\.0\.1' .*user:'alice' \| CONNECT")
    srv.wait_log(r"user:'alice' pid:'\d+' \| DISCONNECT")
    srv.wait_log(r"Authentication \(Basic\) +: 1 user from ")


def test_no_credentials_is_401_with_a_challenge_and_no_program(wsd, pw):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}", "--authrealm=My app"])
    r, body = upgrade(srv)
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="My app", charset="UTF-8"'
    assert body == b"401 Unauthorized\n"
    assert srv.children() == []
    srv.wait_log(r"Authentication required: 401")
    assert "CONNECT" not in srv.log()


@pytest.mark.parametrize("user,password", [("alice", "wonder lan"), ("alice", ""),
                                           ("mallory", "wonder land"), ("Alice", "wonder land")])
def test_wrong_credentials_are_401_and_logged(wsd, pw, user, password):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}"])
    assert refused_status(srv, {"Authorization": basic(user, password)}) == 401
    srv.wait_log(rf"Authentication failed for user '{user}': 401")
    assert srv.children() == []


@pytest.mark.parametrize("opts", [["-B"], ["-B", "-C", "4"], ["-B", "-C", "10"], ["-5"], ["-2"],
                                  ["-5", "-r", "20000"]],
                         ids=["bcrypt", "bcrypt-4", "bcrypt-10", "sha512", "sha256",
                              "sha512-rounds"])
def test_every_hash_htpasswd_writes_securely(wsd, tmp_path, opts):
    f = htpasswd(tmp_path / "ht", "bob", "p:a:s:s é", *opts)
    srv = wsd(ENV, flags=[f"--htpasswd={f}"])
    assert ws_env(srv, {"Authorization": basic("bob", "p:a:s:s é")})["REMOTE_USER"] == "bob"
    assert refused_status(srv, {"Authorization": basic("bob", "p:a:s:s e")}) == 401


@pytest.mark.parametrize("opt,why", [("-m", r"an MD5 hash \(\$apr1\$"), ("-s", "SHA-1"),
                                     ("-p", "plain text"), ("-d", "DES crypt")])
def test_weak_hashes_are_refused_at_start_up(tmp_path, opt, why):
    f = tmp_path / "ht"
    htpasswd(f, "alice", "x", "-B")
    subprocess.run(["htpasswd", "-b", opt, str(f), "bob", "pw"], capture_output=True, check=True)
    st, out = run_wsd(f"--htpasswd={f}", "--port=0", "cat")
    assert st == 1
    import re
    assert re.search(rf"wsd: --htpasswd={f}: line 2: user 'bob': .*{why}", out), out


@pytest.mark.parametrize("content,why", [(None, "No such file or directory"),
                                         ("", "no user in the file"),
                                         ("# nobody\n", "no user in the file"),
                                         ("x\n", "line 1: not user:hash")])
def test_unusable_htpasswd_file_is_a_start_up_error(tmp_path, content, why):
    f = tmp_path / "ht"
    if content is not None:
        f.write_text(content)
    st, out = run_wsd(f"--htpasswd={f}", "--port=0", "cat")
    assert st == 1 and why in out, out


MALFORMED = ["Basic", "Basic !!!", "Basic dXNlcg==", "Basic dTpw=", "Basic " + "QUFB" * 400,
             "Basic dTpwAA==", "Basic\tdTpw"]


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_authorization_is_400(wsd, pw, value):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}"])
    r, body = upgrade(srv, [("Authorization", value)])
    assert r.status == 400 and body == b"400 Bad Request: malformed Authorization header\n"
    srv.wait_log(r"Malformed Authorization header: 400")
    # and the server goes on
    assert ws_env(srv, {"Authorization": basic("alice", "wonder land")})["REMOTE_USER"] == "alice"


def test_two_authorization_headers_are_400(wsd, pw):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}"])
    good = basic("alice", "wonder land")
    r, _ = upgrade(srv, [("Authorization", good), ("Authorization", good)])
    assert r.status == 400


def test_another_scheme_is_401(wsd, pw):
    srv = wsd(ENV, flags=[f"--htpasswd={pw}"])
    r, _ = upgrade(srv, [("Authorization", "Bearer abc.def.ghi")])
    assert r.status == 401 and r.header("WWW-Authenticate").startswith("Basic realm=")
    srv.wait_log(r"Authorization scheme 'Bearer' is not Basic: 401")


def test_console_static_and_cgi_are_covered(wsd, pw, tmp_path):
    """curl: the console page, a static file and a CGI script all need the
    credentials; the CGI script sees the user, not the password."""
    console = wsd(ENV, flags=[f"--htpasswd={pw}", "--devconsole"])
    code, _ = curl(f"http://127.0.0.1:{console.port}/")
    assert code == 401
    code, body = curl("-u", "alice:wonder land", f"http://127.0.0.1:{console.port}/")
    assert code == 200 and "wsd console" in body
    static, cgi = tmp_path / "static", tmp_path / "cgi"
    static.mkdir()
    cgi.mkdir()
    (static / "a.txt").write_text("static file\n")
    write_prog(cgi / "e.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n")
    srv = wsd(flags=[f"--htpasswd={pw}", f"--staticdir={static}", f"--cgidir={cgi}"])
    base = f"http://127.0.0.1:{srv.port}"
    assert curl(f"{base}/a.txt")[0] == 401
    assert curl("-u", "alice:nope", f"{base}/a.txt")[0] == 401
    assert curl("-u", "alice:wonder land", f"{base}/a.txt") == (200, "static file\n")
    assert curl(f"{base}/e.cgi")[0] == 401
    code, body = curl("-u", "alice:wonder land", f"{base}/e.cgi")
    env = dict(line.partition("=")[::2] for line in body.splitlines())
    assert code == 200 and env["REMOTE_USER"] == "alice" and env["AUTH_TYPE"] == "Basic"
    assert "HTTP_AUTHORIZATION" not in env
    assert curl("-u", "alice:wonder land", f"{base}/missing")[0] == 404


def test_publicstatic_leaves_static_files_public_only(wsd, pw, tmp_path):
    static, cgi = tmp_path / "static", tmp_path / "cgi"
    static.mkdir()
    cgi.mkdir()
    (static / "index.html").write_text("<p>public</p>\n")
    write_prog(cgi / "e.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n")
    srv = wsd(ENV, flags=[f"--htpasswd={pw}", f"--staticdir={static}", f"--cgidir={cgi}",
                          "--publicstatic"])
    base = f"http://127.0.0.1:{srv.port}"
    assert curl(f"{base}/") == (200, "<p>public</p>\n")
    assert curl(f"{base}/nope.html")[0] == 404
    assert curl(f"{base}/e.cgi")[0] == 401                     # CGI: still protected
    assert curl("-u", "alice:wonder land", f"{base}/e.cgi") == (200, "ok\n")
    assert refused_status(srv) == 401                          # WebSocket: still protected


def test_sighup_reloads_the_file_and_keeps_it_when_the_new_one_is_bad(wsd, tmp_path):
    f = htpasswd(tmp_path / "ht", "alice", "old one")
    srv = wsd(ENV, flags=[f"--htpasswd={f}"])
    assert ws_env(srv, {"Authorization": basic("alice", "old one")})["REMOTE_USER"] == "alice"
    htpasswd(f, "alice", "new one")
    htpasswd(f, "carol", "third")
    srv.kill(signal.SIGHUP)
    srv.wait_log(r"INFO .*Received SIGHUP: reloaded .*ht \(2 users\)")
    assert refused_status(srv, {"Authorization": basic("alice", "old one")}) == 401
    assert ws_env(srv, {"Authorization": basic("alice", "new one")})["REMOTE_USER"] == "alice"
    assert ws_env(srv, {"Authorization": basic("carol", "third")})["REMOTE_USER"] == "carol"
    subprocess.run(["htpasswd", "-b", "-m", str(f), "dave", "md5"], check=True, capture_output=True)
    srv.kill(signal.SIGHUP)
    srv.wait_log(r"ERROR .*Received SIGHUP: .*ht not reloaded \(line 3: user 'dave': an MD5 hash"
                 r".*keeping the 2 users read before")
    assert ws_env(srv, {"Authorization": basic("carol", "third")})["REMOTE_USER"] == "carol"
    assert refused_status(srv, {"Authorization": basic("dave", "md5")}) == 401


def test_a_changed_file_is_reloaded_without_a_signal(wsd, tmp_path):
    f = htpasswd(tmp_path / "ht", "alice", "first")
    srv = wsd(ENV, flags=[f"--htpasswd={f}"])
    assert refused_status(srv, {"Authorization": basic("alice", "second")}) == 401
    new = tmp_path / "ht.new"
    htpasswd(new, "alice", "second")
    os.replace(new, f)                   # as an editor or a deploy does
    time.sleep(1.1)                      # the file is looked at once a second at most
    assert ws_env(srv, {"Authorization": basic("alice", "second")})["REMOTE_USER"] == "alice"
    srv.wait_log(r"The file changed: reloaded .*ht \(1 user\)")


def test_sighup_reaches_every_worker(wsd, tmp_path):
    f = htpasswd(tmp_path / "ht", "alice", "one")
    srv = wsd(ENV, flags=[f"--htpasswd={f}", "--workers=2"])
    htpasswd(f, "alice", "two")
    srv.kill(signal.SIGHUP)
    wait_until(lambda: srv.log().count("Received SIGHUP: reloaded") >= 2, 3.0)
    assert srv.log().count("Received SIGHUP: reloaded") == 2
    for _ in range(6):                   # whichever worker answers
        assert ws_env(srv, {"Authorization": basic("alice", "two")})["REMOTE_USER"] == "alice"


def test_tls_with_openssl_s_client(wsd, pw):
    """Basic over TLS (openssl s_client as the client)."""
    srv = wsd(ENV, flags=[f"--htpasswd={pw}", "--ssl", f"--sslcert={CERTS / 'server.pem'}",
                          f"--sslkey={CERTS / 'server.key'}"])

    def s_client(auth):
        req = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 13\r\n{auth}\r\n")
        p = subprocess.run(["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{srv.port}",
                            "-CAfile", str(CERTS / "ca.pem"), "-verify_return_error"],
                           input=req.encode(), capture_output=True, timeout=10)
        return p.stdout
    out = s_client("")
    assert out.startswith(b"HTTP/1.1 401 Unauthorized\r\n"), out
    out = s_client(f"Authorization: {basic('alice', 'wonder land')}\r\n")
    assert out.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), out
    assert b"REMOTE_USER=alice" in out and b"HTTPS=on" in out


def test_head_request_gets_no_body(wsd, pw, tmp_path):
    static = tmp_path / "s"
    static.mkdir()
    srv = wsd(flags=[f"--htpasswd={pw}", f"--staticdir={static}"])
    r = raw_request(srv.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 401 and r.header("Content-Length") == "17" and r.body == b""


# --------------------------------------------------------------------------
# --authcmd

def authorizer(tmp_path, body, name="auth.sh"):
    return write_prog(tmp_path / name, "#!/bin/sh\n" + body)


COOKIE_AUTH = """\
# a token in a cookie, as a browser's WebSocket sends it
case "$HTTP_COOKIE" in
  *token=good*) echo REMOTE_USER=bob; echo USER_ID=42; echo "ROLE=admin team"
                echo "SEEN_ADDR=$REMOTE_ADDR"; echo "SEEN_URI=$REQUEST_URI"; exit 0 ;;
  *token=expired*) echo "Status: 401"; exit 1 ;;
  *token=slow*) echo "Status: 429"; exit 3 ;;
esac
exit 1
"""


def test_authcmd_allows_and_adds_variables(wsd, tmp_path):
    a = authorizer(tmp_path, COOKIE_AUTH)
    srv = wsd(ENV, flags=[f"--authcmd={a}"])
    env = ws_env(srv, {"Cookie": "x=1; token=good"}, path="/room?x=1")
    assert env["REMOTE_USER"] == "bob"
    assert env["USER_ID"] == "42" and env["ROLE"] == "admin team"
    assert env["SEEN_ADDR"] == "127.0.0.1" and env["SEEN_URI"] == "/room?x=1"
    assert env["AUTH_TYPE"] == ""                # no Authorization header: no scheme
    assert env["HTTP_COOKIE"] == "x=1; token=good"
    srv.wait_log(r"user:'bob' \| CONNECT")


def test_authcmd_refusals(wsd, tmp_path):
    a = authorizer(tmp_path, COOKIE_AUTH)
    srv = wsd(ENV, flags=[f"--authcmd={a}"])
    assert refused_status(srv) == 403
    srv.wait_log(r"Authorizer refused \(exit 1\): 403")
    r, _ = upgrade(srv, [("Cookie", "token=expired")])
    assert r.status == 401 and r.header("WWW-Authenticate").startswith("Basic realm=\"wsd\"")
    r, body = upgrade(srv, [("Cookie", "token=slow")])
    assert r.status == 429 and body == b"429 Too Many Requests\n"
    srv.wait_log(r"Authorizer refused \(exit 3\): 429")
    assert "CONNECT" not in srv.log()


FAILING = {
    "crash": ("kill -SEGV $$\n", r"Authorizer killed by signal 11 \(SIGSEGV\): 503"),
    "hang": ("exec sleep 30\n", r"Authorizer did not answer within 300 ms: 503"),
    "garbage": ("echo 'hello world'\n", r"output refused \(neither NAME=value nor Status"),
    "huge": ("head -c 200000 /dev/zero | tr '\\0' 'A'\n", r"output refused \((a line longer|more than)"),
    "reserved": ("echo LD_PRELOAD=/tmp/evil.so\n", r"not the authorizer's"),
    "control": ("printf 'X=\\033[2J\\n'\n", r"a control character"),
    "bad-status": ("echo 'Status: 200'; exit 1\n", r"not 400\.\.599"),
}


@pytest.mark.parametrize("name", sorted(FAILING))
def test_authcmd_failures_are_503_and_logged(wsd, tmp_path, name):
    """A crash, a hang, garbage or a flood from the authorizer: a clear
    refusal and an ERROR line; wsd goes on and leaves nothing running."""
    body, rx = FAILING[name]
    a = authorizer(tmp_path, body)
    srv = wsd(ENV, flags=[f"--authcmd={a}", "--authtimeout=300"])
    t0 = time.monotonic()
    r, out = upgrade(srv)
    assert r.status == 503, (r.status, out)
    assert time.monotonic() - t0 < 2.5
    srv.wait_log(r"ERROR +\| authcmd .*" + rx)
    wait_until(lambda: not srv.children(), 3.0)
    assert srv.children() == []
    assert "CONNECT" not in srv.log()
    good = authorizer(tmp_path, "exit 0\n", "ok.sh")
    srv2 = wsd(ENV, flags=[f"--authcmd={good}"])
    assert ws_env(srv2)["REMOTE_USER"] == ""


def test_authcmd_has_no_stdin_and_its_stderr_is_logged(wsd, tmp_path):
    a = authorizer(tmp_path, "cat >/dev/null; echo 'checking token' >&2; echo GOT_EOF=yes\n")
    srv = wsd(ENV, flags=[f"--authcmd={a}"])
    assert ws_env(srv)["GOT_EOF"] == "yes"
    srv.wait_log(r"ERROR +\| authcmd .*\| checking token")


def test_authcmd_is_counted_in_maxforks(wsd, tmp_path):
    a = authorizer(tmp_path, "exit 0\n")
    srv = wsd("cat", flags=[f"--authcmd={a}", "--maxforks=1"])

    async def go():
        async with connect(srv) as ws:            # the one slot: cat
            await ws.send("hi")
            assert await ws.recv() == "hi"
            r, _ = upgrade(srv)
            return r.status
    assert arun(go()) == 429
    srv.wait_log(r"Max of possible forks already active, the authorizer was not run: 429")


def test_authcmd_ended_when_the_client_leaves(wsd, tmp_path):
    a = authorizer(tmp_path, "exec sleep 30\n")
    srv = wsd(ENV, flags=[f"--authcmd={a}", "--authtimeout=20000"])
    c = RawClient(srv.port)
    c.send(c.request_bytes())
    kids = srv.wait_children(1)
    c.close()
    wait_until(lambda: not srv.children(), 3.0)
    assert srv.children() == [], f"authorizer {kids} still running"
    assert "CONNECT" not in srv.log()


def test_authcmd_after_htpasswd_sees_the_user(wsd, tmp_path, pw):
    a = authorizer(tmp_path, 'test "$REMOTE_USER" = alice || exit 1\necho "TEAM=$REMOTE_USER-team"\n'
                             'test -n "$HTTP_AUTHORIZATION" && echo SAW_AUTH=yes\n')
    srv = wsd(ENV, flags=[f"--htpasswd={pw}", f"--authcmd={a}"])
    env = ws_env(srv, {"Authorization": basic("alice", "wonder land")})
    assert env["REMOTE_USER"] == "alice" and env["TEAM"] == "alice-team"
    assert env["SAW_AUTH"] == "yes" and "HTTP_AUTHORIZATION" not in env
    assert refused_status(srv) == 401                            # Basic first


def test_authcmd_covers_the_console(wsd, tmp_path):
    a = authorizer(tmp_path, COOKIE_AUTH)
    srv = wsd(ENV, flags=[f"--authcmd={a}", "--devconsole"])
    assert curl(f"http://127.0.0.1:{srv.port}/")[0] == 403
    code, body = curl("-b", "token=good", f"http://127.0.0.1:{srv.port}/")
    assert code == 200 and "wsd console" in body


def test_authcmd_scheme_becomes_auth_type(wsd, tmp_path):
    a = authorizer(tmp_path, 'case "$HTTP_AUTHORIZATION" in "Bearer t0k3n") echo REMOTE_USER=svc;;'
                             ' *) exit 1;; esac\n')
    srv = wsd(ENV, flags=[f"--authcmd={a}"])
    env = ws_env(srv, {"Authorization": "Bearer t0k3n"})
    assert env["REMOTE_USER"] == "svc" and env["AUTH_TYPE"] == "Bearer"
    assert env["HTTP_AUTHORIZATION"] == "Bearer t0k3n"   # the program may use its token


def test_authcmd_missing_is_a_start_up_error(tmp_path):
    st, out = run_wsd("--authcmd=/no/such/authorizer", "--port=0", "cat")
    assert st == 1 and "--authcmd: '/no/such/authorizer' was not found" in out


def test_authcmd_that_cannot_be_started_is_503(wsd, tmp_path):
    """The authorizer disappears after start-up: 503 and a log line, never
    a request let through."""
    a = authorizer(tmp_path, "exit 0\n")
    srv = wsd(ENV, flags=[f"--authcmd={a}"])
    a.unlink()
    r, body = upgrade(srv)
    assert r.status == 503 and body == b"503 Service Unavailable: the authorizer failed\n"
    srv.wait_log(r"ERROR +\| authcmd .*Could not launch the authorizer .* \(no such file or "
                 r"directory\): 503")
    assert "CONNECT" not in srv.log()
