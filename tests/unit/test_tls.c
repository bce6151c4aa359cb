/* test_tls.c — the TLS transport (src/tls.c) against an in-memory OpenSSL
 * client: a second SSL object on two memory BIOs. Bytes are moved between the
 * two by pump(), in chunks of a chosen size (1 byte up to 64 KiB, or random),
 * with the server's plaintext pulled in bounded pieces and its output drained
 * in three ways (copy, peek+consume, take).
 *
 * Certificates come from tests/certs/ (make-certs.sh). Run from the
 * repository root or anywhere below it, or set WSD_TEST_CERTS to the dir.
 *
 * The last tests measure the memory an idle server connection keeps: OpenSSL
 * allocations are counted through CRYPTO_set_mem_functions (each tagged with
 * the side, server or client, that made it), and, outside sanitizer builds,
 * glibc's mallinfo2 gives the whole-process figure. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "tls.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- counting allocator for OpenSSL ---------------------------------------- */

#define HDR 16
static int g_side;               /* 1 while the server object runs, 0 otherwise */
static long long g_live[2];      /* live OpenSSL bytes allocated by each side */
static long long g_count[2];     /* and the number of those allocations */

static void *cm_malloc(size_t n, const char *file, int line)
{
    unsigned char *p = malloc(n + HDR);
    (void)file;
    (void)line;
    if (!p)
        return NULL;
    ((size_t *)p)[0] = n;
    ((size_t *)p)[1] = (size_t)g_side;
    g_live[g_side] += (long long)n;
    g_count[g_side]++;
    return p + HDR;
}

static void cm_free(void *ptr, const char *file, int line)
{
    unsigned char *p;
    (void)file;
    (void)line;
    if (!ptr)
        return;
    p = (unsigned char *)ptr - HDR;
    g_live[((size_t *)p)[1]] -= (long long)((size_t *)p)[0];
    g_count[((size_t *)p)[1]]--;
    free(p);
}

static void *cm_realloc(void *ptr, size_t n, const char *file, int line)
{
    unsigned char *p, *q;
    size_t old, side;
    if (!ptr)
        return cm_malloc(n, file, line);
    p = (unsigned char *)ptr - HDR;
    old = ((size_t *)p)[0];
    side = ((size_t *)p)[1];
    q = realloc(p, n + HDR);
    if (!q)
        return NULL;
    g_live[side] -= (long long)old;
    g_count[side]--;
    ((size_t *)q)[0] = n;
    ((size_t *)q)[1] = (size_t)g_side;
    g_live[g_side] += (long long)n;
    g_count[g_side]++;
    return q + HDR;
}

/* ---- paths ------------------------------------------------------------------ */

static char g_certs[4096];

static void find_certs(void)
{
    const char *e = getenv("WSD_TEST_CERTS");
    const char *up[] = {"", "../", "../../", "../../../", "../../../../"};
    size_t i;
    if (e && *e) {
        snprintf(g_certs, sizeof g_certs, "%s", e);
        return;
    }
    for (i = 0; i < sizeof up / sizeof up[0]; i++) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%stests/certs/ca.pem", up[i]);
        if (access(probe, R_OK) == 0) {
            snprintf(g_certs, sizeof g_certs, "%stests/certs", up[i]);
            return;
        }
    }
    snprintf(g_certs, sizeof g_certs, "tests/certs");
}

static const char *cert(const char *name)
{
    static char bufs[8][4200];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", g_certs, name);
    return b;
}

/* ---- the server side, tagged for the allocator ------------------------------- */

static wsd_tls *s_new(wsd_tls_ctx *ctx)
{
    wsd_tls *t;
    g_side = 1;
    t = wsd_tls_new(ctx);
    g_side = 0;
    return t;
}

static void s_free(wsd_tls *t)
{
    g_side = 1;
    wsd_tls_free(t);
    g_side = 0;
}

static int s_feed(wsd_tls *t, const void *p, size_t n)
{
    int rc;
    g_side = 1;
    rc = wsd_tls_feed(t, p, n);
    g_side = 0;
    return rc;
}

static int s_read(wsd_tls *t, void *p, size_t cap, size_t *n)
{
    int rc;
    g_side = 1;
    rc = wsd_tls_read(t, p, cap, n);
    g_side = 0;
    return rc;
}

static int s_write(wsd_tls *t, const void *p, size_t n)
{
    int rc;
    g_side = 1;
    rc = wsd_tls_write(t, p, n);
    g_side = 0;
    return rc;
}

static int s_shutdown(wsd_tls *t)
{
    int rc;
    g_side = 1;
    rc = wsd_tls_shutdown(t);
    g_side = 0;
    return rc;
}

static wsd_tls_ctx *s_ctx(const char *c, const char *k, const char *ca, char *err, size_t errlen)
{
    wsd_tls_ctx *x;
    g_side = 1;
    x = wsd_tls_ctx_new(c, k, ca, err, errlen);
    g_side = 0;
    return x;
}

/* ---- byte buffers ------------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(xrand() >> 24);
}

/* ---- the client and the pair ------------------------------------------------- */

typedef struct {
    int minv, maxv;              /* protocol versions, 0 = defaults */
    const char *cert, *key;      /* client certificate, NULL = none */
    const unsigned char *alpn;   /* wire-format ALPN list, NULL = none */
    unsigned alpn_len;
    int weak;                    /* security level 0 (TLS 1.1 needs it) */
} client_opts;

static SSL_CTX *client_ctx(const client_opts *o)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c)
        abort();
    if (o && o->weak) {
        SSL_CTX_set_security_level(c, 0);
        SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0");
    }
    if (o && o->minv)
        SSL_CTX_set_min_proto_version(c, o->minv);
    if (o && o->maxv)
        SSL_CTX_set_max_proto_version(c, o->maxv);
    if (SSL_CTX_load_verify_locations(c, cert("ca.pem"), NULL) != 1)
        printf("# cannot load ca.pem for the client\n");
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (o && o->cert) {
        if (SSL_CTX_use_certificate_chain_file(c, cert(o->cert)) != 1 ||
            SSL_CTX_use_PrivateKey_file(c, cert(o->key), SSL_FILETYPE_PEM) != 1)
            printf("# cannot load client certificate %s\n", o->cert);
    }
    if (o && o->alpn)
        SSL_CTX_set_alpn_protos(c, o->alpn, o->alpn_len);
    ERR_clear_error();
    return c;
}

