#!/usr/bin/env bats
# Backup streams and restore: full and incremental round trips, identical
# to the byte, across pools of other chunk sizes; damaged, truncated,
# wrong-base and newer streams refused with the target untouched.

load ../helpers/common

setup() {
	common_setup
	EDIT=$BATS_TEST_DIRNAME/../helpers/stream-edit
	export IPSTOR_DEBUG_VERIFY=1
	# the source: 256 KiB chunks; the target pool: 64 KiB chunks
	mkpool p 96M 64M
	mkdev q.img 160M
	ipstor pool create q "$D/q.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 24M --thin >/dev/null
	pattern "$D/a" 6M 1
	ipstor vol write p/v --offset 1M "$D/a" >/dev/null
	ipstor snap create p/v@s0 >/dev/null
	ipstor backup p/v@s0 -o "$D/full.st" >/dev/null
}

teardown() {
	stop_worker
}

# the target's state, for "untouched": content, snapshots, config entry
target_state() { # POOL/VOL
	ipstor vol read "$1" | sha256sum
	ipstor --json snap list "$1" | jq -c '[.snapshots[] | {name, uuid}]'
	ipstor --json vol show "$1" | jq -c '.volume | {size, uuid}'
}

no_staging() { # POOL
	run -0 ipstor --json pool check "$1"
	jq -e '.clean and ([.problems[] | select(.object | startswith("staging"))] == [])' <<<"$output"
	ipstor pool dump "$1" | jq -e '[.devices[].metadata_copies[].config.staging // [] | length] | add == 0'
}

@test "a full stream and a chain of five incrementals restore byte-identical, into a pool of another chunk size" {
	run -0 ipstor -v restore "$D/full.st" q/w
	[ "$output" = "restored 'q/w' from '$D/full.st'" ]
	[ "$(ipstor vol read q/w | sha)" = "$(ipstor vol read p/v@s0 | sha)" ]
	prev=s0
	for n in 1 2 3 4 5; do
		pattern "$D/b$n" 1M "$((n + 10))"
		ipstor vol write p/v --offset "$((n * 3))M" "$D/b$n" >/dev/null
		# a resize and a trim in the chain too
		[ "$n" = 3 ] && ipstor vol resize p/v --size 32M >/dev/null
		[ "$n" = 4 ] && ipstor vol resize p/v --size 28M --yes >/dev/null
		ipstor snap create "p/v@s$n" >/dev/null
		ipstor backup "p/v@s$n" --from "$prev" >"$D/inc$n.st"
		run -0 ipstor restore "$D/inc$n.st" q/w
		[ "$(ipstor vol read q/w | sha)" = "$(ipstor vol read "p/v@s$n" | sha)" ]
		[ "$(ipstor vol read "q/w@s$n" | sha)" = "$(ipstor vol read "p/v@s$n" | sha)" ]
		prev=s$n
	done
	# the received snapshots carry the sources' UUIDs and names
	src=$(ipstor --json snap list p/v | jq -c '[.snapshots[] | {name, uuid, created, size}]')
	dst=$(ipstor --json snap list q/w | jq -c '[.snapshots[] | {name, uuid, created, size}]')
	[ "$src" = "$dst" ]
	run -0 ipstor --json snap show q/w@s5
	jq -e '.snapshot.received == true' <<<"$output"
	# an incremental carries only what changed: about 1 MiB, not 28
	[ "$(stat -c %s "$D/inc5.st")" -lt $((2 * 1048576)) ]
	run -0 ipstor pool check q
	no_staging q
}

@test "backup through a pipe, with the worker serving and a client writing the volume" {
	[ -x "$HELPERS/nbdwriter" ] || skip "nbdwriter not built (libnbd-dev missing)"
	PORT=$(free_port)
	ipstor export add p/v --listen "127.0.0.1:$PORT" >/dev/null
	ipstor server start >/dev/null
	"$HELPERS/nbdwriter" "nbd://127.0.0.1:$PORT/v" "$D/log" 3 2>"$D/writer.err" &
	wpid=$!
	until grep -q '^W ' "$D/log" 2>/dev/null; do sleep 0.1; done
	ipstor snap create p/v@live >/dev/null
	ipstor backup p/v@live | ipstor restore - q/copy
	[ "$(ipstor vol read q/copy | sha)" = "$(ipstor vol read p/v@live | sha)" ]
	ipstor backup p/v@live --from p/v@s0 -o "$D/live.st" >/dev/null
	kill "$wpid"
	wait "$wpid" || true
	stop_worker
	run -0 ipstor pool check p
}

