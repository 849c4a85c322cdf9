#!/usr/bin/env bats
# Shell completion: completions/ipstor.bash (and _ipstor for zsh) ask the
# binary through `ipstor __complete`; the bash function is run here the way
# bash runs it, with COMP_WORDS and COMP_CWORD set.

load ../helpers/common

BASH_SCRIPT=$BATS_TEST_DIRNAME/../../completions/ipstor.bash
ZSH_SCRIPT=$BATS_TEST_DIRNAME/../../completions/_ipstor

setup() {
	common_setup
	COMPOPT_LOG=$BATS_TEST_TMPDIR/compopt.log
	: >"$COMPOPT_LOG"
}

teardown() {
	if [ -f "$BATS_TEST_TMPDIR/loopdev" ]; then
		losetup -d "$(cat "$BATS_TEST_TMPDIR/loopdev")" || true
	fi
}

# comp WORD...: complete the command line "ipstor WORD..." with the cursor
# at the end of the last WORD (give "" to complete a new word). Prints
# COMPREPLY, one a line; what the script passed to compopt goes to
# $COMPOPT_LOG. COMP_WORDS[0] is the binary's path, as if typed.
comp() {
	COMP0=${COMP0:-$IPSTOR_BIN} bash --norc --noprofile -c '
		script=$1 log=$2
		shift 2
		source "$script" || exit 1
		# compopt only works inside a real completion: record it
		compopt() { printf "%s\n" "$*" >>"$log"; }
		COMP_WORDS=("$COMP0" "$@")
		COMP_CWORD=$#
		_ipstor ipstor "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' _ "$BASH_SCRIPT" "$COMPOPT_LOG" "$@"
}

