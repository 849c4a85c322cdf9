/* The ipstor command: one table of commands drives dispatch, help,
 * completion and the man-page coverage test. Handlers parse, confirm,
 * call libipstor, print through output.c, and return 0 or -errno. */
#ifndef IPSTOR_CLI_H
#define IPSTOR_CLI_H
#include <limits.h>
#include <popt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ipstor.h"

struct json_object;

enum cmd_flags {
	CMD_WRITES = 1 << 0,	  /* changes state: accepts --dry-run */
	CMD_DESTRUCTIVE = 1 << 1, /* needs --yes (or a tty answer) */
	CMD_HIDDEN = 1 << 2,	  /* not in help or completion */
	CMD_NOT_IN_SHELL = 1 << 3, /* not from the shell or a batch */
};

struct cli;

struct cmd {
	const char *name;
	const char *args; /* "NAME DEV...": documents and completes args */
	const char *summary;
	int (*run)(struct cli *c, int argc, const char **argv);
	const struct poptOption *opts;
	const struct cmd *sub; /* a group: NULL-terminated table */
	unsigned flags;
	int min_args, max_args; /* max -1: unlimited */
};

/* Options of every command; reset before each command runs (the shell and
 * batch mode run many commands in one process). */
struct opts {
	/* global */
	int json, yes, dry_run, quiet, verbose, bytes, help, no_lock_wait;
	int lock_timeout; /* seconds; LOCK_TIMEOUT_UNSET: wait for ever */
	/* pool */
	char *chunk_size, *md_size;
	int force;
	/* vol */
	char *pool, *size, *offset, *length;
	int thin, stripes, contiguous;
	/* vol map */
	char *dm_name;
	/* server */
	int foreground;
	/* export */
	char *proto, *export_name, *listen;
	char **allow;
	int read_only;
	char *secret_file;
	/* disk fault */
	char *fault_ops, *range, *after, *count, *cache_size;
	int fault_error, drop, delay_ms, volatile_cache, all;
	/* remote, attach (and --foreground, shared with server) */
	int timeout;
	/* bench */
	struct {
		char *spec, *outstanding, *ramp, *time, *seed, *span, *engine,
			*report, *trace;
		char **target;
		int workers, compare, rounds, direct, csv;
	} bench;
	/* snap, backup, restore */
	char *keep, *older_than, *from, *output;
	/* mirror */
	char *device, *remote, *region_size, *resync_rate, *max_lag, *leg;
	int async;
};
#define LOCK_TIMEOUT_UNSET INT_MIN
#define LOCK_TIMEOUT_MAX (INT_MAX / 1000)
extern struct opts opt;
void opts_reset(void);

struct cli {
	struct ipstor_ctx *ctx;
	struct opts pre; /* global options given before the group */
	bool stdin_tty, stdout_tty;
	bool in_shell, in_batch;
	/* the shell's "use POOL": the default --pool, where bare VOL names
	 * resolve; NULL outside it */
	char *use_pool;
	const char *cmdline; /* "pool create": for messages */
	int status; /* >= 0: exit with this (the shell's last command) */
};

/* dispatch.c */
extern const struct cmd ipstor_commands[];
extern const struct poptOption global_options[];
int cli_run(struct cli *c, int argc, const char **argv);
/* cli_run() with another top-level table (the shell's own commands) */
int cli_run_table(struct cli *c, const struct cmd *table, int argc,
		  const char **argv);
const struct cmd *cmd_find(const struct cmd *table, const char *word,
			   bool quiet);
