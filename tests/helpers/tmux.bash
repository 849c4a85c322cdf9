# Driving an interactive program through tmux: a private tmux server per
# test (its socket under BATS_TEST_TMPDIR), keys in, the screen out.
# Waits are for what appears on the screen, never for a time; the one
# limit (TMUX_WAIT tenths of a second) only stops a test that would hang.

TMUX_WAIT=${TMUX_WAIT:-600}

# tmux_start CMD...: run CMD in a 200x50 terminal; its exit status goes
# to a file for tmux_wait_exit
tmux_start() {
	# a new server each time: an old one may still be going away
	TMUX_N=$((${TMUX_N:-0} + 1))
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux-$TMUX_N.sock
	TMUX_STATUS=$BATS_TEST_TMPDIR/tmux-$TMUX_N.status
	local q st
	printf -v st %q "$TMUX_STATUS"
	printf -v q '%q ' "$@"
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 200 -y 50 -s t \
		"$q; echo \$? >$st.new && mv $st.new $st; sleep 3600"
}

tmux_stop() {
	[ -n "${TMUX_SOCK:-}" ] && [ -S "$TMUX_SOCK" ] || return 0
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
}

# tmux_keys KEY...: as tmux send-keys takes them ("text", Tab, Enter, C-c)
tmux_keys() {
	tmux -S "$TMUX_SOCK" send-keys -t t "$@"
}

# tmux_type TEXT: type TEXT literally, then Enter
tmux_type() {
	tmux -S "$TMUX_SOCK" send-keys -t t -l -- "$1"
	tmux -S "$TMUX_SOCK" send-keys -t t Enter
}

# the whole screen and scrollback, wrapped lines joined
tmux_screen() {
	tmux -S "$TMUX_SOCK" capture-pane -p -J -S - -t t
}

# tmux_wait_for TEXT [COUNT]: until TEXT is on COUNT lines (default 1)
tmux_wait_for() {
	local want=${2:-1} i
	for ((i = 0; i < TMUX_WAIT; i++)); do
		[ "$(tmux_screen | grep -cF -- "$1")" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "never saw '$1' ($want times) on the screen:" >&2
	tmux_screen >&2
	return 1
}

# tmux_wait_line REGEX: until a line matches the extended REGEX
tmux_wait_line() {
	local i
	for ((i = 0; i < TMUX_WAIT; i++)); do
		tmux_screen | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	echo "never saw a line matching '$1' on the screen:" >&2
	tmux_screen >&2
	return 1
}

# tmux_wait_exit [STATUS]: until the program has exited, with STATUS if
# given
tmux_wait_exit() {
	local i st
	for ((i = 0; i < TMUX_WAIT; i++)); do
		if [ -f "$TMUX_STATUS" ]; then
			st=$(cat "$TMUX_STATUS")
			[ -z "${1:-}" ] || [ "$st" = "$1" ] && return 0
			echo "the program exited with $st, not $1:" >&2
			tmux_screen >&2
			return 1
		fi
		sleep 0.1
	done
	echo "the program never exited:" >&2
	tmux_screen >&2
	return 1
}
