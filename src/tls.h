/* tls.h — the TLS transport for --ssl: OpenSSL with in-memory I/O. Pure: no
 * sockets, no libuv. The server puts it between the TCP socket and the
 * HTTP/WebSocket code: ciphertext read from the socket is fed in, plaintext
 * is pulled out; plaintext is written in, ciphertext is taken out and written
 * to the socket by the caller.
 *
 * Return codes (nginx/redis style):
 *   WSD_TLS_OK     done.
 *   WSD_TLS_AGAIN  cannot progress now, nothing was done: read — needs more
 *                  ciphertext from the socket (everything fed has been
 *                  consumed); write — too much ciphertext is pending, take it
 *                  out first; feed — too much input is still unread, read
 *                  plaintext first.
 *   WSD_TLS_EOF    read only: the peer sent close_notify (a clean TLS EOF).
 *   WSD_TLS_ERROR  fatal for the connection (except a write before the
 *                  handshake or after shutdown: see wsd_tls_write);
 *                  wsd_tls_error() says why. Ciphertext may still be pending
 *                  (an alert): send it, then close TCP.
 *
 * How the server uses it (one wsd_tls per accepted TCP connection):
 *   start-up   ctx = wsd_tls_ctx_new(cert, key, ca, err, sizeof err);
 *              NULL → print err, exit 1.
 *   accept     t = wsd_tls_new(ctx);
 *   on read    wsd_tls_feed(t, buf, n);            (OK: all n bytes copied)
 *              loop: rc = wsd_tls_read(t, p, cap, &got);
 *                OK    → hand p[0..got) to the HTTP parser / frame decoder
 *                AGAIN → stop: every fed byte has been consumed
 *                EOF   → the client closed TLS: like a TCP EOF
 *                ERROR → log wsd_tls_error(); if wsd_tls_plain_http(t)
 *                        write WSD_TLS_PLAIN_HTTP_RESPONSE raw (websocketd
 *                        does), else send the pending output (an alert);
 *                        then close TCP
 *              then send whatever is pending (wsd_tls_out_take): the
 *              handshake, session tickets, KeyUpdate answers and alerts are
 *              produced by reads.
 *   on write   rc = wsd_tls_write(t, data, len);   then send pending output.
 *   on close   wsd_tls_shutdown(t) (queues close_notify), send pending output,
 *              then shut down / close TCP as without TLS.
 *   teardown   wsd_tls_free(t);  at exit wsd_tls_ctx_free(ctx).
 *
 * Memory and backpressure contract:
 *   - Input: wsd_tls_feed copies into a buffer owned by t. If unread bytes
 *     are left and they plus the new ones exceed WSD_TLS_IN_MAX, feed refuses
 *     the new bytes (AGAIN): read plaintext until AGAIN after each feed (or
 *     stop reading the socket while you don't). Reading until AGAIN consumes
 *     all fed bytes (OpenSSL keeps only an incomplete record, ≤ 16.7 KiB), so
 *     plaintext out ≤ ciphertext in per feed, and the buffer is freed.
 *   - Plaintext is pulled by the caller in chunks of the caller's size.
 *   - Output: ciphertext accumulates in one buffer owned by t until taken.
 *     wsd_tls_write refuses (AGAIN, nothing written) while more than
 *     WSD_TLS_OUT_HIGH bytes are pending; otherwise it takes all len bytes, so
 *     pending ≤ WSD_TLS_OUT_HIGH + len + record overhead (≤ 1% + 64 bytes).
 *     The simplest correct caller takes all output after every call
 *     (wsd_tls_out_take hands over the buffer itself, no copy) and relies on
 *     its socket write queue for backpressure; then write never says AGAIN.
 *   - Idle: with nothing pending, t holds no buffer of its own, and OpenSSL's
 *     record buffers are released (SSL_MODE_RELEASE_BUFFERS); what remains is
 *     the SSL object (7.6 KiB in OpenSSL 3.0), its session and keys. Measured
 *     by test_tls.c (heap in use per idle connection, malloc overhead
 *     included): TLS 1.3 ≈ 14.5 KiB, TLS 1.2 ≈ 13 KiB, TLS 1.3 with a
 *     client certificate ≈ 24 KiB; without RELEASE_BUFFERS each would be
 *     ≈ 33 KiB more (the 16.7 KiB read and write record buffers).
 *
 * Policy (wsd_tls_ctx_new): TLS 1.2 minimum (upstream websocketd after 0.4.1);
 * OpenSSL's default ciphers at security level 2; renegotiation off; ALPN:
 * "http/1.1" is selected when offered; a client that sends ALPN without it
 * (e.g. only "h2") fails the handshake with the no_application_protocol
 * alert, as RFC 7301 §3.2 requires and Go (websocketd) does for unknown
 * protocols — browsers offer h2 and http/1.1, non-browser WebSocket clients
 * usually send no ALPN (then none is negotiated and all is well). Unlike
 * websocketd, an h2-only client is refused: wsd does not speak HTTP/2.
 * Stateless session tickets (TLS 1.2 and 1.3) but no
 * server-side session cache, so memory does not grow with past clients;
 * encrypted private keys are refused (no passphrase prompt). With --sslca the
 * client must present a certificate that verifies against that file
 * (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); the CA names are sent
 * in the CertificateRequest.
 *
 * OpenSSL's error queue is per thread; every function here leaves it empty. */
