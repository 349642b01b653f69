#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void execute(napi_env env, void *data) {
  (void)env;
  job *j = data;
  j->exec(j);
}

static napi_value make_error(napi_env env, job *j) {
  char msg[160];
  const char *name = strerrorname_np(j->err);
  snprintf(msg, sizeof msg, "%s: %s", j->syscall ? j->syscall : "netlink", strerror(j->err));
  napi_value m, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_int32(env, j->err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_string_utf8(env, j->syscall ? j->syscall : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  return e;
}

static void complete(napi_env env, napi_status status, void *data) {
  job *j = data;
  if (status != napi_ok && j->err == 0) job_fail(j, "napi_async_work", ECANCELED);
  napi_value result = NULL;
  if (j->err == 0) {
    if (j->done) result = j->done(env, j);
    else napi_get_undefined(env, &result);
  }
  if (j->err != 0 || result == NULL) {
    if (j->err == 0) job_fail(j, "napi", ENOMEM);
    napi_reject_deferred(env, j->deferred, make_error(env, j));
  } else {
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  if (j->free_data) j->free_data(j->data);
  free(j);
}

napi_value job_start(napi_env env, const char *name, job_exec_fn exec, job_done_fn done,
                     void *data, void (*free_data)(void *)) {
  job *j = calloc(1, sizeof *j);
  if (!j) {
    if (free_data) free_data(data);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  j->exec = exec;
  j->done = done;
  j->data = data;
  j->free_data = free_data;
  napi_value promise, res_name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &res_name);
  napi_create_async_work(env, NULL, res_name, execute, complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

int arg_int32(napi_env env, napi_value v, const char *what, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

int arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len + 1 >= size) {
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
