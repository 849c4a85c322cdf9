#!/usr/bin/env bats
# Mirroring: legs on devices and pools, writes reaching every leg, bad
# input refused with nothing lost, split and verify. Offline (the command
# opens the pools itself); the worker's side is in failure.bats.

load ../helpers/common

setup() {
	common_setup
	mkpool p 160M
	mkpool q 160M
	ipstor vol create p/v --size 48M
	pattern "$D/data" 48M v1
	ipstor vol write p/v "$D/data"
	truncate -s 64M "$D/leg.img"
}

teardown() {
	stop_worker
}

mstatus() { # VOL JQ
	ipstor mirror status "$1" --json | jq -r ".mirrors[0] | $2"
}

@test "a device leg syncs, holds the volume's bytes after its 1 MiB header, and takes every write" {
	ipstor mirror add p/v --device "$D/leg.img"
	[ "$(mstatus p/v '.state')" = in-sync ]
	[ "$(mstatus p/v '[.legs[].state] | join(",")')" = "in-sync,in-sync" ]
	[ "$(mstatus p/v '.legs[1].kind + " " + .legs[1].target')" = "device $D/leg.img" ]
	[ "$(head -c 17 "$D/leg.img")" = IPSTOR-MIRROR-LEG ]
	cmp <(tail -c +1048577 "$D/leg.img" | head -c 48M) "$D/data"
	# a write after the sync reaches the leg too
	pattern "$D/new" 3M v2
	ipstor vol write p/v "$D/new" --offset 5M
	cmp <(tail -c +$((6 * 1048576 + 1)) "$D/leg.img" | head -c 3M) "$D/new"
	run -0 ipstor mirror verify p/v --json
	jq -e '.verify.identical and .verify.compared_legs == [1]' <<<"$output"
	ipstor vol read p/v --length 5M | cmp - <(head -c 5M "$D/data")
}

@test "a pool leg is a hidden thick volume of the other pool; removing it frees it" {
	ipstor mirror add p/v --pool q
	[ "$(mstatus p/v '.legs[1].state')" = in-sync ]
	[[ $(mstatus p/v '.legs[1].target') == q/m*.l1 ]]
	# hidden: not listed, not counted, not writable by name
	[ "$(ipstor vol list --json | jq '.volumes | length')" = 1 ]
	[ "$(ipstor pool show q --json | jq '.pool.volume_count')" = 0 ]
	[ "$(ipstor pool show q --json | jq '.pool.allocated >= 48*1048576')" = true ]
	leg=$(mstatus p/v '.legs[1].target')
	run -5 --separate-stderr ipstor vol delete "$leg" --yes
	run -0 ipstor mirror verify p/v
	ipstor mirror remove p/v --leg 1 --yes
	run -4 --separate-stderr ipstor mirror status p/v
	[ "$stderr" = "ipstor: volume 'p/v' is not mirrored" ]
	[ "$(ipstor pool show q --json | jq '.pool.allocated')" = 0 ]
	ipstor pool check p
	ipstor pool check q
	ipstor vol read p/v | cmp - "$D/data"
}

@test "a leg in the volume's own pool lands on other devices, or is refused" {
	mkpool r 64M 64M
	ipstor vol create r/c --size 16M --contiguous
	ipstor mirror add r/c --pool r
	ipstor mirror status r/c --json >"$D/st"
	dev_c=$(ipstor vol show r/c --json | jq -r '.volume.stripe_devices[0]')
	ipstor pool dump r | jq -e --arg c "$(mstatus r/c '.legs[1].target' | cut -d/ -f2)" \
		'[.devices[0].metadata_copies[] | .config.volumes[]? | select(.name == $c) | .hidden] | any'
	ipstor vol create r/w --size 16M
	run -2 --separate-stderr ipstor mirror add r/w --pool r
	[ "$stderr" = "ipstor: a leg on the same device: every device of pool 'r' holds chunks of 'w'" ]
	[ -n "$dev_c" ]
}