typedef struct {
    SSL *c;
    BIO *cin, *cout;             /* server → client, client → server */
    wsd_tls *s;
    buf srv_plain, cli_plain;    /* what each side decrypted */
    int srv_rc;                  /* EOF or ERROR once the server read says so */
    int cli_eof, cli_err;
    char cli_reason[256];
    size_t chunk;                /* bytes per transfer; 0 = random 1..300 */
    size_t rcap;                 /* server plaintext read size */
    int drain_mode;              /* 0 copy, 1 peek+consume, 2 take */
    size_t max_in_transfer;
    const void *early;           /* written by the client once its handshake is done */
    size_t early_len;
    int early_sent;
} pair;

static void pair_init(pair *p, SSL_CTX *cctx, wsd_tls_ctx *sctx, const char *host)
{
    memset(p, 0, sizeof *p);
    p->c = SSL_new(cctx);
    p->cin = BIO_new(BIO_s_mem());
    p->cout = BIO_new(BIO_s_mem());
    SSL_set_bio(p->c, p->cin, p->cout);
    SSL_set_connect_state(p->c);
    if (host) {
        SSL_set_tlsext_host_name(p->c, host);
        if (strchr(host, ':') || (host[0] >= '0' && host[0] <= '9'))
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->c), host);
        else
            SSL_set1_host(p->c, host);
    }
    p->s = s_new(sctx);
    p->chunk = 16384;
    p->rcap = 16384;
}

static void pair_free_client(pair *p)
{
    SSL_free(p->c);              /* frees both BIOs */
    p->c = NULL;
}

static void pair_free(pair *p)
{
    if (p->c)
        pair_free_client(p);
    s_free(p->s);
    free(p->srv_plain.p);
    free(p->cli_plain.p);
    ERR_clear_error();
}

static size_t next_chunk(const pair *p)
{
    return p->chunk ? p->chunk : 1 + (size_t)(xrand() % 300);
}

static void client_note_error(pair *p, int r)
{
    int e = SSL_get_error(p->c, r);
    if (e == SSL_ERROR_WANT_READ)
        return;
    if (e == SSL_ERROR_ZERO_RETURN) {
        p->cli_eof = 1;
        return;
    }
    if (!p->cli_err) {
        unsigned long x = ERR_peek_error();
        snprintf(p->cli_reason, sizeof p->cli_reason, "%s",
                 x ? ERR_reason_error_string(x) : "syscall");
    }
    p->cli_err = 1;
    ERR_clear_error();
}

/* Client: progress the handshake, read everything readable. */
static void client_run(pair *p)
{
    unsigned char tmp[16384];
    size_t n;
    int r;

    if (p->cli_err || p->cli_eof)
        return;
    if (!SSL_is_init_finished(p->c)) {
        r = SSL_do_handshake(p->c);
        if (r != 1) {
            client_note_error(p, r);
            return;
        }
    }
    if (p->early && !p->early_sent) {
        p->early_sent = 1;
        if (SSL_write_ex(p->c, p->early, p->early_len, &n) != 1)
            client_note_error(p, 0);
    }
    for (;;) {
        r = SSL_read_ex(p->c, tmp, sizeof tmp, &n);
        if (r != 1) {
            client_note_error(p, r);
            return;
        }
        put(&p->cli_plain, tmp, n);
    }
}

/* Server: read plaintext until AGAIN, EOF or ERROR. */
static void server_run(pair *p)
{
    unsigned char tmp[65536];
    size_t n, cap = p->rcap < sizeof tmp ? p->rcap : sizeof tmp;

    while (!p->srv_rc) {
        int rc = s_read(p->s, tmp, cap, &n);
        if (rc == WSD_TLS_OK) {
            if (n == 0 || n > cap) {
                printf("# bad read size %zu\n", n);
                p->srv_rc = WSD_TLS_ERROR;
            }
            put(&p->srv_plain, tmp, n);
            continue;
        }
        if (rc != WSD_TLS_AGAIN)
            p->srv_rc = rc;
        break;
    }
}

/* Moves server output to the client, n bytes at most. */
static size_t drain_some(pair *p, size_t n)
{
    unsigned char tmp[65536];
    size_t got = 0;

    if (n > sizeof tmp)
        n = sizeof tmp;
    switch (p->drain_mode) {
    case 0:
        g_side = 1;
        got = wsd_tls_out_copy(p->s, tmp, n);
        g_side = 0;
        if (got)
            BIO_write(p->cin, tmp, (int)got);
        break;
    case 1: {
        size_t len;
        const void *q = wsd_tls_out_peek(p->s, &len);
        got = len < n ? len : n;
        if (got) {
            BIO_write(p->cin, q, (int)got);
            g_side = 1;
            wsd_tls_out_consume(p->s, got);
            g_side = 0;
        }
        break;
    }
    default: {
        char *q;
        g_side = 1;
        q = wsd_tls_out_take(p->s, &got);
        g_side = 0;
        if (q)
            BIO_write(p->cin, q, (int)got);
        free(q);
        break;
    }
    }
    return got;
}

/* Runs both sides until neither can make progress. */
static void pump(pair *p)
{
    unsigned char tmp[65536];
    int progress = 1, rounds = 0;

    client_run(p);
    while (progress && rounds++ < 10000000) {
        size_t n = next_chunk(p);
        int r;
        progress = 0;
        if (n > sizeof tmp)
            n = sizeof tmp;
        r = BIO_read(p->cout, tmp, (int)n);
        if (r > 0) {
            progress = 1;
            if ((size_t)r > p->max_in_transfer)
                p->max_in_transfer = (size_t)r;
            if (p->srv_rc != WSD_TLS_ERROR) {
                int rc = s_feed(p->s, tmp, (size_t)r);
                if (rc != WSD_TLS_OK && rc != WSD_TLS_ERROR)
                    printf("# feed returned %d\n", rc);
            }
        }
        server_run(p);
        if (drain_some(p, next_chunk(p)) > 0)
            progress = 1;
        client_run(p);
    }
}

