#include "probe.h"

#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static blkid_probe new_probe(int fd)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, fd, 0, 0)) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
						      BLKID_SUBLKS_MAGIC);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	return pr;
}

int probe_signature(int fd, char *desc, size_t len)
{
	blkid_probe pr = new_probe(fd);
	if (!pr)
		return -ENOMEM;
	int r = blkid_do_safeprobe(pr), found = 0;
	const char *v;
	if (r == 0 && !blkid_probe_lookup_value(pr, "TYPE", &v, NULL)) {
		const char *use = NULL;
		blkid_probe_lookup_value(pr, "USAGE", &use, NULL);
		bool fs = use && !strcmp(use, "filesystem");
		snprintf(desc, len, "%s %s %s",
			 strchr("aeiouAEIOU", v[0]) ? "an" : "a", v,
			 fs ? "filesystem" : "signature");
		found = 1;
	} else if (r == 0 &&
		   !blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL)) {
		snprintf(desc, len, "a %s partition table", v);
		found = 1;
	} else if (r == -2) {
		snprintf(desc, len, "several conflicting signatures");
		found = 1;
	}
	blkid_free_probe(pr);
	return found;
}

int probe_wipe_signatures(int fd)
{
	blkid_probe pr = new_probe(fd);
	if (!pr)
		return -ENOMEM;
	int r = 0;
	while (blkid_do_probe(pr) == 0)
		if (blkid_do_wipe(pr, 0)) {
			r = -EIO;
			break;
		}
	blkid_free_probe(pr);
	return r;
}

static int mounted_at(dev_t dev, char *why, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[PATH_MAX];
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min,
			   mnt) == 3 &&
		    makedev(maj, min) == dev) {
			snprintf(why, len, "mounted at %s", mnt);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static int held(dev_t dev, char *why, size_t len)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/holders",
		 major(dev), minor(dev));
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(why, len, "held by %s", e->d_name);
		found = 1;
		break;
	}
	closedir(d);
	return found;
}

static int loop_backing(dev_t fdev, ino_t ino, char *why, size_t len)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, "loop", 4))
			continue;
		char p[300], back[PATH_MAX];
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file",
			 e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(back, sizeof(back), f)) {
			back[strcspn(back, "\n")] = '\0';
			struct stat st;
			if (!stat(back, &st) && st.st_dev == fdev &&
			    st.st_ino == ino) {
				snprintf(why, len, "backing /dev/%s",
					 e->d_name);
				found = 1;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

int probe_in_use(const char *path, int is_blockdev, dev_t dev, ino_t ino,
		 char *why, size_t len)
{
	(void)path;
	if (is_blockdev)
		return mounted_at(dev, why, len) || held(dev, why, len);
	return loop_backing(dev, ino, why, len);
}
