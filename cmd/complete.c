/* ipstor __complete WORD...: completion candidates for the last word,
 * from the same command table that dispatches, plus live pool and volume
 * names. Shell scripts (completions/) only call this. */
#include "cli.h"

#include <json-c/json.h>
#include <string.h>

static void emit(const char *cand, const char *cur)
{
	if (!strncmp(cand, cur, strlen(cur)))
		printf("%s\n", cand);
}

static void emit_options(const struct poptOption *o, const char *cur)
{
	char buf[80];
	for (; o && (o->longName || o->shortName || o->arg); o++) {
		if (!o->longName)
			continue;
		snprintf(buf, sizeof(buf), "--%s", o->longName);
		emit(buf, cur);
	}
}

static void emit_pools(struct cli *c, const char *cur)
{
	json_object *o, *arr;
	if (ipstor_pool_list(c->ctx, &o))
		return;
	json_object_object_get_ex(o, "pools", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *n;
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i),
					      "name", &n) &&
		    json_object_get_string(n))
			emit(json_object_get_string(n), cur);
	}
	json_object_put(o);
}

static void emit_volumes(struct cli *c, const char *cur)
{
	json_object *o, *arr;
	if (ipstor_vol_list_all(c->ctx, NULL, &o))
		return;
	json_object_object_get_ex(o, "volumes", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *j = json_object_array_get_idx(arr, i), *n, *p;
		json_object_object_get_ex(j, "name", &n);
		json_object_object_get_ex(j, "pool", &p);
		char ref[160];
		snprintf(ref, sizeof(ref), "%s/%s", json_object_get_string(p),
			 json_object_get_string(n));
		emit(ref, cur);
		emit(json_object_get_string(n), cur);
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
	char *last = NULL;
	for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "), i++) {
		last = t;
		if (i == n) {
			snprintf(out, len, "%s", t);
			return;
		}
	}
	if (last && strstr(last, "..."))
		snprintf(out, len, "%s", last);
}

/* Options only main() knows, before the group. */
static const struct poptOption top_only[] = {
	{"version", 0, POPT_ARG_NONE, NULL, 0, NULL, NULL},
	{"batch", 'b', POPT_ARG_STRING, NULL, 0, NULL, "FILE"},
	{"force", 0, POPT_ARG_NONE, NULL, 0, NULL, NULL},
	POPT_TABLEEND};

int cmd_complete(struct cli *c, int argc, const char **argv)
{
	const char *cur = argc ? argv[argc - 1] : "";
	/* global options (and their values) may come before the group */
	while (argc > 1 && argv[0][0] == '-') {
		const struct poptOption *o = find_opt(global_options, argv[0]);
		if (!o)
			o = find_opt(top_only, argv[0]);
		int skip = takes_arg(o) && !strchr(argv[0], '=') ? 2 : 1;
		if (skip > argc - 1)
			return 0; /* completing an option's value */
		argc -= skip;
		argv += skip;
	}
	if (argc <= 1) {
		for (const struct cmd *g = ipstor_commands; g->name; g++)
			if (!(g->flags & CMD_HIDDEN))
				emit(g->name, cur);
		if (cur[0] == '-') {
			emit_options(global_options, cur);
			emit_options(top_only, cur);
		}
		return 0;
	}
	const struct cmd *group = cmd_find(ipstor_commands, argv[0], true);
	if (!group)
		return 0;
	const struct cmd *cmd = group;
	int first = 1;
	if (group->sub) {
		if (argc == 2) {
			for (const struct cmd *k = group->sub; k->name; k++)
				if (!(k->flags & CMD_HIDDEN))
					emit(k->name, cur);
			return 0;
		}
		if (!(cmd = cmd_find(group->sub, argv[1], true)))
			return 0;
		first = 2;
	}
	if (cur[0] == '-') {
		emit_options(cmd->opts, cur);
		emit_options(global_options, cur);
		return 0;
	}
	/* the value of an option? */
	const char *prev = argv[argc - 2];
	const struct poptOption *po = find_opt(cmd->opts, prev);
	if (!po)
		po = find_opt(global_options, prev);
	if (takes_arg(po)) {
		if (po->argDescrip && !strcmp(po->argDescrip, "POOL"))
			emit_pools(c, cur);
		return 0;
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
	char kind[32];
	arg_kind(cmd->args, npos, kind, sizeof(kind));
	if (!strncmp(kind, "POOL", 4))
		emit_pools(c, cur);
	else if (!strncmp(kind, "VOL", 3))
		emit_volumes(c, cur);
	else if (!strncmp(kind, "[GROUP", 6)) {
		for (const struct cmd *g = ipstor_commands; g->name; g++)
			if (!(g->flags & CMD_HIDDEN))
				emit(g->name, cur);
	} else if (!strncmp(kind, "[COMMAND", 8)) {
		/* help GROUP <TAB>: that group's commands */
		const struct cmd *hg = cmd_find(ipstor_commands, argv[argc - 2],
						true);
		for (const struct cmd *k = hg ? hg->sub : NULL; k && k->name;
		     k++)
			if (!(k->flags & CMD_HIDDEN))
				emit(k->name, cur);
	}
	/* DEV, FILE: nothing here; the shell falls back to file names */
	return 0;
}
