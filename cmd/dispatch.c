/* Dispatch: group and command lookup (exact, unique prefix, "did you
 * mean"), popt per command with the global options included, argument
 * counts, help at every level, confirmation of destructive commands, and
 * batch mode through the same path. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts opt;

void opts_reset(void)
{
	free(opt.chunk_size);
	free(opt.md_size);
	free(opt.pool);
	free(opt.size);
	free(opt.offset);
	free(opt.length);
	free(opt.dm_name);
	free(opt.proto);
	free(opt.export_name);
	free(opt.listen);
	free(opt.fault_ops);
	free(opt.range);
	free(opt.after);
	free(opt.count);
	free(opt.cache_size);
	free(opt.keep);
	free(opt.older_than);
	free(opt.from);
	free(opt.output);
	free(opt.device);
	free(opt.remote);
	free(opt.region_size);
	free(opt.resync_rate);
	free(opt.max_lag);
	free(opt.leg);
	if (opt.allow)
		for (int i = 0; opt.allow[i]; i++)
			free(opt.allow[i]);
	free(opt.allow);
	free(opt.secret_file);
	char **bench_strings[] = {&opt.bench.spec,   &opt.bench.outstanding,
				  &opt.bench.ramp,   &opt.bench.time,
				  &opt.bench.seed,   &opt.bench.span,
				  &opt.bench.engine, &opt.bench.report,
				  &opt.bench.trace};
	for (size_t i = 0; i < sizeof(bench_strings) / sizeof(*bench_strings); i++)
		free(*bench_strings[i]);
	if (opt.bench.target)
		for (int i = 0; opt.bench.target[i]; i++)
			free(opt.bench.target[i]);
	free(opt.bench.target);
	memset(&opt, 0, sizeof(opt));
	opt.lock_timeout = LOCK_TIMEOUT_UNSET;
}

const struct poptOption global_options[] = {
	{"json", 0, POPT_ARG_NONE, &opt.json, 0,
	 "print JSON (an object with a schema version)", NULL},
	{"yes", 'y', POPT_ARG_NONE, &opt.yes, 0,
	 "do not ask before destructive changes", NULL},
	{"dry-run", 'n', POPT_ARG_NONE, &opt.dry_run, 0,
	 "validate everything, take the locks, write nothing", NULL},
	{"quiet", 'q', POPT_ARG_NONE, &opt.quiet, 0,
	 "print only errors and requested data", NULL},
	{"verbose", 'v', POPT_ARG_NONE, &opt.verbose, 0,
	 "confirm what was done even off a terminal; say more", NULL},
	{"bytes", 0, POPT_ARG_NONE, &opt.bytes, 0,
	 "print sizes as plain byte counts", NULL},
	{"no-lock-wait", 0, POPT_ARG_NONE, &opt.no_lock_wait, 0,
	 "fail at once if a pool is locked", NULL},
	{"lock-timeout", 0, POPT_ARG_INT, &opt.lock_timeout, 0,
	 "wait at most SECONDS for a pool lock", "SECONDS"},
	{"help", 'h', POPT_ARG_NONE, &opt.help, 0, "show this help", NULL},
	POPT_TABLEEND};

/* ---- lookup --------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32)
		return 99;
	size_t d[33][33];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1; /* transposition */
			d[i][j] = m;
		}
	return d[la][lb];
}

static void suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	if (best)
		fprintf(stderr, "ipstor: did you mean '%s'?\n", best);
}

const struct cmd *cmd_find(const struct cmd *table, const char *word,
			   bool quiet)
{
	const struct cmd *prefix = NULL;
	int nprefix = 0;
	for (const struct cmd *c = table; c->name; c++) {
		if (!strcmp(c->name, word))
			return c;
		if (!(c->flags & CMD_HIDDEN) &&
		    !strncmp(c->name, word, strlen(word))) {
			prefix = c;
			nprefix++;
		}
	}
	if (nprefix == 1)
		return prefix;
	if (quiet)
		return NULL;
	const char *names[64];
	size_t n = 0;
	for (const struct cmd *c = table; c->name && n < 64; c++)
		if (!(c->flags & CMD_HIDDEN))
			names[n++] = c->name;
	if (nprefix > 1)
		fprintf(stderr, "ipstor: '%s' is ambiguous\n", word);
	else
		fprintf(stderr, "ipstor: unknown command '%s'\n", word);
	suggest(word, names, n);
	return NULL;
}

