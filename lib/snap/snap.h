/* Snapshots and clones inside libipstor (see docs/DESIGN.md,
 * "Snapshots"): a snapshot is a psnap holding a reference to a volume's
 * tree; these are the helpers its users share. */
#ifndef IPSTOR_SNAP_H
#define IPSTOR_SNAP_H
#include <stdbool.h>
#include <stdint.h>

#include "../pool/pool.h"

struct json_object;

/* 0 when the pool may change; -EROFS or the broken commit's error. */
int pool_need_writable(struct ipstor_pool *p);

/* The export that serves v@s (s NULL: v itself), or NULL. */
struct pexport *snap_export_of(struct ipstor_pool *p, const struct pvol *v,
			       const struct psnap *s);

/* md_lock held. */
struct json_object *snap_describe_json(struct ipstor_pool *p, struct pvol *v,
				       struct psnap *s);

/* Append s to v's snapshots (the newest). */
void vol_add_snap(struct pvol *v, struct psnap *s);
/* Unlink s from v's snapshots; does not free it. */
void vol_unlink_snap(struct pvol *v, struct psnap *s);

#endif
