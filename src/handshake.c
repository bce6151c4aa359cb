/* handshake.c — RFC 6455 §4.2 server handshake (see handshake.h). */
#include "handshake.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Does any header `name` of r contain token tok? */
static int any_has_token(const wsd_request *r, const char *name, const char *tok)
{
    size_t i;
    for (i = 0; i < r->nheaders; i++) {
        const wsd_http_header *h = &r->headers[i];
        if (wsd_strncaseeq(h->name, h->name_len, name) &&
            wsd_header_has_token(h->value, h->value_len, tok))
            return 1;
    }
    return 0;
}

static int is_b64(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Is k[0..n) base64 (standard alphabet, padded) of exactly 16 bytes? */
static int key_ok(const char *k, size_t n)
{
    unsigned char out[24];
    size_t i;

    /* 16 bytes → 22 data characters and "==". */
    if (n != 24 || k[22] != '=' || k[23] != '=')
        return 0;
    for (i = 0; i < 22; i++)
        if (!is_b64((unsigned char)k[i]))
            return 0;
    /* EVP_DecodeBlock counts the padding as zero bytes: 18 = 16 + 2. */
    return EVP_DecodeBlock(out, (const unsigned char *)k, 24) == 18;
}

/* How many header fields named `name` r has. */
static size_t count_fields(const wsd_request *r, const char *name)
{
    size_t i, n = 0;
    for (i = 0; i < r->nheaders; i++)
        n += (size_t)wsd_strncaseeq(r->headers[i].name, r->headers[i].name_len, name);
    return n;
}

int wsd_handshake_check(const wsd_request *r, wsd_handshake *hs)
{
    const wsd_http_header *key, *ver;

    memset(hs, 0, sizeof *hs);
    if (!any_has_token(r, "Upgrade", "websocket"))
        return WSD_HS_NOT_WEBSOCKET;

    hs->status = 400;
    if (!r->method || strcmp(r->method, "GET") != 0) {
        hs->status = 405;
        hs->text = "WebSocket upgrade requires GET";
        return WSD_HS_BAD;
    }
    if (r->http_major < 1 || (r->http_major == 1 && r->http_minor < 1)) {
        hs->text = "WebSocket upgrade requires HTTP/1.1";
        return WSD_HS_BAD;
    }
    if (!wsd_http_get(r, "Host")) {
        hs->text = "missing Host header";
        return WSD_HS_BAD;
    }
    if (!any_has_token(r, "Connection", "upgrade")) {
        hs->text = "Connection header does not contain Upgrade";
        return WSD_HS_BAD;
    }
    /* a body would come before the WebSocket stream: bytes after the head
     * must be frames, never a body read as frames (RFC 9112 §6) */
    if (r->content_length > 0 || wsd_http_get(r, "Transfer-Encoding")) {
        hs->text = "WebSocket upgrade request with a body";
        return WSD_HS_BAD;
    }
    /* RFC 6455 §11.3.1, §11.3.5: each MUST NOT appear more than once;
     * checking only the first would let a second one go unseen */
    if (count_fields(r, "Sec-WebSocket-Key") > 1) {
        hs->text = "more than one Sec-WebSocket-Key header";
        return WSD_HS_BAD;
    }
    key = wsd_http_get(r, "Sec-WebSocket-Key");
    if (!key || key->value_len == 0) {
        hs->text = "missing Sec-WebSocket-Key";
        return WSD_HS_BAD;
    }
    if (!key_ok(key->value, key->value_len)) {
        hs->text = "invalid Sec-WebSocket-Key";
        return WSD_HS_BAD;
    }
    if (count_fields(r, "Sec-WebSocket-Version") > 1) {
        hs->text = "more than one Sec-WebSocket-Version header";
        return WSD_HS_BAD;
    }
    ver = wsd_http_get(r, "Sec-WebSocket-Version");
    if (!ver || ver->value_len == 0) {
        hs->text = "missing Sec-WebSocket-Version";
        return WSD_HS_BAD;
    }
    if (ver->value_len != 2 || memcmp(ver->value, "13", 2) != 0) {
        hs->status = 426;
        hs->text = "unsupported Sec-WebSocket-Version";
        return WSD_HS_BAD;
    }

    hs->status = 0;
    wsd_handshake_accept(key->value, key->value_len, hs->accept);
    return WSD_HS_OK;
}

void wsd_handshake_accept(const char *key, size_t len, char accept[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
        !EVP_DigestUpdate(ctx, key, len) ||
        !EVP_DigestUpdate(ctx, WS_GUID, sizeof WS_GUID - 1) ||
        !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 20)
        abort();    /* only on OOM inside OpenSSL: the OOM policy */
    EVP_MD_CTX_free(ctx);
    /* 20 bytes → 28 characters + NUL */
    EVP_EncodeBlock((unsigned char *)accept, md, 20);
}

/* Undoes a partial append so a failed call leaves out unchanged. */
static int rollback(wsd_str *out, size_t len)
{
    wsd_str_truncate(out, len);
    return -1;
}

const char *wsd_handshake_subprotocol(const wsd_request *r, char *const *supported, size_t n)
{
    size_t h, k;

    if (n == 0)
        return NULL;
    /* client order: headers in arrival order, tokens left to right */
    for (h = 0; h < r->nheaders; h++) {
        const wsd_http_header *hd = &r->headers[h];
        size_t i = 0;
        if (!wsd_strncaseeq(hd->name, hd->name_len, "Sec-WebSocket-Protocol"))
            continue;
        while (i < hd->value_len) {
            size_t start, end;
            while (i < hd->value_len && (hd->value[i] == ' ' || hd->value[i] == '\t' ||
                                         hd->value[i] == ','))
                i++;
            start = i;
            while (i < hd->value_len && hd->value[i] != ',')
                i++;
            end = i;
            while (end > start && (hd->value[end - 1] == ' ' || hd->value[end - 1] == '\t'))
                end--;
            for (k = 0; k < n && end > start; k++) {
                /* subprotocol names are case-sensitive tokens (RFC 6455 §4.1) */
                if (strlen(supported[k]) == end - start &&
                    memcmp(supported[k], hd->value + start, end - start) == 0)
                    return supported[k];
            }
        }
    }
    return NULL;
}

int wsd_response_101(wsd_str *out, const char *accept, const char *protocol,
                     const char *extensions,
                     const wsd_header_list *extra1, const wsd_header_list *extra2)
{
    size_t len0 = out->len;
    if (wsd_str_appendf(out,
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n", accept) < 0 ||
        (protocol && wsd_str_appendf(out, "Sec-WebSocket-Protocol: %s\r\n", protocol) < 0) ||
        (extensions && wsd_str_appendf(out, "Sec-WebSocket-Extensions: %s\r\n", extensions) < 0) ||
        wsd_append_header_list(out, extra1) < 0 ||
        wsd_append_header_list(out, extra2) < 0 || wsd_str_appends(out, "\r\n") < 0)
        return rollback(out, len0);
    return 0;
}

int wsd_response_simple(wsd_str *out, int status, const char *body, int version_hdr,
                        const wsd_header_list *extra1, const wsd_header_list *extra2)
{
    size_t len0 = out->len;
    char date[WSD_HTTP_DATE_SIZE];

    if (!body)
        body = "";
    wsd_http_date(time(NULL), date);
    if (wsd_str_appendf(out,
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "Date: %s\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Connection: close\r\n",
                        status, wsd_http_reason(status), strlen(body), date) < 0 ||
        (version_hdr && wsd_str_appends(out, "Sec-WebSocket-Version: 13\r\n") < 0) ||
        wsd_append_header_list(out, extra1) < 0 ||
        wsd_append_header_list(out, extra2) < 0 || wsd_str_appends(out, "\r\n") < 0 ||
        wsd_str_appends(out, body) < 0)
        return rollback(out, len0);
    return 0;
}
