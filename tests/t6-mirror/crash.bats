#!/usr/bin/env bats
# SIGKILL of the worker while an NBD client writes to a mirrored volume:
# after each kill the bitmap on disk names the regions that were being
# written, the restarted worker resyncs exactly those (the bytes it copies
# equal what the bitmap says), the legs end identical, and every write
# acknowledged before a flush (or with FUA) reads back. And, with the leg
# turned to garbage behind the mirror's back before the restart, verify
# shows that the resync rewrote exactly the regions in the bitmap, and
# that these hold every write since the last flush.

load ../helpers/common
load ../helpers/mirror

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
		mirror_wait
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

# Which 256 KiB regions of the volume the writer's operations since the
# last flush it saw complete touch, leaving out the very last operation
# (logged before it was sent: it may never have reached the server).
# LOG FROM_LINE
unflushed_regions() {
	tail -n +"$2" "$1" | python3 -c '
import sys
ops = [l.split() for l in sys.stdin if l.strip()]
last_f = max([i for i, o in enumerate(ops) if o[0] == "F"], default=-1)
regions = set()
for o in ops[last_f + 1:-1]:
    if o[0] == "W":
        regions.add(int(o[1]) * 4096 >> 18)
    elif o[0] == "Z":
        b, n = int(o[1]), int(o[2])
        regions.update(range(b * 4096 >> 18, ((b + n) * 4096 - 1 >> 18) + 1))
print(" ".join(map(str, sorted(regions))))'
}

@test "SIGKILL: the resync rewrites exactly the regions in the bitmap, which hold every write not yet flushed" {
	ipstor vol create p/v --size 64M
	ipstor mirror add p/v --device "$D/leg.img" --region-size 256K
	ipstor export add p/v --listen "127.0.0.1:$PORT" >/dev/null
	size=$((64 << 20))
	caught=0
	for ((round = 1; round <= 3; round++)); do
		from=$(($(wc -l <"$D/log" 2>/dev/null || echo 0) + 1))
		ipstor server start >/dev/null
		"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/v" "$D/log" "$((round + 10))" 2>"$D/writer.err" &
		wpid=$!
		# once writes are flowing (see above)
		for _ in $(seq 600); do
			[ "$(cat "$D/log" 2>/dev/null | wc -l)" -ge "$from" ] && break
			kill -0 "$wpid" 2>/dev/null || break
			sleep 0.1
		done
		sleep "0.$(printf '%03d' $((200 + RANDOM % 500)))"
		kill -9 "$(cat "$IPSTOR_STATE_DIR/worker.pid")"
		wait "$wpid" || { cat "$D/writer.err" >&2; return 1; }
		pending=$(ipstor mirror status p/v --json | jq '.mirrors[0].legs[1].out_of_sync')
		# as above, a kill may catch nothing in flight
		[ "$pending" -gt 0 ] && caught=$((caught + 1))
		[ "$pending" -lt "$size" ]
		# behind the mirror's back, every byte of the leg becomes
		# garbage: a resync that copies a region repairs it, any region
		# it leaves alone keeps the garbage
		head -c 64M /dev/zero | tr '\0' '\245' |
			dd of="$D/leg.img" bs=1M seek=1 conv=notrunc status=none
		ipstor server start >/dev/null
		mirror_wait
		[ "$(mjq '.resync.copied')" = "$pending" ]
		run -1 --separate-stderr ipstor mirror verify p/v --json
		# exactly the regions out of sync were copied, no more, no fewer
		[ "$(jq '.verify.differing_bytes' <<<"$output")" = $((size - pending)) ]
		jq -r '.verify.differences[] | "\(.offset) \(.length)"' <<<"$output" >"$D/diff"
		# and each write since the last flush is in a copied region
		for r in $(unflushed_regions "$D/log" "$from"); do
			off=$((r << 18))
			if awk -v o="$off" '$1 <= o && o < $1 + $2 { f = 1 } END { exit !f }' "$D/diff"; then
				echo "round $round: region $r was written since the last flush but not resynced" >&2
				return 1
			fi
		done
		echo "round $round: $((pending >> 18)) regions resynced, $(unflushed_regions "$D/log" "$from" | wc -w) written since the last flush" >&3
		ipstor server stop >/dev/null
		# a fresh leg for the next round; then the writer's data checks
		ipstor mirror remove p/v --leg 1 --yes
		ipstor mirror add p/v --device "$D/leg.img" --force --region-size 256K
		run "$HELPERS/crashwriter" verify p/v "$D/log"
		[ "$status" -eq 0 ] || { echo "round $round: $output" >&2; return 1; }
	done
	[ "$caught" -gt 0 ]
}
