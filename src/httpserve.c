/* httpserve.c — plain HTTP on a wsd listener: what a request that is not a
 * WebSocket upgrade gets (see conn.h for the contract with server.c).
 *
 * Routing, in websocketd's order, after Go ServeMux's path cleaning (with
 * --staticdir or --cgidir, where paths name files, an unclean path → 301 to
 * the clean one; see docs/compat.md):
 *   1. --devconsole: the console page, for any method and any path;
 *   2. --cgidir: a regular file exactly at the path runs as a CGI/1.1 script;
 *   3. --staticdir: a file (index.html for a directory), else 404/403/301;
 *   4. otherwise declined (return 0): server.c answers 404.
 *
 * Responses
 *   - Static files and the console get Last-Modified, If-Modified-Since →
 *     304, Range → 206/416 and HEAD from httpfile.c's plan. A file body
 *     goes from the page cache to the socket with sendfile(2), called here
 *     directly: libuv 1.44's uv_fs_sendfile first tries copy_file_range,
 *     which fails with EINVAL for a socket, and then falls back to an 8 KiB
 *     read/write loop that blocks a thread-pool thread in poll() for as long
 *     as the client is slow — user-space copies, and four slow clients would
 *     stall every other file-system request. sendfile(2) on the non-blocking
 *     socket never waits: each call moves at most SF_CHUNK bytes; when it
 *     returns short (the socket buffer is full) or after each full chunk
 *     (to let other connections run), the next PROBE_SIZE bytes are copied
 *     and written with an ordinary uv_write, whose completion — the socket
 *     drained — resumes sendfile. So the copied share is at most PROBE_SIZE
 *     per SF_CHUNK or per socket-buffer refill. sendfile runs only while
 *     nothing else is queued for the client (wsd_tp_queued(&c->tp) == 0), so
 *     bytes never interleave. Files up to SMALL_FILE bytes go out in one
 *     write together with the head (one syscall, one segment). With TLS on
 *     the connection the body is read and written in COPY_CHUNK pieces.
 *     The disk read inside sendfile/pread runs on the loop thread, as the
 *     route module's realpath/stat/open do.
 *   - HTTP/1.1 keep-alive: after a complete response to a keep-alive
 *     request, the connection goes back to reading the next request
 *     (conn_http_next in conn.c), with the bytes that arrived meanwhile
 *     (pipelining; at most PENDING_MAX + a read are held, beyond that the
 *     client's reads pause). Not kept alive: HTTP/1.0, "Connection: close",
 *     requests with a body (Content-Length > 0 or Transfer-Encoding; their
 *     body is read and discarded while the response goes out), CGI
 *     responses, and anything during shutdown. The next request never
 *     starts inside the previous one's call chain: only from a write
 *     completion (serve_written), so pipelining cannot recurse.
 *   - Error responses are Go's: "404 page not found\n", "403 Forbidden\n",
 *     text/plain with X-Content-Type-Options: nosniff.
 *
 * CGI (RFC 3875): the script is a program session (program.c) with cwd =
 * its directory, argv[0] = its base name, fds 0-2 on real pipes, in its own
 * session and process group, environment from cgi.c (--passenv applied). It holds a --maxforks slot (429 when none is
 * free) until its process group is gone. The request body (Content-Length
 * bytes) streams to its stdin through a queue of at most WSD_STDIN_HIGH bytes: the
 * client's reads pause above it, resume below WSD_STDIN_LOW. A chunked request
 * body is refused with 411 Length Required (Go's CGI handler would decode
 * it). The output head is parsed by cgi.c; the response head goes out when
 * it is complete, then the body streams as the script writes it (reading
 * stdout pauses while more than OUT_HIGH bytes wait for the client) and
 * the connection ends at stdout EOF. Output without a valid head → 500
 * with an empty body and Go's "cgi: ..." text logged at ERROR. stderr
 * lines are logged at ERROR (category "cgi"). Ending the script (program.c's
 * CGI plan): SIGTERM to its process group, SIGKILL one second later, given
 * up after another second — when the client leaves (its EOF, as nginx; the
 * connection closing; or, while its reads are held, the transport finding
 * it gone), when the server shuts down, when the output head is invalid,
 * when the leader exits leaving group members behind, or a second after it
 * closed stdout while still running.
 *
 * The console page is this file's own, with no external resources; its
 * script builds the ws:// URL from `location`, and the request URL is never
 * written into the HTML (websocketd 0.4.1 reflects it unescaped: XSS).
 *
 * Log lines as websocketd: ACCESS http DEVCONSOLE / CGI / STATIC (404s of
 * the static handler too); ERROR http for a CGI refused by --maxforks. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cgi.h"
#include "conn.h"
#include "httpserve.h"
#include "program.h"
#include "httpfile.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "termpage.h"
#include "util.h"

#define SF_CHUNK (1024 * 1024)      /* bytes per sendfile() call */
#define PROBE_SIZE (16 * 1024)      /* copied write that waits for the socket / yields */
#define COPY_CHUNK (64 * 1024)      /* without sendfile (TLS): one read and write */
#define SMALL_FILE (16 * 1024)      /* sent in one write with the head */
#define PENDING_MAX WSD_HTTP_MAX_HEAD  /* pipelined bytes held before reads pause */

/* ------------------------------------------------------------------ state */

enum { K_SIMPLE, K_FILE, K_CGI };

typedef struct cgi_run {
    struct serve *s;
    conn *c;
    wsd_program *prog;           /* the script (program.c); NULL once done */
    int out_paused, out_eof;
    int ended;                   /* cgi_end started the kill schedule */
    int head_only;               /* HEAD: the body is read and dropped */
    int head_sent;               /* the response head went out (or the 500) */
    int failed;                  /* answered 500: the rest of stdout is dropped */
    wsd_cgi_parser *parser;
    uint64_t body_left;          /* request body bytes still expected */
} cgi_run;

