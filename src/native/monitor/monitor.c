// cnm-monitor: one small process per running sandbox, the parent of its
// container for its whole life (cnm's equivalent of containerd's shim or
// conmon). The daemon spawns it in a session of its own, so it survives a
// daemon restart or a kill -9 of the daemon. It:
//   - creates and starts the container through the OCI runtime (runc, crun)
//     with stdout and stderr on pipes it holds ("pass-through" stdio, runc
//     docs/terminals.md);
//   - is a child subreaper, so the container's init is re-parented to it and
//     it alone reaps it and learns the exit status;
//   - writes the output as Docker's json-file log, rotated at --max-size
//     into at most --max-file files;
//   - writes the exit status to --exit (atomically: tmp + rename), then has
//     the runtime delete the container (state and cgroup);
//   - with --tty the container gets a terminal: the runtime sends its pty
//     master over a console socket (runc docs/terminals.md) and everything
//     the container writes is one stream, logged as stdout (as Docker does);
//     with --stdin it gets a pipe as stdin, whose write end is held here;
//   - serves attach.sock in the run directory (output, input, resize for
//     the daemon, also a restarted one): attach.c; with --linger (an
//     attacher waits for the start) it reads no output until that attacher
//     is there, at most LINGER_MS.
// It tells the daemon how the start went on fd 3: "ok <init pid>\n" or
// "error <message>\n", then closes it.
//
// The same static binary is also the sandbox's init when called as
// `cnm-monitor init CMD...` (bind-mounted into the sandbox, like Docker's
// --init): PID 1 of a PID namespace gets no signal it has no handler for, so
// a plain `sleep` would ignore `stop`. It runs CMD as its child, passes on
// the signals it is sent, reaps orphans, and exits as CMD exited.
//
// `cnm-monitor exec-tty` runs one `docker exec -t` process for the daemon,
// which cannot receive the pty master itself (Node has no SCM_RIGHTS): see
// exec_tty.c.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "attach.h"
#include "exec_tty.h"
#include "io.h"

// Docker's json-file driver splits lines longer than this into several
// records, only the last of which ends with a newline (moby daemon/logger
// copier.go, bufSize / maxLogSize 16K).
#define MAX_RECORD 16384
#define READ_CHUNK 65536
#define STATUS_FD 3

struct opts {
  const char *runtime, *root, *id, *bundle, *log, *exitfile, *rundir;
  long long max_size;
  int max_file;
  int tty, open_stdin, stdin_once, linger;
};

// With --linger (a client waits to attach from the start), how long the
// container's output is held for it.
#define LINGER_MS 5000

static long ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

struct stream {
  const char *name;
  int no;  // stdcopy's stream number: 1 stdout, 2 stderr
  int fd;
  char buf[MAX_RECORD];
  size_t len;
};

static struct opts o;
static int log_fd = -1;
static long long log_size;
static int status_open = 1;

void fd_line(int fd, const char *fmt, va_list ap) {
  char msg[4096];
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  for (int i = 0; i < n - 1; i++) if (msg[i] == '\n') msg[i] = ' ';
  ssize_t w = write(fd, msg, (size_t)n);
  (void)w;
}

static void status(const char *fmt, ...) {
  if (!status_open) return;
  va_list ap;
  va_start(ap, fmt);
  fd_line(STATUS_FD, fmt, ap);
  va_end(ap);
}

static void status_close(void) {
  if (status_open) close(STATUS_FD);
  status_open = 0;
}

static int open_log(void) {
  log_fd = open(o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) return -1;
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
  return 0;
}

// log -> log.1 -> log.2 ...; the oldest beyond max_file - 1 is dropped.
static void rotate(void) {
  close(log_fd);
  char from[4096], to[4096];
  if (o.max_file <= 1) {
    unlink(o.log);
  } else {
    for (int i = o.max_file - 1; i >= 1; i--) {
      if (i == 1) snprintf(from, sizeof from, "%s", o.log);
      else snprintf(from, sizeof from, "%s.%d", o.log, i - 1);
      snprintf(to, sizeof to, "%s.%d", o.log, i);
      rename(from, to);
    }
  }
  if (open_log() < 0) log_fd = -1;
}

