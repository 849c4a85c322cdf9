#!/usr/bin/env bats
# A pool with hundreds of snapshots: every commit reprints each one's
# configuration entry from the text it kept (lib/md/config.c), so these
# tests make many commits in one process (batch mode, the worker) and
# check what the metadata then holds: the pool opens, every snapshot that
# was created is there with its UUID, none other is, and pool check is
# clean, also after SIGKILLs of the worker in the middle of creates and
# deletes.

load ../helpers/common

setup() {
	common_setup
	mkpool p 64M
	ipstor vol create p/v --size 8M --thin >/dev/null
	pattern "$D/a" 2M 1
	ipstor vol write p/v "$D/a" >/dev/null
}

teardown() {
	stop_worker
}

# batch FROM TO: snapshots k<FROM>..k<TO> of p/v in one process
batch() {
	local n
	for ((n = $1; n <= $2; n++)); do echo "snap create p/v@k$n"; done >"$D/batch"
	ipstor -q -b "$D/batch"
}

snap_names() { # sorted
	ipstor --json snap list p/v | jq -r '.snapshots[].name' | sort
}

@test "400 snapshots made in one process, with deletes among them: the metadata holds each as it was made" {
	# every commit compares each entry with what json-c prints for it
	IPSTOR_DEBUG_VERIFY=1 batch 1 200
	ipstor --json snap list p/v >"$D/before.json"
	{
		for ((n = 1; n <= 200; n += 3)); do echo "snap delete p/v@k$n --yes"; done
		for ((n = 201; n <= 400; n++)); do echo "snap create p/v@k$n"; done
	} >"$D/batch2"
	ipstor -q -b "$D/batch2"
	run -0 ipstor --json snap list p/v
	jq -e '.snapshots | length == 333' <<<"$output"
	# the survivors of the first 200 kept their UUIDs, times and sizes
	jq -e --slurpfile old "$D/before.json" '
		[.snapshots[] | select(.name | ltrimstr("k") | tonumber <= 200) | {name, uuid, created, size}] ==
		[$old[0].snapshots[] | select(.name | ltrimstr("k") | tonumber % 3 != 1) | {name, uuid, created, size}]' <<<"$output"
	run -0 ipstor --json pool check p
	jq -e '.clean' <<<"$output"
	[ "$(ipstor vol read p/v@k400 | sha)" = "$(ipstor vol read p/v | sha)" ]
	ipstor snap prune p/v --keep 0 --yes >/dev/null
	run -0 ipstor pool check p
}

@test "SIGKILL of the worker during snapshot creates and deletes in a pool of 300 snapshots, 10 rounds: the pool opens, checks clean and holds every snapshot a command made" {
	batch 1 300
	snap_names >"$D/must"
	: >"$D/may"
	local round
	for ((round = 1; round <= 10; round++)); do
		ipstor server start >/dev/null
		rm -f "$D/stop" "$D/log"
		# creates through the worker, each third one followed by a
		# delete of an older one of this round
		(
			j=0
			while [ ! -e "$D/stop" ]; do
				j=$((j + 1))
				echo "S r$round-$j" >>"$D/log"
				"$IPSTOR_BIN" snap create "p/v@r$round-$j" >/dev/null 2>&1 || break
				echo "s r$round-$j" >>"$D/log"
				if [ $((j % 3)) = 0 ]; then
					echo "X r$round-$((j - 2))" >>"$D/log"
					"$IPSTOR_BIN" snap delete "p/v@r$round-$((j - 2))" --yes >/dev/null 2>&1 || break
					echo "x r$round-$((j - 2))" >>"$D/log"
				fi
			done
		) &
		local loop=$!
		sleep "0.$(printf '%03d' $((300 + RANDOM % 600)))"
		kill -9 "$(cat "$IPSTOR_STATE_DIR/worker.pid")"
		touch "$D/stop"
		wait "$loop" || true
		stop_worker
		run ipstor --json pool check p
		[ "$status" -eq 0 ] || { echo "round $round: $output"; false; }
		jq -e '.clean' <<<"$output" >/dev/null || { echo "round $round: $output"; false; }
		# what the log says must exist, and what may (in flight at the
		# kill, or made after it by a command that found no worker)
		while read -r op name; do
			case $op in
			S) echo "$name" >>"$D/may" ;;
			s) echo "$name" >>"$D/must" ;;
			X) grep -vxF "$name" "$D/must" >"$D/t" || true; mv "$D/t" "$D/must"; echo "$name" >>"$D/may" ;;
			x) grep -vxF "$name" "$D/must" >"$D/t" || true; mv "$D/t" "$D/must"
			   grep -vxF "$name" "$D/may" >"$D/t" || true; mv "$D/t" "$D/may" ;;
			esac
		done <"$D/log"
		snap_names >"$D/have"
		missing=$(sort -u "$D/must" | comm -23 - "$D/have")
		[ -z "$missing" ] || { echo "round $round: missing $missing"; false; }
		extra=$(sort -u "$D/must" "$D/may" | comm -13 - "$D/have")
		[ -z "$extra" ] || { echo "round $round: unexpected $extra"; false; }
		grep -q '^s ' "$D/log" || { echo "round $round: no create returned"; false; }
		# what exists is what the next round must find
		cp "$D/have" "$D/must"
		: >"$D/may"
	done
	[ "$(grep -c '^k' "$D/have")" = 300 ]
	ipstor snap prune p/v --keep 0 --yes >/dev/null
	run -0 ipstor pool check p
}
