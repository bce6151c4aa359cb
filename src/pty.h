/* pty.h — pseudo-terminals for programs: --linebuffered (stdout on a raw
 * terminal) and --pty (a whole terminal). System calls only, no libuv.
 *
 * Why a terminal at all: C stdio, Python, awk, grep and sed block-buffer
 * stdout when it is a pipe (4–64 KiB) and line-buffer it when isatty(1),
 * so a program that prints a line a second is seen a line a second only
 * on a terminal.
 *
 * WSD_PTY_STDOUT (--linebuffered): stdout alone is the slave of a pty in
 * raw mode (no output processing: no \n → \r\n; no echo, no canonical
 * input, no signals from characters), stdin and stderr stay pipes. Bytes
 * pass through unchanged, so text, binary and lossless modes see exactly
 * what a pipe would carry. It is not the program's controlling terminal
 * (the program is a session leader without one: setsid), so it gets no
 * SIGHUP, SIGTTOU or SIGWINCH from it. Window size: left unknown (0×0),
 * so width-aware programs use their own default (see docs/design.md).
 *
 * WSD_PTY_TERMINAL (--pty): stdin, stdout and stderr are one pty slave with
 * a fresh terminal's line discipline (canonical input, echo, ^C → SIGINT,
 * output \n → \r\n, IUTF8), made the program's controlling terminal
 * (TIOCSCTTY after setsid, in process.c), WSD_PTY_ROWS × WSD_PTY_COLS until
 * the client says otherwise (wsd_pty_resize: the kernel sends SIGWINCH to
 * the foreground process group).
 *
 * The master side is read like a pipe, with one difference: once every
 * slave descriptor is closed (the program and whatever it left behind have
 * exited) a read returns what is still buffered, then fails with EIO —
 * that EIO is the end of the output, not an error. */
#ifndef WSD_PTY_H
#define WSD_PTY_H

enum { WSD_PTY_NONE = 0, WSD_PTY_STDOUT = 1, WSD_PTY_TERMINAL = 2 };

#define WSD_PTY_ROWS 24          /* --pty: the size before the first resize */
#define WSD_PTY_COLS 80

/* The descriptors of a program whose stdio uses a pty, laid out as
 * wsd_spawn_pipes lays out pipes (process.h): for i = 0, 1, 2, the
 * program's fd i is fds[i][1] for stdout/stderr and fds[0][0] for stdin;
 * wsd keeps fds[0][1] (write: the program's input), fds[1][0] (read: its
 * output) and fds[2][0] (read: stderr, or -1 for WSD_PTY_TERMINAL, where
 * stderr is the terminal too). Every program-side descriptor is a
 * separate descriptor (closing all three once is right), all close-on-exec.
 *   WSD_PTY_STDOUT:   stdin and stderr pipes; stdout a raw pty slave, wsd
 *                     reading the master.
 *   WSD_PTY_TERMINAL: the program's 0-2 are the slave; wsd writes to a
 *                     duplicate of the master and reads the master.
 * Returns 0, or a negative errno with nothing left open. */
int wsd_pty_fds(int mode, int fds[3][2]);

/* Sets the window size of the terminal whose master is fd (rows and cols
 * 1..65535); the kernel signals SIGWINCH to its foreground process group.
 * 0 or a negative errno. */
int wsd_pty_resize(int master, unsigned rows, unsigned cols);

#endif
