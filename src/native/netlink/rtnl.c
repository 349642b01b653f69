// NETLINK_ROUTE sockets bound inside a chosen network namespace, and one
// request/response exchange on such a socket run on the libuv threadpool.
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

// The kernel caps one dump message at 32 KiB (netlink_dump), so a 64 KiB
// buffer never truncates a reply.
#define RECV_BUF 65536
#define SOCK_BUF (1 << 20)
// A request the kernel never answers must not hold a threadpool thread forever.
#define RECV_TIMEOUT_S 30

// ---- openRtnl(nsFd, groups?) -> Promise<fd> -------------------------------
// groups (RTMGRP_* bits): a socket that only listens to those multicast
// groups' notifications, non-blocking, read with drain().

struct open_data { int ns_fd; int fd; uint32_t groups; };

static int open_in_ns(job *j, void *arg) {
  struct open_data *d = arg;
  // A netlink socket belongs to the namespace of the thread that creates it,
  // for its whole life, whatever thread uses it later.
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (d->groups ? SOCK_NONBLOCK : 0), NETLINK_ROUTE);
  if (fd < 0) { job_fail(j, "socket", errno); return -1; }
  int one = 1, size = SOCK_BUF;
  if (d->groups) {
    // Room for the notifications that pile up between two drains; past it
    // the kernel drops them and the next drain says ENOBUFS (the reader
    // then dumps again). FORCE passes net.core.rmem_max (CAP_NET_ADMIN).
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  } else {
    // EXT_ACK: the kernel explains EINVAL & co. in words; CAP_ACK: errors do not
    // echo the whole request back.
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    // GET_STRICT_CHK (Linux 4.20+, as iproute2 sets it): dump requests are
    // checked strictly and their header filters honoured, so an address dump
    // for one device (ifa_index) walks that device only, not every address of
    // a namespace with thousands of veths. Older kernels refuse the option and
    // dump everything: the JS side filters as well.
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = d->groups };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    job_fail(j, "bind", errno);
    close(fd);
    return -1;
  }
  d->fd = fd;
  return 0;
}

static void open_exec(job *j) {
  struct open_data *d = j->data;
  run_on_ns_thread(j, d->ns_fd, open_in_ns, d);
}

static napi_value open_done(napi_env env, job *j) {
  int fd = ((struct open_data *)j->data)->fd;
  napi_value v;
  napi_status st = NAPI_CALL(napi_create_int32, env, fd, &v);
  if (st != napi_ok) {
    // JS never learns this fd: close it, and the promise rejects.
    close(fd);
    job_fail_napi(j, "napi_create_int32", st);
    return NULL;
  }
  return v;
}

napi_value js_open_rtnl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct open_data *d = calloc(1, sizeof *d);
  if (!d || argc < 1 || !arg_int32(env, argv[0], "nsFd", &d->ns_fd)) { free(d); return NULL; }
  int32_t groups = 0;
  if (argc > 1 && !arg_int32(env, argv[1], "groups", &groups)) { free(d); return NULL; }
  d->groups = (uint32_t)groups;
  d->fd = -1;
  return job_start(env, "cnm.netlink.open", open_exec, open_done, d, free);
}

// ---- request(fd, messages, firstSeq, count) -> Promise<Buffer> -----------
// Sends `messages` (count netlink messages with sequence numbers firstSeq ..
// firstSeq+count-1, already encoded by JS) in one sendmsg, then reads until
// each of them has been answered by an NLMSG_ERROR (ack or error) or an
// NLMSG_DONE (end of a dump). Resolves with every reply message for those
// sequence numbers, concatenated; JS decodes them.

struct req_data {
  int fd;
  uint32_t first_seq, count;
  char *msg;
  size_t msg_len;
  char *out;
  size_t out_len, out_cap;
};

static void req_free(void *p) {
  struct req_data *d = p;
  free(d->msg);
  free(d->out);
  free(d);
}

static int append(struct req_data *d, const void *src, size_t len) {
  if (d->out_len + len > d->out_cap) {
    size_t cap = d->out_cap ? d->out_cap : 4096;
    while (cap < d->out_len + len) cap *= 2;
    char *n = realloc(d->out, cap);
    if (!n) return -1;
    d->out = n;
    d->out_cap = cap;
  }
  memcpy(d->out + d->out_len, src, len);
  d->out_len += len;
  return 0;
}

