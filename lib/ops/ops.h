/* Operations by name: their arguments, and the helpers they share. */
#ifndef IPSTOR_OPS_H
#define IPSTOR_OPS_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "../ipstor.h"

struct op_call {
	struct ipstor_ctx *ctx;
	const struct ipstor_pool_source *src;
	json_object *args;
	const int *fds;
	int nfds;
	json_object *result; /* set by the op */
};

/* Arguments: -EINVAL with a message when missing or of the wrong type. */
int arg_str(struct op_call *c, const char *key, const char **out);
const char *arg_str_opt(struct op_call *c, const char *key);
int arg_u64(struct op_call *c, const char *key, bool required, uint64_t *out);
bool arg_bool(struct op_call *c, const char *key);
/* A NULL-terminated array of strings (freed by the caller, not the
 * strings, which belong to args). */
int arg_strv(struct op_call *c, const char *key, const char ***out, int *n);

/* The pool named by args.pool, from the call's source. */
int op_pool(struct op_call *c, unsigned flags, struct ipstor_pool **p);
int op_put(struct op_call *c, struct ipstor_pool *p, int r);
/* The pool, for writing, of an op that reads a stream from 'in': the
 * same as op_pool, except that without the worker, while another process
 * holds the pool and 'in' is a pipe, the stream is kept in a temporary
 * file meanwhile (the holder may be the backup writing the pipe);
 * *stream is then that file, to be closed by the caller, else 'in'. */
int op_pool_for_stream(struct op_call *c, int in, int *stream,
		       struct ipstor_pool **p);

/* "key": {object} wrapped with the schema version. */
json_object *wrap(const char *key, json_object *o);

int ops_pool(struct op_call *c, const char *op);
int ops_vol(struct op_call *c, const char *op);
int ops_data(struct op_call *c, const char *op);
int ops_export(struct op_call *c, const char *op);
int ops_disk(struct op_call *c, const char *op);
int ops_snap(struct op_call *c, const char *op);
int ops_stream(struct op_call *c, const char *op);
int ops_mirror(struct op_call *c, const char *op);
int ops_dm(struct op_call *c, const char *op);

#endif
