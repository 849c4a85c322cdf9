/* Access specifications from JSON files:
 *
 *   {"name": "NAME", "lines": [{"size": 4096, "percent": 60, "read": 80,
 *     "random": 100, "delay": 0, "burst": 1, "align": 0, "reply": 0}, ...]}
 *
 * Sizes may be strings with units ("4K"). Missing keys take IOMeter's
 * defaults; unknown keys are errors (a typo must not pass silently). */
#include "bench.h"
#include "stats.h"
#include "../util/err.h"
#include "../util/units.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPEC_FILE_MAX (1u << 20)

struct field {
	const char *key;
	uint64_t min, max;
	bool size; /* accepts unit strings */
	const char *range; /* for the message */
};

static const struct field fields[] = {
	{"size", 1, BENCH_MAX_IO_SIZE, true, "from 1 byte to 16 MiB"},
	{"percent", 0, 100, false, "an integer from 0 to 100"},
	{"read", 0, 100, false, "an integer from 0 to 100"},
	{"random", 0, 100, false, "an integer from 0 to 100"},
	{"delay", 0, 60000, false, "milliseconds from 0 to 60000"},
	{"burst", 1, 1000000, false, "an integer from 1 to 1000000"},
	{"align", 0, 1u << 30, true, "0 (sector) or a size up to 1 GiB"},
	{"reply", 0, BENCH_MAX_IO_SIZE, true, "0 or a size up to 16 MiB"},
};

static int field_value(const char *origin, unsigned idx, const struct field *f,
		       json_object *v, uint64_t *out)
{
	int r = -EINVAL;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x >= 0) {
			*out = (uint64_t)x;
			r = 0;
		}
	} else if (f->size && json_object_is_type(v, json_type_string)) {
		r = units_parse_size(json_object_get_string(v), out);
	}
	if (!r && (*out < f->min || *out > f->max))
		r = -ERANGE;
	if (r)
		return ipstor_fail(-EINVAL, "spec '%s': lines[%u].%s: must be %s",
				   origin, idx, f->key, f->range);
	return 0;
}

static int parse_line(const char *origin, unsigned idx, json_object *o,
		      struct bench_line *l)
{
	if (!json_object_is_type(o, json_type_object))
		return ipstor_fail(-EINVAL, "spec '%s': lines[%u]: must be an "
					    "object",
				   origin, idx);
	bench_line_default(l);
	json_object_object_foreach(o, key, val)
	{
		const struct field *f = NULL;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(fields[i].key, key))
				f = &fields[i];
		if (!f)
			return ipstor_fail(-EINVAL,
					   "spec '%s': lines[%u]: unknown key "
					   "'%s'",
					   origin, idx, key);
		uint64_t v;
		int r = field_value(origin, idx, f, val, &v);
		if (r)
			return r;
		if (f == &fields[0])
			l->size = (uint32_t)v;
		else if (f == &fields[1])
			l->percent = (unsigned)v;
		else if (f == &fields[2])
			l->read = (unsigned)v;
		else if (f == &fields[3])
			l->random = (unsigned)v;
		else if (f == &fields[4])
			l->delay_ms = (unsigned)v;
		else if (f == &fields[5])
			l->burst = (unsigned)v;
		else if (f == &fields[6])
			l->align = (uint32_t)v;
		else
			l->reply = (uint32_t)v;
	}
	return 0;
}

