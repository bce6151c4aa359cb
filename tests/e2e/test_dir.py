"""--dir routing: which program a URL path runs, what it sees, and what is
never reached. websocketd 0.4.1's behaviour is the reference (checked with
WSD_BIN=/usr/bin/websocketd); tests marked `deliberate` assert wsd's
confinement (no symlinks out of the directory) and its 500 for a file it
cannot start, where websocketd differs.

(The same routing is compared side by side with websocketd in
test_differential.py::test_dir_routing.)
"""
import os
from pathlib import Path

import pytest

from conftest import RawClient, upgrade_headers, write_prog

INFO = """#!/bin/sh
echo "SCRIPT_NAME=$SCRIPT_NAME"
echo "PATH_INFO=$PATH_INFO"
echo "PATH_TRANSLATED=$PATH_TRANSLATED"
echo "REQUEST_URI=$REQUEST_URI"
echo "QUERY_STRING=$QUERY_STRING"
echo "ARGV0=$0"
echo "CWD=$(pwd -P)"
"""


@pytest.fixture
def tree(tmp_path):
    """tmp/
         outside.sh            (outside the served dir: touches tmp/OUTSIDE-RAN)
         scripts/              (--dir)
           top.sh, sub/x.sh, .hidden.sh, .hdir/y.sh, "sp ace.sh"   (INFO)
           plain.txt           (not executable)
           emptydir/
           link.sh -> sub/x.sh, sublink -> sub            (inside)
           escape.sh -> ../outside.sh, abs.sh -> /abs/outside.sh, updir -> ..
    """
    d = tmp_path / "scripts"
    for sub in ("sub", ".hdir", "emptydir"):
        (d / sub).mkdir(parents=True)
    for rel in ("top.sh", "sub/x.sh", ".hidden.sh", ".hdir/y.sh", "sp ace.sh"):
        write_prog(d / rel, INFO)
    (d / "plain.txt").write_text("not a program\n")
    marker = tmp_path / "OUTSIDE-RAN"
    write_prog(tmp_path / "outside.sh", f"#!/bin/sh\ntouch '{marker}'\necho OUTSIDE\n")
    os.symlink("sub/x.sh", d / "link.sh")
    os.symlink("sub", d / "sublink")
    os.symlink("../outside.sh", d / "escape.sh")
    os.symlink(str(tmp_path / "outside.sh"), d / "abs.sh")
    os.symlink("..", d / "updir")
    return d


def request(port, path, upgrade=True, timeout=3.0):
    """One request; returns (response, body or None, client). For a 101 the
    client is left open for reading messages; otherwise it is closed."""
    c = RawClient(port, timeout=timeout)
    hs = upgrade_headers() if upgrade else []
    c.send(c.request_bytes(path, headers=hs))
    r = c.read_response(timeout)
    if r.status == 101:
        return r, None, c
    cl = r.header("Content-Length")
    body = c._take(int(cl), timeout) if cl else b""
    c.close()
    return r, body, None


def messages_until_end(c):
    """Text lines until the close frame or EOF (websocketd drops TCP)."""
    out = []
    try:
        while True:
            op, data = c.recv_message()
            if op == 8:
                break
            out.append(data.decode())
    except EOFError:
        pass
    c.close()
    return out


def run_info(srv, path):
    r, body, c = request(srv.port, path)
    assert r.status == 101, f"{path}: {r.status} {body!r}"
    lines = messages_until_end(c)
    return dict(line.split("=", 1) for line in lines)


def dir_server(wsd, tree, **kw):
    return wsd(flags=[f"--dir={tree}"], **kw)


# --------------------------------------------------------------------------
# Lookup, SCRIPT_NAME / PATH_INFO

SCRIPT_CASES = [  # path, SCRIPT_NAME, PATH_INFO
    ("/top.sh", "/top.sh", ""),
    ("/sub/x.sh", "/sub/x.sh", ""),
    ("/sub/x.sh/more/path", "/sub/x.sh", "/more/path"),
    ("/sub/x.sh/", "/sub/x.sh", "/"),
    ("/sub/x.sh/a/", "/sub/x.sh", "/a/"),
    ("/top.sh/x/y.sh", "/top.sh", "/x/y.sh"),
    ("/sub/x.sh/a%20b/c%2Fd", "/sub/x.sh", "/a b/c/d"),
]


def test_script_name_and_path_info(wsd, tree):
    """Segment by segment: the first segment naming a file is the script;
    the rest (trailing slash included) is PATH_INFO."""
    srv = dir_server(wsd, tree)
    bad = []
    for path, script, info in SCRIPT_CASES:
        env = run_info(srv, path + "?q=1&r=%2F")
        want = {"SCRIPT_NAME": script, "PATH_INFO": info, "PATH_TRANSLATED": script + info,
                "REQUEST_URI": path + "?q=1&r=%2F", "QUERY_STRING": "q=1&r=%2F"}
        got = {k: env.get(k) for k in want}
        if got != want:
            bad.append(f"{path}: got {got}, want {want}")
    assert not bad, "\n".join(bad)


def test_argv0_is_absolute_script_path_and_cwd_is_wsds(wsd, tree, tmp_path):
    # --dir given relative to wsd's working directory.
    srv = wsd(flags=["--dir=scripts"], cwd=tmp_path)
    env = run_info(srv, "/sub/x.sh/p")
    assert env["ARGV0"] == str(tree / "sub" / "x.sh")
    assert Path(env["ARGV0"]).is_absolute()
    assert env["CWD"] == os.path.realpath(tmp_path)