/* ---- help ----------------------------------------------------------- */

static void print_options(FILE *f, const struct poptOption *o)
{
	for (; o && (o->longName || o->shortName || o->arg); o++) {
		if (o->argInfo == POPT_ARG_INCLUDE_TABLE)
			continue;
		char head[64];
		int n = 0;
		if (o->shortName)
			n = snprintf(head, sizeof(head), "-%c, ", o->shortName);
		else
			n = snprintf(head, sizeof(head), "    ");
		snprintf(head + n, sizeof(head) - (size_t)n, "--%s%s%s",
			 o->longName, o->argDescrip ? "=" : "",
			 o->argDescrip ? o->argDescrip : "");
		fprintf(f, "  %-28s %s\n", head, o->descrip ? o->descrip : "");
	}
}

static void print_table(FILE *f, const struct cmd *table)
{
	for (const struct cmd *c = table; c->name; c++) {
		if (c->flags & CMD_HIDDEN)
			continue;
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", c->name,
			 c->args ? " " : "", c->args ? c->args : "");
		fprintf(f, "  %-24s %s\n", head, c->summary);
	}
}

void cmd_usage(FILE *f, const struct cmd *group, const struct cmd *cmd)
{
	if (!group) {
		fprintf(f, "Usage: ipstor [options] <group> <command> [options] "
			   "[args]\n\n"
			   "Storage pools of heterogeneous devices, volumes "
			   "carved out of them.\n\nGroups:\n");
		print_table(f, ipstor_commands);
		fprintf(f, "\nOptions:\n");
		print_options(f, global_options);
		fprintf(f, "  %-28s %s\n", "    --version",
			"print the version");
		fprintf(f, "  %-28s %s\n", "-b, --batch=FILE",
			"run the commands in FILE (- for stdin), one a line");
		fprintf(f, "  %-28s %s\n", "    --force",
			"with --batch: go on after a failing line");
		fprintf(f, "\nRun 'ipstor <group> --help' for the commands of "
			   "a group, 'man ipstor' for the rest.\n");
		return;
	}
	if (!cmd) {
		fprintf(f, "Usage: ipstor %s <command> [options] [args]\n\n%s.\n\n"
			   "Commands:\n",
			group->name, group->summary);
		print_table(f, group->sub);
		fprintf(f, "\nRun 'ipstor %s <command> --help' for details.\n",
			group->name);
		return;
	}
	if (group == cmd)
		fprintf(f, "Usage: ipstor %s [options]%s%s\n\n%s.\n", cmd->name,
			cmd->args ? " " : "", cmd->args ? cmd->args : "",
			cmd->summary);
	else
		fprintf(f, "Usage: ipstor %s %s [options]%s%s\n\n%s.\n",
			group->name, cmd->name, cmd->args ? " " : "",
			cmd->args ? cmd->args : "", cmd->summary);
	if (cmd->opts) {
		fprintf(f, "\nOptions:\n");
		print_options(f, cmd->opts);
	}
	fprintf(f, "\nGlobal options:\n");
	print_options(f, global_options);
}

/* ---- running a command ---------------------------------------------- */

int cli_confirm(struct cli *c, const char *fmt, ...)
{
	if (opt.yes || opt.dry_run)
		return 0;
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->stdin_tty) {
		fprintf(stderr, "ipstor: refusing to %s without --yes\n", what);
		return -ECANCELED;
	}
	fprintf(stderr, "%c%s? [y/N] ", toupper((unsigned char)what[0]),
		what + 1);
	char line[32];
	if (!fgets(line, sizeof(line), stdin) ||
	    (strcasecmp(line, "y\n") && strcasecmp(line, "yes\n"))) {
		fprintf(stderr, "ipstor: cancelled\n");
		return -ECANCELED;
	}
	return 0;
}

