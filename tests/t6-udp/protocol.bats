#!/usr/bin/env bats
# The UDP protocol through the worker, with ipstor's own client: exports,
# the handshake and its refusals, data in and out, and hostile traffic
# that must be dropped with a log line and no harm.

load ../helpers/common
load ../helpers/udp

setup() {
	common_setup
	mkpool tank 256M
	ipstor vol create tank/v --size 64M --thin
	printf 'correct horse battery staple\n' >"$D/key"
	printf 'wrong\n' >"$D/bad"
	UPORT=$(free_udp_port)
}

teardown() {
	stop_worker
	[ -n "${NS:-}" ] && ip netns del "$NS" 2>/dev/null
	[ -n "${VETH:-}" ] && ip link del "$VETH" 2>/dev/null
	true
}

@test "a udp export: defaults, the secret never shown, nbd refuses one" {
	run -0 ipstor -v export add tank/v --proto udp --secret-file "$D/key"
	assert_output "added export 'v' of 'tank/v' on 127.0.0.1:10810"
	run -0 ipstor export show v --json
	echo "$output" | jq -e '.export | .proto == "udp" and .secret == true and
		.listen == "127.0.0.1:10810" and .allow == ["127.0.0.0/8", "::1/128"]'
	run -0 ipstor pool dump tank
	refute_output --partial "$(printf 'correct horse' | xxd -p)"
	assert_output --partial '"secret": "(redacted)"'
	ipstor vol create tank/w --size 4M
	run -2 --separate-stderr ipstor export add tank/w --secret-file "$D/key"
	[ "$stderr" = "ipstor: a secret is for udp exports only (NBD has no authentication)" ]
	: >"$D/empty"
	run -2 --separate-stderr ipstor export add tank/w --proto udp --secret-file "$D/empty"
	[ "$stderr" = "ipstor: secret file '$D/empty' is empty" ]
	run -4 ipstor export add tank/w --proto udp --secret-file "$D/nosuch"
	head -c 5000 /dev/zero >"$D/big"
	run -2 ipstor export add tank/w --proto udp --secret-file "$D/big"
	run -6 --separate-stderr ipstor export add tank/w --proto sctp
	[ "$stderr" = "ipstor: protocol 'sctp' is not supported (nbd and udp are)" ]
}

@test "remote write, read and info move the data exactly, across a restart" {
	start_udp tank/v --secret-file "$D/key"
	pattern "$D/in" 9M 1
	run -0 ipstor -v remote write "$UURI" "$D/in" --offset 1M --secret-file "$D/key"
	assert_output "wrote 9 MiB to '$UURI'"
	run -0 ipstor remote read "$UURI" "$D/out" --offset 1M --length 9M --secret-file "$D/key"
	cmp "$D/in" "$D/out"
	# the same bytes through the local data path
	ipstor vol read tank/v --offset 1M --length 9M | cmp - "$D/in"
	run -0 ipstor remote info "$UURI" --secret-file "$D/key" --json
	echo "$output" | jq -e '.remote | .size == 67108864 and .read_only == false and
		.max_request == 1048576 and .credits == 64 and .max_datagram > 60000'
	boot=$(echo "$output" | jq -r .remote.boot)
	ipstor server stop >/dev/null
	ipstor server start >/dev/null
	run -0 ipstor remote info "$UURI" --secret-file "$D/key" --json
	[ "$(echo "$output" | jq -r .remote.boot)" != "$boot" ]
	ipstor remote read "$UURI" --offset 1M --length 9M --secret-file "$D/key" | cmp - "$D/in"
	# odd sizes and the very end
	printf 'tail' | ipstor remote write "$UURI" --offset $((64 * 1048576 - 4)) --secret-file "$D/key"
	run -0 ipstor remote read "$UURI" --offset $((64 * 1048576 - 4)) --secret-file "$D/key"
	[ "$output" = tail ]
	run -2 ipstor remote read "$UURI" --offset 64M --length 1 --secret-file "$D/key"
	printf 'x' >"$D/x"
	run -1 ipstor remote write "$UURI" "$D/x" --offset 64M --secret-file "$D/key"
}

