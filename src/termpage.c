/* termpage.c — the web terminal over plain HTTP (see termpage.h). */
#include "termpage.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "httpfile.h"
#include "termassets.h"

#define HEAD_LIMIT (8 * 1024)        /* our own head lines */
#define ASSET_PREFIX "/.wsd/"

/* Is this q-value zero ("0", "0.", "0.000")? */
static int q_zero(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || p[0] != '0')
        return 0;
    for (i = 1; i < n; i++) {
        if (p[i] != '.' && p[i] != '0')
            return 0;
    }
    return 1;
}

int wsd_accepts_gzip(const char *v, size_t n)
{
    int explicit = -1, star = -1;
    size_t i = 0;

    while (i < n) {
        size_t end = i, tl, pe;
        const char *tok;
        int ok = 1;

        while (end < n && v[end] != ',')
            end++;
        /* the coding, then ;params */
        tok = v + i;
        pe = i;
        while (pe < end && v[pe] != ';')
            pe++;
        tl = pe - i;
        tok = wsd_trim_space(tok, &tl);
        while (pe < end) {                /* ;q=... (other parameters ignored) */
            size_t ps = pe + 1, pl;
            const char *par;
            pe = ps;
            while (pe < end && v[pe] != ';')
                pe++;
            pl = pe - ps;
            par = wsd_trim_space(v + ps, &pl);
            if (pl >= 2 && (par[0] == 'q' || par[0] == 'Q') && par[1] == '=') {
                size_t ql = pl - 2;
                const char *q = wsd_trim_space(par + 2, &ql);
                if (q_zero(q, ql))
                    ok = 0;
            }
        }
        if (wsd_strncaseeq(tok, tl, "gzip") || wsd_strncaseeq(tok, tl, "x-gzip"))
            explicit = ok;
        else if (tl == 1 && tok[0] == '*')
            star = ok;
        i = end + 1;
    }
    return explicit >= 0 ? explicit : star > 0;
}

static const wsd_asset *find(const char *path)
{
    const wsd_asset *a = wsd_assets_table();
    const char *p = strstr(path, ASSET_PREFIX), *name;

    /* the last "/.wsd/": a file name follows it, no further '/' */
    while (p && strstr(p + 1, ASSET_PREFIX))
        p = strstr(p + 1, ASSET_PREFIX);
    if (!p || strchr(p + strlen(ASSET_PREFIX), '/'))
        return a;                     /* the page */
    name = p + strlen(ASSET_PREFIX);
    for (a++; a->name; a++) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

/* The file's own size, from the gzip trailer (ISIZE, mod 2^32: the files
 * are far smaller). */
static size_t plain_size(const wsd_asset *a)
{
    const uint8_t *t = a->gz + a->gzlen - 4;
    return a->gzlen < 18 ? 0 : (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 |
                                   (size_t)t[3] << 24;
}

/* Inflates the file into a new buffer of plain_size bytes; NULL if the
 * embedded data is not what it should be. */
static char *inflate_asset(const wsd_asset *a, size_t *len)
{
    size_t n = plain_size(a);
    char *buf = xmalloc(n ? n : 1);
    z_stream z;
    int rc;

    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return NULL;
    }
    z.next_in = (Bytef *)a->gz;
    z.avail_in = (uInt)a->gzlen;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)n;
    rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.total_out != n) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int is_head(const wsd_request *r)
{
    return r->method && strcmp(r->method, "HEAD") == 0;
}

static int head_common(wsd_str *out, const wsd_config *cfg, int status, int keep_alive,
                       time_t now)
{
    char date[WSD_HTTP_DATE_SIZE];
    int rc = 0;

    wsd_http_date(now, date);
    rc |= wsd_str_appendf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, wsd_http_reason(status),
                          date);
    if (!keep_alive)
        rc |= wsd_str_appends(out, "Connection: close\r\n");
    rc |= wsd_append_header_list(out, &cfg->headers);
    rc |= wsd_append_header_list(out, &cfg->headers_http);
    return rc;
}

int wsd_termpage_response(wsd_str *out, const wsd_request *r, const wsd_config *cfg,
                          int keep_alive, time_t mtime, time_t now)
{
    const wsd_asset *a = find(r->path);
    const wsd_http_header *ims = wsd_http_get(r, "If-Modified-Since");
    const wsd_http_header *ae = wsd_http_get(r, "Accept-Encoding");
    char lm[WSD_HTTP_DATE_SIZE];
    const char *body;
    char *plain = NULL;
    size_t blen;
    int gz, rc = 0;

    if (!a) {
        static const char nf[] = "404 page not found\n";
        wsd_str_init(out, HEAD_LIMIT + sizeof nf);
        rc |= head_common(out, cfg, 404, keep_alive, now);
        rc |= wsd_str_appendf(out, "Content-Type: text/plain; charset=utf-8\r\n"
                              "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n\r\n",
                              sizeof nf - 1);
        if (!is_head(r))
            rc |= wsd_str_append(out, nf, sizeof nf - 1);
        goto done;
    }
    if (mtime > now)
        mtime = now;
    wsd_http_date(mtime, lm);
    if (ims && wsd_http_not_modified(ims->value, ims->value_len, mtime)) {
        wsd_str_init(out, HEAD_LIMIT);
        rc |= head_common(out, cfg, 304, keep_alive, now);
        rc |= wsd_str_appendf(out, "Last-Modified: %s\r\nCache-Control: no-cache\r\n"
                              "Vary: Accept-Encoding\r\n\r\n", lm);
        goto done;
    }
    gz = ae && wsd_accepts_gzip(ae->value, ae->value_len);
    if (gz) {
        body = (const char *)a->gz;
        blen = a->gzlen;
    } else {
        plain = inflate_asset(a, &blen);
        if (!plain)
            return -1;
        body = plain;
    }
    wsd_str_init(out, HEAD_LIMIT + blen);
    rc |= head_common(out, cfg, 200, keep_alive, now);
    rc |= wsd_str_appendf(out, "Content-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                          "Content-Length: %zu\r\n%sLast-Modified: %s\r\n"
                          "Cache-Control: no-cache\r\nVary: Accept-Encoding\r\n\r\n",
                          a->type, blen, gz ? "Content-Encoding: gzip\r\n" : "", lm);
    if (!is_head(r))
        rc |= wsd_str_append(out, body, blen);
    free(plain);
done:
    if (rc) {
        wsd_str_free(out);
        return -1;
    }
    return 0;
}
