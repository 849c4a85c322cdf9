/* ipstor shell: a readline prompt over the same dispatcher as argv.
 *
 * Each line is split like a shell would (words.c) and run in a child
 * process through cli_run(), with the terminal as its stdin and stdout:
 * the output, the exit status and the confirmation of destructive
 * commands are those of `ipstor WORDS...`, and whatever a command does
 * (an error, a crash, Ctrl-C) ends that command, never the shell. The
 * shell's own commands (use, exit, quit) run in the shell process. Tab
 * completes through complete_line(), the code behind `ipstor __complete`.
 * History: $XDG_STATE_HOME/ipstor/history, else ~/.ipstor_history, the
 * last HISTORY_LINES lines, appended after every line. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HISTORY_LINES 1000

static struct cli *shell_cli;
static int last_status;
static bool leaving;
static volatile sig_atomic_t interrupted;

/* ---- the shell's own commands -------------------------------------- */

static int pool_known(struct cli *c, const char *name)
{
	json_object *o;
	int r = ipstor_pool_list(c->ctx, &o);
	if (r)
		return r;
	json_object *arr = res_get(o, "pools");
	bool found = false;
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *n = json_object_get_string(
			res_get(json_object_array_get_idx(arr, i), "name"));
		found |= n && !strcmp(n, name);
	}
	json_object_put(o);
	return found ? 0 : ipstor_error(-ENOENT, "pool '%s' not found", name);
}

static int shell_use(struct cli *c, int argc, const char **argv)
{
	if (argc == 0) {
		free(c->use_pool);
		c->use_pool = NULL;
		return 0;
	}
	int r = pool_known(c, argv[0]);
	if (r)
		return r;
	free(c->use_pool);
	c->use_pool = strdup(argv[0]);
	return c->use_pool ? 0 : -ENOMEM;
}

static int shell_exit(struct cli *c, int argc, const char **argv)
{
	(void)c;
	if (argc) {
		char *end;
		long n = strtol(argv[0], &end, 10);
		if (*end || end == argv[0] || n < 0 || n > 255) {
			fprintf(stderr, "ipstor: exit: '%s' is not a status "
					"from 0 to 255\n",
				argv[0]);
			return -ECANCELED;
		}
		last_status = (int)n;
	}
	leaving = true;
	return 0;
}

const struct cmd shell_commands[] = {
	{"use", "[POOL]",
	 "Make POOL the default for --pool and for bare volume names "
	 "(no POOL: none)",
	 shell_use, NULL, NULL, 0, 0, 1},
	{"exit", "[STATUS]",
	 "Leave the shell, with STATUS or that of the last command",
	 shell_exit, NULL, NULL, 0, 0, 1},
	{"quit", "[STATUS]", "The same as exit", shell_exit, NULL, NULL, 0, 0,
	 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};

void shell_usage(FILE *f, const struct cmd *own)
{
	if (own) {
		fprintf(f, "Usage: %s%s%s\n\n%s.\n", own->name,
			own->args ? " " : "", own->args ? own->args : "",
			own->summary);
		return;
	}
	fprintf(f, "\nShell commands:\n");
	for (const struct cmd *k = shell_commands; k->name; k++) {
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", k->name,
			 k->args ? " " : "", k->args ? k->args : "");
		fprintf(f, "  %-24s %s\n", head, k->summary);
	}
	fprintf(f, "\nType a command without 'ipstor'; Tab completes, "
		   "Ctrl-D leaves.\n");
}

/* ---- history ------------------------------------------------------- */

static char *history_path(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p = NULL;
	if (xdg && *xdg == '/') {
		if (asprintf(&p, "%s/ipstor", xdg) < 0)
			return NULL;
		/* like mkdir -p, for the last two levels at most */
		if (mkdir(xdg, 0700) && errno != EEXIST)
			goto fail;
		if (mkdir(p, 0700) && errno != EEXIST)
			goto fail;
		free(p);
		return asprintf(&p, "%s/ipstor/history", xdg) < 0 ? NULL : p;
	}
	if (home && *home)
		return asprintf(&p, "%s/.ipstor_history", home) < 0 ? NULL : p;
	return NULL;
fail:
	fprintf(stderr, "ipstor: warning: cannot create '%s': %s; no "
			"history\n",
		p, strerror(errno));
	free(p);
	return NULL;
}

static void history_open(const char *path)
{
	stifle_history(HISTORY_LINES);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "ipstor: warning: cannot open '%s': %s; no "
				"history\n",
			path, strerror(errno));
		return;
	}
	close(fd);
	read_history(path);
}

/* Append now, so that two shells and a crash lose nothing. */
static void history_add(const char *path, const char *line)
{
	HIST_ENTRY *prev = history_length ? history_get(history_base +
							history_length - 1)
					  : NULL;
	if (prev && !strcmp(prev->line, line))
		return; /* the same line again */
	add_history(line);
	if (path && !append_history(1, path))
		history_truncate_file(path, HISTORY_LINES);
}

/* ---- completion ---------------------------------------------------- */

struct cands {
	char **v;
	size_t n, cap;
};

