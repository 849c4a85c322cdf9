#!/usr/bin/env bats
# Real NBD clients against a volume exported by the worker:
# nbdinfo (libnbd), qemu-io and qemu-img (qemu's own NBD client).

load ../helpers/common
load ../helpers/nbd

setup() {
	common_setup
	mkpool p 96M
}

teardown() {
	stop_serve || true
}


@test "nbdinfo: size, block sizes, base:allocation and every capability" {
	require_cmd nbdinfo
	ipstor vol create p/v --size 32M --thin >/dev/null
	start_serve p/v
	run -0 nbdinfo --json "$URI"
	echo "$output" | jq -e '.protocol == "newstyle-fixed"'
	echo "$output" | jq -e '.exports[0]["export-size"] == 33554432'
	echo "$output" | jq -e '.exports[0]["block_size_minimum"] == 1'
	echo "$output" | jq -e '.exports[0]["block_size_preferred"] == 4096'
	echo "$output" | jq -e '.exports[0]["block_size_maximum"] == 33554432'
	echo "$output" | jq -e '.exports[0].contexts == ["base:allocation"]'
	echo "$output" | jq -e '.exports[0].is_read_only == false'
	for c in multi-conn fua trim zero fast-zero df flush structured-reply; do
		nbdinfo --can "$c" "$URI" || {
			echo "cannot $c"
			return 1
		}
	done
	stop_serve
}

@test "nbdinfo: a read-only export says so and cannot write, trim or zero" {
	require_cmd nbdinfo
	ipstor vol create p/v --size 8M >/dev/null
	start_serve --read-only p/v
	nbdinfo --is read-only "$URI"
	for c in fua trim zero fast-zero; do
		run -2 nbdinfo --can "$c" "$URI"
	done
	stop_serve
}

@test "nbdinfo --list names the export; an unknown export is refused" {
	require_cmd nbdinfo
	ipstor vol create p/v --size 8M >/dev/null
	start_serve --name disk0 p/v
	run -0 nbdinfo --list --json "$URI"
	echo "$output" | jq -e '[.exports[]["export-name"]] == ["disk0"]'
	echo "$output" | jq -e '.exports[0].description == "p/v"'
	run -0 nbdinfo --size "$URI/disk0"
	assert_output 8388608
	run -1 --separate-stderr nbdinfo "$URI/nope"
	stop_serve
}

@test "nbdinfo --map: holes of a thin volume, data where written or trimmed" {
	require_cmd nbdinfo
	require_cmd qemu-io
	ipstor vol create p/v --size 32M --thin >/dev/null
	start_serve p/v
	run -0 nbdinfo --map --json "$URI"
	echo "$output" | jq -e '. == [{"offset":0,"length":33554432,"type":3,"description":"hole,zero"}]'
	qemu-io -f raw -c 'write -P 0x11 4M 1M' -c 'write -P 0x22 20M 256k' "$URI" >/dev/null
	run -0 nbdinfo --map --json "$URI"
	echo "$output" | jq -e '[.[] | [.offset, .length, .type]] ==
		[[0,4194304,3], [4194304,1048576,0], [5242880,15728640,3],
		 [20971520,262144,0], [21233664,12320768,3]]'
	# trimming whole chunks of a thin volume gives the space back
	qemu-io -f raw -c 'discard 4M 1M' "$URI" >/dev/null
	run -0 nbdinfo --map --json "$URI"
	echo "$output" | jq -e '[.[] | select(.type == 0) | [.offset, .length]] == [[20971520,262144]]'
	stop_serve
}

@test "qemu-io: pattern writes read back, across connections and a restart" {
	require_cmd qemu-io
	ipstor vol create p/v --size 16M --thin >/dev/null
	start_serve p/v
	run -0 qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' \
		-c 'write -P 0xcd 3146240 65k' -c 'read -P 0xcd 3146240 65k' \
		-c 'write -z 8M 2M' -c 'read -P 0 8M 2M' \
		-c 'aio_write -P 0x5e 12M 64k' -c 'aio_write -P 0x5f 13M 64k' \
		-c 'aio_flush' -c 'write -P 0x77 -f 15M 4k' "$URI"
	refute_output --partial "fail"
	refute_output --partial "error"
	run -0 qemu-io -f raw -r -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 3146240 65k' \
		-c 'read -P 0x5e 12M 64k' -c 'read -P 0x5f 13M 64k' \
		-c 'read -P 0x77 15M 4k' "$URI"
	refute_output --partial "fail"
	stop_serve
	start_serve p/v
	run -0 qemu-io -f raw -r -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 3146240 65k' \
		-c 'read -P 0 8M 2M' -c 'read -P 0x77 15M 4k' "$URI"
	refute_output --partial "fail"
	stop_serve
}

@test "qemu-img convert of a random image, then compare: identical, also on disk" {
	require_cmd qemu-img
	ipstor vol create p/v --size 24M --thin >/dev/null
	pattern "$D/src.img" 24M 7
	start_serve p/v
	run -0 qemu-img convert -n -f raw -O raw "$D/src.img" "$URI"
	run -0 qemu-img compare -f raw -F raw "$D/src.img" "$URI"
	assert_output --partial "Images are identical"
	# one byte off is noticed
	cp "$D/src.img" "$D/other.img"
	printf 'x' | dd of="$D/other.img" bs=1 seek=12345678 conv=notrunc 2>/dev/null
	run -1 qemu-img compare -f raw -F raw "$D/other.img" "$URI"
	stop_serve
	# what the server acknowledged is in the pool once it has stopped
	ipstor vol read p/v "$D/back.img"
	[ "$(sha "$D/back.img")" = "$(sha "$D/src.img")" ]
}

@test "a read-only export: qemu reads, and its writes fail" {
	require_cmd qemu-io
	ipstor vol create p/v --size 8M >/dev/null
	pattern "$D/src.img" 8M 3
	ipstor vol write p/v "$D/src.img" >/dev/null
	start_serve --read-only p/v
	run -0 qemu-io -f raw -r -c 'read -v 0 16' "$URI"
	assert_output --partial "$(head -c 16 "$D/src.img" | od -An -tx1 | tr -s ' ' | cut -c2-12)"
	run qemu-io -f raw -c 'write -P 1 0 4k' "$URI"
	[ "$status" -ne 0 ] || [[ $output == *"ermission"* || $output == *"not permitted"* || $output == *"read-only"* ]]
	stop_serve
	ipstor vol read p/v "$D/back.img"
	[ "$(sha "$D/back.img")" = "$(sha "$D/src.img")" ]
}