static void apply_globals(struct cli *c)
{
	unsigned flags = 0;
	if (opt.dry_run)
		flags |= IPSTOR_CTX_DRY_RUN;
	if (opt.no_lock_wait)
		flags |= IPSTOR_CTX_NO_LOCK_WAIT;
	ipstor_ctx_set_flags(c->ctx, flags);
	ipstor_ctx_set_lock_timeout(c->ctx, opt.lock_timeout >= 0
						    ? opt.lock_timeout * 1000
						    : -1);
}

/* popt takes any int; a wait is 0 to LOCK_TIMEOUT_MAX seconds (the
 * milliseconds must fit an int) */
static int check_lock_timeout(const char *cmdline)
{
	if (opt.lock_timeout == LOCK_TIMEOUT_UNSET ||
	    (opt.lock_timeout >= 0 && opt.lock_timeout <= LOCK_TIMEOUT_MAX))
		return 0;
	fprintf(stderr, "ipstor %s: --lock-timeout: '%d' is not a number of "
			"seconds from 0 to %d\n",
		cmdline, opt.lock_timeout, LOCK_TIMEOUT_MAX);
	return -ECANCELED;
}

static void merge_pre_globals(const struct opts *pre)
{
	opt.json |= pre->json;
	opt.yes |= pre->yes;
	opt.dry_run |= pre->dry_run;
	opt.quiet |= pre->quiet;
	opt.verbose |= pre->verbose;
	opt.bytes |= pre->bytes;
	opt.no_lock_wait |= pre->no_lock_wait;
	if (opt.lock_timeout == LOCK_TIMEOUT_UNSET)
		opt.lock_timeout = pre->lock_timeout;
}

static int unknown_option(const char *cmdline, poptContext pc, int rc,
			  const struct poptOption *table)
{
	const char *bad = poptBadOption(pc, 0);
	fprintf(stderr, "ipstor %s: %s: %s\n", cmdline, bad, poptStrerror(rc));
	if (rc == POPT_ERROR_BADOPT && !strncmp(bad, "--", 2)) {
		const char *names[64];
		size_t n = 0;
		for (int t = 0; t < 2; t++) {
			const struct poptOption *o =
				t ? global_options : table;
			for (; o && (o->longName || o->arg) && n < 64; o++)
				if (o->longName)
					names[n++] = o->longName;
		}
		char word[64];
		snprintf(word, sizeof(word), "%s", bad + 2);
		word[strcspn(word, "=")] = '\0';
		suggest(word, names, n);
	}
	return -ECANCELED;
}

static bool has_option(const struct poptOption *o, const char *name)
{
	for (; o && (o->longName || o->shortName || o->arg); o++)
		if (o->longName && !strcmp(o->longName, name))
			return true;
	return false;
}

static int run_command(struct cli *c, const struct cmd *group,
		       const struct cmd *cmd, int argc, const char **argv)
{
	char cmdline[64];
	if (group == cmd)
		snprintf(cmdline, sizeof(cmdline), "%s", cmd->name);
	else
		snprintf(cmdline, sizeof(cmdline), "%s %s", group->name,
			 cmd->name);
	c->cmdline = cmdline;
	ipstor_clear_last_error();

	struct poptOption table[3] = {POPT_TABLEEND, POPT_TABLEEND,
				      POPT_TABLEEND};
	int k = 0;
	if (cmd->opts)
		table[k++] = (struct poptOption){
			NULL, 0, POPT_ARG_INCLUDE_TABLE, (void *)cmd->opts, 0,
			NULL, NULL};
	table[k] = (struct poptOption){NULL, 0, POPT_ARG_INCLUDE_TABLE,
				       (void *)global_options, 0, NULL, NULL};

	opts_reset();
	poptContext pc = poptGetContext("ipstor", argc, argv, table, 0);
	int rc;
	while ((rc = poptGetNextOpt(pc)) > 0)
		;
	if (rc < -1) {
		int r = unknown_option(cmdline, pc, rc, cmd->opts);
		poptFreeContext(pc);
		return r;
	}
	merge_pre_globals(&c->pre);
	if (check_lock_timeout(cmdline)) {
		poptFreeContext(pc);
		return -ECANCELED;
	}
	if (c->use_pool && !opt.pool && has_option(cmd->opts, "pool"))
		opt.pool = strdup(c->use_pool);
	if (opt.help) {
		cmd_usage(stdout, group, cmd);
		poptFreeContext(pc);
		return 0;
	}
	const char **args = poptGetArgs(pc);
	int nargs = 0;
	while (args && args[nargs])
		nargs++;
	if (nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args)) {
		fprintf(stderr, "ipstor %s: %s\nUsage: ipstor %s [options] %s\n",
			cmdline,
			nargs < cmd->min_args ? "missing argument"
					      : "too many arguments",
			cmdline, cmd->args ? cmd->args : "");
		poptFreeContext(pc);
		return -ECANCELED;
	}
	apply_globals(c);
	/* the handler may keep pointers into args: copy them out of popt */
	const char **copy = calloc((size_t)nargs + 1, sizeof(*copy));
	if (!copy) {
		poptFreeContext(pc);
		return -ENOMEM;
	}
	for (int i = 0; i < nargs; i++)
		copy[i] = args[i];
	int r = cmd->run(c, nargs, copy);
	free(copy);
	poptFreeContext(pc);
	return r;
}