#ifndef WSD_TLS_H
#define WSD_TLS_H

#include <stddef.h>

enum {
    WSD_TLS_OK = 0,
    WSD_TLS_AGAIN = 1,
    WSD_TLS_EOF = 2,
    WSD_TLS_ERROR = -1
};

#define WSD_TLS_IN_MAX (256 * 1024)    /* unread input: feed says AGAIN above this */
#define WSD_TLS_OUT_HIGH (64 * 1024)   /* pending output: write says AGAIN above this */

/* What to write, raw, to a client that sent plain HTTP to the TLS port (see
 * wsd_tls_plain_http), before closing; Go's net/http, hence websocketd,
 * answers this way. */
#define WSD_TLS_PLAIN_HTTP_RESPONSE \
    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

typedef struct wsd_tls_ctx wsd_tls_ctx;
typedef struct wsd_tls wsd_tls;

/* The server context: certificate chain (PEM, leaf first), private key (PEM,
 * unencrypted) and optional client CA file (PEM; NULL or "" = no client
 * certificates). On failure returns NULL and writes a one-line message
 * without a trailing newline into err[0..errlen), e.g.
 *   "cannot load --sslcert 'x.pem': No such file or directory"
 *   "--sslkey 'k.pem' does not match --sslcert 'c.pem'" */
wsd_tls_ctx *wsd_tls_ctx_new(const char *cert, const char *key, const char *ca,
                             char *err, size_t errlen);
/* Frees ctx; only after every wsd_tls made from it is freed. NULL is OK. */
void wsd_tls_ctx_free(wsd_tls_ctx *ctx);

/* A server-side connection in the handshake state. Never NULL (OOM aborts,
 * as xmalloc). ctx must outlive it. */
wsd_tls *wsd_tls_new(wsd_tls_ctx *ctx);
/* Frees t and any pending input and output. No close_notify is sent. */
void wsd_tls_free(wsd_tls *t);

/* Ciphertext from the socket. OK: all len bytes copied into t (after EOF
 * they are discarded). AGAIN: unread bytes + len would exceed WSD_TLS_IN_MAX;
 * nothing taken. ERROR: the connection already failed. */
int wsd_tls_feed(wsd_tls *t, const void *data, size_t len);

/* Drives the handshake and decrypts: up to cap (> 0) bytes of plaintext into
 * buf, *n set to their number (0 unless OK). Returns OK (*n > 0), AGAIN,
 * EOF or ERROR as described above. After EOF or ERROR, read keeps returning
 * the same. May produce output: take it after the read loop. */
int wsd_tls_read(wsd_tls *t, void *buf, size_t cap, size_t *n);

/* Encrypts data[0..len) into the pending output, all of it (OK), or nothing:
 * AGAIN when more than WSD_TLS_OUT_HIGH bytes are pending; ERROR after an
 * error, and — without breaking the connection, reads go on — before the
 * handshake is complete or after wsd_tls_shutdown. len 0 is OK. Writing
 * after the peer's close_notify (EOF) is allowed. */
