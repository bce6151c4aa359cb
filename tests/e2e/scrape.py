"""Reading wsd's --metrics listener in the end-to-end tests: a scrape as
text, parsed into samples, and promtool's verdict on it."""
import re
import shutil
import subprocess
import urllib.error
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(port, path="/metrics", method="GET", timeout=5.0):
    """(status, headers, body) of one plain-HTTP request to 127.0.0.1:port."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def text(port):
    status, headers, body = get(port)
    assert status == 200, (status, body)
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body.decode()


def parse(t):
    """{(name, ((label, value), ...)): float} for every sample line."""
    out = {}
    for line in t.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The sample's value, 0 when absent (a code never seen is left out)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(port):
    return parse(text(port))


def promtool_check(t):
    """promtool check metrics on the text: (ok, output). promtool comes with
    Debian's prometheus package (scripts/install-deps --test)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/install-deps --test installs prometheus"
    p = subprocess.run([promtool, "check", "metrics"], input=t.encode(), capture_output=True,
                       timeout=30)
    return p.returncode == 0, (p.stdout + p.stderr).decode()
