#!/usr/bin/env bats
# vol map / vol unmap: a volume as a device-mapper linear device. The
# tables (--dry-run) and every refusal are checked here against real loop
# devices; creating and removing the devices needs the kernel's dm
# driver, and those tests skip where it is missing.

load ../helpers/common

setup() {
	common_setup
	[ "$(id -u)" = 0 ] || skip "needs root for losetup"
	LOOPS=()
}

teardown() {
	stop_worker
	for n in ipstor-tank-v ipstor-tank-c dm-test-ro; do
		[ -e "/dev/mapper/$n" ] && dmsetup remove --force "$n" 2>/dev/null
	done
	for l in "${LOOPS[@]}"; do
		losetup -d "$l" 2>/dev/null || true
	done
}

# loopdev NAME SIZE: a loop device over a fresh sparse file (in LOOPS)
loopdev() {
	truncate -s "$2" "$D/$1"
	local l
	l=$(losetup -f --show "$D/$1") || skip "no loop devices here"
	LOOPS+=("$l")
	echo "$l"
}

# looppool NAME SIZE...: a pool on loop devices
looppool() {
	local name=$1 i=0 devs=()
	shift
	for s in "$@"; do
		loopdev "$name-$i.img" "$s" >/dev/null
		devs+=("${LOOPS[-1]}")
		i=$((i + 1))
	done
	ipstor pool create "$name" "${devs[@]}" >/dev/null
}

need_dm() {
	[ -e /dev/mapper/control ] || skip "no device-mapper in this kernel"
	require_cmd dmsetup
}

# check_table VOL TABLEFILE: the table covers the volume from sector 0
# without gaps, and every extent reads, on its member device, what
# vol read finds at the same place of the volume
check_table() {
	local vol=$1 table=$2 next=0 start len tgt mm off dev size
	size=$(ipstor vol show "$vol" --json | jq .volume.size)
	while read -r start len tgt mm off; do
		[ "$tgt" = linear ]
		[ "$start" = "$next" ]
		dev=
		for l in "${LOOPS[@]}"; do
			[ "$(stat -c '%Hr:%Lr' "$l")" = "$mm" ] && dev=$l
		done
		[ -n "$dev" ]
		dd if="$dev" bs=512 skip="$off" count="$len" status=none | sha >"$D/a"
		ipstor vol read "$vol" --offset $((start * 512)) --length $((len * 512)) | sha >"$D/b"
		cmp "$D/a" "$D/b"
		next=$((start + len))
	done <"$table"
	[ $((next * 512)) = "$size" ]
}

@test "dry run: a striped thick volume's table maps every sector to where vol read finds the data" {
	looppool tank 48M 48M
	ipstor vol create tank/v --size 6M
	pattern "$D/data" 6M 1
	ipstor vol write tank/v "$D/data"
	run -0 --separate-stderr ipstor vol map tank/v --dry-run
	echo "$output" >"$D/table"
	# two stripes of 256 KiB chunks: 24 targets alternating devices
	[ "$(wc -l <"$D/table")" = 24 ]
	[ "$(awk 'NR % 2 == 1 { print $4 }' "$D/table" | sort -u | wc -l)" = 1 ]
	[ "$(awk '{ print $4 }' "$D/table" | sort -u | wc -l)" = 2 ]
	check_table tank/v "$D/table"
	# the same table under --json, with the dm UUID made of the UUIDs
	pu=$(ipstor pool show tank --json | jq -r .pool.uuid)
	vu=$(ipstor vol show tank/v --json | jq -r .volume.uuid)
	run -0 ipstor vol map tank/v --dry-run --json
	echo "$output" | jq -e --arg u "IPSTOR-$pu-$vu" '.version == 1 and
		.map.uuid == $u and .map.name == "ipstor-tank-v" and
		.map.device == "/dev/mapper/ipstor-tank-v" and .map.read_only == false and
		(.map.table | length) == 24'
	echo "$output" | jq -r '.map.table[] | "\(.start) \(.length) \(.target) \(.device) \(.offset)"' | cmp - "$D/table"
}