@test "without the worker, a backup piped into a restore in the same pool completes" {
	# the backup holds the pool until it has written its stream, and the
	# restore needs the pool to write: it keeps the stream aside meanwhile
	export TMPDIR=$D
	timeout 120 bash -c '"$1" backup p/v@s0 | "$1" restore - p/copy' _ "$IPSTOR_BIN"
	[ "$(ipstor vol read p/copy | sha)" = "$(ipstor vol read p/v@s0 | sha)" ]
	run -0 ipstor pool check p
	# --no-lock-wait: nothing set aside, the usual refusal (exit 5)
	run bash -c '"$1" backup p/v@s0 | "$1" --no-lock-wait restore - p/copy2' _ "$IPSTOR_BIN"
	[ "$status" -eq 5 ]
	[[ $output == *"pool 'p' is locked by another ipstor process"* ]]
	run -4 ipstor vol show p/copy2
	# a stream from a file still waits for the lock as it always did
	ipstor restore "$D/full.st" p/copy3 >/dev/null
	[ "$(ipstor vol read p/copy3 | sha)" = "$(ipstor vol read p/v@s0 | sha)" ]
}

@test "a restore from a pipe keeps to --lock-timeout while another process holds the pool: refused, nothing created" {
	# a benchmark run holds the pool until it is interrupted
	"$IPSTOR_BIN" bench iometer -t vol:p/v --spec database --time 600 --yes >/dev/null 2>&1 &
	local pid=$! rc=0
	for _ in $(seq 600); do
		rc=0
		ipstor --no-lock-wait vol create p/probe --size 4K >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq 5 ] && break
		[ "$rc" -eq 0 ] && { ipstor --no-lock-wait vol delete p/probe --yes >/dev/null 2>&1 || true; }
		sleep 0.1
	done
	[ "$rc" -eq 5 ]
	run bash -c 'cat "$2" | "$1" --lock-timeout 1 restore - p/late' _ "$IPSTOR_BIN" "$D/full.st"
	kill -INT "$pid"
	wait "$pid" || true
	[ "$status" -eq 5 ]
	[[ $output == *"pool 'p' is locked by another ipstor process"* ]]
	run -4 ipstor vol show p/late
	run -0 ipstor pool check p
}

@test "an incremental stream onto the wrong base is refused, naming both UUIDs; the target is untouched" {
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor snap create p/v@s2 >/dev/null
	# s2 from s1: q/w has s0, not s1
	ipstor backup p/v@s2 --from s1 -o "$D/wrong.st" >/dev/null
	s1=$(ipstor --json snap show p/v@s1 | jq -r .snapshot.uuid)
	s0=$(ipstor --json snap show q/w@s0 | jq -r .snapshot.uuid)
	before=$(target_state q/w)
	run -4 --separate-stderr ipstor restore "$D/wrong.st" q/w
	[ "$stderr" = "ipstor: the stream is an increment from snapshot $s1, which volume 'w' does not have (its newest is 's0' $s0)" ]
	[ "$(target_state q/w)" = "$before" ]
	# an incremental into a volume that does not exist, and a full
	# stream into one that does
	run -4 --separate-stderr ipstor restore "$D/wrong.st" q/nope
	[ "$stderr" = "ipstor: volume 'nope' not found in pool 'q'; an incremental stream applies to the volume that has its base snapshot" ]
	run -5 --separate-stderr ipstor restore "$D/full.st" q/w
	[ "$stderr" = "ipstor: volume 'w' already exists in pool 'q'; a full stream restores into a new volume" ]
	[ "$(target_state q/w)" = "$before" ]
	no_staging q
}

