// cnm-monitor exec-tty --console-socket PATH --pid-file PATH -- RUNTIME ARGS...
//
// Runs one exec'd process with a terminal on behalf of the daemon (Node
// cannot receive a file descriptor over SCM_RIGHTS). RUNTIME ARGS is a
// detached `runc exec -d -t --console-socket PATH --pid-file PATH ...`:
//   - it listens on the console socket, where the runtime sends the pty
//     master (runc docs/terminals.md: one sendmsg, SCM_RIGHTS, one fd);
//   - it is a child subreaper: the exec'd process is the runtime's child
//     (runc's nsexec clones with CLONE_PARENT), so when the detached runtime
//     exits the process is re-parented here and its exit status can be read;
//   - it relays bytes between the master and its own stdin / stdout (pipes
//     to the daemon) and applies "ROWS COLS\n" lines read from fd 3 as
//     window sizes (TIOCSWINSZ);
//   - it reports on fd 4: "pid N\n" once the process runs, then
//     "exit N\n" (128 + signal when killed), or "error MESSAGE\n" when the
//     runtime failed (its own words are on stderr).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec_tty.h"
#include "io.h"

#define RESIZE_FD 3
#define REPORT_FD 4
#define BUF 65536
// Children reaped before the exec'd process's pid is known (it may end
// before the runtime does, as the runtime's zombie child).
#define MAX_REAPED 16

static void report(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fd_line(REPORT_FD, fmt, ap);
  va_end(ap);
}

static int status_code(int st) {
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct { pid_t pid; int status; } reaped[MAX_REAPED];
static int nreaped;

static void reap_all(void) {
  int st;
  pid_t w;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
    if (nreaped < MAX_REAPED) {
      reaped[nreaped].pid = w;
      reaped[nreaped].status = st;
      nreaped++;
    }
  }
}

// The recorded status of pid, or -1 if it has not been reaped.
static int reaped_status(pid_t pid) {
  for (int i = 0; i < nreaped; i++) if (reaped[i].pid == pid) return reaped[i].status;
  return -1;
}

static void drain_signals(int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == sizeof si) {}
}

// "ROWS COLS\n" lines; a partial line waits for the rest.
static void apply_resizes(int master, char *buf, size_t *len) {
  size_t start = 0;
  for (size_t i = 0; i < *len; i++) {
    if (buf[i] != '\n') continue;
    buf[i] = 0;
    unsigned rows, cols;
    if (sscanf(buf + start, "%u %u", &rows, &cols) == 2) {
      set_winsize(master, rows, cols);
    }
    start = i + 1;
  }
  memmove(buf, buf + start, *len - start);
  *len -= start;
  if (*len == 256) *len = 0;
}

