#!/usr/bin/env bats
# Exports: kept in the pool's metadata, served by the worker over NBD to
# the clients allowed, and nobody else.

load ../helpers/common

setup() {
	common_setup
	require_cmd nbdinfo
	mkpool tank 128M
	ipstor vol create tank/v --size 32M --thin
	PORT=$(free_port)
}

teardown() {
	stop_worker
	[ -n "${NS:-}" ] && ip netns del "$NS" 2>/dev/null
	[ -n "${VETH:-}" ] && ip link del "$VETH" 2>/dev/null
	true
}

@test "add, list, show, remove; defaults are loopback only and the volume's name" {
	run -0 ipstor -v export add tank/v --listen "127.0.0.1:$PORT"
	assert_output "added export 'v' of 'tank/v' on 127.0.0.1:$PORT"
	run -0 ipstor export list --json
	echo "$output" | jq -e --arg l "127.0.0.1:$PORT" '(.exports | length) == 1 and (.exports[0] |
		.name == "v" and .pool == "tank" and .volume == "v" and .proto == "nbd" and
		.listen == $l and .allow == ["127.0.0.0/8", "::1/128"] and .read_only == false)'
	run -0 ipstor export show v
	assert_line --regexp '^allow: +127\.0\.0\.0/8, ::1/128$'
	run -5 --separate-stderr ipstor export add tank/v --listen "127.0.0.1:$PORT"
	[ "$stderr" = "ipstor: export 'v' already exists (pool 'tank')" ]
	run -0 ipstor export remove v
	run -4 ipstor export show v
}

@test "bad export arguments are refused with nothing changed" {
	before=$(pool_fingerprint tank)
	run -2 --separate-stderr ipstor export add tank/v --listen localhost:80
	[ "$stderr" = "ipstor: invalid listen address 'localhost:80' (expected ADDR:PORT or [IPV6]:PORT)" ]
	run -2 --separate-stderr ipstor export add tank/v --allow 10.0.0.1/24
	[ "$stderr" = "ipstor: '10.0.0.1/24' has host bits set past /24" ]
	run -2 ipstor export add tank/v --allow everyone
	run -2 ipstor export add tank/v --listen 127.0.0.1:70000
	run -2 ipstor export add tank/v --name 'bad name'
	run -6 --separate-stderr ipstor export add tank/v --proto iscsi
	[ "$stderr" = "ipstor: protocol 'iscsi' is not supported (nbd and udp are)" ]
	run -4 ipstor export add tank/nosuch
	run -4 ipstor export remove nosuch
	[ "$(pool_fingerprint tank)" = "$before" ]
}

@test "the worker serves exports, and serves them again after a restart" {
	ipstor export add tank/v --listen "127.0.0.1:$PORT"
	ipstor server start
	run -0 nbdinfo --size "nbd://127.0.0.1:$PORT/v"
	[ "$output" = 33554432 ]
	printf 'kept' | ipstor vol write tank/v --offset 4096
	ipstor server stop
	ipstor server start
	run -0 nbdinfo --size "nbd://127.0.0.1:$PORT/v"
	run -0 ipstor server status --json
	echo "$output" | jq -e '.server.exports[0].name == "v"'
	# a second export on the same address, chosen by name
	ipstor vol create tank/w --size 8M
	ipstor export add tank/w --listen "127.0.0.1:$PORT" --read-only
	run -0 nbdinfo --size "nbd://127.0.0.1:$PORT/w"
	[ "$output" = 8388608 ]
	run -0 nbdinfo --list "nbd://127.0.0.1:$PORT"
	assert_output --partial 'export="v"'
	assert_output --partial 'export="w"'
	run -0 nbdinfo "nbd://127.0.0.1:$PORT/w"
	assert_output --partial "is_read_only: true"
	run -1 nbdinfo "nbd://127.0.0.1:$PORT/nosuch"
}

@test "removing an export while it is served stops serving it, others go on" {
	ipstor vol create tank/w --size 8M
	ipstor export add tank/v --listen "127.0.0.1:$PORT"
	ipstor export add tank/w --listen "127.0.0.1:$PORT"
	ipstor server start
	run -0 ipstor export remove v
	run -1 nbdinfo --size "nbd://127.0.0.1:$PORT/v"
	run -0 nbdinfo --size "nbd://127.0.0.1:$PORT/w"
	grep -q "no longer serving 'v'" "$IPSTOR_STATE_DIR/worker.log"
}

@test "an exported volume cannot be deleted" {
	ipstor export add tank/v --listen "127.0.0.1:$PORT"
	run -5 --separate-stderr ipstor vol delete tank/v --yes
	[ "$stderr" = "ipstor: volume 'v' is exported as 'v'; remove the export first" ]
}

@test "an export whose port is taken is not added while the worker runs" {
	ipstor server start
	python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$PORT" &
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
	run -1 --separate-stderr ipstor export add tank/v --listen "127.0.0.1:$PORT"
	[[ $stderr == "ipstor: cannot serve export 'v': cannot listen on 127.0.0.1:$PORT: Address already in use" ]]
	kill %1
	run -0 ipstor export list --json
	echo "$output" | jq -e '.exports == []'
}

@test "a client from an address no export allows is refused at connect; --allow lets it in" {
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	require_cmd ip
	NS=ipstor-t$$
	VETH=ipst$$
	# a subnet of its own, so that runs side by side do not collide
	local net="10.201.$(($$ % 250))"
	ip netns add "$NS" || skip "network namespaces are not available"
	ip link add "$VETH" type veth peer name "${VETH}p" || skip "veth is not available"
	ip link set "${VETH}p" netns "$NS"
	ip addr add $net.1/24 dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NS" addr add $net.2/24 dev "${VETH}p"
	ip -n "$NS" link set "${VETH}p" up
	ip -n "$NS" link set lo up
	# listening where the namespace can reach, allowed: loopback only
	ipstor export add tank/v --listen "$net.1:$PORT"
	ipstor server start
	run ip netns exec "$NS" nbdinfo --size "nbd://$net.1:$PORT/v"
	[ "$status" -ne 0 ]
	grep -q "refused $net.2:[0-9]*: not in any allow list" "$IPSTOR_STATE_DIR/worker.log"
	# allowed now
	ipstor export remove v
	ipstor export add tank/v --listen "$net.1:$PORT" --allow $net.2
	run -0 ip netns exec "$NS" nbdinfo --size "nbd://$net.1:$PORT/v"
	[ "$output" = 33554432 ]
	# allowed at connect by one export, refused by name for another
	ipstor vol create tank/w --size 8M
	ipstor export add tank/w --listen "$net.1:$PORT"
	run ip netns exec "$NS" nbdinfo --size "nbd://$net.1:$PORT/w"
	[ "$status" -ne 0 ]
	[[ $output == *"server policy prevents NBD_OPT_GO"* ]]
	# and listing shows it only what it may use
	run -0 ip netns exec "$NS" nbdinfo --list "nbd://$net.1:$PORT"
	assert_output --partial 'export="v"'
	refute_output --partial 'export="w"'
}