static int handshake_ok(const pair *p)
{
    return wsd_tls_handshake_done(p->s) && SSL_is_init_finished(p->c) && !p->srv_rc &&
           !p->cli_err;
}

static void explain(const pair *p)
{
    char e[256];
    printf("#   server: done %d rc %d error \"%s\"; client: done %d err %d \"%s\"\n",
           wsd_tls_handshake_done(p->s), p->srv_rc, wsd_tls_error(p->s, e, sizeof e),
           SSL_is_init_finished(p->c), p->cli_err, p->cli_reason);
}

/* Client → server and server → client, checked on arrival. */
static int exchange(pair *p, const char *label)
{
    static const char req[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n";
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    size_t n, s0 = p->srv_plain.n, c0 = p->cli_plain.n;
    int good;

    if (SSL_write_ex(p->c, req, sizeof req - 1, &n) != 1)
        client_note_error(p, 0);
    pump(p);
    if (s_write(p->s, resp, sizeof resp - 1) != WSD_TLS_OK)
        printf("# %s: server write failed\n", label);
    pump(p);
    good = p->srv_plain.n - s0 == sizeof req - 1 &&
           memcmp(p->srv_plain.p + s0, req, sizeof req - 1) == 0 &&
           p->cli_plain.n - c0 == sizeof resp - 1 &&
           memcmp(p->cli_plain.p + c0, resp, sizeof resp - 1) == 0;
    if (!good)
        printf("#   %s: server got %zu bytes, client got %zu\n", label,
               p->srv_plain.n - s0, p->cli_plain.n - c0);
    return good;
}

/* ---- tests --------------------------------------------------------------------- */

static wsd_tls_ctx *g_ctx, *g_ctx_ca;

static void test_ctx_errors(void)
{
    char err[512];
    wsd_tls_ctx *x;

    x = s_ctx(cert("server.pem"), cert("server.key"), NULL, err, sizeof err);
    ok(x != NULL, "context from server.pem + server.key");
    is_str(err, "", "  no message");
    wsd_tls_ctx_free(x);

    x = s_ctx(cert("server.pem"), cert("server.key"), cert("ca.pem"), err, sizeof err);
    ok(x != NULL, "context with --sslca ca.pem");
    wsd_tls_ctx_free(x);

    x = s_ctx("/nonexistent/cert.pem", cert("server.key"), NULL, err, sizeof err);
    ok(x == NULL, "missing --sslcert fails");
    is_str(err, "cannot load --sslcert '/nonexistent/cert.pem': No such file or directory",
           "  message");

    x = s_ctx(cert("server.key"), cert("server.key"), NULL, err, sizeof err);
    ok(x == NULL && strncmp(err, "cannot load --sslcert '", 23) == 0,
       "a key as --sslcert fails: %s", err);

    x = s_ctx(cert("make-certs.sh"), cert("server.key"), NULL, err, sizeof err);
    ok(x == NULL && strstr(err, "': no PEM certificate found"), "a non-PEM --sslcert: %s", err);

    x = s_ctx(g_certs, cert("server.key"), NULL, err, sizeof err);
    ok(x == NULL && strstr(err, "': Is a directory"), "a directory as --sslcert: %s", err);

    x = s_ctx(cert("server.pem"), "/nonexistent/key", NULL, err, sizeof err);
    is_str(err, "cannot load --sslkey '/nonexistent/key': No such file or directory",
           "missing --sslkey");
    ok(x == NULL, "  fails");

    x = s_ctx(cert("server.pem"), cert("ca.pem"), NULL, err, sizeof err);
    ok(x == NULL && strncmp(err, "cannot load --sslkey '", 22) == 0 &&
           strstr(err, "': no PEM private key found"),
       "a certificate as --sslkey fails: %s", err);

    {
        /* an encrypted copy of server.key: refused, no passphrase prompt */
        char path[] = "/tmp/wsd-test-enc-key-XXXXXX";
        int fd = mkstemp(path);
        FILE *in = fopen(cert("server.key"), "r"), *out = fd >= 0 ? fdopen(fd, "w") : NULL;
        EVP_PKEY *k = in ? PEM_read_PrivateKey(in, NULL, NULL, NULL) : NULL;
        int wrote = k && out &&
                    PEM_write_PKCS8PrivateKey(out, k, EVP_aes_256_cbc(), NULL, 0, NULL,
                                              (void *)"secret") == 1;
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        EVP_PKEY_free(k);
        ok(wrote, "wrote an encrypted key to %s", path);
        x = s_ctx(cert("server.pem"), path, NULL, err, sizeof err);
        ok(x == NULL && strstr(err, "the key is encrypted"), "encrypted --sslkey: %s", err);
        unlink(path);
    }

    x = s_ctx(cert("server.pem"), cert("client.key"), NULL, err, sizeof err);
    ok(x == NULL && strstr(err, "does not match"), "key of another certificate: %s", err);

    x = s_ctx(cert("server.pem"), cert("server.key"), "/nonexistent/ca", err, sizeof err);
    is_str(err, "cannot load --sslca '/nonexistent/ca': No such file or directory",
           "missing --sslca");
    ok(x == NULL, "  fails");

    x = s_ctx(cert("server.pem"), cert("server.key"), cert("make-certs.sh"), err, sizeof err);
    ok(x == NULL && strncmp(err, "cannot load --sslca '", 21) == 0 &&
           strstr(err, "': no PEM CA certificate found"),
       "a non-PEM --sslca fails: %s", err);

    x = s_ctx(cert("server.pem"), cert("server.key"), cert("server.key"), err, sizeof err);
    ok(x == NULL && strncmp(err, "cannot load --sslca '", 21) == 0,
       "a key as --sslca fails: %s", err);

    x = s_ctx(NULL, cert("server.key"), NULL, err, sizeof err);
    ok(x == NULL && err[0], "no --sslcert: %s", err);

    ok(ERR_peek_error() == 0, "error queue left empty");
}

/* One full handshake and exchange with the given transfer size and server
 * read size. */
static int handshake_with(SSL_CTX *cctx, size_t chunk, size_t rcap, int mode, int pipelined,
                          const char *label)
{
    static const char early[] = "GET /early HTTP/1.1\r\n\r\n";
    pair p;
    int good;

    pair_init(&p, cctx, g_ctx, "localhost");
    p.chunk = chunk;
    p.rcap = rcap;
    p.drain_mode = mode;
    if (pipelined) {
        p.early = early;
        p.early_len = sizeof early - 1;
    }
    pump(&p);
    good = handshake_ok(&p);
    if (good && pipelined)
        good = p.srv_plain.n == sizeof early - 1 &&
               memcmp(p.srv_plain.p, early, sizeof early - 1) == 0;
    if (good)
        good = exchange(&p, label);
    if (good)
        good = wsd_tls_out_pending(p.s) == 0 && (chunk == 0 || p.max_in_transfer <= chunk);
    if (!good)
        explain(&p);
    pair_free(&p);
    return good;
}

static void test_chunk_sizes(void)
{
    SSL_CTX *cctx = client_ctx(NULL);
    static const size_t big[] = {65, 100, 127, 128, 129, 333, 1000, 1500, 4096, 16384, 16389, 65536};
    size_t k;
    int all = 1;

    for (k = 1; k <= 64; k++) {
        int g = handshake_with(cctx, k, k, (int)(k % 3), (int)(k % 2), "chunk");
        ok(g, "TLS 1.3 handshake + data, %zu-byte transfers and reads, drain mode %d%s", k,
           (int)(k % 3), k % 2 ? ", data pipelined after Finished" : "");
        all &= g;
    }
    for (k = 0; k < sizeof big / sizeof big[0]; k++)
        ok(handshake_with(cctx, big[k], big[k] < 4096 ? 7 : 65536, (int)(k % 3), 1, "big"),
           "handshake + data, %zu-byte transfers", big[k]);
    for (k = 0; k < 40; k++)
        all &= handshake_with(cctx, 0, 1 + (size_t)(xrand() % 200), (int)(k % 3), (int)(k % 2),
                              "random");
    ok(all, "40 handshakes with random transfer sizes 1..300 and random read sizes");
    SSL_CTX_free(cctx);
}

static void test_versions(void)
{
    client_opts o12 = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, NULL, 0, 0};
    client_opts o11 = {TLS1_1_VERSION, TLS1_1_VERSION, NULL, NULL, NULL, 0, 1};
    client_opts o10 = {TLS1_VERSION, TLS1_VERSION, NULL, NULL, NULL, 0, 1};
    SSL_CTX *c;
    pair p;
    char e[256];

    c = client_ctx(NULL);
    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    ok(handshake_ok(&p), "default client: handshake");
    is_str(wsd_tls_version(p.s), "TLSv1.3", "  TLS 1.3");
    ok(wsd_tls_cipher(p.s)[0] != '\0', "  cipher %s", wsd_tls_cipher(p.s));
    ok(exchange(&p, "1.3"), "  data both ways");
    ok(wsd_tls_peer_subject(p.s, e, sizeof e) == -1 && e[0] == '\0',
       "  no client certificate without --sslca");
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&o12);
    pair_init(&p, c, g_ctx, "127.0.0.1");
    p.chunk = 1;
    pump(&p);
    ok(handshake_ok(&p), "TLS 1.2 client, byte by byte, verifying IP SAN 127.0.0.1: handshake");
    is_str(wsd_tls_version(p.s), "TLSv1.2", "  TLS 1.2");
    ok(exchange(&p, "1.2"), "  data both ways");
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&o11);
    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    is_int(p.srv_rc, WSD_TLS_ERROR, "TLS 1.1 client: server ERROR");
    ok(!wsd_tls_handshake_done(p.s), "  no handshake");
    is_str(wsd_tls_error(p.s, NULL, 0), "unsupported protocol", "  reason");
    ok(p.cli_err, "  client got an alert: %s", p.cli_reason);
    is_int(wsd_tls_write(p.s, "x", 1), WSD_TLS_ERROR, "  write after ERROR is ERROR");
    is_int(wsd_tls_feed(p.s, "x", 1), WSD_TLS_ERROR, "  feed after ERROR is ERROR");
    {
        size_t n = 7;
        char b[4];
        is_int(wsd_tls_read(p.s, b, sizeof b, &n), WSD_TLS_ERROR, "  read after ERROR is ERROR");
        is_int(n, 0, "  and reads nothing");
    }
    is_int(wsd_tls_shutdown(p.s), WSD_TLS_ERROR, "  shutdown after ERROR is ERROR");
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&o10);
    pair_init(&p, c, g_ctx, "localhost");
    p.chunk = 3;
    pump(&p);
    ok(p.srv_rc == WSD_TLS_ERROR && !wsd_tls_handshake_done(p.s),
       "TLS 1.0 client refused (%s)", wsd_tls_error(p.s, NULL, 0));
    pair_free(&p);
    SSL_CTX_free(c);
}

