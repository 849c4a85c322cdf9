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

@test "--force runs every line and exits with the first failure's status" {
	printf '%s\n' 'vol show tank/nosuch' 'vol create tank/a --size 1M' \
		'vol create tank/a --size 1M' 'vol create tank/b --size 1M' >"$D/cmds"
	run -4 --separate-stderr ipstor --force -b "$D/cmds"
	[ "$stderr" = "ipstor: line 1: volume 'nosuch' not found in pool 'tank'
ipstor: line 3: volume 'a' already exists in pool 'tank'" ]
	run -0 ipstor vol show tank/b
	run -0 ipstor -b - </dev/null
	assert_output ""
}

@test "every line starts from the options before -b, not the line before" {
	ipstor vol create tank/a --size 1M
	printf '%s\n' 'vol list --bytes' 'vol list' >"$D/cmds"
	run -0 ipstor -b "$D/cmds"
	assert_line --regexp '^tank +a +1048576 '
	assert_line --regexp '^tank +a +1 MiB '
	run -0 ipstor --bytes -b "$D/cmds"
	refute_line --regexp 'MiB'
	# --yes before -b is for every line
	printf '%s\n' 'vol delete tank/a' >"$D/del"
	run -2 --separate-stderr ipstor -b "$D/del" </dev/null
	[[ $stderr == "ipstor: refusing to delete volume 'tank/a' and all its data without --yes"* ]]
	run -0 ipstor --yes -b "$D/del"
	run -4 ipstor vol show tank/a
}

@test "malformed lines: a trailing backslash, a NUL byte, too many words" {
	printf 'vol create tank/a --size 1M \\\n' >"$D/cmds"
	run -2 --separate-stderr ipstor -b "$D/cmds"
	[ "$stderr" = "ipstor: line 1: the line ends with a backslash" ]
	printf 'vol list\nvol create tank/a\0 --size 1M\n' >"$D/cmds"
	run -2 --separate-stderr ipstor -b "$D/cmds"
	[ "$stderr" = "ipstor: line 2: contains a NUL byte" ]
	{ printf 'vol list'; printf ' x%.0s' $(seq 300); echo; } >"$D/cmds"
	run -2 --separate-stderr ipstor -b "$D/cmds"
	[ "$stderr" = "ipstor: line 1: too many words" ]
	run -4 ipstor vol show tank/a
}

@test "hostile input: binary garbage and a very long line fail cleanly" {
	head -c 65536 /dev/urandom | tr -d '\0' >"$D/garbage"
	run --separate-stderr ipstor --force -b "$D/garbage"
	[ "$status" -eq 2 ]
	{ printf 'vol create tank/'; head -c 1000000 /dev/zero | tr '\0' a; echo ' --size 1M'; } >"$D/long"
	run -2 --separate-stderr ipstor -b "$D/long"
	[[ $stderr == "ipstor: line 1: "* ]]
	run -0 ipstor vol list --json
	echo "$output" | jq -e '.volumes == []'
	run -0 ipstor pool check tank
}

@test "a batch file that cannot be read is an error, not an empty batch" {
	run -4 --separate-stderr ipstor -b "$D/nosuch"
	[ "$stderr" = "ipstor: cannot open '$D/nosuch': No such file or directory" ]
	mkdir "$D/dir"
	run -1 --separate-stderr ipstor -b "$D/dir"
	[ "$stderr" = "ipstor: cannot read '$D/dir': Is a directory" ]
	run -2 --separate-stderr ipstor -b "$D/dir" vol list
	[ "$stderr" = "ipstor: --batch takes no command" ]
	run -2 --separate-stderr ipstor --force vol list
	[ "$stderr" = "ipstor: --force before the command goes with --batch; a command's own --force comes after it" ]
}
