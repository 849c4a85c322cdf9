/* ipstor disk ...: what the machine has to build pools from. */
#include "cli.h"

#include <json-c/json.h>

static int disk_list(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	json_object *o;
	int r = ipstor_disk_list(c->ctx, &o);
	if (r)
		return r;
	static const struct column cols[] = {
		{"PATH", "path", COL_STR},	{"TYPE", "type", COL_STR},
		{"SIZE", "size", COL_SIZE},	{"MODEL", "model", COL_STR},
		{"IN USE", "in_use", COL_BOOL}, {"USE", "use", COL_STR},
		{"SIGNATURES", "signatures", COL_STR},
		{NULL, NULL, 0}};
	json_object *arr;
	json_object_object_get_ex(o, "disks", &arr);
	out_list("disks", arr, cols);
	json_object_put(o);
	return 0;
}

const struct cmd disk_commands[] = {
	{"list", NULL,
	 "List block devices and pool member files: size, model, whether in "
	 "use, signatures",
	 disk_list, NULL, NULL, 0, 0, 0},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
