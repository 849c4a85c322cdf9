/* ipstor pool ...: pools of member devices. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

static const struct column pool_cols[] = {
	{"NAME", "name", COL_STR},	   {"STATE", "state", COL_STR},
	{"SIZE", "size", COL_SIZE},	   {"ALLOC", "allocated", COL_SIZE},
	{"FREE", "free", COL_SIZE},	   {"DEVICES", "device_count", COL_INT},
	{"VOLUMES", "volume_count", COL_INT}, {"CHUNK", "chunk_size", COL_SIZE},
	{NULL, NULL, 0}};

static const struct column pool_fields[] = {
	{"name", "name", COL_STR},
	{"uuid", "uuid", COL_STR},
	{"state", "state", COL_STR},
	{"size", "size", COL_SIZE},
	{"allocated", "allocated", COL_SIZE},
	{"free", "free", COL_SIZE},
	{"chunk size", "chunk_size", COL_SIZE},
	{"metadata copy size", "metadata_copy_size", COL_SIZE},
	{"volumes", "volume_count", COL_INT},
	{"sequence", "sequence", COL_INT},
	{"created", "created", COL_STR},
	{NULL, NULL, 0}};

static const struct column dev_cols[] = {
	{"INDEX", "index", COL_INT},	   {"PATH", "path", COL_STR},
	{"STATE", "state", COL_STR},	   {"SIZE", "size", COL_SIZE},
	{"CAPACITY", "capacity", COL_SIZE}, {"ALLOC", "allocated", COL_SIZE},
	{"LABELS", "labels", COL_STR},	   {"METADATA", "metadata_copies", COL_STR},
	{NULL, NULL, 0}};

static json_object *pool_args(const char *name)
{
	json_object *a = json_object_new_object();
	args_str(a, "pool", name);
	return a;
}

static void print_pool(json_object *o)
{
	out_object("pool", o, pool_fields);
	if (!opt.json) {
		printf("\n");
		out_list("devices", res_get(o, "devices"), dev_cols);
	}
}

static int show_pool(struct cli *c, const char *name)
{
	json_object *res;
	int r = cli_op(c, "pool.show", pool_args(name), NULL, 0, &res);
	if (!r)
		print_pool(res_get(res, "pool"));
	json_object_put(res);
	return r;
}

static const struct poptOption create_opts[] = {
	{"chunk-size", 'c', POPT_ARG_STRING, &opt.chunk_size, 0,
	 "unit of allocation and copy-on-write (default 256K)", "SIZE"},
	{"metadata-size", 0, POPT_ARG_STRING, &opt.md_size, 0,
	 "size of each metadata copy (default 1M)", "SIZE"},
	{"force", 'f', POPT_ARG_NONE, &opt.force, 0,
	 "overwrite filesystem, partition table or old pool signatures", NULL},
	POPT_TABLEEND};

static int pool_create(struct cli *c, int argc, const char **argv)
{
	struct ipstor_pool_create_opts o = {.force = opt.force};
	uint64_t v;
	if (opt.chunk_size) {
		if (parse_size_opt("chunk-size", opt.chunk_size, &v))
			return -ECANCELED;
		if (v > UINT32_MAX) {
			fprintf(stderr, "ipstor: --chunk-size: at most 64 MiB\n");
			return -ECANCELED;
		}
		o.chunk_size = (uint32_t)v;
	}
	if (opt.md_size && parse_size_opt("metadata-size", opt.md_size,
					  &o.md_size))
		return -ECANCELED;
	int r = ipstor_pool_create(c->ctx, argv[0], argv + 1, argc - 1, &o);
	if (r)
		return r;
	if (opt.dry_run) {
		out_say("would create pool '%s' on %d device%s", argv[0],
			argc - 1, argc == 2 ? "" : "s");
		return 0;
	}
	if (!opt.json) {
		out_say("created pool '%s' on %d device%s", argv[0], argc - 1,
			argc == 2 ? "" : "s");
		return 0;
	}
	return show_pool(c, argv[0]);
}

static int pool_list(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	json_object *o, *arr;
	int r = ipstor_pool_list(c->ctx, &o);
	if (r)
		return r;
	json_object_object_get_ex(o, "pools", &arr);
	out_list("pools", arr, pool_cols);
	json_object_put(o);
	return 0;
}

static int pool_show(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	return show_pool(c, argv[0]);
}

static const struct poptOption extend_opts[] = {
	{"force", 'f', POPT_ARG_NONE, &opt.force, 0,
	 "overwrite filesystem, partition table or old pool signatures", NULL},
	POPT_TABLEEND};

static int pool_extend(struct cli *c, int argc, const char **argv)
{
	json_object *a = pool_args(argv[0]), *devs = json_object_new_array(),
		    *res;
	for (int i = 1; i < argc; i++)
		json_object_array_add(devs, json_object_new_string(argv[i]));
	json_object_object_add(a, "devices", devs);
	args_bool(a, "force", opt.force);
	int r = cli_op(c, "pool.extend", a, NULL, 0, &res);
	if (!r && opt.json && !opt.dry_run)
		out_json(res);
	else if (!r)
		out_say("%s %d device%s to pool '%s'",
			opt.dry_run ? "would add" : "added", argc - 1,
			argc == 2 ? "" : "s", argv[0]);
	json_object_put(res);
	return r;
}

static int pool_destroy(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *res;
	int r = cli_op(c, "pool.show", pool_args(argv[0]), NULL, 0, &res);
	if (r)
		return r;
	int vols = json_object_get_int(res_get(res_get(res, "pool"),
					       "volume_count"));
	json_object_put(res);
	r = cli_confirm(c, "destroy pool '%s' and its %d volume%s", argv[0],
			vols, vols == 1 ? "" : "s");
	if (!r)
		r = cli_op(c, "pool.destroy", pool_args(argv[0]), NULL, 0,
			   &res);
	if (!r) {
		json_object_put(res);
		out_say("%s pool '%s'",
			opt.dry_run ? "would destroy" : "destroyed", argv[0]);
	}
	return r;
}

static int pool_import(struct cli *c, int argc, const char **argv)
{
	json_object *o, *arr;
	int r = ipstor_pool_import(c->ctx, argv, argc, &o);
	if (r)
		return r;
	json_object_object_get_ex(o, "pools", &arr);
	if (opt.json) {
		out_json(o);
	} else {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *j = json_object_array_get_idx(arr, i), *n;
			json_object_object_get_ex(j, "name", &n);
			out_say("%s pool '%s'",
				opt.dry_run ? "would import" : "imported",
				json_object_get_string(n));
		}
	}
	json_object_put(o);
	return 0;
}

static void print_problems(json_object *o, const char *key)
{
	json_object *arr;
	json_object_object_get_ex(o, key, &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *j = json_object_array_get_idx(arr, i), *sev, *obj,
			    *msg, *rep;
		json_object_object_get_ex(j, "severity", &sev);
		json_object_object_get_ex(j, "object", &obj);
		json_object_object_get_ex(j, "message", &msg);
		json_object_object_get_ex(j, "repairable", &rep);
		printf("%s: %s: %s%s\n", json_object_get_string(sev),
		       json_object_get_string(obj), json_object_get_string(msg),
		       strcmp(json_object_get_string(sev), "repaired") &&
				       json_object_get_boolean(rep)
			       ? " (repairable)"
			       : "");
	}
}

static int pool_check(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *o = NULL;
	int r = cli_op(c, "pool.check", pool_args(argv[0]), NULL, 0, &o);
	if (!o)
		return r;
	if (opt.json)
		out_json(o);
	else if (!opt.quiet || r) {
		print_problems(o, "problems");
		if (!r)
			out_say("pool '%s' is clean", argv[0]);
	}
	json_object_put(o);
	return r;
}

static int pool_repair(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *o = NULL;
	int r = cli_op(c, "pool.repair", pool_args(argv[0]), NULL, 0, &o);
	if (!o)
		return r;
	if (opt.json) {
		out_json(o);
	} else if (!opt.quiet) {
		print_problems(o, "repaired");
		if (!json_object_array_length(res_get(o, "repaired")))
			out_say("pool '%s': nothing to repair", argv[0]);
		else
			out_say("pool '%s' repaired", argv[0]);
	}
	json_object_put(o);
	return r;
}

static int pool_dump(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *o;
	int r = cli_op(c, "pool.dump", pool_args(argv[0]), NULL, 0, &o);
	if (!r)
		out_json(o);
	json_object_put(o);
	return r;
}

const struct cmd pool_commands[] = {
	{"create", "NAME DEV...",
	 "Create a pool from block devices, partitions or files", pool_create,
	 create_opts, NULL, CMD_WRITES, 2, -1},
	{"list", NULL, "List pools", pool_list, NULL, NULL, 0, 0, 0},
	{"show", "POOL", "Show a pool and its devices", pool_show, NULL, NULL,
	 0, 1, 1},
	{"extend", "POOL DEV...", "Add devices to a pool", pool_extend,
	 extend_opts, NULL, CMD_WRITES, 2, -1},
	{"destroy", "POOL", "Wipe a pool's labels and forget it, volumes and all",
	 pool_destroy, NULL, NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"import", "DEV...", "Adopt a pool found on devices this host does not list",
	 pool_import, NULL, NULL, CMD_WRITES, 1, -1},
	{"check", "POOL", "Read every label, metadata copy and map; report problems",
	 pool_check, NULL, NULL, 0, 1, 1},
	{"repair", "POOL", "Rewrite damaged labels and metadata copies from a good copy",
	 pool_repair, NULL, NULL, CMD_WRITES, 1, 1},
	{"dump", "POOL", "Print every label and metadata copy as JSON",
	 pool_dump, NULL, NULL, 0, 1, 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