# what `ipstor --help` lists under HEADER (first words), for comparison
help_list() {
	awk -v h="$1" '$0 == h { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# assert_fallback: the script completed nothing itself and asked for
# readline's default (file name) completion
assert_fallback() {
	assert_output ""
	grep -qx -- "-o default" "$COMPOPT_LOG"
}

assert_no_fallback() {
	[ ! -s "$COMPOPT_LOG" ]
}

@test "the script registers _ipstor for ipstor" {
	run -0 bash --norc --noprofile -c 'source "$1" && complete -p ipstor' _ "$BASH_SCRIPT"
	assert_output "complete -F _ipstor ipstor"
}

@test "groups: every visible group, nothing hidden" {
	run -0 comp ""
	assert_output "$("$IPSTOR_BIN" --help | help_list Groups:)"
	assert_line pool
	assert_line vol
	refute_line __complete
	assert_no_fallback
	run -0 comp po
	assert_output pool
}

@test "commands of a group" {
	run -0 comp pool ""
	assert_output "$("$IPSTOR_BIN" pool --help | help_list Commands:)"
	assert_line create
	assert_line destroy
	run -0 comp vol ""
	assert_output "$("$IPSTOR_BIN" vol --help | help_list Commands:)"
	run -0 comp vol re
	assert_output "resize
rename
read"
	run -0 comp vol cr
	assert_output create
	assert_no_fallback
}

@test "long options of a command, its own and the global ones" {
	run -0 comp vol create --
	local o
	for o in $("$IPSTOR_BIN" vol create --help | grep -oE -- '--[a-z-]+'); do
		assert_line -- "$o"
	done
	assert_line -- --size
	assert_line -- --thin
	assert_line -- --json
	refute_line --regexp '^[^-]'
	run -0 comp vol create --st
	assert_output -- --stripes
	run -0 comp pool create --c
	assert_output -- --chunk-size
	run -0 comp vol read --l
	assert_output -- "--length
--lock-timeout"
	assert_no_fallback
}

@test "global options before the group" {
	run -0 comp --js
	assert_output -- --json
}

@test "live pool names after --pool, -p and --pool=" {
	mkpool alpha 16M
	mkpool beta 16M
	run -0 comp vol create --pool ""
	assert_output "alpha
beta"
	run -0 comp vol create x -p b
	assert_output beta
	run -0 comp vol list --pool a
	assert_output alpha
	# bash splits "--pool=be" into "--pool" "=" "be"
	run -0 comp vol create --pool = ""
	assert_output "alpha
beta"
	run -0 comp vol list --pool = be
	assert_output beta
	assert_no_fallback
}

@test "live pool names as POOL arguments" {
	mkpool alpha 16M
	mkpool beta 16M
	run -0 comp pool show ""
	assert_output "alpha
beta"
	run -0 comp pool destroy al
	assert_output alpha
	run -0 comp pool extend ""
	assert_output "alpha
beta"
	run -0 comp pool check --json b
	assert_output beta
	assert_no_fallback
}

@test "live volume names as VOL arguments" {
	mkpool p 16M
	mkpool q 16M
	ipstor vol create p/v1 --size 4M >/dev/null
	ipstor vol create q/w2 --size 4M --thin >/dev/null
	run -0 comp vol show ""
	assert_output "p/v1
v1
q/w2
w2"
	run -0 comp vol delete p/
	assert_output p/v1
	run -0 comp vol resize w
	assert_output w2
	# an option's value is not a positional argument
	run -0 comp vol read --offset 1M v
	assert_output v1
	run -0 comp vol write -o 4K q/
	assert_output q/w2
	assert_no_fallback
}

@test "file names for DEV and FILE arguments" {
	mkpool p 16M
	ipstor vol create p/v1 --size 4M >/dev/null
	run -0 comp pool create newpool ""
	assert_fallback
	: >"$COMPOPT_LOG"
	run -0 comp pool extend p ""
	assert_fallback
	: >"$COMPOPT_LOG"
	run -0 comp pool import ""
	assert_fallback
	: >"$COMPOPT_LOG"
	run -0 comp vol write p/v1 ""
	assert_fallback
	: >"$COMPOPT_LOG"
	run -0 comp vol read p/v1 ""
	assert_fallback
}

@test "nothing to offer: no pools yet, an unknown group" {
	run -0 comp pool show ""
	assert_fallback
	: >"$COMPOPT_LOG"
	run -0 comp frob ""
	assert_fallback
}

@test "ipstor __complete gives the same as the bash function" {
	mkpool p 16M
	ipstor vol create p/v1 --size 4M >/dev/null
	local line words
	while IFS= read -r line; do
		eval "words=($line)"
		run -0 comp "${words[@]}"
		local want=$output
		run -0 ipstor __complete -- "${words[@]}"
		[ "$output" = "$want" ] || {
			echo "words: $line"
			echo "__complete: $output"
			echo "bash: $want"
			false
		}
	done <<'EOF'
""
p
pool ""
vol r
vol create --
vol create --s
vol create --pool ""
pool show ""
vol show ""
vol show p/
vol rename v1 ""
pool create x ""
help ""
EOF
}

@test "the binary is found on PATH when typed as ipstor" {
	mkdir "$D/bin"
	ln -s "$IPSTOR_BIN" "$D/bin/ipstor"
	PATH=$D/bin:$PATH COMP0=ipstor run -0 comp vol ""
	assert_line create
	assert_no_fallback
}

@test "a broken or missing binary falls back to file names, quietly" {
	COMP0=$D/no-such-ipstor run -0 --separate-stderr comp pool ""
	assert_output ""
	[ -z "$stderr" ]
	grep -qx -- "-o default" "$COMPOPT_LOG"
}

@test "zsh parses _ipstor" {
	require_cmd zsh
	run -0 zsh -n "$ZSH_SCRIPT"
}

@test "zsh: _ipstor completes through __complete and falls back to _files" {
	require_cmd zsh
	mkpool p 16M
	# compadd, compset, _files and compdef are builtins of the completion
	# system: stand-ins record what the function asked for
	zcomp() {
		zsh -f -c '
			script=$1; bin=$2; shift 2
			compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
			compset() { print -- "compset $*"; }
			_files() { print -- _files; }
			compdef() { :; }
			source "$script"
			words=("$bin" "$@")
			CURRENT=${#words}
			_ipstor
		' _ "$ZSH_SCRIPT" "$IPSTOR_BIN" "$@"
	}
	run -0 zcomp ""
	assert_output "$("$IPSTOR_BIN" --help | help_list Groups:)"
	run -0 zcomp vol create --pool ""
	assert_output p
	run -0 zcomp vol create --pool=""
	assert_output "compset -P *=
p"
	run -0 zcomp pool create new ""
	assert_output _files
}

@test "global options before the group, and help GROUP, complete too" {
	run -0 ipstor __complete -- --json po
	assert_output "pool"
	run -0 ipstor __complete -- --lock-timeout 5 vol cr
	assert_output "create"
	run -0 ipstor __complete -- help vol re
	assert_line "resize"
	assert_line "rename"
	assert_line "read"
	run -0 ipstor __complete -- --vers
	assert_output "--version"
}

@test "live export names for export show and remove" {
	mkpool p 16M
	ipstor vol create p/v1 --size 4M
	ipstor export add p/v1 --name web --listen "127.0.0.1:$(free_port)"
	ipstor export add p/v1 --name backup --listen "127.0.0.1:$(free_port)"
	run -0 ipstor __complete -- export show ""
	assert_output "web
backup"
	run -0 comp export remove b
	assert_output backup
	assert_no_fallback
}

@test "--opt=VALUE completes in the binary too, the prefix kept" {
	mkpool alpha 16M
	run -0 ipstor __complete -- vol list --pool=al
	assert_output "--pool=alpha"
	run -0 ipstor __complete -- vol list --pool=
	assert_output "--pool=alpha"
	# an option without a value has nothing to complete
	run -0 ipstor __complete -- vol create x --thin=
	assert_output ""
}

@test "free block devices once the word starts with /dev/, files otherwise" {
	[ "$(id -u)" = 0 ] || skip "needs root for a loop device"
	truncate -s 16M "$D/loopback.img"
	LOOPDEV=$(losetup -f --show "$D/loopback.img") || skip "no loop device"
	echo "$LOOPDEV" >"$D/loopdev"
	run -0 ipstor __complete -- pool create new /dev/
	assert_line "$LOOPDEV"
	# a device in use (mounted /) is not offered
	root=$(findmnt -no SOURCE / || true)
	[ -z "$root" ] || refute_line "$root"
	run -0 ipstor __complete -- disk heal /dev/
	assert_line "$LOOPDEV"
	run -0 comp pool create new ""
	assert_fallback
}

@test "the shell's own commands are offered only in the shell" {
	run -0 ipstor __complete -- ""
	refute_line use
	refute_line exit
	refute_line quit
	assert_line shell
	run -0 ipstor __complete -- help ""
	refute_line use
}