@test "dry run: physically contiguous chunks coalesce into one target" {
	looppool tank 48M 48M
	ipstor vol create tank/c --size 5M --contiguous
	pattern "$D/data" 5M 2
	ipstor vol write tank/c "$D/data"
	run -0 ipstor vol map tank/c --dry-run
	echo "$output" >"$D/table"
	[ "$(wc -l <"$D/table")" = 1 ]
	[ "$(awk '{ print $1, $2 }' "$D/table")" = "0 10240" ]
	check_table tank/c "$D/table"
	# a thin volume written whole maps too, and its chunks, allocated in
	# order on one device, coalesce as far as they are contiguous
	ipstor vol create tank/t --size 2M --thin --stripes 1
	pattern "$D/t" 2M 3
	ipstor vol write tank/t "$D/t"
	run -0 ipstor vol map tank/t --dry-run
	echo "$output" >"$D/table"
	[ "$(wc -l <"$D/table")" -lt 8 ]
	check_table tank/t "$D/table"
}

@test "dry run changes nothing and works without device-mapper" {
	looppool tank 48M
	ipstor vol create tank/v --size 4M
	before=$(pool_fingerprint tank)
	run -0 ipstor vol map tank/v --dry-run --name other --read-only --json
	echo "$output" | jq -e '.map.name == "other" and .map.read_only == true'
	[ "$(pool_fingerprint tank)" = "$before" ]
	[ ! -e /dev/mapper/other ]
}

@test "refused: a thin volume with holes, a volume sharing chunks with a snapshot, a mirror, a file member" {
	looppool tank 48M 48M
	ipstor vol create tank/t --size 4M --thin
	printf x | ipstor vol write tank/t --offset 1M
	run -6 --separate-stderr ipstor vol map tank/t --dry-run
	[ "$stderr" = "ipstor: volume 't' has unallocated chunks (the first at 0 B; 1 of 16 allocated): device-mapper maps only allocated chunks; use a thick volume" ]

	ipstor vol create tank/v --size 4M
	ipstor snap create tank/v@s1
	run -5 --separate-stderr ipstor vol map tank/v --dry-run
	[ "$stderr" = "ipstor: volume 'v' shares chunks with its snapshot 's1' (at 0 B): device-mapper writes would change the snapshot; delete its snapshots first" ]
	# a clone shares its snapshot's chunks too
	ipstor vol clone tank/v@s1 cl
	run -5 --separate-stderr ipstor vol map tank/cl --dry-run
	[[ "$stderr" == *"shares chunks with a snapshot or clone"* ]]
	ipstor vol delete tank/cl --yes
	ipstor snap delete tank/v@s1 --yes
	run -0 ipstor vol map tank/v --dry-run

	mkpool q 64M
	ipstor mirror add tank/v --pool q
	run -6 --separate-stderr ipstor vol map tank/v --dry-run
	[ "$stderr" = "ipstor: volume 'v' is mirrored: device-mapper writes would bypass its legs" ]

	mkpool f 32M
	ipstor vol create f/v --size 1M
	run -6 --separate-stderr ipstor vol map f/v --dry-run
	[ "$stderr" = "ipstor: volume 'v' has chunks on '$D/f-0.img', a file: device-mapper maps block devices only; use a loop device (losetup) as the pool's member instead" ]
}

@test "bad input: names, references, arguments" {
	looppool tank 48M
	ipstor vol create tank/v --size 1M
	for bad in 'a/b' 'x y' '..' '.' "$(printf 'a\tb')" 'é'; do
		run -2 --separate-stderr ipstor vol map tank/v --dry-run --name "$bad"
		[[ "$stderr" == "ipstor: invalid device-mapper name '"* ]]
	done
	run -2 --separate-stderr ipstor vol map tank/v --dry-run --name ''
	[ "$stderr" = "ipstor: device-mapper name is empty" ]
	long=$(printf 'n%.0s' $(seq 128))
	run -2 --separate-stderr ipstor vol map tank/v --dry-run --name "$long"
	[ "$stderr" = "ipstor: device-mapper name 'nnnnnnnnnnnnnnnnnnnn...' is longer than 127 bytes" ]
	run -0 ipstor vol map tank/v --dry-run --name "${long:1}"
	# the default name of long pool and volume names does not fit
	p=$(printf 'p%.0s' $(seq 64)) v=$(printf 'v%.0s' $(seq 64))
	loopdev long.img 32M >/dev/null
	ipstor pool create "$p" "${LOOPS[-1]}" >/dev/null
	ipstor vol create "$p/$v" --size 1M
	run -2 --separate-stderr ipstor vol map "$p/$v" --dry-run
	[ "$stderr" = "ipstor: the default device-mapper name 'ipstor-$p-$v' is longer than 127 bytes; choose one with --name" ]
	run -0 ipstor vol map "$p/$v" --dry-run --name short
	# no such volume, a snapshot, missing and extra arguments
	run -4 ipstor vol map tank/nosuch --dry-run
	run -4 ipstor vol unmap tank/nosuch
	run -2 ipstor vol map tank/v@s --dry-run
	run -2 ipstor vol map
	run -2 ipstor vol map tank/v tank/v
	run -2 ipstor vol unmap tank/v --name x
}

