// In-process libnftables, one worker thread per network namespace.
//
// Why: spawning `nsenter nft -f -` costs ~5 ms per call on these machines,
// which alone would eat the whole 5 ms budget of a connect. libnftables runs
// the same parser and the same netlink batch in-process.
//
// Why a thread of its own: setns(CLONE_NEWNET) changes the namespace of the
// calling thread only, and a netlink socket belongs to the namespace of the
// thread that opened it. Each handle owns a pthread that enters the target
// namespace once, opens its nft context there and then serves jobs, so no
// Node thread ever changes namespace. The same thread also writes /proc/sys
// files and reads /proc/thread-self/net files (both resolve against the
// calling thread's namespace).
//
// libnftables is loaded with dlopen: Debian ships libnftables.so.1 with the
// nft binary but the headers only in libnftables-dev, so the few entry points
// are declared here.
#define _GNU_SOURCE
#include <node_api.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// From <nftables/libnftables.h>.
#define NFT_CTX_DEFAULT 0
#define NFT_CTX_OUTPUT_JSON (1u << 4)
struct nft_ctx;
static struct nft_ctx *(*p_ctx_new)(uint32_t);
static void (*p_ctx_free)(struct nft_ctx *);
static int (*p_buffer_output)(struct nft_ctx *);
static int (*p_buffer_error)(struct nft_ctx *);
static const char *(*p_get_output)(struct nft_ctx *);
static const char *(*p_get_error)(struct nft_ctx *);
static unsigned int (*p_get_flags)(struct nft_ctx *);
static void (*p_set_flags)(struct nft_ctx *, unsigned int);
static int (*p_run)(struct nft_ctx *, const char *);
static char dl_error[256];
static int dl_loaded = 0;

static int load_lib(void) {
  if (dl_loaded) return dl_loaded > 0;
  void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(dl_error, sizeof dl_error, "dlopen libnftables.so.1: %s", dlerror());
    dl_loaded = -1;
    return 0;
  }
#define SYM(var, name) \
  if (!(*(void **)(&var) = dlsym(h, name))) { snprintf(dl_error, sizeof dl_error, "libnftables lacks %s", name); dl_loaded = -1; return 0; }
  SYM(p_ctx_new, "nft_ctx_new");
  SYM(p_ctx_free, "nft_ctx_free");
  SYM(p_buffer_output, "nft_ctx_buffer_output");
  SYM(p_buffer_error, "nft_ctx_buffer_error");
  SYM(p_get_output, "nft_ctx_get_output_buffer");
  SYM(p_get_error, "nft_ctx_get_error_buffer");
  SYM(p_get_flags, "nft_ctx_output_get_flags");
  SYM(p_set_flags, "nft_ctx_output_set_flags");
  SYM(p_run, "nft_run_cmd_from_buffer");
#undef SYM
  dl_loaded = 1;
  return 1;
}

// Scripts longer than this (a restore, not one connect) are followed by a trim.
#define TRIM_AFTER (64 * 1024)

enum job_kind { JOB_NFT = 0, JOB_NFT_JSON = 1, JOB_WRITE = 2, JOB_READ = 3 };

typedef struct job {
  struct job *next;
  int kind;
  char *a;
  char *b;
  napi_ref cb;
  int ok;
  char *out;
} job_t;

typedef struct worker {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *head, *tail;
  int stop;
  int started;       // 1 ready, -1 failed
  pid_t tid;         // the worker's thread id: `nft monitor` names it as the committing "process"
  char init_err[512];
  char *ns_path;
  struct nft_ctx *ctx;
  napi_threadsafe_function tsfn;
  int has_thread;    // main thread only: pthread_create succeeded
  int pending;       // main thread only
  int closed;        // main thread only
  int tsfn_done;     // main thread only: the tsfn finalizer ran
  int handle_gone;   // main thread only: the JS handle was collected (or never made)
  napi_ref on_closed; // main thread only: close()'s callback
} worker_t;