@test "an incremental onto a target changed since its base is refused until it is rolled back; twice is refused" {
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	ipstor vol write q/w --offset 16M "$D/a" >/dev/null
	before=$(target_state q/w)
	run -1 --separate-stderr ipstor restore "$D/inc.st" q/w
	[ "$stderr" = "ipstor: volume 'w' has changed since snapshot 's0'; roll it back first (ipstor snap rollback q/w@s0)" ]
	[ "$(target_state q/w)" = "$before" ]
	ipstor snap rollback q/w@s0 --yes >/dev/null
	run -0 ipstor restore "$D/inc.st" q/w
	run -5 --separate-stderr ipstor restore "$D/inc.st" q/w
	[[ $stderr == "ipstor: volume 'w' already has snapshot 's1' "*": this stream was restored before" ]]
	[ "$(ipstor vol read q/w | sha)" = "$(ipstor vol read p/v@s1 | sha)" ]
}

@test "truncated streams are refused wherever they stop, with the target untouched" {
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	before=$(target_state q/w)
	size=$(stat -c %s "$D/inc.st")
	free=$(ipstor --json pool show q | jq .pool.free)
	# in the header, in a record header, in a payload, before and in
	# the trailer
	for cut in 0 100 256 270 300 5000 $((size - 32)) $((size - 1)); do
		head -c "$cut" "$D/inc.st" >"$D/cut.st"
		run -7 --separate-stderr ipstor restore "$D/cut.st" q/w
		[[ $stderr == "ipstor: the stream ends early, in "*"truncated" ]] || { echo "cut $cut: $stderr"; false; }
		[ "$(target_state q/w)" = "$before" ]
	done
	# and from a pipe, cut by the sender
	run -7 bash -c "head -c 100000 '$D/inc.st' | '$IPSTOR_BIN' restore - q/w"
	[ "$(target_state q/w)" = "$before" ]
	[ "$(ipstor --json pool show q | jq .pool.free)" = "$free" ]
	no_staging q
}

@test "bit flips anywhere in a stream are refused, with the target untouched" {
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	before=$(target_state q/w)
	size=$(stat -c %s "$D/inc.st")
	# header, record type, record crc, sequence, offset, payload (first,
	# middle, last record), trailer fields
	for off in 0 9 20 40 100 256 260 264 272 300 $((size / 2)) $((size - 40)) \
		$((size - 32)) $((size - 24)) $((size - 16)) $((size - 8)) $((size - 1)); do
		cp "$D/inc.st" "$D/bad.st"
		"$EDIT" flip "$D/bad.st" "$off"
		run --separate-stderr ipstor restore "$D/bad.st" q/w
		[ "$status" -ne 0 ] || { echo "flip at $off was accepted"; false; }
		[ "$(target_state q/w)" = "$before" ]
	done
	run -7 --separate-stderr ipstor restore <(cp "$D/inc.st" "$D/bad.st"; "$EDIT" flip "$D/bad.st" 300; cat "$D/bad.st") q/w
	[[ $stderr == "ipstor: record 0 (at volume offset "*") is damaged: checksum mismatch" ]]
	# bytes after the trailer
	cat "$D/inc.st" <(printf x) >"$D/long.st"
	run -7 --separate-stderr ipstor restore "$D/long.st" q/w
	[ "$stderr" = "ipstor: the stream goes on after its trailer" ]
	# not a stream at all
	run -7 --separate-stderr ipstor restore "$D/a" q/x
	[ "$stderr" = "ipstor: not an ipstor backup stream" ]
	[ "$(target_state q/w)" = "$before" ]
	run -0 ipstor restore "$D/inc.st" q/w
	no_staging q
}

@test "a stream of a newer format version or with unknown flags is refused (exit 6)" {
	cp "$D/full.st" "$D/v2.st"
	"$EDIT" set-version "$D/v2.st" 2
	run -6 --separate-stderr ipstor restore "$D/v2.st" q/w
	[ "$stderr" = "ipstor: stream format version 2 is newer than this ipstor reads (1)" ]
	run -4 ipstor vol show q/w
	# an incremental of a newer version onto its base: the target stays
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	cp "$D/inc.st" "$D/inc2.st"
	"$EDIT" set-version "$D/inc2.st" 2
	before=$(target_state q/w)
	run -6 --separate-stderr ipstor restore "$D/inc2.st" q/w
	[ "$stderr" = "ipstor: stream format version 2 is newer than this ipstor reads (1)" ]
	[ "$(target_state q/w)" = "$before" ]
	run -0 ipstor restore "$D/inc.st" q/w
	ipstor snap prune q/w --keep 0 --yes >/dev/null
	ipstor vol delete q/w --yes >/dev/null
	# an incremental flag without a base is a contradiction
	cp "$D/full.st" "$D/nobase.st"
	"$EDIT" set-base "$D/nobase.st" 0123456789abcdef0123456789abcdef
	run -7 ipstor restore "$D/nobase.st" q/w
	no_staging q
}

