/* Fault injection at run time: the process's table of rules and what
 * each backend call does under one. The rules' file is fault-rules.c.
 *
 * A volatile device keeps written data in 4 KiB blocks in memory, with
 * its own descriptor for writing them back: a flush or FUA write writes
 * back (and syncs) what it must, so a process killed with SIGKILL loses
 * exactly the writes that nothing made durable, as a power cut loses a
 * disk's write cache. While the cache is over its bound, writes push out
 * other blocks first, in no particular order: a real cache may write back
 * whenever it likes, and the durability contract must hold whatever it
 * picks. */
#include "fault.h"
#include "backend.h"
#include "../util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CBLOCK 4096u

struct cblock {
	uint64_t no;
	struct cblock *next;
	unsigned char data[CBLOCK];
};

struct fault_dev {
	struct fault_rule rule;
	uint64_t seen; /* matching I/Os so far (atomic) */
	uint64_t hit;  /* affected so far (atomic) */
	/* FAULT_VOLATILE */
	pthread_mutex_t lock;
	int wfd;
	struct cblock **hash;
	size_t hsize, nblocks;
	struct fault_dev *next;
};

int fault_active;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct fault_dev *table;
static char *damaged; /* why the rules could not be read, or NULL */

/* ---- the table ------------------------------------------------------ */

static void update_active(void)
{
	__atomic_store_n(&fault_active, table || damaged, __ATOMIC_RELEASE);
}

static bool same_device(const struct fault_rule *r, const struct backend *be)
{
	if (r->is_blockdev != be->is_blockdev)
		return false;
	return r->is_blockdev ? r->dev == be->dev
			      : r->dev == be->dev && r->ino == be->ino;
}

/* table_lock held */
static struct fault_dev *lookup(const struct backend *be)
{
	for (struct fault_dev *d = table; d; d = d->next)
		if (same_device(&d->rule, be))
			return d;
	return NULL;
}

static int cache_write_back(struct fault_dev *d, bool sync);

static void dev_free(struct fault_dev *d)
{
	if (!d)
		return;
	if (d->hash) {
		for (size_t i = 0; i < d->hsize; i++)
			while (d->hash[i]) {
				struct cblock *b = d->hash[i];
				d->hash[i] = b->next;
				free(b);
			}
		free(d->hash);
	}
	if (d->wfd >= 0)
		close(d->wfd);
	pthread_mutex_destroy(&d->lock);
	free(d->rule.path);
	free(d);
}

/* Resolve the rule's device from its path: st_rdev for a block device,
 * st_dev and st_ino for a file. */
int fault_resolve(struct fault_rule *r)
{
	struct stat st;
	if (stat(r->path, &st))
		return ipstor_fail(-errno, "cannot open '%s': %s", r->path,
				   strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		r->is_blockdev = true;
		r->dev = st.st_rdev;
		r->ino = 0;
	} else if (S_ISREG(st.st_mode)) {
		r->is_blockdev = false;
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	} else {
		return ipstor_fail(-EOPNOTSUPP,
				   "'%s' is neither a block device nor a "
				   "regular file",
				   r->path);
	}
	return 0;
}

static int dev_new(const struct fault_rule *rule, struct fault_dev **out)
{
	struct fault_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->rule = *rule;
	d->wfd = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->rule.path = strdup(rule->path);
	if (!d->rule.path) {
		dev_free(d);
		return -ENOMEM;
	}
	if (rule->action == FAULT_VOLATILE) {
		/* its own descriptor: write-back must not depend on which
		 * backend happens to flush */
		d->wfd = open(rule->path, O_RDWR | O_CLOEXEC);
		d->hsize = 1024;
		d->hash = calloc(d->hsize, sizeof(*d->hash));
		if (d->wfd < 0 || !d->hash) {
			int e = d->wfd < 0 ? -errno : -ENOMEM;
			dev_free(d);
			return ipstor_fail(e, "cannot open '%s': %s",
					   rule->path, strerror(-e));
		}
	}
	*out = d;
	return 0;
}

/* Replace the table by 'rules' (n of them), or mark it damaged. A
 * volatile device that stays volatile keeps its cache; one that stops
 * being volatile writes it back first (the device was healed, not
 * unplugged). */
