// `cnm-monitor exec-tty`: one exec'd process with a terminal (exec_tty.c),
// and what it shares with the monitor (monitor.c).
#ifndef CNM_EXEC_TTY_H
#define CNM_EXEC_TTY_H
#include <stdarg.h>

int exec_tty_main(int argc, char **argv);

// Writes one formatted message to fd, newlines inside it turned into
// spaces so the reader sees exactly one line (the daemon reads these).
void fd_line(int fd, const char *fmt, va_list ap);

#endif
