"""Real reverse proxies for the end-to-end tests: Debian's nginx and HAProxy,
started by a test as foreground processes on ephemeral loopback ports, with
their configuration, logs and temporary files in a directory of their own.
Run as root (CI), they run as www-data (setpriv), as a packaged nginx's
workers do; otherwise as the user running the tests. Nothing is installed,
no system service is touched.

The configurations come from docs/operations.md (doc_block): only ports,
paths and certificates are replaced, so the documented set-ups are the ones
tested and cannot rot.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import REPO, descendants, is_alive, wait_until

DOC = REPO / "docs" / "operations.md"
CERTS = REPO / "tests" / "certs"
RUNAS_USER = "www-data"
AS_ROOT = os.geteuid() == 0


def doc_block(lang, title):
    """The ```lang block of docs/operations.md whose first line is
    "# <title>" (the whole block, that line included)."""
    text = DOC.read_text()
    for m in re.finditer(r"```" + re.escape(lang) + r"\n(.*?)```", text, re.S):
        body = m.group(1)
        if body.splitlines()[0].strip() == f"# {title}":
            return body
    raise AssertionError(f"docs/operations.md has no ```{lang} block '# {title}'")


def replace(text, old, new):
    """text with `old` replaced (it must be there: the doc changed otherwise)."""
    assert old in text, f"{old!r} not in the documented block:\n{text}"
    return text.replace(old, new)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def runtime_dir():
    """A directory the proxy's user can use (and traverse to a socket in)."""
    d = Path(tempfile.mkdtemp(prefix="wsdp-", dir="/tmp"))
    d.chmod(0o755)
    if AS_ROOT:
        shutil.chown(d, RUNAS_USER, RUNAS_USER)
    return d


def own(path):
    if AS_ROOT:
        shutil.chown(path, RUNAS_USER, RUNAS_USER)
    return path


def certs_into(d):
    """The test server certificate and key, readable by the proxy: paths of
    the PEM chain, the key, and one file holding both (HAProxy's crt)."""
    cert, key, both = d / "server.pem", d / "server.key", d / "both.pem"
    shutil.copy(CERTS / "server.pem", cert)
    shutil.copy(CERTS / "server.key", key)
    both.write_text((CERTS / "server.pem").read_text() + (CERTS / "server.key").read_text())
    for p in (cert, key, both):
        p.chmod(0o644)
        own(p)
    return cert, key, both


class Proxy:
    """One proxy process; stop() ends it and everything it started."""

    def __init__(self, name, argv, port, d):
        self.name, self.port, self.dir = name, port, d
        prefix = ["setpriv", f"--reuid={RUNAS_USER}", f"--regid={RUNAS_USER}",
                  "--init-groups"] if AS_ROOT else []
        self.out = open(d / f"{name}.out", "wb")
        self.proc = subprocess.Popen(prefix + argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, cwd=d, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{name} exited {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{name} not listening on {port}: {self.log()}")

    def log(self):
        out = ""
        for f in sorted(self.dir.glob("*.log")) + [self.dir / f"{self.name}.out"]:
            if f.exists():
                out += f"--- {f.name}\n" + f.read_text(errors="replace")
        return out

    def stop(self):
        if self.proc.poll() is None:
            kids = descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for k in kids:               # workers end with their master; make sure
                if is_alive(k):
                    try:
                        os.kill(k, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            wait_until(lambda: not [k for k in kids if is_alive(k)], 5.0)
        self.out.close()


def start_nginx(d, http="", main="", port=None):
    """nginx with `http` inside its http block and `main` at the top level
    (load_module, stream); logs and temporary files in d."""
    port = port or free_port()
    conf = d / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
{main}
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{http}
}}
""")
    own(conf)
    return Proxy("nginx", ["nginx", "-p", str(d), "-c", str(conf), "-e", f"{d}/error.log",
                           "-g", "daemon off;"], port, d)


def start_haproxy(d, text, port):
    conf = d / "haproxy.cfg"
    conf.write_text(text)
    own(conf)
    return Proxy("haproxy", ["haproxy", "-db", "-f", str(conf)], port, d)
