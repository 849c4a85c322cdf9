#!/usr/bin/env bats
# A filesystem end to end: nbdfuse shows the export as a file, a loop
# device turns it into a block device, ext4 goes on it; the files written
# survive a restart of the worker, and fsck finds nothing wrong.

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
	require_cmd nbdfuse
	require_cmd fusermount3
	require_cmd losetup
	require_cmd mkfs.ext4
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mount"
	[ -e /dev/loop-control ] || skip "no loop devices"
	LOOP= MNT=$D/mnt FUSE=$D/fuse
	mkdir -p "$MNT" "$FUSE"
}

teardown() {
	detach || true
	stop_serve || true
}


# attach [-r]: the export as $LOOP, through nbdfuse
attach() {
	local ro=()
	[ "${1:-}" = -r ] && ro=(-r)
	rm -f "$D/fuse.pid"
	nbdfuse "${ro[@]}" -P "$D/fuse.pid" "$FUSE" "$URI" 2>"$D/fuse.err" &
	for _ in $(seq 100); do
		[ -s "$D/fuse.pid" ] && break
		sleep 0.05
	done
	[ -s "$D/fuse.pid" ] || {
		cat "$D/fuse.err"
		return 1
	}
	LOOP=$(losetup -f --show "${ro[@]}" "$FUSE/nbd") || skip "cannot set up a loop device"
}

# unmount, detach the loop device, unmount nbdfuse (which then exits)
detach() {
	mountpoint -q "$MNT" && umount "$MNT"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	LOOP=
	mountpoint -q "$FUSE" && fusermount3 -u "$FUSE"
	for _ in $(seq 100); do
		pgrep -f "nbdfuse.*$FUSE" >/dev/null || return 0
		sleep 0.05
	done
}

# tree DIR: some directories and files of varied sizes
tree() {
	local i
	for i in $(seq 1 6); do
		mkdir -p "$1/dir$i/sub"
		pattern "$1/dir$i/small" $((i * 1000 + 7)) "s$i"
		pattern "$1/dir$i/sub/big" $((i * 1536))K "b$i"
	done
	ln -s dir1/small "$1/link"
}

@test "ext4 on nbdfuse + loop: write a tree, fsck clean, identical after a restart" {
	mkpool p 160M
	ipstor vol create p/v --size 96M --thin >/dev/null
	start_serve p/v
	attach
	mkfs.ext4 -q -F "$LOOP"
	mount "$LOOP" "$MNT"
	tree "$MNT"
	(cd "$MNT" && find . -type f -exec sha256sum {} + | sort -k2) >"$D/before"
	umount "$MNT"
	run -0 fsck.ext4 -fn "$LOOP"
	detach
	stop_serve

	start_serve --read-only p/v
	attach -r
	run -0 fsck.ext4 -fn "$LOOP"
	mount -o ro "$LOOP" "$MNT"
	(cd "$MNT" && find . -type f -exec sha256sum {} + | sort -k2) >"$D/after"
	[ "$(readlink "$MNT/link")" = dir1/small ]
	detach
	stop_serve
	[ "$(wc -l <"$D/before")" = 12 ]
	diff "$D/before" "$D/after"
}
