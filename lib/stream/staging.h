/* Staging volumes: where a restore writes a stream before it is verified
 * (docs/DESIGN.md, "Restore touches nothing until the stream is
 * verified"). They are in the configuration only so that an unrelated
 * commit during a long restore stays correct; one left by a crash is
 * dropped at the next read-write open. */
#ifndef IPSTOR_STAGING_H
#define IPSTOR_STAGING_H

struct ipstor_pool;
struct pvol;

/* Drop every staging volume (an interrupted restore's), then commit.
 * Logs a warning for each. */
int staging_drop_all(struct ipstor_pool *p);

/* Unlink v from the staging list and drop its tree; md_lock held. */
void staging_drop(struct ipstor_pool *p, struct pvol *v);

#endif
