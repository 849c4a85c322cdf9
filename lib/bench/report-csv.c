/* IOMeter's results.csv: a version block, then per test a time stamp,
 * the access specification, the results (a header row, then rows of type
 * ALL, MANAGER, WORKER and DISK), a closing time stamp and 'End Test.
 * Columns IOMeter fills for network targets (transactions, connections,
 * packets) are empty, as IOMeter leaves them for disks. */
#include "bench.h"
#include "jget.h"
#include "stats.h"

#include <string.h>
#include <time.h>

static const char *const result_header =
	"'Target Type,Target Name,Access Specification Name,# Managers,"
	"# Workers,# Disks,IOps,Read IOps,Write IOps,MiBps (Binary),"
	"Read MiBps (Binary),Write MiBps (Binary),MBps (Decimal),"
	"Read MBps (Decimal),Write MBps (Decimal),Transactions per Second,"
	"Connections per Second,Average Response Time,"
	"Average Read Response Time,Average Write Response Time,"
	"Average Transaction Time,Average Connection Time,"
	"Maximum Response Time,Maximum Read Response Time,"
	"Maximum Write Response Time,Maximum Transaction Time,"
	"Maximum Connection Time,Errors,Read Errors,Write Errors,Bytes Read,"
	"Bytes Written,Read I/Os,Write I/Os,Connections,"
	"Transactions per Connection,Total Raw Read Response Time,"
	"Total Raw Write Response Time,Total Raw Transaction Time,"
	"Total Raw Connection Time,Maximum Raw Read Response Time,"
	"Maximum Raw Write Response Time,Maximum Raw Transaction Time,"
	"Maximum Raw Connection Time,Total Raw Run Time,Starting Sector,"
	"Maximum Size,Queue Depth,% CPU Utilization,% User Time,"
	"% Privileged Time,% DPC Time,% Interrupt Time,Processor Speed,"
	"Interrupts per Second,CPU Effectiveness,Packets/Second,"
	"Packet Errors,Segments Retransmitted/Second";

/* names in the CSV are quoted when they hold a comma or a quote */
static void field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

static void stamp(FILE *f)
{
	char buf[64];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "'Time Stamp\n%s:%03ld\n", buf, ts.tv_nsec / 1000000);
}

static void result_row(FILE *f, const char *type, const char *name,
		       json_object *b, json_object *test, json_object *r,
		       int managers, int workers, int disks, bool with_cpu,
		       json_object *target)
{
	fprintf(f, "%s,", type);
	field(f, name);
	fputc(',', f);
	field(f, jstr(b, "spec.name"));
	/* IOMeter's raw times are in CPU ticks; ours are nanoseconds */
	double rd_ios = jnum(r, "read_ios"), wr_ios = jnum(r, "write_ios");
	fprintf(f, ",%d,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,,,"
		   "%.6f,%.6f,%.6f,,,%.6f,%.6f,%.6f,,,%lld,%lld,%lld,%lld,%lld,"
		   "%lld,%lld,,,%.0f,%.0f,,,%.0f,%.0f,,,%.0f,",
		managers, workers, disks, jnum(r, "iops"), jnum(r, "read_iops"),
		jnum(r, "write_iops"), jnum(r, "mibps"), jnum(r, "read_mibps"),
		jnum(r, "write_mibps"), jnum(r, "mbps"), jnum(r, "read_mbps"),
		jnum(r, "write_mbps"), jnum(r, "avg_response_ms"),
		jnum(r, "avg_read_response_ms"), jnum(r, "avg_write_response_ms"),
		jnum(r, "max_response_ms"), jnum(r, "max_read_response_ms"),
		jnum(r, "max_write_response_ms"), (long long)jint(r, "errors"),
		(long long)jint(r, "read_errors"), (long long)jint(r, "write_errors"),
		(long long)jint(r, "bytes_read"), (long long)jint(r, "bytes_written"),
		(long long)jint(r, "read_ios"), (long long)jint(r, "write_ios"),
		jnum(r, "avg_read_response_ms") * 1e6 * rd_ios,
		jnum(r, "avg_write_response_ms") * 1e6 * wr_ios,
		jnum(r, "max_read_response_ms") * 1e6,
		jnum(r, "max_write_response_ms") * 1e6,
		jnum(test, "elapsed") * 1e9);
	if (target)
		fprintf(f, "0,%lld,%lld,", (long long)(jint(target, "span") / 512),
			(long long)jint(test, "outstanding"));
	else
		fprintf(f, ",,,");
	if (with_cpu)
		fprintf(f, "%.6f,%.6f,%.6f,,,,,%.6f,,,", jnum(test, "cpu.machine.total"),
			jnum(test, "cpu.machine.user"), jnum(test, "cpu.machine.system"),
			jnum(test, "cpu.effectiveness"));
	else
		fprintf(f, ",,,,,,,,,,");
	for (size_t i = 0; i < jlen(r, "latency_bins"); i++)
		fprintf(f, ",%lld",
			(long long)json_object_get_int64(jidx(r, "latency_bins", i)));
	fputc('\n', f);
}

