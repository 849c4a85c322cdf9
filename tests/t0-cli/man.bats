#!/usr/bin/env bats
# The man pages cover the command surface. Everything is derived from the
# binary's own help (groups, commands, their arguments and options), so a
# command, argument or option added without documentation fails here.

load ../helpers/common

MAN=$BATS_TEST_DIRNAME/../../man
SRC=$BATS_TEST_DIRNAME/../..

setup() {
	common_setup
}

# help_list HEADER: the first word of each line under HEADER in --help text
# on stdin ("Groups:", "Commands:"), up to the next empty line.
help_list() {
	awk -v h="$1" '$0 == h { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# help_options HEADER: the options under HEADER in --help text on stdin
# ("Options:", "Global options:"), one "LONG SHORT ARG" line each; SHORT
# and ARG are "-" when the option has none.
help_options() {
	awk -v h="$1" '
		$0 == h { on = 1; next }
		on && /^$/ { exit }
		on {
			short = "-"; arg = "-"
			if ($0 ~ /^  -[A-Za-z0-9], /) short = substr($0, 4, 1)
			if (!match($0, /--[a-z0-9-]+(=[^ ]+)?/)) next
			n = split(substr($0, RSTART + 2, RLENGTH - 2), p, "=")
			if (n > 1) arg = p[2]
			print p[1], short, arg
		}'
}

# usage_args GROUP [COMMAND]: the arguments in the command's usage line
usage_args() {
	"$IPSTOR_BIN" "$@" --help | sed -n '1s/^Usage: .*\[options\] *//p'
}

# groups: what `ipstor --help` lists under Groups that has commands;
# toplevel: the rest (commands without a group, such as help)
groups() {
	local g
	for g in $("$IPSTOR_BIN" --help | help_list Groups:); do
		"$IPSTOR_BIN" "$g" --help | grep -q '^Commands:$' && echo "$g"
	done
}
toplevel() {
	local g
	for g in $("$IPSTOR_BIN" --help | help_list Groups:); do
		"$IPSTOR_BIN" "$g" --help | grep -q '^Commands:$' || echo "$g"
	done
}
commands() {
	"$IPSTOR_BIN" "$1" --help | help_list Commands:
}

# section FILE HEADING: the lines after the line HEADING ("# FILES",
# "## create NAME DEV...") up to the next heading of the same or a higher
# level. Lines inside ``` blocks are never headings.
section() {
	awk -v h="$2" '
		/^```/ { fence = !fence }
		!fence && !on && $0 == h { on = 1; lvl = index(h, " "); next }
		!fence && on && /^#+ / && index($0, " ") <= lvl { exit }
		on { print }' "$1"
}

# heading CMD ARGS: the subsection heading a command gets in its page
heading() {
	echo "## $1${2:+ $2}"
}

# mentions TEXT OPTION: the option (--long or -s) appears as a word
mentions() {
	grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" <<<"$1"
}

# takes TEXT LONG ARG: the option is shown with its argument, as
# *--size*=_SIZE_ or *--size* _SIZE_
takes() {
	tr -d '*_' <<<"$1" | grep -qE -- "(^|[^A-Za-z0-9-])--$2[= ]$3([^A-Za-z0-9]|\$)"
}

# report: fail listing "$@" when there is anything to list
report() {
	if [ $# -gt 0 ]; then
		printf 'not documented: %s\n' "$@"
		return 1
	fi
}

@test "the help lists groups and commands for these tests to check" {
	# guards the parsing below: an empty list would check nothing
	[ "$(groups | wc -l)" -ge 3 ]
	[ "$(commands pool | wc -l)" -ge 5 ]
	[ "$("$IPSTOR_BIN" pool create --help | help_options Options: | wc -l)" -ge 3 ]
	[ "$("$IPSTOR_BIN" --help | help_options Options: | wc -l)" -ge 10 ]
}

@test "every command group has its page, and every page a group" {
	local miss=() g f
	for g in $(groups); do
		[ -f "$MAN/ipstor-$g.8.scd" ] || miss+=("man/ipstor-$g.8.scd")
	done
	for f in "$SRC"/cmd/cmd-*.c; do
		g=${f##*/cmd-}
		g=${g%.c}
		[ -f "$MAN/ipstor-$g.8.scd" ] || miss+=("man/ipstor-$g.8.scd (for ${f##*/})")
	done
	for f in "$MAN"/ipstor-*.8.scd; do
		g=${f##*/ipstor-}
		g=${g%.8.scd}
		groups | grep -qx "$g" || miss+=("group '$g' (stale page ${f##*/})")
	done
	report "${miss[@]}"
}

@test "every page names itself and its section on its first line" {
	local miss=() f want
	for f in "$MAN"/*.scd; do
		want=${f##*/}
		want=${want%.scd}
		want="${want%.*}(${want##*.})"
		head -n1 "$f" | grep -q "^$want\( \|$\)" || miss+=("${f##*/}: first line is not '$want'")
	done
	report "${miss[@]}"
}

@test "every command has a subsection in its group's page, with its arguments" {
	local miss=() g c page
	for g in $(groups); do
		page=$MAN/ipstor-$g.8.scd
		[ -f "$page" ] || { miss+=("man/ipstor-$g.8.scd"); continue; }
		for c in $(commands "$g"); do
			grep -qxF -- "$(heading "$c" "$(usage_args "$g" "$c")")" "$page" ||
				miss+=("${page##*/}: '$(heading "$c" "$(usage_args "$g" "$c")")'")
		done
	done
	report "${miss[@]}"
}

@test "no page documents a command that does not exist" {
	local miss=() g h c
	for g in $(groups); do
		[ -f "$MAN/ipstor-$g.8.scd" ] || continue
		while read -r h c _; do
			commands "$g" | grep -qx -- "$c" ||
				miss+=("ipstor-$g.8.scd: '$h $c' is not a command of '$g'")
		done < <(section "$MAN/ipstor-$g.8.scd" "# COMMANDS" | grep '^## ')
	done
	report "${miss[@]}"
}

@test "every option of every command is described in the command's subsection" {
	local miss=() g c page text long short arg
	for g in $(groups); do
		page=$MAN/ipstor-$g.8.scd
		[ -f "$page" ] || { miss+=("man/ipstor-$g.8.scd"); continue; }
		for c in $(commands "$g"); do
			text=$(section "$page" "$(heading "$c" "$(usage_args "$g" "$c")")")
			while read -r long short arg; do
				mentions "$text" "--$long" ||
					miss+=("${page##*/}: '$g $c' option --$long")
				[ "$short" = - ] || mentions "$text" "-$short" ||
					miss+=("${page##*/}: '$g $c' option -$short (--$long)")
				[ "$arg" = - ] || takes "$text" "$long" "$arg" ||
					miss+=("${page##*/}: '$g $c' option --$long=$arg")
			done < <("$IPSTOR_BIN" "$g" "$c" --help | help_options Options:)
		done
	done
	report "${miss[@]}"
}

@test "every long option a command prints is in its group's page" {
	local miss=() g c page help long short arg
	for g in $(groups); do
		page=$MAN/ipstor-$g.8.scd
		[ -f "$page" ] || { miss+=("man/ipstor-$g.8.scd"); continue; }
		for c in $(commands "$g"); do
			help=$("$IPSTOR_BIN" "$g" "$c" --help)
			while read -r long short arg; do
				mentions "$(cat "$page")" "--$long" ||
					miss+=("${page##*/}: --$long (printed by '$g $c --help')")
			done < <(help_options Options: <<<"$help"
				help_options "Global options:" <<<"$help")
		done
	done
	report "${miss[@]}"
}

@test "every global option is described in ipstor(8), short form and argument too" {
	local miss=() text long short arg
	text=$(section "$MAN/ipstor.8.scd" "# GLOBAL OPTIONS")
	[ -n "$text" ] || miss+=("ipstor.8.scd: section '# GLOBAL OPTIONS'")
	while read -r long short arg; do
		mentions "$text" "--$long" || miss+=("ipstor.8.scd: --$long")
		[ "$short" = - ] || mentions "$text" "-$short" ||
			miss+=("ipstor.8.scd: -$short (--$long)")
		[ "$arg" = - ] || takes "$text" "$long" "$arg" ||
			miss+=("ipstor.8.scd: --$long=$arg")
	done < <("$IPSTOR_BIN" --help | help_options Options:)
	report "${miss[@]}"
}

@test "ipstor(8) covers every group and top-level command" {
	local miss=() g page=$MAN/ipstor.8.scd
	for g in $(groups); do
		grep -qF "*ipstor-$g*(8)" "$page" || miss+=("ipstor.8.scd: a reference to ipstor-$g(8)")
		section "$page" "# COMMAND GROUPS" | grep -qx "\*$g\*" ||
			miss+=("ipstor.8.scd: group '$g' in COMMAND GROUPS")
	done
	for g in $(toplevel); do
		grep -qxF -- "$(heading "$g" "$(usage_args "$g")")" "$page" ||
			miss+=("ipstor.8.scd: '$(heading "$g" "$(usage_args "$g")")'")
	done
	report "${miss[@]}"
}

@test "ipstor(8) documents every exit status, the state dir and its files" {
	local miss=() n page=$MAN/ipstor.8.scd text def
	# the statuses exit_code() can return
	text=$(section "$page" "# EXIT STATUS")
	for n in $(sed -n '/^int exit_code(/,/^}/s/.*return \([0-9]\+\);.*/\1/p' "$SRC/cmd/output.c" | sort -u); do
		grep -qx "|  $n" <<<"$text" || miss+=("ipstor.8.scd: exit status $n")
	done
	[ "$(grep -c '^|  [0-9]' <<<"$text")" -ge 8 ] || miss+=("ipstor.8.scd: exit status table")
	def=$(sed -n 's/^#define IPSTOR_DEFAULT_STATE_DIR "\(.*\)"/\1/p' "$SRC/lib/ipstor.h")
	[ -n "$def" ]
	text=$(section "$page" "# ENVIRONMENT")
	grep -q IPSTOR_STATE_DIR <<<"$text" || miss+=("ipstor.8.scd: IPSTOR_STATE_DIR")
	grep -qF "$def" <<<"$text" || miss+=("ipstor.8.scd: default state dir $def")
	# every file of the state dir layout in lib/state/state.h
	# (the markup stripped: _STATE_*/locks/*_POOL-UUID_*.lock*)
	text=$(section "$page" "# FILES" | tr -d '*_')
	for n in $(sed -n 's/^ \*   \(STATE\/[^ ]*\).*/\1/p' "$SRC/lib/state/state.h"); do
		grep -qF "$n" <<<"$text" || miss+=("ipstor.8.scd: FILES: $n")
	done
	[ -n "$n" ] # state.h still documents the layout
	report "${miss[@]}"
}

@test "every cross-reference points at an existing page" {
	local miss=() f ref
	for f in "$MAN"/*.scd; do
		for ref in $(grep -o '\*ipstor[a-z-]*\*([0-9])' "$f" | sort -u); do
			ref=${ref//\*/}
			[ -f "$MAN/${ref%(*}.${ref//[^0-9]/}.scd" ] || miss+=("${f##*/}: $ref")
		done
	done
	report "${miss[@]}"
}

@test "the metadata page covers every on-disk structure" {
	local miss=() page=$MAN/ipstor-metadata.5.scd s
	[ -f "$page" ]
	for s in "# DEVICE LAYOUT" "# LABEL" "# METADATA COPY" \
		"# COMMITS AND SEQUENCE NUMBERS" "# CONFIGURATION" "# ADDRESSES" \
		"# MAP NODES" "# COPY-ON-WRITE" "# SPACE ACCOUNTING"; do
		[ -n "$(section "$page" "$s")" ] || miss+=("ipstor-metadata.5.scd: '$s'")
	done
	# the magic numbers and every configuration key the encoder writes
	for s in IPSTORLB IPSTORMD IPMN \
		$(grep -o 'json_object_object_add([a-z]*, "[a-z_]*"' "$SRC/lib/md/config.c" |
			sed 's/.*"\(.*\)"/\1/' | sort -u); do
		grep -qw -- "$s" "$page" || miss+=("ipstor-metadata.5.scd: '$s'")
	done
	report "${miss[@]}"
}

@test "scdoc converts every page" {
	local f out
	for f in "$MAN"/*.scd; do
		out=$BATS_TEST_TMPDIR/${f##*/}
		out=${out%.scd}
		run --separate-stderr scdoc <"$f"
		[ "$status" -eq 0 ] || { echo "${f##*/}: $stderr"; false; }
		[ -z "$stderr" ] || { echo "${f##*/}: $stderr"; false; }
		grep -q '^\.TH ' <<<"$output" || { echo "${f##*/}: no .TH"; false; }
		printf '%s\n' "$output" >"$out"
	done
}

@test "man renders every page" {
	require_cmd man
	local f page
	for f in "$MAN"/*.scd; do
		page=$BATS_TEST_TMPDIR/${f##*/}
		page=${page%.scd}
		scdoc <"$f" >"$page"
		run --separate-stderr env MANWIDTH=80 man -l "$page"
		[ "$status" -eq 0 ] || { echo "${f##*/}: man exited $status: $stderr"; false; }
		[ -z "$stderr" ] || { echo "${f##*/}: $stderr"; false; }
		assert_line NAME
		assert_line --regexp '^ +ipstor'
	done
}