def test_encoded_names_decoded_per_segment(wsd, tree):
    """The path is decoded before lookup, so %2F is a separator and %2e a
    dot, as in websocketd."""
    srv = dir_server(wsd, tree)
    assert run_info(srv, "/sp%20ace.sh")["SCRIPT_NAME"] == "/sp ace.sh"
    env = run_info(srv, "/sub%2Fx.sh")
    assert env["SCRIPT_NAME"] == "/sub/x.sh" and env["REQUEST_URI"] == "/sub%2Fx.sh"
    assert run_info(srv, "/sub/x%2esh")["SCRIPT_NAME"] == "/sub/x.sh"


def test_dotfiles_are_served(wsd, tree):
    srv = dir_server(wsd, tree)
    assert run_info(srv, "/.hidden.sh")["SCRIPT_NAME"] == "/.hidden.sh"
    assert run_info(srv, "/.hdir/y.sh/z")["PATH_INFO"] == "/z"


# --------------------------------------------------------------------------
# Not found

def test_not_found_is_404(wsd, tree):
    """Missing scripts, directories (with or without a slash), the root."""
    srv = dir_server(wsd, tree)
    for path in ["/", "/missing.sh", "/sub/missing.sh/x", "/sub", "/sub/", "/emptydir/",
                 "/TOP.sh", "/top.sh%00", "/nosuchdir/x.sh"]:
        r, body, _ = request(srv.port, path)
        assert (r.status, body) == (404, b"404 Not Found\n"), (path, r.raw_head, body)
    assert srv.children() == []


# --------------------------------------------------------------------------
# Never leaving the directory

def final_status(srv, path):
    """Status after following at most one redirect (which must stay on this
    server and be a clean absolute path)."""
    r, _, c = request(srv.port, path)
    if r.status == 301:
        loc = r.header("Location")
        assert loc.startswith("/") and "/.." not in loc and "//" not in loc, loc
        r, _, c = request(srv.port, loc)
    if c:
        messages_until_end(c)
    return r.status


def test_dot_dot_never_leaves_dir(wsd, tree):
    """`..`, `%2e%2e` and encoded slashes: cleaned (301) to a path inside
    the directory, where outside.sh does not exist."""
    srv = dir_server(wsd, tree)
    for path in ["/../outside.sh", "/%2e%2e/outside.sh", "/%2E%2E/outside.sh",
                 "/sub/../../outside.sh", "/sub/%2e%2e/%2e%2e/outside.sh", "/..%2foutside.sh",
                 "/sub%2f..%2f..%2foutside.sh", "/%2e%2e%2foutside.sh",
                 "/sub/x.sh/%2e%2e/%2e%2e/outside.sh"]:
        assert final_status(srv, path) == 404, path
    assert not (tree.parent / "OUTSIDE-RAN").exists()


@pytest.mark.deliberate   # websocketd follows symlinks out of --dir
def test_symlink_out_of_dir_not_reached(wsd, tree):
    srv = dir_server(wsd, tree)
    for path in ["/escape.sh", "/abs.sh", "/updir/outside.sh", "/escape.sh/more",
                 "/updir/scripts/top.sh"]:
        r, body, c = request(srv.port, path)
        if c:
            messages_until_end(c)
        assert (r.status, body) == (404, b"404 Not Found\n"), (path, r.status, body)
    assert not (tree.parent / "OUTSIDE-RAN").exists()


def test_symlink_inside_dir_works(wsd, tree):
    srv = dir_server(wsd, tree)
    env = run_info(srv, "/link.sh/p")
    assert env["SCRIPT_NAME"] == "/link.sh" and env["PATH_INFO"] == "/p"
    env = run_info(srv, "/sublink/x.sh")
    assert env["SCRIPT_NAME"] == "/sublink/x.sh"


def test_symlink_argv0_is_the_requested_path(wsd, tree):
    """websocketd runs DIR joined with the URL path: argv[0] is the link's
    path, not its target (a multi-call script dispatching on its name sees
    the name it was called by)."""
    srv = dir_server(wsd, tree)
    assert run_info(srv, "/link.sh")["ARGV0"] == str(tree / "link.sh")
    assert run_info(srv, "/sublink/x.sh")["ARGV0"] == str(tree / "sublink" / "x.sh")


# --------------------------------------------------------------------------
# Cannot start, unclean paths

@pytest.mark.deliberate   # websocketd answers 101, then drops the connection
def test_non_executable_file_is_500_before_101(wsd, tree):
    srv = dir_server(wsd, tree)
    for path in ["/plain.txt", "/plain.txt/x"]:
        r, body, c = request(srv.port, path)
        if c:
            c.close()
        assert r.status == 500, (path, r.raw_head)
        assert body.startswith(b"500 Internal Server Error"), body
    assert srv.children() == []


def test_unclean_path_redirects_to_clean_path(wsd, tree):
    """Go ServeMux's 301 (query kept, trailing slash kept), nothing run."""
    srv = dir_server(wsd, tree)
    for path, location in [
        ("//sub/x.sh", "/sub/x.sh"),
        ("/sub//x.sh", "/sub/x.sh"),
        ("/./top.sh", "/top.sh"),
        ("/sub/../top.sh", "/top.sh"),
        ("/top.sh/.", "/top.sh"),
        ("/sub//x.sh/", "/sub/x.sh/"),
        ("/sub/./x.sh/a/../b", "/sub/x.sh/b"),
        ("//sub/x.sh?q=1&r=%2F", "/sub/x.sh?q=1&r=%2F"),
    ]:
        r, _, c = request(srv.port, path)
        if c:
            c.close()
        assert (r.status, r.header("Location")) == (301, location), (path, r.raw_head)
    assert srv.children() == []


def test_plain_get_of_a_script_is_404_not_run(wsd, tree):
    srv = dir_server(wsd, tree)
    r, _, _ = request(srv.port, "/top.sh", upgrade=False)
    assert r.status == 404
    assert srv.children() == []
