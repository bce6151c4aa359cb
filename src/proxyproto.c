/* proxyproto.c — the PROXY protocol header (see proxyproto.h). */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v2sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1sig[] = "PROXY ";

void wsd_proxy_init(wsd_proxy_parser *p)
{
    memset(p, 0, sizeof *p);
}

static int fail(wsd_proxy_parser *p, const char *why)
{
    p->rc = WSD_PROXY_ERROR;
    p->err = why;
    return WSD_PROXY_ERROR;
}

/* ------------------------------------------------------------------- v1 */

/* The next space-delimited field of line[*i..end): its start and length. */
static int field(const char *line, size_t end, size_t *i, const char **f, size_t *n)
{
    size_t s = *i;
    while (*i < end && line[*i] != ' ')
        (*i)++;
    *f = line + s;
    *n = *i - s;
    if (*i < end)
        (*i)++;                  /* the one space */
    return *n > 0;
}

static int v1_port(const char *s, size_t n)
{
    int v = 0;
    size_t i;
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

static int v1_addr(const char *s, size_t n, int af, char out[64])
{
    char buf[64];
    uint8_t bin[16];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(af, buf, bin) != 1 || !inet_ntop(af, bin, out, 64))
        return -1;
    return 0;
}

/* A complete line p->buf[0..len) ending in CRLF. */
static int v1_parse(wsd_proxy_parser *p)
{
    const char *line = (const char *)p->buf;
    size_t end = p->len - 2, i = sizeof v1sig - 1, n;
    const char *f;
    wsd_proxy_info *in = &p->info;
    int af;

    in->version = 1;
    if (!field(line, end, &i, &f, &n))
        return fail(p, "v1: no protocol");
    if (n == 7 && memcmp(f, "UNKNOWN", 7) == 0) {
        in->local = 1;           /* the rest of the line is to be ignored */
        return WSD_PROXY_DONE;
    }
    if (n == 4 && memcmp(f, "TCP4", 4) == 0)
        af = AF_INET;
    else if (n == 4 && memcmp(f, "TCP6", 4) == 0)
        af = AF_INET6;
    else
        return fail(p, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
    if (!field(line, end, &i, &f, &n) || v1_addr(f, n, af, in->src) != 0)
        return fail(p, "v1: bad source address");
    if (!field(line, end, &i, &f, &n) || v1_addr(f, n, af, in->dst) != 0)
        return fail(p, "v1: bad destination address");
    if (!field(line, end, &i, &f, &n) || (in->src_port = v1_port(f, n)) < 0)
        return fail(p, "v1: bad source port");
    if (!field(line, end, &i, &f, &n) || (in->dst_port = v1_port(f, n)) < 0 || i != end ||
        line[end - 1] == ' ')
        return fail(p, "v1: bad destination port or trailing bytes");
    return WSD_PROXY_DONE;
}

/* v1, one byte more (the last of p->buf): MORE, DONE or ERROR. */
static int v1_byte(wsd_proxy_parser *p)
{
    size_t k = p->len - 1;
    uint8_t c = p->buf[k];

    if (k < sizeof v1sig - 1)
        return c == (uint8_t)v1sig[k] ? WSD_PROXY_MORE : fail(p, "not a PROXY header");
    if (c == '\n')
        return p->buf[k - 1] == '\r' ? v1_parse(p) : fail(p, "v1: LF without CR");
    if (k > 0 && p->buf[k - 1] == '\r')
        return fail(p, "v1: CR inside the line");
    if (c != '\r' && (c < 0x20 || c > 0x7e))
        return fail(p, "v1: a byte that is not printable ASCII");
    if (p->len >= WSD_PROXY_V1_MAX)
        return fail(p, "v1: longer than 107 bytes");
    return WSD_PROXY_MORE;
}

/* ------------------------------------------------------------------- v2 */

static size_t v2_len(const wsd_proxy_parser *p)
{
    return ((size_t)p->buf[14] << 8) | p->buf[15];
}

/* The 16-byte head is complete: is it acceptable? */
static int v2_head(wsd_proxy_parser *p)
{
    uint8_t vc = p->buf[12], fam = p->buf[13];
    size_t len = v2_len(p), need = 0;

    if ((vc >> 4) != 2)
        return fail(p, "v2: version is not 2");
    if ((vc & 15) > 1)
        return fail(p, "v2: command is neither LOCAL nor PROXY");
    if ((fam & 15) > 1)
        return fail(p, "v2: not a stream (datagram or unknown transport)");
    switch (fam >> 4) {
    case 0: need = 0; break;
    case 1: need = 12; break;
    case 2: need = 36; break;
    case 3: need = 216; break;
    default: return fail(p, "v2: unknown address family");
    }
    if (len > WSD_PROXY_V2_LEN)
        return fail(p, "v2: longer than 2048 bytes");
    if ((vc & 15) == 1 && len < need)
        return fail(p, "v2: address block shorter than its family needs");
    return WSD_PROXY_MORE;
}

static int v2_parse(wsd_proxy_parser *p)
{
    uint8_t vc = p->buf[12], fam = p->buf[13];
    const uint8_t *a = p->buf + 16;
    size_t len = v2_len(p), off = 0;
    wsd_proxy_info *in = &p->info;

    in->version = 2;
    switch (fam >> 4) {
    case 1: off = 12; break;
    case 2: off = 36; break;
    case 3: off = 216; break;
    default: off = 0; break;
    }
    if ((vc & 15) == 0 || (fam >> 4) == 0 || (fam >> 4) == 3) {
        in->local = 1;           /* LOCAL, or no IP address to take */
        if ((vc & 15) == 0)
            off = 0;             /* LOCAL: the block is not ours to read (TLVs unchecked) */
    } else if ((fam >> 4) == 1) {
        inet_ntop(AF_INET, a, in->src, sizeof in->src);
        inet_ntop(AF_INET, a + 4, in->dst, sizeof in->dst);
        in->src_port = (a[8] << 8) | a[9];
        in->dst_port = (a[10] << 8) | a[11];
    } else {
        inet_ntop(AF_INET6, a, in->src, sizeof in->src);
        inet_ntop(AF_INET6, a + 16, in->dst, sizeof in->dst);
        in->src_port = (a[32] << 8) | a[33];
        in->dst_port = (a[34] << 8) | a[35];
    }
    /* the TLVs after the addresses: type, 16-bit length, value; they must
     * fill the rest exactly */
    while (off > 0 && off < len) {
        size_t tl;
        if (len - off < 3)
            return fail(p, "v2: a TLV is cut short");
        tl = ((size_t)a[off + 1] << 8) | a[off + 2];
        if (tl > len - off - 3)
            return fail(p, "v2: a TLV is longer than the header");
        off += 3 + tl;
    }
    return WSD_PROXY_DONE;
}

static int v2_byte(wsd_proxy_parser *p)
{
    size_t k = p->len - 1;

    if (k < sizeof v2sig)
        return p->buf[k] == v2sig[k] ? WSD_PROXY_MORE : fail(p, "not a PROXY header");
    if (p->len == 16 && v2_head(p) != WSD_PROXY_MORE)
        return WSD_PROXY_ERROR;
    if (p->len >= 16 && p->len == 16 + v2_len(p))
        return v2_parse(p);
    return WSD_PROXY_MORE;
}

/* ------------------------------------------------------------------ feed */

int wsd_proxy_feed(wsd_proxy_parser *p, const uint8_t *data, size_t n, size_t *used)
{
    size_t i;

    *used = 0;
    if (p->rc != WSD_PROXY_MORE)
        return p->rc;
    for (i = 0; i < n; i++) {
        int rc;
        if (p->len == 0)
            p->version = data[i] == 'P' ? 1 : data[i] == v2sig[0] ? 2 : 0;
        if (p->version == 0) {
            *used = i + 1;
            return fail(p, "not a PROXY header");
        }
        if (p->version == 2 && p->len >= 16 && n - i > 0) {
            /* the body of a v2 header: copy what is missing at once */
            size_t want = 16 + v2_len(p) - p->len, take = n - i < want ? n - i : want;
            memcpy(p->buf + p->len, data + i, take);
            p->len += take;
            i += take - 1;
            rc = p->len == 16 + v2_len(p) ? v2_parse(p) : WSD_PROXY_MORE;
        } else {
            p->buf[p->len++] = data[i];
            rc = p->version == 1 ? v1_byte(p) : v2_byte(p);
        }
        if (rc != WSD_PROXY_MORE) {
            *used = i + 1;
            p->rc = rc;
            return rc;
        }
    }
    *used = n;
    return WSD_PROXY_MORE;
}
