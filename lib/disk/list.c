/* ipstor disk list: every block device udev knows, and the member files
 * in the state list, with what they carry. */
#include "probe.h"
#include "../ctx.h"
#include "../md/format.h"
#include "../pool/scan.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void describe(json_object *o, const char *path, struct scan *pools)
{
	struct stat st;
	char why[256] = "", sig[128] = "";
	if (stat(path, &st))
		return;
	int blk = S_ISBLK(st.st_mode);
	int used = probe_in_use(path, blk, blk ? st.st_rdev : st.st_dev,
				st.st_ino, why, sizeof(why));
	json_object *pool = NULL;
	for (int i = 0; i < pools->n; i++) {
		struct found *f = &pools->f[i];
		if (f->identified && f->dev == (blk ? st.st_rdev : st.st_dev) &&
		    f->ino == (blk ? 0 : st.st_ino)) {
			char u[UUID_STR_LEN];
			uuid_format(f->pool_uuid, u);
			pool = json_object_new_string(u);
		}
	}
	json_object *sigs = json_object_new_array();
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		if (probe_signature(fd, sig, sizeof(sig)) > 0)
			json_object_array_add(sigs,
					      json_object_new_string(sig));
		close(fd);
	}
	json_object_object_add(o, "signatures", sigs);
	json_object_object_add(o, "pool_uuid", pool);
	json_object_object_add(o, "in_use", json_object_new_boolean(
						    used || pool != NULL));
	json_object_object_add(o, "use",
			       used ? json_object_new_string(why)
			       : pool ? json_object_new_string("pool member")
				      : NULL);
}

int ipstor_disk_list(struct ipstor_ctx *ctx, struct json_object **out)
{
	struct scan pools;
	int r = scan_state(ctx, NULL, &pools);
	if (r)
		return r;
	json_object *arr = json_object_new_array();
	struct udev *udev = udev_new();
	struct udev_enumerate *en = udev ? udev_enumerate_new(udev) : NULL;
	if (en) {
		udev_enumerate_add_match_subsystem(en, "block");
		udev_enumerate_scan_devices(en);
		struct udev_list_entry *e;
		udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en))
		{
			struct udev_device *d = udev_device_new_from_syspath(
				udev, udev_list_entry_get_name(e));
			if (!d)
				continue;
			const char *node = udev_device_get_devnode(d);
			const char *type = udev_device_get_devtype(d);
			const char *sz = udev_device_get_sysattr_value(d, "size");
			uint64_t size = sz ? strtoull(sz, NULL, 10) * 512 : 0;
			if (!node || !type || size == 0) {
				udev_device_unref(d); /* empty loop, ram... */
				continue;
			}
			const char *model =
				udev_device_get_property_value(d, "ID_MODEL");
			json_object *o = json_object_new_object();
			json_object_object_add(o, "path",
					       json_object_new_string(node));
			json_object_object_add(o, "type",
					       json_object_new_string(type));
			json_object_object_add(o, "size",
					       json_object_new_int64(
						       (int64_t)size));
			json_object_object_add(
				o, "model",
				model ? json_object_new_string(model) : NULL);
			describe(o, node, &pools);
			json_object_array_add(arr, o);
			udev_device_unref(d);
		}
		udev_enumerate_unref(en);
	}
	udev_unref(udev);

	/* member files are not block devices: list them from the state */
	for (int i = 0; i < pools.n; i++) {
		struct found *f = &pools.f[i];
		struct stat st;
		if (stat(f->path, &st) || !S_ISREG(st.st_mode))
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "path",
				       json_object_new_string(f->path));
		json_object_object_add(o, "type",
				       json_object_new_string("file"));
		json_object_object_add(o, "size",
				       json_object_new_int64((int64_t)f->size));
		json_object_object_add(o, "model", NULL);
		describe(o, f->path, &pools);
		json_object_array_add(arr, o);
	}
	scan_free(&pools);
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "disks", arr);
	*out = root;
	return 0;
}