static void test_alpn(void)
{
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char h2[] = "\x02h2";
    static const unsigned char h1[] = "\x08http/1.1";
    static const unsigned char foo[] = "\x03" "foo" "\x06" "spdy/3";
    struct {
        const unsigned char *list;
        unsigned len;
        const char *want, *name;
    } cases[] = {
        {both, sizeof both - 1, "http/1.1", "h2,http/1.1 (browsers)"},
        {h1, sizeof h1 - 1, "http/1.1", "http/1.1 only"},
        {NULL, 0, "", "no ALPN extension"},
        {h2, sizeof h2 - 1, NULL, "h2 only"},
        {foo, sizeof foo - 1, NULL, "foo,spdy/3"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        client_opts o = {0, 0, NULL, NULL, cases[i].list, cases[i].len, 0};
        SSL_CTX *c = client_ctx(&o);
        pair p;
        const unsigned char *sel = NULL;
        unsigned sel_len = 0;
        pair_init(&p, c, g_ctx, "localhost");
        pump(&p);
        if (cases[i].want) {
            ok(handshake_ok(&p), "ALPN %s: handshake", cases[i].name);
            is_str(wsd_tls_alpn(p.s), cases[i].want, "  server's ALPN");
            SSL_get0_alpn_selected(p.c, &sel, &sel_len);
            is_mem(sel, sel_len, cases[i].want, strlen(cases[i].want), "  client's ALPN");
        } else {
            is_int(p.srv_rc, WSD_TLS_ERROR, "ALPN %s: ERROR (RFC 7301: no overlap is fatal)",
                   cases[i].name);
            is_str(wsd_tls_error(p.s, NULL, 0), "no application protocol", "  reason");
            ok(p.cli_err, "  client got the alert (%s)", p.cli_reason);
        }
        pair_free(&p);
        SSL_CTX_free(c);
    }
}

static void test_large(void)
{
    const size_t total = 1024 * 1024;
    unsigned char *data = malloc(total);
    SSL_CTX *c = client_ctx(NULL);
    pair p;
    size_t off, n, max_pending = 0, agains = 0;
    int rc;

    fill(data, total);
    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    ok(handshake_ok(&p), "large: handshake");

    /* client → server, 1 MiB in one SSL_write, fed in 64 KiB reads, pulled in
     * 4000-byte pieces */
    p.chunk = 65536;
    p.rcap = 4000;
    if (SSL_write_ex(p.c, data, total, &n) != 1)
        client_note_error(&p, 0);
    pump(&p);
    is_mem(p.srv_plain.p, p.srv_plain.n, data, total, "1 MiB client → server intact");

    /* server → client: 48 KiB writes; only drain when the server says AGAIN */
    for (off = 0; off < total;) {
        size_t len = total - off < 49152 ? total - off : 49152;
        rc = s_write(p.s, data + off, len);
        if (wsd_tls_out_pending(p.s) > max_pending)
            max_pending = wsd_tls_out_pending(p.s);
        if (rc == WSD_TLS_AGAIN) {
            agains++;
            pump(&p);
            continue;
        }
        if (rc != WSD_TLS_OK)
            break;
        off += len;
    }
    pump(&p);
    is_int(off, total, "1 MiB server → client written");
    is_mem(p.cli_plain.p, p.cli_plain.n, data, total, "  and received intact");
    ok(agains > 0, "  write said AGAIN %zu times", agains);
    ok(max_pending <= WSD_TLS_OUT_HIGH + 49152 + 1024,
       "  pending ciphertext stayed bounded: max %zu ≤ %d + 48 KiB + 1 KiB", max_pending,
       WSD_TLS_OUT_HIGH);
    is_int(wsd_tls_out_pending(p.s), 0, "  nothing left pending");

    /* input bound: feed without reading */
    {
        unsigned char tmp[65536];
        int feeds = 0, r;
        size_t before = p.srv_plain.n;
        if (SSL_write_ex(p.c, data, total, &n) != 1)
            client_note_error(&p, 0);
        for (;;) {
            r = BIO_read(p.cout, tmp, sizeof tmp);
            if (r <= 0)
                break;
            rc = s_feed(p.s, tmp, (size_t)r);
            if (rc != WSD_TLS_OK)
                break;
            feeds++;
        }
        is_int(rc, WSD_TLS_AGAIN, "feeding without reading: AGAIN");
        is_int(feeds, WSD_TLS_IN_MAX / 65536, "  after %d KiB", WSD_TLS_IN_MAX / 1024);
        server_run(&p);
        is_int(s_feed(p.s, tmp, (size_t)r), WSD_TLS_OK, "  read until AGAIN, then feed is OK");
        pump(&p);
        is_mem(p.srv_plain.p + before, p.srv_plain.n - before, data, total,
               "  and the stream is intact");
    }

    /* one large write with nothing pending is taken whole */
    is_int(s_write(p.s, data, total), WSD_TLS_OK, "a 1 MiB write with nothing pending: OK");
    ok(wsd_tls_out_pending(p.s) > total && wsd_tls_out_pending(p.s) < total + total / 64,
       "  all of it encrypted (%zu bytes pending)", wsd_tls_out_pending(p.s));
    is_int(s_write(p.s, "x", 1), WSD_TLS_AGAIN, "  next write: AGAIN");
    {
        size_t len, len2, before = p.cli_plain.n;
        char *q = wsd_tls_out_take(p.s, &len);
        ok(q && len > total, "  take hands over %zu bytes", len);
        is_int(wsd_tls_out_pending(p.s), 0, "  nothing pending after take");
        ok(wsd_tls_out_take(p.s, &len2) == NULL && len2 == 0, "  second take: NULL");
        BIO_write(p.cin, q, (int)len);
        free(q);
        pump(&p);
        is_mem(p.cli_plain.p + before, p.cli_plain.n - before, data, total, "  client got it");
    }
    is_int(s_write(p.s, "", 0), WSD_TLS_OK, "empty write: OK");
    is_int(wsd_tls_out_pending(p.s), 0, "  produces nothing");
    pair_free(&p);
    SSL_CTX_free(c);
    free(data);
}

static void test_close(void)
{
    SSL_CTX *c = client_ctx(NULL);
    pair p;
    size_t n;

    pair_init(&p, c, g_ctx, "localhost");
    is_int(s_write(p.s, "x", 1), WSD_TLS_ERROR, "write before the handshake: ERROR");
    pair_free(&p);

    pair_init(&p, c, g_ctx, "localhost");
    is_int(s_shutdown(p.s), WSD_TLS_ERROR, "shutdown before the handshake: ERROR");
    pair_free(&p);

    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    ok(exchange(&p, "close"), "close: data both ways");
    is_int(s_write(p.s, "bye", 3), WSD_TLS_OK, "server writes, then");
    is_int(s_shutdown(p.s), WSD_TLS_OK, "  shutdown: OK");
    is_int(s_shutdown(p.s), WSD_TLS_OK, "  again: OK");
    ok(wsd_tls_out_pending(p.s) > 0, "  close_notify pending");
    is_int(s_write(p.s, "x", 1), WSD_TLS_ERROR, "  write after shutdown: ERROR");
    p.chunk = 1;
    pump(&p);
    ok(p.cli_eof, "  client sees close_notify after the data");
    ok(p.cli_plain.n >= 3 && memcmp(p.cli_plain.p + p.cli_plain.n - 3, "bye", 3) == 0,
       "  data before close_notify arrived");
    /* the client may still send (its close frame), then close_notify */
    if (SSL_write_ex(p.c, "late", 4, &n) != 1)
        client_note_error(&p, 0);
    pump(&p);
    ok(p.srv_plain.n >= 4 && memcmp(p.srv_plain.p + p.srv_plain.n - 4, "late", 4) == 0,
       "  server still reads after its shutdown");
    SSL_shutdown(p.c);
    pump(&p);
    is_int(p.srv_rc, WSD_TLS_EOF, "  client's close_notify: EOF");
    ok(wsd_tls_peer_closed(p.s), "  peer_closed");
    {
        char b[8];
        is_int(wsd_tls_read(p.s, b, sizeof b, &n), WSD_TLS_EOF, "  read keeps saying EOF");
        is_int(wsd_tls_feed(p.s, "junk", 4), WSD_TLS_OK, "  feed after EOF: ignored");
    }
    pair_free(&p);

    /* client closes first */
    pair_init(&p, c, g_ctx, "localhost");
    p.chunk = 5;
    pump(&p);
    if (SSL_write_ex(p.c, "last", 4, &n) != 1)
        client_note_error(&p, 0);
    SSL_shutdown(p.c);
    pump(&p);
    ok(p.srv_rc == WSD_TLS_EOF && p.srv_plain.n == 4 && memcmp(p.srv_plain.p, "last", 4) == 0,
       "client data then close_notify: data, then EOF");
    is_str(wsd_tls_error(p.s, NULL, 0), "", "  no error");
    is_int(s_shutdown(p.s), WSD_TLS_OK, "  server answers with its close_notify");
    pump(&p);
    ok(p.cli_eof, "  client sees it");
    pair_free(&p);
    SSL_CTX_free(c);
}

static void test_mtls(void)
{
    client_opts none = {0, 0, NULL, NULL, NULL, 0, 0};
    client_opts good = {0, 0, "client.pem", "client.key", NULL, 0, 0};
    client_opts good12 = {TLS1_2_VERSION, TLS1_2_VERSION, "client.pem", "client.key", NULL, 0, 0};
    client_opts other = {0, 0, "client2.pem", "client2.key", NULL, 0, 0};
    client_opts other12 = {TLS1_2_VERSION, TLS1_2_VERSION, "client2.pem", "client2.key", NULL, 0, 0};
    client_opts none12 = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, NULL, 0, 0};
    SSL_CTX *c;
    pair p;
    char e[256];
    int len;

    c = client_ctx(&none);
    pair_init(&p, c, g_ctx_ca, "localhost");
    pump(&p);
    is_int(p.srv_rc, WSD_TLS_ERROR, "--sslca, client without a certificate: ERROR");
    is_str(wsd_tls_error(p.s, NULL, 0), "peer did not return a certificate", "  reason");
    ok(p.cli_err, "  client sees the alert (%s)", p.cli_reason);
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&none12);
    pair_init(&p, c, g_ctx_ca, "localhost");
    pump(&p);
    ok(p.srv_rc == WSD_TLS_ERROR && p.cli_err && !wsd_tls_handshake_done(p.s),
       "  the same over TLS 1.2 (%s)", wsd_tls_error(p.s, NULL, 0));
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&good);
    pair_init(&p, c, g_ctx_ca, "localhost");
    p.chunk = 7;
    pump(&p);
    ok(handshake_ok(&p), "--sslca, client certificate from that CA: handshake");
    ok(exchange(&p, "mtls"), "  data both ways");
    len = wsd_tls_peer_subject(p.s, e, sizeof e);
    is_str(e, "CN=wsd test client,O=wsd tests", "  subject (RFC 2253)");
    is_int(len, (int)strlen("CN=wsd test client,O=wsd tests"), "  its length");
    wsd_tls_peer_issuer(p.s, e, sizeof e);
    is_str(e, "CN=wsd test CA,O=wsd tests", "  issuer");
    len = wsd_tls_peer_subject(p.s, e, 6);
    ok(len == 30 && strcmp(e, "CN=ws") == 0, "  truncated to the buffer, full length returned");
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&good12);
    pair_init(&p, c, g_ctx_ca, "localhost");
    pump(&p);
    ok(handshake_ok(&p) && exchange(&p, "mtls12"), "  the same over TLS 1.2");
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&other);
    pair_init(&p, c, g_ctx_ca, "localhost");
    pump(&p);
    is_int(p.srv_rc, WSD_TLS_ERROR, "--sslca, certificate from another CA: ERROR");
    is_str(wsd_tls_error(p.s, NULL, 0), "certificate verify failed", "  reason");
    wsd_tls_error(p.s, e, sizeof e);
    ok(strncmp(e, "certificate verify failed (", 27) == 0, "  with detail: %s", e);
    ok(p.cli_err, "  client sees the alert (%s)", p.cli_reason);
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&other12);
    pair_init(&p, c, g_ctx_ca, "localhost");
    pump(&p);
    ok(p.srv_rc == WSD_TLS_ERROR && !wsd_tls_handshake_done(p.s),
       "  the same over TLS 1.2 (%s)", wsd_tls_error(p.s, e, sizeof e));
    pair_free(&p);
    SSL_CTX_free(c);

    c = client_ctx(&good);
    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    ok(handshake_ok(&p) && wsd_tls_peer_subject(p.s, e, sizeof e) == -1,
       "no --sslca: a client certificate is not asked for");
    pair_free(&p);
    SSL_CTX_free(c);
}