typedef struct serve {
    conn *c;
    int kind;
    int keep_alive;
    int done;                    /* the whole response is queued / sent */
    int finished;                /* try_finish acted */
    int client_eof;
    int paused;                  /* we stopped the client's reads */
    char *pending;               /* pipelined bytes for the next request */
    size_t npending;
    /* K_FILE */
    int fd;
    uint64_t off, end;
    int use_sendfile;
    /* K_CGI */
    cgi_run *g;
} serve;

static time_t start_time;

/* ---------------------------------------------------------------- helpers */

static void ensure_start_time(void)
{
    if (start_time == 0)
        start_time = time(NULL);
}

/* The client socket can take sendfile(): a plain TCP or Unix stream (not
 * TLS, whose records are built in user space). */
static int plain_socket(conn *c)
{
    return wsd_tp_plain_fd(&c->tp) >= 0;
}

static void read_client(conn *c, serve *s, int on)
{
    if (c->tp.closing)
        return;
    if (on && s->paused && !s->client_eof) {
        s->paused = 0;
        wsd_tp_release(&c->tp, WSD_HOLD_SERVE);
    } else if (!on && !s->paused) {
        s->paused = 1;
        wsd_tp_hold(&c->tp, WSD_HOLD_SERVE);
    }
}

/* Ends the connection after what is queued: FIN once it is written, then
 * read until the peer closes (≤ WSD_TP_LINGER_MS). */
static void finish_close(conn *c)
{
    if (!c->tp.closing)
        conn_linger(c, NULL, 0);
}

/* "text" with & < > " ' escaped, as Go's htmlEscape. */
static void html_escape(wsd_str *out, const char *t)
{
    for (; *t; t++) {
        switch (*t) {
        case '&': wsd_str_appends(out, "&amp;"); break;
        case '<': wsd_str_appends(out, "&lt;"); break;
        case '>': wsd_str_appends(out, "&gt;"); break;
        case '"': wsd_str_appends(out, "&#34;"); break;
        case '\'': wsd_str_appends(out, "&#39;"); break;
        default: wsd_str_append(out, t, 1); break;
        }
    }
}

static int is_head(const wsd_request *r)
{
    return r->method && strcmp(r->method, "HEAD") == 0;
}

/* Queues a finished response (`out`, taken over): kept alive, the next
 * request follows its completion (serve_written); else the connection
 * ends after it. */
static void send_response(conn *c, serve *s, wsd_str *out)
{
    s->done = 1;
    if (c->tp.closing) {
        wsd_str_free(out);
        return;
    }
    if (!out->s) {
        wsd_tp_close(&c->tp);
        return;
    }
    if (s->keep_alive) {
        c->state = ST_SERVE;
        wsd_tp_send(&c->tp, out->s, out->len);
    } else {
        conn_linger(c, out->s, out->len);
    }
    out->s = NULL;
}

/* A small complete response: status, optional Location, a text body (not
 * sent for HEAD). ctype NULL: no Content-Type, no nosniff. */
static void respond(conn *c, serve *s, const wsd_request *r, int status, const char *ctype,
                    const char *body, size_t blen, const char *location)
{
    const wsd_config *cfg = c->cfg;
    char date[WSD_HTTP_DATE_SIZE];
    wsd_str out;
    int rc = 0;

    wsd_http_date(time(NULL), date);
    wsd_str_init(&out, RESPONSE_LIMIT);
    rc |= wsd_str_appendf(&out, "HTTP/1.1 %d %s\r\n", status, wsd_http_reason(status));
    if (location)
        rc |= wsd_str_appendf(&out, "Location: %s\r\n", location);
    if (ctype) {
        rc |= wsd_str_appendf(&out, "Content-Type: %s\r\n", ctype);
        if (strncmp(ctype, "text/plain", 10) == 0)
            rc |= wsd_str_appends(&out, "X-Content-Type-Options: nosniff\r\n");
    }
    rc |= wsd_str_appendf(&out, "Content-Length: %zu\r\nDate: %s\r\n", blen, date);
    if (!s->keep_alive)
        rc |= wsd_str_appends(&out, "Connection: close\r\n");
    rc |= wsd_append_header_list(&out, &cfg->headers);
    rc |= wsd_append_header_list(&out, &cfg->headers_http);
    rc |= wsd_str_appends(&out, "\r\n");
    if (blen && !(r && is_head(r)))
        rc |= wsd_str_append(&out, body, blen);
    if (rc) {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);
        s->done = 1;
        return;
    }
    send_response(c, s, &out);
}

