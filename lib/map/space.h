/* Space accounting: which chunks hold data (and how many map leaves
 * reference each), which hold map nodes, which are free. None of it is
 * stored: it is derived at open by walking the committed trees, so it can
 * never disagree with them, and a crash can neither leak nor double-free a
 * chunk. What a transaction frees stays reserved (pending) until the
 * transaction commits, because the committed trees may still point at it.
 *
 * pdev.refs[chunk]: 0 free; 1..REF_MAX data references; REF_META a chunk
 * of map nodes; REF_PENDING freed by a transaction not yet committed. */
#ifndef IPSTOR_SPACE_H
#define IPSTOR_SPACE_H
#include <stdbool.h>
#include <stdint.h>

struct ipstor_pool;
struct pending;

#define REF_META 0xffffffffu
#define REF_PENDING 0xfffffffeu
#define REF_MAX 0xfffffff0u

enum { MDB_FREE = 0, MDB_USED = 1, MDB_PENDING = 2 };

int space_init(struct ipstor_pool *p);
void space_fini(struct ipstor_pool *p);

/* A free chunk, preferring 'dev' (-1: the device with most free space),
 * next-fit from the device's hint; falls back to any device unless
 * only_dev. Map nodes may use the reserve, data may not. */
int space_alloc_data(struct ipstor_pool *p, int dev, bool only_dev,
		     uint64_t *phys);
void space_ref_data(struct ipstor_pool *p, uint64_t phys);
void space_unref_data(struct ipstor_pool *p, uint64_t phys);
uint32_t space_data_refs(struct ipstor_pool *p, uint64_t phys);

int space_alloc_block(struct ipstor_pool *p, uint64_t *addr);
void space_free_block(struct ipstor_pool *p, uint64_t addr);

/* While loading: claim what a committed tree references. -EUCLEAN when
 * the claim conflicts (a chunk both data and map, out of range...). */
int space_claim_block(struct ipstor_pool *p, uint64_t addr, const char **why);
int space_claim_data(struct ipstor_pool *p, uint64_t phys, const char **why);

/* After a commit: pending chunks and blocks become free. */
void space_release(struct ipstor_pool *p, struct pending *list);

uint64_t space_free_chunks(const struct ipstor_pool *p);
uint64_t space_total_chunks(const struct ipstor_pool *p);
/* Chunks that allocating 'n' more data chunks (with their map) needs. */
uint64_t space_needed_for(const struct ipstor_pool *p, uint64_t n);

int pending_push(struct pending *pd, uint64_t v);

/* Per device, the chunks the trees use once what is pending is released:
 * what the metadata records for the state being committed. */
void space_used_after_release(const struct ipstor_pool *p, uint64_t *used);

#endif