static void test_resume(void)
{
    client_opts v13 = {0, 0, NULL, NULL, NULL, 0, 0};
    client_opts v12 = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, NULL, 0, 0};
    client_opts m13 = {0, 0, "client.pem", "client.key", NULL, 0, 0};
    struct {
        client_opts *o;
        wsd_tls_ctx **ctx;
        const char *name;
    } cases[] = {{&v13, &g_ctx, "TLS 1.3"}, {&v12, &g_ctx, "TLS 1.2"}, {&m13, &g_ctx_ca, "mutual TLS 1.3"}};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SSL_CTX *c = client_ctx(cases[i].o);
        SSL_SESSION *sess;
        pair p;
        char e[128];
        pair_init(&p, c, *cases[i].ctx, "localhost");
        pump(&p);
        exchange(&p, "resume");
        sess = SSL_get1_session(p.c);
        ok(handshake_ok(&p) && !wsd_tls_resumed(p.s) && sess && SSL_SESSION_is_resumable(sess),
           "%s: full handshake, client holds a resumable session", cases[i].name);
        SSL_shutdown(p.c);       /* else SSL_free marks the session not resumable */
        pair_free(&p);
        pair_init(&p, c, *cases[i].ctx, "localhost");
        SSL_set_session(p.c, sess);
        pump(&p);
        ok(handshake_ok(&p) && wsd_tls_resumed(p.s) && exchange(&p, "resumed"),
           "  resumed with a ticket");

        if (cases[i].o->cert) {
            wsd_tls_peer_subject(p.s, e, sizeof e);
            is_str(e, "CN=wsd test client,O=wsd tests", "  client subject after resumption");
        }
        SSL_SESSION_free(sess);
        pair_free(&p);
        SSL_CTX_free(c);
    }
}