@test "bad input: a leg smaller than the volume, a pool member, removing leg 0 or the last leg in sync, bad sizes" {
	truncate -s 40M "$D/small.img"
	before=$(pool_fingerprint p)
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/small.img"
	[ "$stderr" = "ipstor: '$D/small.img' is smaller than volume 'p/v' (40 MiB; a leg needs 49 MiB)" ]
	run -5 --separate-stderr ipstor mirror add p/v --device "$D/q-0.img"
	[ "$stderr" = "ipstor: a leg on the same device: '$D/q-0.img' is a member of pool 'q'" ]
	run -5 --separate-stderr ipstor mirror add p/v --device "$D/p-0.img"
	[[ $stderr == *"is a member of pool 'p'" ]]
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/leg.img" --region-size 3000
	[ "$stderr" = "ipstor: the region size must be a power of two from 4 KiB to 1 GiB" ]
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/leg.img" --pool q
	[ "$stderr" = "ipstor: a leg is one of --pool, --device or --remote" ]
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/leg.img" --async
	run -4 --separate-stderr ipstor mirror add p/nope --device "$D/leg.img"
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/leg.img" --resync-rate 12Q
	# nothing was written anywhere: the pool is as it was, the files too
	[ "$(pool_fingerprint p)" = "$before" ]
	[ "$(head -c 4M "$D/small.img" | tr -d '\0' | wc -c)" = 0 ]
	[ "$(head -c 4M "$D/leg.img" | tr -d '\0' | wc -c)" = 0 ]
	ipstor pool check p

	mkfs.ext4 -q -F "$D/leg.img"
	run -5 --separate-stderr ipstor mirror add p/v --device "$D/leg.img"
	[[ $stderr == "ipstor: '$D/leg.img' carries an ext4 filesystem; use --force to overwrite it" ]]
	ipstor mirror add p/v --device "$D/leg.img" --force
	run -2 --separate-stderr ipstor mirror remove p/v --leg 0 --yes
	[ "$stderr" = "ipstor: leg 0 is the volume's own map; it cannot be removed" ]
	run -2 --separate-stderr ipstor mirror remove p/v --leg 1
	[ "$stderr" = "ipstor: refusing to remove leg 1 of 'p/v' without --yes" ]
	run -4 --separate-stderr ipstor mirror remove p/v --leg 3 --yes
	run -5 --separate-stderr ipstor vol delete p/v --yes
	[ "$stderr" = "ipstor: volume 'p/v' is mirrored; remove its legs before you delete it" ]
	run -5 --separate-stderr ipstor vol resize p/v --size 64M
	# leg 0 fails (bad sectors in its data, not in the bitmap after it): leg 1 is the last in sync
	ipstor disk fault "$D/p-0.img" --error --range 4M:30M
	pattern "$D/new" 1M v3
	ipstor vol write p/v "$D/new" --offset 10M
	[ "$(mstatus p/v '[.legs[].state] | join(",")')" = "failed,in-sync" ]
	ipstor vol read p/v --offset 10M --length 1M | cmp - "$D/new"
	run -5 --separate-stderr ipstor mirror remove p/v --leg 1 --yes
	[ "$stderr" = "ipstor: refusing to remove leg 1 of 'p/v': it is the last leg in sync" ]
	run -5 --separate-stderr ipstor mirror split p/v snap
	[[ $stderr == "ipstor: the mirror of 'p/v' is degraded (leg 0 is failed); repair it before splitting" ]]
	ipstor disk heal "$D/p-0.img"
	ipstor mirror repair p/v
	[ "$(mstatus p/v '[.legs[].state] | join(",")')" = "in-sync,in-sync" ]
	ipstor mirror verify p/v
	ipstor vol read p/v --offset 10M --length 1M | cmp - "$D/new"
}

