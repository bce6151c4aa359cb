/* goflag.h — Go's `flag` package, as websocketd 0.4.1 parses its command
 * line: the argv syntax, strconv's number and boolean syntax, the error
 * messages and the flag list (PrintDefaults). Pure: it writes only to the
 * FILE it is given; no libuv.
 *
 * Syntax: `-x` ≡ `--x`; non-boolean flags take `--x=v` or `--x v`; booleans
 * are bare `--x` or `--x=true|false` (also 1/0/t/f/T/F/TRUE/FALSE/True/False,
 * as strconv.ParseBool); numbers as strconv.ParseInt/ParseUint with base 0
 * (0x, 0o, 0b, a leading 0 for octal, '_' between digits); parsing stops at
 * the first non-flag argument, or after `--`. A repeated flag: the last
 * value wins; a LIST flag collects every value. */
#ifndef WSD_GOFLAG_H
#define WSD_GOFLAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum wsd_goflag_type {
    WSD_GOFLAG_BOOL,
    WSD_GOFLAG_INT,       /* int64 */
    WSD_GOFLAG_UINT,      /* uint64 */
    WSD_GOFLAG_STRING,
    WSD_GOFLAG_LIST       /* a flag.Value collecting every value ("value" in the list) */
};

struct wsd_goflag_value;

/* One flag. A table of them is sorted by name: Go prints the list in that
 * order. */
typedef struct {
    const char *name;     /* without dashes */
    int type;             /* enum wsd_goflag_type */
    const char *defval;   /* Go's DefValue when not the zero value, else NULL */
    /* INT, UINT, STRING: NULL, or a further check of each value parsed (as the Set
     * of a Go flag.Value): it returns NULL to accept v->i / v->u, or the
     * reason, printed as "invalid value \"V\" for flag -NAME: <reason>"
     * (a STRING's value is in v->s). */
    const char *(*check)(const struct wsd_goflag_value *v);
    const char *usage;
} wsd_goflag;

/* A flag's value after parsing; all zero when it was not given. */
typedef struct wsd_goflag_value {
    int pos;              /* argv index of its first use, 0 if never; -1: set
                           * from a configuration file (config.c) */
    int line;             /* ... on this line of it (0: not from a file) */
    int b;                /* BOOL */
    int64_t i;            /* INT */
    uint64_t u;           /* UINT */
    char *s;              /* STRING: the last value, NULL if never given */
    char **l;             /* LIST: every value in order, NULL-terminated */
    size_t nl;
} wsd_goflag_value;

enum {
    WSD_GOFLAG_OK = -1,   /* parsed: the arguments start at *first */
    WSD_GOFLAG_HELP = 0,  /* -h, -help or --help (not flags of the table) */
    WSD_GOFLAG_ERROR = 2  /* a bad flag or value; Go's message is printed */
};

/* FlagSet.Parse of argv[1..argc) against defs[0..n), into vals[0..n)
 * (zeroed by the caller; free with wsd_goflag_values_free). Returns
 * WSD_GOFLAG_OK with *first = the index of the first argument that is not
 * a flag (argc if none); WSD_GOFLAG_HELP, having printed nothing; or
 * WSD_GOFLAG_ERROR, having printed Go's one-line message to err ("flag
 * provided but not defined: -x", "invalid value \"v\" for flag -x: parse
 * error", a check's "invalid value \"v\" for flag -x: <reason>", ...): the
 * caller then prints the usage, as Go's Usage func. */
int wsd_goflag_parse(const wsd_goflag *defs, size_t n, wsd_goflag_value *vals, int argc,
                     char **argv, int *first, FILE *err);

/* flag.Value.Set of d's type for one value (a BOOL's too): NULL, or the
 * reason it is refused ("parse error", "value out of range", a check's
 * reason). A STRING replaces the value, a LIST appends it. Prints nothing
 * (config.c uses it for the configuration file). */
const char *wsd_goflag_set(const wsd_goflag *d, wsd_goflag_value *v, const char *value);

/* Frees what vals[0..n) own and zeroes them. A caller may take a LIST's
 * array (or a STRING) first by setting the field to NULL. */
void wsd_goflag_values_free(wsd_goflag_value *vals, size_t n);

/* FlagSet.defaultUsage: "Usage of PROG:", then per flag "  -name type" and
 * "    \tusage (default ...)" (PrintDefaults). */
void wsd_goflag_print_defaults(const wsd_goflag *defs, size_t n, const char *prog, FILE *f);

/* fmt's %q of a string (strconv.Quote): "..." with Go's escapes; valid
 * printable UTF-8 kept, invalid bytes as \xNN. */
void wsd_goflag_quote(FILE *f, const char *s);

/* strconv.ParseInt(s, 0, 64), ParseUint(s, 0, 64) and ParseBool: 0, or
 * WSD_GOFLAG_SYNTAX or WSD_GOFLAG_RANGE (then *out is the nearest
 * representable value for numbers, as Go). */
enum { WSD_GOFLAG_SYNTAX = -1, WSD_GOFLAG_RANGE = -2 };
int wsd_goflag_parse_int(const char *s, int64_t *out);
int wsd_goflag_parse_uint(const char *s, uint64_t *out);
int wsd_goflag_parse_bool(const char *s, int *out);

#endif