void cmd_usage(FILE *f, const struct cmd *group, const struct cmd *cmd);
/* Destructive commands: --yes, or a 'y' on a tty; -ECANCELED otherwise. */
int cli_confirm(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define BATCH_MAX_WORDS 256
int cli_batch(struct cli *c, const char *file, bool keep_going);

/* words.c: split a line in place like a shell: blanks separate words,
 * '...' and "..." quote, a backslash escapes the next character (not
 * inside '...'), '#' at the start of a word begins a comment. Returns the
 * number of words, or -EINVAL (unbalanced quote), -EILSEQ (a trailing
 * backslash), -E2BIG (more than max words); split_error() names them. */
int split_words(char *line, const char **words, int max);
const char *split_error(int r);

/* shell.c */
extern const struct cmd shell_commands[];
int cmd_shell(struct cli *c, int argc, const char **argv);
/* The shell's own commands (own NULL), or one of them. */
void shell_usage(FILE *f, const struct cmd *own);

/* output.c */
enum col_type { COL_STR, COL_SIZE, COL_INT, COL_BOOL, COL_LEN };
struct column {
	const char *header;
	const char *key; /* "a.b" reaches into nested objects */
	enum col_type type;
};
void out_json(struct json_object *o);
/* {"version":1, key: arr} with --json; a table otherwise. */
void out_list(const char *key, struct json_object *arr,
	      const struct column *cols);
/* One object: "key: value" lines, or JSON under {"version":1, key: o}. */
void out_object(const char *key, struct json_object *o,
		const struct column *fields);
/* Whether stdout and stderr are terminals: the quiet-by-default rule. */
void out_init(bool stdout_tty, bool stderr_tty);
/* A confirmation for a person ("created volume ..."), on stdout: when
 * stdout is a terminal or with -v, never with -q or --json; a --dry-run's
 * plan ("would create ...") unless -q or --json. */
void out_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress line on stderr, redrawn in place, only when stderr is a
 * terminal and not -q; out_progress_done() clears it. */
bool out_progress_wanted(void);
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_progress_done(void);
void out_error(int err, const char *fallback);
/* Flush and close stdout (a full disk must not pass for success); the
 * exit status for err. */
int cli_finish(int err);
int exit_code(int err);
char *fmt_size(uint64_t v, char *buf, size_t len);
int parse_size_opt(const char *name, const char *s, uint64_t *out);

/* op.c: run a named operation (lib/ops) offline, or in the worker when
 * one runs; *res is NULL or an object the caller puts. */
int cli_op(struct cli *c, const char *op, struct json_object *args,
	   const int *fds, int nfds, struct json_object **res);
/* {"pool": pool, "name": name} */
struct json_object *args_vol(const char *pool, const char *name);
/* Resolve "POOL/VOL", or a bare "VOL": in the shell's pool in use, or
 * the one pool that has it. */
int cli_vol_locate(struct cli *c, const char *ref, char *pool, char *vol);
/* cli_vol_locate() into args_vol() */
int args_vol_ref(struct cli *c, const char *ref, struct json_object **args);
/* cli_vol_locate() for "[POOL/]VOL@SNAP" (snap[0] '\0' without "@") */
int cli_ref_locate(struct cli *c, const char *ref, char *pool, char *vol,
		   char *snap);
/* The same for "[POOL/]VOL@SNAP", adding "snapshot"; with may_be_vol a
 * plain volume reference is accepted too (no "snapshot" then). */
int args_snap_ref(struct cli *c, const char *ref, bool may_be_vol,
		  struct json_object **args);
void args_str(struct json_object *a, const char *key, const char *v);
void args_u64(struct json_object *a, const char *key, uint64_t v);
void args_bool(struct json_object *a, const char *key, bool v);
/* o[key] as an object (borrowed), or NULL */
struct json_object *res_get(struct json_object *o, const char *key);

/* complete.c: the candidates for the last of argv (the words after
 * "ipstor", the one being completed last), each passed to add(); none
 * means "complete a file name". In the shell, its own commands too. */
typedef void (*complete_fn)(const char *candidate, void *data);
void complete_line(struct cli *c, int argc, const char **argv, bool in_shell,
		   complete_fn add, void *data);
int cmd_complete(struct cli *c, int argc, const char **argv);

/* the command groups */
extern const struct cmd disk_commands[];
extern const struct cmd pool_commands[];
extern const struct cmd vol_commands[];
extern const struct cmd server_commands[];
extern const struct cmd export_commands[];
extern const struct cmd remote_commands[];
/* cmd-remote.c: --secret-file read into buf (IPSTOR_SECRET_MAX + 1) */
int cli_read_secret(const char *path, uint8_t *buf, size_t *len);
/* attach.c */
int cmd_attach(struct cli *c, int argc, const char **argv);
int cmd_detach(struct cli *c, int argc, const char **argv);
extern const struct cmd bench_commands[];
extern const struct cmd snap_commands[];
/* backup.c: the top-level backup and restore commands */
int cmd_backup(struct cli *c, int argc, const char **argv);
int cmd_restore(struct cli *c, int argc, const char **argv);
extern const struct poptOption backup_opts[], restore_opts[];
extern const struct cmd mirror_commands[];

#endif
