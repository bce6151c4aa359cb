/* tls.c — OpenSSL server connections over in-memory buffers (see tls.h).
 *
 * Both directions go through one custom BIO whose callbacks work on buffers
 * of the wsd_tls: `in` holds ciphertext fed but not yet read by OpenSSL,
 * `out` holds ciphertext OpenSSL wrote and the caller has not taken. Unlike
 * BIO_s_mem, whose buffer keeps its largest size for the connection's life,
 * each buffer is freed as soon as it is empty, so an idle connection holds
 * none. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "util.h"

struct wsd_tls_ctx {
    SSL_CTX *ssl_ctx;
    BIO_METHOD *meth;
};

struct wsd_tls {
    SSL *ssl;
    char *in;                /* fed ciphertext; in[in_off..in_len) unread */
    size_t in_off, in_len;
    char *out;               /* ciphertext out[out_off..out_len) pending */
    size_t out_off, out_len, out_cap;
    const char *err;         /* static reason after ERROR */
    long verify;             /* X509_V_* result when verification failed, else X509_V_OK */
    unsigned char head[5];   /* the connection's first bytes (plain HTTP check) */
    unsigned char nhead;
    unsigned failed : 1, eof : 1, shut : 1, plain_http : 1;
};

static void fatal_oom(const char *what)
{
    fprintf(stderr, "wsd: out of memory (%s)\n", what);
    abort();
}

/* ------------------------------------------------------------- buffers */

/* Makes room for `extra` more bytes at the end of out. */
static void out_reserve(wsd_tls *t, size_t extra)
{
    size_t live = t->out_len - t->out_off;
    size_t cap;

    if (t->out_cap - t->out_len >= extra)
        return;
    if (t->out_off > 0) {          /* slide the pending bytes to the front */
        memmove(t->out, t->out + t->out_off, live);
        t->out_off = 0;
        t->out_len = live;
        if (t->out_cap - t->out_len >= extra)
            return;
    }
    cap = t->out_cap ? t->out_cap * 2 : 4096;
    if (cap < live + extra)
        cap = live + extra;
    t->out = xrealloc(t->out, cap);
    t->out_cap = cap;
}

static void out_reset(wsd_tls *t)
{
    free(t->out);
    t->out = NULL;
    t->out_off = t->out_len = t->out_cap = 0;
}

static void in_reset(wsd_tls *t)
{
    free(t->in);
    t->in = NULL;
    t->in_off = t->in_len = 0;
}

/* ------------------------------------------------------------- the BIO */

static int bio_read(BIO *b, char *buf, size_t len, size_t *got)
{
    wsd_tls *t = BIO_get_data(b);
    size_t avail = t->in_len - t->in_off;

    BIO_clear_retry_flags(b);
    if (avail == 0) {
        BIO_set_retry_read(b);     /* SSL_ERROR_WANT_READ: feed more */
        *got = 0;
        return 0;
    }
    if (len > avail)
        len = avail;
    memcpy(buf, t->in + t->in_off, len);
    t->in_off += len;
    if (t->in_off == t->in_len)
        in_reset(t);
    *got = len;
    return 1;
}

static int bio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
    wsd_tls *t = BIO_get_data(b);

    BIO_clear_retry_flags(b);
    out_reserve(t, len);
    memcpy(t->out + t->out_len, buf, len);
    t->out_len += len;
    *written = len;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    wsd_tls *t = BIO_get_data(b);
    (void)num;
    (void)ptr;

    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;                  /* the caller sends; nothing to flush here */
    case BIO_CTRL_PENDING:
        return t ? (long)(t->in_len - t->in_off) : 0;
    case BIO_CTRL_WPENDING:
        return t ? (long)(t->out_len - t->out_off) : 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

/* ------------------------------------------------------------- context */

/* http/1.1 if the client offers it; a client that offers ALPN without it
 * gets the fatal no_application_protocol alert (RFC 7301 §3.2; tls.h). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h1[] = "http/1.1";
    unsigned int i = 0;
    (void)ssl;
    (void)arg;

    while (i < inlen) {
        unsigned int n = in[i++];
        if (n > inlen - i)
            break;
        if (n == sizeof h1 - 1 && memcmp(in + i, h1, n) == 0) {
            *out = in + i;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Encrypted keys are refused rather than prompting on the terminal; *u
 * records that a passphrase was asked for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* The first (deepest) error on the queue in words, with the common cases of
 * a wrong file said plainly ("no PEM certificate found" rather than "no start
 * line"); `what` names the expected content. Clears the queue. */
