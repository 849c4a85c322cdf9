#!/usr/bin/env bats
# Bad input: a clear error (what, and which value), the documented exit
# status, and nothing written.

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
}

teardown() {
	stop_worker
}

# fails STATUS MESSAGE ARGS...: exit STATUS with exactly MESSAGE on stderr
fails() {
	local want=$1 msg=$2
	shift 2
	run --separate-stderr ipstor bench iometer "$@"
	echo "status $status, stderr: $stderr"
	[ "$status" -eq "$want" ]
	[ "$stderr" = "$msg" ]
	[ -z "$output" ]
}

@test "an unknown preset: exit 4, the presets listed" {
	fails 4 "ipstor: unknown spec 'file-sever' (presets: default, file-server, web-server, workstation, database, streaming-read, streaming-write, max-throughput, max-iops, 4k-random-read, all-in-one; or a JSON file)" \
		-t null --spec file-sever --time 0.1
}

@test "a spec file that is missing: exit 4" {
	fails 4 "ipstor: cannot open spec '$D/none.json': No such file or directory" \
		-t null --spec "$D/none.json" --time 0.1
}

@test "malformed spec files: exit 2, the offending field named" {
	local s=$D/s.json
	printf '{"lines": [{"size": 4096,}]}' >"$s"
	fails 2 "ipstor: spec '$s': not valid JSON at byte 26: unexpected character" -t null --spec "$s"
	printf '{"lines": [{"size": 4096, "percent": 100}]} x' >"$s"
	fails 2 "ipstor: spec '$s': not valid JSON at byte 45: unexpected character" -t null --spec "$s"
	printf '[1, 2]' >"$s"
	fails 2 "ipstor: spec '$s': must be a JSON object with \"lines\"" -t null --spec "$s"
	printf '{"lines": []}' >"$s"
	fails 2 "ipstor: spec '$s': lines: must be an array of 1 to 100 access specification lines" -t null --spec "$s"
	printf '{"lines": [{"size": "4K", "percent": 60}, {"size": 512, "percent": 30}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[].percent: the shares add up to 90, not 100" -t null --spec "$s"
	printf '{"lines": [{"size": "4K"}, {"size": 0}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[1].size: must be from 1 byte to 16 MiB" -t null --spec "$s"
	printf '{"lines": [{"size": "1G"}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0].size: must be from 1 byte to 16 MiB" -t null --spec "$s"
	printf '{"lines": [{"read": 101}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0].read: must be an integer from 0 to 100" -t null --spec "$s"
	printf '{"lines": [{"random": "all"}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0].random: must be an integer from 0 to 100" -t null --spec "$s"
	printf '{"lines": [{"sise": 4096}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0]: unknown key 'sise'" -t null --spec "$s"
	printf '{"lines": [{}], "extra": 1}' >"$s"
	fails 2 "ipstor: spec '$s': unknown key 'extra'" -t null --spec "$s"
	printf '{"name": "<script>", "lines": [{}]}' >"$s"
	fails 2 "ipstor: spec '$s': name: must be a string of 1 to 63 characters without quotes, commas or markup" -t null --spec "$s"
	printf '{"lines": [{"burst": 0}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0].burst: must be an integer from 1 to 1000000" -t null --spec "$s"
	printf '{"lines": [{"align": -1}]}' >"$s"
	fails 2 "ipstor: spec '$s': lines[0].align: must be 0 (sector) or a size up to 1 GiB" -t null --spec "$s"
}

@test "hostile spec files: oversized, binary, 101 lines, not a file" {
	local s=$D/s.json
	head -c 2M /dev/zero | tr '\0' ' ' >"$s"
	fails 2 "ipstor: spec '$s': must be a regular file of at most 1 MiB" -t null --spec "$s"
	printf '{"lines": [{}]}\0' >"$s"
	fails 2 "ipstor: spec '$s': cannot read it as text" -t null --spec "$s"
	python3 -c 'import json; print(json.dumps({"lines": [{"percent": 1}] * 101}))' >"$s"
	fails 2 "ipstor: spec '$s': lines: must be an array of 1 to 100 access specification lines" -t null --spec "$s"
	fails 2 "ipstor: spec '/dev/': must be a regular file of at most 1 MiB" -t null --spec /dev/
	python3 -c 'print("[" * 100000)' >"$s"
	run -2 --separate-stderr ipstor bench iometer -t null --spec "$s"
	[[ $stderr == "ipstor: spec '$s': not valid JSON at byte "* ]]
}

@test "unreachable and missing targets: exit 4" {
	local port
	port=$(free_port)
	fails 4 "ipstor: cannot connect to 'nbd://127.0.0.1:$port/x': nbd_connect_uri: connect: 127.0.0.1:$port: could not connect to remote host: Connection refused" \
		-t "nbd://127.0.0.1:$port/x" --time 0.1
	fails 4 "ipstor: cannot open '$D/nothing.img': No such file or directory" -t "$D/nothing.img" --time 0.1
	fails 4 "ipstor: target 'vol:p/none': pool 'p' not found" -t vol:p/none --time 0.1
}

@test "an NBD export that does not exist: a clear error" {
	mkpool p 64M
	ipstor vol create p/v --size 16M >/dev/null
	start_serve p/v
	run --separate-stderr ipstor bench iometer -t "$URI/nope" --time 0.1
	[ "$status" -eq 4 ]
	[[ $stderr == "ipstor: cannot connect to '$URI/nope': "* ]]
}

@test "a volume the worker holds: exit 5, pointing at its export" {
	mkpool p 64M
	ipstor vol create p/v --size 16M >/dev/null
	start_serve p/v
	fails 5 "ipstor: target 'vol:p/v': the worker holds pool 'p'; benchmark the volume through its export (nbd://...) or stop the worker" \
		-t vol:p/v --time 0.1
}