static void respond_text(conn *c, serve *s, const wsd_request *r, int status, const char *body)
{
    respond(c, s, r, status, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

/* Holds client bytes that follow the request (a pipelined request) for the
 * next one; only while the connection is kept alive (otherwise they are
 * dropped: the connection ends with this response). */
static void hold_pending(conn *c, serve *s, const char *p, size_t n)
{
    if (n == 0 || !s->keep_alive || s->finished)
        return;
    if (s->npending + n > PENDING_MAX + 2 * (size_t)WSD_TP_READ_SIZE) {
        wsd_tp_close(&c->tp);   /* cannot happen with reads paused at PENDING_MAX */
        return;
    }
    s->pending = xrealloc(s->pending, s->npending + n);
    memcpy(s->pending + s->npending, p, n);
    s->npending += n;
    if (s->npending >= PENDING_MAX)
        read_client(c, s, 0);
}

static void serve_release(serve *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->pending);
    if (s->g) {
        cgi_run *g = s->g;
        wsd_cgi_parser_free(g->parser);
        free(g);
    }
    free(s);
}

/* The response is complete and written to the socket (queue empty): the
 * next request on a kept-alive connection, else the end. */
static void try_finish(conn *c, serve *s)
{
    char *rest;
    size_t n;

    if (!s->done || s->finished || c->tp.closing || wsd_tp_queued(&c->tp) > 0)
        return;
    s->finished = 1;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (!s->keep_alive || s->client_eof || c->srv->shutting_down || c->srv->draining) {
        finish_close(c);
        return;
    }
    rest = s->pending;
    n = s->npending;
    s->pending = NULL;
    s->npending = 0;
    c->serve = NULL;
    serve_release(s);
    conn_http_next(c, rest, n);
    free(rest);
}

/* ------------------------------------------------------------ static file */

/* Copies up to `max` bytes of the file at s->off into one write. */
static int copy_chunk(conn *c, serve *s, size_t max)
{
    uint64_t left = s->end - s->off;
    size_t want = left < max ? (size_t)left : max;
    char *buf = xmalloc(want);
    ssize_t n;

    do
        n = pread(s->fd, buf, want, (off_t)s->off);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* the file shrank under us: the promised length cannot be kept */
        wsd_log(WSD_LOG_ERROR, "http", c->assoc, "Static file read failed: %s",
                n < 0 ? strerror(errno) : "unexpected end of file");
        free(buf);
        wsd_tp_close(&c->tp);
        return -1;
    }
    s->off += (uint64_t)n;
    wsd_tp_send(&c->tp, buf, (size_t)n);
    return 0;
}

/* Moves the file body forward; called when the client's queue drained. */
static void file_pump(conn *c, serve *s)
{
    if (c->tp.closing || s->done)
        return;
    if (s->use_sendfile) {
        int sock = wsd_tp_plain_fd(&c->tp);
        size_t want;
        off_t o = (off_t)s->off;
        ssize_t n;

        if (wsd_tp_queued(&c->tp) > 0)
            return;               /* our queued bytes first: never interleave */
        if (s->off >= s->end)
            goto complete;
        if (sock < 0) {
            s->use_sendfile = 0;
            goto copy;
        }
        want = s->end - s->off < SF_CHUNK ? (size_t)(s->end - s->off) : SF_CHUNK;
        n = sendfile(sock, s->fd, &o, want);
        if (n > 0) {
            wsd_metrics_add(WSD_M_BYTES_OUT, n);
            s->off += (uint64_t)n;
            if (s->off >= s->end)
                goto complete;
        } else if (n == 0) {
            wsd_log(WSD_LOG_ERROR, "http", c->assoc,
                    "Static file read failed: unexpected end of file");
            wsd_tp_close(&c->tp);
            return;
        } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            s->use_sendfile = 0;  /* this file or socket cannot: copy */
        } else if (errno != EAGAIN && errno != EINTR) {
            wsd_log(WSD_LOG_DEBUG, "http", c->assoc, "sendfile: %s", strerror(errno));
            wsd_tp_close(&c->tp);
            return;
        }
        /* socket full, or a chunk done: one small copied write, whose
         * completion (socket writable again, next loop turn) resumes */
        if (s->use_sendfile) {
            copy_chunk(c, s, PROBE_SIZE);
            return;
        }
    }
copy:
    while (!c->tp.closing && s->off < s->end && wsd_tp_queued(&c->tp) < OUT_HIGH) {
        if (copy_chunk(c, s, COPY_CHUNK) != 0)
            return;
    }
    if (s->off < s->end || c->tp.closing)
        return;
complete:
    s->done = 1;
    try_finish(c, s);
}

/* Go's http.FileServer (with websocketd main's hardening, see route.h) for
 * the decoded, clean path. */
static void serve_static(conn *c, serve *s, const wsd_request *r, const char *path)
{
    const wsd_config *cfg = c->cfg;
    wsd_route rt;
    wsd_file_plan plan;
    wsd_str out;
    time_t now = time(NULL);
    int rc, fd;

    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "STATIC");
    rc = wsd_route_static(cfg->staticdir, path, &rt);
    if (rc == WSD_ROUTE_REDIRECT) {
        wsd_str loc;
        wsd_str_init(&loc, WSD_HTTP_MAX_HEAD * 4);
        wsd_str_appendf(&loc, "%s%s%s", rt.location, *r->query ? "?" : "", r->query);
        respond(c, s, r, 301, NULL, "", 0, loc.s);   /* Go's localRedirect: no body */
        wsd_str_free(&loc);
        wsd_route_free(&rt);
        return;
    }
    if (rc == WSD_ROUTE_FORBIDDEN) {
        wsd_route_free(&rt);
        respond_text(c, s, r, 403, "403 Forbidden\n");
        return;
    }
    if (rc != WSD_ROUTE_FOUND) {
        wsd_route_free(&rt);
        respond_text(c, s, r, 404, "404 page not found\n");
        return;
    }
    fd = wsd_route_open(&rt);
    if (fd < 0) {
        wsd_route_free(&rt);
        if (fd == -EACCES || fd == -EPERM)
            respond_text(c, s, r, 403, "403 Forbidden\n");
        else if (fd == -ENOENT || fd == -ESTALE || fd == -ELOOP || fd == -ENOTDIR)
            respond_text(c, s, r, 404, "404 page not found\n");
        else
            respond_text(c, s, r, 500, "500 Internal Server Error\n");
        return;
    }
    wsd_file_plan_make(r, rt.file, (uint64_t)rt.st.st_size, rt.st.st_mtime, now, &plan);
    wsd_route_free(&rt);

    wsd_str_init(&out, RESPONSE_LIMIT + SMALL_FILE);
    if (wsd_file_response_head(&out, &plan, now, s->keep_alive, &cfg->headers,
                               &cfg->headers_http) != 0) {
        close(fd);
        wsd_str_free(&out);
        respond_text(c, s, r, 500, "500 Internal Server Error\n");
        return;
    }
    if (is_head(r) || plan.length == 0) {
        close(fd);
        send_response(c, s, &out);
        return;
    }
    if (plan.length <= SMALL_FILE) {
        /* head and body in one write */
        char buf[SMALL_FILE];
        ssize_t n;
        do
            n = pread(fd, buf, (size_t)plan.length, (off_t)plan.offset);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n != (ssize_t)plan.length) {
            wsd_str_free(&out);
            respond_text(c, s, r, 500, "500 Internal Server Error\n");
            return;
        }
        wsd_str_append(&out, buf, (size_t)n);
        send_response(c, s, &out);
        return;
    }
    posix_fadvise(fd, (off_t)plan.offset, (off_t)plan.length, POSIX_FADV_SEQUENTIAL);
    s->kind = K_FILE;
    s->fd = fd;
    s->off = plan.offset;
    s->end = plan.offset + plan.length;
    s->use_sendfile = plain_socket(c);
    c->state = ST_SERVE;
    /* the head first; its completion (serve_written) starts the body */
    wsd_tp_send(&c->tp, out.s, out.len);
}

