#!/usr/bin/env bats
# ipstor disk list: block devices from udev, member files from the state,
# with size, signatures and whether they are in use.

load ../helpers/common

setup() {
	common_setup
}

teardown() {
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null || true
}

@test "a loop device with a filesystem shows its size and signature" {
	[ "$(id -u)" = 0 ] || skip "needs root for losetup"
	require_cmd mkfs.ext4
	mkdev fs.img 24M
	mkfs.ext4 -q "$D/fs.img"
	LOOP=$(losetup -f --show "$D/fs.img") || skip "no loop devices here"
	run -0 ipstor disk list --json
	echo "$output" | jq -e --arg d "$LOOP" '.disks[] | select(.path == $d) |
		.size == 25165824 and .type == "disk" and (.signatures | index("an ext4 filesystem")) and .in_use == false'
	# the file behind it is in use: a pool on it is refused
	run -5 ipstor pool create p "$D/fs.img" --force
}

@test "pool member files are listed with their pool" {
	mkpool tank 16M
	uuid=$(ipstor pool show tank --json | jq -r .pool.uuid)
	run -0 ipstor disk list --json
	echo "$output" | jq -e --arg f "$D/tank-0.img" --arg u "$uuid" '.disks[] | select(.path == $f) |
		.type == "file" and .pool_uuid == $u and .in_use == true and .use == "pool member"'
	run -0 ipstor disk list
	assert_line --regexp "^$D/tank-0.img +file +16 MiB"
}
