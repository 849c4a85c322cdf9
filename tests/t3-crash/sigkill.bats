#!/usr/bin/env bats
# Durability under SIGKILL: a writer (tests/helpers/crashwriter.c) writes,
# zeroes, flushes and creates/deletes volumes; it is killed at random
# points, and after every kill the pool must open, pool check must be clean
# and every block must hold its last flushed value or a later one.

load ../helpers/common

setup() {
	common_setup
	CW=$HELPERS/crashwriter
}

# kill_rounds POOL/VOL ROUNDS
kill_rounds() {
	local ref=$1 rounds=$2 pool=${1%%/*}
	for ((i = 1; i <= rounds; i++)); do
		"$CW" write "$ref" "$D/log" "$i" 2>"$D/writer.err" &
		local pid=$!
		# 20..420 ms: kills land in writes, zeroing, commits, creates
		sleep "0.$(printf '%03d' $((20 + RANDOM % 400)))"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		if [ -s "$D/writer.err" ]; then
			echo "round $i: writer failed before the kill:" >&2
			cat "$D/writer.err" >&2
			return 1
		fi
		run ipstor pool check "$pool"
		[ "$status" -eq 0 ] || { echo "round $i: $output" >&2; return 1; }
		run "$CW" verify "$ref" "$D/log"
		[ "$status" -eq 0 ] || { echo "round $i: $output" >&2; return 1; }
	done
}

@test "SIGKILL at random points, 50 rounds, thin volume on two devices: nothing flushed is lost" {
	mkdev a.img 40M
	mkdev b.img 24M
	ipstor pool create p "$D/a.img" "$D/b.img" --chunk-size 64K
	ipstor vol create p/v --size 16M --thin
	kill_rounds p/v 50
	# the last round's writes are all flushed by a clean run
	CRASHWRITER_OPS=500 "$CW" write p/v "$D/log" 99
	run -0 "$CW" verify p/v "$D/log"
	run -0 ipstor pool check p
}

@test "SIGKILL at random points, 15 rounds, thick volume striped over three devices" {
	mkpool p 32M 16M 24M
	ipstor vol create p/v --size 24M
	kill_rounds p/v 15
}

@test "a FUA write is durable with its mapping, even when an unflushed write just allocated the chunk" {
	mkpool p 32M
	ipstor vol create p/v --size 8M --thin
	run -137 "$CW" fua-then-die p/v
	# block 1 (FUA) must be there; block 0 (never flushed) may or may not
	ipstor vol read p/v --offset 4096 --length 4096 "$D/b1"
	run -0 od -A n -t x8 -j 8 -N 16 "$D/b1"
	assert_output --regexp '^ +0+1 +0+2$'
	run -0 ipstor pool check p
}

# With every member's write cache volatile (ipstor disk fault --volatile),
# a SIGKILL loses what was not flushed, as a power cut does: these rounds
# test the flushes and the commit's order, not only its atomicity.
@test "a power cut (volatile device caches) loses the unflushed writes and keeps the flushed one" {
	mkpool p 32M
	ipstor vol create p/v --size 8M
	ipstor disk fault "$D/p-0.img" --volatile
	run -137 "$HELPERS/crashwriter" write-then-die p/v
	ipstor vol read p/v --length 4096 "$D/b0"
	ipstor vol read p/v --offset 8192 --length 4096 "$D/b2"
	# block 0: generation 1 (flushed), not 2; block 2: never written
	run -0 od -A n -t x8 -j 8 -N 16 "$D/b0"
	assert_output --regexp '^ +0+ +0+1$'
	run -0 od -A n -t x8 -N 16 "$D/b2"
	assert_output --regexp '^ +0+ +0+$'
	run -0 ipstor pool check p
}

@test "power cuts at random points, 30 rounds, thin volume on two volatile devices: nothing flushed is lost" {
	mkdev a.img 40M
	mkdev b.img 24M
	ipstor pool create p "$D/a.img" "$D/b.img" --chunk-size 64K
	ipstor vol create p/v --size 16M --thin
	ipstor disk fault "$D/a.img" --volatile --cache-size 1M
	ipstor disk fault "$D/b.img" --volatile
	kill_rounds p/v 30
	run -0 ipstor disk faults --json
	echo "$output" | jq -e '[.faults[].action] == ["volatile", "volatile"]'
}
