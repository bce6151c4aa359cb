/* fuzz_tls.c — libFuzzer harness for the TLS transport (src/tls.c): the
 * input is what a client sends, fed to a server connection.
 *
 * Byte 0 picks the feed size (0: whole; else 1..255 bytes per feed), byte 1
 * the plaintext read size (1..256), byte 2 bit 0 how output is drained (take
 * or copy in small pieces). The rest is the client's byte stream. Each input
 * runs twice, whole and in pieces, and both runs must end the same way (same
 * result, same reason): the server's decisions depend only on the bytes, not
 * on how they were cut. Also checked: read sizes are within the buffer, every
 * ERROR has a reason and is sticky, plain HTTP leaves no alert pending, write
 * before the handshake is refused, OpenSSL's error queue is left empty.
 * Leaks are caught by LeakSanitizer.
 *
 * The server certificate is tests/certs/server.pem (run from the repository
 * root, or set WSD_FUZZ_CERTS to the directory). Seeds: fuzz/corpus/tls/
 * (ClientHellos from Python's ssl module, with the three header bytes).
 *
 * Build and run (see fuzz/README.md):
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -o build/fuzz/fuzz_tls fuzz/fuzz_tls.c src/tls.c src/util.c -lssl -lcrypto
 *   build/fuzz/fuzz_tls -max_total_time=60 build/fuzz/corpus-tls fuzz/corpus/tls
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                   \
            abort();                                                       \
        }                                                                  \
    } while (0)

static wsd_tls_ctx *ctx;

static void init(void)
{
    const char *dir = getenv("WSD_FUZZ_CERTS");
    char cert[4096], key[4096], err[512];

    if (!dir || !*dir)
        dir = "tests/certs";
    snprintf(cert, sizeof cert, "%s/server.pem", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    ctx = wsd_tls_ctx_new(cert, key, NULL, err, sizeof err);
    if (!ctx) {
        fprintf(stderr, "fuzz_tls: %s (run from the repository root or set WSD_FUZZ_CERTS)\n",
                err);
        exit(1);
    }
}

typedef struct {
    int rc;
    int plain_http;
    char why[256];
} result;

static void drain(wsd_tls *t, int copy)
{
    if (copy) {
        unsigned char b[37];
        size_t before;
        do {
            before = wsd_tls_out_pending(t);
            CHECK(wsd_tls_out_copy(t, b, sizeof b) == (before < sizeof b ? before : sizeof b));
        } while (before > sizeof b);
        CHECK(wsd_tls_out_pending(t) == 0);
    } else {
        size_t len, pending = wsd_tls_out_pending(t);
        char *p = wsd_tls_out_take(t, &len);
        CHECK(len == pending && (len == 0) == (p == NULL));
        free(p);
    }
}

static void run(const uint8_t *d, size_t n, size_t step, size_t rcap, int copy, result *r)
{
    unsigned char buf[256];
    wsd_tls *t = wsd_tls_new(ctx);
    size_t off = 0, got;
    int rc = WSD_TLS_AGAIN;

    if (step == 0 || step > n)
        step = n ? n : 1;
    while (off < n && rc == WSD_TLS_AGAIN) {
        size_t m = n - off < step ? n - off : step;
        CHECK(wsd_tls_feed(t, d + off, m) == WSD_TLS_OK);
        off += m;
        while ((rc = wsd_tls_read(t, buf, rcap, &got)) == WSD_TLS_OK)
            CHECK(got > 0 && got <= rcap);
        CHECK(got == 0);
        CHECK(rc == WSD_TLS_AGAIN || rc == WSD_TLS_ERROR || rc == WSD_TLS_EOF);
        if (rc == WSD_TLS_ERROR && wsd_tls_plain_http(t))
            CHECK(wsd_tls_out_pending(t) == 0);
        drain(t, copy);
    }
    r->rc = rc;
    r->plain_http = wsd_tls_plain_http(t);
    snprintf(r->why, sizeof r->why, "%s", wsd_tls_error(t, NULL, 0));
    if (rc == WSD_TLS_ERROR) {
        CHECK(r->why[0] != '\0');
        CHECK(wsd_tls_feed(t, "x", 1) == WSD_TLS_ERROR);
        CHECK(wsd_tls_read(t, buf, rcap, &got) == WSD_TLS_ERROR && got == 0);
        CHECK(wsd_tls_write(t, "x", 1) == WSD_TLS_ERROR);
        CHECK(wsd_tls_shutdown(t) == WSD_TLS_ERROR);
    } else {
        CHECK(!r->plain_http);
    }
    if (!wsd_tls_handshake_done(t)) {
        CHECK(wsd_tls_write(t, "x", 1) == WSD_TLS_ERROR);
        CHECK(wsd_tls_out_pending(t) == 0);
        CHECK(wsd_tls_version(t)[0] == '\0');
    }
    CHECK(wsd_tls_peer_subject(t, (char *)buf, sizeof buf) == -1);
    wsd_tls_free(t);
    CHECK(ERR_peek_error() == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    result whole, pieces;
    size_t step, rcap;
    int copy;

    if (!ctx)
        init();
    if (size < 3)
        return 0;
    step = data[0];
    rcap = (size_t)data[1] + 1;
    copy = data[2] & 1;
    data += 3;
    size -= 3;

    run(data, size, 0, 256, 0, &whole);
    run(data, size, step ? step : 1, rcap, copy, &pieces);
    if (whole.rc != pieces.rc || whole.plain_http != pieces.plain_http ||
        strcmp(whole.why, pieces.why) != 0) {
        fprintf(stderr, "whole: rc %d \"%s\"; in %zu-byte pieces: rc %d \"%s\"\n", whole.rc,
                whole.why, step ? step : 1, pieces.rc, pieces.why);
        abort();
    }
    return 0;
}