static void test_key_update(void)
{
    SSL_CTX *c = client_ctx(NULL);
    pair p;
    int i, good = 1;

    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    for (i = 0; i < 3; i++) {
        SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED);
        good &= exchange(&p, "keyupdate");
    }
    ok(good && !p.srv_rc, "client KeyUpdates (update_requested): answered, data flows");
    pair_free(&p);
    SSL_CTX_free(c);
}

static void test_renegotiation(void)
{
    client_opts v12 = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, NULL, 0, 0};
    SSL_CTX *c = client_ctx(&v12);
    pair p;

    pair_init(&p, c, g_ctx, "localhost");
    pump(&p);
    ok(SSL_renegotiate(p.c) == 1, "TLS 1.2 client asks to renegotiate");
    SSL_do_handshake(p.c);
    ERR_clear_error();
    pump(&p);
    /* the server answers with a no_renegotiation warning; OpenSSL's client
     * then aborts with a fatal alert, which the server reports */
    ok(p.srv_rc == 0 || (p.srv_rc == WSD_TLS_ERROR && strstr(wsd_tls_error(p.s, NULL, 0), "alert")),
       "  server refuses; only the client's own alert ends it (rc %d, %s)", p.srv_rc,
       wsd_tls_error(p.s, NULL, 0));
    ok(p.cli_err, "  client gave up (%s)", p.cli_reason);
    pair_free(&p);
    SSL_CTX_free(c);
}