int exec_tty_main(int argc, char **argv) {
  const char *sock_path = NULL, *pid_path = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "--console-socket") == 0) sock_path = argv[++i];
    else if (strcmp(argv[i], "--pid-file") == 0) pid_path = argv[++i];
    else break;
  }
  char **cmd = argv + i;
  if (!sock_path || !pid_path || i >= argc) {
    fprintf(stderr, "usage: cnm-monitor exec-tty --console-socket PATH --pid-file PATH -- RUNTIME ARGS...\n");
    report("error bad exec-tty arguments\n");
    return 2;
  }
  fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
  fcntl(RESIZE_FD, F_SETFD, FD_CLOEXEC);
  // A daemon that went away must not kill this monitor mid-relay.
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int lsock = listen_unix(sock_path, 1, 0);
  if (lsock < 0) {
    report("error console socket %s: %s\n", sock_path, strerror(errno));
    return 1;
  }
  unlink(pid_path);
  pid_t runtime = fork();
  if (runtime < 0) {
    report("error fork: %s\n", strerror(errno));
    return 1;
  }
  if (runtime == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // An ignored signal stays ignored across exec: the container gets the default.
    signal(SIGPIPE, SIG_DFL);
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    execv(cmd[0], cmd);
    fprintf(stderr, "exec %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }

  // The master arrives on the console socket, unless the runtime fails.
  int master = -1;
  while (master < 0) {
    struct pollfd p[2] = {{lsock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
      if (conn >= 0) {
        master = receive_fd(conn);
        close(conn);
      }
    }
    if (p[1].revents & POLLIN) {
      drain_signals(sfd);
      reap_all();
      int st = reaped_status(runtime);
      if (st >= 0 && master < 0) {
        report("error the runtime exited %d before it sent the terminal\n", status_code(st));
        unlink(sock_path);
        return 1;
      }
    }
  }
  close(lsock);
  unlink(sock_path);
  if (master < 0) {
    report("error no terminal received on the console socket\n");
    return 1;
  }
  // A size the daemon already sent (docker's ConsoleSize) is applied at
  // once: the process may ask for it as soon as it runs. (runc sends the
  // master just before it execs the process, so a process that asks at
  // its very first instruction may still see 0x0; containerd avoids that
  // with a process.json carrying consoleSize. Clients resize again after
  // start, as the docker CLI does.)
  char rbuf[256];
  size_t rlen = 0;
  int rflags = fcntl(RESIZE_FD, F_GETFL);
  if (rflags >= 0) {
    fcntl(RESIZE_FD, F_SETFL, rflags | O_NONBLOCK);
    ssize_t n = read(RESIZE_FD, rbuf, sizeof rbuf);
    if (n > 0) {
      rlen = (size_t)n;
      apply_resizes(master, rbuf, &rlen);
    }
  }
  // The detached runtime ends once the process runs (and wrote its pid).
  while (reaped_status(runtime) < 0) {
    struct pollfd p = {sfd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    drain_signals(sfd);
    reap_all();
  }
  int rst = reaped_status(runtime);
  if (rst < 0 || status_code(rst) != 0) {
    report("error the runtime failed (exit %d)\n", rst < 0 ? -1 : status_code(rst));
    return 1;
  }
  FILE *pf = fopen(pid_path, "r");
  int pid = 0;
  if (!pf || fscanf(pf, "%d", &pid) != 1 || pid <= 0) {
    if (pf) fclose(pf);
    report("error the runtime wrote no pid\n");
    return 1;
  }
  fclose(pf);
  report("pid %d\n", pid);

  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  static char in[BUF], out[BUF];
  size_t in_len = 0, in_off = 0;
  int stdin_open = 1, resize_open = 1, master_open = 1, stdout_open = 1;
  int code = -1;
  int st = reaped_status(pid);
  if (st >= 0) code = status_code(st);
  while (code < 0) {
    struct pollfd p[4];
    int np = 0, ip = -1, im = -1, ir = -1;
    p[np++] = (struct pollfd){sfd, POLLIN, 0};
    if (master_open) { im = np; p[np++] = (struct pollfd){master, (short)(POLLIN | (in_len > in_off ? POLLOUT : 0)), 0}; }
    if (stdin_open && in_len == in_off && master_open) { ip = np; p[np++] = (struct pollfd){0, POLLIN, 0}; }
    if (resize_open) { ir = np; p[np++] = (struct pollfd){RESIZE_FD, POLLIN, 0}; }
    if (poll(p, (nfds_t)np, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      drain_signals(sfd);
      reap_all();
      st = reaped_status(pid);
      if (st >= 0) code = status_code(st);
    }
    if (im >= 0 && (p[im].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(master, out, sizeof out);
      if (n > 0) {
        if (stdout_open && write_all(1, out, (size_t)n) < 0) stdout_open = 0;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EIO: every holder of the terminal's other end has closed it.
        master_open = 0;
      }
    }
    if (im >= 0 && master_open && (p[im].revents & POLLOUT) && in_len > in_off) {
      ssize_t n = write(master, in + in_off, in_len - in_off);
      if (n > 0) in_off += (size_t)n;
      if (in_off == in_len) in_off = in_len = 0;
    }
    if (ip >= 0 && (p[ip].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, in, sizeof in);
      if (n > 0) { in_len = (size_t)n; in_off = 0; }
      else if (n == 0 || errno != EINTR) stdin_open = 0;
    }
    if (ir >= 0 && (p[ir].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(RESIZE_FD, rbuf + rlen, sizeof rbuf - rlen);
      if (n > 0) {
        rlen += (size_t)n;
        apply_resizes(master, rbuf, &rlen);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        resize_open = 0;
      }
    }
  }
  // What the process wrote before it ended is still in the terminal.
  while (master_open) {
    ssize_t n = read(master, out, sizeof out);
    if (n <= 0) break;
    if (stdout_open && write_all(1, out, (size_t)n) < 0) break;
  }
  close(master);
  report("exit %d\n", code < 0 ? 137 : code);
  return 0;
}
