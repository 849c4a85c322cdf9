#!/usr/bin/env bats
# ipstor shell, driven through tmux as a person would: typing, Tab,
# reading the screen, errors that keep the shell going, history kept
# across shells, the terminal's confirmation for destructive commands.

load ../helpers/common
load ../helpers/tmux

setup() {
	require_cmd tmux
	common_setup
	export HOME=$D/home
	mkdir -p "$HOME"
	unset XDG_STATE_HOME
	mkpool tank 64M
	ipstor vol create tank/database --size 4M
}

teardown() {
	tmux_stop
}

shell() {
	tmux_start env HOME="$HOME" IPSTOR_STATE_DIR="$IPSTOR_STATE_DIR" \
		${XDG_STATE_HOME:+XDG_STATE_HOME="$XDG_STATE_HOME"} \
		"$IPSTOR_BIN" "$@"
	tmux_wait_for 'ipstor> '
}

@test "a command, a tab-completed volume name, an error, and on until quit" {
	shell shell
	tmux_keys 'vol show tank/dat' Tab
	tmux_wait_for 'ipstor> vol show tank/database '
	tmux_keys Enter
	tmux_wait_line '^stripe devices: +'"$D"'/tank-0.img$'
	tmux_wait_line '^size: +4 MiB$'
	tmux_type 'vol show tank/nosuch'
	tmux_wait_for "ipstor: volume 'nosuch' not found in pool 'tank'"
	tmux_type 'vol frob'
	tmux_wait_for "ipstor: unknown command 'frob'"
	# still there, and on a terminal the confirmation is printed
	tmux_type 'vol create tank/after --size 1M'
	tmux_wait_for "created thick volume 'tank/after' of 1 MiB"
	tmux_type 'quit'
	tmux_wait_exit 0
	run -0 ipstor vol show tank/after --json
	echo "$output" | jq -e '.volume.size == 1048576'
}

@test "ipstor alone on a terminal is the shell" {
	shell
	tmux_type 'pool list'
	tmux_wait_line '^tank +online +'
	tmux_keys C-d
	tmux_wait_exit 0
}

@test "history is kept across shells, in ~/.ipstor_history" {
	shell shell
	tmux_type 'pool list'
	tmux_wait_line '^tank +online'
	tmux_type 'vol list --bytes'
	tmux_wait_line '^tank +database +4194304'
	tmux_type 'exit'
	tmux_wait_exit
	run -0 cat "$HOME/.ipstor_history"
	assert_output "pool list
vol list --bytes
exit"
	[ "$(stat -c %a "$HOME/.ipstor_history")" = 600 ]
	tmux_stop
	# a new shell: Up brings back the last lines, newest first
	shell shell
	tmux_keys Up Up
	tmux_wait_for 'ipstor> vol list --bytes'
	tmux_keys Enter
	tmux_wait_line '^tank +database +4194304'
	tmux_type 'exit'
	tmux_wait_exit
}

