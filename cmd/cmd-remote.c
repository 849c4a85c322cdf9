/* ipstor remote ...: a volume served by another ipstor over the UDP
 * protocol, reached with the client library (lib/proto/udp). These
 * commands are clients: they open no pool, so they are not operations
 * (lib/ops) and run the same whether or not a worker runs here. */
#include "cli.h"
#include "proto/udp/auth.h"
#include "proto/udp/udp.h"
#include "proto/udp/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (4u << 20)

int cli_read_secret(const char *path, uint8_t *buf, size_t *len)
{
	return ibp_secret_read(path, buf, len);
}

static void client_log(void *data, int level, const char *msg)
{
	(void)data;
	if (level <= IPSTOR_LOG_WARN)
		fprintf(stderr, "ipstor: warning: %s\n", msg);
	else if (level == IPSTOR_LOG_DEBUG && !getenv("IPSTOR_DEBUG"))
		return;
	else if (opt.verbose && !opt.quiet)
		fprintf(stderr, "ipstor: %s\n", msg);
}

static int connect_uri(const char *uri, struct ibp_client **cl)
{
	uint8_t secret[IBP_SECRET_MAX + 1];
	size_t slen = 0;
	int r;
	if (opt.secret_file &&
	    (r = ibp_secret_read(opt.secret_file, secret, &slen)))
		return r;
	if (opt.timeout < 0) {
		fprintf(stderr, "ipstor: --timeout must be at least 1 second\n");
		return -ECANCELED;
	}
	struct ibp_client_opts o = {
		.secret = secret, .secret_len = slen,
		.timeout_ms = opt.timeout ? opt.timeout * 1000 : 30000,
		.log = client_log};
	r = ibp_client_connect(uri, &o, cl);
	explicit_bzero(secret, sizeof(secret));
	return r;
}

static const struct poptOption info_opts[] = {
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "the export's secret (default: none)", "FILE"},
	{"timeout", 0, POPT_ARG_INT, &opt.timeout, 0,
	 "give up after SECONDS without an answer (default 30)", "SECONDS"},
	POPT_TABLEEND};

static const struct poptOption read_opts[] = {
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "the export's secret (default: none)", "FILE"},
	{"timeout", 0, POPT_ARG_INT, &opt.timeout, 0,
	 "give up after SECONDS without an answer (default 30)", "SECONDS"},
	{"offset", 0, POPT_ARG_STRING, &opt.offset, 0,
	 "where to start (default 0)", "SIZE"},
	{"length", 0, POPT_ARG_STRING, &opt.length, 0,
	 "how much to read (default: to the end)", "SIZE"},
	POPT_TABLEEND};

static const struct poptOption write_opts[] = {
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "the export's secret (default: none)", "FILE"},
	{"timeout", 0, POPT_ARG_INT, &opt.timeout, 0,
	 "give up after SECONDS without an answer (default 30)", "SECONDS"},
	{"offset", 0, POPT_ARG_STRING, &opt.offset, 0,
	 "where to start (default 0)", "SIZE"},
	POPT_TABLEEND};

static const struct column info_fields[] = {
	{"uri", "uri", COL_STR},
	{"size", "size", COL_SIZE},
	{"read-only", "read_only", COL_BOOL},
	{"block size", "block_size", COL_INT},
	{"max request", "max_request", COL_SIZE},
	{"credits", "credits", COL_INT},
	{"credit bytes", "credit_bytes", COL_SIZE},
	{"max datagram", "max_datagram", COL_INT},
	{"boot", "boot", COL_STR},
	{NULL, NULL, 0}};

static int remote_info(struct cli *c, int argc, const char **argv)
{
	(void)c;
	(void)argc;
	struct ibp_client *cl;
	int r = connect_uri(argv[0], &cl);
	if (r)
		return r;
	struct ibp_client_info in;
	ibp_client_info(cl, &in);
	ibp_client_close(cl);
	char boot[20];
	snprintf(boot, sizeof(boot), "%016llx", (unsigned long long)in.boot);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "uri", json_object_new_string(argv[0]));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)in.size));
	json_object_object_add(o, "read_only",
			       json_object_new_boolean(in.read_only));
	json_object_object_add(o, "block_size",
			       json_object_new_int64(in.block_size));
	json_object_object_add(o, "max_request",
			       json_object_new_int64(in.max_request));
	json_object_object_add(o, "credits", json_object_new_int64(in.credits));
	json_object_object_add(o, "credit_bytes",
			       json_object_new_int64(in.credit_bytes));
	json_object_object_add(o, "max_datagram",
			       json_object_new_int64(in.max_datagram));
	json_object_object_add(o, "boot", json_object_new_string(boot));
	out_object("remote", o, info_fields);
	json_object_put(o);
	return 0;
}

