#!/usr/bin/env bats
# Clones and rollback: byte-identical to the snapshot; a clone's writes
# never show in its origin or its siblings, and the origin's never in it.

load ../helpers/common

setup() {
	common_setup
	mkpool p 64M 48M
	ipstor vol create p/v --size 6M >/dev/null
	pattern "$D/a" 6M 1
	pattern "$D/b" 1M 2
	pattern "$D/c" 1M 3
	ipstor vol write p/v "$D/a" >/dev/null
	ipstor snap create p/v@base >/dev/null
}

@test "a clone reads exactly as its snapshot, and writes to it stay in it" {
	run -0 ipstor -v vol clone p/v@base c1
	[ "$output" = "cloned volume 'p/c1' from 'p/v@base'" ]
	ipstor vol clone p/v@base p/c2 >/dev/null
	ipstor vol read p/c1 "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	ipstor vol write p/c1 --offset 1M "$D/b" >/dev/null
	ipstor vol write p/c2 --offset 1M "$D/c" >/dev/null
	ipstor vol write p/v --offset 3M "$D/c" >/dev/null
	# the origin, its snapshot and the sibling never see another's writes
	ipstor vol read p/v@base "$D/snap"
	[ "$(sha "$D/snap")" = "$(sha "$D/a")" ]
	cp "$D/a" "$D/want1" && dd if="$D/b" of="$D/want1" bs=1M seek=1 conv=notrunc status=none
	cp "$D/a" "$D/want2" && dd if="$D/c" of="$D/want2" bs=1M seek=1 conv=notrunc status=none
	cp "$D/a" "$D/wantv" && dd if="$D/c" of="$D/wantv" bs=1M seek=3 conv=notrunc status=none
	ipstor vol read p/c1 "$D/got1"
	ipstor vol read p/c2 "$D/got2"
	ipstor vol read p/v "$D/gotv"
	[ "$(sha "$D/got1")" = "$(sha "$D/want1")" ]
	[ "$(sha "$D/got2")" = "$(sha "$D/want2")" ]
	[ "$(sha "$D/gotv")" = "$(sha "$D/wantv")" ]
	run -0 ipstor pool check p
}

@test "a clone records its origin, shares its chunks, and outlives the snapshot and the origin" {
	ipstor vol clone p/v@base c1 >/dev/null
	run -0 ipstor --json vol show p/c1
	jq -e '.volume.origin.snapshot == "v@base" and .volume.thin == false
		and .volume.size == 6291456' <<<"$output"
	run -0 ipstor vol show p/c1
	assert_line --regexp '^origin: +v@base$'
	# three trees, one copy of the data
	run -0 --separate-stderr ipstor --json pool show p
	jq -e '.pool.allocated < 7 * 1048576' <<<"$output"
	ipstor snap delete p/v@base --yes >/dev/null
	ipstor vol delete p/v --yes >/dev/null
	run -0 ipstor --json vol show p/c1
	jq -e '.volume.origin.snapshot == null and (.volume.origin.snapshot_uuid | length) == 36' <<<"$output"
	ipstor vol read p/c1 "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	run -0 ipstor pool check p
}

@test "clone errors: existing name, missing snapshot, another pool, not a snapshot" {
	mkpool q 32M
	run -5 --separate-stderr ipstor vol clone p/v@base v
	[ "$stderr" = "ipstor: volume 'v' already exists in pool 'p'" ]
	run -4 --separate-stderr ipstor vol clone p/v@nope c
	[ "$stderr" = "ipstor: snapshot 'v@nope' not found in pool 'p'" ]
	run -2 --separate-stderr ipstor vol clone p/v@base q/c
	[ "$stderr" = "ipstor: a clone lives in the pool of its snapshot ('p'), not in 'q'" ]
	run -2 ipstor vol clone p/v c
	run -2 ipstor vol clone p/v@base 'bad name'
	run -0 --separate-stderr ipstor --json vol list
	jq -e '[.volumes[].name] == ["v"]' <<<"$output"
}

@test "rollback makes the volume byte-identical to the snapshot and keeps every snapshot" {
	ipstor vol write p/v --offset 2M "$D/b" >/dev/null
	ipstor snap create p/v@later >/dev/null
	ipstor vol write p/v --offset 4M "$D/c" >/dev/null
	run -0 ipstor -v snap rollback p/v@base --yes
	[ "$output" = "rolled volume 'v' back to 'p/v@base'" ]
	ipstor vol read p/v "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	# the newer snapshot is still there, and still what it was
	cp "$D/a" "$D/wantl" && dd if="$D/b" of="$D/wantl" bs=1M seek=2 conv=notrunc status=none
	ipstor vol read p/v@later "$D/gotl"
	[ "$(sha "$D/gotl")" = "$(sha "$D/wantl")" ]
	ipstor snap rollback p/v@later --yes >/dev/null
	ipstor vol read p/v "$D/got2"
	[ "$(sha "$D/got2")" = "$(sha "$D/wantl")" ]
	# writing after a rollback does not touch the snapshot
	ipstor vol write p/v "$D/c" >/dev/null
	ipstor vol read p/v@later "$D/gotl2"
	[ "$(sha "$D/gotl2")" = "$(sha "$D/wantl")" ]
	run -0 ipstor pool check p
}

@test "rollback restores the snapshot's size" {
	ipstor vol resize p/v --size 10M >/dev/null
	ipstor vol write p/v --offset 8M "$D/b" >/dev/null
	ipstor snap rollback p/v@base --yes >/dev/null
	run -0 ipstor --json vol show p/v
	jq -e '.volume.size == 6291456' <<<"$output"
	ipstor vol read p/v "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	run -0 ipstor pool check p
}