/* ----------------------------------------------------------- the console */

static const char console_page[] =
"<!doctype html>\n"
"<html lang=\"en\">\n"
"<head>\n"
"<meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>wsd console</title>\n"
"<style>\n"
":root { color-scheme: light dark; --line: #8885; }\n"
"* { box-sizing: border-box; }\n"
"body { margin: 0; height: 100vh; display: flex; flex-direction: column;\n"
"       font: 14px/1.4 system-ui, sans-serif; }\n"
"header, form { display: flex; gap: 6px; align-items: center; padding: 8px 10px; }\n"
"header { border-bottom: 1px solid var(--line); flex-wrap: wrap; }\n"
"form { border-top: 1px solid var(--line); }\n"
"h1 { font-size: 15px; margin: 0 6px 0 0; }\n"
"input, button { font: inherit; padding: 4px 8px; }\n"
"input { font-family: ui-monospace, monospace; }\n"
"#url { flex: 1; min-width: 14em; }\n"
"#msg { flex: 1; }\n"
"#state { font-size: 12px; padding: 2px 8px; border-radius: 9px; background: #8883; }\n"
"#state.open { background: #2a4; color: #fff; }\n"
"#log { flex: 1; overflow: auto; margin: 0; padding: 8px 10px;\n"
"       font: 13px/1.45 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }\n"
"#log .t { color: #888; margin-right: 1ch; }\n"
"#log .in { color: #1a7f37; } #log .out { color: #1f5fbf; }\n"
"#log .info, #log .close { color: #777; } #log .error { color: #c62828; }\n"
"</style>\n"
"</head>\n"
"<body>\n"
"<header>\n"
"  <h1>wsd console</h1>\n"
"  <input id=\"url\" aria-label=\"WebSocket URL\" spellcheck=\"false\" autocomplete=\"off\">\n"
"  <button id=\"connect\" type=\"button\">Connect</button>\n"
"  <button id=\"disconnect\" type=\"button\" disabled>Disconnect</button>\n"
"  <button id=\"clear\" type=\"button\">Clear</button>\n"
"  <span id=\"state\">closed</span>\n"
"</header>\n"
"<pre id=\"log\" aria-live=\"polite\"></pre>\n"
"<form id=\"sendform\">\n"
"  <input id=\"msg\" aria-label=\"Message\" placeholder=\"message (Enter sends)\" autocomplete=\"off\" disabled>\n"
"  <button id=\"send\" type=\"submit\" disabled>Send</button>\n"
"</form>\n"
"<script>\n"
"\"use strict\";\n"
"(function () {\n"
"  var $ = function (id) { return document.getElementById(id); };\n"
"  var url = $(\"url\"), log = $(\"log\"), msg = $(\"msg\"), state = $(\"state\");\n"
"  var ws = null;\n"
"  /* this page's own address with the WebSocket scheme */\n"
"  url.value = (location.protocol === \"https:\" ? \"wss://\" : \"ws://\") +\n"
"    location.host + location.pathname + location.search;\n"
"\n"
"  function add(kind, text, code) {\n"
"    var row = document.createElement(\"div\"), t = document.createElement(\"span\");\n"
"    row.className = kind;\n"
"    if (code !== undefined) row.setAttribute(\"data-code\", String(code));\n"
"    t.className = \"t\";\n"
"    t.textContent = new Date().toTimeString().slice(0, 8);\n"
"    row.appendChild(t);\n"
"    row.appendChild(document.createTextNode(text));\n"
"    log.appendChild(row);\n"
"    log.scrollTop = log.scrollHeight;\n"
"  }\n"
"  function show(s) {\n"
"    state.textContent = s;\n"
"    state.className = s === \"open\" ? \"open\" : \"\";\n"
"    var open = s === \"open\";\n"
"    msg.disabled = !open;\n"
"    $(\"send\").disabled = !open;\n"
"    $(\"disconnect\").disabled = s === \"closed\";\n"
"    if (open) msg.focus();\n"
"  }\n"
"  function describe(data) {\n"
"    if (typeof data === \"string\") return data;\n"
"    var b = new Uint8Array(data), hex = [];\n"
"    for (var i = 0; i < b.length && i < 64; i++) hex.push((b[i] < 16 ? \"0\" : \"\") + b[i].toString(16));\n"
"    return \"[binary, \" + b.length + \" bytes] \" + hex.join(\" \") + (b.length > 64 ? \" \\u2026\" : \"\");\n"
"  }\n"
"  function connect() {\n"
"    var sock;\n"
"    if (ws) ws.close();\n"
"    try {\n"
"      sock = new WebSocket(url.value);\n"
"    } catch (e) {\n"
"      add(\"error\", \"cannot connect: \" + e.message);\n"
"      return;\n"
"    }\n"
"    sock.binaryType = \"arraybuffer\";\n"
"    ws = sock;\n"
"    show(\"connecting\");\n"
"    add(\"info\", \"connecting to \" + url.value);\n"
"    sock.onopen = function () {\n"
"      if (ws !== sock) return;\n"
"      add(\"info\", \"open\" + (sock.protocol ? \" (protocol \" + sock.protocol + \")\" : \"\"));\n"
"      show(\"open\");\n"
"    };\n"
"    sock.onmessage = function (e) { add(\"in\", \"\\u2190 \" + describe(e.data)); };\n"
"    sock.onerror = function () { add(\"error\", \"error\"); };\n"
"    sock.onclose = function (e) {\n"
"      add(\"close\", \"closed: code \" + e.code + (e.reason ? \", reason \" + JSON.stringify(e.reason) : \"\") +\n"
"          (e.wasClean ? \"\" : \" (not clean)\"), e.code);\n"
"      if (ws === sock) { ws = null; show(\"closed\"); }\n"
"    };\n"
"  }\n"
"  $(\"connect\").onclick = connect;\n"
"  $(\"disconnect\").onclick = function () { if (ws) { show(\"closing\"); ws.close(1000); } };\n"
"  $(\"clear\").onclick = function () { log.textContent = \"\"; };\n"
"  url.onkeydown = function (e) { if (e.key === \"Enter\") connect(); };\n"
"  $(\"sendform\").onsubmit = function (e) {\n"
"    e.preventDefault();\n"
"    if (!ws || ws.readyState !== WebSocket.OPEN) return;\n"
"    ws.send(msg.value);\n"
"    add(\"out\", \"\\u2192 \" + msg.value);\n"
"    msg.value = \"\";\n"
"  };\n"
"})();\n"
"</script>\n"
"</body>\n"
"</html>\n";

