/* The dm-linear table builder's coalescing and the device-mapper name
 * rules (the map walk itself is tested against loop devices in
 * tests/t2-vol/map.bats). */
#include "unit.h"
#include "dm/dm.h"

#include <errno.h>
#include <sys/sysmacros.h>

int main(void)
{
	struct dm_table t = {0};
	dev_t a = makedev(7, 0), b = makedev(7, 1);

	TEST("pieces that continue on the same device merge");
	CHECK(dm_table_add(&t, 0, 512, a, 4096) == 0);
	CHECK(dm_table_add(&t, 512, 512, a, 4608) == 0);
	CHECK(dm_table_add(&t, 1024, 8, a, 5120) == 0);
	CHECK(t.n == 1 && t.e[0].start == 0 && t.e[0].len == 1032 &&
	      t.e[0].offset == 4096 && t.e[0].dev == a);

	TEST("another device, or a jump on the same device, starts a target");
	CHECK(dm_table_add(&t, 1032, 512, b, 5128) == 0);
	CHECK(dm_table_add(&t, 1544, 512, b, 9000) == 0);
	CHECK(dm_table_add(&t, 2056, 512, a, 5640) == 0);
	CHECK(t.n == 4);
	CHECK(t.e[1].dev == b && t.e[1].len == 512 && t.e[1].offset == 5128);
	CHECK(t.e[2].start == 1544 && t.e[2].offset == 9000);
	/* a continues a's first target physically, but not virtually */
	CHECK(t.e[3].start == 2056 && t.e[3].dev == a);

	TEST("a chunk placed backwards on the device does not merge");
	struct dm_table u = {0};
	CHECK(dm_table_add(&u, 0, 512, a, 8192) == 0);
	CHECK(dm_table_add(&u, 512, 512, a, 7680) == 0);
	CHECK(u.n == 2);

	TEST("the table grows past its first allocation");
	struct dm_table w = {0};
	int ok = 1;
	for (uint64_t i = 0; i < 1000; i++)
		ok &= dm_table_add(&w, i * 8, 8, i % 2 ? a : b, i * 8) == 0;
	CHECK(ok && w.n == 1000 && w.e[999].start == 7992);

	TEST("device-mapper names");
	CHECK(dm_name_check("ipstor-tank-db") == 0);
	CHECK(dm_name_check("A.b_c+d-9") == 0);
	CHECK(dm_name_check("") == -EINVAL);
	CHECK(dm_name_check(".") == -EINVAL);
	CHECK(dm_name_check("..") == -EINVAL);
	CHECK(dm_name_check("a/b") == -EINVAL);
	CHECK(dm_name_check("a b") == -EINVAL);
	char n[130];
	memset(n, 'x', 127);
	n[127] = '\0';
	CHECK(dm_name_check(n) == 0);
	n[127] = 'x';
	n[128] = '\0';
	CHECK(dm_name_check(n) == -EINVAL);

	dm_table_free(&t);
	dm_table_free(&u);
	dm_table_free(&w);
	CHECK(t.n == 0 && t.e == NULL);
	return unit_done();
}