static void test_garbage(void)
{
    unsigned char g[4096], out[64];
    int i, all = 1, nocrash = 1;
    wsd_tls *t;
    size_t n, k;
    int rc;

    for (i = 0; i < 50; i++) {
        size_t len = 1 + (size_t)(xrand() % sizeof g);
        int step = i % 2 ? 1 : (int)len;
        fill(g, len);
        if (i % 5 == 0)
            g[0] = 0x16;         /* looks like a handshake record */
        t = s_new(g_ctx);
        rc = WSD_TLS_AGAIN;
        for (k = 0; k < len && rc == WSD_TLS_AGAIN; k += (size_t)step) {
            size_t m = len - k < (size_t)step ? len - k : (size_t)step;
            if (s_feed(t, g + k, m) != WSD_TLS_OK) {
                rc = WSD_TLS_ERROR;
                break;
            }
            do
                rc = s_read(t, out, sizeof out, &n);
            while (rc == WSD_TLS_OK);
        }
        nocrash &= rc == WSD_TLS_ERROR || rc == WSD_TLS_AGAIN;
        if (rc == WSD_TLS_ERROR)
            all &= wsd_tls_error(t, NULL, 0)[0] != '\0';
        else
            all &= g[0] == 0x16;   /* only a plausible record header may wait for more */
        s_free(t);
    }
    ok(nocrash, "50 random inputs (whole and byte by byte): no crash");
    ok(all, "  every one is ERROR with a reason, unless it could still be a record");
    ok(ERR_peek_error() == 0, "  error queue left empty");

    t = s_new(g_ctx);
    s_feed(t, "\x16\x03\x01\x00", 4);
    is_int(s_read(t, out, sizeof out, &n), WSD_TLS_AGAIN, "a partial record header: AGAIN");
    is_int(wsd_tls_out_pending(t), 0, "  no output");
    ok(!wsd_tls_handshake_done(t), "  handshake not done");
    is_str(wsd_tls_version(t), "", "  no version yet");
    is_str(wsd_tls_cipher(t), "", "  no cipher yet");
    s_free(t);

    t = s_new(g_ctx);
    s_feed(t, "\x17\x03\x03\x00\x05hello", 10);
    is_int(s_read(t, out, sizeof out, &n), WSD_TLS_ERROR, "application data before a handshake: ERROR");
    ok(wsd_tls_out_pending(t) > 0, "  an alert is pending (%s)", wsd_tls_error(t, NULL, 0));
    s_free(t);

    {
        static const struct {
            const char *req;
            int plain;
        } reqs[] = {
            {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1},
            {"POST /x HTTP/1.1\r\n\r\n", 1},
            {"HEAD / HTTP/1.0\r\n\r\n", 1},
            {"PUT /x HTTP/1.1\r\n\r\n", 1},
            {"OPTIONS * HTTP/1.1\r\n\r\n", 1},
            /* as Go: only these five starts count */
            {"PUT x HTTP/1.1\r\n\r\n", 0},
            {"CONNECT x:443 HTTP/1.1\r\n\r\n", 0},
            {"DELETE / HTTP/1.1\r\n\r\n", 0},
            {"hello world", 0},
        };
        for (k = 0; k < sizeof reqs / sizeof reqs[0]; k++) {
            for (i = 0; i < 2; i++) {
                size_t len = strlen(reqs[k].req), j;
                t = s_new(g_ctx);
                rc = WSD_TLS_AGAIN;
                for (j = 0; j < len && rc == WSD_TLS_AGAIN; j += i ? 1 : len) {
                    s_feed(t, reqs[k].req + j, i ? 1 : len);
                    rc = s_read(t, out, sizeof out, &n);
                }
                if (reqs[k].plain) {
                    ok(rc == WSD_TLS_ERROR && wsd_tls_plain_http(t) &&
                           wsd_tls_out_pending(t) == 0,
                       "\"%.8s...\" %s: ERROR, plain HTTP, no alert pending (%s)", reqs[k].req,
                       i ? "byte by byte" : "whole", wsd_tls_error(t, NULL, 0));
                } else {
                    ok(rc == WSD_TLS_ERROR && !wsd_tls_plain_http(t),
                       "\"%.8s...\" %s: ERROR, not plain HTTP (%s)", reqs[k].req,
                       i ? "byte by byte" : "whole", wsd_tls_error(t, NULL, 0));
                }
                s_free(t);
            }
        }
    }
    t = s_new(g_ctx);
    s_feed(t, "\x16\x03\x01\x00\x05hello", 10);
    rc = s_read(t, out, sizeof out, &n);
    ok(rc == WSD_TLS_ERROR && !wsd_tls_plain_http(t), "a bad ClientHello: ERROR, not plain HTTP (%s)",
       wsd_tls_error(t, NULL, 0));
    s_free(t);
}

