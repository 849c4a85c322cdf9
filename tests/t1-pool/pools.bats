#!/usr/bin/env bats
# Pool lifecycle, and every way pool create/extend refuses a device: with
# the exact message, the exit code, and proof that nothing changed.

load ../helpers/common

setup() {
	common_setup
}

@test "create over files of different sizes; list and show report them" {
	mkdev a.img 100M
	mkdev b.img 60M
	mkdev c.img 40M
	run -0 ipstor -v pool create tank "$D/a.img" "$D/b.img" "$D/c.img"
	assert_output "created pool 'tank' on 3 devices"
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools | length == 1'
	echo "$output" | jq -e '.pools[0] | .name == "tank" and .device_count == 3 and .state == "online" and .allocated == 0 and .chunk_size == 262144'
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '[.pool.devices[].path] == ["'"$D"'/a.img", "'"$D"'/b.img", "'"$D"'/c.img"]'
	echo "$output" | jq -e '.pool.size == ([.pool.devices[].capacity] | add)'
	run -0 ipstor pool show tank
	assert_line --regexp '^name: +tank$'
	assert_line --regexp '^ +0  '"$D"'/a.img +online +100 MiB'
}

@test "--dry-run validates and writes nothing" {
	mkdev a.img 32M
	sha256sum "$D/a.img" >"$D/before"
	run -0 ipstor -n pool create tank "$D/a.img"
	assert_output "would create pool 'tank' on 1 device"
	sha256sum -c "$D/before"
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools == []'
	# and a dry run still fails on what a real run would fail on
	run -2 ipstor -n pool create tank "$D/a.img" "$D/a.img"
}

@test "--chunk-size and --metadata-size are honoured and validated" {
	mkdev a.img 64M
	run -2 --separate-stderr ipstor pool create t "$D/a.img" --chunk-size 96K
	[ "$stderr" = "ipstor: chunk size must be a power of two from 4 KiB to 64 MiB" ]
	run -2 --separate-stderr ipstor pool create t "$D/a.img" --metadata-size 1000
	[ "$stderr" = "ipstor: metadata size must be a multiple of 4 KiB from 64 KiB to 64 MiB" ]
	run -0 ipstor pool create t "$D/a.img" --chunk-size 1M --metadata-size 256K
	run -0 ipstor pool show t --json
	echo "$output" | jq -e '.pool.chunk_size == 1048576 and .pool.metadata_copy_size == 262144'
}

@test "bad input to create: exact error, exit code, nothing written" {
	mkdev a.img 32M
	mkdev small.img 2M
	sha256sum "$D/a.img" "$D/small.img" >"$D/before"
	run -2 --separate-stderr ipstor pool create tank "$D/a.img" "$D/a.img"
	[ "$stderr" = "ipstor: device '$D/a.img' is given twice" ]
	ln -s "$D/a.img" "$D/alias.img"
	run -2 --separate-stderr ipstor pool create tank "$D/a.img" "$D/alias.img"
	[ "$stderr" = "ipstor: device '$D/alias.img' is given twice" ]
	run -2 --separate-stderr ipstor pool create tank "$D/a.img" "$D/small.img"
	[ "$stderr" = "ipstor: '$D/small.img' is too small (2 MiB; a member needs at least 3.3 MiB with these chunk and metadata sizes)" ]
	run -4 --separate-stderr ipstor pool create tank "$D/a.img" "$D/nosuch.img"
	[ "$stderr" = "ipstor: cannot open '$D/nosuch.img': No such file or directory" ]
	run -2 --separate-stderr ipstor pool create 'bad name' "$D/a.img"
	[ "$stderr" = "ipstor: invalid pool name 'bad name': only letters, digits and _ . + - are allowed" ]
	run -2 --separate-stderr ipstor pool create "$(printf 'x%.0s' {1..65})" "$D/a.img"
	[[ $stderr == *"is longer than 64 characters" ]]
	run -2 ipstor pool create ../etc "$D/a.img"
	run -2 ipstor pool create tank
	sha256sum -c "$D/before"
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools == []'
}