static int parse_object(json_object *root, const char *origin,
			struct bench_spec *out)
{
	json_object *lines = NULL;
	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(root, json_type_object))
		return ipstor_fail(-EINVAL, "spec '%s': must be a JSON object "
					    "with \"lines\"",
				   origin);
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "name")) {
			const char *n = json_object_get_string(val);
			if (!json_object_is_type(val, json_type_string) ||
			    !*n || strlen(n) >= sizeof(out->name) ||
			    strpbrk(n, ",\"\n\r'<>&"))
				return ipstor_fail(-EINVAL,
						   "spec '%s': name: must be "
						   "a string of 1 to 63 "
						   "characters without "
						   "quotes, commas or markup",
						   origin);
			snprintf(out->name, sizeof(out->name), "%s", n);
		} else if (!strcmp(key, "lines")) {
			lines = val;
		} else {
			return ipstor_fail(-EINVAL,
					   "spec '%s': unknown key '%s'",
					   origin, key);
		}
	}
	if (!lines || !json_object_is_type(lines, json_type_array) ||
	    !json_object_array_length(lines) ||
	    json_object_array_length(lines) > BENCH_MAX_LINES)
		return ipstor_fail(-EINVAL,
				   "spec '%s': lines: must be an array of 1 "
				   "to %d access specification lines",
				   origin, BENCH_MAX_LINES);
	unsigned total = 0;
	out->nlines = (unsigned)json_object_array_length(lines);
	for (unsigned i = 0; i < out->nlines; i++) {
		int r = parse_line(origin, i, json_object_array_get_idx(lines, i),
				   &out->lines[i]);
		if (r)
			return r;
		total += out->lines[i].percent;
	}
	if (total != 100)
		return ipstor_fail(-EINVAL,
				   "spec '%s': lines[].percent: the shares "
				   "add up to %u, not 100",
				   origin, total);
	if (!out->name[0])
		snprintf(out->name, sizeof(out->name), "custom");
	return 0;
}

int bench_spec_parse(const char *text, const char *origin,
		     struct bench_spec *out)
{
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	size_t len = strlen(text);
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t at = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	bool junk = root && e == json_tokener_success &&
		    text[at + strspn(text + at, " \t\r\n")];
	if (!root || e != json_tokener_success || junk) {
		json_object_put(root);
		if (junk)
			at += strspn(text + at, " \t\r\n");
		/* counted from 1, as editors count columns */
		return ipstor_fail(-EINVAL, "spec '%s': not valid JSON at byte "
					    "%zu: %s",
				   origin, at + 1,
				   junk ? "unexpected text after the object"
					: json_tokener_error_desc(e));
	}
	int r = parse_object(root, origin, out);
	json_object_put(root);
	return r;
}

int bench_spec_load(const char *path, struct bench_spec *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return ipstor_fail(-e, "cannot open spec '%s': %s", path,
				   strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > SPEC_FILE_MAX) {
		close(fd);
		return ipstor_fail(-EINVAL, "spec '%s': must be a regular file "
					    "of at most 1 MiB",
				   path);
	}
	char *text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	ssize_t n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n < 0 || memchr(text, '\0', (size_t)n)) {
		free(text);
		return ipstor_fail(-EINVAL, "spec '%s': cannot read it as text",
				   path);
	}
	text[n] = '\0';
	int r = bench_spec_parse(text, path, out);
	free(text);
	return r;
}

int bench_spec_resolve(const char *word, struct bench_spec *out)
{
	size_t n = strlen(word);
	bool file = strchr(word, '/') || (n > 5 && !strcmp(word + n - 5, ".json"));
	return file ? bench_spec_load(word, out) : bench_spec_preset(word, out);
}

bool bench_spec_writes(const struct bench_spec *s)
{
	for (unsigned i = 0; i < s->nlines; i++)
		if (s->lines[i].percent && s->lines[i].read < 100)
			return true;
	return false;
}

uint32_t bench_spec_max_size(const struct bench_spec *s)
{
	uint32_t m = 0;
	for (unsigned i = 0; i < s->nlines; i++)
		if (s->lines[i].percent && s->lines[i].size > m)
			m = s->lines[i].size;
	return m;
}

json_object *bench_spec_json(const struct bench_spec *s)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(o, "name", json_object_new_string(s->name));
	for (unsigned i = 0; i < s->nlines; i++) {
		const struct bench_line *l = &s->lines[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "size", json_object_new_int64(l->size));
		json_object_object_add(j, "percent", json_object_new_int((int)l->percent));
		json_object_object_add(j, "read", json_object_new_int((int)l->read));
		json_object_object_add(j, "random", json_object_new_int((int)l->random));
		json_object_object_add(j, "delay", json_object_new_int((int)l->delay_ms));
		json_object_object_add(j, "burst", json_object_new_int((int)l->burst));
		json_object_object_add(j, "align", json_object_new_int64(l->align));
		json_object_object_add(j, "reply", json_object_new_int64(l->reply));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "lines", arr);
	return o;
}