static char *dupstr(const char *s) {
  size_t n = strlen(s);
  char *r = malloc(n + 1);
  if (r) memcpy(r, s, n + 1);
  return r;
}

static char *fmt_errno(const char *what, const char *arg) {
  char buf[600];
  snprintf(buf, sizeof buf, "%s %s: %s", what, arg, strerror(errno));
  return dupstr(buf);
}

static void run_job(worker_t *w, job_t *j) {
  if (j->kind == JOB_NFT || j->kind == JOB_NFT_JSON) {
    unsigned int flags = p_get_flags(w->ctx);
    p_set_flags(w->ctx, j->kind == JOB_NFT_JSON ? (flags | NFT_CTX_OUTPUT_JSON) : (flags & ~NFT_CTX_OUTPUT_JSON));
    int rc = p_run(w->ctx, j->a);
    // The buffers are rewound by each get: copy them before the next run.
    const char *out = p_get_output(w->ctx);
    const char *err = p_get_error(w->ctx);
    j->ok = rc == 0;
    j->out = dupstr(rc == 0 ? (out ? out : "") : (err && *err ? err : "nft command failed"));
    // A full restore or a JSON listing of thousands of elements leaves
    // megabytes free in this thread's malloc arena; hand them back, or the
    // daemon's RSS stays at its high-water mark after every restart.
    if (j->kind == JOB_NFT_JSON || strlen(j->a) > TRIM_AFTER) malloc_trim(0);
  } else if (j->kind == JOB_WRITE) {
    int fd = open(j->a, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { j->ok = 0; j->out = fmt_errno("open", j->a); return; }
    size_t n = strlen(j->b);
    ssize_t wr = write(fd, j->b, n);
    if (wr < 0 || (size_t)wr != n) { j->ok = 0; j->out = fmt_errno("write", j->a); close(fd); return; }
    close(fd);
    j->ok = 1;
    j->out = dupstr("");
  } else if (j->kind == JOB_READ) {
    // /proc/thread-self/net/... and /proc/sys/net/... resolve against this
    // thread's namespace, so reading them here reads the target's.
    int fd = open(j->a, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { j->ok = 0; j->out = fmt_errno("open", j->a); return; }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
      if (!buf) { close(fd); j->ok = 0; j->out = NULL; return; }
      ssize_t r = read(fd, buf + len, cap - len);
      if (r < 0) { int e = errno; free(buf); close(fd); errno = e; j->ok = 0; j->out = fmt_errno("read", j->a); return; }
      if (r == 0) break;
      len += (size_t)r;
      if (len == cap) { cap *= 2; char *nb = realloc(buf, cap + 1); if (!nb) free(buf); buf = nb; }
    }
    close(fd);
    buf[len] = 0;
    j->ok = 1;
    j->out = buf;
  }
}

static void free_job(job_t *j) {
  free(j->a); free(j->b); free(j->out); free(j);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  int fd = open(w->ns_path, O_RDONLY | O_CLOEXEC);
  const char *fail = NULL;
  if (fd < 0) fail = "open";
  else if (setns(fd, CLONE_NEWNET) != 0) fail = "setns";
  if (fd >= 0) close(fd);
  w->tid = (pid_t)syscall(SYS_gettid);
  if (!fail) {
    w->ctx = p_ctx_new(NFT_CTX_DEFAULT);
    if (!w->ctx) { fail = "nft_ctx_new"; errno = ENOMEM; }
    else { p_buffer_output(w->ctx); p_buffer_error(w->ctx); }
  }
  pthread_mutex_lock(&w->mu);
  if (fail) {
    snprintf(w->init_err, sizeof w->init_err, "%s %s: %s", fail, w->ns_path, strerror(errno));
    w->started = -1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    // Our share of the tsfn, as the last act: its finalizer joins and frees.
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
    return NULL;
  }
  w->started = 1;
  pthread_cond_broadcast(&w->cv);
  int closing = 0;
  // After stop, the jobs already queued still run (close() promises that).
  for (;;) {
    while (!w->head && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->head) break;
    job_t *j = w->head;
    w->head = j->next;
    if (!w->head) w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    run_job(w, j);
    // napi_closing: the environment is going away (process exit) and has
    // closed the tsfn; nobody will read results, and the tsfn must not be
    // used again, not even to release it.
    napi_status st = napi_call_threadsafe_function(w->tsfn, j, napi_tsfn_blocking);
    pthread_mutex_lock(&w->mu);
    if (st != napi_ok) {
      free_job(j);
      closing = 1;
      break;
    }
  }
  while (closing && w->head) {
    job_t *j = w->head;
    w->head = j->next;
    free_job(j);
  }
  w->tail = NULL;
  pthread_mutex_unlock(&w->mu);
  p_ctx_free(w->ctx);
  w->ctx = NULL;
  // The last use of the tsfn. When the callbacks still queued on it have
  // run, its finalizer (tsfn_finalize, on the JS thread) joins this thread,
  // which by then has nothing left to do, and frees the worker.
  if (!closing) napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  worker_t *w = context;
  job_t *j = data;
  if (env) {
    napi_value cb, undef, argv[2];
    napi_get_reference_value(env, j->cb, &cb);
    napi_get_undefined(env, &undef);
    napi_value msg;
    napi_create_string_utf8(env, j->out ? j->out : "out of memory", NAPI_AUTO_LENGTH, &msg);
    if (j->ok && j->out) { napi_get_null(env, &argv[0]); argv[1] = msg; }
    else { argv[0] = msg; argv[1] = undef; }
    napi_delete_reference(env, j->cb);
    w->pending--;
    // A closed handle keeps the loop alive until close()'s callback.
    if (w->pending == 0 && !w->closed) napi_unref_threadsafe_function(env, w->tsfn);
    napi_call_function(env, undef, cb, 2, argv, NULL);
  }
  free_job(j);
}

static void free_worker(worker_t *w) {
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->ns_path);
  free(w);
}