@test "split: the pool leg becomes a volume holding the data of the split point" {
	ipstor mirror add p/v --device "$D/leg.img"
	ipstor mirror add p/v --pool q
	run -6 --separate-stderr ipstor mirror split p/v x --leg 1
	[ "$stderr" = "ipstor: leg 1 is a device leg; only a leg in a pool can become a volume" ]
	ipstor mirror split p/v copy
	ipstor vol read q/copy | cmp - "$D/data"
	[ "$(ipstor vol list --json | jq -r '[.volumes[].name] | sort | join(",")')" = copy,v ]
	# independent from now on
	pattern "$D/new" 2M v4
	ipstor vol write p/v "$D/new"
	ipstor vol read q/copy | cmp - "$D/data"
	[ "$(mstatus p/v '.legs | length')" = 2 ]
	run -2 --separate-stderr ipstor mirror split p/v 'bad/name'
	ipstor mirror verify p/v
}

@test "verify names the ranges where legs differ" {
	ipstor mirror add p/v --device "$D/leg.img" --region-size 64K
	[ "$(mstatus p/v '.region_size')" = 65536 ]
	# damage the leg behind the mirror's back: 4 KiB at 3 MiB + 8 KiB
	printf 'XXXX' | dd of="$D/leg.img" bs=1 seek=$((1048576 + 3 * 1048576 + 8192)) conv=notrunc status=none
	run -1 --separate-stderr ipstor mirror verify p/v
	[ "$output" = "differ: 3145728+65536 on leg 1" ]
	[ "$stderr" = "ipstor: the legs of 'p/v' differ in 1 range (65536 bytes)" ]
	run -1 --separate-stderr ipstor mirror verify p/v --json
	jq -e '.verify.identical == false and .verify.differences == [{"offset":3145728,"length":65536,"legs":[1]}]' <<<"$output"
}

@test "hostile and concurrent input: a pool without room, oversized names, two adds at once" {
	mkpool t 40M
	before=$(pool_fingerprint p)
	run -1 --separate-stderr ipstor mirror add p/v --pool t
	[[ $stderr == "ipstor: pool 't' has "*" free; this needs "* ]]
	[ "$(ipstor pool show t --json | jq '.pool.allocated')" = 0 ]
	long=$D/$(printf 'x%.0s' $(seq 300))
	run -2 --separate-stderr ipstor mirror add p/v --device "$long"
	[[ $stderr == "ipstor: '"*"...' is too long for a device path (at most 255 bytes)" ]]
	run -2 --separate-stderr ipstor mirror add p/v --remote "nbd://127.0.0.1:1/$(printf 'y%.0s' $(seq 300))"
	[[ $stderr == *"is not an nbd:// or ipstor:// URI" ]]
	run -2 --separate-stderr ipstor mirror add p/v --device "$D/leg.img" --region-size 99999999999999999999
	run -2 --separate-stderr ipstor mirror remove p/v --leg x --yes
	[ "$(pool_fingerprint p)" = "$before" ]
	ipstor pool check t

	# the same device twice at once: one leg, one clear refusal
	ipstor mirror add p/v --device "$D/leg.img" & a=$!
	ipstor mirror add p/v --device "$D/leg.img" 2>"$D/err" & b=$!
	sa=0 sb=0
	wait "$a" || sa=$?
	wait "$b" || sb=$?
	[ $((sa + sb)) = 5 ] && [ $((sa * sb)) = 0 ]
	[ "$(mstatus p/v '.legs | length')" = 2 ]
	# two different legs at once: both added, in either order
	truncate -s 64M "$D/leg2.img"
	ipstor mirror add p/v --device "$D/leg2.img" & a=$!
	ipstor mirror add p/v --pool q & b=$!
	wait "$a"
	wait "$b"
	[ "$(mstatus p/v '[.legs[].state] | join(",")')" = "in-sync,in-sync,in-sync,in-sync" ]
	ipstor mirror verify p/v
	ipstor pool check p
	ipstor pool check q
}
