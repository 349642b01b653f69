// Named network namespaces, the way `ip netns add/del` makes them: a file
// whose bind mount of /proc/thread-self/ns/net keeps the namespace alive
// without any process in it.
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct path_data { char path[PATH_MAX]; };

static int mkdir_p(char *dir) {
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir(dir, 0755);
    *p = '/';
    if (rc != 0 && errno != EEXIST) return -1;
  }
  return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

// Like iproute2: make the directory a shared mount (bind-mounting it onto
// itself first if it is no mount point), so namespace mounts made later
// propagate into mount namespaces cloned from ours (e.g. `ip netns exec`).
static int make_dir_shared(job *j, const char *dir) {
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
  if (errno != EINVAL) { job_fail(j, "mount(MS_SHARED)", errno); return -1; }
  if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0) { job_fail(j, "mount(MS_BIND)", errno); return -1; }
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) { job_fail(j, "mount(MS_SHARED)", errno); return -1; }
  return 0;
}

static int unshare_and_mount(job *j, void *arg) {
  struct path_data *d = arg;
  // A fresh thread takes the new namespace; the process's threads do not.
  if (unshare(CLONE_NEWNET) != 0) { job_fail(j, "unshare(CLONE_NEWNET)", errno); return -1; }
  if (mount("/proc/thread-self/ns/net", d->path, "none", MS_BIND, NULL) != 0) {
    job_fail(j, "mount(MS_BIND)", errno);
    return -1;
  }
  return 0;
}

static void create_exec(job *j) {
  struct path_data *d = j->data;
  char dir[PATH_MAX];
  strcpy(dir, d->path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) { job_fail(j, "dirname", EINVAL); return; }
  *slash = 0;
  if (mkdir_p(dir) != 0) { job_fail(j, "mkdir", errno); return; }
  if (make_dir_shared(j, dir) != 0) return;
  int fd = open(d->path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) { job_fail(j, "open", errno); return; }
  close(fd);
  // Nothing half-made stays behind: the mount point goes when the mount fails.
  if (run_on_ns_thread(j, -1, unshare_and_mount, d) != 0) unlink(d->path);
}

static void delete_exec(job *j) {
  struct path_data *d = j->data;
  // MNT_DETACH: sockets or processes may still hold the namespace; it lives
  // on until they let go, but the name is gone at once.
  if (umount2(d->path, MNT_DETACH) != 0 && errno != EINVAL) {
    job_fail(j, "umount2", errno);
    return;
  }
  if (unlink(d->path) != 0) job_fail(j, "unlink", errno);
}

static napi_value start_path_job(napi_env env, napi_callback_info info, const char *name, job_exec_fn exec) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct path_data *d = calloc(1, sizeof *d);
  if (!d) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (argc < 1 || !arg_string(env, argv[0], "path", d->path, sizeof d->path)) { free(d); return NULL; }
  if (d->path[0] != '/') { free(d); return throw_type(env, "path must be absolute"); }
  return job_start(env, name, exec, NULL, d, free);
}

napi_value js_netns_create(napi_env env, napi_callback_info info) {
  return start_path_job(env, info, "cnm.netns.create", create_exec);
}

napi_value js_netns_delete(napi_env env, napi_callback_info info) {
  return start_path_job(env, info, "cnm.netns.delete", delete_exec);
}