@test "history goes to \$XDG_STATE_HOME/ipstor/history when that is set, bounded to 1000 lines" {
	export XDG_STATE_HOME=$D/xdg
	mkdir -p "$XDG_STATE_HOME/ipstor"
	seq -f 'vol show old-%g' 1500 >"$XDG_STATE_HOME/ipstor/history"
	shell shell
	tmux_type 'pool show tank --bytes'
	tmux_wait_line '^free: +[0-9]+$'
	tmux_type 'exit'
	tmux_wait_exit
	[ "$(wc -l <"$XDG_STATE_HOME/ipstor/history")" = 1000 ]
	[ "$(tail -n 2 "$XDG_STATE_HOME/ipstor/history")" = "pool show tank --bytes
exit" ]
	[ ! -e "$HOME/.ipstor_history" ]
}

@test "use POOL: the prompt shows it, bare names and --pool default to it" {
	mkpool other 32M
	ipstor vol create other/database --size 1M
	shell shell
	tmux_type 'use tank'
	tmux_wait_for 'ipstor(tank)> '
	# 'database' is in two pools: in the shell it means tank's
	tmux_type 'vol show database --bytes'
	tmux_wait_line '^size: +4194304$'
	tmux_type 'vol create fresh --size 1M'
	tmux_wait_for "created thick volume 'tank/fresh' of 1 MiB"
	tmux_type 'use nosuch'
	tmux_wait_for "ipstor: pool 'nosuch' not found"
	tmux_wait_for 'ipstor(tank)> ' 4
	tmux_type 'use'
	tmux_type 'vol show database'
	tmux_wait_for "ipstor: volume 'database' exists in pools 'tank', 'other'; name it as POOL/database"
	tmux_type 'exit'
	tmux_wait_exit
	run -0 ipstor vol show tank/fresh
	run -4 ipstor vol show other/fresh
}

@test "destructive commands ask on the terminal" {
	ipstor vol create tank/victim --size 1M
	shell shell
	tmux_type 'vol delete tank/victim'
	tmux_wait_for "Delete volume 'tank/victim' and all its data? [y/N]"
	tmux_type 'n'
	tmux_wait_for 'ipstor: cancelled'
	tmux_type 'vol delete tank/victim'
	tmux_wait_for "Delete volume 'tank/victim' and all its data? [y/N]" 2
	tmux_type 'y'
	tmux_wait_for "deleted volume 'tank/victim'"
	tmux_type 'exit'
	tmux_wait_exit
	run -4 ipstor vol show tank/victim
	run -0 ipstor vol show tank/database
}

@test "Tab completes groups, commands, options and the shell's own commands" {
	shell shell
	tmux_keys 'po' Tab
	tmux_wait_for 'ipstor> pool '
	tmux_keys 'cr' Tab
	tmux_wait_for 'ipstor> pool create '
	tmux_keys C-u 'vol create x --th' Tab
	tmux_wait_for 'ipstor> vol create x --thin '
	tmux_keys C-u 'us' Tab
	tmux_wait_for 'ipstor> use '
	tmux_keys Tab
	tmux_wait_for 'ipstor> use tank '
	tmux_keys C-u 'vol list --pool=t' Tab
	tmux_wait_for 'ipstor> vol list --pool=tank '
	tmux_keys C-u
	tmux_type 'exit'
	tmux_wait_exit
}

@test "quoting works like a shell's; a bad line is an error, not the end" {
	shell shell
	tmux_type "vol create \"tank/q\" --size '1M'"
	tmux_wait_for "created thick volume 'tank/q' of 1 MiB"
	tmux_type "vol create 'tank/x --size 1M"
	tmux_wait_for 'ipstor: unbalanced quote'
	tmux_type 'vol create tank/x --size 1M \'
	tmux_wait_for 'ipstor: the line ends with a backslash'
	tmux_type 'vol create tank\/y --size 1M # a comment'
	tmux_wait_for "created thick volume 'tank/y' of 1 MiB"
	tmux_type 'exit'
	tmux_wait_exit
	run -4 ipstor vol show tank/x
}

@test "Ctrl-C drops the line at the prompt, and stops a command without leaving the shell" {
	# a pool lock held elsewhere: the command waits for it
	ipstor pool show tank >/dev/null
	lock=$(ls "$IPSTOR_STATE_DIR"/locks/*-*.lock)
	(exec 8>"$lock" && flock -x 8 && exec sleep 600) >/dev/null 2>&1 3>&- &
	holder=$!
	until ! flock -n "$lock" true; do sleep 0.1; done
	shell shell
	# (the terminal discards input it has not delivered at ^C: wait)
	tmux_keys 'vol show half-typed'
	tmux_wait_for 'ipstor> vol show half-typed'
	tmux_keys C-c
	tmux_wait_for 'ipstor> vol show half-typed^C'
	tmux_type 'vol create tank/w --size 1M -v'
	tmux_wait_for "waiting for the lock on pool 'tank'"
	tmux_keys C-c
	tmux_wait_for 'ipstor> ' 3
	tmux_type 'help'
	tmux_wait_for 'Shell commands:'
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	tmux_type 'exit'
	tmux_wait_exit
	run -4 ipstor vol show tank/w
}

@test "help lists the shell's commands; help use, help vol create" {
	shell shell
	tmux_type 'help'
	tmux_wait_line '^  exit \[STATUS\] +Leave the shell'
	tmux_wait_line '^  vol +Create, resize'
	tmux_type 'help use'
	tmux_wait_for 'Usage: use [POOL]'
	tmux_type 'help vol create'
	tmux_wait_for 'Usage: ipstor vol create [options] NAME'
	tmux_type 'exit'
	tmux_wait_exit
}

@test "exit STATUS, and the status of the last command at Ctrl-D" {
	shell shell
	tmux_type 'exit 3'
	tmux_wait_exit 3
	tmux_stop
	shell shell
	tmux_type 'vol show tank/nosuch'
	tmux_wait_for "not found in pool 'tank'"
	tmux_keys C-d
	tmux_wait_exit 4
	tmux_stop
	shell shell
	tmux_type 'exit 300'
	tmux_wait_for "ipstor: exit: '300' is not a status from 0 to 255"
	tmux_type 'exit'
	tmux_wait_exit 2
}

@test "off a terminal there is no shell, only batch mode" {
	run -2 --separate-stderr ipstor shell </dev/null
	[ "$stderr" = "ipstor shell: standard input and output must be a terminal; for commands from a file or a pipe, use 'ipstor -b FILE|-'" ]
	run -2 --separate-stderr ipstor </dev/null
	[[ $stderr == "Usage: ipstor "* ]]
	run -2 --separate-stderr ipstor -b - <<<'shell'
	[[ $stderr == "ipstor: 'shell' cannot run inside a batch"* ]]
	# the shell's own commands are not commands outside it
	run -2 --separate-stderr ipstor use tank
	[ "${stderr%%$'\n'*}" = "ipstor: unknown command 'use'" ]
}
