#!/usr/bin/env bats
# A snapshot every second for a minute while a client writes through NBD
# with 16 writes in flight: every snapshot holds, in every block, exactly
# a write acknowledged before the snapshot started or one in flight
# across it, never one sent after it returned, never a torn block. The
# writer (nbdwriter gens) logs each write's block, generation, issue and
# acknowledgement times; the snapshot loop each snapshot's start and end;
# crashwriter verify-gens checks every block of every snapshot.

load ../helpers/common

setup() {
	common_setup
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	# 4 MiB, 64 KiB chunks: 1024 blocks and 64 chunks, all rewritten
	# between two snapshots, so each of the 60 holds 4 MiB of its own
	mkdev a.img 192M
	mkdev b.img 160M
	ipstor pool create p "$D/a.img" "$D/b.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 4M --thin >/dev/null
	PORT=$(free_port)
	ipstor export add p/v --listen "127.0.0.1:$PORT" >/dev/null
	ipstor server start >/dev/null
}

teardown() {
	stop_worker
}

now_ns() { date +%s%N; }

@test "60 snapshots at 1 s intervals during NBD writes each hold exactly the acknowledged writes" {
	"$HELPERS/nbdwriter" gens "nbd://127.0.0.1:$PORT/v" "$D/gens" 62 16 >"$D/writer.out" 2>"$D/writer.err" &
	wpid=$!
	until [ -s "$D/gens" ]; do sleep 0.1; done
	start=$(now_ns)
	for i in $(seq 1 60); do
		t0=$(now_ns)
		ipstor snap create "p/v@g$i" >/dev/null
		t1=$(now_ns)
		echo "g$i $t0 $t1" >>"$D/snaps"
		# the next one a second after this one started
		left=$((start + i * 1000000000 - $(now_ns)))
		[ "$left" -gt 0 ] && sleep "$(printf '%d.%09d' $((left / 1000000000)) $((left % 1000000000)))"
	done
	rc=0
	wait "$wpid" || rc=$?
	[ "$rc" = 0 ] && [ ! -s "$D/writer.err" ] || { echo "writer: $rc"; cat "$D/writer.err"; false; }
	stop_worker
	[ "$(wc -l <"$D/snaps")" = 60 ]
	run -0 "$HELPERS/crashwriter" verify-gens p/v "$D/gens" "$D/snaps"
	echo "$output" >&3
	# the writes really raced the snapshots
	[[ $output =~ ([0-9]+)\ blocks\ held\ a\ write\ in\ flight ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	run -0 ipstor pool check p
}
