#!/usr/bin/env bats
# The worker under systemd and logrotate: syslog priorities on the lines it
# writes to the journal, sd_notify readiness, SIGUSR1 to reopen worker.log.
# Every wait is for a line to appear, never for a time.

load ../helpers/common

setup() {
	common_setup
	mkpool tank 32M
}

teardown() {
	stop_worker
	[ -z "${listener:-}" ] || kill "$listener" 2>/dev/null || true
}

# wait_for FILE TEXT: until a line of FILE holds TEXT (fixed string)
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "never saw '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# foreground ENV...: the worker in the foreground, stderr to $D/stderr
foreground() {
	: >"$D/stderr"
	env "$@" "$IPSTOR_BIN" server start --foreground 2>"$D/stderr" >/dev/null 3>&- &
	worker=$!
}

@test "in the journal every line starts with its syslog priority, and nothing else" {
	: >"$D/stderr"
	foreground JOURNAL_STREAM="$(stat -c %d:%i "$D/stderr")"
	wait_for "$D/stderr" "<6>ready"
	ipstor vol create tank/v --size 1M
	run -5 ipstor vol create tank/v --size 1M
	wait_for "$D/stderr" "<4>warning: vol.create failed: volume 'v' already exists in pool 'tank'"
	ipstor server stop
	wait "$worker"
	run -0 cat "$D/stderr"
	assert_line "<6>starting (state dir $IPSTOR_STATE_DIR)"
	assert_line "<6>opened pool 'tank'"
	assert_line "<6>vol.create done"
	assert_line "<6>stopped"
	# no time stamps or pids: the journal adds its own
	refute_line --regexp '^[^<]'
	refute_line --partial 'ipstor-worker['
}

@test "a worker that cannot start says so at priority 3" {
	ipstor server start
	: >"$D/stderr"
	foreground JOURNAL_STREAM="$(stat -c %d:%i "$D/stderr")"
	# (wait in this shell: run would wait in a subshell of its own)
	st=0
	wait "$worker" || st=$?
	[ "$st" -ne 0 ]
	run -0 cat "$D/stderr"
	assert_line --regexp "^<3>error: cannot start: a worker already runs for '.*' \(pid [0-9]+\)$"
}

@test "outside the journal the lines carry a time, the pid and the level's word" {
	: >"$D/other"
	# JOURNAL_STREAM naming another file is not this stderr
	foreground JOURNAL_STREAM="$(stat -c %d:%i "$D/other")"
	wait_for "$D/stderr" "ready"
	ipstor vol create tank/v --size 1M
	run -5 ipstor vol create tank/v --size 1M
	wait_for "$D/stderr" "vol.create failed"
	run -0 cat "$D/stderr"
	assert_line --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ipstor-worker\[$worker\]: ready$"
	assert_line --regexp "ipstor-worker\[$worker\]: warning: vol.create failed: volume 'v' already exists in pool 'tank'$"
	refute_line --regexp '^<[0-9]>'
}

@test "sd_notify: READY=1 once serving, RELOADING=1 and READY=1 on SIGHUP, STOPPING=1" {
	python3 "$BATS_TEST_DIRNAME/../helpers/notify-listen.py" "$D/notify" "$D/notes" 3>&- &
	listener=$!
	until [ -e "$D/notes.bound" ]; do sleep 0.1; done
	foreground NOTIFY_SOCKET="$D/notify"
	wait_for "$D/notes" "READY=1"
	# it answers once it said it was ready
	run -0 ipstor server status --json
	echo "$output" | jq -e --argjson p "$worker" '.server.pid == $p'
	grep -qx "MAINPID=$worker" "$D/notes"
	kill -HUP "$worker"
	wait_for "$D/notes" "RELOADING=1"
	ipstor server stop
	wait "$worker"
	wait "$listener"
	listener=
	run -0 grep -E '^[A-Z]+=1$' "$D/notes"
	assert_output "READY=1
RELOADING=1
READY=1
STOPPING=1"
}

@test "sd_notify to an abstract socket" {
	name="@ipstor-test-$$-$BATS_TEST_NUMBER"
	python3 "$BATS_TEST_DIRNAME/../helpers/notify-listen.py" "$name" "$D/notes" 3>&- &
	listener=$!
	until [ -e "$D/notes.bound" ]; do sleep 0.1; done
	foreground NOTIFY_SOCKET="$name"
	wait_for "$D/notes" "READY=1"
	ipstor server stop
	wait "$listener"
	listener=
	grep -qx "STOPPING=1" "$D/notes"
}

@test "SIGUSR1 reopens worker.log, so logrotate can move it away" {
	ipstor server start
	pid=$(cat "$IPSTOR_STATE_DIR/worker.pid")
	log=$IPSTOR_STATE_DIR/worker.log
	wait_for "$log" "ready"
	mv "$log" "$log.1"
	ipstor vol create tank/before --size 1M
	wait_for "$log.1" "vol.create done"
	kill -USR1 "$pid"
	wait_for "$log" "log reopened"
	ipstor vol create tank/after --size 1M
	wait_for "$log" "vol.create done"
	[ "$(grep -c 'vol.create done' "$log.1")" = 1 ]
	[ "$(grep -c 'vol.create done' "$log")" = 1 ]
	# still serving
	run -0 ipstor vol show tank/after
	kill -0 "$pid"
}
