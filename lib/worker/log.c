/* The worker's log, in a form each destination understands:
 *
 *   STATE/worker.log, when the worker runs in the background:
 *       2026-11-24T02:20:00Z ipstor-worker[4242]: warning: MESSAGE
 *   and SIGUSR1 reopens it, so that logrotate can move it away;
 *
 *   standard error under systemd (JOURNAL_STREAM names it): "<4>MESSAGE",
 *   the syslog priority that journald reads from the line's start
 *   (journald adds the time, the pid and the unit itself);
 *
 *   standard error otherwise (--foreground on a terminal, in a file): the
 *   format of worker.log.
 *
 * Warnings say "warning: ", errors "error: ", in every form, so that grep
 * finds them where priorities are lost. */
#include "worker.h"
#include "../ctx.h"
#include "../util/timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Is fd the stream systemd connected to the journal? */
static bool is_journal(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;
	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(fd, &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void worker_log_open(struct worker *w, const char *path)
{
	struct worker_log *l = &w->log;
	pthread_mutex_init(&l->lock, NULL);
	l->f = NULL;
	l->path[0] = '\0';
	if (path && (size_t)snprintf(l->path, sizeof(l->path), "%s", path) <
			    sizeof(l->path))
		l->f = fopen(path, "ae");
	if (!l->f) {
		l->path[0] = '\0';
		l->f = stderr;
	}
	l->journal = l->f == stderr && is_journal(STDERR_FILENO);
}

int worker_log_reopen(struct worker *w)
{
	struct worker_log *l = &w->log;
	if (!l->path[0])
		return 0; /* stderr: whoever holds it rotates it */
	FILE *f = fopen(l->path, "ae");
	if (!f)
		return -errno;
	pthread_mutex_lock(&l->lock);
	FILE *old = l->f;
	l->f = f;
	pthread_mutex_unlock(&l->lock);
	fclose(old);
	return 0;
}

void worker_log_close(struct worker *w)
{
	struct worker_log *l = &w->log;
	if (l->f && l->f != stderr)
		fclose(l->f);
	l->f = NULL;
	pthread_mutex_destroy(&l->lock);
}

static int syslog_priority(int level)
{
	switch (level) {
	case IPSTOR_LOG_ERR:
		return 3;
	case IPSTOR_LOG_WARN:
		return 4;
	case IPSTOR_LOG_INFO:
		return 6;
	default:
		return 7;
	}
}

static const char *label(int level)
{
	return level == IPSTOR_LOG_ERR	  ? "error: "
	       : level == IPSTOR_LOG_WARN ? "warning: "
					  : "";
}

static void vlog_at(struct worker *w, int level, const char *fmt, va_list ap)
{
	struct worker_log *l = &w->log;
	char msg[1024], t[32];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one record, one line: a newline in a message must not forge the
	 * next one */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&l->lock);
	if (l->journal)
		fprintf(l->f, "<%d>%s%s\n", syslog_priority(level),
			label(level), msg);
	else
		fprintf(l->f, "%s ipstor-worker[%d]: %s%s\n",
			time_format_rfc3339((int64_t)time(NULL), t, sizeof(t)),
			(int)getpid(), label(level), msg);
	fflush(l->f);
	pthread_mutex_unlock(&l->lock);
}

void wlog_at(struct worker *w, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_at(w, level, fmt, ap);
	va_end(ap);
}

void wlog(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_at(w, IPSTOR_LOG_INFO, fmt, ap);
	va_end(ap);
}