@test "a target smaller than the working set: exit 2" {
	truncate -s 1M "$D/small.img"
	fails 2 "ipstor: target '$D/small.img' is smaller than the working set (1 MiB of 2 MiB)" \
		-t "$D/small.img" --span 2M --time 0.1 --yes
	truncate -s 100K "$D/tiny.img"
	fails 2 "ipstor: target '$D/tiny.img' is smaller than the working set (100 KiB, but the spec transfers 256 KiB at a time)" \
		-t "$D/tiny.img" --spec streaming-read --time 0.1
	fails 2 "ipstor: target 'null:4K' is smaller than the working set (4 KiB, but the spec transfers 8 KiB at a time)" \
		-t null:4K --spec database --time 0.1
}

@test "--time 0, --outstanding 0 and absurd values: exit 2" {
	fails 2 "ipstor bench iometer: --time must be more than 0" -t null --time 0
	fails 2 "ipstor bench iometer: --time must be a number of seconds" -t null --time 1s
	fails 2 "ipstor bench iometer: --time must be at most 86400 seconds" -t null --time 1e9
	fails 2 "ipstor bench iometer: --time must be a number of seconds" -t null --time nan
	fails 2 "ipstor bench iometer: --ramp must be a number of seconds" -t null --ramp -1
	fails 2 "ipstor bench iometer: --outstanding must be from 1 to 1024" -t null --outstanding 0
	fails 2 "ipstor bench iometer: --outstanding must be from 1 to 1024" -t null --outstanding 1,2,5000
	fails 2 "ipstor bench iometer: --outstanding must be a number or a comma-separated list of numbers" -t null --outstanding 1,,2
	fails 2 "ipstor bench iometer: --outstanding lists at most 16 values" -t null -o 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
	fails 2 "ipstor bench iometer: --workers must be from 1 to 256" -t null --workers 100000
	fails 2 "ipstor bench iometer: --workers must be from 1 to 256" -t null --workers -1
	fails 2 "ipstor bench iometer: --seed must be a non-negative integer" -t null --seed -5
	fails 2 "ipstor bench iometer: --engine must be io_uring or psync" -t null --engine aio
	fails 2 "ipstor: --span: invalid size '1Z' (examples: 4096, 512s, 64K, 1.5G, 10GiB, 3TB)" -t null --span 1Z
	fails 2 "ipstor: target 'null:lots': 'lots' is not a size of at least 512 bytes" -t null:lots
	fails 2 "ipstor: target 'memory:1E': more than half of this machine's memory" -t memory:1E
	truncate -s 1M "$D/f.img"
	fails 2 "ipstor: 262144 threads are too many (at most 4096: synchronous targets take a thread per outstanding I/O)" \
		-t "$D/f.img" --engine psync -w 256 -o 1024 --spec 4k-random-read --time 0.1
}

@test "no target, an unknown scheme, a directory: clear errors" {
	fails 2 "ipstor bench iometer: say what to measure: --target PATH|vol:POOL/VOL|nbd://..." --time 0.1
	fails 2 "ipstor: target 'iscsi://host/x': unknown scheme (known: file:, vol:, nbd://, ipstor://, null, memory:)" -t iscsi://host/x
	fails 2 "ipstor: target '$D' is neither a regular file nor a block device" -t "$D" --time 0.1
}

@test "writes to a target that holds data need --yes; nothing is written without" {
	pattern "$D/f.img" 8M 1
	local before
	before=$(sha "$D/f.img")
	fails 2 "ipstor: refusing to overwrite data on '$D/f.img' with benchmark writes without --yes" \
		-t "$D/f.img" --spec database --time 0.1
	[ "$(sha "$D/f.img")" = "$before" ]
	# the null and memory targets hold nothing
	run -0 ipstor bench iometer -t null -t memory:1M --spec database --time 0.1 </dev/null
}

@test "two runs on one volume: the second waits for the pool, or fails at once" {
	mkpool p 64M
	ipstor vol create p/v --size 16M >/dev/null
	# a first run that holds the pool until it is interrupted
	"$IPSTOR_BIN" bench iometer -t vol:p/v --spec database --time 600 --yes >"$D/first.out" &
	local pid=$! i rc=0
	# until the pool is locked (exit 5 for a change without waiting)
	for i in $(seq 600); do
		rc=0
		ipstor --no-lock-wait vol create p/probe --size 4K >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq 5 ] && break
		# (without waiting either: the run may have taken the pool
		# since, and it holds it for 600 s)
		[ "$rc" -eq 0 ] && { ipstor --no-lock-wait vol delete p/probe --yes >/dev/null 2>&1 || true; }
		sleep 0.1
	done
	[ "$rc" -eq 5 ]
	run --separate-stderr ipstor --no-lock-wait bench iometer -t vol:p/v --spec database --time 0.1 --yes
	kill -INT "$pid"
	wait "$pid"
	[ "$status" -eq 5 ]
	[[ $stderr == "ipstor: target 'vol:p/v': "* ]]
	grep -q '^  vol:p/v ' "$D/first.out"
	run -0 ipstor pool check p
}

@test "an interrupted run reports what it measured" {
	# the binary itself, not the shell function (a subshell would take
	# the signal)
	"$IPSTOR_BIN" bench iometer -t null --time 30 --json >"$D/out.json" &
	local pid=$!
	sleep 1
	kill -INT "$pid"
	wait "$pid"
	jq -e '.bench.tests[0].interrupted == true and .bench.tests[0].all.ios > 0 and
		.bench.tests[0].elapsed < 30' "$D/out.json"
}