int wsd_tls_write(wsd_tls *t, const void *data, size_t len);

/* Queues close_notify (once; later calls return OK and do nothing). ERROR if
 * the handshake is not complete or the connection failed: then just close
 * TCP. Reading continues to work after shutdown (the client's close frame
 * may still arrive); writing does not. */
int wsd_tls_shutdown(wsd_tls *t);

/* Pending ciphertext, to be written to the socket in order. */
size_t wsd_tls_out_pending(const wsd_tls *t);
/* Pointer to the pending bytes (*len of them; NULL and 0 if none). Valid
 * until the next call on t other than out_pending/out_peek. */
const void *wsd_tls_out_peek(const wsd_tls *t, size_t *len);
/* Marks the first n (≤ pending) peeked bytes as sent. */
void wsd_tls_out_consume(wsd_tls *t, size_t n);
/* Copies up to cap pending bytes into buf and consumes them; returns the count. */
size_t wsd_tls_out_copy(wsd_tls *t, void *buf, size_t cap);
/* Hands over all pending bytes as a malloc'd buffer the caller frees (e.g. in
 * its write callback), *len set; NULL and 0 if nothing is pending. */
char *wsd_tls_out_take(wsd_tls *t, size_t *len);

/* State queries. */
int wsd_tls_handshake_done(const wsd_tls *t);
/* The peer sent close_notify (read returned EOF). */
int wsd_tls_peer_closed(const wsd_tls *t);
/* After ERROR: the peer spoke plain HTTP to the TLS port — its first five
 * bytes are "GET /", "HEAD ", "POST ", "PUT /" or "OPTIO", Go's test, so wsd
 * answers exactly the requests websocketd answers. The alert OpenSSL queued
 * is dropped (nothing pending); write WSD_TLS_PLAIN_HTTP_RESPONSE to the
 * socket as is, then close. */
int wsd_tls_plain_http(const wsd_tls *t);

/* After the handshake ("" before): "TLSv1.3", "TLSv1.2"; the cipher
 * suite's OpenSSL name, e.g. "TLS_AES_256_GCM_SHA384"; the ALPN protocol
 * ("http/1.1") or "" if none was negotiated. Static strings. */
const char *wsd_tls_version(const wsd_tls *t);
const char *wsd_tls_cipher(const wsd_tls *t);
const char *wsd_tls_alpn(const wsd_tls *t);
/* Whether the session was resumed (ticket). */
int wsd_tls_resumed(const wsd_tls *t);

/* The verified client certificate's subject / issuer as an RFC 2253 string
 * ("CN=wsd test client,O=wsd tests"; control characters escaped, UTF-8 kept)
 * into buf[0..cap), NUL-terminated, truncated to fit. Returns the full
 * length, or -1 if there is no client certificate (no --sslca). Suggested
 * child environment, as Apache mod_ssl names it: SSL_CLIENT_S_DN,
 * SSL_CLIENT_I_DN (plus SSL_PROTOCOL = wsd_tls_version, SSL_CIPHER =
 * wsd_tls_cipher, SSL_CLIENT_VERIFY = "SUCCESS" when a certificate was
 * presented — with --sslca a handshake only completes when it verified). */
int wsd_tls_peer_subject(const wsd_tls *t, char *buf, size_t cap);
int wsd_tls_peer_issuer(const wsd_tls *t, char *buf, size_t cap);

/* Why the last call said ERROR; "" if none did. With buf NULL: a short
 * static string (OpenSSL's reason, e.g. "unsupported protocol", "peer did
 * not return a certificate", "certificate verify failed", "no application
 * protocol", "wrong version number", "client sent an HTTP request to an
 * HTTPS server", or wsd's "write before the handshake is complete"). With a
 * buffer: the same plus the certificate verification detail when there is
 * one ("certificate verify failed (unable to get local issuer certificate)"),
 * written into buf[0..cap), NUL-terminated; returns buf. */
const char *wsd_tls_error(const wsd_tls *t, char *buf, size_t cap);

#endif
