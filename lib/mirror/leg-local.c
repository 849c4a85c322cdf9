/* Local legs: the volume's own map (leg 0), a hidden thick volume in a
 * pool (this one or another), a raw device or file used linearly behind
 * a one-block header. */
#include "rt.h"
#include "leg-dev.h"
#include "../vol/vol.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- leg 0: the volume's map ------------------------------------------ */

static int map_pread(struct mleg *l, void *buf, size_t len, uint64_t off)
{
	return vol_map_pread(l->m->self, buf, len, off);
}

static int map_pwrite(struct mleg *l, const void *buf, size_t len,
		      uint64_t off, bool fua)
{
	return vol_map_pwrite(l->m->self, buf, len, off,
			      fua ? IPSTOR_IO_FUA : 0);
}

static int map_flush(struct mleg *l)
{
	return pool_commit(l->m->p);
}

static int map_zero(struct mleg *l, uint64_t off, uint64_t len)
{
	return vol_map_zero(l->m->self, len, off, 0);
}

static int map_locate(struct mleg *l, uint64_t off, uint64_t len, bool write,
		      struct leg_extent *e)
{
	return vol_map_locate(l->m->self, off, len, write, &e->be, &e->at,
			      &e->len);
}

static pthread_rwlock_t *map_io_lock(struct mleg *l)
{
	return &l->m->p->io_lock;
}

const struct leg_ops leg_map_ops = {
	.pread = map_pread,
	.pwrite = map_pwrite,
	.flush = map_flush,
	.zero = map_zero,
	.locate = map_locate,
	.io_lock = map_io_lock,
};

int leg_map_open(struct mleg *l)
{
	l->ops = &leg_map_ops;
	return 0;
}

/* ---- a hidden volume in a pool ------------------------------------------ */

struct vol_leg {
	struct ipstor_pool *q;
	struct ipstor_vol *vol;
};

static int vleg_pread(struct mleg *l, void *buf, size_t len, uint64_t off)
{
	struct vol_leg *vl = l->priv;
	return vol_map_pread(vl->vol, buf, len, off);
}

static int vleg_pwrite(struct mleg *l, const void *buf, size_t len,
		       uint64_t off, bool fua)
{
	struct vol_leg *vl = l->priv;
	return vol_map_pwrite(vl->vol, buf, len, off, fua ? IPSTOR_IO_FUA : 0);
}

static int vleg_flush(struct mleg *l)
{
	struct vol_leg *vl = l->priv;
	return pool_commit(vl->q);
}

static int vleg_zero(struct mleg *l, uint64_t off, uint64_t len)
{
	struct vol_leg *vl = l->priv;
	return vol_map_zero(vl->vol, len, off, IPSTOR_IO_NO_HOLE);
}

static int vleg_locate(struct mleg *l, uint64_t off, uint64_t len,
		       bool write, struct leg_extent *e)
{
	struct vol_leg *vl = l->priv;
	return vol_map_locate(vl->vol, off, len, write, &e->be, &e->at,
			      &e->len);
}

static pthread_rwlock_t *vleg_io_lock(struct mleg *l)
{
	struct vol_leg *vl = l->priv;
	return &vl->q->io_lock;
}

static void vleg_close(struct mleg *l)
{
	struct vol_leg *vl = l->priv;
	if (!vl)
		return;
	vol_close_internal(vl->vol);
	mirror_pool_put(l->m->p, vl->q);
	free(vl);
}

const struct leg_ops leg_vol_ops = {
	.pread = vleg_pread,
	.pwrite = vleg_pwrite,
	.flush = vleg_flush,
	.zero = vleg_zero,
	.close = vleg_close,
	.locate = vleg_locate,
	.io_lock = vleg_io_lock,
};

int leg_vol_open(struct mleg *l)
{
	struct mirror *m = l->m;
	struct vol_leg *vl = calloc(1, sizeof(*vl));
	if (!vl)
		return -ENOMEM;
	int r = mirror_pool_get(m->p, l->pl->target, &vl->q);
	if (r) {
		free(vl);
		return r;
	}
	if (!r)
		r = vol_open_internal(vl->q, l->pl->volume, &vl->vol);
	if (!r && ipstor_vol_size(vl->vol) < m->v->size)
		r = ipstor_fail(-EUCLEAN, "mirror leg '%s/%s' is smaller than "
					  "its volume",
				l->pl->target, l->pl->volume);
	l->ops = &leg_vol_ops;
	l->priv = vl;
	if (r) {
		if (vl->vol) {
			vol_close_internal(vl->vol);
			vl->vol = NULL;
		}
		mirror_pool_put(m->p, vl->q);
		free(vl);
		l->priv = NULL;
	}
	return r;
}

/* ---- a raw device or file ------------------------------------------------ */

static int dleg_pread(struct mleg *l, void *buf, size_t len, uint64_t off)
{
	return backend_pread(l->priv, buf, len, off + MIRROR_DEV_DATA_OFF);
}

static int dleg_pwrite(struct mleg *l, const void *buf, size_t len,
		       uint64_t off, bool fua)
{
	return backend_pwrite(l->priv, buf, len, off + MIRROR_DEV_DATA_OFF,
			      fua);
}

static int dleg_flush(struct mleg *l)
{
	return backend_flush(l->priv);
}

static int dleg_zero(struct mleg *l, uint64_t off, uint64_t len)
{
	return backend_zero(l->priv, off + MIRROR_DEV_DATA_OFF, len);
}

static int dleg_locate(struct mleg *l, uint64_t off, uint64_t len,
		       bool write, struct leg_extent *e)
{
	(void)write;
	e->be = l->priv;
	e->at = off + MIRROR_DEV_DATA_OFF;
	e->len = len;
	return 0;
}

static void dleg_close(struct mleg *l)
{
	backend_close(l->priv);
}

const struct leg_ops leg_dev_ops = {
	.pread = dleg_pread,
	.pwrite = dleg_pwrite,
	.flush = dleg_flush,
	.zero = dleg_zero,
	.close = dleg_close,
	.locate = dleg_locate,
};

int leg_dev_open(struct mleg *l)
{
	struct backend *be;
	int r = backend_open(l->pl->target, BACKEND_RDWR | BACKEND_EXCL, &be);
	if (r)
		return r;
	struct devleg_header h;
	if ((r = devleg_read(be, &h)) ||
	    (r = devleg_check(&h, l->m->pm->uuid, l->pl->uuid, l->m->v->size,
			      l->pl->target))) {
		backend_close(be);
		return r;
	}
	l->ops = &leg_dev_ops;
	l->priv = be;
	return 0;
}