static void add_cand(const char *cand, void *data)
{
	struct cands *l = data;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], cand))
			return; /* "p/v1" and "v1" may meet twice */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(cand)))
		l->n++;
}

static struct cands pending;
static size_t pending_next;

static char *next_cand(const char *text, int state)
{
	(void)text; /* complete_line() has filtered them */
	if (!state)
		pending_next = 0;
	if (pending_next < pending.n) {
		char *v = pending.v[pending_next];
		pending.v[pending_next++] = NULL;
		return v;
	}
	return NULL;
}

static void cands_free(struct cands *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct cands){0};
}

static char **shell_complete(const char *text, int start, int end)
{
	(void)end;
	/* the words before this one; an opening quote is not part of them */
	int upto = start;
	if (rl_completion_quote_character && upto > 0)
		upto--;
	char *head = strndup(rl_line_buffer, (size_t)upto);
	const char *words[BATCH_MAX_WORDS + 1];
	int n = head ? split_words(head, words, BATCH_MAX_WORDS) : -ENOMEM;
	char **matches = NULL;
	rl_attempted_completion_over = 1;
	if (n >= 0) {
		words[n++] = text;
		cands_free(&pending);
		complete_line(shell_cli, n, words, true, add_cand, &pending);
		if (pending.n)
			matches = rl_completion_matches(text, next_cand);
		else
			rl_attempted_completion_over = 0; /* file names */
		cands_free(&pending);
	}
	free(head);
	return matches;
}

/* ---- running a line ------------------------------------------------ */

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C at the prompt: readline's read was interrupted; drop the line
 * and give a fresh prompt. */
static int check_interrupt(void)
{
	if (!interrupted)
		return 0;
	interrupted = 0;
	fputs("^C\n", rl_outstream);
	rl_free_line_state();
	rl_replace_line("", 0);
	rl_on_new_line();
	rl_redisplay();
	last_status = 130;
	return 0;
}

/* A command of the table, in a child: the shell survives whatever it
 * does. Returns its exit status. */
static int run_child(struct cli *c, int argc, const char **argv)
{
	fflush(stdout);
	fflush(stderr);
	struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		fprintf(stderr, "ipstor: cannot run the command: %s\n",
			strerror(e));
		return 1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		int r = cli_run(c, argc, argv);
		if (r && r != -ECANCELED)
			out_error(r, NULL);
		_exit(cli_finish(r));
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		if (sig == SIGINT)
			fputc('\n', stderr);
		else
			fprintf(stderr, "ipstor: the command died: %s\n",
				strsignal(sig));
		return 128 + sig;
	}
	return WEXITSTATUS(st);
}

static void run_line(struct cli *c, char *line)
{
	const char *words[BATCH_MAX_WORDS];
	int n = split_words(line, words, BATCH_MAX_WORDS);
	if (n == 0)
		return;
	if (n < 0) {
		fprintf(stderr, "ipstor: %s\n", split_error(n));
		last_status = 2;
		return;
	}
	const struct cmd *own = cmd_find(shell_commands, words[0], true);
	if (own && !strcmp(own->name, words[0])) {
		ipstor_clear_last_error();
		int r = cli_run_table(c, shell_commands, n, words);
		if (r && r != -ECANCELED)
			out_error(r, NULL);
		if (!leaving || r)
			last_status = exit_code(r);
		fflush(stdout);
		return;
	}
	last_status = run_child(c, n, words);
}

static char *prompt(struct cli *c, char *buf, size_t len)
{
	if (c->use_pool)
		snprintf(buf, len, "ipstor(%s)> ", c->use_pool);
	else
		snprintf(buf, len, "ipstor> ");
	return buf;
}

int cmd_shell(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	if (!c->stdin_tty || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ipstor shell: standard input and output must "
				"be a terminal; for commands from a file or a "
				"pipe, use 'ipstor -b FILE|-'\n");
		return -ECANCELED;
	}
	shell_cli = c;
	c->in_shell = true;
	/* the shell's own -v, --json...: for every line */
	c->pre = opt;
	c->pre.pool = NULL; /* owned by opt, and no global option */
	rl_readline_name = "ipstor";
	rl_attempted_completion_function = shell_complete;
	rl_completer_word_break_characters = " \t\n";
	rl_completer_quote_characters = "'\"";
	rl_catch_signals = 0;
	rl_signal_event_hook = check_interrupt;
	struct sigaction sa = {.sa_handler = on_sigint}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old); /* no SA_RESTART: readline sees it */

	char *hist = history_path();
	if (hist)
		history_open(hist);
	last_status = 0;
	leaving = false;
	char pbuf[IPSTOR_NAME_BUF + 16];
	while (!leaving) {
		char *line = readline(prompt(c, pbuf, sizeof(pbuf)));
		if (!line) {
			fputc('\n', stdout); /* Ctrl-D: leave on a new line */
			break;
		}
		if (line[strspn(line, " \t")])
			history_add(hist, line);
		run_line(c, line);
		free(line);
	}
	sigaction(SIGINT, &old, NULL);
	cands_free(&pending);
	free(hist);
	free(c->use_pool);
	c->use_pool = NULL;
	c->in_shell = false;
	c->status = last_status;
	return 0;
}