static size_t json_escape(char *out, const char *in, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    switch (c) {
      case '"': out[j++] = '\\'; out[j++] = '"'; break;
      case '\\': out[j++] = '\\'; out[j++] = '\\'; break;
      case '\n': out[j++] = '\\'; out[j++] = 'n'; break;
      case '\r': out[j++] = '\\'; out[j++] = 'r'; break;
      case '\t': out[j++] = '\\'; out[j++] = 't'; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out[j++] = '\\'; out[j++] = 'u'; out[j++] = '0'; out[j++] = '0';
          out[j++] = hex[c >> 4]; out[j++] = hex[c & 15];
        } else {
          out[j++] = (char)c;
        }
    }
  }
  return j;
}

static void emit(const char *stream, const char *data, size_t n) {
  if (log_fd < 0) return;
  static char rec[MAX_RECORD * 6 + 256];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t j = (size_t)snprintf(rec, sizeof rec, "{\"log\":\"");
  j += json_escape(rec + j, data, n);
  j += (size_t)snprintf(rec + j, sizeof rec - j, "\",\"stream\":\"%s\",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\"}\n",
    stream, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
  if (o.max_size > 0 && log_size > 0 && log_size + (long long)j > o.max_size) rotate();
  if (log_fd < 0) return;
  size_t off = 0;
  while (off < j) {
    ssize_t w = write(log_fd, rec + off, j - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    off += (size_t)w;
  }
  log_size += (long long)j;
}

// Emits every complete line; a line that fills the buffer goes out unended.
static void drain_lines(struct stream *s, int final) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] == '\n') {
      emit(s->name, s->buf + start, i - start + 1);
      start = i + 1;
    }
  }
  if (start < s->len && (final || s->len - start == sizeof s->buf)) {
    emit(s->name, s->buf + start, s->len - start);
    start = s->len;
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
}

// Returns 0 at EOF.
static int pump(struct stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  if (n == 0) {
    drain_lines(s, 1);
    return 0;
  }
  attach_output(s->no, s->buf + s->len, (size_t)n);
  s->len += (size_t)n;
  drain_lines(s, 0);
  return 1;
}

// Runs the runtime with the given arguments; stdio as given (-1: /dev/null).
static int run_runtime(char *const argv[], int in, int out, int err) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // An ignored signal stays ignored across exec: the container gets the default.
    signal(SIGPIPE, SIG_DFL);
    int nul = open("/dev/null", O_RDWR);
    dup2(in >= 0 ? in : nul, 0);
    dup2(out >= 0 ? out : nul, 1);
    dup2(err >= 0 ? err : nul, 2);
    execv(o.runtime, argv);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// The runtime's last error, from its JSON log ("msg" of the last "error").
static void runtime_error(char *out, size_t cap, const char *fallback) {
  char path[4096];
  snprintf(path, sizeof path, "%s/runtime.log", o.rundir);
  snprintf(out, cap, "%s", fallback);
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "\"level\":\"error\"") && !strstr(line, "\"level\":\"fatal\"")) continue;
    char *m = strstr(line, "\"msg\":\"");
    if (!m) continue;
    m += 7;
    size_t k = 0;
    for (; *m && *m != '"' && k + 1 < cap; m++) {
      if (*m == '\\' && m[1]) m++;
      out[k++] = *m;
    }
    out[k] = 0;
  }
  fclose(f);
}