static void request_stop(worker_t *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

// Runs on the JS thread once the tsfn is gone: after the worker released it
// (close(), a collected handle, a failed start), or at environment teardown.
// Node-API's documented place to join the threads that used a tsfn; the
// worker has released its share as its last act, so the join is immediate,
// except at teardown, where a job may still be running: it is asked to stop
// and finishes that one job first. The struct is freed by whichever of this
// and the handle's finalizer comes last.
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  worker_t *w = data;
  if (w->has_thread) {
    request_stop(w);
    pthread_join(w->thread, NULL);
  }
  if (w->on_closed) {
    napi_value cb, undef;
    if (env && napi_get_reference_value(env, w->on_closed, &cb) == napi_ok && cb &&
        napi_get_undefined(env, &undef) == napi_ok) {
      napi_call_function(env, undef, cb, 0, NULL, NULL);
    }
    if (env) napi_delete_reference(env, w->on_closed);
    w->on_closed = NULL;
  }
  w->tsfn_done = 1;
  if (w->handle_gone) free_worker(w);
}

// The JS handle was collected. A handle never closed stops its worker here,
// without waiting: tsfn_finalize joins it later.
static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  worker_t *w = data;
  w->handle_gone = 1;
  if (!w->closed) {
    w->closed = 1;
    request_stop(w);
  }
  if (w->tsfn_done) free_worker(w);
}

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static char *get_string(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  return s;
}

