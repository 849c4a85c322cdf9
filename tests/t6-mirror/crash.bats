#!/usr/bin/env bats
# SIGKILL of the worker while an NBD client writes to a mirrored volume:
# after each kill the bitmap on disk names the regions that were being
# written, the restarted worker resyncs exactly those (the bytes it copies
# equal what the bitmap says), the legs end identical, and every write
# acknowledged before a flush (or with FUA) reads back.

load ../helpers/common

setup() {
	common_setup
	require_cmd nbdinfo
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	mkpool p 160M
	truncate -s 80M "$D/leg.img"
	PORT=$(free_port)
}

teardown() {
	stop_worker
}

mjq() {
	ipstor mirror status p/v --json | jq -r ".mirrors[0] | $1"
}

wait_in_sync() {
	for _ in $(seq 1500); do
		[ "$(mjq '(.state == "in-sync") and (.resync.active | not)')" = true ] && return 0
		sleep 0.2
	done
	return 1
}

@test "SIGKILL with writes in flight, 6 rounds: only the dirty regions are resynced, and legs end identical" {
	ipstor vol create p/v --size 64M
	ipstor mirror add p/v --device "$D/leg.img" --region-size 256K
	ipstor export add p/v --listen "127.0.0.1:$PORT" >/dev/null
	size=$((64 << 20))
	caught=0
	for ((round = 1; round <= 6; round++)); do
		ipstor server start >/dev/null
		"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/v" "$D/log" "$round" 2>"$D/writer.err" &
		wpid=$!
		# kill only once writes are flowing: on a loaded machine the
		# writer may not even have connected within the random delay
		before=$(cat "$D/log" 2>/dev/null | wc -l)
		for _ in $(seq 600); do
			[ "$(cat "$D/log" 2>/dev/null | wc -l)" -gt "$before" ] && break
			kill -0 "$wpid" 2>/dev/null || break
			sleep 0.1
		done
		sleep "0.$(printf '%03d' $((100 + RANDOM % 400)))"
		kill -9 "$(cat "$IPSTOR_STATE_DIR/worker.pid")"
		wait "$wpid" || { cat "$D/writer.err" >&2; return 1; }
		# offline: what the bitmap on disk says a start must resync
		st=$(ipstor mirror status p/v --json | jq '.mirrors[0]')
		dirty=$(jq '.intent_regions' <<<"$st")
		pending=$(jq '.legs[1].out_of_sync' <<<"$st")
		echo "round $round: $dirty dirty regions, $pending bytes to resync" >&3
		# a kill can fall between a flush that cleaned the bitmap and
		# the next write: only most rounds catch writes in flight
		[ "$dirty" -gt 0 ] && caught=$((caught + 1))
		[ "$pending" -eq $((dirty * 256 << 10)) ]
		[ "$pending" -lt "$size" ]
		ipstor server start >/dev/null
		wait_in_sync
		[ "$(mjq '.resync.copied')" = "$pending" ]
		run -0 --separate-stderr ipstor mirror verify p/v --json
		jq -e '.verify.identical and .verify.compared_legs == [1]' <<<"$output"
		ipstor server stop >/dev/null
		run "$HELPERS/crashwriter" verify p/v "$D/log"
		[ "$status" -eq 0 ] || { echo "round $round: $output" >&2; return 1; }
		ipstor pool check p
	done
	echo "$caught of 6 kills caught writes in flight" >&3
	[ "$caught" -gt 0 ]
	grep -q "region(s) were being written when it stopped; resyncing them" "$IPSTOR_STATE_DIR/worker.log"
	# a clean stop leaves nothing to resync
	st=$(ipstor mirror status p/v --json | jq '.mirrors[0]')
	[ "$(jq '.intent_regions' <<<"$st")" = 0 ]
	[ "$(jq '.legs[1].out_of_sync' <<<"$st")" = 0 ]
}
