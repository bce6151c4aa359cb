/* terminal.h — terminal mode (--pty): what a WebSocket session does
 * differently when its program runs on a pseudo-terminal (pty.h).
 *
 * The protocol, both ways (docs/terminal.md):
 *   server → client  binary messages: the terminal's output, raw bytes as
 *                    the program wrote them (through the line discipline:
 *                    \n → \r\n, echo), cut wherever a read ended.
 *   client → server  binary messages: typed into the terminal, raw (keys,
 *                    pastes; ^C is the byte 0x03, which the line
 *                    discipline turns into SIGINT for the foreground
 *                    process group).
 *                    text messages: control messages (termctl.h), one
 *                    JSON object each: {"type":"resize","rows":R,"cols":C}
 *                    sets the window size (TIOCSWINSZ; the foreground
 *                    process group gets SIGWINCH). An invalid one closes
 *                    the connection with 1008 (1009: over 1 KiB) and the
 *                    reason.
 *   the end          the program's exit: its output drained, then close
 *                    1000 "exited with status 0", or 1011 with the status
 *                    or the signal, as in the other modes. The client
 *                    leaving: the program's process group gets SIGHUP at
 *                    once (a terminal's hangup), then SIGTERM and SIGKILL
 *                    (wsd_term_kill_plan).
 * The program: a session leader with the terminal as its controlling
 * terminal and stdin, stdout and stderr; TERM=xterm-256color; the window
 * WSD_PTY_ROWS x WSD_PTY_COLS until the first resize.
 *
 * The session calls in at three places (session.c): spawn (environment,
 * kill plan), each chunk of a client message (wsd_term_input), free. */
#ifndef WSD_TERMINAL_H
#define WSD_TERMINAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "program.h"
#include "termctl.h"

#define WSD_TERM_TERM "TERM=xterm-256color"

typedef struct wsd_term {
    wsd_termctl ctl;             /* the control message being received */
} wsd_term;

wsd_term *wsd_term_new(void);
void wsd_term_free(wsd_term *t);

/* The program's environment with TERM=xterm-256color (replacing a TERM
 * from --passenv): a new NULL-terminated array of env's strings plus a
 * static one; free() the array only, after env. */
char **wsd_term_env(char *const *env);

/* On disconnect: SIGHUP at once, SIGTERM after 250 ms, SIGKILL 500 ms
 * later (the last two + closems), given up a second after that; a program
 * whose terminal is hung up (all its descriptors closed) is ended at once. */
void wsd_term_kill_plan(wsd_kill_plan *k, unsigned closems);

/* One chunk of a client message (opcode WSD_WS_TEXT or WSD_WS_BINARY; fin
 * on the message's last chunk). Binary: written to the terminal. Text:
 * parsed, and at fin a resize is applied to p's terminal. Returns 0, or
 * the close code to end the session with, *why its reason. assoc: for
 * the debug log. p may be NULL (the program is done): input is dropped. */
int wsd_term_input(wsd_term *t, wsd_program *p, int opcode, const uint8_t *data, size_t len,
                   int fin, const char *assoc, const char **why);

/* The start-up warning for one listening address (as given to --address;
 * "" = every interface): with --pty, an address beyond loopback without
 * client certificates (--sslca) is a shell for whoever can connect. */
void wsd_term_startup_warning(const wsd_config *cfg, const char *address);

/* 1 when an --address value is a loopback address (127.0.0.0/8, ::1,
 * "localhost"). */
int wsd_term_is_loopback(const char *address);

#endif
