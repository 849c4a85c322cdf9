#!/usr/bin/env bats
# A remote leg: a volume exported by a second ipstor worker in another
# network namespace, reached over a veth pair. Cutting the link degrades
# the mirror without a client error; restoring it resyncs what changed;
# both sides end identical. Also asynchronous legs and bad remotes.

load ../helpers/common
load ../helpers/mirror

setup() {
	common_setup
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	require_cmd ip
	mkpool p 160M
	ipstor vol create p/v --size 48M
	pattern "$D/data" 48M r1
	ipstor vol write p/v "$D/data"
	NS=ipstor-m$$
	VETH=ipsm$$
	# a subnet of its own, so that runs side by side do not collide
	NET="10.202.$(($$ % 250))"
	ip netns add "$NS" || skip "network namespaces are not available"
	ip link add "$VETH" type veth peer name "${VETH}p" || skip "veth is not available"
	ip link set "${VETH}p" netns "$NS"
	ip addr add "$NET.1/24" dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NS" addr add "$NET.2/24" dev "${VETH}p"
	ip -n "$NS" link set "${VETH}p" up
	ip -n "$NS" link set lo up
	# the second server: its own state dir and pool, in the namespace
	RSTATE=$D/remote-state
	mkdev r-0.img 160M
	IPSTOR_STATE_DIR=$RSTATE ipstor pool create r "$D/r-0.img" >/dev/null
	IPSTOR_STATE_DIR=$RSTATE ipstor vol create r/copy --size 48M >/dev/null
	IPSTOR_STATE_DIR=$RSTATE ipstor vol create r/small --size 16M >/dev/null
	RPORT=10809
	IPSTOR_STATE_DIR=$RSTATE ipstor export add r/copy --listen "$NET.2:$RPORT" --allow "$NET.0/24" >/dev/null
	IPSTOR_STATE_DIR=$RSTATE ipstor export add r/small --listen "$NET.2:$RPORT" --allow "$NET.0/24" >/dev/null
	IPSTOR_STATE_DIR=$RSTATE ip netns exec "$NS" "$IPSTOR_BIN" server start >/dev/null
	URI="nbd://$NET.2:$RPORT/copy"
}

teardown() {
	stop_worker
	if [ -n "${RSTATE:-}" ]; then
		IPSTOR_STATE_DIR=$RSTATE stop_worker
	fi
	[ -n "${NS:-}" ] && ip netns del "$NS" 2>/dev/null
	[ -n "${VETH:-}" ] && ip link del "$VETH" 2>/dev/null
	true
}

