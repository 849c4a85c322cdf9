#!/usr/bin/env bats
# Every kind of target runs a read-write workload with zero errors: a
# file (io_uring, psync, O_DIRECT), a volume through the library, a
# volume exported over NBD by the worker; and writes carry random data.

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
}

teardown() {
	stop_worker
}

# ok_run JSON: one test, no errors, I/Os done both ways
ok_run() {
	echo "$1" | jq -e '.bench.tests[0].all as $a |
		$a.errors == 0 and $a.read_ios > 0 and $a.write_ios > 0 and
		.bench.tests[0].targets[0].first_error == null'
}

@test "a file: io_uring, zero errors" {
	pattern "$D/f.img" 64M 1
	run -0 ipstor bench iometer -t "$D/f.img" --spec file-server --time 1 -o 8 --yes --json
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0] | .kind == "file" and .engine == "io_uring" and .size == 67108864'
}

@test "a file: psync, a thread per outstanding I/O, zero errors" {
	pattern "$D/f.img" 64M 1
	run -0 ipstor bench iometer -t "file:$D/f.img" --engine psync --spec database --time 1 -o 4 --yes --json
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0].engine == "psync"'
}

@test "a file with O_DIRECT, zero errors" {
	pattern "$D/f.img" 64M 1
	run -0 ipstor bench iometer -t "$D/f.img" --direct --spec workstation --time 1 -o 4 --yes --json
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0].direct == true'
}

@test "a loop block device, zero errors" {
	[ -w /dev/loop-control ] || skip "no loop devices"
	pattern "$D/f.img" 32M 1
	local dev
	dev=$(losetup -f --show "$D/f.img") || skip "losetup failed"
	run ipstor bench iometer -t "$dev" --spec database --time 1 -o 4 --yes --json
	losetup -d "$dev"
	[ "$status" -eq 0 ]
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0].kind == "block"'
}

@test "a thick volume through the library (vol:), zero errors, pool intact" {
	mkpool p 96M 64M
	ipstor vol create p/v --size 64M >/dev/null
	run -0 ipstor bench iometer -t vol:p/v --spec file-server --time 1 -o 4 -w 2 --yes --json
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0] | .kind == "vol" and .size == 67108864'
	run -0 ipstor pool check p
}

@test "a thin volume (vol:VOL), written chunks get allocated" {
	mkpool p 96M
	ipstor vol create p/t --size 32M --thin >/dev/null
	run -0 ipstor bench iometer -t vol:t --spec streaming-write --time 1 --yes --json
	echo "$output" | jq -e '.bench.tests[0].all.errors == 0 and .bench.tests[0].all.write_ios > 0'
	run -0 ipstor vol show p/t --json
	echo "$output" | jq -e '.volume.allocated > 0'
	run -0 ipstor pool check p
}

@test "an NBD export served by the worker, zero errors" {
	mkpool p 96M
	ipstor vol create p/v --size 48M >/dev/null
	start_serve p/v
	run -0 ipstor bench iometer -t "$URI/v" --spec database --time 1 -o 8 -w 2 --yes --json
	ok_run "$output"
	echo "$output" | jq -e '.bench.tests[0].targets[0] | .kind == "nbd" and .engine == "libnbd" and .size == 50331648'
	stop_serve
	run -0 ipstor pool check p
}

@test "several targets at once: a row each and the total" {
	pattern "$D/f.img" 16M 1
	run -0 ipstor bench iometer -t "$D/f.img" -t memory:16M -t null --spec database --time 0.5 -o 2 --yes --json
	echo "$output" | jq -e '.bench.tests[0] | (.targets | length) == 3 and
		.all.ios == ([.targets[].results.ios] | add) and
		(.workers[0].targets | length) == 3'
}

@test "writes carry random data, never zeroes, different every time" {
	truncate -s 8M "$D/z.img"
	run -0 ipstor bench iometer -t "$D/z.img" --spec streaming-write --time 0.5 --yes
	# no written 512-byte sector is all zeroes, and no two are alike
	python3 - "$D/z.img" <<-'PY'
	import sys
	data = open(sys.argv[1], "rb").read(1 << 20)
	secs = [data[i:i + 512] for i in range(0, len(data), 512)]
	assert all(any(s) for s in secs), "a zero sector"
	assert len(set(secs)) == len(secs), "repeated sectors"
	PY
	# and what is written does not compress
	[ "$(head -c 1M "$D/z.img" | gzip -c | wc -c)" -gt 1000000 ]
}

@test "a read-only spec opens the target read-only and needs no --yes" {
	pattern "$D/f.img" 16M 1
	chmod 0444 "$D/f.img"
	local before
	before=$(sha "$D/f.img")
	run -0 ipstor bench iometer -t "$D/f.img" --spec 4k-random-read --time 0.3 </dev/null
	[ "$(sha "$D/f.img")" = "$before" ]
}
