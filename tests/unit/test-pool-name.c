/* The pool's name as a scan reads it out of a metadata copy: skimmed from
 * the plain JSON ipstor writes, and for anything else the same answer as
 * json-c's full parse. */
#include "unit.h"
#include "pool/scan.h"

#include <json-c/json.h>
#include <stdlib.h>

/* what json-c makes of it: the reference */
static const char *parsed(const char *json, char *buf, size_t len)
{
	json_object *root = json_tokener_parse(json), *pool, *name;
	buf[0] = '\0';
	if (root && json_object_object_get_ex(root, "pool", &pool) &&
	    json_object_object_get_ex(pool, "name", &name) &&
	    json_object_is_type(name, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(name));
	json_object_put(root);
	return buf;
}

static int same(const char *json, const char *want)
{
	char a[80], b[80];
	scan_json_pool_name(json, a, sizeof(a));
	parsed(json, b, sizeof(b));
	if (strcmp(a, b) || strcmp(a, want)) {
		printf("# %s: skimmed '%s', json-c '%s', want '%s'\n", json, a,
		       b, want);
		return 0;
	}
	return 1;
}

int main(void)
{
	TEST("the documents ipstor writes");
	CHECK(same("{\"format\":\"ipstor-pool\",\"schema\":2,\"pool\":{\"name\":"
		   "\"tank\",\"uuid\":\"x\",\"chunk_size\":262144},\"devices\":"
		   "[{\"index\":0,\"path\":\"/dev/sdb\"}],\"volumes\":[{\"name\":"
		   "\"v\",\"snapshots\":[{\"name\":\"a\",\"map\":{\"root\":\"1\","
		   "\"depth\":2},\"received\":false}],\"origin\":null}],"
		   "\"exports\":[]}",
		   "tank"));
	CHECK(same("{\"format\":\"ipstor-pool\",\"pool\":{\"uuid\":\"u\","
		   "\"name\":\"p-1.b_c+d\"}}",
		   "p-1.b_c+d"));
	CHECK(same(" {\n \"pool\" : { \"name\" : \"sp\" } , \"x\" : [ 1 , -2.5e3"
		   ", true, false, null, {}, [] ] }\n",
		   "sp"));

	TEST("the last of two equal keys wins, as in json-c");
	CHECK(same("{\"pool\":{\"name\":\"a\"},\"pool\":{\"name\":\"b\"}}", "b"));
	CHECK(same("{\"pool\":{\"name\":\"a\",\"name\":\"c\"}}", "c"));
	CHECK(same("{\"pool\":{\"name\":\"a\"},\"pool\":{\"uuid\":\"u\"}}", ""));

	TEST("no name");
	CHECK(same("{\"pool\":{\"uuid\":\"u\"}}", ""));
	CHECK(same("{\"pool\":{\"name\":7}}", ""));
	CHECK(same("{\"volumes\":[]}", ""));
	CHECK(same("{}", ""));
	CHECK(same("[]", ""));
	CHECK(same("", ""));
	CHECK(same("{\"pool\":{\"name\":\"cut", ""));
	CHECK(same("{\"pool\":{\"name\":\"a\"}", ""));
	TEST("text after the document: json-c ignores it");
	CHECK(same("{\"pool\":{\"name\":\"a\"}} trailing", "a"));

	TEST("what the skim leaves to json-c");
	CHECK(same("{\"pool\":{\"name\":\"a\\u0062\"}}", "ab"));
	CHECK(same("{\"po\\u006fl\":{\"name\":\"e\"}}", "e"));
	CHECK(same("{\"pool\":{\"name\":\"\\/x\"}}", "/x"));
	CHECK(same("{\"x\":\"a\\\"b\",\"pool\":{\"name\":\"q\"}}", "q"));
	CHECK(same("{/* c */\"pool\":{\"name\":\"c\"}}", "c"));
	CHECK(same("{\"pool\":{\"name\":\"n\"},\"x\":nul}", ""));
	CHECK(same("{\"pool\":{\"name\":\"n\"},\"x\":truex}", ""));

	return unit_done();
}
