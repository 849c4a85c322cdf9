/* ipstor export ...: which volumes are served, how, and to whom. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const struct column export_cols[] = {
	{"NAME", "name", COL_STR},	   {"POOL", "pool", COL_STR},
	{"VOLUME", "volume", COL_STR},	   {"SNAPSHOT", "snapshot", COL_STR},
	{"PROTO", "proto", COL_STR},
	{"LISTEN", "listen", COL_STR},	   {"ALLOW", "allow", COL_STR},
	{"READ-ONLY", "read_only", COL_BOOL}, {NULL, NULL, 0}};

static const struct column export_fields[] = {
	{"name", "name", COL_STR},
	{"pool", "pool", COL_STR},
	{"volume", "volume", COL_STR},
	{"snapshot", "snapshot", COL_STR},
	{"proto", "proto", COL_STR},
	{"listen", "listen", COL_STR},
	{"allow", "allow", COL_STR},
	{"read-only", "read_only", COL_BOOL},
	{"secret", "secret", COL_BOOL},
	{"created", "created", COL_STR},
	{NULL, NULL, 0}};

static const struct poptOption add_opts[] = {
	{"proto", 0, POPT_ARG_STRING, &opt.proto, 0,
	 "protocol to serve it with: nbd (default) or udp", "PROTO"},
	{"name", 0, POPT_ARG_STRING, &opt.export_name, 0,
	 "export name clients ask for (default: the volume's name)", "NAME"},
	{"listen", 0, POPT_ARG_STRING, &opt.listen, 0,
	 "address and port to serve on (default 127.0.0.1:10809, udp "
	 "127.0.0.1:10810)",
	 "ADDR:PORT"},
	{"allow", 0, POPT_ARG_ARGV, &opt.allow, 0,
	 "clients allowed to connect, repeatable or comma-separated "
	 "(default: loopback only)",
	 "CIDR"},
	{"read-only", 'r', POPT_ARG_NONE, &opt.read_only, 0,
	 "refuse writes", NULL},
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "udp: clients must prove they know the secret in FILE", "FILE"},
	POPT_TABLEEND};

static int export_add(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	char pool[IPSTOR_NAME_BUF], vol[IPSTOR_NAME_BUF], snap[IPSTOR_NAME_BUF];
	int r = cli_ref_locate(c, argv[0], pool, vol, snap);
	if (r)
		return r;
	uint8_t secret[4097];
	size_t slen = 0;
	if (opt.secret_file &&
	    (r = cli_read_secret(opt.secret_file, secret, &slen)))
		return r;
	json_object *a = json_object_new_object(), *allow, *res;
	if (slen) {
		char hex[2 * 4096 + 1];
		for (size_t i = 0; i < slen; i++)
			snprintf(hex + 2 * i, 3, "%02x", secret[i]);
		args_str(a, "secret", hex);
		explicit_bzero(hex, sizeof(hex));
		explicit_bzero(secret, sizeof(secret));
	}
	args_str(a, "pool", pool);
	args_str(a, "volume", vol);
	if (snap[0])
		args_str(a, "snapshot", snap);
	args_str(a, "proto", opt.proto ? opt.proto : "nbd");
	args_str(a, "name", opt.export_name);
	args_str(a, "listen", opt.listen);
	args_bool(a, "read_only", opt.read_only);
	allow = json_object_new_array();
	for (int i = 0; opt.allow && opt.allow[i]; i++) {
		char *list = strdup(opt.allow[i]), *save = NULL;
		for (char *t = strtok_r(list, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			json_object_array_add(allow, json_object_new_string(t));
		free(list);
	}
	json_object_object_add(a, "allow", allow);
	if ((r = cli_op(c, "export.add", a, NULL, 0, &res)))
		return r;
	json_object *e = res_get(res, "export");
	if (opt.json && e)
		out_object("export", e, export_fields);
	else
		out_say("%s export '%s' of '%s/%s'%s%s",
			opt.dry_run ? "would add" : "added",
			e ? json_object_get_string(res_get(e, "name"))
			  : opt.export_name ? opt.export_name : argv[0],
			pool, strchr(argv[0], '/') ? strchr(argv[0], '/') + 1
						   : argv[0],
			e ? " on " : "",
			e ? json_object_get_string(res_get(e, "listen")) : "");
	json_object_put(res);
	return 0;
}

static int export_list(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	json_object *res;
	int r = cli_op(c, "export.list", json_object_new_object(), NULL, 0,
		       &res);
	if (!r)
		out_list("exports", res_get(res, "exports"), export_cols);
	json_object_put(res);
	return r;
}

static json_object *name_args(const char *name)
{
	json_object *a = json_object_new_object();
	args_str(a, "name", name);
	return a;
}

static int export_show(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *res;
	int r = cli_op(c, "export.show", name_args(argv[0]), NULL, 0, &res);
	if (!r)
		out_object("export", res_get(res, "export"), export_fields);
	json_object_put(res);
	return r;
}

static int export_remove(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *res;
	int r = cli_op(c, "export.remove", name_args(argv[0]), NULL, 0, &res);
	json_object_put(res);
	if (!r)
		out_say("%s export '%s'",
			opt.dry_run ? "would remove" : "removed", argv[0]);
	return r;
}

const struct cmd export_commands[] = {
	{"add", "VOL[@SNAP]", "Serve a volume or a snapshot over the network", export_add,
	 add_opts, NULL, CMD_WRITES, 1, 1},
	{"list", NULL, "List exports", export_list, NULL, NULL, 0, 0, 0},
	{"show", "EXPORT", "Show an export", export_show, NULL, NULL, 0, 1, 1},
	{"remove", "EXPORT",
	 "Stop serving an export; its clients are disconnected", export_remove,
	 NULL, NULL, CMD_WRITES, 1, 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
