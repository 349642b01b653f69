// File system calls Node has no API for, used to unpack image layers:
// mknod (device nodes, fifos, overlayfs whiteouts are 0/0 character devices)
// and lsetxattr (PAX SCHILY.xattr.* entries, trusted.overlay.opaque).
//
// API (synchronous; each is one short system call on a local file system):
//   mknod(path: string, mode: number, major: number, minor: number): void
//       mode includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO).
//   lsetxattr(path: string, name: string, value: Buffer): void
//       on the link itself, never following a symlink.
// Errors are Error objects with .code = the errno name (EPERM, EEXIST, ...).
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL },
    { "lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
