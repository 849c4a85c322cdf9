# Serving a volume over ipstor's UDP protocol, as an administrator does,
# for the t6-udp suites.

# A UDP port nobody uses right now.
free_udp_port() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_udp POOL/VOL [export add options...]: UPORT, UURI; adds the export
# (on 127.0.0.1:UPORT) unless it exists, starts the worker unless it runs.
start_udp() {
	local vol=$1
	shift
	: "${UPORT:=$(free_udp_port)}"
	UURI=ipstor://127.0.0.1:$UPORT/${vol#*/}
	if ! "$IPSTOR_BIN" export show "${vol#*/}" >/dev/null 2>&1; then
		"$IPSTOR_BIN" export add "$vol" --proto udp \
			--listen "127.0.0.1:$UPORT" "$@" >/dev/null || return 1
	fi
	if ! "$IPSTOR_BIN" server status >/dev/null 2>&1; then
		"$IPSTOR_BIN" server start >/dev/null || return 1
	fi
}

worker_pid() {
	cat "$IPSTOR_STATE_DIR/worker.pid"
}

# resident memory of a process, in KiB
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# wait_log PATTERN: the worker's log gets a line matching PATTERN (grep
# -E), polled without a time limit of its own (bats' timeout applies)
wait_log() {
	until grep -qE -- "$1" "$IPSTOR_STATE_DIR/worker.log"; do sleep 0.1; done
}
