#!/usr/bin/env python3
"""pmd_crosscheck.py — src/pmd.c against python-websockets' permessage-deflate.

Not part of `make test` (a developer's check; needs cc, zlib and
python3-websockets): compiles src/pmd.c with a small shim into a shared
library in a temporary directory and, for every combination of a
python-websockets client offer (server/client_no_context_takeover,
server_max_window_bits absent or 8..15, client_max_window_bits absent, without
a value, 9, 12 or 15) and four server configurations:

  - negotiates with wsd_pmd_negotiate; python's process_response_params must
    accept the answer (it raises on anything RFC 7692 forbids);
  - python compresses messages (text, random, empty, 100 kB of one byte), in
    1 to 3 fragments, and wsd_pmd_inflate must give them back;
  - wsd_pmd_encode_frames compresses frames and python must decode them.

client_max_window_bits=8 is not offered: python-websockets cannot deflate with
it (zlib refuses a raw 8-bit window), whatever the server says.

    /usr/bin/python3 tests/unit/pmd_crosscheck.py
"""
import ctypes
import itertools
import os
import random
import subprocess
import sys
import tempfile

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SHIM = r"""
#include <stdlib.h>
#include <string.h>
#include "pmd.h"
wsd_pmd *shim_new(const char *offer, int cfg_s, int cfg_c, int snct, int cnct, char *resp);
void shim_free(wsd_pmd *p);
long shim_encode(wsd_pmd *p, const unsigned char *f, size_t n, unsigned char *out, size_t cap);
size_t shim_bound(const unsigned char *f, size_t n);
int shim_inflate(wsd_pmd *p, const unsigned char *in, size_t inlen, int fin,
                 unsigned char *out, size_t cap, size_t *outlen);

wsd_pmd *shim_new(const char *offer, int cfg_s, int cfg_c, int snct, int cnct, char *resp)
{
    wsd_pmd_config cfg;
    wsd_pmd_params pp;
    size_t len = strlen(offer);
    wsd_pmd *p;
    wsd_pmd_config_default(&cfg);
    cfg.server_max_window_bits = cfg_s;
    cfg.client_max_window_bits = cfg_c;
    cfg.server_no_context_takeover = snct;
    cfg.client_no_context_takeover = cnct;
    if (!wsd_pmd_negotiate(&cfg, &offer, &len, 1, &pp, resp))
        return NULL;
    p = malloc(sizeof *p);
    wsd_pmd_init(p, &cfg, &pp, 0);
    return p;
}
void shim_free(wsd_pmd *p) { wsd_pmd_free(p); free(p); }
size_t shim_bound(const unsigned char *f, size_t n) { return wsd_pmd_frames_bound(f, n); }
long shim_encode(wsd_pmd *p, const unsigned char *f, size_t n, unsigned char *out, size_t cap)
{
    size_t got;
    return wsd_pmd_encode_frames(p, f, n, out, cap, &got) == WSD_PMD_OK ? (long)got : -1;
}
int shim_inflate(wsd_pmd *p, const unsigned char *in, size_t inlen, int fin,
                 unsigned char *out, size_t cap, size_t *outlen)
{
    size_t tot = 0;
    for (;;) {
        size_t got, room = cap - tot < 1000 ? cap - tot : 1000;
        int r = wsd_pmd_inflate(p, &in, &inlen, fin, out + tot, room, &got);
        tot += got;
        *outlen = tot;
        if (r != WSD_PMD_OUTPUT)
            return r;
        if (tot == cap)
            return -50;
    }
}
"""


def build(tmp):
    shim = os.path.join(tmp, "shim.c")
    with open(shim, "w") as f:
        f.write(SHIM)
    lib = os.path.join(tmp, "libpmd.so")
    src = [os.path.join(ROOT, "src", s) for s in ("pmd.c", "ws.c", "utf8.c", "util.c")]
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1", "-std=c11",
                    "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "src"), "-o", lib, shim]
                   + src + ["-lz"], check=True)
    lib = ctypes.CDLL(lib)
    lib.shim_new.restype = ctypes.c_void_p
    lib.shim_new.argtypes = [ctypes.c_char_p] + [ctypes.c_int] * 4 + [ctypes.c_char_p]
    lib.shim_free.argtypes = [ctypes.c_void_p]
    lib.shim_encode.restype = ctypes.c_long
    lib.shim_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                ctypes.c_char_p, ctypes.c_size_t]
    lib.shim_bound.restype = ctypes.c_size_t
    lib.shim_bound.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.shim_inflate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
                                 ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    return lib