wait_state() { # STATE
	for _ in $(seq 1500); do
		[ "$(mjq "(.state == \"$1\") and (.resync.active | not)")" = true ] && return 0
		sleep 0.2
	done
	ipstor mirror status p/v >&2
	return 1
}

# The remote volume's bytes, read over NBD from inside the namespace.
remote_sha() {
	ip netns exec "$NS" nbdcopy "nbd://$NET.2:$RPORT/copy" - | sha256sum | cut -d' ' -f1
}

@test "a remote leg on a second server: a cut link degrades, restoring it resyncs, both sides identical" {
	require_cmd nbdcopy
	ipstor server start >/dev/null
	ipstor mirror add p/v --remote "$URI"
	wait_state in-sync
	[ "$(mjq '.legs[1].kind + " " + .legs[1].target')" = "nbd $URI" ]
	[ "$(remote_sha)" = "$(sha "$D/data")" ]
	# cut the link: the next write waits for the remote, gives up on it,
	# and succeeds on the local leg
	ip link set "$VETH" down
	pattern "$D/a" 3M a
	ipstor vol write p/v "$D/a" --offset 5M
	[ "$(mjq '.state')" = degraded ]
	[ "$(mjq '.legs[1].state')" = failed ]
	grep -q "mirror of 'p/v': leg 1 (nbd $URI) failed" "$IPSTOR_STATE_DIR/worker.log"
	ipstor vol write p/v "$D/a" --offset 30M
	ipstor vol read p/v --offset 30M --length 3M | cmp - "$D/a"
	# the worker probes the failed leg every 3 s; a probe of a server
	# that does not answer must hold no client request (it used to, in
	# a hang-up that waited for TCP to give up): after a probe period
	# with the link down, a write still goes through (the bound only
	# turns a hang into a failure)
	sleep 4
	timeout 120 "$IPSTOR_BIN" vol write p/v "$D/a" --offset 30M
	oos=$(mjq '.legs[1].out_of_sync')
	[ "$oos" -ge $((6 << 20)) ] && [ "$oos" -lt $((48 << 20)) ]
	copied=$(mjq '.resync.copied')
	# the link comes back: the worker finds the remote and resyncs
	ip link set "$VETH" up
	wait_state in-sync
	[ "$(mjq '.resync.copied')" = $((copied + oos)) ]
	run -0 --separate-stderr ipstor mirror verify p/v --json
	jq -e '.verify.identical and .verify.compared_legs == [1]' <<<"$output"
	# neither side was corrupted: the remote holds the volume's bytes
	ipstor vol read p/v >"$D/local"
	[ "$(remote_sha)" = "$(sha "$D/local")" ]
	IPSTOR_STATE_DIR=$RSTATE ip netns exec "$NS" "$IPSTOR_BIN" pool check r
	ipstor pool check p
}

@test "an asynchronous remote leg: writes do not wait for it, lag is bounded, a partition costs only what was queued" {
	require_cmd nbdcopy
	ipstor server start >/dev/null
	run -2 --separate-stderr ipstor mirror add p/v --remote "$URI" --async --max-lag 4K
	[ "$stderr" = "ipstor: --max-lag must be at least 1 MiB" ]
	ipstor mirror add p/v --remote "$URI" --async --max-lag 2M
	wait_state in-sync
	[ "$(mjq '.legs[1].async')" = true ]
	[ "$(mjq '.legs[1].max_lag')" = $((2 << 20)) ]
	pattern "$D/b" 8M b
	ipstor vol write p/v "$D/b" --offset 16M
	run -0 --separate-stderr ipstor mirror verify p/v
	ip link set "$VETH" down
	ipstor vol write p/v "$D/b" --offset 0
	ipstor vol read p/v --length 8M | cmp - "$D/b"
	ip link set "$VETH" up
	wait_state in-sync
	run -0 --separate-stderr ipstor mirror verify p/v
	ipstor vol read p/v >"$D/local"
	[ "$(remote_sha)" = "$(sha "$D/local")" ]
}

@test "bad remotes: a remote smaller than the volume, one that does not answer, neither nbd:// nor ipstor://" {
	before=$(pool_fingerprint p)
	run -2 --separate-stderr ipstor mirror add p/v --remote "nbd://$NET.2:$RPORT/small"
	[ "$stderr" = "ipstor: 'nbd://$NET.2:$RPORT/small' is smaller than volume 'p/v' (16 MiB; a leg needs 48 MiB)" ]
	run -4 --separate-stderr ipstor mirror add p/v --remote "nbd://$NET.2:$RPORT/nope"
	[[ $stderr == "ipstor: cannot connect to 'nbd://$NET.2:$RPORT/nope': "* ]]
	run -2 --separate-stderr ipstor mirror add p/v --remote "http://$NET.2/x"
	[ "$stderr" = "ipstor: 'http://$NET.2/x' is not an nbd:// or ipstor:// URI" ]
	[ "$(pool_fingerprint p)" = "$before" ]
}

@test "a remote leg over the UDP protocol (ipstor://) with a secret: a cut link degrades, restoring it resyncs, both sides identical" {
	require_cmd nbdcopy
	head -c 32 /dev/urandom >"$D/key"
	head -c 32 /dev/urandom >"$D/other-key"
	UPORT=10810
	IPSTOR_STATE_DIR=$RSTATE ipstor export add r/copy --proto udp --name ucopy \
		--listen "$NET.2:$UPORT" --allow "$NET.0/24" --secret-file "$D/key" >/dev/null
	UURI="ipstor://$NET.2:$UPORT/ucopy"
	ipstor server start >/dev/null
	before=$(pool_fingerprint p)
	run -2 --separate-stderr ipstor mirror add p/v --remote "$UURI" --async
	[ "$stderr" = "ipstor: an ipstor:// leg is synchronous; --async needs an nbd:// leg" ]
	run -2 --separate-stderr ipstor mirror add p/v --remote "$URI" --secret-file "$D/key"
	[ "$stderr" = "ipstor: --secret-file is for ipstor:// legs" ]
	run -3 --separate-stderr ipstor mirror add p/v --remote "$UURI" --secret-file "$D/other-key"
	[[ $stderr == *"access denied"* ]]
	[ "$(pool_fingerprint p)" = "$before" ]

	ipstor mirror add p/v --remote "$UURI" --secret-file "$D/key"
	wait_state in-sync
	[ "$(mjq '.legs[1].kind + " " + .legs[1].target')" = "ipstor $UURI" ]
	# the metadata names the secret's file, never the secret
	ipstor pool dump p | jq -e --arg f "$D/key" \
		'[.devices[0].metadata_copies[].config.mirrors[0].legs[1].secret_file] | all(. == $f)'
	! ipstor pool dump p | grep -q "$(od -An -tx1 "$D/key" | tr -d ' \n')"
	[ "$(remote_sha)" = "$(sha "$D/data")" ]
	ip link set "$VETH" down
	pattern "$D/a" 3M a
	ipstor vol write p/v "$D/a" --offset 7M
	[ "$(mjq '.state')" = degraded ]
	[ "$(mjq '.legs[1].state')" = failed ]
	grep -q "mirror of 'p/v': leg 1 (ipstor $UURI) failed" "$IPSTOR_STATE_DIR/worker.log"
	ipstor vol read p/v --offset 7M --length 3M | cmp - "$D/a"
	oos=$(mjq '.legs[1].out_of_sync')
	[ "$oos" -ge $((3 << 20)) ] && [ "$oos" -lt $((48 << 20)) ]
	copied=$(mjq '.resync.copied')
	ip link set "$VETH" up
	wait_state in-sync
	[ "$(mjq '.resync.copied')" = $((copied + oos)) ]
	run -0 --separate-stderr ipstor mirror verify p/v --json
	jq -e '.verify.identical and .verify.compared_legs == [1]' <<<"$output"
	ipstor vol read p/v >"$D/local"
	[ "$(remote_sha)" = "$(sha "$D/local")" ]
	IPSTOR_STATE_DIR=$RSTATE ip netns exec "$NS" "$IPSTOR_BIN" pool check r
	ipstor pool check p
}