/* The console for any method and path, as http.ServeContent: Last-Modified
 * = start time, 304, Range (GET), HEAD. */
static void serve_console(conn *c, serve *s, const wsd_request *r)
{
    const wsd_config *cfg = c->cfg;
    size_t size = sizeof console_page - 1;
    wsd_file_plan plan;
    wsd_str out;
    time_t now = time(NULL);

    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "DEVCONSOLE");
    ensure_start_time();
    wsd_file_plan_make(r, "console.html", size, start_time, now, &plan);
    wsd_str_init(&out, RESPONSE_LIMIT + sizeof console_page);
    if (wsd_file_response_head(&out, &plan, now, s->keep_alive, &cfg->headers,
                               &cfg->headers_http) != 0) {
        wsd_str_free(&out);
        respond_text(c, s, r, 500, "500 Internal Server Error\n");
        return;
    }
    if (!is_head(r) && plan.length > 0)
        wsd_str_append(&out, console_page + plan.offset, (size_t)plan.length);
    send_response(c, s, &out);
}

/* --pty: the console is a terminal (termpage.c builds the response). */
static void serve_terminal(conn *c, serve *s, const wsd_request *r)
{
    wsd_str out;

    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "DEVCONSOLE");
    ensure_start_time();
    if (wsd_termpage_response(&out, r, c->cfg, s->keep_alive, start_time, time(NULL)) != 0) {
        respond_text(c, s, r, 500, "500 Internal Server Error\n");
        return;
    }
    send_response(c, s, &out);
}

/* ------------------------------------------------------------------- CGI */

/* Ends the script (program.c's CGI plan: stdin closed, SIGTERM to its
 * process group, SIGKILL a second later). Its output is read on, so it is
 * not stuck writing to a full pipe; on_cgi_out pauses again while the
 * client is still there. Idempotent. */
static void cgi_end(cgi_run *g)
{
    if (!g->prog || g->ended)
        return;
    g->ended = 1;
    wsd_program_end(g->prog);
    if (g->out_paused) {
        g->out_paused = 0;
        wsd_program_read(g->prog, WSD_PROGRAM_STDOUT, 1);
    }
    if (g->s)
        read_client(g->c, g->s, 1);   /* nothing to hold back any more */
}

/* The 500 for a script whose output has no valid head. */
static void cgi_fail(cgi_run *g, const char *why)
{
    conn *c = g->c;

    wsd_log(WSD_LOG_ERROR, "cgi", c->assoc, "%s", why);
    g->failed = 1;
    if (!g->head_sent && !c->tp.closing && g->s) {
        g->head_sent = 1;
        respond(c, g->s, NULL, 500, NULL, "", 0, NULL);
    }
    cgi_end(g);
}

static void cgi_send_body(cgi_run *g, const char *p, size_t n)
{
    conn *c = g->c;
    char *b;

    if (n == 0 || g->head_only || g->failed || c->tp.closing)
        return;
    b = xmalloc(n);
    memcpy(b, p, n);
    wsd_tp_send(&c->tp, b, n);
}

