/* The kernel side, through libdevmapper. Its log goes to a thread-local
 * buffer (the library never prints) and ends up in our error messages.
 * Without /dev/mapper/control there is no driver: nothing can be mapped,
 * and lookups answer "not mapped" without asking. */
#include "dm.h"
#include "../pool/pool.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <dirent.h>
#include <errno.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static __thread char dm_msg[256];

__attribute__((format(printf, 5, 0))) static void
dm_log(int level, const char *file, int line, int dm_errno, const char *fmt,
       ...)
{
	(void)file;
	(void)line;
	(void)dm_errno;
	if ((level & 7) > 3) /* only errors (_LOG_ERR is 3) */
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dm_msg, sizeof(dm_msg), fmt, ap);
	va_end(ap);
}

static pthread_once_t dm_once = PTHREAD_ONCE_INIT;

static void dm_setup(void)
{
	dm_log_with_errno_init(dm_log);
	dm_udev_set_sync_support(1);
}

bool dm_available(void)
{
	return access(DM_CONTROL, R_OK | W_OK) == 0;
}

static int dm_fail(int err, const char *what, const char *name)
{
	return ipstor_fail(err, "device-mapper cannot %s '%s'%s%s", what,
			   name, dm_msg[0] ? ": " : "", dm_msg);
}

static struct dm_task *task(int type)
{
	pthread_once(&dm_once, dm_setup);
	dm_msg[0] = '\0';
	return dm_task_create(type);
}

/* Info on one device, by UUID or by name: 1 exists, 0 does not. */
static int info(const char *uuid, const char *name, char out[DMNAME_MAX + 1],
		int *open_count)
{
	if (!dm_available())
		return 0;
	struct dm_task *t = task(DM_DEVICE_INFO);
	if (!t)
		return ipstor_fail(-ENOMEM, "out of memory");
	if (!(uuid ? dm_task_set_uuid(t, uuid) : dm_task_set_name(t, name))) {
		dm_task_destroy(t);
		return ipstor_fail(-EINVAL, "invalid device-mapper %s '%s'",
				   uuid ? "uuid" : "name", uuid ? uuid : name);
	}
	struct dm_info di;
	if (!dm_task_run(t) || !dm_task_get_info(t, &di)) {
		dm_task_destroy(t);
		return dm_fail(-EIO, "look up", uuid ? uuid : name);
	}
	int r = di.exists ? 1 : 0;
	if (r && out) {
		const char *n = dm_task_get_name(t);
		snprintf(out, DMNAME_MAX + 1, "%s", n ? n : "");
	}
	if (r && open_count)
		*open_count = di.open_count;
	dm_task_destroy(t);
	return r;
}

int dm_find_uuid(const char *uuid, char name[DMNAME_MAX + 1], int *open_count)
{
	return info(uuid, NULL, name, open_count);
}

int dm_name_exists(const char *name)
{
	return info(NULL, name, NULL, NULL);
}

static int run_synced(struct dm_task *t, const char *what, const char *name)
{
	uint32_t cookie = 0;
	if (!dm_task_set_cookie(t, &cookie, 0)) {
		dm_task_destroy(t);
		return dm_fail(-EIO, what, name);
	}
	int ok = dm_task_run(t);
	int e = errno;
	/* the cookie is waited for either way, or its semaphore leaks */
	(void)dm_udev_wait(cookie);
	dm_task_destroy(t);
	if (!ok)
		return dm_fail(e == EBUSY ? -EBUSY : -EIO, what, name);
	return 0;
}

int dm_create_dev(const char *name, const char *uuid, const struct dm_table *t,
		  bool read_only)
{
	if (!dm_available())
		return ipstor_fail(-EOPNOTSUPP,
				   "no device-mapper in this kernel (%s is "
				   "missing): try 'modprobe dm-mod', or "
				   "'ipstor attach' for a loop device",
				   DM_CONTROL);
	struct dm_task *dt = task(DM_DEVICE_CREATE);
	if (!dt)
		return ipstor_fail(-ENOMEM, "out of memory");
	if (!dm_task_set_name(dt, name) || !dm_task_set_uuid(dt, uuid) ||
	    (read_only && !dm_task_set_ro(dt))) {
		dm_task_destroy(dt);
		return dm_fail(-EIO, "create", name);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct dm_extent *x = &t->e[i];
		char params[64];
		snprintf(params, sizeof(params), "%u:%u %llu", major(x->dev),
			 minor(x->dev), (unsigned long long)x->offset);
		if (!dm_task_add_target(dt, x->start, x->len, "linear",
					params)) {
			dm_task_destroy(dt);
			return dm_fail(-ENOMEM, "create", name);
		}
	}
	return run_synced(dt, "create", name);
}

int dm_remove_dev(const char *name, bool deferred)
{
	struct dm_task *t = task(DM_DEVICE_REMOVE);
	if (!t)
		return ipstor_fail(-ENOMEM, "out of memory");
	if (!dm_task_set_name(t, name) ||
	    (deferred && !dm_task_deferred_remove(t))) {
		dm_task_destroy(t);
		return dm_fail(-EIO, "remove", name);
	}
	dm_task_retry_remove(t);
	return run_synced(t, "remove", name);
}

bool dm_holders_are_pool(const struct ipstor_pool *p, dev_t dev)
{
	char dir[96], prefix[64], pu[UUID_STR_LEN];
	uuid_format(p->uuid, pu);
	snprintf(prefix, sizeof(prefix), "IPSTOR-%s-", pu);
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/holders", major(dev),
		 minor(dev));
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	int ours = 0, others = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[384], uuid[160] = "";
		snprintf(path, sizeof(path), "/sys/block/%s/dm/uuid",
			 e->d_name);
		FILE *f = fopen(path, "re");
		if (f) {
			if (!fgets(uuid, sizeof(uuid), f))
				uuid[0] = '\0';
			fclose(f);
		}
		if (!strncmp(uuid, prefix, strlen(prefix)))
			ours++;
		else
			others++;
	}
	closedir(d);
	return ours > 0 && others == 0;
}
