#include "members.h"
#include "scan.h"
#include "../disk/probe.h"
#include "../io/backend.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/units.h"
#include "../util/uuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void members_free(struct newdev *nd, int n)
{
	if (!nd)
		return;
	for (int i = 0; i < n; i++) {
		backend_close(nd[i].be);
		free(nd[i].path);
	}
	free(nd);
}

static int check_one(struct newdev *d, bool force, uint32_t chunk_size,
		     uint64_t slot_size, struct scan *known)
{
	struct backend *be = d->be;
	char why[256], sig[160];

	/* a member of a pool this host knows: never, not even with --force */
	for (int i = 0; i < known->n; i++) {
		struct found *f = &known->f[i];
		if (f->identified && f->dev == be->dev && f->ino == be->ino) {
			char name[80];
			scan_pool_name(known, f->pool_uuid, name, sizeof(name));
			return ipstor_fail(-EBUSY,
					   "'%s' is a member of pool '%s'; "
					   "destroy that pool first",
					   d->path, name);
		}
	}
	if (probe_in_use(d->path, be->is_blockdev, be->dev, be->ino, why,
			 sizeof(why)) > 0)
		return ipstor_fail(-EBUSY, "'%s' is in use (%s)", d->path, why);

	uint64_t min;
	if (layout_compute(be->size, chunk_size, slot_size, &d->geo, &min)) {
		char a[32], b[32];
		return ipstor_fail(-EINVAL,
				   "'%s' is too small (%s; a member needs at "
				   "least %s with these chunk and metadata "
				   "sizes)",
				   d->path,
				   units_format_size(be->size, a, sizeof(a)),
				   units_format_size(min, b, sizeof(b)));
	}

	struct found f;
	int r = scan_device(d->path, &f);
	if (r) {
		found_free(&f);
		return r;
	}
	bool ours = f.identified;
	found_free(&f);
	if (ours && !force)
		return ipstor_fail(-EEXIST,
				   "'%s' carries the label of another ipstor "
				   "pool; use --force to overwrite it",
				   d->path);
	r = probe_signature(be->fd, sig, sizeof(sig));
	if (r < 0)
		return ipstor_fail(r, "cannot probe '%s'", d->path);
	if (r > 0 && !force)
		return ipstor_fail(-EEXIST,
				   "'%s' carries %s; use --force to overwrite "
				   "it",
				   d->path, sig);
	d->wipe = r > 0 || ours;
	return 0;
}

int members_prepare(struct ipstor_ctx *ctx, const char *const *paths, int n,
		    bool force, uint32_t chunk_size, uint64_t slot_size,
		    struct scan *known, struct newdev **out)
{
	(void)ctx;
	struct newdev *nd = calloc((size_t)n, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	int r = 0, i;
	for (i = 0; i < n && !r; i++) {
		if (!(nd[i].path = state_canonical_path(paths[i]))) {
			r = -ENOMEM;
			break;
		}
		r = backend_open(nd[i].path, BACKEND_RDWR | BACKEND_EXCL,
				 &nd[i].be);
		if (r)
			break;
		for (int k = 0; k < i && !r; k++)
			if (nd[k].be->dev == nd[i].be->dev &&
			    nd[k].be->ino == nd[i].be->ino)
				r = ipstor_fail(-EINVAL,
						"device '%s' is given twice",
						paths[i]);
		if (!r)
			r = check_one(&nd[i], force, chunk_size, slot_size,
				      known);
	}
	if (r) {
		members_free(nd, n);
		return r;
	}
	*out = nd;
	return 0;
}
