/* Completion candidates for a command line, from the same command table
 * that dispatches, plus live names (pools, volumes, exports, free block
 * devices). `ipstor __complete WORD...` prints them for the bash and zsh
 * scripts (completions/); the shell's readline completer asks the same
 * function. */
#include "cli.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct completer {
	const char *cur;	/* the word being completed */
	const char *prefix;	/* put before each candidate ("--pool=") */
	complete_fn add;
	void *data;
	bool in_shell;
};

static void emit(struct completer *k, const char *cand)
{
	if (!cand || strncmp(cand, k->cur, strlen(k->cur)))
		return;
	if (!k->prefix || !*k->prefix) {
		k->add(cand, k->data);
		return;
	}
	char buf[512];
	snprintf(buf, sizeof(buf), "%s%s", k->prefix, cand);
	k->add(buf, k->data);
}

static void emit_options(struct completer *k, const struct poptOption *o)
{
	char buf[80];
	for (; o && (o->longName || o->shortName || o->arg); o++) {
		if (!o->longName)
			continue;
		snprintf(buf, sizeof(buf), "--%s", o->longName);
		emit(k, buf);
	}
}

static void emit_table(struct completer *k, const struct cmd *table)
{
	for (const struct cmd *c = table; c && c->name; c++)
		if (!(c->flags & CMD_HIDDEN))
			emit(k, c->name);
}

/* the groups, and in the shell its own commands too */
static void emit_groups(struct completer *k)
{
	emit_table(k, ipstor_commands);
	if (k->in_shell)
		emit_table(k, shell_commands);
}

/* each arr[i][key] of o[list] */
static void emit_names(struct completer *k, json_object *o, const char *list,
		       const char *key)
{
	json_object *arr = res_get(o, list);
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		emit(k, json_object_get_string(
				res_get(json_object_array_get_idx(arr, i), key)));
}

static void emit_pools(struct cli *c, struct completer *k)
{
	json_object *o;
	if (ipstor_pool_list(c->ctx, &o))
		return;
	emit_names(k, o, "pools", "name");
	json_object_put(o);
}

static void emit_volumes(struct cli *c, struct completer *k)
{
	json_object *o, *arr;
	if (ipstor_vol_list_all(c->ctx, NULL, &o))
		return;
	arr = res_get(o, "volumes");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *j = json_object_array_get_idx(arr, i);
		const char *n = json_object_get_string(res_get(j, "name"));
		const char *p = json_object_get_string(res_get(j, "pool"));
		char ref[160];
		snprintf(ref, sizeof(ref), "%s/%s", p, n);
		emit(k, ref);
		emit(k, n);
	}
	json_object_put(o);
}

static void emit_exports(struct cli *c, struct completer *k)
{
	json_object *o = NULL;
	if (!cli_op(c, "export.list", json_object_new_object(), NULL, 0, &o))
		emit_names(k, o, "exports", "name");
	json_object_put(o);
}

/* Block devices nobody uses, once the word starts like one; anything
 * else is a file name, which the caller completes. */
static void emit_devices(struct cli *c, struct completer *k)
{
	json_object *o, *arr;
	if (strncmp(k->cur, "/dev/", 5) || ipstor_disk_list(c->ctx, &o))
		return;
	arr = res_get(o, "disks");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		if (!json_object_get_boolean(res_get(d, "in_use")))
			emit(k, json_object_get_string(res_get(d, "path")));
	}
	json_object_put(o);
}

static const struct poptOption *find_opt(const struct poptOption *o,
					 const char *word)
{
	for (; o && (o->longName || o->shortName || o->arg); o++) {
		if (o->longName && !strncmp(word, "--", 2) &&
		    !strcmp(word + 2, o->longName))
			return o;
		if (o->shortName && word[0] == '-' && word[1] == o->shortName &&
		    !word[2])
			return o;
	}
	return NULL;
}

static bool takes_arg(const struct poptOption *o)
{
	return o && (o->argInfo & POPT_ARG_MASK) != POPT_ARG_NONE;
}

/* The kind of the n-th positional argument: its word in cmd->args. */
static void arg_kind(const char *args, int n, char *out, size_t len)
{
	char buf[128];
	out[0] = '\0';
	if (!args)
		return;
	snprintf(buf, sizeof(buf), "%s", args);
	int i = 0;
	char *last = NULL, *save = NULL;
	for (char *t = strtok_r(buf, " ", &save); t;
	     t = strtok_r(NULL, " ", &save), i++) {
		last = t;
		if (i == n) {
			snprintf(out, len, "%s", t);
			return;
		}
	}
	if (last && strstr(last, "..."))
		snprintf(out, len, "%s", last);
}

/* "[POOL]" is a POOL that may be left out */
/* VOL@<TAB>: the snapshots, as POOL/VOL@SNAP and VOL@SNAP */
static void emit_snapshots(struct cli *c, struct completer *k)
{
	json_object *o, *arr;
	if (ipstor_snap_list_all(c->ctx, &o))
		return;
	arr = res_get(o, "snapshots");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *j = json_object_array_get_idx(arr, i);
		char ref[220];
		snprintf(ref, sizeof(ref), "%s/%s@%s",
			 json_object_get_string(res_get(j, "pool")),
			 json_object_get_string(res_get(j, "volume")),
			 json_object_get_string(res_get(j, "name")));
		emit(k, ref);
		emit(k, strchr(ref, '/') + 1);
	}
	json_object_put(o);
}

static const char *bare(const char *kind)
{
	return kind + strspn(kind, "[");
}

