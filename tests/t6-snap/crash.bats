#!/usr/bin/env bats
# SIGKILL while snapshots are created, deleted and rolled back to, and
# clones written: after every kill the pool opens, pool check is clean,
# the volume holds what the flush rule allows (or, after a cut-short
# rollback, exactly the snapshot), every snapshot holds exactly what the
# volume did when it was taken, and at the end deleting everything gives
# back the whole pool: no chunk leaked, none counted twice. The writer
# also checks its live accounting against its trees at every commit
# (IPSTOR_DEBUG_VERIFY).

load ../helpers/common

setup() {
	common_setup
	CW=$HELPERS/crashwriter
	export CRASHWRITER_SNAPS=1 IPSTOR_DEBUG_VERIFY=1
}

snap_kill_rounds() { # POOL/VOL ROUNDS
	# not $i: bats' run uses it
	local ref=$1 rounds=$2 pool=${1%%/*} round
	for ((round = 1; round <= rounds; round++)); do
		"$CW" write "$ref" "$D/log" "$round" 2>"$D/writer.err" &
		local pid=$!
		sleep "0.$(printf '%03d' $((20 + RANDOM % 400)))"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		if [ -s "$D/writer.err" ]; then
			echo "round $round: writer failed before the kill:" >&2
			cat "$D/writer.err" >&2
			return 1
		fi
		run ipstor pool check "$pool"
		[ "$status" -eq 0 ] || { echo "round $round: $output" >&2; return 1; }
		run "$CW" verify "$ref" "$D/log"
		[ "$status" -eq 0 ] || { echo "round $round: $output" >&2; return 1; }
	done
}

# stalled_restore STREAM POOL/VOL: restore from a pipe that stops for
# 0.5 s at a random point of the stream
stalled_restore() {
	local cut=$((RANDOM * 32768 + RANDOM)) size
	size=$(stat -c %s "$1")
	cut=$((cut % size))
	{ head -c "$cut" "$1"; sleep 0.5; tail -c +"$((cut + 1))" "$1"; } |
		"$IPSTOR_BIN" restore - "$2" >/dev/null 2>&1
}

everything_back() { # POOL
	local v
	for v in $(ipstor --json vol list --pool "$1" | jq -r '.volumes[].name'); do
		ipstor snap prune "$1/$v" --keep 0 --yes >/dev/null
		ipstor vol delete "$1/$v" --yes >/dev/null
	done
	ipstor --json pool show "$1" | jq -e '.pool.allocated == 0 and .pool.free == .pool.size'
}

@test "SIGKILL during snapshot create, delete, rollback and clone writes, 40 rounds, thin volume on two devices" {
	mkdev a.img 40M
	mkdev b.img 24M
	ipstor pool create p "$D/a.img" "$D/b.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 16M --thin >/dev/null
	snap_kill_rounds p/v 40
	# the log saw every kind of operation complete
	for tag in s x r; do grep -q "^$tag " "$D/log"; done
	run -0 ipstor pool check p
	everything_back p
}

@test "SIGKILL during snapshot operations, 15 rounds, thick volume striped over three devices" {
	mkpool p 40M 24M 32M
	ipstor vol create p/v --size 16M >/dev/null
	snap_kill_rounds p/v 15
	everything_back p
}

# With the members' write caches volatile (ipstor disk fault --volatile), a
# SIGKILL loses what was not flushed, as a power cut does: the snapshot
# commits must flush what the snapshots hold before they record them.
@test "power cuts during snapshot operations, 25 rounds, thin volume on two volatile devices" {
	mkdev a.img 40M
	mkdev b.img 24M
	ipstor pool create p "$D/a.img" "$D/b.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 16M --thin >/dev/null
	ipstor disk fault "$D/a.img" --volatile --cache-size 1M >/dev/null
	ipstor disk fault "$D/b.img" --volatile >/dev/null
	snap_kill_rounds p/v 25
	run -0 ipstor disk faults --json
	jq -e '[.faults[].action] == ["volatile", "volatile"]' <<<"$output"
	everything_back p
}

@test "SIGKILL during restores, 16 rounds: the target is as it was or wholly restored, and the staging volume goes" {
	mkpool p 160M
	mkdev q.img 256M
	ipstor pool create q "$D/q.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 64M --thin >/dev/null
	pattern "$D/a" 24M 1
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s0 >/dev/null
	ipstor vol write p/v --offset 32M "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s0 -o "$D/full.st" >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	ipstor restore "$D/full.st" q/w >/dev/null
	s0=$(ipstor vol read p/v@s0 | sha)
	s1=$(ipstor vol read p/v@s1 | sha)
	free=$(ipstor --json pool show q | jq .pool.free)
	local round staged=0
	for ((round = 1; round <= 16; round++)); do
		# the stream stalls for a moment somewhere: the kill lands
		# before, during or after the staging
		if ((round % 2)); then
			stalled_restore "$D/inc.st" q/w &
		else
			stalled_restore "$D/full.st" q/new &
		fi
		pid=$!
		sleep "0.$(printf '%03d' $((RANDOM % 900)))"
		pkill -9 -P "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run ipstor --json pool check q
		[ "$status" -eq 0 ] || { echo "round $round: $output"; false; }
		jq -e '[.problems[] | select(.object | startswith("staging"))] | length > 0' <<<"$output" >/dev/null &&
			staged=$((staged + 1))
		# the target: as it was, or the whole stream and its snapshot
		got=$(ipstor vol read q/w | sha)
		if [ "$got" = "$s1" ]; then
			ipstor --json snap show q/w@s1 | jq -e '.snapshot.received' >/dev/null
			ipstor snap rollback q/w@s0 --yes >/dev/null
			ipstor snap delete q/w@s1 --yes >/dev/null
		else
			[ "$got" = "$s0" ] || { echo "round $round: q/w is neither s0 nor s1"; false; }
			run -4 ipstor snap show q/w@s1
		fi
		if ipstor vol show q/new >/dev/null 2>&1; then
			[ "$(ipstor vol read q/new | sha)" = "$s0" ]
			ipstor snap prune q/new --keep 0 --yes >/dev/null
			ipstor vol delete q/new --yes >/dev/null
		fi
		# those opened the pool for writing: no staging volume is left,
		# and every chunk a cut-short restore took is free again
		ipstor pool dump q | jq -e '.devices[0].metadata_copies |
			(map(.sequence) | max) as $m |
			map(select(.sequence == $m))[0].config.staging // [] | length == 0' >/dev/null
		[ "$(ipstor --json pool show q | jq .pool.free)" = "$free" ] || { echo "round $round: free space leaked"; false; }
	done
	echo "$staged of 16 kills left a staging volume behind" >&3
	run -0 ipstor pool check q
}

@test "SIGKILL of the worker during restores while a client writes another volume: a staging volume a commit recorded is dropped at the next open" {
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	mkpool p 160M
	mkdev q.img 256M
	ipstor pool create q "$D/q.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 64M --thin >/dev/null
	pattern "$D/a" 32M 1
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s0 >/dev/null
	ipstor vol write p/v --offset 32M "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s0 -o "$D/full.st" >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol create q/x --size 8M --thin >/dev/null
	PORT=$(free_port)
	ipstor export add q/x --listen "127.0.0.1:$PORT" >/dev/null
	s0=$(ipstor vol read p/v@s0 | sha)
	s1=$(ipstor vol read p/v@s1 | sha)
	local round staged=0
	for ((round = 1; round <= 8; round++)); do
		ipstor server start >/dev/null
		# the other client flushes, so commits happen during the restore
		"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/x" "$D/log" "$round" 2>/dev/null &
		wpid=$!
		stalled_restore "$D/inc.st" q/w &
		rpid=$!
		sleep "0.$(printf '%03d' $((200 + RANDOM % 500)))"
		kill -9 "$(cat "$IPSTOR_STATE_DIR/worker.pid")"
		wait "$rpid" 2>/dev/null || true
		wait "$wpid" 2>/dev/null || true
		run ipstor --json pool check q
		[ "$status" -eq 0 ] || { echo "round $round: $output"; false; }
		left=0
		jq -e '[.problems[] | select(.object | startswith("staging"))] | length > 0' <<<"$output" >/dev/null &&
			left=1
		staged=$((staged + left))
		got=$(ipstor vol read q/w | sha)
		if [ "$got" = "$s1" ]; then
			ipstor snap rollback q/w@s0 --yes >/dev/null
			ipstor snap delete q/w@s1 --yes >/dev/null
		else
			[ "$got" = "$s0" ] || { echo "round $round: q/w is neither s0 nor s1"; false; }
		fi
		# what an administrator runs after a crash; any read-write
		# open drops the staging volume, and says so
		run -0 --separate-stderr ipstor pool repair q
		if [ "$left" = 1 ] && [ "$got" = "$s0" ]; then
			[[ $stderr == *"dropped the staging volume of an interrupted restore into 'w'"* ]]
		fi
		run -0 --separate-stderr ipstor --json pool check q
		jq -e '.clean and [.problems[] | select(.object | startswith("staging"))] == []' <<<"$output"
	done
	echo "$staged of 8 kills left a staging volume for the next open to drop" >&3
	[ "$staged" -gt 0 ]
}