/* Bytes the server side keeps per idle connection: n connections are set up
 * (handshake, one request and response, all output drained), the clients
 * freed, and the server objects' memory counted. */
static void measure_idle(const char *name, wsd_tls_ctx *sctx, const client_opts *o, size_t n,
                         long long bound)
{
    SSL_CTX *c = client_ctx(o);
    pair *ps = calloc(n, sizeof *ps);
    long long ossl0, count0;
    size_t heap0 = 0, heap1 = 0, i;
    int good = 1;

    /* warm-up: lazily created provider caches are not per connection */
    for (i = 0; i < 3; i++) {
        pair w;
        pair_init(&w, c, sctx, "localhost");
        pump(&w);
        exchange(&w, "warm");
        pair_free(&w);
    }
    ERR_clear_error();
    if (!SANITIZED)
        heap0 = mallinfo2().uordblks;
    ossl0 = g_live[1];
    count0 = g_count[1];
    for (i = 0; i < n; i++) {
        pair_init(&ps[i], c, sctx, "localhost");
        pump(&ps[i]);
        good &= exchange(&ps[i], "idle");
        pair_free_client(&ps[i]);
        free(ps[i].srv_plain.p);
        free(ps[i].cli_plain.p);
        ps[i].srv_plain.p = ps[i].cli_plain.p = NULL;
        good &= wsd_tls_out_pending(ps[i].s) == 0;
    }
    if (!SANITIZED)
        heap1 = mallinfo2().uordblks;
    {
        long long per = (g_live[1] - ossl0) / (long long)n;
        long long allocs = (g_count[1] - count0) / (long long)n;
        ok(good && per > 0 && per <= bound,
           "idle %s connection: %lld bytes in %lld OpenSSL allocations (bound %lld)", name, per,
           allocs, bound);
        /* the heap figure includes malloc's own overhead and wsd_tls itself,
         * minus the 16-byte tags this test's allocator adds */
        if (!SANITIZED)
            printf("# idle %s connection: %lld bytes of heap in all (mallinfo2, %zu connections)\n",
                   name, ((long long)heap1 - (long long)heap0) / (long long)n - allocs * HDR, n);
    }
    for (i = 0; i < n; i++)
        s_free(ps[i].s);
    free(ps);
    SSL_CTX_free(c);
}

static void test_memory(void)
{
    client_opts v12 = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, NULL, 0, 0};
    client_opts m13 = {0, 0, "client.pem", "client.key", NULL, 0, 0};
    measure_idle("TLS 1.3", g_ctx, NULL, 200, 16384);
    measure_idle("TLS 1.2", g_ctx, &v12, 200, 16384);
    measure_idle("mutual TLS 1.3", g_ctx_ca, &m13, 200, 24576);
}

int main(void)
{
    char err[512];

    if (!CRYPTO_set_mem_functions(cm_malloc, cm_realloc, cm_free))
        printf("# CRYPTO_set_mem_functions failed: memory figures are not counted\n");
    find_certs();
    printf("# certificates from %s\n", g_certs);
    g_ctx = s_ctx(cert("server.pem"), cert("server.key"), NULL, err, sizeof err);
    if (!g_ctx) {
        printf("Bail out! %s (run tests/certs/make-certs.sh?)\n", err);
        return 1;
    }
    g_ctx_ca = s_ctx(cert("server.pem"), cert("server.key"), cert("ca.pem"), err, sizeof err);
    if (!g_ctx_ca) {
        printf("Bail out! %s\n", err);
        return 1;
    }

    test_ctx_errors();
    test_chunk_sizes();
    test_versions();
    test_alpn();
    test_large();
    test_close();
    test_mtls();
    test_resume();
    test_key_update();
    test_renegotiation();
    test_garbage();
    test_memory();

    wsd_tls_ctx_free(g_ctx);
    wsd_tls_ctx_free(g_ctx_ca);
    return done_testing();
}