/* Candidates for a value of KIND: an argument word ("VOL", "POOL...") or
 * an option's argDescrip. */
static void emit_kind(struct cli *c, struct completer *k, const char *kind)
{
	if (!strncmp(kind, "POOL", 4))
		emit_pools(c, k);
	else if (strchr(kind, '@') && strchr(k->cur, '@'))
		emit_snapshots(c, k);
	else if (!strncmp(kind, "VOL", 3))
		emit_volumes(c, k);
	else if (!strncmp(kind, "EXPORT", 6))
		emit_exports(c, k);
	else if (!strncmp(kind, "DEV", 3))
		emit_devices(c, k);
	/* FILE, SIZE, NAME...: nothing; file names are the fallback */
}

/* Options only main() knows, before the group. */
static const struct poptOption top_only[] = {
	{"version", 0, POPT_ARG_NONE, NULL, 0, NULL, NULL},
	{"batch", 'b', POPT_ARG_STRING, NULL, 0, NULL, "FILE"},
	{"force", 0, POPT_ARG_NONE, NULL, 0, NULL, NULL},
	POPT_TABLEEND};

static const struct cmd *find_quiet(struct completer *k, const char *word)
{
	const struct cmd *g = cmd_find(ipstor_commands, word, true);
	if (!g && k->in_shell)
		g = cmd_find(shell_commands, word, true);
	return g;
}

static void complete_in(struct cli *c, int argc, const char **argv,
			struct completer *k)
{
	/* global options (and their values) may come before the group */
	while (argc > 1 && argv[0][0] == '-') {
		const struct poptOption *o = find_opt(global_options, argv[0]);
		if (!o && !k->in_shell)
			o = find_opt(top_only, argv[0]);
		int skip = takes_arg(o) && !strchr(argv[0], '=') ? 2 : 1;
		if (skip > argc - 1)
			return; /* completing an option's value */
		argc -= skip;
		argv += skip;
	}
	if (argc <= 1) {
		emit_groups(k);
		if (k->cur[0] == '-') {
			emit_options(k, global_options);
			if (!k->in_shell)
				emit_options(k, top_only);
		}
		return;
	}
	const struct cmd *group = find_quiet(k, argv[0]);
	if (!group)
		return;
	const struct cmd *cmd = group;
	int first = 1;
	if (group->sub) {
		if (argc == 2) {
			emit_table(k, group->sub);
			return;
		}
		if (!(cmd = cmd_find(group->sub, argv[1], true)))
			return;
		first = 2;
	}
	/* "--pool=ta": the value of --pool, put back after "--pool=" */
	const char *eq = strchr(k->cur, '=');
	if (!strncmp(k->cur, "--", 2) && eq) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - k->cur), k->cur);
		const struct poptOption *po = find_opt(cmd->opts, name);
		if (!po)
			po = find_opt(global_options, name);
		if (takes_arg(po) && po->argDescrip) {
			char pre[80];
			snprintf(pre, sizeof(pre), "%s=", name);
			k->prefix = pre;
			k->cur = eq + 1;
			emit_kind(c, k, po->argDescrip);
			k->prefix = NULL;
		}
		return;
	}
	if (k->cur[0] == '-') {
		emit_options(k, cmd->opts);
		emit_options(k, global_options);
		return;
	}
	/* the value of an option? */
	const char *prev = argv[argc - 2];
	const struct poptOption *po = find_opt(cmd->opts, prev);
	if (!po)
		po = find_opt(global_options, prev);
	if (takes_arg(po)) {
		if (po->argDescrip)
			emit_kind(c, k, po->argDescrip);
		return;
	}
	/* which positional argument is this? */
	int npos = 0;
	for (int i = first; i < argc - 1; i++) {
		if (argv[i][0] == '-') {
			const struct poptOption *o = find_opt(cmd->opts, argv[i]);
			if (!o)
				o = find_opt(global_options, argv[i]);
			if (takes_arg(o) && !strchr(argv[i], '='))
				i++;
			continue;
		}
		npos++;
	}
	char buf[32];
	arg_kind(cmd->args, npos, buf, sizeof(buf));
	const char *kind = bare(buf);
	if (!strncmp(kind, "GROUP", 5)) {
		emit_groups(k);
	} else if (!strncmp(kind, "COMMAND", 7)) {
		/* help GROUP <TAB>: that group's commands */
		const struct cmd *hg = find_quiet(k, argv[argc - 2]);
		if (hg)
			emit_table(k, hg->sub);
	} else {
		emit_kind(c, k, kind);
	}
}

void complete_line(struct cli *c, int argc, const char **argv, bool in_shell,
		   complete_fn add, void *data)
{
	struct completer k = {argc ? argv[argc - 1] : "", NULL, add, data,
			      in_shell};
	/* completion never waits for a lock, and never says why it failed */
	unsigned flags = ipstor_ctx_flags(c->ctx);
	ipstor_ctx_set_flags(c->ctx, flags | IPSTOR_CTX_NO_LOCK_WAIT);
	complete_in(c, argc ? argc : 1, argc ? argv : (const char *[]){""},
		    &k);
	ipstor_ctx_set_flags(c->ctx, flags);
	ipstor_clear_last_error();
}

static void print_candidate(const char *cand, void *data)
{
	(void)data;
	printf("%s\n", cand);
}

int cmd_complete(struct cli *c, int argc, const char **argv)
{
	complete_line(c, argc, argv, false, print_candidate, NULL);
	return 0;
}
