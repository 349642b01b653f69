#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char job_fault[64];

int job_fault_hit(const char *fn) {
  if (strcmp(job_fault, fn) != 0) return 0;
  job_fault[0] = 0;
  return 1;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job *j = data;
  j->exec(j);
}

static void free_job(napi_env env, job *j) {
  // A failed delete leaves a small leak, nothing worse: the work has run.
  if (j->work) (void)NAPI_CALL(napi_delete_async_work, env, j->work);
  if (j->free_data) j->free_data(j->data);
  free(j);
}

// The exception a failed Node-API call left pending, cleared (later calls
// would all fail while it is pending); NULL when there is none.
static napi_value take_exception(napi_env env) {
  bool pending = false;
  napi_value e = NULL;
  if (NAPI_CALL(napi_is_exception_pending, env, &pending) != napi_ok || !pending) return NULL;
  if (NAPI_CALL(napi_get_and_clear_last_exception, env, &e) != napi_ok) return NULL;
  return e;
}

// Details of the Error: without one, it still rejects.
static void set_int(napi_env env, napi_value obj, const char *key, int32_t n) {
  napi_value v;
  if (NAPI_CALL(napi_create_int32, env, n, &v) == napi_ok) (void)NAPI_CALL(napi_set_named_property, env, obj, key, v);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  if (NAPI_CALL(napi_create_string_utf8, env, s, NAPI_AUTO_LENGTH, &v) == napi_ok) (void)NAPI_CALL(napi_set_named_property, env, obj, key, v);
}

// The Error a failed job rejects with (message, errno, code, syscall), or
// NULL when even that cannot be made.
static napi_value make_error(napi_env env, job *j) {
  char msg[200];
  const char *call = j->syscall ? j->syscall : "netlink";
  const char *name = strerrorname_np(j->err);
  if (j->napi != napi_ok) snprintf(msg, sizeof msg, "%s failed (Node-API status %d)", call, (int)j->napi);
  else snprintf(msg, sizeof msg, "%s: %s", call, strerror(j->err));
  napi_value m, e;
  if (NAPI_CALL(napi_create_string_utf8, env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok) return NULL;
  if (NAPI_CALL(napi_create_error, env, NULL, m, &e) != napi_ok) return NULL;
  set_int(env, e, "errno", j->err);
  set_str(env, e, "code", name ? name : "EUNKNOWN");
  set_str(env, e, "syscall", call);
  return e;
}

// Rejects the job's promise: with the pending exception of a failed
// Node-API call when there is one (it says most), else with the job's Error.
static void reject(napi_env env, job *j, napi_value exc) {
  napi_value e = exc ? exc : make_error(env, j);
  if (!e) e = take_exception(env);
  if (!e && NAPI_CALL(napi_get_undefined, env, &e) != napi_ok) e = NULL;
  // Failing here means V8 itself cannot run: nothing further can be done.
  if (e) (void)NAPI_CALL(napi_reject_deferred, env, j->deferred, e);
}

static void complete(napi_env env, napi_status status, void *data) {
  job *j = data;
  if (status != napi_ok) job_fail(j, "napi_async_work", status == napi_cancelled ? ECANCELED : EIO);
  napi_value result = NULL;
  if (j->err == 0) {
    if (j->done) result = j->done(env, j);
    else if (NAPI_CALL(napi_get_undefined, env, &result) != napi_ok) result = NULL;
    // done() names the call that failed; "napi" if it did not.
    if (!result) job_fail_napi(j, j->done ? "napi" : "napi_get_undefined", napi_generic_failure);
  }
  napi_value exc = take_exception(env);
  if (j->err == 0 && !exc) {
    // With no exception pending and a result, napi_resolve_deferred fails
    // only after it has consumed the deferred: there is nothing to undo.
    (void)NAPI_CALL(napi_resolve_deferred, env, j->deferred, result);
  } else {
    if (j->err == 0) job_fail_napi(j, "napi", napi_pending_exception);
    reject(env, j, exc);
  }
  free_job(env, j);
}

napi_value job_start(napi_env env, const char *name, job_exec_fn exec, job_done_fn done,
                     void *data, void (*free_data)(void *)) {
  job *j = calloc(1, sizeof *j);
  if (!j) {
    if (free_data) free_data(data);
    (void)NAPI_CALL(napi_throw_error, env, "ENOMEM", "out of memory");
    return NULL;
  }
  j->exec = exec;
  j->done = done;
  j->data = data;
  j->free_data = free_data;
  napi_value promise, res_name;
  napi_status st = NAPI_CALL(napi_create_promise, env, &j->deferred, &promise);
  if (st != napi_ok) {
    // No promise to settle: throw, as for a bad argument.
    free_job(env, j);
    char msg[96];
    snprintf(msg, sizeof msg, "napi_create_promise failed (Node-API status %d)", (int)st);
    (void)NAPI_CALL(napi_throw_error, env, "EIO", msg);
    return NULL;
  }
  // From here on a failure rejects the promise: it is returned either way.
  const char *failed = NULL;
  if ((st = NAPI_CALL(napi_create_string_utf8, env, name, NAPI_AUTO_LENGTH, &res_name)) != napi_ok) {
    failed = "napi_create_string_utf8";
  } else if ((st = NAPI_CALL(napi_create_async_work, env, NULL, res_name, execute, complete, j, &j->work)) != napi_ok) {
    failed = "napi_create_async_work";
    j->work = NULL;
  } else if ((st = NAPI_CALL(napi_queue_async_work, env, j->work)) != napi_ok) {
    failed = "napi_queue_async_work";
  }
  if (failed) {
    job_fail_napi(j, failed, st);
    reject(env, j, take_exception(env));
    free_job(env, j);
  }
  return promise;
}

napi_value throw_type(napi_env env, const char *msg) {
  // Fails only with an exception already pending, which JS then gets instead.
  (void)NAPI_CALL(napi_throw_type_error, env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

int arg_int32(napi_env env, napi_value v, const char *what, int32_t *out) {
  if (NAPI_CALL(napi_get_value_int32, env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

int arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  size_t len = 0;
  if (NAPI_CALL(napi_get_value_string_utf8, env, v, buf, size, &len) != napi_ok || len + 1 >= size) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a string shorter than %zu bytes", what, size - 1);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

struct ns_thread {
  job *j;
  int ns_fd;
  int (*fn)(job *j, void *arg);
  void *arg;
  int result;
};

static void *ns_thread_main(void *p) {
  struct ns_thread *t = p;
  // setns(CLONE_NEWNET) changes only this thread's namespace; the thread ends
  // right after fn, so the change never leaks to a pooled or JS thread.
  if (t->ns_fd >= 0 && setns(t->ns_fd, CLONE_NEWNET) != 0) {
    job_fail(t->j, "setns", errno);
    t->result = -1;
    return NULL;
  }
  t->result = t->fn(t->j, t->arg);
  return NULL;
}

int run_on_ns_thread(job *j, int ns_fd, int (*fn)(job *j, void *arg), void *arg) {
  struct ns_thread t = { j, ns_fd, fn, arg, -1 };
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&tid, &attr, ns_thread_main, &t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    job_fail(j, "pthread_create", rc);
    return -1;
  }
  pthread_join(tid, NULL);
  return t.result;
}