static void cgi_out_pause(cgi_run *g)
{
    if (!g->out_paused && !g->out_eof && !g->c->tp.closing &&
        wsd_tp_queued(&g->c->tp) > OUT_HIGH) {
        g->out_paused = 1;
        wsd_program_read(g->prog, WSD_PROGRAM_STDOUT, 0);
    }
}

/* The response head parsed out of the script's output: out it goes. */
static void cgi_send_head(cgi_run *g)
{
    const wsd_config *cfg = g->c->cfg;
    wsd_str out;

    wsd_str_init(&out, WSD_CGI_MAX_HEAD + RESPONSE_LIMIT);
    g->head_sent = 1;
    if (wsd_cgi_response_head(g->parser, &out, time(NULL), &cfg->headers,
                              &cfg->headers_http) != 0) {
        wsd_str_free(&out);
        g->head_sent = 0;
        cgi_fail(g, "cgi: response head too large");
        return;
    }
    wsd_tp_send(&g->c->tp, out.s, out.len);
}

static void on_cgi_out(wsd_program *p, const char *buf, size_t n, int eof)
{
    cgi_run *g = p->data;
    conn *c = g->c;

    if (n > 0 && !g->head_sent) {
        size_t used = 0;
        int rc = wsd_cgi_feed(g->parser, buf, n, &used);
        if (rc == WSD_CGI_DONE) {
            cgi_send_head(g);
            if (g->head_sent)
                cgi_send_body(g, buf + used, n - used);
        } else if (rc == WSD_CGI_ERROR) {
            cgi_fail(g, wsd_cgi_error(g->parser));
        }
    } else if (n > 0) {
        cgi_send_body(g, buf, n);
    }
    if (!eof) {
        cgi_out_pause(g);
        return;
    }
    /* EOF: the output is complete */
    g->out_eof = 1;
    if (!g->head_sent) {
        if (wsd_cgi_eof(g->parser) == WSD_CGI_DONE)
            cgi_send_head(g);
        else
            cgi_fail(g, wsd_cgi_error(g->parser));
    }
    if (g->s && !g->s->done) {
        g->s->done = 1;
        finish_close(c);          /* Connection: close — the end of the body */
    }
}

static void on_cgi_stdin_ready(wsd_program *p)
{
    cgi_run *g = p->data;

    if (g->s && (!wsd_program_stdin_open(p) || wsd_program_stdin_queued(p) < WSD_STDIN_LOW))
        read_client(g->c, g->s, 1);
}

/* The process side is over (the --maxforks slot is free): the conn may go. */
static void on_cgi_done(wsd_program *p)
{
    cgi_run *g = p->data;
    conn *c = g->c;

    wsd_program_free(p);
    g->prog = NULL;
    if (!g->out_eof && !c->tp.closing && g->s && !g->s->done) {
        /* output abandoned: no proper end of the response can follow */
        g->s->done = 1;
        if (g->head_sent)
            finish_close(c);
        else
            wsd_tp_close(&c->tp);
    }
    conn_unref(c);                 /* the program's hold on the conn */
}

static const wsd_program_ops cgi_program_ops = {
    on_cgi_out, NULL, NULL, on_cgi_stdin_ready, on_cgi_done,
};

/* Client bytes: the next body bytes go to stdin, anything after the body is
 * dropped (the connection ends with this response). The script's stdin
 * closes once the whole body is in. */
static void cgi_body(cgi_run *g, const char *p, size_t n)
{
    size_t k = g->body_left < n ? (size_t)g->body_left : n;

    if (k == 0 || !g->prog)
        return;
    g->body_left -= k;
    wsd_program_write(g->prog, p, k);
    if (g->body_left == 0)
        wsd_program_close_stdin(g->prog);   /* EOF for the script once written */
    if (wsd_program_stdin_full(g->prog) && g->s)
        read_client(g->c, g->s, 0);
}

static char *dir_of(const char *file)
{
    const char *sl = strrchr(file, '/');
    if (!sl)
        return xstrdup(".");
    if (sl == file)
        return xstrdup("/");
    return xstrndup(file, (size_t)(sl - file));
}

static int cgi_spawn(conn *c, cgi_run *g, const wsd_request *r, const wsd_route *rt)
{
    const wsd_config *cfg = c->cfg;
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    wsd_cgi_env_input ei;
    const char *base = strrchr(rt->file, '/');
    char *args[2], *cwd;
    char **env;
    int rc;

    memset(&ei, 0, sizeof ei);
    ei.cfg = cfg;
    ei.req = r;
    ei.remote_ip = c->remote_ip;
    ei.remote_port = c->remote_port;
    ei.remote_host = c->remote_host;
    ei.script_name = rt->script_name;
    ei.path_info = rt->path_info;
    ei.script_filename = rt->file;
    ei.https = wsd_tp_is_tls(&c->tp);
    ei.access = c->access;        /* the user, a trusted proxy's scheme and host (access.c) */
    env = wsd_cgi_env_build(&ei);
    args[0] = (char *)(base ? base + 1 : rt->file);
    args[1] = NULL;
    cwd = dir_of(rt->file);

    memset(&opt, 0, sizeof opt);
    opt.file = rt->real;          /* canonical, checked inside --cgidir */
    opt.argv = args;
    opt.env = env;
    opt.cwd = cwd;                /* own session and process group: process.h */
    wsd_kill_plan_cgi(&kill);
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = &cgi_program_ops;
    po.kill = &kill;
    po.log_category = "cgi";
    po.stderr_category = "cgi";
    po.assoc = &c->assoc;
    po.data = g;
    rc = wsd_program_start(c->srv->loop, &po, &g->prog);
    free(env);
    free(cwd);
    if (rc != 0)
        return rc;
    conn_ref(c);                  /* the conn lives until the program is done */
    return 0;
}