static const char *ossl_reason(const char *what)
{
    static char plain[64];
    unsigned long e = ERR_peek_error();
    int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    if ((lib == ERR_LIB_PEM && reason == PEM_R_NO_START_LINE) ||
        (lib == ERR_LIB_OSSL_DECODER && reason == ERR_R_UNSUPPORTED) ||
        (lib == ERR_LIB_X509 && reason == X509_R_NO_CERTIFICATE_OR_CRL_FOUND)) {
        snprintf(plain, sizeof plain, "no PEM %s found", what);
        r = plain;
    }
    ERR_clear_error();
    return r ? r : "unknown OpenSSL error";
}

/* Can the file be read? Otherwise errno's text into err. */
static int readable(const char *flag, const char *path, char *err, size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    int e = errno;

    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (f) {
        fclose(f);
        return 1;
    }
    if (f)
        fclose(f);
    snprintf(err, errlen, "cannot load %s '%s': %s", flag, path, strerror(e));
    return 0;
}

wsd_tls_ctx *wsd_tls_ctx_new(const char *cert, const char *key, const char *ca,
                             char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "wsd";
    static int asked;              /* no_passphrase was called */
    wsd_tls_ctx *ctx;
    SSL_CTX *s;

    if (errlen)
        err[0] = '\0';
    ERR_clear_error();
    if (!cert || !*cert || !key || !*key) {
        snprintf(err, errlen, "both --sslcert and --sslkey are required");
        return NULL;
    }
    s = SSL_CTX_new(TLS_server_method());
    if (!s) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ossl_reason("data"));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set_security_level(s, 2);
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(s, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_alpn_select_cb(s, alpn_select, NULL);
    SSL_CTX_set_default_passwd_cb(s, no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(s, &asked);
    asked = 0;

    if (!readable("--sslcert", cert, err, errlen))
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
        snprintf(err, errlen, "cannot load --sslcert '%s': %s", cert, ossl_reason("certificate"));
        goto fail;
    }
    if (!readable("--sslkey", key, err, errlen))
        goto fail;
    if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_error();
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "--sslkey '%s' does not match --sslcert '%s'", key, cert);
        } else if (asked) {
            ERR_clear_error();
            snprintf(err, errlen, "cannot load --sslkey '%s': the key is encrypted "
                     "(a passphrase is not supported)", key);
        } else {
            snprintf(err, errlen, "cannot load --sslkey '%s': %s", key,
                     ossl_reason("private key"));
        }
        goto fail;
    }
    if (SSL_CTX_check_private_key(s) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "--sslkey '%s' does not match --sslcert '%s'", key, cert);
        goto fail;
    }
    if (ca && *ca) {
        STACK_OF(X509_NAME) *names;
        if (!readable("--sslca", ca, err, errlen))
            goto fail;
        if (SSL_CTX_load_verify_locations(s, ca, NULL) != 1) {
            snprintf(err, errlen, "cannot load --sslca '%s': %s", ca,
                     ossl_reason("CA certificate"));
            goto fail;
        }
        names = SSL_load_client_CA_file(ca);
        if (!names) {
            snprintf(err, errlen, "cannot load --sslca '%s': no PEM CA certificate found", ca);
            ERR_clear_error();
            goto fail;
        }
        SSL_CTX_set_client_CA_list(s, names);    /* takes ownership */
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }

    ctx = xcalloc(1, sizeof *ctx);
    ctx->ssl_ctx = s;
    ctx->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsd-tls");
    if (!ctx->meth || !BIO_meth_set_read_ex(ctx->meth, bio_read) ||
        !BIO_meth_set_write_ex(ctx->meth, bio_write) ||
        !BIO_meth_set_ctrl(ctx->meth, bio_ctrl) ||
        !BIO_meth_set_create(ctx->meth, bio_create) ||
        !BIO_meth_set_destroy(ctx->meth, bio_destroy))
        fatal_oom("BIO method");
    ERR_clear_error();
    return ctx;

fail:
    SSL_CTX_free(s);
    ERR_clear_error();
    return NULL;
}

void wsd_tls_ctx_free(wsd_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    BIO_meth_free(ctx->meth);
    free(ctx);
}

/* ------------------------------------------------------------- connection */

wsd_tls *wsd_tls_new(wsd_tls_ctx *ctx)
{
    wsd_tls *t = xcalloc(1, sizeof *t);
    BIO *b;

    t->ssl = SSL_new(ctx->ssl_ctx);
    b = BIO_new(ctx->meth);
    if (!t->ssl || !b)
        fatal_oom("SSL_new");
    BIO_set_data(b, t);
    SSL_set_bio(t->ssl, b, b);     /* one reference, used both ways */
    SSL_set_accept_state(t->ssl);
    t->verify = X509_V_OK;
    ERR_clear_error();
    return t;
}

