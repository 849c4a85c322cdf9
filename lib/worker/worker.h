/* The worker: the single writer of the pools it has open. It serves the
 * control socket (operations from the ipstor command) and the exports. */
#ifndef IPSTOR_WORKER_H
#define IPSTOR_WORKER_H
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "../ipstor.h"

struct wpool {
	struct ipstor_pool *p;
	int users; /* operations holding it */
	struct wpool *next;
};

struct exports; /* exports.c */

struct worker {
	struct ipstor_ctx *ctx;
	pthread_mutex_t lock; /* pools list, counters */
	pthread_cond_t idle;  /* a control thread finished */
	struct wpool *pools;
	/* management operations run one at a time; data ones in parallel */
	pthread_mutex_t admin;
	int control_threads;
	bool stopping;
	int64_t started;
	struct worker_log {
		pthread_mutex_t lock;
		FILE *f;
		bool journal;	 /* stderr is systemd's journal: <N> prefixes */
		char path[4096]; /* "": stderr */
	} log;
	struct exports *exports;
	struct ipstor_pool_source source;
};

/* log.c: info, or a level of enum ipstor_log_level */
void wlog(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void wlog_at(struct worker *w, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* to path, or stderr (NULL, or path cannot be opened) */
void worker_log_open(struct worker *w, const char *path);
/* SIGUSR1: open the path again (logrotate moved the file) */
int worker_log_reopen(struct worker *w);
void worker_log_close(struct worker *w);

/* notify.c: "READY=1", "RELOADING=1", "STOPPING=1" to systemd */
void worker_notify(const char *state);

/* pools.c */
void worker_source(struct worker *w, struct ipstor_pool_source *out);
int worker_open_all(struct worker *w);
void worker_close_all(struct worker *w);
void worker_start_mirrors(struct worker *w);
struct json_object *worker_pools_json(struct worker *w);

/* control.c: one control connection, on its own thread. The thread
 * running a management operation holds w->admin (worker_admin_held). */
extern __thread bool worker_admin_held;
void *control_thread(void *arg);
struct control_conn {
	struct worker *w;
	int fd;
};

/* exports.c */
int exports_start(struct worker *w);
/* Bring served exports in line with the pools' metadata. */
int exports_reconcile(struct worker *w);
void exports_stop(struct worker *w);
/* The pool source's quiesce (see ipstor.h): data is the worker. */
int exports_quiesce(void *data, struct ipstor_pool *p, const char *vol,
		    bool begin);
struct json_object *exports_json(struct worker *w);

#endif
