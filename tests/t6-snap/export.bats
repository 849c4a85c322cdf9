#!/usr/bin/env bats
# Snapshots over NBD: served read-only, with block status from the
# snapshot's own map; an exported volume rolled back under its clients.

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
	require_cmd nbdinfo
	require_cmd nbdcopy
	mkpool p 64M 32M
	ipstor vol create p/v --size 8M --thin >/dev/null
	pattern "$D/a" 2M 1
	pattern "$D/b" 1M 2
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	PORT=$(free_port)
}

teardown() {
	stop_worker
}

@test "a snapshot export is read-only, reads as the snapshot, and maps as the snapshot" {
	run -0 ipstor --json export add p/v@s1 --listen "127.0.0.1:$PORT"
	jq -e '.export | .name == "v@s1" and .volume == "v" and .snapshot == "s1"
		and .read_only == true' <<<"$output"
	ipstor server start >/dev/null
	# the volume moves on: a write over the data, one into a hole
	ipstor vol write p/v --offset 1M "$D/b" >/dev/null
	ipstor vol write p/v --offset 6M "$D/b" >/dev/null
	run -0 nbdinfo --json "nbd://127.0.0.1:$PORT/v@s1"
	jq -e '.exports[0]."is_read_only" == true and .exports[0]."export-size" == 8388608' <<<"$output"
	nbdcopy "nbd://127.0.0.1:$PORT/v@s1" "$D/got"
	ipstor vol read p/v@s1 "$D/want"
	[ "$(sha "$D/got")" = "$(sha "$D/want")" ]
	cmp <(head -c 2M "$D/got") "$D/a"
	# allocation is the snapshot's: 2 MiB of data, the rest a hole
	run -0 nbdinfo --map "nbd://127.0.0.1:$PORT/v@s1"
	assert_line --regexp '^ +0 +2097152 +0 +data$'
	assert_line --regexp '^ +2097152 +6291456 +3 +hole,zero$'
	# writes are refused
	head -c 4096 /dev/zero >"$D/z"
	run nbdcopy "$D/z" "nbd://127.0.0.1:$PORT/v@s1"
	[ "$status" -ne 0 ]
	ipstor vol read p/v@s1 "$D/again"
	[ "$(sha "$D/again")" = "$(sha "$D/want")" ]
}

@test "an exported snapshot cannot be deleted; its export is not a volume's" {
	ipstor export add p/v@s1 --listen "127.0.0.1:$PORT" --name nightly >/dev/null
	run -5 --separate-stderr ipstor snap delete p/v@s1 --yes
	[ "$stderr" = "ipstor: snapshot 'v@s1' is exported as 'nightly'; remove the export first" ]
	run -0 ipstor export list
	assert_line --regexp '^nightly +p +v +s1 '
	ipstor server start >/dev/null
	run -5 ipstor snap delete p/v@s1 --yes
	ipstor export remove nightly >/dev/null
	run -0 ipstor snap delete p/v@s1 --yes
	run -4 --separate-stderr ipstor export add p/v@gone --listen "127.0.0.1:$PORT"
	[ "$stderr" = "ipstor: snapshot 'v@gone' not found in pool 'p'" ]
}

@test "rolling back an exported volume disconnects its clients, and reconnecting ones see the snapshot" {
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	ipstor export add p/v --listen "127.0.0.1:$PORT" >/dev/null
	ipstor export add p/v@s1 --listen "127.0.0.1:$PORT" >/dev/null
	ipstor server start >/dev/null
	# a client writing all the time, and one reading the snapshot export
	"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/v" "$D/log" 7 2>"$D/writer.err" &
	wpid=$!
	until grep -q '^W ' "$D/log" 2>/dev/null; do sleep 0.1; done
	run -0 ipstor snap rollback p/v@s1 --yes
	# the writer was disconnected cleanly (it exits 0 when the server
	# closes the connection, 1 when a request fails)
	rc=0
	wait "$wpid" || rc=$?
	[ "$rc" = 0 ]
	[ ! -s "$D/writer.err" ]
	# the export serves again: a new client sees exactly the snapshot
	run -0 ipstor --json server status
	jq -e '[.server.exports[].name] | sort == ["v", "v@s1"]' <<<"$output"
	nbdcopy "nbd://127.0.0.1:$PORT/v" "$D/got"
	ipstor vol read p/v@s1 "$D/want"
	[ "$(sha "$D/got")" = "$(sha "$D/want")" ]
	# the snapshot's own export was never interrupted, nor changed
	nbdcopy "nbd://127.0.0.1:$PORT/v@s1" "$D/gots"
	[ "$(sha "$D/gots")" = "$(sha "$D/want")" ]
	grep -q "disconnecting the clients of 'v'" "$IPSTOR_STATE_DIR/worker.log"
	run -0 ipstor pool check p
}

@test "snapshot create, list, diff and clone work through the worker" {
	ipstor server start >/dev/null
	ipstor vol write p/v --offset 4M "$D/b" >/dev/null
	run -0 ipstor snap create p/v@s2
	run -0 --separate-stderr ipstor --json snap list p/v
	jq -e '[.snapshots[].name] == ["s1", "s2"] and .snapshots[0].exclusive == 0' <<<"$output"
	run -0 --separate-stderr ipstor --json snap diff p/v@s1 p/v@s2
	jq -e '.changes == [{"offset": 4194304, "length": 1048576, "content": "data"}]' <<<"$output"
	ipstor vol clone p/v@s2 c >/dev/null
	ipstor vol read p/c --offset 4M --length 1M "$D/got"
	cmp "$D/got" "$D/b"
	run -0 ipstor snap delete p/v@s2 --yes
	# a dry run would leave the worker's memory ahead of the disk
	run -6 ipstor snap create p/v@s3 --dry-run
}
