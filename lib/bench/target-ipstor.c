/* ipstor://HOST[:PORT]/EXPORT[?secret-file=PATH]: a volume exported over
 * ipstor's UDP block protocol (docs/protocol.md), through the client
 * library. Each worker gets its own client and so its own session, as
 * nbd:// gets a connection per worker; I/Os are submitted asynchronously
 * and complete on the client's network thread, which hands them to
 * reap() through a small locked ring. */
#include "target.h"
#include "../proto/udp/auth.h"
#include "../proto/udp/udp.h"
#include "../proto/udp/wire.h"
#include "../util/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ipstor_target {
	char *uri;
	uint8_t secret[IBP_SECRET_MAX + 1];
	size_t secret_len;
};

struct ipstor_queue {
	struct ibp_client *c;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned depth, head, n;
	struct bench_io **done;
};

struct pending {
	struct ipstor_queue *q;
	struct bench_io *io;
};

static int connect_client(struct bench_target *t, struct ibp_client **out)
{
	struct ipstor_target *it = t->priv;
	struct ibp_client_opts o = {.secret = it->secret,
				    .secret_len = it->secret_len,
				    .timeout_ms = 10000};
	int r = ibp_client_connect(it->uri, &o, out);
	if (r == -ETIMEDOUT || r == -ECONNREFUSED)
		return ipstor_fail(-ENXIO, "cannot connect to '%s': no answer",
				   t->name);
	return r;
}

static void ipstor_close(struct bench_target *t);

static int ipstor_open(struct bench_target *t, const char *spec,
		       const struct bench_target_opts *o)
{
	struct ipstor_target *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	/* the scheme was cut off: put it back, and take the secret out */
	size_t n = strlen(spec);
	it->uri = malloc(n + sizeof("ipstor://"));
	if (!it->uri) {
		free(it);
		return -ENOMEM;
	}
	snprintf(it->uri, n + sizeof("ipstor://"), "ipstor://%s", spec);
	char *q = strchr(it->uri, '?');
	int r = 0;
	if (q) {
		*q++ = '\0';
		if (strncmp(q, "secret-file=", 12))
			r = ipstor_fail(-EINVAL, "target '%s': unknown "
					"parameter (known: secret-file=PATH)",
					t->name);
		else
			r = ibp_secret_read(q + 12, it->secret,
					    &it->secret_len);
	}
	t->priv = it;
	struct ibp_client *c = NULL;
	if (!r)
		r = connect_client(t, &c);
	struct ibp_client_info in;
	if (!r) {
		ibp_client_info(c, &in);
		ibp_client_close(c);
		if (o->writes && in.read_only)
			r = ipstor_fail(-EPERM, "target '%s' is read-only and "
					"the spec writes", t->name);
	}
	if (r) { /* the caller frees t, not what it points to */
		ipstor_close(t);
		t->priv = NULL;
		return r;
	}
	t->size = in.size;
	t->engine = "ipstor-udp";
	t->caps = BENCH_CAP_ASYNC | BENCH_CAP_DATA;
	return 0;
}

static void ipstor_close(struct bench_target *t)
{
	struct ipstor_target *it = t->priv;
	if (!it)
		return;
	explicit_bzero(it->secret, sizeof(it->secret));
	free(it->uri);
	free(it);
}

static void queue_close(void *q)
{
	struct ipstor_queue *iq = q;
	if (!iq)
		return;
	ibp_client_close(iq->c); /* fails what is left, then returns */
	pthread_mutex_destroy(&iq->lock);
	pthread_cond_destroy(&iq->cond);
	free(iq->done);
	free(iq);
}

static int queue_open(struct bench_target *t, unsigned depth, void **q)
{
	struct ipstor_queue *iq = calloc(1, sizeof(*iq));
	if (!iq)
		return -ENOMEM;
	pthread_mutex_init(&iq->lock, NULL);
	pthread_cond_init(&iq->cond, NULL);
	iq->depth = depth;
	iq->done = calloc(depth, sizeof(*iq->done));
	int r = iq->done ? connect_client(t, &iq->c) : -ENOMEM;
	if (r) {
		queue_close(iq);
		return r;
	}
	*q = iq;
	return 0;
}

static void completed(void *data, int status);

static int submit(void *q, struct bench_io *io)
{
	struct ipstor_queue *iq = q;
	struct pending *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->q = iq;
	p->io = io;
	int r = ibp_submit(iq->c, io->op == BENCH_READ ? IBP_OP_READ
						       : IBP_OP_WRITE,
			   0, io->off, io->len, io->buf, completed, p);
	if (r) {
		free(p);
		io->status = r;
		pthread_mutex_lock(&iq->lock);
		iq->done[(iq->head + iq->n++) % iq->depth] = io;
		pthread_mutex_unlock(&iq->lock);
	}
	return 0;
}

static void completed(void *data, int status)
{
	struct pending *p = data;
	struct ipstor_queue *iq = p->q;
	p->io->status = status;
	pthread_mutex_lock(&iq->lock);
	iq->done[(iq->head + iq->n++) % iq->depth] = p->io;
	pthread_cond_signal(&iq->cond);
	pthread_mutex_unlock(&iq->lock);
	free(p);
}

static int reap(void *q, struct bench_io **done, unsigned max, bool wait)
{
	struct ipstor_queue *iq = q;
	pthread_mutex_lock(&iq->lock);
	while (wait && !iq->n)
		pthread_cond_wait(&iq->cond, &iq->lock);
	unsigned n = 0;
	while (n < max && iq->n) {
		done[n++] = iq->done[iq->head];
		iq->head = (iq->head + 1) % iq->depth;
		iq->n--;
	}
	pthread_mutex_unlock(&iq->lock);
	return (int)n;
}

const struct bench_target_ops bench_ipstor_ops = {
	.kind = "ipstor",
	.open = ipstor_open,
	.close = ipstor_close,
	.queue_open = queue_open,
	.submit = submit,
	.reap = reap,
	.queue_close = queue_close,
};