def header(opcode, fin, n):
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        return bytes([b0, n])
    if n < 65536:
        return bytes([b0, 126]) + n.to_bytes(2, "big")
    return bytes([b0, 127]) + n.to_bytes(8, "big")


def parse_frames(b):
    out, i = [], 0
    while i < len(b):
        b0, n, h = b[i], b[i + 1] & 0x7F, 2
        if n == 126:
            n, h = int.from_bytes(b[i + 2:i + 4], "big"), 4
        elif n == 127:
            n, h = int.from_bytes(b[i + 2:i + 10], "big"), 10
        out.append(Frame(Opcode(b0 & 15), b[i + h:i + h + n], fin=bool(b0 & 0x80),
                         rsv1=bool(b0 & 0x40)))
        i += h + n
    return out


def split(m, rnd):
    n = rnd.choice([1, 1, 2, 3])
    cuts = sorted(rnd.sample(range(len(m) + 1), n - 1)) if len(m) >= n else [len(m)] * (n - 1)
    return [m[a:b] for a, b in zip([0] + cuts, cuts + [len(m)])]


def main():
    rnd = random.Random(1)
    words = [b"lorem ", b"ipsum ", b"dolor ", b"wsd ", "κόσμε ".encode(), b"42 "]

    def text(n):
        return b"".join(rnd.choice(words) for _ in range(n // 4 + 1))[:n]

    offers = [dict(server_no_context_takeover=s, client_no_context_takeover=c,
                   server_max_window_bits=sw, client_max_window_bits=cw)
              for s, c, sw, cw in itertools.product([False, True], [False, True],
                                                    [None] + list(range(8, 16)),
                                                    [None, True, 9, 12, 15])]
    configs = [(15, 15, 0, 0), (10, 9, 0, 0), (8, 15, 1, 1), (12, 12, 1, 0)]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(tmp)
        for cfg in configs:
            for kw in offers:
                fac = ClientPerMessageDeflateFactory(**kw)
                offer = build_extension([(fac.name, fac.get_request_params())])
                resp = ctypes.create_string_buffer(200)
                p = lib.shim_new(offer.encode(), *cfg, resp)
                try:
                    assert p, "declined: " + offer
                    ext = fac.process_response_params(parse_extension(resp.value.decode())[0][1], [])
                    msgs = [text(rnd.choice([0, 1, 10, 100, 5000, 70000])) for _ in range(8)]
                    msgs += [os.urandom(3000), b"", b"x" * 100000]
                    for m in msgs:            # client → server
                        got = b""
                        pieces = split(m, rnd)
                        for i, pc in enumerate(pieces):
                            fr = ext.encode(Frame(Opcode.TEXT if i == 0 else Opcode.CONT, pc,
                                                  fin=i == len(pieces) - 1))
                            out, ol = ctypes.create_string_buffer(len(m) + 10), ctypes.c_size_t()
                            r = lib.shim_inflate(p, fr.data, len(fr.data), int(fr.fin), out,
                                                 len(m) + 10, ctypes.byref(ol))
                            assert r == (2 if fr.fin else 0), "inflate status %d" % r
                            got += out.raw[:ol.value]
                        assert got == m, "inflated bytes differ"
                    for m in msgs:            # server → client
                        pieces = split(m, rnd)
                        frames = b"".join(header(1 if i == 0 else 0, i == len(pieces) - 1, len(pc)) + pc
                                          for i, pc in enumerate(pieces))
                        cap = lib.shim_bound(frames, len(frames))
                        out = ctypes.create_string_buffer(cap + 1)
                        n = lib.shim_encode(p, frames, len(frames), out, cap)
                        assert n >= 0, "encode_frames failed"
                        got = b""
                        for j, f in enumerate(parse_frames(out.raw[:n])):
                            assert not f.rsv1 or j == 0, "RSV1 on a continuation"
                            got += ext.decode(f, max_size=None).data
                        assert got == m, "python decoded different bytes"
                    passed += 1
                except Exception as e:  # noqa: BLE001 — report and go on
                    failed += 1
                    print("not ok: config %r offer %r answer %r: %s" % (cfg, offer, resp.value, e))
                finally:
                    if p:
                        lib.shim_free(p)
    print("# %d negotiations, %d messages each way per negotiation" % (passed + failed, 11))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