int cli_run(struct cli *c, int argc, const char **argv)
{
	return cli_run_table(c, ipstor_commands, argc, argv);
}

int cli_run_table(struct cli *c, const struct cmd *table, int argc,
		  const char **argv)
{
	if (argc < 1) {
		cmd_usage(stderr, NULL, NULL);
		return -ECANCELED;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		cmd_usage(stdout, NULL, NULL);
		return 0;
	}
	const struct cmd *group = cmd_find(table, argv[0], false);
	if (!group)
		return -ECANCELED;
	if ((group->flags & CMD_NOT_IN_SHELL) && (c->in_shell || c->in_batch)) {
		fprintf(stderr, "ipstor: '%s' cannot run inside %s\n",
			group->name, c->in_shell ? "the shell" : "a batch");
		return -ECANCELED;
	}
	if (!group->sub)
		return run_command(c, group, group, argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cmd_usage(argc < 2 ? stderr : stdout, group, NULL);
		return argc < 2 ? -ECANCELED : 0;
	}
	const struct cmd *cmd = cmd_find(group->sub, argv[1], false);
	if (!cmd)
		return -ECANCELED;
	return run_command(c, group, cmd, argc - 1, argv + 1);
}

/* ---- batch ---------------------------------------------------------- */

int cli_batch(struct cli *c, const char *file, bool keep_going)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot open '%s': %s\n", file,
			strerror(e));
		return -e;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, first_err = 0;
	c->in_batch = true;
	while (errno = 0, (len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		const char *words[BATCH_MAX_WORDS];
		int n = strlen(line) == (size_t)len
				? split_words(line, words, BATCH_MAX_WORDS)
				: -EBADMSG;
		if (n == 0)
			continue;
		int r;
		if (n < 0) {
			fprintf(stderr, "ipstor: line %d: %s\n", lineno,
				n == -EBADMSG ? "contains a NUL byte"
					      : split_error(n));
			r = -ECANCELED;
		} else {
			r = cli_run(c, n, words);
			if (r && r != -ECANCELED) {
				const char *m = ipstor_last_error();
				fprintf(stderr, "ipstor: line %d: %s\n", lineno,
					*m ? m : strerror(-r));
			} else if (r) {
				fprintf(stderr, "ipstor: line %d failed\n",
					lineno);
			}
		}
		fflush(stdout);
		if (r && !first_err)
			first_err = r;
		if (r && !keep_going)
			break;
	}
	/* a directory, an I/O error: not an empty batch */
	if (ferror(f) && !first_err) {
		int e = errno ? errno : EIO;
		fprintf(stderr, "ipstor: cannot read '%s': %s\n", file,
			strerror(e));
		first_err = -e;
	}
	c->in_batch = false;
	free(line);
	if (f != stdin)
		fclose(f);
	return first_err;
}