@test "wrong secret, no secret, unknown export: refused, exit status, log line" {
	start_udp tank/v --secret-file "$D/key"
	run -3 --separate-stderr ipstor remote info "$UURI" --secret-file "$D/bad"
	[ "$stderr" = "ipstor: '$UURI': access denied (wrong secret or address not allowed)" ]
	grep -qE "refused 127\.0\.0\.1:[0-9]+: wrong secret for export 'v'" "$IPSTOR_STATE_DIR/worker.log"
	run -3 ipstor remote info "$UURI"
	run -4 --separate-stderr ipstor remote info "ipstor://127.0.0.1:$UPORT/nosuch"
	[ "$stderr" = "ipstor: 'ipstor://127.0.0.1:$UPORT/nosuch': no such export" ]
	grep -qE "refused 127\.0\.0\.1:[0-9]+: no export 'nosuch'" "$IPSTOR_STATE_DIR/worker.log"
	run -2 ipstor remote info "nbd://127.0.0.1:$UPORT/v"
	run -2 ipstor remote info "ipstor://127.0.0.1:$UPORT/"
	run -2 ipstor remote info "ipstor://127.0.0.1:$UPORT/bad name"
	# nobody there: a timeout, not a hang
	other=$(free_udp_port)
	run -1 --separate-stderr ipstor remote info "ipstor://127.0.0.1:$other/v" --timeout 1
	[ "$stderr" = "ipstor: 'ipstor://127.0.0.1:$other/v': no answer from the server" ]
}

@test "a read-only export refuses writes; an export without a secret takes none" {
	ipstor vol create tank/r --size 8M
	start_udp tank/r --read-only
	run -0 ipstor remote info "$UURI" --json
	echo "$output" | jq -e '.remote.read_only == true'
	run -3 --separate-stderr ipstor remote write "$UURI" <<<"data"
	[ "$stderr" = "ipstor: cannot write '$UURI': the export is read-only" ]
	run -0 ipstor remote read "$UURI" --length 4K
}

@test "malformed and truncated datagrams are dropped with a log line; the server goes on" {
	start_udp tank/v --secret-file "$D/key"
	pid=$(worker_pid)
	"$HELPERS/udp-junk" junk "127.0.0.1:$UPORT" 20000 7
	wait_log "dropped a malformed datagram"
	pattern "$D/in" 2M 3
	ipstor remote write "$UURI" "$D/in" --secret-file "$D/key"
	ipstor remote read "$UURI" --length 2M --secret-file "$D/key" | cmp - "$D/in"
	[ "$(worker_pid)" = "$pid" ] && kill -0 "$pid"
}

@test "a flood of handshakes is rate-limited with a log line, in bounded memory" {
	start_udp tank/v --secret-file "$D/key"
	pid=$(worker_pid)
	ipstor remote info "$UURI" --secret-file "$D/key" >/dev/null
	before=$(rss_kib "$pid")
	"$HELPERS/udp-junk" flood "127.0.0.1:$UPORT" 200000
	wait_log "too many handshakes: dropping them"
	after=$(rss_kib "$pid")
	echo "rss before $before KiB, after $after KiB"
	[ "$after" -lt $((before + 8192)) ]
	# sessions are bounded too: the 33rd is refused as busy
	run -0 "$HELPERS/udp-junk" sessions "127.0.0.1:$UPORT" v "$D/key" 40
	assert_output "welcomed 32 refused 8"
	wait_log "refused 127\.0\.0\.1:[0-9]+: 32 sessions already"
	after=$(rss_kib "$pid")
	echo "rss with 32 sessions $after KiB"
	[ "$after" -lt $((before + 65536)) ]
	kill -0 "$pid"
}

# A client host in a network namespace behind a veth pair (MTU 1500):
# sets NS, VETH and net (the server is $net.1, the client $net.2).
veth_host() {
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	require_cmd ip
	NS=ipstor-u$$
	VETH=ipsu$$
	net="10.202.$(($$ % 250))"
	ip netns add "$NS" || skip "network namespaces are not available"
	ip link add "$VETH" type veth peer name "${VETH}p" || skip "veth is not available"
	ip link set "${VETH}p" netns "$NS"
	ip addr add $net.1/24 dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NS" addr add $net.2/24 dev "${VETH}p"
	ip -n "$NS" link set "${VETH}p" up
	ip -n "$NS" link set lo up
}

