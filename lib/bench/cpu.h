/* CPU use over a test: this process (getrusage) and the whole machine
 * (/proc/stat), both as a share of every CPU's time, as IOMeter reports
 * "% CPU utilization" (user and privileged). */
#ifndef IPSTOR_BENCH_CPU_H
#define IPSTOR_BENCH_CPU_H

#include <stdint.h>

struct json_object;

struct cpu_snap {
	uint64_t proc_user_us, proc_sys_us;
	uint64_t mach_user, mach_sys, mach_total; /* clock ticks */
	uint64_t wall_ns;
};

void cpu_snap(struct cpu_snap *s);
/* {"cpus", "machine": {total,user,system}, "process": {...},
 * "process_us_per_io", "effectiveness"} between a and b, for a test that
 * measured ios I/Os at iops. */
struct json_object *cpu_json(const struct cpu_snap *a, const struct cpu_snap *b,
			     double iops, uint64_t ios);

#endif
