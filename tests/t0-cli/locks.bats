#!/usr/bin/env bats
# Waiting for a pool lock, for cron: wait for ever by default, not at all
# with --no-lock-wait, at most SECONDS with --lock-timeout; exit status 5
# and the holder's pid when giving up. No test here measures time: they
# wait for what happens (a line, a process ending).

load ../helpers/common

setup() {
	common_setup
	mkpool tank 32M
	ipstor vol create tank/v --size 1M
	mkfifo "$D/fifo"
}

teardown() {
	[ -z "${holder:-}" ] || kill "$holder" 2>/dev/null || true
}

# hold_lock: a real ipstor writer holds tank's pool lock while it reads
# a fifo (vol write), until release_lock closes the fifo's only writer;
# sets $holder and returns once the lock is held
hold_lock() {
	exec 7<>"$D/fifo"
	"$IPSTOR_BIN" vol write tank/v "$D/fifo" >/dev/null 2>&1 3>&- 7>&- &
	holder=$!
	lock=$(ls "$IPSTOR_STATE_DIR"/locks/*-*.lock)
	until ! flock -n "$lock" true; do sleep 0.1; done
}

release_lock() {
	printf 'data' >&7
	exec 7>&-
	wait "$holder"
	holder=
}

@test "--no-lock-wait gives up at once, naming the holder; nothing changes" {
	hold_lock
	before=$(ipstor vol list --json)
	run -5 --separate-stderr ipstor --no-lock-wait vol create tank/w --size 1M
	[ "$stderr" = "ipstor: pool 'tank' is locked by another ipstor process (pid $holder)" ]
	run -5 --separate-stderr ipstor vol resize tank/v --size 2M --lock-timeout 0
	[ "$stderr" = "ipstor: pool 'tank' is locked by another ipstor process (pid $holder)" ]
	[ "$(ipstor vol list --json)" = "$before" ]
	release_lock
	run -0 ipstor --no-lock-wait vol create tank/w --size 1M
}

@test "--lock-timeout gives up after waiting, with status 5" {
	hold_lock
	run -5 --separate-stderr ipstor --lock-timeout 1 vol create tank/w --size 1M
	[ "$stderr" = "ipstor: pool 'tank' is locked by another ipstor process (pid $holder)" ]
	release_lock
	run -4 ipstor vol show tank/w
}

@test "--lock-timeout waits, and goes on once the holder lets go" {
	hold_lock
	"$IPSTOR_BIN" -v --lock-timeout 3600 vol create tank/w --size 1M \
		>"$D/out" 2>"$D/err" 3>&- 7>&- &
	waiter=$!
	until grep -q "waiting for the lock on pool 'tank'" "$D/err"; do
		kill -0 "$waiter" || { cat "$D/err"; false; }
		sleep 0.1
	done
	release_lock
	wait "$waiter"
	[ "$(cat "$D/out")" = "created thick volume 'tank/w' of 1 MiB" ]
	run -0 ipstor vol show tank/w
}

@test "a wait that is not 0 to 2147483 seconds is a usage error" {
	for bad in -1 2147484; do
		run -2 --separate-stderr ipstor --lock-timeout "$bad" vol create tank/w --size 1M
		[ "$stderr" = "ipstor vol create: --lock-timeout: '$bad' is not a number of seconds from 0 to 2147483" ]
	done
	run -2 --separate-stderr ipstor vol create tank/w --size 1M --lock-timeout abc
	[[ $stderr == *"abc: invalid numeric value" ]]
	run -2 ipstor vol create tank/w --size 1M --lock-timeout 99999999999
	run -4 ipstor vol show tank/w
	run -0 ipstor --lock-timeout 2147483 vol show tank/v
}
