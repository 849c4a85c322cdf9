#!/usr/bin/env bats
# The command surface: help at every level, version, typos, usage errors.

load ../helpers/common

setup() {
	common_setup
}

@test "--version prints the version" {
	run -0 ipstor --version
	assert_output --regexp '^ipstor [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--help at every level lists what is below it" {
	run -0 ipstor --help
	assert_line --partial "pool "
	assert_line --partial "vol "
	run -0 ipstor pool --help
	assert_line --regexp '^  create NAME DEV\.\.\. +Create a pool'
	run -0 ipstor vol create --help
	assert_line --partial "--size=SIZE"
	assert_line --partial "--thin"
	run -0 ipstor help vol read
	assert_line --partial "--length=LENGTH"
}

@test "no arguments: usage on stderr, exit 2" {
	run -2 --separate-stderr ipstor
	assert_output ""
	[[ $stderr == *"Usage: ipstor"* ]]
}

@test "a typo in a group gets a suggestion and exit 2" {
	run -2 --separate-stderr ipstor pol list
	[ "$stderr" = "ipstor: unknown command 'pol'
ipstor: did you mean 'pool'?" ]
}

@test "a typo in a command gets a suggestion" {
	run -2 --separate-stderr ipstor vol craete x
	[[ $stderr == *"did you mean 'create'?"* ]]
}

@test "a typo in an option gets a suggestion" {
	run -2 --separate-stderr ipstor vol create x --sise 1G
	[[ $stderr == *"--sise"* ]]
	[[ $stderr == *"did you mean 'size'?"* ]]
}

@test "a unique prefix selects the command" {
	mkpool p 16M
	run -0 ipstor po li
	assert_line --partial "p "
}

@test "missing and extra arguments are usage errors" {
	run -2 --separate-stderr ipstor pool show
	[[ $stderr == *"missing argument"* ]]
	run -2 --separate-stderr ipstor pool show a b
	[[ $stderr == *"too many arguments"* ]]
}

@test "global options work before the group and after the command" {
	mkpool p 16M
	run -0 ipstor --json pool list
	echo "$output" | jq -e '.version == 1 and .pools[0].name == "p"'
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools[0].name == "p"'
}

@test "a full stdout is an error, not silent success" {
	[ -e /dev/full ] || skip "no /dev/full"
	run -1 --separate-stderr bash -c "'$IPSTOR_BIN' --help >/dev/full"
	[[ $stderr == *"write error"* ]]
}