// Appends one message, padded to 4 bytes so that the JS side can walk the
// concatenation with NLMSG_ALIGN as the kernel's own buffers are walked.
static int append_msg(struct req_data *d, const struct nlmsghdr *h) {
  static const char zeros[NLMSG_ALIGNTO];
  size_t pad = NLMSG_ALIGN(h->nlmsg_len) - h->nlmsg_len;
  if (append(d, h, h->nlmsg_len) != 0) return -1;
  return pad ? append(d, zeros, pad) : 0;
}

static void req_exec(job *j) {
  struct req_data *d = j->data;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  ssize_t n;
  do {
    n = sendto(d->fd, d->msg, d->msg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) { job_fail(j, "sendto", errno); return; }

  char *buf = malloc(RECV_BUF);
  if (!buf) { job_fail(j, "malloc", ENOMEM); return; }
  uint32_t answered = 0;
  while (answered < d->count) {
    // MSG_TRUNC: n is the datagram's real size, so truncation is detected.
    n = recv(d->fd, buf, RECV_BUF, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      job_fail(j, "recv", errno == EAGAIN ? ETIMEDOUT : errno);
      break;
    }
    if (n == 0) { job_fail(j, "recv", ECONNRESET); break; }
    if (n > RECV_BUF) { job_fail(j, "recv", EMSGSIZE); break; }
    int len = (int)n; // signed, as NLMSG_OK/NLMSG_NEXT expect
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      // Replies to an earlier request that timed out carry other numbers.
      if (h->nlmsg_seq - d->first_seq >= d->count) continue;
      if (append_msg(d, h) != 0) { job_fail(j, "realloc", ENOMEM); goto out; }
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) answered++;
    }
  }
out:
  free(buf);
}

static napi_value req_done(napi_env env, job *j) {
  struct req_data *d = j->data;
  napi_value buf;
  void *dst;
  napi_status st = NAPI_CALL(napi_create_buffer_copy, env, d->out_len, d->out_len ? d->out : "", &dst, &buf);
  if (st != napi_ok) {
    job_fail_napi(j, "napi_create_buffer_copy", st);
    return NULL;
  }
  return buf;
}

napi_value js_request(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "request(fd, messages, firstSeq, count)");
  int32_t fd, seq, count;
  if (!arg_int32(env, argv[0], "fd", &fd) || !arg_int32(env, argv[2], "firstSeq", &seq) ||
      !arg_int32(env, argv[3], "count", &count))
    return NULL;
  void *src;
  size_t len;
  bool is_buf = false;
  napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf || napi_get_buffer_info(env, argv[1], &src, &len) != napi_ok || len == 0 || count < 1)
    return throw_type(env, "messages must be a non-empty Buffer and count >= 1");
  struct req_data *d = calloc(1, sizeof *d);
  if (!d || !(d->msg = malloc(len))) { free(d); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  // Copied: the JS buffer may be reused or collected while the job runs.
  memcpy(d->msg, src, len);
  d->msg_len = len;
  d->fd = fd;
  d->first_seq = (uint32_t)seq;
  d->count = (uint32_t)count;
  return job_start(env, "cnm.netlink.request", req_exec, req_done, d, req_free);
}

// ---- drain(fd) -> Buffer ----------------------------------------------------
// Synchronous: reads every notification queued on a socket opened with
// groups (non-blocking, so it never waits) and returns them concatenated as
// request() does. Throws ENOBUFS when the kernel dropped some since the last
// drain: what was queued after the loss is still read by the next drain.

napi_value js_drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  struct req_data d = { 0 };
  char *buf = malloc(RECV_BUF);
  if (!buf) { napi_throw_error(env, "ENOMEM", "drain: out of memory"); return NULL; }
  int err = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, RECV_BUF, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) break;
    if (n > RECV_BUF) { err = EMSGSIZE; break; }
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (append_msg(&d, h) != 0) { err = ENOMEM; break; }
    }
    if (err) break;
  }
  free(buf);
  if (err) {
    free(d.out);
    char msg[64];
    snprintf(msg, sizeof msg, "drain: %s", strerror(err));
    napi_throw_error(env, err == ENOBUFS ? "ENOBUFS" : err == EBADF ? "EBADF" : "EIO", msg);
    return NULL;
  }
  napi_value out;
  void *dst;
  napi_status st = napi_create_buffer_copy(env, d.out_len, d.out_len ? d.out : "", &dst, &out);
  free(d.out);
  if (st != napi_ok) { napi_throw_error(env, "EIO", "drain: napi_create_buffer_copy failed"); return NULL; }
  return out;
}
