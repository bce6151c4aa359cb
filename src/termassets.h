/* termassets.h — the web terminal's files (--pty --devconsole), embedded
 * into the binary at build time.
 *
 * The Makefile gzips web/terminal.html (ours) and xterm.js 6.0.0 with its
 * fit addon (@xterm/xterm, @xterm/addon-fit from npm, MIT; web/package.json
 * and its lock file pin them) into $(BUILD)/web/, and termassets.c pulls
 * the compressed bytes in with the assembler's .incbin: no generated C
 * source, nothing read at run time (docs/design.md, "Decisions"). */
#ifndef WSD_TERMASSETS_H
#define WSD_TERMASSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;            /* "terminal.html", "xterm.mjs", ... */
    const char *type;            /* Content-Type */
    const uint8_t *gz;           /* gzip (RFC 1952) of the file */
    size_t gzlen;
} wsd_asset;

/* The page first, then the files it loads; a NULL name ends the table. */
const wsd_asset *wsd_assets_table(void);

#endif
