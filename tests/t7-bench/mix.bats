#!/usr/bin/env bats
# The workload is the one specified: over a seeded run against a memory
# target, every preset's read fraction, random fraction and I/O-size
# histogram match the spec within 2 percentage points, offsets are
# aligned, and I/Os that are not random continue where the worker's
# previous one ended (tests/helpers/bench-mix.py reads the trace).

load ../helpers/common

MIX=$BATS_TEST_DIRNAME/../helpers/bench-mix.py

setup() {
	common_setup
}

# mix PRESET [OPTIONS...]: a short seeded run on the null target with a
# trace, its first 200,000 I/Os checked (one worker at one outstanding
# I/O completes in order, so those are I/Os 0 to 199,999)
mix() {
	local spec=$1
	shift
	ipstor bench iometer --target null:1G --spec "$spec" --time 0.1 \
		--seed 42 --json --trace "$D/full.csv" "$@" >"$D/run.json"
	head -n 200001 "$D/full.csv" >"$D/trace.csv"
	run python3 "$MIX" "$D/run.json" "$D/trace.csv" 2
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "preset default: 2 KiB, 67 % reads, all random" { mix default; }
@test "preset file-server: Intel's size mix, 80 % reads" { mix file-server; }
@test "preset web-server: ten sizes, reads only" { mix web-server; }
@test "preset workstation: 8 KiB, 80 % reads, 80 % random" { mix workstation; }
@test "preset database: 8 KiB, 67 % reads, random" { mix database; }
@test "preset streaming-read: large sequential reads" { mix streaming-read; }
@test "preset streaming-write: large sequential writes" { mix streaming-write; }
@test "preset max-throughput: 64 KiB sequential reads" { mix max-throughput; }
@test "preset max-iops: 512-byte sequential reads" { mix max-iops; }
@test "preset 4k-random-read: 4 KiB random reads aligned to 4 KiB" { mix 4k-random-read; }
@test "preset all-in-one: 20 lines of sizes and read shares, sequential" { mix all-in-one; }

@test "two workers each follow the spec, each sequential on its own" {
	ipstor bench iometer --target memory:64M --spec workstation --time 0.3 \
		--seed 42 --json --trace "$D/trace.csv" --workers 2 \
		--outstanding 4 >"$D/run.json"
	run python3 "$MIX" "$D/run.json" "$D/trace.csv" 2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cut -d, -f1 "$D/trace.csv" | sort -u | grep -c '^[0-9]')" -eq 2 ]
}

@test "a custom spec: per-line read and random shares and alignment" {
	cat >"$D/spec.json" <<-'JSON'
	{"name": "custom", "lines": [
	  {"size": "4K", "percent": 50, "read": 100, "random": 0, "align": "64K"},
	  {"size": 3000, "percent": 30, "read": 0, "random": 100, "align": 1000},
	  {"size": "1M", "percent": 20, "read": 50, "random": 50}]}
	JSON
	mix "$D/spec.json"
	# a line's own alignment, not the sector's
	awk -F, 'NR > 1 && $6 == 4096 && $5 % 65536 { bad++ } END { exit bad > 0 }' "$D/trace.csv"
}

@test "the same seed draws the same I/Os; another seed others" {
	local i
	for i in 1 2; do
		ipstor bench iometer -t memory:64M --spec file-server --time 0.1 --seed 9 \
			--trace "$D/t$i.csv" >/dev/null
		sort -t, -k3,3n "$D/t$i.csv" | cut -d, -f3-6 | head -5000 >"$D/s$i"
	done
	ipstor bench iometer -t memory:64M --spec file-server --time 0.1 --seed 10 \
		--trace "$D/t3.csv" >/dev/null
	sort -t, -k3,3n "$D/t3.csv" | cut -d, -f3-6 | head -5000 >"$D/s3"
	[ "$(wc -l <"$D/s1")" -eq 5000 ]
	cmp "$D/s1" "$D/s2"
	! cmp -s "$D/s1" "$D/s3"
}

@test "a delay between bursts paces the I/Os" {
	cat >"$D/spec.json" <<-'JSON'
	{"lines": [{"size": 4096, "percent": 100, "delay": 200, "burst": 5}]}
	JSON
	run -0 ipstor bench iometer -t null --spec "$D/spec.json" --time 1 --json
	# at most one burst of 5 every 200 ms: 6 bursts in a second
	echo "$output" | jq -e '.bench.tests[0].all.ios <= 30 and .bench.tests[0].all.ios >= 5'
}

@test "the ramp-up is not counted" {
	run -0 ipstor bench iometer -t memory:64M --spec max-throughput --ramp 0.3 \
		--time 0.2 --json --trace "$D/t.csv"
	local measured traced
	measured=$(echo "$output" | jq '.bench.tests[0].all.ios')
	traced=$(awk -F, 'NR > 1 && $9 == 1' "$D/t.csv" | wc -l)
	[ "$(awk -F, 'NR > 1 && $9 == 0' "$D/t.csv" | wc -l)" -gt 0 ]
	[ "$measured" -eq "$traced" ]
}
