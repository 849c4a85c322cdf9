#!/usr/bin/env bats
# ipstor -b FILE|-: one command a line through the same dispatcher; the
# first failing line stops the run with its line number and exit status.

load ../helpers/common

setup() {
	common_setup
	mkpool tank 32M
}

@test "a batch file runs its commands in order" {
	cat >"$D/cmds" <<-EOF
	# comments and blank lines are skipped

	vol create tank/a --size 1M
	vol create "tank/b" --size '2M' --thin
	vol list --json
	EOF
	run -0 ipstor -v -b "$D/cmds"
	assert_line "created thick volume 'tank/a' of 1 MiB"
	assert_line "created thin volume 'tank/b' of 2 MiB"
	run -0 ipstor vol list --json
	echo "$output" | jq -e '[.volumes[].name] == ["a", "b"]'
}

@test "the first failing line stops the batch with its line number and exit status" {
	printf 'vol create tank/a --size 1M\nvol create tank/a --size 1M\nvol create tank/c --size 1M\n' >"$D/cmds"
	run -5 --separate-stderr ipstor -b "$D/cmds"
	[ "$stderr" = "ipstor: line 2: volume 'a' already exists in pool 'tank'" ]
	run -4 ipstor vol show tank/c
	# --force goes on, and still reports the failure
	run -5 ipstor --force -b "$D/cmds"
	run -0 ipstor vol show tank/c
}

@test "batch from stdin, and a usage error in a line" {
	run -2 --separate-stderr ipstor -b - <<<'vol create tank/x'
	[[ $stderr == *"ipstor vol create: --size is required"* ]]
	[[ $stderr == *"line 1 failed"* ]]
	run -2 --separate-stderr ipstor -b - <<<"vol create 'tank/x --size 1M"
	[ "$stderr" = "ipstor: line 1: unbalanced quote" ]
}
