#include "staging.h"
#include "../map/tree.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <inttypes.h>

void staging_drop(struct ipstor_pool *p, struct pvol *v)
{
	for (struct pvol **pp = &p->staging; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	tree_drop(p, &v->map);
	pvol_free(v);
	p->config_dirty = true;
}

int staging_drop_all(struct ipstor_pool *p)
{
	if (!p->staging)
		return 0;
	pthread_rwlock_wrlock(&p->md_lock);
	while (p->staging) {
		struct pvol *v = p->staging;
		ipstor_log(p->ctx, IPSTOR_LOG_WARN,
			   "pool '%s': dropped the staging volume of an "
			   "interrupted restore into '%s' (%" PRIu64
			   " chunks)",
			   p->name, v->name, v->mapped);
		staging_drop(p, v);
	}
	pthread_rwlock_unlock(&p->md_lock);
	return pool_commit(p);
}
