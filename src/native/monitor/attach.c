// The attach socket of a container: where the daemon (any number of
// connections, also after a daemon restart) reads the container's output
// and writes its input (with a terminal or an open stdin).
//
// Protocol: the client's first line names the mode, at most 127 bytes:
//   "attach [stdin] [replay]\n"
//       From then on the monitor sends the container's output: raw bytes
//       with a terminal, else Docker's stdcopy frames (8-byte header
//       [stream 1|2, 0, 0, 0, size uint32 big-endian] + payload), so the
//       daemon passes them on unchanged. "stdin": the client's further
//       bytes go to the container's stdin; its EOF (a half-close) closes
//       that stdin when the container was created with StdinOnce and has no
//       terminal (moby container/stream/attach.go), else only ends its
//       input. "replay": first the output since the container started (its
//       first 64 KiB), for a client that attached before the start.
//   "resize ROWS COLS\n"
//       Sets the terminal's size; the monitor answers "ok\n" and closes.
// The monitor closes every connection when the container has ended. Output
// waits for a client whose socket buffer is full (so the container waits
// too, as with Docker's attach), but at most SEND_TIMEOUT_S per write: a
// client that stays stuck is dropped rather than stall the container.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "attach.h"
#include "io.h"

#define MAX_CLIENTS 16
#define LINE_MAX_LEN 128
#define REPLAY_MAX 65536
#define INPUT_BUF 65536
#define SNDBUF (1 << 20)
#define SEND_TIMEOUT_S 5

struct client {
  int fd;
  int attached;  // past its first line
  int input;     // its bytes go to the container's stdin
  int eof;       // it half-closed: polled for its hang-up only
  size_t line_len;
  char line[LINE_MAX_LEN];
};

static int lfd = -1, tty, in_fd = -1, stdin_once;
static struct client clients[MAX_CLIENTS];
static char replay[REPLAY_MAX];
static size_t replay_len;
static int replay_full, replayed;
// Input read from one client, not yet taken by the container.
static char input[INPUT_BUF];
static size_t input_len, input_off;

int attach_listen(const char *path, int is_tty, int fd, int once) {
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  tty = is_tty;
  in_fd = fd;
  stdin_once = once;
  if (in_fd >= 0) fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
  lfd = listen_unix(path, MAX_CLIENTS, SOCK_NONBLOCK);
  return lfd < 0 ? -1 : 0;
}

static void drop(struct client *c) {
  close(c->fd);
  c->fd = -1;
}

// Blocks while the client's buffer is full, up to its SO_SNDTIMEO; a
// client still stuck then is dropped.
static void send_to(struct client *c, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      drop(c);
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void close_input(void) {
  if (in_fd >= 0) close(in_fd);
  in_fd = -1;
  input_len = input_off = 0;
}

static void first_line(struct client *c) {
  char *l = c->line;
  unsigned rows, cols;
  if (sscanf(l, "resize %u %u", &rows, &cols) == 2) {
    // With a terminal, in_fd is (a copy of) its master.
    if (tty && in_fd >= 0) set_winsize(in_fd, rows, cols);
    send_to(c, "ok\n", 3);
    if (c->fd >= 0) drop(c);
    return;
  }
  if (strncmp(l, "attach", 6) != 0) {
    send_to(c, "error unknown request\n", 22);
    if (c->fd >= 0) drop(c);
    return;
  }
  c->attached = 1;
  c->input = strstr(l, " stdin") != NULL && in_fd >= 0;
  if (strstr(l, " replay")) {
    replayed = 1;
    if (replay_len) send_to(c, replay, replay_len);
  }
}

static void client_readable(struct client *c) {
  if (!c->attached) {
    ssize_t n = recv(c->fd, c->line + c->line_len, sizeof c->line - 1 - c->line_len, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
      drop(c);
      return;
    }
    c->line_len += (size_t)n;
    c->line[c->line_len] = 0;
    char *nl = strchr(c->line, '\n');
    if (!nl) {
      if (c->line_len == sizeof c->line - 1) drop(c);
      return;
    }
    // Bytes after the line are already input.
    size_t rest = c->line_len - (size_t)(nl + 1 - c->line);
    *nl = 0;
    first_line(c);
    if (c->fd >= 0 && c->input && rest) {
      memcpy(input, nl + 1, rest);
      input_len = rest;
      input_off = 0;
    }
    return;
  }
  if (c->input && input_len > input_off) return;  // the container has not taken the last input yet
  char buf[INPUT_BUF];
  ssize_t n = recv(c->fd, c->input ? input : buf, c->input ? sizeof input : sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EINTR && errno != EAGAIN) drop(c);
    return;
  }
  if (n == 0) {
    if (c->input && stdin_once && !tty) close_input();
    // Output still goes to it until it closes its side too.
    c->input = 0;
    c->eof = 1;
    return;
  }
  if (c->input) {
    input_len = (size_t)n;
    input_off = 0;
  }
}

int attach_pollfds(struct pollfd *p, int max) {
  int n = 0;
  if (lfd < 0 || max < MAX_CLIENTS + 2) return 0;
  p[n++] = (struct pollfd){lfd, POLLIN, 0};
  // Only while input waits: a pipe whose reader is gone reports POLLERR always.
  p[n++] = (struct pollfd){in_fd >= 0 && input_len > input_off ? in_fd : -1, POLLOUT, 0};
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    // A client whose input waits for the container is not read meanwhile;
    // a half-closed one is polled for its hang-up only.
    int want = c->fd >= 0 && !c->eof && !(c->attached && c->input && input_len > input_off);
    short ev = want ? POLLIN : 0;
    p[n++] = (struct pollfd){c->fd, ev, 0};
  }
  return n;
}

void attach_handle(const struct pollfd *p, int n) {
  if (n < MAX_CLIENTS + 2) return;
  if (p[0].revents & POLLIN) {
    int fd;
    // Blocking sockets: writes wait (bounded by SO_SNDTIMEO), reads never do (MSG_DONTWAIT).
    while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
      struct client *c = NULL;
      for (int i = 0; i < MAX_CLIENTS && !c; i++) if (clients[i].fd < 0) c = &clients[i];
      if (!c) {
        close(fd);
        continue;
      }
      int sz = SNDBUF;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
      struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      *c = (struct client){.fd = fd};
    }
  }
  if (in_fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) && input_len > input_off) {
    ssize_t w = write(in_fd, input + input_off, input_len - input_off);
    if (w > 0) input_off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR) close_input();
    if (input_off == input_len) input_off = input_len = 0;
  }
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    short r = p[i + 2].revents;
    if (c->fd < 0 || p[i + 2].fd != c->fd || !r) continue;
    if (r & POLLIN) client_readable(c);
    else if (r & (POLLHUP | POLLERR)) drop(c);
  }
}

void attach_output(int stream, const char *data, size_t n) {
  if (lfd < 0 || n == 0) return;
  char head[8] = {(char)stream, 0, 0, 0, (char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
  if (!replay_full && replay_len + (tty ? 0 : 8) + n <= REPLAY_MAX) {
    if (!tty) {
      memcpy(replay + replay_len, head, 8);
      replay_len += 8;
    }
    memcpy(replay + replay_len, data, n);
    replay_len += n;
  } else {
    replay_full = 1;  // later output is not kept, so the replay has no gap
  }
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0 || !c->attached) continue;
    if (!tty) send_to(c, head, 8);
    if (c->fd >= 0) send_to(c, data, n);
  }
}

int attach_replayed(void) {
  return replayed;
}

void attach_close(void) {
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) drop(&clients[i]);
  if (lfd >= 0) close(lfd);
  lfd = -1;
}
