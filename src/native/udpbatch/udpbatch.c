// Batched UDP for the embedded DNS: recvmmsg on a reader thread, sendmmsg
// from JavaScript.
//
// Why: node:dgram costs one libuv callback, one Buffer and one JS call per
// datagram on the way in, and one send request per datagram on the way out.
// A bare dgram echo tops out at ~89k datagrams/s on the 2-core test machine,
// below what the resolver's own logic could do. Here one thread call carries
// up to BATCH datagrams into JS, and one sendmmsg sends all their answers.
//
// API (all synchronous, main thread only):
//   open(ip: string, port: number, rcvbuf: number): number
//       socket + SO_RCVBUF + bind, O_NONBLOCK; returns the fd.
//       Throws an Error with .code = errno name (e.g. EADDRNOTAVAIL).
//   start(fd: number, onBatch: (packed: Buffer) => void): handle
//       starts the reader thread; onBatch gets one packed buffer per batch.
//   stop(handle): void       stops and joins the thread (idempotent).
//   close(fd: number): void
//   sendBatch(fd: number, packed: Buffer): number   datagrams sent; the rest
//       were dropped (EAGAIN after brief retries, or a per-datagram error).
//
// Packed format, both directions, one record per datagram, no padding:
//   u8 family (4|6), u8 0, u16 port (big endian), 16 bytes address (IPv4 in
//   the first 4), u16 payload length (big endian), payload.
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

// One reader per listening address (a network's gateway), so its buffers
// are kept small: a hundred networks must not cost tens of megabytes.
// 32 datagrams per batch keep most of the batching gain (batches average
// 25-31 under full load).
#define BATCH 32
// Larger than any DNS query a client sends over UDP (queries are a few
// dozen bytes; 1232 is the DNS Flag Day EDNS size). Longer datagrams are
// truncated by the kernel (MSG_TRUNC) and dropped here.
#define SLOT 1232
// The reader's stack: it calls recvmmsg and the tsfn, nothing deep.
#define READER_STACK (128 * 1024)
#define HDR 22
// Back-pressure: the reader hands over one batch and waits until JS has
// answered it (reader_main), so the tsfn queue never holds more than one;
// the bound is a second guard. Bursts wait in the kernel's socket buffer
// (and are dropped past it), as for any busy UDP server.
#define MAX_QUEUE 2
// sendmmsg on a full socket buffer: wait this long for room, this many times,
// then drop the rest of the batch. Keeps the event loop from stalling.
#define SEND_RETRY_MS 1
#define SEND_RETRIES 3

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

typedef struct {
  int fd;
  int wake;                 // eventfd: written by stop() so that poll() returns
  atomic_int stopping;
  // One batch in flight: set by the reader when it hands a batch over,
  // cleared by call_js once JS has answered it (see reader_main).
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int inflight;
  int joined, finalized;
  pthread_t thread;
  napi_threadsafe_function tsfn;
  // Reader thread only.
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in6 addrs[BATCH]; // big enough for sockaddr_in too
  uint8_t bufs[BATCH][SLOT];
} reader_t;

typedef struct { size_t len; uint8_t data[]; } batch_t;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  napi_value msg, code, e;
  char text[160];
  const char *name = err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EADDRINUSE ? "EADDRINUSE"
                   : err == EACCES ? "EACCES" : err == EINVAL ? "EINVAL" : err == EBADF ? "EBADF" : "ESYSCALL";
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &e);
  napi_set_named_property(env, e, "code", code);
  napi_value errnum;
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, e, "errno", errnum);
  napi_throw(env, e);
  return NULL;
}

