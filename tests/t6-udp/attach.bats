#!/usr/bin/env bats
# ipstor attach: a remote volume as a file through FUSE, with a loop
# device and a filesystem on top; ipstor detach flushes and unmounts.

load ../helpers/common
load ../helpers/udp

setup() {
	common_setup
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	mkpool tank 512M
	ipstor vol create tank/v --size 256M --thin
	printf 'attach me\n' >"$D/key"
	UPORT=$(free_udp_port)
	start_udp tank/v --secret-file "$D/key"
}

teardown() {
	mountpoint -q "$D/mnt" 2>/dev/null && umount "$D/mnt"
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
	[ -f "$D/vol.img" ] && "$IPSTOR_BIN" detach "$D/vol.img" >/dev/null 2>&1
	stop_worker
	true
}

@test "attach makes the volume a file; writes through it are durable after detach" {
	pattern "$D/in" 3M 4
	ipstor remote write "$UURI" "$D/in" --offset 1M --secret-file "$D/key"
	run -0 ipstor -v attach "$UURI" "$D/vol.img" --secret-file "$D/key"
	assert_output --regexp "^attached '$UURI' at '$D/vol.img' \(256 MiB, pid [0-9]+\)$"
	[ "$(stat -c %s "$D/vol.img")" = 268435456 ]
	cmp <(dd if="$D/vol.img" bs=1M skip=1 count=3 status=none) "$D/in"
	pattern "$D/in2" 1M 5
	dd if="$D/in2" of="$D/vol.img" bs=64K seek=160 conv=notrunc,fsync status=none
	run -0 ipstor -v detach "$D/vol.img"
	assert_output "detached '$D/vol.img'"
	! mountpoint -q "$D/vol.img"
	ipstor remote read "$UURI" --offset 10M --length 1M --secret-file "$D/key" | cmp - "$D/in2"
	ipstor vol read tank/v --offset 10M --length 1M | cmp - "$D/in2"
}

@test "attach refuses a wrong secret, a directory, a bad URI; detach what is not attached" {
	run -4 ipstor attach "$UURI" "$D/vol.img" --secret-file "$D/nosuch"
	printf 'nope\n' >"$D/bad"
	run -3 --separate-stderr ipstor attach "$UURI" "$D/vol.img" --secret-file "$D/bad"
	[ "$stderr" = "ipstor: '$UURI': access denied (wrong secret or address not allowed)" ]
	! mountpoint -q "$D/vol.img"
	mkdir "$D/dir"
	run -2 --separate-stderr ipstor attach "$UURI" "$D/dir" --secret-file "$D/key"
	[ "$stderr" = "ipstor: '$D/dir' is not a regular file" ]
	run -2 ipstor attach "nbd://127.0.0.1:$UPORT/v" "$D/vol.img"
	run -4 --separate-stderr ipstor detach "$D/vol.img"
	[ "$stderr" = "ipstor: '$D/vol.img' is not attached" ]
}

@test "ext4 over attach and a loop device: mkfs, mount, copy a tree, umount, fsck clean, and it persists" {
	require_cmd mkfs.ext4
	require_cmd losetup
	ipstor attach "$UURI" "$D/vol.img" --secret-file "$D/key"
	LOOP=$(losetup -f --show "$D/vol.img") || skip "no loop device"
	mkfs.ext4 -q -E nodiscard "$LOOP"
	mkdir "$D/mnt"
	mount "$LOOP" "$D/mnt"
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	cp -a "$ROOT/lib" "$ROOT/docs" "$D/mnt/"
	(cd "$ROOT" && find lib docs -type f -exec sha256sum {} + | sort) >"$D/want"
	umount "$D/mnt"
	run -0 fsck.ext4 -fn "$LOOP"
	losetup -d "$LOOP"
	LOOP=
	# detach (flush), attach again: the tree is there
	run -0 ipstor -v detach "$D/vol.img"
	ipstor attach "$UURI" "$D/vol.img" --secret-file "$D/key"
	LOOP=$(losetup -f --show -r "$D/vol.img")
	mount -o ro "$LOOP" "$D/mnt"
	(cd "$D/mnt" && find lib docs -type f -exec sha256sum {} + | sort) >"$D/got"
	cmp "$D/want" "$D/got"
	umount "$D/mnt"
	losetup -d "$LOOP"
	LOOP=
	run -0 ipstor -v detach "$D/vol.img"
}
