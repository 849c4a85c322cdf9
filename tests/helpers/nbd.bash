# Serving a volume over NBD the way an administrator does: an export, and
# the worker. For the suites that test real clients against ipstor.

# start_serve [--read-only] [--name NAME] POOL/VOL: PORT, URI, SERVE_PID.
# Adds the export unless it exists (a restart), starts the worker unless
# it runs.
start_serve() {
	local ro=() name=()
	while [ $# -gt 1 ]; do
		case $1 in
		--read-only) ro=(--read-only) ;;
		--name) name=(--name "$2"); shift ;;
		*) echo "start_serve: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	local vol=$1 ename=${name[1]:-${1#*/}}
	: "${PORT:=$(free_port)}"
	URI=nbd://127.0.0.1:$PORT
	if ! "$IPSTOR_BIN" export show "$ename" >/dev/null 2>&1; then
		"$IPSTOR_BIN" export add "$vol" --listen "127.0.0.1:$PORT" \
			"${ro[@]}" "${name[@]}" >/dev/null || return 1
	fi
	if ! "$IPSTOR_BIN" server status >/dev/null 2>&1; then
		"$IPSTOR_BIN" server start >/dev/null || return 1
	fi
	SERVE_PID=$(cat "$IPSTOR_STATE_DIR/worker.pid")
}

# SIGTERM through `ipstor server stop`, as a service manager would: the
# worker drains, flushes and exits. Returns its status.
stop_serve() {
	[ -f "$IPSTOR_STATE_DIR/worker.pid" ] || return 0
	"$IPSTOR_BIN" server stop >/dev/null
}
