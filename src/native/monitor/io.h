// Small I/O helpers the monitor's modes share (monitor.c, exec_tty.c,
// attach.c).
#ifndef CNM_IO_H
#define CNM_IO_H
#include <stddef.h>

// Writes all of p (retrying on EINTR); -1 on error.
int write_all(int fd, const char *p, size_t n);

// A listening unix stream socket at path (an old file there is replaced);
// -1 with errno set on failure, ENAMETOOLONG past sun_path's 108 bytes.
int listen_unix(const char *path, int backlog, int flags);

// The one file descriptor sent over conn with SCM_RIGHTS (how runc hands over
// a pty master: runc docs/terminals.md), or -1.
int receive_fd(int conn);

// Sets the terminal's window size (TIOCSWINSZ on the master); the kernel
// sends SIGWINCH to the terminal's foreground process group.
void set_winsize(int master, unsigned rows, unsigned cols);

#endif
