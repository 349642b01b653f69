// A UDP or TCP socket created and bound inside a chosen network namespace
// (for servers that live in one namespace, like the embedded DNS resolver).
// The socket keeps that namespace for life; JS adopts the fd.
#define _GNU_SOURCE
#include "job.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <unistd.h>

struct sock_data {
  int ns_fd, family, type, port, fd, broadcast;
  char addr[64];
  // One byte more than IFNAMSIZ: arg_string refuses a string that fills its
  // buffer, and a 15-character name (br-<12 hex>) is valid.
  char device[IFNAMSIZ + 1];
};

static int sock_in_ns(job *j, void *arg) {
  struct sock_data *d = arg;
  union { struct sockaddr_in v4; struct sockaddr_in6 v6; } sa;
  socklen_t len;
  memset(&sa, 0, sizeof sa);
  if (d->family == AF_INET) {
    sa.v4.sin_family = AF_INET;
    sa.v4.sin_port = htons((uint16_t)d->port);
    if (inet_pton(AF_INET, d->addr, &sa.v4.sin_addr) != 1) { job_fail(j, "inet_pton", EINVAL); return -1; }
    len = sizeof sa.v4;
  } else {
    sa.v6.sin6_family = AF_INET6;
    sa.v6.sin6_port = htons((uint16_t)d->port);
    if (inet_pton(AF_INET6, d->addr, &sa.v6.sin6_addr) != 1) { job_fail(j, "inet_pton", EINVAL); return -1; }
    len = sizeof sa.v6;
  }
  int fd = socket(d->family, d->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) { job_fail(j, "socket", errno); return -1; }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // DHCP: one socket per interface on 0.0.0.0:67/68, sending to and
  // receiving limited broadcasts (255.255.255.255) on that interface only.
  if (d->device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, d->device, (socklen_t)strlen(d->device)) != 0) {
    job_fail(j, "SO_BINDTODEVICE", errno); close(fd); return -1;
  }
  if (d->broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
    job_fail(j, "SO_BROADCAST", errno); close(fd); return -1;
  }
  if (bind(fd, (struct sockaddr *)&sa, len) != 0) { job_fail(j, "bind", errno); close(fd); return -1; }
  d->fd = fd;
  return 0;
}

static void sock_exec(job *j) {
  struct sock_data *d = j->data;
  run_on_ns_thread(j, d->ns_fd, sock_in_ns, d);
}

static napi_value sock_done(napi_env env, job *j) {
  int fd = ((struct sock_data *)j->data)->fd;
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

// socketIn(nsFd, 4|6, "udp"|"tcp", address, port[, device, broadcast]) -> Promise<fd>
napi_value js_socket_in(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sock_data *d = calloc(1, sizeof *d);
  char proto[8];
  int32_t fam;
  if (!d) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (argc < 5 || !arg_int32(env, argv[0], "nsFd", &d->ns_fd) || !arg_int32(env, argv[1], "family", &fam) ||
      !arg_string(env, argv[2], "protocol", proto, sizeof proto) ||
      !arg_string(env, argv[3], "address", d->addr, sizeof d->addr) || !arg_int32(env, argv[4], "port", &d->port)) {
    free(d);
    return NULL;
  }
  if (argc >= 7 && (!arg_string(env, argv[5], "device", d->device, sizeof d->device) ||
                    !arg_int32(env, argv[6], "broadcast", &d->broadcast))) {
    free(d);
    return NULL;
  }
  d->family = fam == 6 ? AF_INET6 : AF_INET;
  d->type = strcmp(proto, "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM;
  d->fd = -1;
  return job_start(env, "cnm.netns.socket", sock_exec, sock_done, d, free);
}
