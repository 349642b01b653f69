// Persistent tap devices. The tun driver has no rtnetlink "newlink"; a tap is
// made with ioctls on /dev/net/tun, and it is born in the namespace of the
// thread that opened that file.
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap_data { int ns_fd; char name[IFNAMSIZ]; };

static int tap_in_ns(job *j, void *arg) {
  struct tap_data *d = arg;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { job_fail(j, "open(/dev/net/tun)", errno); return -1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, d->name, sizeof d->name); // both IFNAMSIZ, NUL-terminated
  int rc = -1;
  // TUNSETIFF attaches to an existing tap of that name instead of failing;
  // the JS caller checks that the name is free first.
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) job_fail(j, "ioctl(TUNSETIFF)", errno);
  else if (ioctl(fd, TUNSETPERSIST, 1) != 0) job_fail(j, "ioctl(TUNSETPERSIST)", errno);
  else rc = 0;
  close(fd); // persistent: the device outlives the file
  return rc;
}

static void tap_exec(job *j) {
  struct tap_data *d = j->data;
  run_on_ns_thread(j, d->ns_fd, tap_in_ns, d);
}

// tapCreate(nsFd, name) -> Promise<void>
napi_value js_tap_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct tap_data *d = calloc(1, sizeof *d);
  if (!d) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (argc < 2 || !arg_int32(env, argv[0], "nsFd", &d->ns_fd) ||
      !arg_string(env, argv[1], "name", d->name, sizeof d->name)) { free(d); return NULL; }
  return job_start(env, "cnm.netlink.tap", tap_exec, NULL, d, free);
}
