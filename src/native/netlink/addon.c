// cnm's kernel door: what Node itself cannot do for a network engine.
// Every call that touches a network namespace takes that namespace as an
// open file descriptor (nsFd) and does its work on a thread of its own that
// entered it, so nothing depends on the namespace of the calling thread.
#include <errno.h>
#include <node_api.h>
#include <unistd.h>

#include "job.h"

napi_value js_open_rtnl(napi_env env, napi_callback_info info);
napi_value js_request(napi_env env, napi_callback_info info);
napi_value js_drain(napi_env env, napi_callback_info info);
napi_value js_netns_create(napi_env env, napi_callback_info info);
napi_value js_netns_delete(napi_env env, napi_callback_info info);
napi_value js_sysctl(napi_env env, napi_callback_info info);
napi_value js_tap_create(napi_env env, napi_callback_info info);
napi_value js_socket_in(napi_env env, napi_callback_info info);

// close(fd): synchronous, a close never blocks on a netlink socket.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !arg_int32(env, argv[0], "fd", &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) {
    napi_throw_error(env, "EBADF", "close: bad file descriptor");
    return NULL;
  }
  return NULL;
}

// faultOnce("napi_x"): a test hook (see job.h). The next NAPI_CALL of
// napi_x fails as if Node-API had refused it; "" disarms.
static napi_value js_fault_once(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (NAPI_CALL(napi_get_cb_info, env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !arg_string(env, argv[0], "name", job_fault, sizeof job_fault)) job_fault[0] = 0;
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    { "openRtnl", NULL, js_open_rtnl, NULL, NULL, NULL, napi_enumerable, NULL },
    { "request", NULL, js_request, NULL, NULL, NULL, napi_enumerable, NULL },
    { "drain", NULL, js_drain, NULL, NULL, NULL, napi_enumerable, NULL },
    { "netnsCreate", NULL, js_netns_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "netnsDelete", NULL, js_netns_delete, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sysctl", NULL, js_sysctl, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tapCreate", NULL, js_tap_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "socketIn", NULL, js_socket_in, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "faultOnce", NULL, js_fault_once, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
