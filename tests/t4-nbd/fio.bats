#!/usr/bin/env bats
# fio's NBD engine (libnbd): random writes at queue depth 32 on several
# connections at once, every block verified; and a server stopped under
# that load.

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
	require_cmd fio
	fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio has no nbd engine"
	mkpool p 160M
}

teardown() {
	stop_serve || true
}


# fio_errors JSON: errors of every job, one per line
fio_errors() {
	jq -r '.jobs[] | "\(.jobname) error=\(.error)"' <<<"$1"
}

@test "fio: random writes of mixed sizes verified with crc32c, QD32, 4 connections" {
	ipstor vol create p/v --size 64M --thin >/dev/null
	start_serve p/v
	# each job owns 16 MiB, so that the verifications never race
	run -0 --separate-stderr fio --name=verify --ioengine=nbd --uri="$URI" \
		--rw=randwrite --bsrange=4k-64k --bs_unaligned=0 --iodepth=32 \
		--numjobs=4 --size=16M --offset_increment=16M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --output-format=json
	json=$(sed -n '/^{/,$p' <<<"$output")
	run fio_errors "$json"
	refute_output --partial "error=[1-9]"
	[ "$(jq '[.jobs[].error] | add' <<<"$json")" = 0 ]
	[ "$(jq '[.jobs[].write.io_bytes] | add' <<<"$json")" -ge $((64 << 20)) ]
	stop_serve
	# and again after a restart, from what is in the pool
	start_serve p/v
	run -0 --separate-stderr fio --name=verify --ioengine=nbd --uri="$URI" \
		--rw=randwrite --bsrange=4k-64k --iodepth=32 --numjobs=4 \
		--size=16M --offset_increment=16M --verify=crc32c --verify_only \
		--output-format=json
	json=$(sed -n '/^{/,$p' <<<"$output")
	[ "$(jq '[.jobs[].error] | add' <<<"$json")" = 0 ]
	stop_serve
}

@test "fio: mixed reads and writes with flushes and trims on one connection" {
	ipstor vol create p/v --size 32M >/dev/null
	start_serve p/v
	run -0 --separate-stderr fio --name=mix --ioengine=nbd --uri="$URI" \
		--rw=randrw --rwmixread=50 --bs=16k --iodepth=16 --size=32M \
		--fsync=64 --trim_percentage=10 --io_size=64M --output-format=json
	json=$(sed -n '/^{/,$p' <<<"$output")
	[ "$(jq '.jobs[0].error' <<<"$json")" = 0 ]
	stop_serve
	run -0 ipstor pool check p
}

@test "SIGTERM under load: in-flight requests finish, the pool is flushed, exit 0" {
	ipstor vol create p/v --size 64M --thin >/dev/null
	start_serve p/v
	fio --name=load --ioengine=nbd --uri="$URI" --rw=randwrite --bs=64k \
		--iodepth=32 --numjobs=2 --size=32M --time_based --runtime=30 \
		>"$D/fio.out" 2>&1 &
	local fio_pid=$!
	sleep 1.5
	stop_serve
	# the clients see the connection end; they do not hang
	local rc=0
	wait "$fio_pid" || rc=$?
	echo "fio exited $rc"
	run -0 ipstor pool check p
	# what was written is in the volume's map: it is no longer all holes
	run -0 ipstor vol show p/v --json
	echo "$output" | jq -e '.volume.allocated > 0'
}
