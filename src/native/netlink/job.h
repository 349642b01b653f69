// A job is one kernel operation run off the JS thread: napi_async_work puts
// `exec` on the libuv threadpool, then `done` turns its result into a JS value
// on the main thread and settles the promise. A failing job records errno and
// the name of the system call that failed; JS turns that into NetlinkError.
#ifndef CNM_NETLINK_JOB_H
#define CNM_NETLINK_JOB_H

#include <errno.h>
#include <node_api.h>

typedef struct job job;
typedef void (*job_exec_fn)(job *j);
typedef napi_value (*job_done_fn)(napi_env env, job *j);

struct job {
  napi_async_work work;
  napi_deferred deferred;
  job_exec_fn exec;
  job_done_fn done; // NULL: resolve with undefined; returns NULL when a Node-API call failed
  void (*free_data)(void *data);
  void *data;
  int err;              // errno of the failed call, 0 on success
  const char *syscall;  // static string naming that call (or the Node-API function)
  napi_status napi;     // the status, when that call was a Node-API one
};

// Test hook: faultOnce("napi_x") (addon.c) makes the next NAPI_CALL of
// napi_x fail with napi_generic_failure without running it, so tests can
// show that such a failure rejects the job's promise instead of leaking it.
extern char job_fault[64];
int job_fault_hit(const char *fn);
#define NAPI_CALL(fn, ...) (job_fault[0] && job_fault_hit(#fn) ? napi_generic_failure : fn(__VA_ARGS__))

// Queues the job; returns the promise (or NULL after throwing).
napi_value job_start(napi_env env, const char *name, job_exec_fn exec, job_done_fn done,
                     void *data, void (*free_data)(void *));

// Records a failure: job_fail(j, "setns", errno).
static inline void job_fail(job *j, const char *syscall, int err) {
  if (j->err == 0) { j->err = err; j->syscall = syscall; }
}

// Records a failed Node-API call (EIO as far as JS error codes go).
static inline void job_fail_napi(job *j, const char *fn, napi_status st) {
  if (j->err == 0) { j->err = EIO; j->syscall = fn; j->napi = st; }
}

// Argument helpers: each throws a TypeError and returns 0 on failure.
int arg_int32(napi_env env, napi_value v, const char *what, int32_t *out);
int arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t size);
napi_value throw_type(napi_env env, const char *msg);

// Runs fn(arg) on a short-lived thread of its own that first enters the
// network namespace behind ns_fd (setns), so no other thread of the process
// ever changes namespace. ns_fd < 0 runs it on the new thread without setns
// (used by netns creation, which unshares instead). Returns fn's result, or
// records the setns/pthread failure in j and returns -1.
int run_on_ns_thread(job *j, int ns_fd, int (*fn)(job *j, void *arg), void *arg);

#endif
