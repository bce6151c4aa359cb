/* goflag.c — Go's `flag` package as websocketd 0.4.1 uses it (see goflag.h).
 * Re-implemented from Go 1.19's flag and strconv packages' documented
 * behaviour and the messages Debian's websocketd 0.4.1 was observed to
 * print. */
#include "goflag.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- strconv, as the flag package uses it ---------------------------------- */

/* strconv's underscoreOK: '_' only between digits or after a base prefix. */
static int underscore_ok(const char *s)
{
    char saw = '^';
    size_t i = 0, n;
    int hex = 0;

    if (*s == '-' || *s == '+')
        s++;
    n = strlen(s);
    if (n >= 2 && s[0] == '0' && (wsd_lower(s[1]) == 'b' || wsd_lower(s[1]) == 'o' || wsd_lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = wsd_lower(s[1]) == 'x';
    }
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
        if ((c >= '0' && c <= '9') || (hex && wsd_lower(c) >= 'a' && wsd_lower(c) <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return 0;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return 0;
        saw = '!';
    }
    return saw != '_';
}

int wsd_goflag_parse_uint(const char *s0, uint64_t *out)
{
    const char *s = s0;
    unsigned base = 10;
    uint64_t n = 0, cutoff;
    int underscores = 0;

    *out = 0;
    if (*s == '\0')
        return WSD_GOFLAG_SYNTAX;
    if (s[0] == '0') {
        size_t len = strlen(s);
        if (len >= 3 && wsd_lower(s[1]) == 'b') {
            base = 2;
            s += 2;
        } else if (len >= 3 && wsd_lower(s[1]) == 'o') {
            base = 8;
            s += 2;
        } else if (len >= 3 && wsd_lower(s[1]) == 'x') {
            base = 16;
            s += 2;
        } else {
            base = 8;
            s += 1;
        }
    }
    cutoff = UINT64_MAX / base + 1;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        unsigned d;
        if (c == '_') {
            underscores = 1;
            continue;
        } else if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (wsd_lower(c) >= 'a' && wsd_lower(c) <= 'z') {
            d = (unsigned)(wsd_lower(c) - 'a' + 10);
        } else {
            return WSD_GOFLAG_SYNTAX;
        }
        if (d >= base)
            return WSD_GOFLAG_SYNTAX;
        if (n >= cutoff) {
            *out = UINT64_MAX;
            return WSD_GOFLAG_RANGE;
        }
        n *= base;
        if (n + d < n) {
            *out = UINT64_MAX;
            return WSD_GOFLAG_RANGE;
        }
        n += d;
    }
    if (underscores && !underscore_ok(s0))
        return WSD_GOFLAG_SYNTAX;
    *out = n;
    return 0;
}

int wsd_goflag_parse_int(const char *s, int64_t *out)
{
    int neg = 0, rc;
    uint64_t un;

    *out = 0;
    if (*s == '\0')
        return WSD_GOFLAG_SYNTAX;
    if (*s == '+') {
        s++;
    } else if (*s == '-') {
        neg = 1;
        s++;
    }
    rc = wsd_goflag_parse_uint(s, &un);
    if (rc == WSD_GOFLAG_SYNTAX)
        return rc;
    if (!neg && un >= (uint64_t)1 << 63) {
        *out = INT64_MAX;
        return WSD_GOFLAG_RANGE;
    }
    if (neg && un > (uint64_t)1 << 63) {
        *out = INT64_MIN;
        return WSD_GOFLAG_RANGE;
    }
    if (neg)
        *out = un == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)un;
    else
        *out = (int64_t)un;
    return 0;
}

int wsd_goflag_parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    size_t i;
    for (i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return WSD_GOFLAG_SYNTAX;
}

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRune: returns the rune and
 * sets *w to its length, or returns -1 with *w = 1 for an invalid byte. */
static long utf8_decode(const unsigned char *s, size_t n, size_t *w)
{
    unsigned char c = s[0];
    long r;
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    *w = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        r = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        r = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        r = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return -1;
    }
    if (n < len)
        return -1;
    for (i = 1; i < len; i++) {
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
            return -1;
        r = (r << 6) | (b & 0x3f);
    }
    *w = len;
    return r;
}

/* An approximation of Go's unicode.IsPrint for r >= 0x80: format, space
 * separator, private-use and noncharacter code points are not printable;
 * unassigned code points are (Go would escape those too). */
static int rune_printable(long r)
{
    if (r < 0xa0 || r == 0xa0 || r == 0xad || r == 0x1680)
        return 0;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff ||
        (r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe000 && r <= 0xf8ff) ||
        r >= 0xf0000 || (r & 0xfffe) == 0xfffe || (r >= 0xfdd0 && r <= 0xfdef) ||
        (r >= 0xe0000 && r <= 0xe007f))
        return 0;
    return 1;
}

void wsd_goflag_quote(FILE *f, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), i = 0;

    fputc('"', f);
    while (i < n) {
        size_t w;
        long r = utf8_decode(s + i, n - i, &w);
        if (r < 0) {
            fprintf(f, "\\x%c%c", hex[s[i] >> 4], hex[s[i] & 15]);
            i++;
            continue;
        }
        if (r == '"' || r == '\\') {
            fputc('\\', f);
            fputc((int)r, f);
        } else if (r >= 0x20 && r < 0x7f) {
            fputc((int)r, f);
        } else if (r >= 0x80 && rune_printable(r)) {
            fwrite(s + i, 1, w, f);
        } else {
            switch (r) {
            case '\a': fputs("\\a", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\v': fputs("\\v", f); break;
            default:
                if (r < 0x20 || r == 0x7f)
                    fprintf(f, "\\x%c%c", hex[r >> 4], hex[r & 15]);
                else if (r < 0x10000)
                    fprintf(f, "\\u%04lx", (unsigned long)r);
                else
                    fprintf(f, "\\U%08lx", (unsigned long)r);
            }
        }
        i += w;
    }
    fputc('"', f);
}