// open(nsPath: string): handle
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_err(env, "open(nsPath) needs a path");
  if (!load_lib()) return throw_err(env, dl_error);
  worker_t *w = calloc(1, sizeof *w);
  if (!w) return throw_err(env, "out of memory");
  w->ns_path = get_string(env, argv[0]);
  if (!w->ns_path) { free(w); return throw_err(env, "nsPath must be a string"); }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  napi_value name;
  napi_create_string_utf8(env, "cnm-nft", NAPI_AUTO_LENGTH, &name);
  // One thread count: the worker's, released by it as it exits.
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, w, tsfn_finalize, w, call_js, &w->tsfn) != napi_ok) {
    free_worker(w);
    return throw_err(env, "napi_create_threadsafe_function failed");
  }
  napi_unref_threadsafe_function(env, w->tsfn);
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    w->handle_gone = 1;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort); // tsfn_finalize frees w
    return throw_err(env, "pthread_create failed");
  }
  w->has_thread = 1;
  // Entering the namespace and making the nft context take well under a
  // millisecond; waiting here lets open() report a bad path at once.
  pthread_mutex_lock(&w->mu);
  while (w->started == 0) pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
  if (w->started < 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", w->init_err);
    w->closed = 1;
    w->handle_gone = 1; // no handle: tsfn_finalize frees w
    return throw_err(env, msg);
  }
  napi_value handle;
  if (napi_create_external(env, w, finalize_handle, NULL, &handle) != napi_ok) {
    w->closed = 1;
    w->handle_gone = 1;
    request_stop(w);
    return throw_err(env, "napi_create_external failed");
  }
  return handle;
}

// submit(handle, kind: number, a: string, b: string, cb: (err, out) => void)
static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return throw_err(env, "submit(handle, kind, a, b, cb)");
  worker_t *w;
  if (napi_get_value_external(env, argv[0], (void **)&w) != napi_ok) return throw_err(env, "bad handle");
  if (w->closed) return throw_err(env, "handle is closed");
  int32_t kind;
  if (napi_get_value_int32(env, argv[1], &kind) != napi_ok || kind < JOB_NFT || kind > JOB_READ) return throw_err(env, "bad job kind");
  job_t *j = calloc(1, sizeof *j);
  if (!j) return throw_err(env, "out of memory");
  j->kind = kind;
  j->a = get_string(env, argv[2]);
  j->b = get_string(env, argv[3]);
  if (!j->a || !j->b) { free(j->a); free(j->b); free(j); return throw_err(env, "arguments must be strings"); }
  napi_create_reference(env, argv[4], 1, &j->cb);
  if (w->pending++ == 0) napi_ref_threadsafe_function(env, w->tsfn);
  pthread_mutex_lock(&w->mu);
  if (w->tail) w->tail->next = j; else w->head = j;
  w->tail = j;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

// close(handle, done: () => void): the worker finishes the jobs already
// queued, then exits; done() is called once their callbacks have run and the
// thread is gone. Returns at once: a restore of thousands of elements may
// keep the worker busy for a second, and joining it here would stall the
// event loop that long.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_err(env, "close(handle, done)");
  worker_t *w;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&w) != napi_ok) return throw_err(env, "bad handle");
  napi_valuetype t = napi_undefined;
  if (argc >= 2 && napi_typeof(env, argv[1], &t) != napi_ok) return throw_err(env, "close(handle, done)");
  if (t != napi_undefined && t != napi_function) return throw_err(env, "close(handle, done): done must be a function");
  if (w->closed) return NULL;
  if (t == napi_function && napi_create_reference(env, argv[1], 1, &w->on_closed) != napi_ok) {
    return throw_err(env, "napi_create_reference failed");
  }
  // Keep the loop alive until done() runs; the worker has not released the
  // tsfn yet (it waits for the stop below), so the tsfn is still valid.
  napi_ref_threadsafe_function(env, w->tsfn);
  w->closed = 1;
  request_stop(w);
  return NULL;
}

// tid(handle): the kernel reports the committing task of a transaction
// (NFTA_GEN_PROC_PID) by its thread id, which for this worker is not the
// process id.
static napi_value js_tid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  worker_t *w;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&w) != napi_ok) return throw_err(env, "bad handle");
  napi_value r;
  napi_create_int32(env, (int32_t)w->tid, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "submit", NULL, js_submit, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "tid", NULL, js_tid, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