int fault_table_replace(const struct fault_rule *rules, size_t n,
			const char *damage)
{
	struct fault_dev *fresh = NULL, **tail = &fresh;
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct fault_dev *d = NULL;
		r = dev_new(&rules[i], &d);
		if (!r) {
			*tail = d;
			tail = &d->next;
		}
	}
	if (r) {
		while (fresh) {
			struct fault_dev *d = fresh;
			fresh = d->next;
			dev_free(d);
		}
		return r;
	}
	pthread_rwlock_wrlock(&table_lock);
	struct fault_dev *old = table;
	for (struct fault_dev *d = fresh; d; d = d->next) {
		for (struct fault_dev **o = &old; *o; o = &(*o)->next) {
			struct fault_dev *od = *o;
			if (od->rule.dev != d->rule.dev ||
			    od->rule.ino != d->rule.ino ||
			    od->rule.is_blockdev != d->rule.is_blockdev)
				continue;
			if (od->rule.action == FAULT_VOLATILE &&
			    d->rule.action == FAULT_VOLATILE) {
				/* keep the cache and its descriptor */
				struct cblock **h = d->hash;
				size_t hs = d->hsize;
				int fd = d->wfd;
				d->hash = od->hash;
				d->hsize = od->hsize;
				d->nblocks = od->nblocks;
				d->wfd = od->wfd;
				od->hash = h;
				od->hsize = hs;
				od->nblocks = 0;
				od->wfd = fd;
			}
			if (!memcmp(&od->rule.action, &d->rule.action,
				    sizeof(d->rule) -
					    offsetof(struct fault_rule,
						     action))) {
				/* the same rule: its counters go on */
				d->seen = od->seen;
				d->hit = od->hit;
			}
			break;
		}
	}
	for (struct fault_dev *d = old; d; d = d->next)
		if (d->rule.action == FAULT_VOLATILE && d->nblocks)
			(void)cache_write_back(d, true);
	table = fresh;
	free(damaged);
	damaged = damage ? strdup(damage) : NULL;
	update_active();
	pthread_rwlock_unlock(&table_lock);
	while (old) {
		struct fault_dev *d = old;
		old = d->next;
		dev_free(d);
	}
	return 0;
}

/* ---- deciding ------------------------------------------------------- */

/* Does the rule affect this I/O? Counts it if it matches. A flush has
 * no range: rules limited to one (bad sectors) leave it alone. */
