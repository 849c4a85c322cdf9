#!/usr/bin/env bats
# A leg failing under a client, in the worker: no client error, the leg
# marked failed in the metadata and the log, and a repair (or the device
# coming back) that copies only what was written meanwhile.

load ../helpers/common
load ../helpers/mirror
load ../helpers/nbd

setup() {
	common_setup
	mkpool p 160M
	mkpool q 160M
	truncate -s 96M "$D/leg.img"
	ipstor vol create p/v --size 64M
}

teardown() {
	[ -n "${writer:-}" ] && kill "$writer" 2>/dev/null
	stop_serve || true
	stop_worker
}

@test "fio verify=crc32c through NBD while a leg starts failing mid-run: no client error; repaired legs are identical" {
	require_cmd fio
	fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio has no nbd engine"
	ipstor mirror add p/v --device "$D/leg.img"
	ipstor mirror add p/v --pool q
	start_serve p/v
	mirror_wait
	# the device leg fails after 400 more I/Os, in the middle of the run
	ipstor disk fault "$D/leg.img" --error --after 400
	run -0 --separate-stderr fio --name=verify --ioengine=nbd --uri="$URI" \
		--rw=randwrite --bsrange=4k-64k --iodepth=8 --numjobs=2 \
		--size=32M --offset_increment=32M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --output-format=json
	json=$(sed -n '/^{/,$p' <<<"$output")
	[ "$(jq '[.jobs[].error] | add' <<<"$json")" = 0 ]
	[ "$(jq '[.jobs[].write.io_bytes] | add' <<<"$json")" -ge $((64 << 20)) ]
	# failed, in the metadata, the status and the log
	[ "$(mjq '[.legs[].state] | join(",")')" = "in-sync,failed,in-sync" ]
	[ "$(mjq '.legs[1].reason')" = "write: Input/output error" ]
	[ "$(mjq '.state')" = degraded ]
	ipstor pool dump p | jq -e '[.devices[0].metadata_copies[].config.mirrors[0].legs[1].state] | index("failed")'
	grep -q "mirror of 'p/v': leg 1 (device $D/leg.img) failed" "$IPSTOR_STATE_DIR/worker.log"
	# the other legs are identical already; the failed one is skipped
	run -0 --separate-stderr ipstor mirror verify p/v --json
	jq -e '.verify.compared_legs == [2] and .verify.skipped_legs == [1]' <<<"$output"
	ipstor disk heal "$D/leg.img"
	ipstor mirror repair p/v
	mirror_wait
	run -0 --separate-stderr ipstor mirror verify p/v --json
	jq -e '.verify.identical and .verify.compared_legs == [1,2]' <<<"$output"
	# and fio finds its data on whichever leg serves the reads
	run -0 --separate-stderr fio --name=verify --ioengine=nbd --uri="$URI" \
		--rw=randwrite --bsrange=4k-64k --iodepth=8 --numjobs=2 \
		--size=32M --offset_increment=32M --verify=crc32c --verify_only \
		--output-format=json
	json=$(sed -n '/^{/,$p' <<<"$output")
	[ "$(jq '[.jobs[].error] | add' <<<"$json")" = 0 ]
}