static json_object *target_of(json_object *test, const char *name)
{
	for (size_t i = 0; i < jlen(test, "targets"); i++)
		if (!strcmp(jstr(jidx(test, "targets", i), "name"), name))
			return jidx(test, "targets", i);
	return NULL;
}

static void test_block(FILE *f, json_object *b, json_object *test)
{
	stamp(f);
	fprintf(f, "'Access specifications\n'Access specification name,"
		   "default assignment\n");
	field(f, jstr(b, "spec.name"));
	fprintf(f, ",0\n'size,%% of size,%% reads,%% random,delay,burst,"
		   "align,reply\n");
	for (size_t i = 0; i < jlen(b, "spec.lines"); i++) {
		json_object *l = jidx(b, "spec.lines", i);
		fprintf(f, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld\n",
			(long long)jint(l, "size"), (long long)jint(l, "percent"),
			(long long)jint(l, "read"), (long long)jint(l, "random"),
			(long long)jint(l, "delay"), (long long)jint(l, "burst"),
			(long long)jint(l, "align"), (long long)jint(l, "reply"));
	}
	fprintf(f, "'Results\n%s", result_header);
	for (int i = 0; i < IOMETER_BINS; i++)
		fprintf(f, ",%s", iometer_bin_names[i]);
	fputc('\n', f);
	int workers = (int)jlen(test, "workers"), disks = (int)jlen(test, "targets");
	result_row(f, "ALL", "All", b, test, jget(test, "all"), 1, workers,
		   workers * disks, true, NULL);
	result_row(f, "MANAGER", jstr(b, "host"), b, test, jget(test, "all"), 1,
		   workers, workers * disks, true, NULL);
	for (int w = 0; w < workers; w++) {
		json_object *wk = jidx(test, "workers", (size_t)w);
		char name[32];
		snprintf(name, sizeof(name), "Worker %d", w + 1);
		result_row(f, "WORKER", name, b, test, jget(wk, "results"), 0, 1,
			   disks, false, NULL);
		for (int d = 0; d < disks; d++) {
			json_object *dk = jidx(wk, "targets", (size_t)d);
			result_row(f, "DISK", jstr(dk, "name"), b, test,
				   jget(dk, "results"), 0, 0, 1, false,
				   target_of(test, jstr(dk, "name")));
		}
	}
	stamp(f);
	fprintf(f, "'End Test\n");
}

void bench_write_csv(FILE *f, json_object *doc)
{
	json_object *b = jget(doc, "bench");
	fprintf(f, "'Test Type,Test Description\n0,");
	field(f, jstr(b, "spec.name"));
	fprintf(f, "\n'Version\nipstor %s\n", jstr(b, "ipstor_version"));
	for (size_t i = 0; i < jlen(b, "tests"); i++)
		test_block(f, b, jidx(b, "tests", i));
}