static void serve_cgi(conn *c, serve *s, const wsd_request *r, const wsd_route *rt,
                      const char *rest, size_t nrest)
{
    const wsd_http_header *te = wsd_http_get(r, "Transfer-Encoding");
    const wsd_http_header *expect = wsd_http_get(r, "Expect");
    cgi_run *g;
    int rc;

    s->keep_alive = 0;            /* the body ends with the connection */
    if (c->srv->maxforks > 0 && wsd_program_count() >= c->srv->maxforks) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc,
                "Fork not allowed since maxforks amount has been reached. CGI was not run.");
        respond_text(c, s, r, 429, "429 Too Many Requests\n");
        return;
    }
    if (!conn_fds_for_program(c->srv)) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc, "Out of file descriptors: CGI was not run.");
        respond_text(c, s, r, 503, WSD_BODY_NO_RESOURCES);
        return;
    }
    if (te) {
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "CGI request body with Transfer-Encoding refused");
        respond_text(c, s, r, 411, "411 Length Required\n");
        return;
    }
    if (c->srv->shutting_down) {
        respond_text(c, s, r, 503, "503 Service Unavailable: server shutting down\n");
        return;
    }
    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "CGI");
    g = xcalloc(1, sizeof *g);
    g->s = s;
    g->c = c;
    g->head_only = is_head(r);
    g->body_left = r->content_length;
    g->parser = wsd_cgi_parser_new(0);
    s->kind = K_CGI;
    s->g = g;
    rc = cgi_spawn(c, g, r, rt);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "cgi", c->assoc, "cgi: error running %s: %s", rt->file,
                wsd_spawn_strerror(rc));
        g->head_sent = 1;
        if (wsd_spawn_busy(rc))
            respond_text(c, s, r, 503, WSD_BODY_NO_RESOURCES);
        else
            respond(c, s, r, 500, NULL, "", 0, NULL);
        return;
    }
    wsd_log(WSD_LOG_DEBUG, "cgi", c->assoc, "CGI process %d started", g->prog->pid);
    c->state = ST_SERVE;
    if (g->body_left > 0 && expect && wsd_strncaseeq(expect->value, expect->value_len, "100-continue"))
        wsd_tp_send(&c->tp, xstrdup("HTTP/1.1 100 Continue\r\n\r\n"), 25);
    wsd_program_read(g->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    if (g->body_left == 0)
        wsd_program_close_stdin(g->prog);   /* no body: EOF at once */
    else if (nrest > 0)
        cgi_body(g, rest, nrest);
}

/* ------------------------------------------------------------------- API */

static void serve_read(conn *c, char *p, size_t n);
static int serve_eof(conn *c, int status);
static void serve_written(conn *c);
static void serve_client_gone(conn *c);
static void serve_shutdown(conn *c);
static void serve_free(conn *c);

static const conn_handler serve_handler = {
    serve_read, serve_eof, serve_written, serve_client_gone, serve_shutdown, serve_free,
};

int wsd_serve_request(conn *c, const wsd_request *r, const char *rest, size_t nrest)
{
    const wsd_config *cfg = c->cfg;
    size_t plen = strlen(r->path);
    char *decoded, *clean;
    serve *s;
    int handled = 1;

    if (!cfg->devconsole && !cfg->cgidir && !cfg->staticdir)
        return 0;                 /* a COMMAND/--dir server: server.c's 404 */
    ensure_start_time();
    if (c->serve) {               /* cannot happen: released before the next request */
        serve_release(c->serve);
        c->serve = NULL;
    }
    s = xcalloc(1, sizeof *s);
    s->c = c;
    s->fd = -1;
    s->kind = K_SIMPLE;
    s->keep_alive = r->keep_alive && r->http_major == 1 && r->http_minor >= 1 &&
                    r->content_length == 0 && !wsd_http_get(r, "Transfer-Encoding") &&
                    !c->srv->shutting_down && !c->srv->draining;
    c->serve = s;
    c->h = &serve_handler;

    if (cfg->devconsole) {        /* any path: nothing of it is used */
        if (cfg->pty)
            serve_terminal(c, s, r);
        else
            serve_console(c, s, r);
        goto taken;
    }
    decoded = xmalloc(plen + 1);
    if (wsd_http_url_decode(r->path, plen, decoded) < 0) {
        free(decoded);
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "Bad request path");
        respond_text(c, s, r, 400, "400 Bad Request\n");
        goto taken;
    }
    /* Go ServeMux's 301 to the cleaned path (CONNECT excepted), where
     * paths name files (--staticdir, --cgidir; --dir in server.c) */
    clean = wsd_route_clean_path(decoded);
    if (strcmp(clean, decoded) != 0 && strcmp(r->method, "CONNECT") != 0) {
        char *esc = wsd_route_escape_path(clean);
        wsd_str loc, body;
        wsd_str_init(&loc, WSD_HTTP_MAX_HEAD * 4);
        wsd_str_appendf(&loc, "%s%s%s", esc, *r->query ? "?" : "", r->query);
        wsd_str_init(&body, WSD_HTTP_MAX_HEAD * 8);
        if (strcmp(r->method, "GET") == 0) {
            wsd_str_appends(&body, "<a href=\"");
            html_escape(&body, loc.s);
            wsd_str_appends(&body, "\">Moved Permanently</a>.\n\n");
        }
        respond(c, s, r, 301, body.len ? "text/html; charset=utf-8" : NULL, body.s ? body.s : "",
                body.len, loc.s);
        wsd_str_free(&body);
        wsd_str_free(&loc);
        free(esc);
        free(clean);
        free(decoded);
        goto taken;
    }
    free(clean);

    if (c->ep->is_route && !*c->subpath && (cfg->staticdir || cfg->cgidir)) {
        /* a route's own path ("/logs"): its directory is "/logs/" */
        const char *base = strrchr(c->ep->path, '/') + 1;
        char *esc = wsd_route_escape_path(base);
        wsd_str loc;
        wsd_str_init(&loc, WSD_HTTP_MAX_HEAD * 4);
        wsd_str_appendf(&loc, "%s/%s%s", esc, *r->query ? "?" : "", r->query);
        respond(c, s, r, 301, NULL, "", 0, loc.s);
        wsd_str_free(&loc);
        free(esc);
        free(decoded);
        goto taken;
    }
    {
        /* under a route (--config), the path under it names the file */
        const char *path = c->ep->is_route ? c->subpath : decoded;
        wsd_route rt;
        memset(&rt, 0, sizeof rt);
        if (cfg->cgidir && wsd_route_cgi(cfg->cgidir, path, &rt) == WSD_ROUTE_FOUND) {
            char esc[1024];
            wsd_str a;
            wsd_str_init(&a, 16384);
            wsd_str_appendf(&a, "%s cgiscript:'%s'", c->assoc ? c->assoc : "",
                            wsd_log_escape(esc, sizeof esc, rt.file, strlen(rt.file)));
            free(c->assoc);
            c->assoc = a.s;
            serve_cgi(c, s, r, &rt, rest, nrest);
            wsd_route_free(&rt);
            free(decoded);
            return 1;
        }
        wsd_route_free(&rt);
        if (cfg->staticdir)
            serve_static(c, s, r, path);
        else
            handled = 0;
    }
    free(decoded);
    if (!handled) {
        c->serve = NULL;
        c->h = NULL;
        serve_release(s);
        return 0;
    }
