/* CPU accounting: see cpu.h. */
#include "cpu.h"
#include "stats.h"

#include <json-c/json.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t tv_us(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

void cpu_snap(struct cpu_snap *s)
{
	struct rusage ru;
	struct timespec ts;
	*s = (struct cpu_snap){0};
	if (!getrusage(RUSAGE_SELF, &ru)) {
		s->proc_user_us = tv_us(ru.ru_utime);
		s->proc_sys_us = tv_us(ru.ru_stime);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->wall_ns = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return;
	unsigned long long v[8] = {0};
	/* cpu  user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		s->mach_user = v[0] + v[1];
		s->mach_sys = v[2] + v[5] + v[6];
		for (int i = 0; i < 8; i++)
			s->mach_total += v[i];
	}
	fclose(f);
}

static json_object *share(double user, double sys)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "total", bench_num(user + sys));
	json_object_object_add(o, "user", bench_num(user));
	json_object_object_add(o, "system", bench_num(sys));
	return o;
}

json_object *cpu_json(const struct cpu_snap *a, const struct cpu_snap *b,
		      double iops, uint64_t ios)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	double cap_us = (double)(b->wall_ns - a->wall_ns) / 1000 * (double)n;
	double pu = cap_us > 0 ? 100.0 * (double)(b->proc_user_us - a->proc_user_us) / cap_us : 0;
	double ps = cap_us > 0 ? 100.0 * (double)(b->proc_sys_us - a->proc_sys_us) / cap_us : 0;
	double tot = (double)(b->mach_total - a->mach_total);
	double mu = tot > 0 ? 100.0 * (double)(b->mach_user - a->mach_user) / tot : 0;
	double ms = tot > 0 ? 100.0 * (double)(b->mach_sys - a->mach_sys) / tot : 0;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cpus", json_object_new_int((int)n));
	json_object_object_add(o, "machine", share(mu, ms));
	json_object_object_add(o, "process", share(pu, ps));
	/* steadier than rates on a busy machine: what each I/O cost here */
	uint64_t used = b->proc_user_us - a->proc_user_us + b->proc_sys_us -
			a->proc_sys_us;
	json_object_object_add(o, "process_us_per_io",
			       bench_num(ios ? (double)used / (double)ios : 0));
	/* IOMeter's CPU effectiveness: I/Os per second per % of CPU */
	json_object_object_add(o, "effectiveness",
			       bench_num(mu + ms > 0 ? iops / (mu + ms) : 0));
	return o;
}
