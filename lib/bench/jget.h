/* Reading the results documents back (the report writers and the
 * comparison work from the JSON the engine produced, so every output
 * shows the same numbers). */
#ifndef IPSTOR_BENCH_JGET_H
#define IPSTOR_BENCH_JGET_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* o at "a.b.c", or NULL */
static inline json_object *jget(json_object *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && o;
	     k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return o;
}

static inline double jnum(json_object *o, const char *path)
{
	json_object *v = jget(o, path);
	return v ? json_object_get_double(v) : 0;
}

static inline int64_t jint(json_object *o, const char *path)
{
	json_object *v = jget(o, path);
	return v ? json_object_get_int64(v) : 0;
}

static inline const char *jstr(json_object *o, const char *path)
{
	json_object *v = jget(o, path);
	const char *s = v ? json_object_get_string(v) : NULL;
	return s ? s : "";
}

static inline size_t jlen(json_object *o, const char *path)
{
	json_object *v = jget(o, path);
	return v && json_object_is_type(v, json_type_array)
		       ? json_object_array_length(v)
		       : 0;
}

static inline json_object *jidx(json_object *o, const char *path, size_t i)
{
	json_object *v = jget(o, path);
	return v && json_object_is_type(v, json_type_array)
		       ? json_object_array_get_idx(v, i)
		       : NULL;
}

#endif