taken:
    hold_pending(c, s, rest, nrest);
    return 1;
}

static void serve_read(conn *c, char *p, size_t n)
{
    serve *s = c->serve;

    if (!s || c->state != ST_SERVE)
        return;                    /* lingering after the response: discarded */
    if (s->g && s->g->body_left > 0) {
        cgi_body(s->g, p, n);
        return;
    }
    hold_pending(c, s, p, n);
}

/* The client's EOF: the end of a request body; the response goes on. */
static int serve_eof(conn *c, int status)
{
    serve *s = c->serve;

    if (c->state != ST_SERVE || status != UV_EOF)
        return 0;
    if (!s) {
        wsd_tp_close(&c->tp);
        return 1;
    }
    s->client_eof = 1;
    s->paused = 0;
    if (s->g) {
        /* The client closed its side while the script runs: taken as the
         * client leaving (as nginx does; Go's CGI handler lets the script
         * run on). The script is ended; what it still writes before its
         * stdout closes is sent. */
        cgi_run *g = s->g;
        g->body_left = 0;
        if (g->prog && !g->out_eof) {
            wsd_log(WSD_LOG_DEBUG, "cgi", c->assoc, "Client closed the connection: ending the CGI script");
            cgi_end(g);
        }
        return 1;
    }
    try_finish(c, s);
    return 1;
}

/* A write completed: below OUT_LOW, send more. */
static void serve_written(conn *c)
{
    serve *s = c->serve;

    if (!s || c->state != ST_SERVE || wsd_tp_queued(&c->tp) >= OUT_LOW)
        return;
    if (s->g) {
        cgi_run *g = s->g;
        if (g->out_paused && g->prog && wsd_tp_queued(&c->tp) < OUT_LOW) {
            g->out_paused = 0;
            wsd_program_read(g->prog, WSD_PROGRAM_STDOUT, 1);
        }
        return;
    }
    if (s->kind == K_FILE && !s->done)
        file_pump(c, s);
    else
        try_finish(c, s);
}

static void serve_client_gone(conn *c)
{
    serve *s = c->serve;

    if (s && s->g && s->g->prog && !s->g->ended) {
        wsd_log(WSD_LOG_DEBUG, "cgi", c->assoc, "Client went away: ending the CGI script");
        cgi_end(s->g);
    }
}

static void serve_shutdown(conn *c)
{
    serve *s = c->serve;

    if (s && s->g && s->g->prog && !s->g->ended) {
        wsd_log(WSD_LOG_DEBUG, "cgi", c->assoc, "Server shutting down: ending the CGI script");
        cgi_end(s->g);
    }
}

static void serve_free(conn *c)
{
    serve_release(c->serve);
    c->serve = NULL;
}

/* websocketd's start-up lines. host == NULL: the directories (once, before
 * the listeners); else the URL line for one listening address (after its
 * "Starting WebSocket server" line). */
void wsd_serve_startup_log(const wsd_config *cfg, const char *host, int port)
{
    ensure_start_time();
    if (!host) {
        if (cfg->staticdir)
            wsd_log(WSD_LOG_INFO, "server", "", "Serving static content from : %s", cfg->staticdir);
        if (cfg->cgidir)
            wsd_log(WSD_LOG_INFO, "server", "", "Serving CGI scripts from    : %s", cfg->cgidir);
        return;
    }
    if (cfg->devconsole)
        wsd_log(WSD_LOG_INFO, "server", "", "Developer console enabled   : %s://%s:%d/",
                cfg->ssl ? "https" : "http", host, port);
    else if (cfg->staticdir || cfg->cgidir)
        wsd_log(WSD_LOG_INFO, "server", "", "Serving CGI or static files : %s://%s:%d/",
                cfg->ssl ? "https" : "http", host, port);
}
