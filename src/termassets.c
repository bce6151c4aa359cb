/* termassets.c — the web terminal's files, embedded (see termassets.h).
 *
 * Each file is included by the assembler (.incbin) from WSD_WEB_DIR, the
 * directory the Makefile fills with the gzipped files; a symbol marks its
 * start and a 64-bit value its length. */
#include "termassets.h"

#ifndef WSD_WEB_DIR
#error "WSD_WEB_DIR (the directory of the gzipped web files) is set by the Makefile"
#endif

#define EMBED(sym, file)                                                     \
    __asm__(".section .rodata\n"                                             \
            ".balign 16\n"                                                   \
            ".globl " #sym "\n"                                              \
            #sym ":\n"                                                       \
            ".incbin \"" WSD_WEB_DIR "/" file "\"\n"                         \
            #sym "_end:\n"                                                   \
            ".balign 8\n"                                                    \
            ".globl " #sym "_len\n"                                          \
            #sym "_len:\n"                                                   \
            ".quad " #sym "_end - " #sym "\n"                                 \
            ".previous\n");                                                  \
    extern const uint8_t sym[];                                              \
    extern const uint64_t sym##_len

EMBED(wsd_web_page, "terminal.html.gz");
EMBED(wsd_web_xterm_js, "xterm.mjs.gz");
EMBED(wsd_web_xterm_css, "xterm.css.gz");
EMBED(wsd_web_fit_js, "addon-fit.mjs.gz");

/* The lengths are link-time constants, not C constants: the table is filled
 * in on first use. */
static wsd_asset table[5];

const wsd_asset *wsd_assets_table(void)
{
    if (!table[0].name) {
        table[0] = (wsd_asset){"terminal.html", "text/html; charset=utf-8", wsd_web_page,
                               (size_t)wsd_web_page_len};
        table[1] = (wsd_asset){"xterm.mjs", "text/javascript; charset=utf-8", wsd_web_xterm_js,
                               (size_t)wsd_web_xterm_js_len};
        table[2] = (wsd_asset){"xterm.css", "text/css; charset=utf-8", wsd_web_xterm_css,
                               (size_t)wsd_web_xterm_css_len};
        table[3] = (wsd_asset){"addon-fit.mjs", "text/javascript; charset=utf-8", wsd_web_fit_js,
                               (size_t)wsd_web_fit_js_len};
    }
    return table;
}
