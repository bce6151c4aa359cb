/* termctl.c — terminal mode's control messages (see termctl.h): a byte-at-
 * a-time JSON parser for one flat object, keeping only what a member that
 * matters needs (its name, the start of a string, a number). */
#include "termctl.h"

#include <string.h>

enum {
    S_BEGIN, S_OBJ_OPEN, S_NEXT_KEY, S_STRING, S_COLON, S_VALUE, S_NUMBER, S_LITERAL,
    S_AFTER_VALUE, S_DONE
};

/* number sub-states, kept in p->hex while in S_NUMBER */
enum { N_MINUS, N_INT, N_FRAC0, N_FRAC, N_EXP0, N_EXPS, N_EXP };

enum { M_NONE, M_TYPE, M_ROWS, M_COLS, M_OTHER };

static const char too_long[] = "control message too long";

void wsd_termctl_init(wsd_termctl *p)
{
    memset(p, 0, sizeof *p);
    p->st = S_BEGIN;
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int fail(wsd_termctl *p, const char *why)
{
    if (!p->err)
        p->err = why;
    return -1;
}

/* One decoded byte of the current string: into the member name or the
 * start of a string value (only short ones are ever compared). */
static void str_byte(wsd_termctl *p, uint8_t c)
{
    if (p->ret == S_COLON) {
        if (p->klen < sizeof p->key)
            p->key[p->klen++] = (char)c;
        else
            p->kover = 1;
    } else {
        if (p->slen < sizeof p->str)
            p->str[p->slen++] = (char)c;
        else
            p->sover = 1;
    }
}

/* A code point from \uXXXX (surrogate pairs joined) as UTF-8. */
static void str_cp(wsd_termctl *p, uint32_t cp)
{
    if (cp < 0x80) {
        str_byte(p, (uint8_t)cp);
    } else if (cp < 0x800) {
        str_byte(p, (uint8_t)(0xC0 | (cp >> 6)));
        str_byte(p, (uint8_t)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        str_byte(p, (uint8_t)(0xE0 | (cp >> 12)));
        str_byte(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        str_byte(p, (uint8_t)(0x80 | (cp & 0x3F)));
    } else {
        str_byte(p, (uint8_t)(0xF0 | (cp >> 18)));
        str_byte(p, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
        str_byte(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        str_byte(p, (uint8_t)(0x80 | (cp & 0x3F)));
    }
}

static int eq(const char *b, uint8_t len, uint8_t over, const char *s)
{
    return !over && len == strlen(s) && memcmp(b, s, len) == 0;
}

/* The member name is complete. */
static int key_done(wsd_termctl *p)
{
    int m = M_OTHER;

    if (eq(p->key, p->klen, p->kover, "type"))
        m = M_TYPE;
    else if (eq(p->key, p->klen, p->kover, "rows"))
        m = M_ROWS;
    else if (eq(p->key, p->klen, p->kover, "cols"))
        m = M_COLS;
    if ((m == M_TYPE && p->have_type) || (m == M_ROWS && p->have_rows) ||
        (m == M_COLS && p->have_cols))
        return fail(p, "duplicate member");
    if (m == M_TYPE)
        p->have_type = 1;
    else if (m == M_ROWS)
        p->have_rows = 1;
    else if (m == M_COLS)
        p->have_cols = 1;
    p->member = m;
    p->st = S_COLON;
    return 0;
}

/* A string value is complete. */
static int string_value(wsd_termctl *p)
{
    if (p->member == M_ROWS || p->member == M_COLS)
        return fail(p, "rows and cols must be integers");
    if (p->member == M_TYPE) {
        if (!eq(p->str, p->slen, p->sover, "resize"))
            return fail(p, "unknown control message type");
        p->type = WSD_TERMCTL_RESIZE;
    }
    p->st = S_AFTER_VALUE;
    return 0;
}

/* A number value is complete. */
static int number_value(wsd_termctl *p, int negative)
{
    if (p->member == M_TYPE)
        return fail(p, "type must be a string");
    if (p->member == M_ROWS || p->member == M_COLS) {
        unsigned max = p->member == M_ROWS ? WSD_TERM_MAX_ROWS : WSD_TERM_MAX_COLS;
        if (!p->num_int)
            return fail(p, "rows and cols must be integers");
        if (negative || p->num < 1 || p->num > max)
            return fail(p, p->member == M_ROWS ? "rows must be 1 to 1000"
                                               : "cols must be 1 to 1000");
        if (p->member == M_ROWS)
            p->rows = (unsigned)p->num;
        else
            p->cols = (unsigned)p->num;
    }
    p->st = S_AFTER_VALUE;
    return 0;
}

/* The start of a value other than a string. */
static int value_start(wsd_termctl *p, uint8_t c)
{
    if (c == '-' || (c >= '0' && c <= '9')) {
        p->st = S_NUMBER;
        p->num = 0;
        p->num_int = 1;
        p->num_digits = 0;
        p->num_lead0 = 0;
        p->lit = c == '-';            /* the sign, kept for the end */
        p->hex = N_MINUS;
        if (c != '-') {
            p->hex = N_INT;
            p->num = (uint64_t)(c - '0');
            p->num_digits = 1;
            p->num_lead0 = c == '0';
        }
        return 0;
    }
    if (c == 't' || c == 'f' || c == 'n') {
        if (p->member == M_TYPE)
            return fail(p, "type must be a string");
        if (p->member == M_ROWS || p->member == M_COLS)
            return fail(p, "rows and cols must be integers");
        p->litword = c == 't' ? "true" : c == 'f' ? "false" : "null";
        p->lit = 1;
        p->st = S_LITERAL;
        return 0;
    }
    if (c == '{' || c == '[')
        return fail(p, "nested objects and arrays are not supported");
    return fail(p, "expected a value");
}

/* One byte inside a number. Returns 1 when the number ended before c (c
 * is then looked at again), 0 when c was part of it, -1 on an error. */
static int number_byte(wsd_termctl *p, uint8_t c)
{
    int digit = c >= '0' && c <= '9';

    switch (p->hex) {
    case N_MINUS:
        if (!digit)
            return fail(p, "invalid number");
        p->hex = N_INT;
        p->num = (uint64_t)(c - '0');
        p->num_digits = 1;
        p->num_lead0 = c == '0';
        return 0;
    case N_INT:
        if (digit) {
            if (p->num_lead0)
                return fail(p, "invalid number");
            if (p->num < 1000000000u)
                p->num = p->num * 10 + (uint64_t)(c - '0');
            return 0;
        }
        if (c == '.') {
            p->hex = N_FRAC0;
            p->num_int = 0;
            return 0;
        }
        if (c == 'e' || c == 'E') {
            p->hex = N_EXP0;
            p->num_int = 0;
            return 0;
        }
        break;
    case N_FRAC0:
        if (!digit)
            return fail(p, "invalid number");
        p->hex = N_FRAC;
        return 0;
    case N_FRAC:
        if (digit)
            return 0;
        if (c == 'e' || c == 'E') {
            p->hex = N_EXP0;
            return 0;
        }
        break;
    case N_EXP0:
    case N_EXPS:
        if (p->hex == N_EXP0 && (c == '+' || c == '-')) {
            p->hex = N_EXPS;
            return 0;
        }
        if (!digit)
            return fail(p, "invalid number");
        p->hex = N_EXP;
        return 0;
    case N_EXP:
        if (digit)
            return 0;
        break;
    }
    /* the number ended before c */
    return number_value(p, p->lit) < 0 ? -1 : 1;
}

/* One byte inside a string (after the opening quote). */
static int string_byte(wsd_termctl *p, uint8_t c)
{
    if (p->esc == 1) {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = c ? strchr(from, c) : NULL;
        if (c == 'u') {
            p->esc = 2;
            p->hex = 4;
            p->cp = 0;
            return 0;
        }
        if (!k)
            return fail(p, "invalid escape in a string");
        if (p->hi)
            return fail(p, "invalid \\u escape (lone surrogate)");
        p->esc = 0;
        str_byte(p, (uint8_t)to[k - from]);
        return 0;
    }
    if (p->esc == 2) {
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            return fail(p, "invalid \\u escape");
        p->cp = p->cp << 4 | (uint32_t)v;
        if (--p->hex > 0)
            return 0;
        p->esc = 0;
        if (p->hi) {
            if (p->cp < 0xDC00 || p->cp > 0xDFFF)
                return fail(p, "invalid \\u escape (lone surrogate)");
            str_cp(p, 0x10000 + ((p->hi - 0xD800) << 10) + (p->cp - 0xDC00));
            p->hi = 0;
        } else if (p->cp >= 0xD800 && p->cp <= 0xDBFF) {
            p->hi = p->cp;            /* a low surrogate must follow at once */
        } else if (p->cp >= 0xDC00 && p->cp <= 0xDFFF) {
            return fail(p, "invalid \\u escape (lone surrogate)");
        } else {
            str_cp(p, p->cp);
        }
        return 0;
    }
    if (p->hi && c != '\\')
        return fail(p, "invalid \\u escape (lone surrogate)");
    if (c == '\\') {
        p->esc = 1;
        return 0;
    }
    if (c < 0x20)
        return fail(p, "control character in a string");
    if (c == '"')
        return p->ret == S_COLON ? key_done(p) : string_value(p);
    str_byte(p, c);                   /* UTF-8: checked by the WebSocket decoder */
    return 0;
}

static void string_start(wsd_termctl *p, int ret)
{
    p->st = S_STRING;
    p->ret = ret;
    p->esc = 0;
    p->hi = 0;
    if (ret == S_COLON)
        p->klen = p->kover = 0;
    else
        p->slen = p->sover = 0;
}

int wsd_termctl_feed(wsd_termctl *p, const uint8_t *b, size_t n)
{
    size_t i = 0;

    if (n > WSD_TERMCTL_MAX - (p->len < WSD_TERMCTL_MAX ? p->len : WSD_TERMCTL_MAX)) {
        p->len = WSD_TERMCTL_MAX + 1;
        p->err = too_long;        /* overrides: the reason that counts */
        return -1;
    }
    p->len += n;
    if (p->err)
        return -1;
    while (i < n) {
        uint8_t c = b[i];
        int rc = 0;

        switch (p->st) {
        case S_BEGIN:
            if (!is_ws(c))
                rc = c == '{' ? (p->st = S_OBJ_OPEN, 0) : fail(p, "not a JSON object");
            break;
        case S_OBJ_OPEN:
        case S_NEXT_KEY:
            if (is_ws(c))
                break;
            if (c == '"')
                string_start(p, S_COLON);
            else if (c == '}' && p->st == S_OBJ_OPEN)
                p->st = S_DONE;
            else
                rc = fail(p, "expected a member name");
            break;
        case S_STRING:
            rc = string_byte(p, c);
            break;
        case S_COLON:
            if (!is_ws(c))
                rc = c == ':' ? (p->st = S_VALUE, 0) : fail(p, "expected ':'");
            break;
        case S_VALUE:
            if (is_ws(c))
                break;
            if (c == '"') {
                if (p->member == M_ROWS || p->member == M_COLS)
                    rc = fail(p, "rows and cols must be integers");
                else
                    string_start(p, S_AFTER_VALUE);
            } else {
                rc = value_start(p, c);
            }
            break;
        case S_NUMBER:
            rc = number_byte(p, c);
            if (rc == 1)
                continue;             /* c is looked at again, after the number */
            break;
        case S_LITERAL:
            if (c != (uint8_t)p->litword[p->lit])
                rc = fail(p, "expected a value");
            else if (p->litword[++p->lit] == '\0')
                p->st = S_AFTER_VALUE;
            break;
        case S_AFTER_VALUE:
            if (is_ws(c))
                break;
            if (c == ',')
                p->st = S_NEXT_KEY;
            else if (c == '}')
                p->st = S_DONE;
            else
                rc = fail(p, "expected ',' or '}'");
            break;
        case S_DONE:
            if (!is_ws(c))
                rc = fail(p, "data after the object");
            break;
        }
        if (rc < 0)
            return -1;
        i++;
    }
    return 0;
}

int wsd_termctl_end(wsd_termctl *p, wsd_termctl_msg *m, const char **why)
{
    int code = WSD_TERMCTL_CLOSE;
    const char *err = p->err;

    if (!err && p->st != S_DONE)
        err = "incomplete JSON object";
    if (!err && !p->have_type)
        err = "missing \"type\"";
    if (!err && (!p->have_rows || !p->have_cols))
        err = "resize needs rows and cols";
    if (err == too_long)
        code = WSD_TERMCTL_CLOSE_TOO_BIG;
    memset(m, 0, sizeof *m);
    if (!err) {
        m->type = p->type;
        m->rows = p->rows;
        m->cols = p->cols;
    }
    *why = err;
    wsd_termctl_init(p);
    return err ? code : 0;
}
