#!/usr/bin/env bats
# The UDP protocol under a hostile network (tests/helpers/udp-impair.c
# drops, duplicates, reorders, corrupts and replays old datagrams, seeded)
# and across worker restarts, checked block by block by a writer that
# records every block's generation (tests/helpers/udp-genio.c): a stale,
# lost, misplaced or damaged block fails the run.

load ../helpers/common
load ../helpers/udp

setup() {
	common_setup
	mkpool tank 512M
	ipstor vol create tank/v --size 128M --thin
	printf 'impaired but exact\n' >"$D/key"
	UPORT=$(free_udp_port)
	PPORT=$(free_udp_port)
}

teardown() {
	[ -n "${PROXY:-}" ] && kill "$PROXY" 2>/dev/null
	[ -n "${GENIO:-}" ] && kill "$GENIO" 2>/dev/null
	[ -n "${ORDER:-}" ] && kill "$ORDER" 2>/dev/null
	stop_worker
	true
}

# proxy ARGS...: the impairment proxy from PPORT to the export's UPORT
proxy() {
	"$HELPERS/udp-impair" --listen "127.0.0.1:$PPORT" --to "127.0.0.1:$UPORT" \
		--stats "$D/proxy.stats" "$@" &
	PROXY=$!
}

stop_proxy() {
	kill "$PROXY"
	wait "$PROXY" || true
	PROXY=
	cat "$D/proxy.stats"
}

# field NAME: a number from genio's summary line in $output
field() {
	grep -oE "(^| )$1 [0-9]+" <<<"$output" | awk '{ print $2 }'
}

@test "1 GiB of mixed I/O through loss, duplication, reordering, corruption and replay: nothing stale, lost or damaged" {
	start_udp tank/v --secret-file "$D/key"
	proxy --seed 6 --drop 5 --dup 5 --reorder 10 --corrupt 1 --replay 2
	# requests up to 1 MiB at 16 in flight: late replies leave answered
	# requests above the floor, which the byte credits must count
	run -0 "$HELPERS/udp-genio" "ipstor://127.0.0.1:$PPORT/v" --secret-file "$D/key" \
		--bytes 1G --span 64M --qd 16 --max-io 1M --seed 6
	echo "$output"
	[ "$(field mismatches)" = 0 ] && [ "$(field io_errors)" = 0 ]
	[ "$(field moved)" -ge 1073741824 ]
	[ "$(field writes)" -gt 500 ] && [ "$(field reads)" -gt 500 ]
	stop_proxy
	# every impairment really happened, in both directions
	for what in dropped duplicated reordered corrupted replayed; do
		for dir in to-server to-client; do
			n=$(sed -n "s/^$dir .* $what \([0-9]*\).*/\1/p" "$D/proxy.stats")
			[ "$n" -gt 50 ]
		done
	done
	# corrupted datagrams were caught by the CRC and logged, not used
	grep -q "dropped a malformed datagram" "$IPSTOR_STATE_DIR/worker.log"
	# and the client never went past the credits it was granted
	! grep -q "past its" "$IPSTOR_STATE_DIR/worker.log"
	# and the volume holds what the client last wrote, as read locally
	ipstor vol read tank/v --length 4K | cmp - <(ipstor remote read "$UURI" --length 4K --secret-file "$D/key")
}

@test "the worker killed mid-run: the client reconnects by itself, the loss surfaces on the next flush" {
	start_udp tank/v --secret-file "$D/key"
	proxy --seed 7 --drop 1 --reorder 2
	"$HELPERS/udp-genio" "ipstor://127.0.0.1:$PPORT/v" --secret-file "$D/key" \
		--bytes 512M --span 64M --qd 16 --max-io 256K --seed 7 \
		--progress "$D/progress" >"$D/genio.out" 2>&1 &
	GENIO=$!
	for _ in $(seq 6000); do
		[ "$(cat "$D/progress" 2>/dev/null || echo 0)" -ge 100000000 ] && break
		sleep 0.05
	done
	pid=$(worker_pid)
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	ipstor server start >/dev/null
	wait "$GENIO"
	rc=$?
	GENIO=
	output=$(cat "$D/genio.out")
	echo "$output"
	[ "$rc" = 0 ]
	[ "$(field mismatches)" = 0 ] && [ "$(field io_errors)" = 0 ]
	[ "$(field restarts)" -ge 1 ] && [ "$(field reconnects)" -ge 1 ]
	[ "$(field flush_errors)" -ge 1 ]
	stop_proxy
}

@test "a write whose reply is lost, overwritten by a later write, is not sent again on the next session" {
	# the proxy loses every reply to the first write; the second write,
	# to the same range, waits for the first on the server, so its reply
	# proves the first ran. Sending the first again after the session
	# ends (here: a worker restart) would put the older data on top.
	start_udp tank/v
	proxy --hide-reply 1
	"$HELPERS/udp-order" "ipstor://127.0.0.1:$PPORT/v" >"$D/order.out" 2>&1 &
	ORDER=$!
	until grep -q "second done: 0" "$D/order.out"; do
		kill -0 "$ORDER" || { cat "$D/order.out"; return 1; }
		sleep 0.05
	done
	ipstor server stop >/dev/null
	ipstor server start >/dev/null
	rc=0
	wait "$ORDER" || rc=$?
	ORDER=
	cat "$D/order.out"
	[ "$rc" = 0 ]
	grep -qx "data: BB" "$D/order.out"
	# the first write's status was never seen: the next flush says so
	grep -qx "flush: Input/output error" "$D/order.out"
	grep -q "not sent again" "$D/order.out"
	# waiting with nothing in flight, the client pings: the new worker's
	# RESET ends the old session, or while the worker is down the pings'
	# timeouts do (without them: half the idle time of silence, 15 s)
	grep -qE "session ended \((the server does not know it|no answer)\)" "$D/order.out"
	! grep -q "dead: pto 0," "$D/order.out"
	stop_proxy
	grep -qE "^hidden replies [1-9]" "$D/proxy.stats"
}

@test "after a graceful restart a new client finds everything written and flushed before" {
	start_udp tank/v --secret-file "$D/key"
	pattern "$D/in" 4M 9
	ipstor remote write "$UURI" "$D/in" --secret-file "$D/key"
	ipstor server stop >/dev/null
	ipstor server start >/dev/null
	# a new client after the restart: nothing of its own was lost
	ipstor remote read "$UURI" --length 4M --secret-file "$D/key" | cmp - "$D/in"
}