void wsd_tls_free(wsd_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);              /* frees the BIO too */
    in_reset(t);
    out_reset(t);
    free(t);
    ERR_clear_error();
}

/* Does the connection start like plain HTTP? Go's test (net/http,
 * tlsRecordHeaderLooksLikeHTTP) on the first 5 bytes, so that wsd answers
 * exactly the requests websocketd answers. */
static int looks_like_http(const wsd_tls *t)
{
    static const char *const starts[] = {"GET /", "HEAD ", "POST ", "PUT /", "OPTIO"};
    size_t i;

    if (t->nhead < sizeof t->head || SSL_is_init_finished(t->ssl))
        return 0;
    for (i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (memcmp(t->head, starts[i], sizeof t->head) == 0)
            return 1;
    return 0;
}

/* Records why an SSL call failed (ssl_err from SSL_get_error). */
static void fail(wsd_tls *t, int ssl_err)
{
    unsigned long e = ERR_peek_error();

    t->failed = 1;
    t->err = NULL;
    if (ssl_err == SSL_ERROR_SSL && e) {
        int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
        t->err = ERR_reason_error_string(e);
        if (lib == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
            t->verify = SSL_get_verify_result(t->ssl);
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        t->err = "unexpected end of input";
    }
    if (!t->err)
        t->err = "TLS error";
    if (looks_like_http(t)) {
        t->plain_http = 1;
        t->err = "client sent an HTTP request to an HTTPS server";
        out_reset(t);              /* no alert: the answer is in HTTP */
    }
    in_reset(t);                   /* nothing more will be read */
    ERR_clear_error();
}

int wsd_tls_feed(wsd_tls *t, const void *data, size_t len)
{
    size_t unread = t->in_len - t->in_off, i;

    if (t->failed)
        return WSD_TLS_ERROR;
    if (len == 0 || t->eof)
        return WSD_TLS_OK;         /* after close_notify, input is ignored */
    if (unread > 0 && unread + len > WSD_TLS_IN_MAX)
        return WSD_TLS_AGAIN;
    for (i = 0; t->nhead < sizeof t->head && i < len; i++)
        t->head[t->nhead++] = ((const unsigned char *)data)[i];
    if (unread == 0) {
        in_reset(t);
        t->in = xmalloc(len);
    } else {
        char *n = xmalloc(unread + len);
        memcpy(n, t->in + t->in_off, unread);
        free(t->in);
        t->in = n;
    }
    memcpy(t->in + unread, data, len);
    t->in_off = 0;
    t->in_len = unread + len;
    return WSD_TLS_OK;
}

int wsd_tls_read(wsd_tls *t, void *buf, size_t cap, size_t *n)
{
    size_t got = 0;
    int r, e;

    *n = 0;
    if (t->failed)
        return WSD_TLS_ERROR;
    if (t->eof)
        return WSD_TLS_EOF;
    if (cap == 0) {
        t->failed = 1;
        t->err = "read with an empty buffer";
        return WSD_TLS_ERROR;
    }
    ERR_clear_error();
    r = SSL_read_ex(t->ssl, buf, cap, &got);
    if (r == 1) {
        *n = got;
        return WSD_TLS_OK;
    }
    e = SSL_get_error(t->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        ERR_clear_error();
        return WSD_TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        t->eof = 1;
        in_reset(t);
        return WSD_TLS_EOF;
    default:
        fail(t, e);
        return WSD_TLS_ERROR;
    }
}

/* Room to reserve for len plaintext bytes, so that SSL_write's records
 * (≤ 16 KiB each) land in the output buffer without reallocation: a record
 * costs 22 bytes in TLS 1.3, 29 with AES-GCM in 1.2, about 85 with a CBC
 * suite; if the guess is short the buffer simply grows. */
static size_t overhead(size_t len)
{
    return (len / 16384 + 1) * 96 + 64;
}

int wsd_tls_write(wsd_tls *t, const void *data, size_t len)
{
    size_t done = 0;
    int r;

    if (t->failed)
        return WSD_TLS_ERROR;
    if (!SSL_is_init_finished(t->ssl) || t->shut) {
        /* the caller's mistake: reported, but reading still works */
        t->err = t->shut ? "write after shutdown" : "write before the handshake is complete";
        return WSD_TLS_ERROR;
    }
    if (len == 0)
        return WSD_TLS_OK;
    if (t->out_len - t->out_off > WSD_TLS_OUT_HIGH)
        return WSD_TLS_AGAIN;
    out_reserve(t, len + overhead(len));
    ERR_clear_error();
    r = SSL_write_ex(t->ssl, data, len, &done);
    if (r != 1 || done != len) {
        fail(t, SSL_get_error(t->ssl, r));
        return WSD_TLS_ERROR;
    }
    return WSD_TLS_OK;
}

int wsd_tls_shutdown(wsd_tls *t)
{
    int r;

    if (t->failed)
        return WSD_TLS_ERROR;
    if (t->shut)
        return WSD_TLS_OK;
    if (!SSL_is_init_finished(t->ssl))
        return WSD_TLS_ERROR;
    ERR_clear_error();
    r = SSL_shutdown(t->ssl);      /* 0: sent, 1: both sides done */
    if (r < 0) {
        fail(t, SSL_get_error(t->ssl, r));
        return WSD_TLS_ERROR;
    }
    t->shut = 1;
    ERR_clear_error();
    return WSD_TLS_OK;
}

/* ------------------------------------------------------------- output */

size_t wsd_tls_out_pending(const wsd_tls *t)
{
    return t->out_len - t->out_off;
}

const void *wsd_tls_out_peek(const wsd_tls *t, size_t *len)
{
    *len = t->out_len - t->out_off;
    return *len ? t->out + t->out_off : NULL;
}

void wsd_tls_out_consume(wsd_tls *t, size_t n)
{
    size_t live = t->out_len - t->out_off;

    if (n >= live)
        out_reset(t);
    else
        t->out_off += n;
}

size_t wsd_tls_out_copy(wsd_tls *t, void *buf, size_t cap)
{
    size_t n = t->out_len - t->out_off;

    if (n > cap)
        n = cap;
    if (n)
        memcpy(buf, t->out + t->out_off, n);
    wsd_tls_out_consume(t, n);
    return n;
}

char *wsd_tls_out_take(wsd_tls *t, size_t *len)
{
    char *p;

    *len = t->out_len - t->out_off;
    if (*len == 0) {
        out_reset(t);
        return NULL;
    }
    if (t->out_off > 0)
        memmove(t->out, t->out + t->out_off, *len);
    p = t->out;
    t->out = NULL;
    t->out_off = t->out_len = t->out_cap = 0;
    return p;
}

/* ------------------------------------------------------------- queries */

int wsd_tls_handshake_done(const wsd_tls *t)
{
    return SSL_is_init_finished(t->ssl);
}

int wsd_tls_peer_closed(const wsd_tls *t)
{
    return t->eof;
}

int wsd_tls_plain_http(const wsd_tls *t)
{
    return t->plain_http;
}

const char *wsd_tls_version(const wsd_tls *t)
{
    return SSL_is_init_finished(t->ssl) ? SSL_get_version(t->ssl) : "";
}

const char *wsd_tls_cipher(const wsd_tls *t)
{
    const SSL_CIPHER *c = SSL_is_init_finished(t->ssl) ? SSL_get_current_cipher(t->ssl) : NULL;
    return c ? SSL_CIPHER_get_name(c) : "";
}

const char *wsd_tls_alpn(const wsd_tls *t)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;

    SSL_get0_alpn_selected(t->ssl, &p, &n);
    return (n == 8 && memcmp(p, "http/1.1", 8) == 0) ? "http/1.1" : "";
}

int wsd_tls_resumed(const wsd_tls *t)
{
    return SSL_session_reused(t->ssl);
}

static int name_string(const X509_NAME *name, char *buf, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    if (!b)
        fatal_oom("BIO_new");
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        n = 0;
    else
        n = BIO_get_mem_data(b, &p);
    if (cap) {
        size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
        if (k)
            memcpy(buf, p, k);
        buf[k] = '\0';
    }
    BIO_free(b);
    ERR_clear_error();
    return (int)n;
}

int wsd_tls_peer_subject(const wsd_tls *t, char *buf, size_t cap)
{
    X509 *c = SSL_get0_peer_certificate(t->ssl);
    if (!c) {
        if (cap)
            buf[0] = '\0';
        return -1;
    }
    return name_string(X509_get_subject_name(c), buf, cap);
}

int wsd_tls_peer_issuer(const wsd_tls *t, char *buf, size_t cap)
{
    X509 *c = SSL_get0_peer_certificate(t->ssl);
    if (!c) {
        if (cap)
            buf[0] = '\0';
        return -1;
    }
    return name_string(X509_get_issuer_name(c), buf, cap);
}

const char *wsd_tls_error(const wsd_tls *t, char *buf, size_t cap)
{
    const char *r = t->err ? t->err : "";

    if (!buf || cap == 0)
        return r;
    if (t->verify != X509_V_OK)
        snprintf(buf, cap, "%s (%s)", r, X509_verify_cert_error_string(t->verify));
    else
        snprintf(buf, cap, "%s", r);
    return buf;
}
