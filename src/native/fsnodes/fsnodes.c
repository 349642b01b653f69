// File system calls Node has no API for, used to unpack image layers:
// mknod (device nodes, fifos, overlayfs whiteouts are 0/0 character devices)
// and lsetxattr (PAX SCHILY.xattr.* entries, trusted.overlay.opaque).
//
// API (synchronous; each is one short system call on a local file system):
//   mknod(path: string, mode: number, major: number, minor: number): void
//       mode includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO).
//   lsetxattr(path: string, name: string, value: Buffer): void
//       on the link itself, never following a symlink.
//   mountOverlay(lowerRoot: string, lowerdirs: string, upper: string, work: string, target: string): void
//       an overlayfs at target; lowerdirs is "a:b:c" (top first) relative to
//       lowerRoot, so that many layers fit in mount(2)'s one-page option
//       string (the directory is entered for the call and left again).
//   umount(target: string): void
//       a lazy unmount (MNT_DETACH); EINVAL (not a mount point) is ignored.
// Errors are Error objects with .code = the errno name (EPERM, EEXIST, ...).
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)
#define MAX_PATH 4096
#define MAX_NAME 256

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case ENOTSUP: return "ENOTSUP";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    default: return "ESYSCALL";
  }
}

static napi_value throw_errno(napi_env env, const char *what, const char *path, int err) {
  napi_value msg, code, e, errnum;
  char text[MAX_PATH + 200];
  snprintf(text, sizeof text, "%s %s: %s", what, path, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &e);
  napi_set_named_property(env, e, "code", code);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, e, "errno", errnum);
  napi_throw(env, e);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return -1;
  return len + 1 >= cap ? -1 : 0; // too long: refused, never truncated
}

static napi_value js_mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[MAX_PATH];
  uint32_t mode = 0, major = 0, minor = 0;
  if (argc < 4 || get_string(env, argv[0], path, sizeof path) != 0 ||
      napi_get_value_uint32(env, argv[1], &mode) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &major) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &minor) != napi_ok) {
    napi_throw_type_error(env, NULL, "fsnodes.mknod(path: string, mode: number, major: number, minor: number) expected");
    return NULL;
  }
  if (mknod(path, (mode_t)mode, makedev(major, minor)) != 0) return throw_errno(env, "mknod", path, errno);
  return NULL;
}

static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[MAX_PATH], name[MAX_NAME];
  void *data = NULL;
  size_t size = 0;
  bool is_buffer = false;
  if (argc < 3 || get_string(env, argv[0], path, sizeof path) != 0 ||
      get_string(env, argv[1], name, sizeof name) != 0 ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &data, &size) != napi_ok) {
    napi_throw_type_error(env, NULL, "fsnodes.lsetxattr(path: string, name: string, value: Buffer) expected");
    return NULL;
  }
  if (lsetxattr(path, name, data, size, 0) != 0) return throw_errno(env, "lsetxattr", path, errno);
  return NULL;
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[MAX_PATH], name[MAX_NAME];
  if (argc < 2 || get_string(env, argv[0], path, sizeof path) != 0 || get_string(env, argv[1], name, sizeof name) != 0) {
    napi_throw_type_error(env, NULL, "fsnodes.lgetxattr(path: string, name: string) expected");
    return NULL;
  }
  char value[65536];
  ssize_t n = lgetxattr(path, name, value, sizeof value);
  napi_value out;
  if (n < 0) {
    if (errno == ENODATA) { CHECK(napi_get_null(env, &out)); return out; }
    return throw_errno(env, "lgetxattr", path, errno);
  }
  CHECK(napi_create_buffer_copy(env, (size_t)n, value, NULL, &out));
  return out;
}

static napi_value js_mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char root[MAX_PATH], lower[MAX_PATH], upper[MAX_PATH], work[MAX_PATH], target[MAX_PATH];
  if (argc < 5 || get_string(env, argv[0], root, sizeof root) != 0 || get_string(env, argv[1], lower, sizeof lower) != 0 ||
      get_string(env, argv[2], upper, sizeof upper) != 0 || get_string(env, argv[3], work, sizeof work) != 0 ||
      get_string(env, argv[4], target, sizeof target) != 0) {
    napi_throw_type_error(env, NULL, "fsnodes.mountOverlay(lowerRoot, lowerdirs, upper, work, target: string) expected");
    return NULL;
  }
  char data[MAX_PATH];
  int n = snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (n < 0 || (size_t)n >= sizeof data) return throw_errno(env, "mount overlay (options longer than a page)", target, E2BIG);
  int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) return throw_errno(env, "open cwd for", target, errno);
  if (chdir(root) != 0) {
    int err = errno;
    close(cwd);
    return throw_errno(env, "chdir", root, err);
  }
  int rc = mount("overlay", target, "overlay", 0, data);
  int err = errno;
  int back = fchdir(cwd);
  close(cwd);
  (void)back;
  if (rc != 0) return throw_errno(env, "mount overlay", target, err);
  return NULL;
}

static napi_value js_umount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char target[MAX_PATH];
  if (argc < 1 || get_string(env, argv[0], target, sizeof target) != 0) {
    napi_throw_type_error(env, NULL, "fsnodes.umount(target: string) expected");
    return NULL;
  }
  if (umount2(target, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) return throw_errno(env, "umount", target, errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL },
    { "lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "mountOverlay", NULL, js_mount_overlay, NULL, NULL, NULL, napi_default, NULL },
    { "umount", NULL, js_umount, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
