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
	local ref=$1 rounds=$2 pool=${1%%/*}
	for ((i = 1; i <= rounds; i++)); do
		"$CW" write "$ref" "$D/log" "$i" 2>"$D/writer.err" &
		local pid=$!
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