// Packs a received datagram's source address into a record header.
static void put_addr(uint8_t *h, const struct sockaddr_in6 *sa, uint16_t len) {
  memset(h, 0, HDR);
  if (sa->sin6_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    h[0] = 4;
    memcpy(h + 2, &s4->sin_port, 2);
    memcpy(h + 4, &s4->sin_addr, 4);
  } else {
    h[0] = 6;
    memcpy(h + 2, &sa->sin6_port, 2);
    memcpy(h + 4, &sa->sin6_addr, 16);
  }
  h[20] = (uint8_t)(len >> 8);
  h[21] = (uint8_t)len;
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->wake, .events = POLLIN } };
  while (!atomic_load(&r->stopping)) {
    // The socket is non-blocking (sendBatch must never block the JS thread),
    // so the reader waits in poll(), which also wakes on stop().
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[1].revents || atomic_load(&r->stopping)) break;
    if (pfd[0].revents & POLLNVAL) break; // fd closed under us (a bug elsewhere): stop rather than spin
    for (int i = 0; i < BATCH; i++) {
      r->iov[i].iov_base = r->bufs[i];
      r->iov[i].iov_len = SLOT;
      memset(&r->msgs[i].msg_hdr, 0, sizeof r->msgs[i].msg_hdr);
      r->msgs[i].msg_hdr.msg_name = &r->addrs[i];
      r->msgs[i].msg_hdr.msg_namelen = sizeof r->addrs[i];
      r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
      r->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(r->fd, r->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ENOMEM || errno == ECONNREFUSED) continue;
      break; // EBADF and the like: the socket is gone
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
      if (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      total += HDR + r->msgs[i].msg_len;
    }
    if (total == 0) continue;
    batch_t *b = malloc(sizeof *b + total);
    if (!b) continue;
    b->len = total;
    uint8_t *p = b->data;
    for (int i = 0; i < n; i++) {
      if (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      put_addr(p, &r->addrs[i], (uint16_t)r->msgs[i].msg_len);
      memcpy(p + HDR, r->bufs[i], r->msgs[i].msg_len);
      p += HDR + r->msgs[i].msg_len;
    }
    // Blocking mode: if the queue were full this would wait, not grow.
    // stop() aborts the tsfn, which wakes such a wait with napi_closing.
    pthread_mutex_lock(&r->mu);
    r->inflight = 1;
    pthread_mutex_unlock(&r->mu);
    if (napi_call_threadsafe_function(r->tsfn, b, napi_tsfn_blocking) != napi_ok) {
      free(b);
      break;
    }
    // Wait until JS has answered this batch before reading the next one.
    // Queries that arrive meanwhile wait in the socket buffer and come in
    // the next recvmmsg together: bigger batches, so fewer thread wake-ups
    // per query (context switches were the largest single cost in a
    // profile), and at most one batch of memory held here.
    pthread_mutex_lock(&r->mu);
    while (r->inflight && !atomic_load(&r->stopping)) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
  }
  // Our share of the tsfn; after an abort this is a harmless no-op count.
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

// Runs on the JS thread for each batch. env is NULL when the tsfn is torn
// down with batches still queued: then just free them.
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  reader_t *r = context;
  batch_t *b = data;
  if (env && cb) {
    napi_value buf, undef;
    void *dst;
    if (napi_create_buffer_copy(env, b->len, b->data, &dst, &buf) == napi_ok) {
      napi_get_undefined(env, &undef);
      napi_call_function(env, undef, cb, 1, &buf, NULL);
    }
  }
  free(b);
  pthread_mutex_lock(&r->mu);
  r->inflight = 0;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void free_reader(reader_t *r) {
  if (r->wake >= 0) close(r->wake);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

// Called on the JS thread once the tsfn is gone (after stop(), or at env
// teardown). The struct is freed by whichever of stop()/finalize comes last.
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  reader_t *r = data;
  r->finalized = 1;
  if (r->joined) free_reader(r);
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "udpbatch: missing arguments");
    return 0;
  }
  return 1;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  char ip[64];
  size_t iplen;
  uint32_t port, rcvbuf;
  if (napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &iplen) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535 ||
      napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpbatch.open(ip: string, port: 0-65535, rcvbuf: number) expected");
    return NULL;
  }
  struct sockaddr_in6 sa6 = { 0 };
  struct sockaddr_in sa4 = { 0 };
  int family;
  if (inet_pton(AF_INET, ip, &sa4.sin_addr) == 1) {
    family = AF_INET;
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, ip, &sa6.sin6_addr) == 1) {
    family = AF_INET6;
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)port);
  } else {
    napi_throw_type_error(env, NULL, "udpbatch.open: not an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1, size = (int)rcvbuf;
  // No SO_REUSEADDR: for UDP on Linux it lets a second socket bind the same
  // address and port and take a share of the queries, silently. UDP has no
  // TIME_WAIT, so a restarted daemon does not need it (dgram's default too).
  // Capped by net.core.rmem_max; a smaller buffer is still a working one.
  if (size > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  // Only ever bound to one gateway address: no IPv4-mapped traffic wanted.
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rc = family == AF_INET ? bind(fd, (struct sockaddr *)&sa4, sizeof sa4) : bind(fd, (struct sockaddr *)&sa6, sizeof sa6);
  if (rc < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "udpbatch.start(fd: number, onBatch: function) expected");
    return NULL;
  }
  reader_t *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "calloc", ENOMEM);
  r->fd = fd;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->wake < 0) { int err = errno; free_reader(r); return throw_errno(env, "eventfd", err); }
  napi_value name;
  napi_create_string_utf8(env, "udpbatch", NAPI_AUTO_LENGTH, &name);
  // Two references: the reader thread's (released when it exits) and
  // stop()'s (released with abort, which also wakes a blocked call).
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, MAX_QUEUE, 2, r, tsfn_finalize, r, call_js, &r->tsfn) != napi_ok) {
    free_reader(r);
    napi_throw_error(env, NULL, "udpbatch: napi_create_threadsafe_function failed");
    return NULL;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, READER_STACK);
  int err = pthread_create(&r->thread, &attr, reader_main, r);
  pthread_attr_destroy(&attr);
  if (err) {
    r->joined = 1;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort); // finalize frees r
    return throw_errno(env, "pthread_create", err);
  }
  napi_value ext;
  CHECK(napi_create_external(env, r, NULL, NULL, &ext));
  return ext;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  reader_t *r;
  if (napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || !r) {
    napi_throw_type_error(env, NULL, "udpbatch.stop(handle) expected");
    return NULL;
  }
  if (r->joined) return NULL;
  atomic_store(&r->stopping, 1);
  pthread_mutex_lock(&r->mu);
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  uint64_t one = 1;
  ssize_t w = write(r->wake, &one, sizeof one);
  (void)w;
  // Abort before joining: the reader may be blocked handing us a batch on a
  // full queue, which only this thread could drain. Queued batches are then
  // freed by call_js with env == NULL, not delivered.
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
  pthread_join(r->thread, NULL);
  r->joined = 1;
  if (r->finalized) free_reader(r);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "udpbatch.close(fd: number) expected");
    return NULL;
  }
  close(fd);
  return NULL;
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], (void **)&data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpbatch.sendBatch(fd: number, packed: Buffer) expected");
    return NULL;
  }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in6 addrs[BATCH];
  size_t off = 0;
  uint32_t sent = 0;
  while (off + HDR <= len) {
    // Collect up to BATCH records.
    int n = 0;
    while (n < BATCH && off + HDR <= len) {
      const uint8_t *h = data + off;
      size_t plen = ((size_t)h[20] << 8) | h[21];
      if (off + HDR + plen > len) { off = len; break; } // malformed tail: stop
      memset(&addrs[n], 0, sizeof addrs[n]);
      memset(&msgs[n], 0, sizeof msgs[n]);
      socklen_t alen;
      if (h[0] == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&addrs[n];
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_port, h + 2, 2);
        memcpy(&s4->sin_addr, h + 4, 4);
        alen = sizeof *s4;
      } else {
        addrs[n].sin6_family = AF_INET6;
        memcpy(&addrs[n].sin6_port, h + 2, 2);
        memcpy(&addrs[n].sin6_addr, h + 4, 16);
        alen = sizeof addrs[n];
      }
      iov[n].iov_base = (void *)(h + HDR);
      iov[n].iov_len = plen;
      msgs[n].msg_hdr.msg_name = &addrs[n];
      msgs[n].msg_hdr.msg_namelen = alen;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      n++;
      off += HDR + plen;
    }
    int i = 0, retries = 0;
    while (i < n) {
      int k = sendmmsg(fd, msgs + i, (unsigned)(n - i), MSG_DONTWAIT);
      if (k > 0) { i += k; sent += (uint32_t)k; continue; }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && (errno == EAGAIN || errno == ENOBUFS) && retries < SEND_RETRIES) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        poll(&p, 1, SEND_RETRY_MS);
        retries++;
        continue;
      }
      if (k < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EBADF)) break; // give up on this batch
      i++; // an error for this one datagram (e.g. EPERM from a firewall): skip it
    }
  }
  napi_value out;
  CHECK(napi_create_uint32(env, sent, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL },
    { "stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
