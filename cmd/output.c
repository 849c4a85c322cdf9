/* One output layer: every command builds a json-c object; --json prints
 * it, otherwise the same object is rendered as a table or key: value
 * lines. Data goes to stdout, diagnostics to stderr. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

int exit_code(int err)
{
	switch (-err) {
	case 0:
		return 0;
	case EACCES:
	case EPERM:
		return 3;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return 4;
	case EBUSY:
	case EEXIST:
	case EWOULDBLOCK:
		return 5;
	case EOPNOTSUPP:
	case ENOSYS:
		return 6;
	case EBADMSG:
	case EUCLEAN:
		return 7;
	case EINVAL:
	case ERANGE:
	case ECANCELED:
		return 2;
	default:
		return 1;
	}
}

void out_error(int err, const char *fallback)
{
	const char *m = ipstor_last_error();
	if (m && *m)
		fprintf(stderr, "ipstor: %s\n", m);
	else if (fallback)
		fprintf(stderr, "ipstor: %s: %s\n", fallback, strerror(-err));
	else
		fprintf(stderr, "ipstor: %s\n", strerror(-err));
}

int cli_finish(int r)
{
	/* a full disk behind stdout must not pass for success */
	if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
		if (errno != EPIPE) {
			fprintf(stderr, "ipstor: write error: %s\n",
				strerror(errno));
			return r ? exit_code(r) : 1;
		}
	}
	return exit_code(r);
}

char *fmt_size(uint64_t v, char *buf, size_t len)
{
	if (opt.bytes)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		ipstor_format_size(v, buf, len);
	return buf;
}

int parse_size_opt(const char *name, const char *s, uint64_t *out)
{
	int r = ipstor_parse_size(s, out);
	if (r)
		fprintf(stderr, "ipstor: --%s: %s\n", name, ipstor_last_error());
	return r ? -ECANCELED : 0;
}

void out_json(struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
}

/* Who hears what: the one rule of the command's voice, documented in
 * ipstor(8) OUTPUT. Cron mails every line a job prints, so a command that
 * did what it was told says so only to a person watching:
 *   data (lists, show, vol read, reports, --json)  always, on stdout
 *   errors and warnings                           always, on stderr
 *   the plan of a --dry-run                       unless -q or --json
 *   confirmations ("created volume ...")          when stdout is a
 *                                                 terminal or with -v;
 *                                                 never with -q or --json
 *   progress                                      when stderr is a
 *                                                 terminal; never with -q */
static bool stdout_tty, stderr_tty;

void out_init(bool out_tty, bool err_tty)
{
	stdout_tty = out_tty;
	stderr_tty = err_tty;
}

static bool says_confirmations(void)
{
	if (opt.quiet || opt.json)
		return false;
	return opt.dry_run || opt.verbose || stdout_tty;
}

void out_say(const char *fmt, ...)
{
	if (!says_confirmations())
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

bool out_progress_wanted(void)
{
	return stderr_tty && !opt.quiet;
}

void out_progress(const char *fmt, ...)
{
	if (!out_progress_wanted())
		return;
	va_list ap;
	va_start(ap, fmt);
	fputc('\r', stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr); /* clear what a longer line left */
	va_end(ap);
}

void out_progress_done(void)
{
	if (out_progress_wanted())
		fputs("\r\033[K", stderr);
}

static json_object *reach(json_object *o, const char *key)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", key);
	for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, ".")) {
		json_object *next = NULL;
		if (!json_object_object_get_ex(o, tok, &next))
			return NULL;
		o = next;
	}
	return o;
}

static void cell(json_object *row, const struct column *c, char *buf,
		 size_t len)
{
	json_object *v = reach(row, c->key);
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	switch (c->type) {
	case COL_SIZE:
		fmt_size((uint64_t)json_object_get_int64(v), buf, len);
		break;
	case COL_INT:
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		break;
	case COL_BOOL:
		snprintf(buf, len, "%s", json_object_get_boolean(v) ? "yes" : "no");
		break;
	case COL_LEN:
		snprintf(buf, len, "%zu", json_object_is_type(v, json_type_array)
						   ? json_object_array_length(v)
						   : 0);
		break;
	default:
		if (json_object_is_type(v, json_type_array)) {
			size_t n = 0;
			buf[0] = '\0';
			for (size_t i = 0; i < json_object_array_length(v); i++)
			{
				const char *e = json_object_get_string(
					json_object_array_get_idx(v, i));
				n += (size_t)snprintf(
					buf + n, n < len ? len - n : 0, "%s%s",
					i ? ", " : "", e ? e : "-");
			}
		} else {
			const char *e = json_object_get_string(v);
			snprintf(buf, len, "%s", e ? e : "-");
		}
	}
}

void out_list(const char *key, struct json_object *arr,
	      const struct column *cols)
{
	if (opt.json) {
		json_object *root = json_object_new_object();
		json_object_object_add(root, "version",
				       json_object_new_int(IPSTOR_JSON_VERSION));
		json_object_object_add(root, key, json_object_get(arr));
		out_json(root);
		json_object_put(root);
		return;
	}
	size_t ncol = 0, nrow = json_object_array_length(arr);
	while (cols[ncol].header)
		ncol++;
	size_t width[16] = {0};
	char buf[512];
	for (size_t c = 0; c < ncol; c++)
		width[c] = strlen(cols[c].header);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			cell(json_object_array_get_idx(arr, r), &cols[c], buf,
			     sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	if (!nrow)
		return; /* nothing to show: no header either, like ls */
	for (size_t c = 0; c < ncol; c++)
		printf("%-*s%s", c + 1 < ncol ? (int)width[c] : 0,
		       cols[c].header, c + 1 < ncol ? "  " : "\n");
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			cell(json_object_array_get_idx(arr, r), &cols[c], buf,
			     sizeof(buf));
			bool num = cols[c].type == COL_SIZE ||
				   cols[c].type == COL_INT ||
				   cols[c].type == COL_LEN;
			if (c + 1 == ncol)
				printf("%s\n", buf);
			else
				printf(num ? "%*s  " : "%-*s  ", (int)width[c],
				       buf);
		}
}

void out_object(const char *key, struct json_object *o,
		const struct column *fields)
{
	if (opt.json) {
		json_object *root = json_object_new_object();
		json_object_object_add(root, "version",
				       json_object_new_int(IPSTOR_JSON_VERSION));
		json_object_object_add(root, key, json_object_get(o));
		out_json(root);
		json_object_put(root);
		return;
	}
	size_t w = 0;
	for (const struct column *f = fields; f->header; f++)
		if (strlen(f->header) > w)
			w = strlen(f->header);
	char buf[512];
	for (const struct column *f = fields; f->header; f++) {
		cell(o, f, buf, sizeof(buf));
		printf("%s:%*s %s\n", f->header, (int)(w - strlen(f->header)),
		       "", buf);
	}
}