@test "a transient failure: only the regions written meanwhile are resynced, by hand or when the device answers again" {
	ipstor mirror add p/v --device "$D/leg.img"
	ipstor server start >/dev/null
	mirror_wait
	copied0=$(mjq '.resync.copied')
	# synced offline before the worker started: nothing left to copy
	[ "$copied0" = 0 ]
	ipstor disk fault "$D/leg.img" --error --ops write
	pattern "$D/a" 2M a
	ipstor vol write p/v "$D/a" --offset 8M # regions 8 and 9
	pattern "$D/b" 4K b
	ipstor vol write p/v "$D/b" --offset 40M # region 40
	[ "$(mjq '.legs[1].state')" = failed ]
	[ "$(mjq '.legs[1].out_of_sync')" = $((3 << 20)) ]
	# reads never come from it: a read fault changes nothing
	ipstor disk fault "$D/leg.img" --error
	ipstor vol read p/v --offset 8M --length 2M | cmp - "$D/a"
	ipstor disk heal "$D/leg.img"
	ipstor mirror repair p/v
	mirror_wait
	[ "$(mjq '.resync.copied')" = $((copied0 + (3 << 20))) ]
	ipstor mirror verify p/v
	cmp <(tail -c +$((9 << 20 | 1)) "$D/leg.img" | head -c 2M) "$D/a"

	# again, and this time the worker notices the device is back. What
	# it missed: the region written now, and any region whose intent bit
	# was still set when it failed (written recently, maybe unflushed)
	copied1=$(mjq '.resync.copied')
	ipstor disk fault "$D/leg.img" --error
	ipstor vol write p/v "$D/b" --offset 20M
	[ "$(mjq '.legs[1].state')" = failed ]
	oos=$(mjq '.legs[1].out_of_sync')
	intent=$(mjq '.intent_regions')
	[ "$oos" -ge $((1 << 20)) ] && [ "$oos" -le $(((intent + 1) << 20)) ]
	ipstor disk heal "$D/leg.img"
	mirror_wait
	[ "$(mjq '.resync.copied')" = $((copied1 + oos)) ]
	grep -q "leg 1 answers again" "$IPSTOR_STATE_DIR/worker.log"
	ipstor mirror verify p/v
}

@test "the worker syncs a new leg in the background with progress, and keeps to --resync-rate while clients write" {
	require_cmd fio
	fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio has no nbd engine"
	mkpool r 200M
	ipstor vol create r/big --size 96M
	start_serve r/big
	truncate -s 128M "$D/big.img"
	# a client keeps writing, steadily, while the leg syncs at 8 MiB/s
	# (over NBD: a loop of commands would leave gaps on a loaded
	# machine, and the copy runs at full speed when clients are quiet)
	fio --name=load --ioengine=nbd --uri="$URI" --rw=randwrite --bs=64k \
		--rate=2m --size=64M --time_based --runtime=3600 \
		--output-format=json >"$D/fio.out" 2>&1 3>&- &
	writer=$!
	until [ "$(ipstor server status --json | jq '[.server.exports[] | select(.name == "big") | .connections] | add')" -gt 0 ]; do
		kill -0 "$writer" || { cat "$D/fio.out" >&2; return 1; }
		sleep 0.1
	done
	ipstor mirror add r/big --device "$D/big.img" --resync-rate 8M
	st=$(ipstor mirror status r/big --json | jq '.mirrors[0]')
	[ "$(jq -r '.legs[1].state' <<<"$st")" = syncing ]
	[ "$(jq -r '.resync_rate' <<<"$st")" = $((8 << 20)) ]
	seen=0
	for _ in $(seq 100); do
		st=$(ipstor mirror status r/big --json | jq '.mirrors[0]')
		if [ "$(jq '.resync.active and .resync.percent > 0 and .resync.percent < 100 and .resync.rate > 0 and .resync.eta_seconds != null' <<<"$st")" = true ]; then
			seen=1
			break
		fi
		sleep 0.1
	done
	[ "$seen" = 1 ]
	# while the client writes, the copy keeps to its rate (a loaded
	# machine can only make it slower)
	[ "$(jq '.resync.rate' <<<"$st")" -le $((16 << 20)) ]
	run -0 ipstor mirror status r/big
	assert_line --regexp '^resync: [0-9.]+% \(.* of 96 MiB\) at .*/s'
	kill "$writer"
	wait "$writer" || true
	for _ in $(seq 1500); do
		[ "$(ipstor mirror status r/big --json | jq -r '.mirrors[0].state')" = in-sync ] && break
		sleep 0.2
	done
	ipstor mirror verify r/big
}
