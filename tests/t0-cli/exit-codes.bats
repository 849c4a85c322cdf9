#!/usr/bin/env bats
# Every row of the exit status table in ipstor(8) has a test here.

load ../helpers/common

setup() {
	common_setup
}

@test "exit 0: success" {
	run -0 ipstor pool list
}

@test "exit 1: the operation failed (pool full)" {
	mkpool p 16M
	run -1 --separate-stderr ipstor vol create p/v --size 1G
	[[ $stderr == "ipstor: pool 'p' has "*" free; this needs 1.0 GiB" ]]
}

@test "exit 2: usage (bad option, bad size, missing --yes without a tty)" {
	run -2 ipstor pool list --bogus
	mkpool p 16M
	run -2 --separate-stderr ipstor vol create p/v --size 12Q
	[[ $stderr == *"invalid size '12Q'"* ]]
	ipstor vol create p/v --size 1M
	run -2 --separate-stderr ipstor vol delete p/v </dev/null
	[ "$stderr" = "ipstor: refusing to delete volume 'p/v' and all its data without --yes" ]
}

@test "exit 3: permission denied" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	mkpool p 16M
	chmod 700 "$IPSTOR_STATE_DIR"
	run -3 --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		env IPSTOR_STATE_DIR="$IPSTOR_STATE_DIR" "$IPSTOR_BIN" pool list
	[[ $stderr == *"Permission denied"* ]]
}

@test "exit 4: not found" {
	run -4 --separate-stderr ipstor pool show nosuch
	[ "$stderr" = "ipstor: pool 'nosuch' not found" ]
	mkpool p 16M
	run -4 --separate-stderr ipstor vol show p/nosuch
	[ "$stderr" = "ipstor: volume 'nosuch' not found in pool 'p'" ]
}

@test "exit 5: exists, busy, or locked" {
	mkpool p 16M
	run -5 --separate-stderr ipstor pool create p "$D/p-0.img"
	[ "$stderr" = "ipstor: pool 'p' already exists" ]
	# a pool lock held by another process, with --no-lock-wait
	ipstor pool show p >/dev/null
	lock=$(ls "$IPSTOR_STATE_DIR"/locks/*-*.lock)
	(exec 8>"$lock" && flock -x 8 && exec sleep 600) >/dev/null 2>&1 3>&- &
	until ! flock -n "$lock" true; do sleep 0.1; done
	run -5 --separate-stderr ipstor --no-lock-wait vol create p/v --size 1M
	[[ $stderr == "ipstor: pool 'p' is locked by another ipstor process"* ]]
	run -5 --separate-stderr ipstor --lock-timeout 1 vol create p/v --size 1M
	kill %1 2>/dev/null || true
}

@test "exit 6: unsupported (a character device, a newer metadata schema)" {
	run -6 --separate-stderr ipstor pool create p /dev/null
	[ "$stderr" = "ipstor: '/dev/null' is neither a block device nor a regular file" ]
	mkpool p 16M
	ipstor pool dump p | jq '.devices[0].metadata_copies[0].config | .schema = 99' >"$D/new.json"
	"$HELPERS/mdslot" "$D/p-0.img" 0 100 "$D/new.json"
	run -6 --separate-stderr ipstor pool show p
	[[ $stderr == *"metadata schema 99 is newer than this ipstor understands ("*")" ]]
}

@test "exit 7: metadata corrupt" {
	mkpool p 16M
	scribble "$D/p-0.img" "$(slot_off "$D/p-0.img" 0)"
	scribble "$D/p-0.img" "$(slot_off "$D/p-0.img" 1)"
	run -7 ipstor pool show p
}