@test "a filesystem, a partition table or another pool's label is refused without --force" {
	require_cmd mkfs.ext4
	require_cmd sfdisk
	mkdev fs.img 32M
	mkfs.ext4 -q "$D/fs.img"
	run -5 --separate-stderr ipstor pool create t "$D/fs.img"
	[ "$stderr" = "ipstor: '$D/fs.img' carries an ext4 filesystem; use --force to overwrite it" ]
	mkdev pt.img 32M
	echo 'label: gpt' | sfdisk -q "$D/pt.img"
	run -5 --separate-stderr ipstor pool create t "$D/pt.img"
	[ "$stderr" = "ipstor: '$D/pt.img' carries a gpt partition table; use --force to overwrite it" ]
	# a label of a pool this host does not know (a disk from elsewhere)
	mkpool other 32M
	rm -r "$IPSTOR_STATE_DIR"
	run -5 --separate-stderr ipstor pool create t "$D/other-0.img"
	[ "$stderr" = "ipstor: '$D/other-0.img' carries the label of another ipstor pool; use --force to overwrite it" ]
	run -0 ipstor pool create t "$D/fs.img" "$D/pt.img" "$D/other-0.img" --force
	run blkid -p "$D/fs.img"
	refute_output --partial ext4
}

@test "a member of a known pool is refused even with --force" {
	mkpool tank 32M
	run -5 --separate-stderr ipstor pool create t2 "$D/tank-0.img" --force
	[ "$stderr" = "ipstor: '$D/tank-0.img' is a member of pool 'tank'; destroy that pool first" ]
	run -0 ipstor pool check tank
}

@test "a mounted device is always refused" {
	[ "$(id -u)" = 0 ] || skip "needs root for mount"
	require_cmd mkfs.ext4
	mkdev fs.img 32M
	mkfs.ext4 -q "$D/fs.img"
	mkdir "$D/mnt"
	mount -o loop "$D/fs.img" "$D/mnt" || skip "cannot loop-mount here"
	loopdev=$(findmnt -n -o SOURCE "$D/mnt")
	run -5 --separate-stderr ipstor pool create t "$D/fs.img" --force
	[[ $stderr == "ipstor: '$D/fs.img' is in use (backing $loopdev)" ]]
	run -5 --separate-stderr ipstor pool create t "$loopdev" --force
	[[ $stderr == *"device is in use"* ]]
	umount "$D/mnt"
}

@test "extend adds devices; new volumes use them; bad devices refused with nothing changed" {
	mkpool tank 32M
	mkdev b.img 48M
	mkdev small.img 1M
	before=$(pool_fingerprint tank)
	run -2 ipstor pool extend tank "$D/small.img"
	run -5 ipstor pool extend tank "$D/tank-0.img"
	[ "$(pool_fingerprint tank)" = "$before" ]
	run -0 ipstor -v pool extend tank "$D/b.img"
	assert_output "added 1 device to pool 'tank'"
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '.pool.device_count == 2 and .pool.devices[1].path == "'"$D"'/b.img"'
	run -0 ipstor vol create tank/v --size 40M
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.stripes == 2'
	run -0 ipstor pool check tank
	run -0 ipstor pool dump tank
	echo "$output" | jq -e '[.devices[].metadata_copies[].status] | all(. == "ok")'
}

@test "destroy needs --yes, wipes the labels and forgets the pool" {
	mkpool tank 32M 32M
	ipstor vol create tank/v --size 8M
	run -2 --separate-stderr ipstor pool destroy tank </dev/null
	[ "$stderr" = "ipstor: refusing to destroy pool 'tank' and its 1 volume without --yes" ]
	run -0 ipstor pool show tank
	run -0 ipstor -v pool destroy tank --yes
	assert_output "destroyed pool 'tank'"
	run -4 ipstor pool show tank
	# the devices are free again, no --force needed
	run -0 ipstor pool create again "$D/tank-0.img" "$D/tank-1.img"
}

@test "two pools, volumes of the same name: bare names are ambiguous, POOL/VOL works" {
	mkpool a 32M
	mkpool b 32M
	ipstor vol create a/v --size 1M
	ipstor vol create b/v --size 2M
	run -2 --separate-stderr ipstor vol show v
	[ "$stderr" = "ipstor: volume 'v' exists in pools 'a', 'b'; name it as POOL/v" ]
	run -0 ipstor vol show b/v --json
	echo "$output" | jq -e '.volume.size == 2097152'
}