static void write_exit(int code) {
  char tmp[4096], fin[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", o.exitfile);
  snprintf(fin, sizeof fin, "%s", o.exitfile);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fprintf(f, "%d\n", code);
  fflush(f);
  fsync(fileno(f));
  fclose(f);
  rename(tmp, fin);
}

static long long parse_size(const char *s) {
  char *end;
  long long v = strtoll(s, &end, 10);
  return *end ? -1 : v;
}

static int init_main(char **cmd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  pid_t child = fork();
  if (child < 0) {
    perror("cnm-init: fork");
    return 126;
  }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(cmd[0], cmd);
    fprintf(stderr, "cnm-init: exec %s: %s\n", cmd[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    if (sigwaitinfo(&all, &si) < 0) continue;
    if (si.si_signo != SIGCHLD) {
      kill(child, si.si_signo);
      continue;
    }
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "init") == 0) return init_main(argv + 2);
  if (argc >= 2 && strcmp(argv[1], "exec-tty") == 0) return exec_tty_main(argc - 1, argv + 1);
  static const struct option longopts[] = {
    {"runtime", required_argument, 0, 'r'}, {"root", required_argument, 0, 'R'},
    {"id", required_argument, 0, 'i'}, {"bundle", required_argument, 0, 'b'},
    {"log", required_argument, 0, 'l'}, {"max-size", required_argument, 0, 's'},
    {"max-file", required_argument, 0, 'f'}, {"exit", required_argument, 0, 'e'},
    {"run-dir", required_argument, 0, 'd'}, {"tty", no_argument, 0, 't'},
    {"stdin", no_argument, 0, 'I'}, {"stdin-once", no_argument, 0, 'O'}, {"linger", no_argument, 0, 'L'},
    {0, 0, 0, 0},
  };
  o.max_file = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'r': o.runtime = optarg; break;
      case 'R': o.root = optarg; break;
      case 'i': o.id = optarg; break;
      case 'b': o.bundle = optarg; break;
      case 'l': o.log = optarg; break;
      case 's': o.max_size = parse_size(optarg); break;
      case 'f': o.max_file = atoi(optarg); break;
      case 'e': o.exitfile = optarg; break;
      case 'd': o.rundir = optarg; break;
      case 't': o.tty = 1; break;
      case 'I': o.open_stdin = 1; break;
      case 'O': o.stdin_once = 1; break;
      case 'L': o.linger = 1; break;
      default: return 2;
    }
  }
  if (!o.runtime || !o.root || !o.id || !o.bundle || !o.log || !o.exitfile || !o.rundir || o.max_size < 0 || o.max_file < 1) {
    fprintf(stderr, "usage: cnm-monitor --runtime PATH --root DIR --id ID --bundle DIR --run-dir DIR --log FILE --exit FILE [--max-size BYTES] [--max-file N] [--tty] [--stdin [--stdin-once]] [--linger]\n");
    status("error bad monitor arguments\n");
    return 2;
  }
  if (fcntl(STATUS_FD, F_GETFD) < 0) status_open = 0;
  else fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
  // A daemon that went away must not kill this monitor mid-write.
  signal(SIGPIPE, SIG_IGN);
  // The container's init is re-parented here, not to PID 1.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  if (open_log() < 0) {
    status("error cannot open log %s: %s\n", o.log, strerror(errno));
    return 1;
  }
  int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1};
  if ((!o.tty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) || (o.open_stdin && !o.tty && pipe2(inp, O_CLOEXEC) < 0)) {
    status("error pipe: %s\n", strerror(errno));
    return 1;
  }
  // Sockets are bound by names relative to the run directory, and reached
  // from outside as /proc/<monitor pid>/cwd/NAME: a run directory's full
  // path can be longer than sun_path's 108 bytes.
  if (chdir(o.rundir) < 0) {
    status("error run directory %s: %s\n", o.rundir, strerror(errno));
    return 1;
  }
  char console[64];
  snprintf(console, sizeof console, "/proc/%d/cwd/console.sock", (int)getpid());
  int csock = -1;
  if (o.tty && (csock = listen_unix("console.sock", 1, SOCK_NONBLOCK)) < 0) {
    status("error console socket: %s\n", strerror(errno));
    return 1;
  }
  char logarg[4096], pidfile[4096], msg[2048];
  snprintf(logarg, sizeof logarg, "%s/runtime.log", o.rundir);
  snprintf(pidfile, sizeof pidfile, "%s/init.pid", o.rundir);
  unlink(pidfile);
  // `run --detach` is create and start in one runtime process (one Go
  // start-up less than create, then start): the container's output waits
  // in its pipe until it is read below.
  char *create[] = {(char *)o.runtime, "--root", (char *)o.root, "--log", logarg, "--log-format", "json",
    "run", "--detach", "--bundle", (char *)o.bundle, "--pid-file", pidfile, (char *)o.id, NULL};
  char *create_tty[] = {(char *)o.runtime, "--root", (char *)o.root, "--log", logarg, "--log-format", "json",
    "run", "--detach", "--bundle", (char *)o.bundle, "--pid-file", pidfile, "--console-socket", console, (char *)o.id, NULL};
  // stdio of the container: the pipes' other ends (dup2 in the child clears
  // CLOEXEC); with a terminal, the runtime's stdio are not the container's.
  int rc = run_runtime(o.tty ? create_tty : create, inp[0], outp[1], errp[1]);
  if (outp[1] >= 0) close(outp[1]);
  if (errp[1] >= 0) close(errp[1]);
  if (inp[0] >= 0) close(inp[0]);
  // The runtime connected and sent the master before it returned: the
  // connection waits in the socket's backlog.
  int master = -1;
  if (rc == 0 && o.tty) {
    int conn = accept4(csock, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0) {
      master = receive_fd(conn);
      close(conn);
    }
    if (master < 0) rc = -1;
  }
  if (csock >= 0) {
    close(csock);
    unlink("console.sock");
  }
  if (rc != 0) {
    runtime_error(msg, sizeof msg, rc < 0 ? "the runtime sent no terminal on the console socket" : "the runtime failed to create the container");
    status("error %s\n", msg);
    char *del[] = {(char *)o.runtime, "--root", (char *)o.root, "delete", "--force", (char *)o.id, NULL};
    run_runtime(del, -1, -1, -1);
    return 1;
  }
  // Listening before the start: the daemon connects as soon as it is told.
  int in_fd = o.tty ? dup(master) : o.open_stdin ? inp[1] : -1;
  if (attach_listen("attach.sock", o.tty, in_fd, o.stdin_once) < 0) {
    status("error attach socket: %s\n", strerror(errno));
    char *del[] = {(char *)o.runtime, "--root", (char *)o.root, "delete", "--force", (char *)o.id, NULL};
    run_runtime(del, -1, -1, -1);
    return 1;
  }
  FILE *pf = fopen(pidfile, "r");
  int init = 0;
  if (!pf || fscanf(pf, "%d", &init) != 1 || init <= 0) {
    status("error the runtime wrote no init pid\n");
    if (pf) fclose(pf);
    return 1;
  }
  fclose(pf);
  status("ok %d\n", init);
  status_close();

  static struct stream out = {.name = "stdout", .no = 1}, err = {.name = "stderr", .no = 2};
  out.fd = o.tty ? master : outp[0];
  err.fd = o.tty ? -1 : errp[0];
  if (o.tty) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  int code = -1;
  struct timespec exited_at = {0, 0}, started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  int holding = o.linger;
  for (;;) {
    // With --linger the output is not read until the attacher that waits
    // for the start has connected (at most LINGER_MS): the container
    // blocks on a full pipe meanwhile, so none of it misses the attacher.
    if (holding && (attach_replayed() || ms_since(&started) >= LINGER_MS)) {
      holding = 0;
      if (code >= 0) clock_gettime(CLOCK_MONOTONIC, &exited_at);
    }
    struct pollfd p[3 + 32] = {{sfd, POLLIN, 0}, {holding ? -1 : out.fd, POLLIN, 0}, {holding ? -1 : err.fd, POLLIN, 0}};
    int na = attach_pollfds(p + 3, 32);
    if (code >= 0 && out.fd < 0 && err.fd < 0) break;
    // Once init is gone its pid namespace is gone, so the pipes close; a
    // process that escaped with them (host pid mode) is waited for 2 s.
    int timeout = -1;
    if (holding) {
      timeout = (int)(LINGER_MS - ms_since(&started));
    } else if (code >= 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (now.tv_sec - exited_at.tv_sec) * 1000 + (now.tv_nsec - exited_at.tv_nsec) / 1000000;
      if (ms >= 2000) break;
      timeout = (int)(2000 - ms);
    }
    int n = poll(p, (nfds_t)(3 + na), timeout);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          // Asked to stop: pass it to the container, keep supervising.
          kill(init, (int)si.ssi_signo);
          continue;
        }
        if (si.ssi_signo != SIGCHLD) continue;
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
          if (w == init) {
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            clock_gettime(CLOCK_MONOTONIC, &exited_at);
          }
        }
        break;
      }
    }
    if (out.fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(&out)) { close(out.fd); out.fd = -1; }
    if (err.fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(&err)) { close(err.fd); err.fd = -1; }
    attach_handle(p + 3, na);
  }
  if (out.fd >= 0) drain_lines(&out, 1);
  if (err.fd >= 0) drain_lines(&err, 1);
  attach_close();
  write_exit(code < 0 ? 137 : code);
  char *del[] = {(char *)o.runtime, "--root", (char *)o.root, "delete", "--force", (char *)o.id, NULL};
  run_runtime(del, -1, -1, -1);
  return 0;
}
