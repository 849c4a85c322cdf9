#!/usr/bin/env bats
# The worker killed with SIGKILL while an NBD client writes, zeroes,
# flushes and sends FUA writes through it: after every kill the pool opens,
# pool check is clean, and every write acknowledged before a completed
# FLUSH (or with FUA) reads back; then the worker serves again.

load ../helpers/common

setup() {
	common_setup
	require_cmd nbdinfo
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	mkpool p 48M 32M
	PORT=$(free_port)
}

teardown() {
	stop_worker
}

kill_worker_rounds() { # VOL ROUNDS
	local vol=$1 rounds=$2
	ipstor export add "p/$vol" --listen "127.0.0.1:$PORT" >/dev/null
	for ((i = 1; i <= rounds; i++)); do
		ipstor server start >/dev/null
		"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/$vol" "$D/log" "$i" 2>"$D/writer.err" &
		local wpid=$!
		sleep "0.$(printf '%03d' $((100 + RANDOM % 400)))"
		kill -9 "$(cat "$IPSTOR_STATE_DIR/worker.pid")"
		wait "$wpid" || { echo "round $i: writer:" >&2; cat "$D/writer.err" >&2; return 1; }
		# the dead worker left its files; the pool is free again
		run ipstor pool check p
		[ "$status" -eq 0 ] || { echo "round $i: $output" >&2; return 1; }
		run "$HELPERS/crashwriter" verify "p/$vol" "$D/log"
		[ "$status" -eq 0 ] || { echo "round $i: $output" >&2; return 1; }
	done
}

@test "SIGKILL of the worker during NBD writes, 12 rounds, thin volume: every flushed write survives" {
	ipstor vol create p/v --size 16M --thin
	kill_worker_rounds v 12
	grep -q "W " "$D/log"
	grep -q "^F$" "$D/log"
}

@test "SIGKILL of the worker during NBD writes, 6 rounds, thick volume" {
	ipstor vol create p/t --size 16M
	kill_worker_rounds t 6
}

@test "power cuts of the worker (volatile device caches) during NBD writes, 10 rounds: every flushed write survives" {
	ipstor vol create p/v --size 16M --thin
	ipstor disk fault "$D/p-0.img" --volatile --cache-size 2M
	ipstor disk fault "$D/p-1.img" --volatile
	kill_worker_rounds v 10
	grep -q "^F$" "$D/log"
}