static int remote_read(struct cli *c, int argc, const char **argv)
{
	(void)c;
	uint64_t off = 0, len = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	if (opt.length && parse_size_opt("length", opt.length, &len))
		return -ECANCELED;
	struct ibp_client *cl;
	int r = connect_uri(argv[0], &cl);
	if (r)
		return r;
	struct ibp_client_info in;
	ibp_client_info(cl, &in);
	if (off > in.size || (opt.length && len > in.size - off)) {
		ibp_client_close(cl);
		return ipstor_error(-EINVAL, "range past the end of '%s' "
				    "(%llu bytes)", argv[0],
				    (unsigned long long)in.size);
	}
	if (!opt.length)
		len = in.size - off;
	const char *dst = argc > 1 ? argv[1] : "-";
	int fd = strcmp(dst, "-") ? open(dst, O_WRONLY | O_CREAT | O_TRUNC |
						      O_CLOEXEC, 0644)
				  : 1;
	char *buf = malloc(CHUNK);
	if (fd < 0 || !buf) {
		r = fd < 0 ? ipstor_error(-errno, "cannot create '%s': %s", dst,
					  strerror(errno))
			   : -ENOMEM;
		goto out;
	}
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done > CHUNK ? CHUNK : (size_t)(len - done);
		if ((r = ibp_pread(cl, buf, n, off + done))) {
			ipstor_error(r, "cannot read '%s': %s", argv[0],
				     strerror(-r));
			goto out;
		}
		for (size_t w = 0; w < n;) {
			ssize_t k = write(fd, buf + w, n - w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = ipstor_error(-errno, "cannot write '%s': %s",
						 dst, strerror(errno));
				goto out;
			}
			w += (size_t)k;
		}
		done += n;
	}
out:
	if (fd > 1 && close(fd) && !r)
		r = ipstor_error(-errno, "cannot write '%s': %s", dst,
				 strerror(errno));
	free(buf);
	ibp_client_close(cl);
	return r;
}

static int remote_write(struct cli *c, int argc, const char **argv)
{
	(void)c;
	uint64_t off = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	const char *src = argc > 1 ? argv[1] : "-";
	int fd = strcmp(src, "-") ? open(src, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return ipstor_error(-errno, "cannot open '%s': %s", src,
				    strerror(errno));
	struct ibp_client *cl;
	int r = connect_uri(argv[0], &cl);
	if (r) {
		if (fd > 0)
			close(fd);
		return r;
	}
	struct ibp_client_info in;
	ibp_client_info(cl, &in);
	char *buf = malloc(CHUNK);
	uint64_t done = 0;
	if (!buf)
		r = -ENOMEM;
	while (!r) {
		size_t n = 0;
		while (n < CHUNK) {
			ssize_t k = read(fd, buf + n, CHUNK - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = ipstor_error(-errno, "cannot read '%s': %s",
						 src, strerror(errno));
				break;
			}
			if (!k)
				break;
			n += (size_t)k;
		}
		if (r || !n)
			break;
		if (off + done > in.size || n > in.size - off - done) {
			r = ipstor_error(-ENOSPC, "'%s' ends at %llu bytes",
					 argv[0], (unsigned long long)in.size);
			break;
		}
		if ((r = ibp_pwrite(cl, buf, n, off + done, 0)))
			ipstor_error(r, "cannot write '%s': %s", argv[0],
				     r == -EPERM ? "the export is read-only"
						 : strerror(-r));
		done += n;
	}
	/* what was written is durable when this command says so */
	if (!r && (r = ibp_flush(cl)))
		ipstor_error(r, "cannot flush '%s': %s", argv[0], strerror(-r));
	free(buf);
	ibp_client_close(cl);
	if (fd > 0)
		close(fd);
	if (r)
		return r;
	if (opt.json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "version", json_object_new_int(1));
		json_object_object_add(o, "uri", json_object_new_string(argv[0]));
		json_object_object_add(o, "written",
				       json_object_new_int64((int64_t)done));
		out_json(o);
		json_object_put(o);
	} else {
		char s[32];
		out_say("wrote %s to '%s'", fmt_size(done, s, sizeof(s)), argv[0]);
	}
	return 0;
}

const struct cmd remote_commands[] = {
	{"info", "URI", "Show a remote volume (ipstor://HOST:PORT/NAME)",
	 remote_info, info_opts, NULL, 0, 1, 1},
	{"read", "URI [FILE]", "Read a remote volume to FILE or stdout",
	 remote_read, read_opts, NULL, 0, 1, 2},
	{"write", "URI [FILE]",
	 "Write FILE or stdin to a remote volume, then flush", remote_write,
	 write_opts, NULL, 0, 1, 2},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
