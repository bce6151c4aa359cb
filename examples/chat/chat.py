#!/usr/bin/env python3
"""A chat room for wsd's addressed shared mode: one program for every
client, Python standard library only.

    wsd --port=8080 --shared --lossless --staticdir=examples/chat examples/chat/chat.py

then open http://localhost:8080/ in two browsers. Commands: /nick NAME,
/msg NAME TEXT (private), /who. See docs/shared.md for the records:

  stdin:  join ID LEN / <CGI variables> ; leave ID CODE ; text LEN from=ID / <message>
  stdout: text LEN [to=ID,...] / <message> ; close ID CODE LEN / <reason>
"""
import sys

inp, out = sys.stdin.buffer, sys.stdout.buffer
nicks = {}          # connection id -> nickname
guests = 0


def send(text, to=None):
    """One message to everyone, or to the connection ids in `to`."""
    b = text.encode()
    head = b"text %d" % len(b)
    if to:
        head += b" to=" + ",".join(to).encode()
    out.write(head + b"\n" + b + b"\n")
    out.flush()


def by_nick(name):
    return next((cid for cid, n in nicks.items() if n == name), None)


def on_message(cid, text):
    me = nicks[cid]
    if text.startswith("/nick "):
        new = text[6:].strip()[:20]
        if not new or " " in new or by_nick(new):
            send("* that name is taken or invalid", [cid])
            return
        nicks[cid] = new
        send("* %s is now %s" % (me, new))
    elif text.startswith("/msg "):
        parts = text.split(" ", 2)
        dest = by_nick(parts[1]) if len(parts) == 3 else None
        if not dest:
            send("* usage: /msg NAME TEXT (and NAME must be here)", [cid])
            return
        send("(private) %s: %s" % (me, parts[2]), [dest, cid])
    elif text == "/who":
        send("* here: " + ", ".join(sorted(nicks.values())), [cid])
    else:
        send("%s: %s" % (me, text))


while True:
    header = inp.readline()
    if not header:
        break                                   # wsd closed our stdin: the end
    f = header.split()
    if f[0] == b"join":
        cid, n = f[1].decode(), int(f[2])
        inp.read(n + 1)                         # its CGI variables (unused here)
        guests += 1
        nicks[cid] = "guest-%d" % guests
        send("* welcome, %s (/nick NAME to change it)" % nicks[cid], [cid])
        send("* %s joined" % nicks[cid])
    elif f[0] == b"leave":
        name = nicks.pop(f[1].decode(), None)
        if name:
            send("* %s left" % name)
    elif f[0] in (b"text", b"binary"):
        n = int(f[1])
        cid = f[2].split(b"=", 1)[1].decode()
        data = inp.read(n)
        inp.read(1)
        if f[0] == b"text" and cid in nicks:
            on_message(cid, data.decode())
