// Reads and writes /proc/sys/net/... as seen from one network namespace:
// procfs resolves the per-namespace net.* tables by the namespace of the
// thread that opens the file, so the open happens on a thread that setns()ed.
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VALUE_MAX 4096

struct sysctl_data {
  int ns_fd;
  int write;
  char path[PATH_MAX];
  char value[VALUE_MAX];
  size_t value_len;
};

static int sysctl_in_ns(job *j, void *arg) {
  struct sysctl_data *d = arg;
  int fd = open(d->path, (d->write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) { job_fail(j, "open", errno); return -1; }
  ssize_t n;
  if (d->write) {
    n = write(fd, d->value, d->value_len);
    if (n < 0) job_fail(j, "write", errno);
  } else {
    n = read(fd, d->value, VALUE_MAX - 1);
    if (n < 0) job_fail(j, "read", errno);
    else d->value_len = (size_t)n;
  }
  close(fd);
  return n < 0 ? -1 : 0;
}

static void sysctl_exec(job *j) {
  struct sysctl_data *d = j->data;
  run_on_ns_thread(j, d->ns_fd, sysctl_in_ns, d);
}

static napi_value sysctl_done(napi_env env, job *j) {
  struct sysctl_data *d = j->data;
  napi_value v;
  napi_status st = d->write ? NAPI_CALL(napi_get_undefined, env, &v)
                            : NAPI_CALL(napi_create_string_utf8, env, d->value, d->value_len, &v);
  if (st != napi_ok) {
    job_fail_napi(j, d->write ? "napi_get_undefined" : "napi_create_string_utf8", st);
    return NULL;
  }
  return v;
}

// sysctl(nsFd, "/proc/sys/net/ipv4/ip_forward", value?) -> Promise<string|undefined>
napi_value js_sysctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sysctl_data *d = calloc(1, sizeof *d);
  if (!d) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (argc < 2 || !arg_int32(env, argv[0], "nsFd", &d->ns_fd) ||
      !arg_string(env, argv[1], "path", d->path, sizeof d->path)) { free(d); return NULL; }
  if (strncmp(d->path, "/proc/sys/net/", 14) != 0 || strstr(d->path, "..")) {
    free(d);
    return throw_type(env, "path must lie under /proc/sys/net/");
  }
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t == napi_string) {
    d->write = 1;
    if (!arg_string(env, argv[2], "value", d->value, sizeof d->value)) { free(d); return NULL; }
    d->value_len = strlen(d->value);
  }
  return job_start(env, "cnm.netns.sysctl", sysctl_exec, sysctl_done, d, free);
}