@test "without device-mapper: map says so, nothing is mapped, every guarded operation goes on" {
	[ ! -e /dev/mapper/control ] || skip "this kernel has device-mapper"
	looppool tank 48M
	ipstor vol create tank/v --size 2M
	run -6 --separate-stderr ipstor vol map tank/v
	[ "$stderr" = "ipstor: no device-mapper in this kernel (/dev/mapper/control is missing): try 'modprobe dm-mod', or 'ipstor attach' for a loop device" ]
	run -4 --separate-stderr ipstor vol unmap tank/v
	[ "$stderr" = "ipstor: volume 'tank/v' is not mapped (no device-mapper in this kernel)" ]
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.mapped == null'
	ipstor snap create tank/v@s
	ipstor vol resize tank/v --size 3M
}

@test "the table is built by the worker while it serves the pool" {
	looppool tank 48M 48M
	ipstor vol create tank/v --size 2M
	offline=$(ipstor vol map tank/v --dry-run)
	ipstor server start
	run -0 ipstor vol map tank/v --dry-run
	[ "$output" = "$offline" ]
	stop_worker
}

# ---- with device-mapper ------------------------------------------------

@test "dm: map creates the device, reads and writes reach the volume, unmap removes it" {
	need_dm
	looppool tank 48M 48M
	ipstor vol create tank/v --size 6M
	pattern "$D/data" 6M 4
	ipstor vol write tank/v "$D/data"
	run -0 ipstor vol map tank/v
	[ -b /dev/mapper/ipstor-tank-v ]
	[ "$(sha /dev/mapper/ipstor-tank-v)" = "$(sha "$D/data")" ]
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.mapped == "/dev/mapper/ipstor-tank-v"'
	pattern "$D/new" 1M 5
	dd if="$D/new" of=/dev/mapper/ipstor-tank-v bs=1M seek=2 oflag=direct status=none
	[ "$(ipstor vol read tank/v --offset 2M --length 1M | sha)" = "$(sha "$D/new")" ]
	run -5 ipstor vol map tank/v
	ipstor vol unmap tank/v
	[ ! -e /dev/mapper/ipstor-tank-v ]
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.mapped == null'
}

@test "dm: while mapped, what would move or share its chunks is refused, naming the device" {
	need_dm
	looppool tank 48M 48M
	mkpool q 64M
	ipstor vol create tank/v --size 4M
	ipstor vol map tank/v --name dm-test-ro
	dev=/dev/mapper/dm-test-ro
	for cmd in "snap create tank/v@s" "vol delete tank/v --yes" \
		"vol resize tank/v --size 8M" "mirror add tank/v --pool q" \
		"pool destroy tank --yes"; do
		run -5 --separate-stderr ipstor $cmd
		[[ "$stderr" == *"is mapped as $dev"* ]]
	done
	# the pool opens though dm holds its devices, and renaming is fine
	ipstor vol create tank/w --size 1M
	ipstor vol rename tank/v v2
	ipstor vol unmap tank/v2
	ipstor snap create tank/v2@s
}

@test "dm: an open device is removed only with --force (deferred); --read-only refuses writes" {
	need_dm
	looppool tank 48M
	ipstor vol create tank/v --size 2M
	ipstor vol map tank/v --read-only
	run ! dd if=/dev/zero of=/dev/mapper/ipstor-tank-v bs=4k count=1 oflag=direct status=none
	exec 3</dev/mapper/ipstor-tank-v
	run -5 --separate-stderr ipstor vol unmap tank/v
	[[ "$stderr" == *"is open (1 opener)"* ]]
	ipstor vol unmap tank/v --force
	exec 3<&-
	run -4 ipstor vol unmap tank/v
}