@test "an address no export allows is refused at the handshake; --allow lets it in" {
	local net
	veth_host
	ipstor export add tank/v --proto udp --listen "$net.1:$UPORT" --secret-file "$D/key"
	ipstor server start
	run -3 ip netns exec "$NS" "$IPSTOR_BIN" remote info "ipstor://$net.1:$UPORT/v" --secret-file "$D/key"
	grep -qE "refused $net\.2:[0-9]+: not in any allow list" "$IPSTOR_STATE_DIR/worker.log"
	ipstor export remove v
	ipstor export add tank/v --proto udp --listen "$net.1:$UPORT" --allow "$net.2" --secret-file "$D/key"
	run -0 ip netns exec "$NS" "$IPSTOR_BIN" remote info "ipstor://$net.1:$UPORT/v" --secret-file "$D/key" --json
	echo "$output" | jq -e '.remote.size == 67108864 and .remote.max_datagram == 1472'
	printf 'over veth' | ip netns exec "$NS" "$IPSTOR_BIN" remote write "ipstor://$net.1:$UPORT/v" --secret-file "$D/key"
	run -0 ipstor vol read tank/v --length 9
	[ "$output" = "over veth" ]
}

@test "large payloads cut for an Ethernet and a jumbo MTU arrive whole both ways" {
	local net
	veth_host
	ipstor export add tank/v --proto udp --listen "$net.1:$UPORT" --allow "$net.2" --secret-file "$D/key"
	ipstor server start
	local uri="ipstor://$net.1:$UPORT/v" mtu
	# 1472-byte datagrams cut segments inside 4 KiB blocks (the receiver
	# reads them again for the payload CRC); 8972-byte ones on blocks
	for mtu in 1500 9000; do
		ip link set "$VETH" mtu "$mtu"
		ip -n "$NS" link set "${VETH}p" mtu "$mtu"
		# 3 MiB and 1.5 KiB: requests of 1 MiB and a short last one
		head -c $((3 * 1048576 + 1536)) /dev/urandom >"$D/in.$mtu"
		ip netns exec "$NS" "$IPSTOR_BIN" remote write "$uri" --secret-file "$D/key" \
			--offset 4096 <"$D/in.$mtu"
		ip netns exec "$NS" "$IPSTOR_BIN" remote read "$uri" --secret-file "$D/key" \
			--offset 4096 --length $((3 * 1048576 + 1536)) >"$D/out.$mtu"
		cmp "$D/in.$mtu" "$D/out.$mtu"
		run -0 ip netns exec "$NS" "$IPSTOR_BIN" remote info "$uri" --secret-file "$D/key" --json
		echo "$output" | jq -e --argjson m $((mtu - 28)) '.remote.max_datagram == $m'
	done
	cmp <("$IPSTOR_BIN" vol read tank/v --offset 4096 --length $((3 * 1048576 + 1536))) "$D/in.9000"
}

@test "removing a udp export ends its sessions; other exports go on" {
	ipstor vol create tank/w --size 8M
	start_udp tank/v --secret-file "$D/key"
	ipstor export add tank/w --proto udp --listen "127.0.0.1:$UPORT"
	run -0 ipstor remote info "ipstor://127.0.0.1:$UPORT/w"
	run -0 ipstor export remove v
	grep -q "no longer serving 'v'" "$IPSTOR_STATE_DIR/worker.log"
	run -4 ipstor remote info "$UURI" --secret-file "$D/key"
	run -0 ipstor remote info "ipstor://127.0.0.1:$UPORT/w"
}

@test "ipstor bench drives an ipstor:// target; a wrong secret or nobody there is refused" {
	start_udp tank/v --secret-file "$D/key"
	run -0 ipstor bench iometer -t "$UURI?secret-file=$D/key" --spec 4k-random-read \
		-o 8 --time 0.5 --yes --json
	echo "$output" | jq -e '.bench.tests[0].all.iops > 0 and .bench.tests[0].all.errors == 0'
	run -3 ipstor bench iometer -t "$UURI?secret-file=$D/bad" --time 0.2 --yes
	run -2 ipstor bench iometer -t "$UURI?secret=x" --time 0.2 --yes
	run -4 ipstor bench iometer -t "ipstor://127.0.0.1:$(free_udp_port)/v" --time 0.2 --yes
}
