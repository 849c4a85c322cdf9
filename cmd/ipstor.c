/* ipstor: main, the top-level command table, global options. */
#include "cli.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_help(struct cli *c, int argc, const char **argv)
{
	if (argc == 0) {
		cmd_usage(stdout, NULL, NULL);
		if (c->in_shell)
			shell_usage(stdout, NULL);
		return 0;
	}
	const struct cmd *own = c->in_shell
					? cmd_find(shell_commands, argv[0], true)
					: NULL;
	if (own && !strcmp(own->name, argv[0]) && argc == 1) {
		shell_usage(stdout, own);
		return 0;
	}
	const struct cmd *g = cmd_find(ipstor_commands, argv[0], false);
	if (!g)
		return -ECANCELED;
	if (argc == 1 || !g->sub) {
		cmd_usage(stdout, g, g->sub ? NULL : g);
		return 0;
	}
	const struct cmd *k = cmd_find(g->sub, argv[1], false);
	if (!k)
		return -ECANCELED;
	cmd_usage(stdout, g, k);
	return 0;
}

static const struct poptOption attach_opts[] = {
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "the export's secret (default: none)", "FILE"},
	{"foreground", 'f', POPT_ARG_NONE, &opt.foreground, 0,
	 "serve in the foreground until detached", NULL},
	POPT_TABLEEND};

const struct cmd ipstor_commands[] = {
	{"disk", NULL, "List block devices and what they carry", NULL, NULL,
	 disk_commands, 0, 0, 0},
	{"pool", NULL, "Create and manage storage pools", NULL, NULL,
	 pool_commands, 0, 0, 0},
	{"vol", NULL, "Create, resize and access volumes", NULL, NULL,
	 vol_commands, 0, 0, 0},
	{"snap", NULL, "Snapshots of volumes: create, roll back, prune", NULL,
	 NULL, snap_commands, 0, 0, 0},
	{"mirror", NULL, "Mirror volumes onto other pools, devices or servers",
	 NULL, NULL, mirror_commands, 0, 0, 0},
	{"export", NULL, "Serve volumes over the network (NBD, UDP)", NULL,
	 NULL, export_commands, 0, 0, 0},
	{"remote", NULL, "Read and write volumes other ipstor servers export",
	 NULL, NULL, remote_commands, 0, 0, 0},
	{"server", NULL, "Run the worker that serves pools and exports", NULL,
	 NULL, server_commands, 0, 0, 0},
	{"bench", NULL, "Measure targets with IOMeter-style workloads", NULL,
	 NULL, bench_commands, 0, 0, 0},
	{"attach", "URI FILE",
	 "Expose a remote volume (ipstor://HOST:PORT/NAME) as FILE, through FUSE",
	 cmd_attach, attach_opts, NULL, 0, 2, 2},
	{"detach", "FILE", "Flush and detach a file 'attach' made", cmd_detach,
	 NULL, NULL, 0, 1, 1},
	{"shell", NULL,
	 "Type commands at a prompt, with completion and history",
	 cmd_shell, NULL, NULL, CMD_NOT_IN_SHELL, 0, 0},
	{"backup", "VOL@SNAP",
	 "Write a snapshot, or what changed since an older one, as a stream",
	 cmd_backup, backup_opts, NULL, 0, 1, 1},
	{"restore", "[FILE|-] VOL",
	 "Restore a backup stream into a new volume, or onto its base",
	 cmd_restore, restore_opts, NULL, CMD_WRITES, 1, 2},
	{"help", "[GROUP [COMMAND]]", "Show help for a group or a command",
	 cmd_help, NULL, NULL, 0, 0, 2},
	{"__complete", "WORD...",
	 "Print completions for a command line (used by shell completion)",
	 cmd_complete, NULL, NULL, CMD_HIDDEN | CMD_NOT_IN_SHELL, 0, -1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};

static void log_to_stderr(int level, const char *msg, void *data)
{
	(void)data;
	if (level <= IPSTOR_LOG_WARN)
		fprintf(stderr, "ipstor: warning: %s\n", msg);
	else if (level == IPSTOR_LOG_INFO && opt.verbose && !opt.quiet)
		fprintf(stderr, "ipstor: %s\n", msg);
}

int main(int argc, const char **argv)
{
	setlocale(LC_ALL, "C");
	struct cli c = {0};
	c.stdin_tty = isatty(0);
	c.stdout_tty = isatty(1);
	c.status = -1;
	out_init(c.stdout_tty, isatty(2));
	opts_reset();

	int version = 0, keep_going = 0;
	char *batch = NULL;
	struct poptOption top[] = {
		{NULL, 0, POPT_ARG_INCLUDE_TABLE, (void *)global_options, 0,
		 NULL, NULL},
		{"version", 0, POPT_ARG_NONE, &version, 0, NULL, NULL},
		{"batch", 'b', POPT_ARG_STRING, &batch, 0, NULL, NULL},
		{"force", 0, POPT_ARG_NONE, &keep_going, 0, NULL, NULL},
		POPT_TABLEEND};
	poptContext pc = poptGetContext("ipstor", argc, argv, top,
					POPT_CONTEXT_POSIXMEHARDER);
	int rc;
	while ((rc = poptGetNextOpt(pc)) > 0)
		;
	if (rc < -1) {
		fprintf(stderr, "ipstor: %s: %s\n", poptBadOption(pc, 0),
			poptStrerror(rc));
		poptFreeContext(pc);
		return 2;
	}
	if (version) {
		printf("ipstor %s\n", IPSTOR_VERSION);
		poptFreeContext(pc);
		return cli_finish(0);
	}
	c.pre = opt;
	memset(&opt, 0, sizeof(opt)); /* c.pre owns nothing allocated */
	opts_reset();
	if (c.pre.help) {
		cmd_usage(stdout, NULL, NULL);
		poptFreeContext(pc);
		return cli_finish(0);
	}

	int r = ipstor_ctx_new(&c.ctx, NULL);
	if (r) {
		fprintf(stderr, "ipstor: %s\n", strerror(-r));
		return 1;
	}
	ipstor_ctx_set_log(c.ctx, log_to_stderr, NULL);

	const char **rest = poptGetArgs(pc);
	int nrest = 0;
	while (rest && rest[nrest])
		nrest++;
	if (keep_going && !batch) {
		fprintf(stderr, "ipstor: --force before the command goes with "
				"--batch; a command's own --force comes after "
				"it\n");
		r = -ECANCELED;
	} else if (batch) {
		r = nrest ? -ECANCELED : cli_batch(&c, batch, keep_going);
		if (nrest)
			fprintf(stderr, "ipstor: --batch takes no command\n");
	} else if (nrest == 0 && c.stdin_tty && c.stdout_tty) {
		/* a person typed just "ipstor" */
		r = cli_run(&c, 1, (const char *[]){"shell", NULL});
	} else {
		r = cli_run(&c, nrest, rest);
		if (r && r != -ECANCELED)
			out_error(r, NULL);
	}
	opts_reset();
	free(batch);
	poptFreeContext(pc);
	ipstor_ctx_free(c.ctx);
	int status = cli_finish(r);
	return !r && c.status >= 0 ? c.status : status;
}