static bool affects(struct fault_dev *d, unsigned op, uint64_t off,
		    uint64_t len)
{
	const struct fault_rule *r = &d->rule;
	if (!(r->ops & op))
		return false;
	if (r->len && (!len || off >= r->off + r->len || off + len <= r->off))
		return false;
	uint64_t n = __atomic_fetch_add(&d->seen, 1, __ATOMIC_RELAXED);
	if (n < r->after)
		return false;
	uint64_t h = __atomic_fetch_add(&d->hit, 1, __ATOMIC_RELAXED);
	return !r->count || h < r->count;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int fault_open_check(const char *path)
{
	pthread_rwlock_rdlock(&table_lock);
	int r = 0;
	if (damaged)
		r = ipstor_fail(-EUCLEAN, "cannot open '%s': %s", path,
				damaged);
	pthread_rwlock_unlock(&table_lock);
	return r;
}

/* ---- the volatile cache (d->lock held) ------------------------------- */

static struct cblock *cache_find(struct fault_dev *d, uint64_t no)
{
	for (struct cblock *b = d->hash[no % d->hsize]; b; b = b->next)
		if (b->no == no)
			return b;
	return NULL;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Blocks may run past the end of a device whose size is not a multiple
 * of CBLOCK: write back only what lies inside it. */
static int block_write_back(struct fault_dev *d, struct cblock *b,
			    uint64_t dev_size)
{
	uint64_t off = b->no * CBLOCK;
	if (off >= dev_size)
		return 0;
	size_t n = dev_size - off < CBLOCK ? (size_t)(dev_size - off) : CBLOCK;
	return write_full(d->wfd, b->data, n, off);
}

static uint64_t wfd_size(struct fault_dev *d)
{
	struct stat st;
	if (fstat(d->wfd, &st))
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	off_t end = lseek(d->wfd, 0, SEEK_END);
	return end > 0 ? (uint64_t)end : 0;
}

static void cache_remove(struct fault_dev *d, struct cblock *b)
{
	for (struct cblock **p = &d->hash[b->no % d->hsize]; *p;
	     p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			d->nblocks--;
			free(b);
			return;
		}
}

/* Write back every block (and sync when asked). On failure, what was not
 * written stays cached. */
static int cache_write_back(struct fault_dev *d, bool sync)
{
	uint64_t size = wfd_size(d);
	for (size_t i = 0; i < d->hsize; i++)
		while (d->hash[i]) {
			struct cblock *b = d->hash[i];
			int r = block_write_back(d, b, size);
			if (r)
				return r;
			d->hash[i] = b->next;
			d->nblocks--;
			free(b);
		}
	return sync && fdatasync(d->wfd) ? -errno : 0;
}

/* Push blocks out until the cache is within its bound. */
static int cache_trim(struct fault_dev *d)
{
	uint64_t max = d->rule.cache_max / CBLOCK;
	if (d->nblocks <= max)
		return 0;
	uint64_t size = wfd_size(d);
	for (size_t i = 0; i < d->hsize && d->nblocks > max; i++)
		while (d->hash[i] && d->nblocks > max) {
			struct cblock *b = d->hash[i];
			int r = block_write_back(d, b, size);
			if (r)
				return r;
			d->hash[i] = b->next;
			d->nblocks--;
			free(b);
		}
	return 0;
}

/* The cached block no, read in from the device first if new. */
static int cache_get(struct fault_dev *d, struct backend *be, uint64_t no,
		     struct cblock **out)
{
	struct cblock *b = cache_find(d, no);
	if (!b) {
		b = malloc(sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->no = no;
		memset(b->data, 0, CBLOCK);
		uint64_t off = no * CBLOCK;
		if (off < be->size) {
			size_t n = be->size - off < CBLOCK
					   ? (size_t)(be->size - off)
					   : CBLOCK;
			int r = be->ops->pread(be, b->data, n, off);
			if (r) {
				free(b);
				return r;
			}
		}
		b->next = d->hash[no % d->hsize];
		d->hash[no % d->hsize] = b;
		d->nblocks++;
	}
	*out = b;
	return 0;
}

static int cache_pwrite(struct fault_dev *d, struct backend *be,
			const void *buf, size_t len, uint64_t off, bool fua)
{
	const unsigned char *p = buf;
	uint64_t first = off / CBLOCK, last = (off + len - 1) / CBLOCK;
	for (uint64_t no = first; len && no <= last; no++) {
		struct cblock *b;
		int r = cache_get(d, be, no, &b);
		if (r)
			return r;
		uint64_t bs = no * CBLOCK;
		uint64_t from = off > bs ? off - bs : 0;
		uint64_t to = off + len < bs + CBLOCK ? off + len - bs : CBLOCK;
		memcpy(b->data + from, p + (bs + from - off), to - from);
	}
	if (fua) {
		uint64_t size = wfd_size(d);
		for (uint64_t no = first; len && no <= last; no++) {
			struct cblock *b = cache_find(d, no);
			int r = block_write_back(d, b, size);
			if (r)
				return r;
			cache_remove(d, b);
		}
		return fdatasync(d->wfd) ? -errno : 0;
	}
	return cache_trim(d);
}

static int cache_pread(struct fault_dev *d, struct backend *be, void *buf,
		       size_t len, uint64_t off)
{
	int r = be->ops->pread(be, buf, len, off);
	if (r || !d->nblocks)
		return r;
	unsigned char *p = buf;
	uint64_t first = off / CBLOCK, last = (off + len - 1) / CBLOCK;
	for (uint64_t no = first; len && no <= last; no++) {
		struct cblock *b = cache_find(d, no);
		if (!b)
			continue;
		uint64_t bs = no * CBLOCK;
		uint64_t from = off > bs ? off - bs : 0;
		uint64_t to = off + len < bs + CBLOCK ? off + len - bs : CBLOCK;
		memcpy(p + (bs + from - off), b->data + from, to - from);
	}
	return 0;
}

/* Zeroing or discarding passes to the device at once; cached blocks in
 * the range are cut to match, so a later write-back cannot undo it. */
static void cache_punch(struct fault_dev *d, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	uint64_t first = off / CBLOCK, last = (off + len - 1) / CBLOCK;
	for (uint64_t no = first; no <= last; no++) {
		struct cblock *b = cache_find(d, no);
		if (!b)
			continue;
		uint64_t bs = no * CBLOCK;
		uint64_t from = off > bs ? off - bs : 0;
		uint64_t to = off + len < bs + CBLOCK ? off + len - bs : CBLOCK;
		if (from == 0 && to == CBLOCK)
			cache_remove(d, b);
		else
			memset(b->data + from, 0, to - from);
	}
}

/* ---- the hooks ------------------------------------------------------ */

/* Take the table and the backend's rule; NULL (and the table released)
 * when the device has none. */
static struct fault_dev *rule_of(struct backend *be, int *err)
{
	*err = 0;
	pthread_rwlock_rdlock(&table_lock);
	if (damaged) {
		*err = -EUCLEAN;
		pthread_rwlock_unlock(&table_lock);
		return NULL;
	}
	struct fault_dev *d = lookup(be);
	if (!d)
		pthread_rwlock_unlock(&table_lock);
	return d;
}

static void rule_done(void)
{
	pthread_rwlock_unlock(&table_lock);
}

int fault_pread(struct backend *be, void *buf, size_t len, uint64_t off)
{
	int r;
	struct fault_dev *d = rule_of(be, &r);
	if (!d)
		return r ? r : be->ops->pread(be, buf, len, off);
	if (d->rule.action == FAULT_VOLATILE) {
		pthread_mutex_lock(&d->lock);
		r = cache_pread(d, be, buf, len, off);
		pthread_mutex_unlock(&d->lock);
	} else if (!affects(d, FAULT_OPS_READ, off, len) ||
		   d->rule.action == FAULT_DROP) {
		r = be->ops->pread(be, buf, len, off);
	} else if (d->rule.action == FAULT_DELAY) {
		sleep_ms(d->rule.delay_ms);
		r = be->ops->pread(be, buf, len, off);
	} else {
		r = -EIO;
	}
	rule_done();
	return r;
}

int fault_pwrite(struct backend *be, const void *buf, size_t len,
		 uint64_t off, bool fua)
{
	int r;
	struct fault_dev *d = rule_of(be, &r);
	if (!d)
		return r ? r : be->ops->pwrite(be, buf, len, off, fua);
	if (d->rule.action == FAULT_VOLATILE) {
		pthread_mutex_lock(&d->lock);
		r = cache_pwrite(d, be, buf, len, off, fua);
		pthread_mutex_unlock(&d->lock);
	} else if (!affects(d, FAULT_OPS_WRITE, off, len)) {
		r = be->ops->pwrite(be, buf, len, off, fua);
	} else if (d->rule.action == FAULT_DELAY) {
		sleep_ms(d->rule.delay_ms);
		r = be->ops->pwrite(be, buf, len, off, fua);
	} else {
		r = d->rule.action == FAULT_DROP ? 0 : -EIO;
	}
	rule_done();
	return r;
}

int fault_flush(struct backend *be)
{
	int r;
	struct fault_dev *d = rule_of(be, &r);
	if (!d)
		return r ? r : be->ops->flush(be);
	if (d->rule.action == FAULT_VOLATILE) {
		pthread_mutex_lock(&d->lock);
		r = cache_write_back(d, true);
		pthread_mutex_unlock(&d->lock);
		if (!r)
			r = be->ops->flush(be);
	} else if (!affects(d, FAULT_OPS_WRITE, 0, 0)) {
		r = be->ops->flush(be);
	} else if (d->rule.action == FAULT_DELAY) {
		sleep_ms(d->rule.delay_ms);
		r = be->ops->flush(be);
	} else {
		/* a dropping device claims its flushes too */
		r = d->rule.action == FAULT_DROP ? 0 : -EIO;
	}
	rule_done();
	return r;
}

static int zero_or_discard(struct backend *be, uint64_t off, uint64_t len,
			   bool zero)
{
	int r;
	struct fault_dev *d = rule_of(be, &r);
#define PASS() (zero ? be->ops->zero(be, off, len) : be->ops->discard(be, off, len))
	if (!d)
		return r ? r : PASS();
	if (d->rule.action == FAULT_VOLATILE) {
		pthread_mutex_lock(&d->lock);
		cache_punch(d, off, len);
		r = PASS();
		pthread_mutex_unlock(&d->lock);
	} else if (!affects(d, FAULT_OPS_WRITE, off, len)) {
		r = PASS();
	} else if (d->rule.action == FAULT_DELAY) {
		sleep_ms(d->rule.delay_ms);
		r = PASS();
	} else {
		r = d->rule.action == FAULT_DROP ? 0 : -EIO;
	}
#undef PASS
	rule_done();
	return r;
}

int fault_zero(struct backend *be, uint64_t off, uint64_t len)
{
	return zero_or_discard(be, off, len, true);
}

int fault_discard(struct backend *be, uint64_t off, uint64_t len)
{
	return zero_or_discard(be, off, len, false);
}

/* ---- reporting ------------------------------------------------------ */

/* Live counters of the table's rule for this device (0 if none). */
void fault_counters(const struct fault_rule *rule, uint64_t *seen,
		    uint64_t *hit, uint64_t *cached)
{
	*seen = *hit = *cached = 0;
	pthread_rwlock_rdlock(&table_lock);
	for (struct fault_dev *d = table; d; d = d->next)
		if (d->rule.is_blockdev == rule->is_blockdev &&
		    d->rule.dev == rule->dev && d->rule.ino == rule->ino) {
			*seen = __atomic_load_n(&d->seen, __ATOMIC_RELAXED);
			*hit = __atomic_load_n(&d->hit, __ATOMIC_RELAXED);
			pthread_mutex_lock(&d->lock);
			*cached = (uint64_t)d->nblocks * CBLOCK;
			pthread_mutex_unlock(&d->lock);
		}
	pthread_rwlock_unlock(&table_lock);
}