@test "backup refuses what makes no stream" {
	ipstor snap create p/v@s1 >/dev/null
	run -2 --separate-stderr ipstor backup p/v@s0 --from s1 -o "$D/x.st"
	[ "$stderr" = "ipstor: 'v@s1' is not older than 'v@s0': an incremental stream goes from an older snapshot to a newer one" ]
	[ ! -e "$D/x.st" ]
	ipstor vol create p/other --size 1M --thin >/dev/null
	ipstor snap create p/other@o >/dev/null
	run -2 --separate-stderr ipstor backup p/v@s1 --from p/other@o -o "$D/x.st"
	[ "$stderr" = "ipstor: 'p/v@s1' and 'p/other@o' are not of the same volume" ]
	run -4 ipstor backup p/v@nope -o "$D/x.st"
	run -4 ipstor backup p/v@s1 --from nope -o "$D/x.st"
	run -2 ipstor backup p/v -o "$D/x.st"
	[ ! -e "$D/x.st" ]
	run -0 ipstor backup p/v@s1 --from s0 --dry-run -o "$D/x.st"
	[ "$output" = "would write an incremental stream of 'p/v@s1'" ]
	[ ! -e "$D/x.st" ]
	run -2 ipstor restore "$D/full.st" newvol
	run -2 --separate-stderr ipstor restore "$D/full.st" newvol </dev/null
	[ "$stderr" = "ipstor: say which pool 'newvol' goes to: --pool POOL or POOL/newvol" ]
	run -0 ipstor restore "$D/full.st" newvol --pool q
	run -4 --separate-stderr ipstor restore "$D/nope.st" q/x
	[ "$stderr" = "ipstor: cannot open '$D/nope.st': No such file or directory" ]
}

@test "a progress line on a terminal, nothing without one" {
	require_cmd script
	# without a terminal: the stream, and not a byte on stderr
	ipstor backup p/v@s0 -o "$D/quiet.st" 2>"$D/err" >/dev/null
	[ ! -s "$D/err" ]
	ipstor restore "$D/quiet.st" q/w 2>"$D/err" >/dev/null
	[ ! -s "$D/err" ]
	# on one (script(1) gives the command a pseudo-terminal)
	run -0 script -qec "'$IPSTOR_BIN' backup p/v@s0 -o '$D/tty.st'" /dev/null
	assert_output --regexp '[0-9.]+ [KMG]?i?B of 24 MiB \(100%\), [0-9.]+ [KMG]?i?B/s, ETA 0:00:00'
	cmp "$D/tty.st" "$D/quiet.st"
	run -0 script -qec "'$IPSTOR_BIN' restore '$D/tty.st' q/w2" /dev/null
	assert_output --partial "of 24 MiB (100%)"
	# -q: not even on a terminal
	run -0 script -qec "'$IPSTOR_BIN' -q backup p/v@s0 -o '$D/q.st'" /dev/null
	refute_output --partial "ETA"
	# a stream to a terminal is refused
	run -2 script -qec "'$IPSTOR_BIN' backup p/v@s0" /dev/null
	assert_output --partial "refusing to write a backup stream to a terminal"
}

@test "an incremental restore into an exported volume disconnects its clients and serves the new content" {
	require_cmd nbdcopy
	ipstor restore "$D/full.st" q/w >/dev/null
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@s1 >/dev/null
	ipstor backup p/v@s1 --from s0 -o "$D/inc.st" >/dev/null
	PORT=$(free_port)
	ipstor export add q/w --listen "127.0.0.1:$PORT" --read-only >/dev/null
	ipstor server start >/dev/null
	nbdcopy "nbd://127.0.0.1:$PORT/w" "$D/before"
	[ "$(sha "$D/before")" = "$(ipstor vol read p/v@s0 | sha)" ]
	run -0 ipstor restore "$D/inc.st" q/w
	nbdcopy "nbd://127.0.0.1:$PORT/w" "$D/after"
	[ "$(sha "$D/after")" = "$(ipstor vol read p/v@s1 | sha)" ]
	stop_worker
	no_staging q
}
