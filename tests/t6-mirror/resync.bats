#!/usr/bin/env bats
# Resync copies a region inside the kernel where both legs are local
# (copy_file_range from the source leg's member at the chunk's offset to
# the target's): these tests check the bytes it leaves, on legs laid out
# differently from the source (small chunks on two members, a thin
# volume's holes, a device leg's 1 MiB header, a pool leg with larger
# chunks), and that the copy went through the kernel at all where the
# filesystem copies (ext2/3/4, tmpfs: not one that may share blocks).

load ../helpers/common
load ../helpers/mirror
MVOL=s/t

setup() {
	common_setup
	# 64 KiB chunks striped over two members: a 256 KiB region is four
	# chunks on alternating devices, none next to the one before
	mkdev s-0.img 64M
	mkdev s-1.img 64M
	ipstor pool create s "$D/s-0.img" "$D/s-1.img" --chunk-size 64K >/dev/null
	ipstor vol create s/t --size 8M --thin
	# what the volume holds: zeroes but for these pieces
	truncate -s 8M "$D/want"
	put 0 100K a      # two chunks and part of a third
	put 1056K 8K b    # inside one chunk, in the middle of a region
	put 3056K 32K c   # across a chunk and a region boundary
	put 7172K 4K d    # alone in the last 4 MiB, the rest unallocated
	# a device leg full of garbage: every hole of the source must be
	# zeroed on it, not skipped
	pattern "$D/leg.img" 10M junk
	mkpool q 64M
}

teardown() {
	stop_worker
}

put() { # OFFSET LENGTH SEED: write to s/t and to the expected image
	local off=$(($(numfmt --from=iec "$1")))
	pattern "$D/piece" "$2" "$3"
	ipstor vol write s/t "$D/piece" --offset "$off"
	dd if="$D/piece" of="$D/want" bs=4K seek=$((off / 4096)) conv=notrunc status=none
}

# where OFFSET of the volume lies: MEMBER-FILE:BYTE, found by its bytes
where() {
	python3 - "$D/want" "$1" "$D"/s-*.img <<'PY'
import sys
want, off, imgs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open(want, "rb") as f:
    f.seek(off)
    needle = f.read(4096)
hits = [(i, open(i, "rb").read().find(needle)) for i in imgs]
hits = [h for h in hits if h[1] >= 0]
assert len(hits) == 1, hits
print("%s:%d" % hits[0])
PY
}

# The kernel copies only on filesystems where copy_file_range copies
# (ext2/3/4, tmpfs); elsewhere everything goes through a buffer.
in_kernel() { # BYTES: what copied_in_kernel must be here
	case $(stat -f -c %T "$D") in
	ext2/ext3 | tmpfs) echo "$1" ;;
	*) echo 0 ;;
	esac
}

@test "a thin source with holes, 64 KiB chunks on two members: a device leg and a pool leg get its exact bytes, copied in the kernel" {
	[ "$(ipstor vol show s/t --json | jq '.volume.stripe_devices | length')" = 2 ]
	ipstor server start >/dev/null
	ipstor mirror add s/t --device "$D/leg.img" --region-size 256K
	mirror_wait
	# behind the header, the volume's bytes, holes as zeroes
	cmp <(tail -c +1048577 "$D/leg.img" | head -c 8M) "$D/want"
	# every region went through the kernel (holes zeroed there too)
	[ "$(mjq '.resync.copied')" = $((8 << 20)) ]
	[ "$(mjq '.resync.copied_in_kernel')" = "$(in_kernel $((8 << 20)))" ]
	# a pool leg: 256 KiB chunks, each written from four source chunks
	ipstor mirror add s/t --pool q
	mirror_wait
	[ "$(mjq '.resync.copied_in_kernel')" = "$(in_kernel $((16 << 20)))" ]
	ipstor mirror verify s/t
	ipstor server stop >/dev/null
	ipstor mirror split s/t copy --leg 2
	ipstor vol read q/copy | cmp - "$D/want"
	ipstor vol read s/t | cmp - "$D/want"
}

@test "leg 0 resynced from a device leg: in the kernel where its chunks may be written in place, through a buffer where it has holes" {
	put 0 256K e # region 0: four mapped chunks on leg 0
	ipstor mirror add s/t --device "$D/leg.img" --region-size 256K
	ipstor server start >/dev/null
	mirror_wait
	# leg 0 misses writes: the member ranges of region 0's first two
	# chunks fail them, and once it is failed it gets no more
	for off in 0 65536; do
		IFS=: read -r img at <<<"$(where $off)"
		ipstor disk fault "$img" --error --ops write --range "$at:64K"
	done
	put 32K 64K f  # region 0, over mapped chunks
	[ "$(mjq '.legs[0].state')" = failed ]
	put 300K 8K g  # region 1, unallocated on leg 0
	[ "$(mjq '.legs[0].out_of_sync')" = $((512 << 10)) ]
	ipstor disk heal --all
	copied=$(mjq '.resync.copied')
	inkernel=$(mjq '.resync.copied_in_kernel')
	ipstor mirror repair s/t
	mirror_wait
	[ "$(mjq '.legs[0].state')" = in-sync ]
	[ "$(mjq '.resync.copied')" = $((copied + (512 << 10))) ]
	[ "$(mjq '.resync.copied_in_kernel')" = $((inkernel + $(in_kernel $((256 << 10))))) ]
	ipstor mirror verify s/t
	ipstor server stop >/dev/null
	ipstor mirror remove s/t --leg 1 --yes
	ipstor vol read s/t | cmp - "$D/want"
}