/* ---- FlagSet --------------------------------------------------------------- */

static int find(const wsd_goflag *defs, size_t n, const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (strlen(defs[i].name) == len && memcmp(defs[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

void wsd_goflag_print_defaults(const wsd_goflag *defs, size_t n, const char *prog, FILE *f)
{
    static const char *const tname[] = {
        [WSD_GOFLAG_BOOL] = "", [WSD_GOFLAG_INT] = " int", [WSD_GOFLAG_UINT] = " uint",
        [WSD_GOFLAG_STRING] = " string", [WSD_GOFLAG_LIST] = " value"
    };
    size_t i;

    fprintf(f, "Usage of %s:\n", prog);
    for (i = 0; i < n; i++) {
        const wsd_goflag *d = &defs[i];
        fprintf(f, "  -%s%s\n    \t%s", d->name, tname[d->type], d->usage);
        if (d->defval) {
            if (d->type == WSD_GOFLAG_STRING) {
                fputs(" (default ", f);
                wsd_goflag_quote(f, d->defval);
                fputc(')', f);
            } else {
                fprintf(f, " (default %s)", d->defval);
            }
        }
        fputc('\n', f);
    }
}

const char *wsd_goflag_set(const wsd_goflag *d, wsd_goflag_value *v, const char *value)
{
    const char *why = NULL;
    int rc;

    switch (d->type) {
    case WSD_GOFLAG_BOOL:
        return wsd_goflag_parse_bool(value, &v->b) == 0 ? NULL : "parse error";
    case WSD_GOFLAG_INT:
        rc = wsd_goflag_parse_int(value, &v->i);
        break;
    case WSD_GOFLAG_UINT:
        rc = wsd_goflag_parse_uint(value, &v->u);
        break;
    case WSD_GOFLAG_STRING:
        free(v->s);
        v->s = xstrdup(value);
        rc = 0;
        break;
    case WSD_GOFLAG_LIST:
        v->l = xrealloc(v->l, (v->nl + 2) * sizeof *v->l);
        v->l[v->nl++] = xstrdup(value);
        v->l[v->nl] = NULL;
        return NULL;
    default:
        return NULL;
    }
    if (rc == 0 && (!d->check || !(why = d->check(v))))
        return NULL;
    return why ? why : rc == WSD_GOFLAG_RANGE ? "value out of range" : "parse error";
}

/* flag.Value.Set for the non-boolean types. Returns 0, or prints Go's
 * message and returns -1. */
static int set_value(const wsd_goflag *d, wsd_goflag_value *v, const char *value, FILE *err)
{
    const char *why = wsd_goflag_set(d, v, value);

    if (!why)
        return 0;
    fputs("invalid value ", err);
    wsd_goflag_quote(err, value);
    fprintf(err, " for flag -%s: %s\n", d->name, why);
    return -1;
}

int wsd_goflag_parse(const wsd_goflag *defs, size_t n, wsd_goflag_value *vals, int argc,
                     char **argv, int *first, FILE *err)
{
    int i = 1;

    while (i < argc) {
        const char *s = argv[i], *name, *eq, *value = NULL;
        size_t nlen;
        int id, minus = 1, at = i;

        if (s[0] != '-' || s[1] == '\0')
            break;
        if (s[1] == '-') {
            minus = 2;
            if (s[2] == '\0') {
                i++;
                break;
            }
        }
        name = s + minus;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=') {
            fprintf(err, "bad flag syntax: %s\n", s);
            return WSD_GOFLAG_ERROR;
        }
        i++;
        eq = strchr(name + 1, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (eq)
            value = eq + 1;
        id = find(defs, n, name, nlen);
        if (id < 0) {
            if ((nlen == 4 && memcmp(name, "help", 4) == 0) || (nlen == 1 && name[0] == 'h'))
                return WSD_GOFLAG_HELP;
            fprintf(err, "flag provided but not defined: -%.*s\n", (int)nlen, name);
            return WSD_GOFLAG_ERROR;
        }
        if (defs[id].type == WSD_GOFLAG_BOOL) {
            int b = 1;
            if (value && wsd_goflag_parse_bool(value, &b) != 0) {
                fputs("invalid boolean value ", err);
                wsd_goflag_quote(err, value);
                fprintf(err, " for -%s: parse error\n", defs[id].name);
                return WSD_GOFLAG_ERROR;
            }
            vals[id].b = b;
        } else {
            if (!value && i < argc)
                value = argv[i++];
            if (!value) {
                fprintf(err, "flag needs an argument: -%s\n", defs[id].name);
                return WSD_GOFLAG_ERROR;
            }
            if (set_value(&defs[id], &vals[id], value, err) != 0)
                return WSD_GOFLAG_ERROR;
        }
        if (!vals[id].pos)
            vals[id].pos = at;
    }
    *first = i;
    return WSD_GOFLAG_OK;
}

void wsd_goflag_values_free(wsd_goflag_value *vals, size_t n)
{
    size_t i, k;
    for (i = 0; i < n; i++) {
        free(vals[i].s);
        for (k = 0; vals[i].l && k < vals[i].nl; k++)
            free(vals[i].l[k]);
        free(vals[i].l);
        memset(&vals[i], 0, sizeof vals[i]);
    }
}
