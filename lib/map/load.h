/* Loading the committed maps: every volume's tree is read from its root,
 * each node checked (checksum, own address, pool tag, level, age), shared
 * nodes found by address, and the space accounting rebuilt from what the
 * trees reference. */
#ifndef IPSTOR_LOAD_H
#define IPSTOR_LOAD_H

struct ipstor_pool;

/* With report NULL the first problem fails the load (-EUCLEAN, message
 * set). With a report every problem is passed to it, the damaged subtree
 * is skipped, and the load goes on (for pool check). */
struct load_report {
	void (*problem)(void *data, const char *object, const char *msg);
	void *data;
};
int maps_load(struct ipstor_pool *p, const struct load_report *rep);
void maps_unload(struct ipstor_pool *p);

#endif
