#!/usr/bin/env bats
# Who hears what: confirmations only for a person watching (stdout a
# terminal, or -v), never with -q or --json; data always; errors always on
# stderr. Cron mails whatever a job prints, so off a terminal a command
# that succeeded says nothing.

load ../helpers/common

setup() {
	common_setup
	mkpool tank 32M
}

# on_tty CMD...: run CMD with stdout and stderr on a pseudo-terminal;
# prints what the terminal showed, without carriage returns
on_tty() {
	local q
	printf -v q '%q ' "$@"
	script -qefc "$q" /dev/null </dev/null | tr -d '\r'
}

@test "off a terminal a command that succeeds prints nothing" {
	run -0 --separate-stderr ipstor vol create tank/a --size 1M
	assert_output ""
	[ "$stderr" = "" ]
	run -0 --separate-stderr ipstor vol resize tank/a --size 2M
	assert_output ""
	run -0 --separate-stderr ipstor vol delete tank/a --yes
	assert_output ""
	[ "$stderr" = "" ]
	run -4 ipstor vol show tank/a
}

@test "-v confirms off a terminal; -q silences even -v" {
	run -0 --separate-stderr ipstor -v vol create tank/a --size 1M
	assert_output "created thick volume 'tank/a' of 1 MiB"
	[ "$stderr" = "" ]
	run -0 ipstor vol create tank/b --size 1M --verbose
	assert_output "created thick volume 'tank/b' of 1 MiB"
	run -0 --separate-stderr ipstor -q -v vol create tank/c --size 1M
	assert_output ""
	[ "$stderr" = "" ]
	run -0 ipstor vol show tank/c
}

@test "on a terminal confirmations are printed, and -q silences them" {
	run -0 on_tty "$IPSTOR_BIN" vol create tank/a --size 1M
	assert_output "created thick volume 'tank/a' of 1 MiB"
	run -0 on_tty "$IPSTOR_BIN" -q vol create tank/b --size 1M
	assert_output ""
	run -0 ipstor vol show tank/b
}

@test "data prints whatever stdout is, and with -q" {
	ipstor vol create tank/a --size 1M
	run -0 ipstor vol list
	assert_line --regexp '^tank +a +1 MiB'
	run -0 ipstor -q vol list
	assert_line --regexp '^tank +a +1 MiB'
	run -0 ipstor -q vol show tank/a --json
	echo "$output" | jq -e '.volume.name == "a"'
	run -0 ipstor --version
	assert_output --regexp '^ipstor [0-9]'
}

@test "--json prints the JSON and nothing else, even with -v" {
	run -0 --separate-stderr ipstor -v vol create tank/a --size 1M --json
	echo "$output" | jq -e '.volume.name == "a" and .volume.size == 1048576'
	[ "$stderr" = "" ]
}

@test "a --dry-run's plan is what was asked for: printed off a terminal, not with -q" {
	run -0 ipstor -n vol create tank/a --size 1M
	assert_output "would create thick volume 'tank/a' of 1 MiB"
	run -0 ipstor -q -n vol create tank/a --size 1M
	assert_output ""
	run -4 ipstor vol show tank/a
}

@test "errors go to stderr whatever -q says" {
	run -4 --separate-stderr ipstor -q vol show tank/nope
	assert_output ""
	[ "$stderr" = "ipstor: volume 'nope' not found in pool 'tank'" ]
	ipstor vol create tank/a --size 1M
	run -5 --separate-stderr ipstor -q vol create tank/a --size 1M
	assert_output ""
	[ "$stderr" = "ipstor: volume 'a' already exists in pool 'tank'" ]
}

@test "a cron-style batch is silent when it succeeds and says why when it fails" {
	printf 'vol create tank/a --size 1M\nvol create tank/b --size 1M\n' >"$D/cmds"
	run -0 --separate-stderr ipstor -b "$D/cmds"
	assert_output ""
	[ "$stderr" = "" ]
	run -0 ipstor vol show tank/b
	run -5 --separate-stderr ipstor -b "$D/cmds"
	assert_output ""
	[ "$stderr" = "ipstor: line 1: volume 'a' already exists in pool 'tank'" ]
}
