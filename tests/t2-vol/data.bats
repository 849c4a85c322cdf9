#!/usr/bin/env bats
# vol read / vol write: offsets, lengths, stdin/stdout, bounds.

load ../helpers/common

setup() {
	common_setup
	mkpool tank 64M 32M
	ipstor vol create tank/v --size 16M
}

@test "write at an offset through stdin, read back through stdout" {
	pattern "$D/data" 3M 8
	ipstor vol write tank/v --offset 1000001 <"$D/data"
	run -0 bash -c "'$IPSTOR_BIN' vol read tank/v --offset 1000001 --length 3M | sha256sum"
	[ "${output%% *}" = "$(sha "$D/data")" ]
	# the byte before the write is untouched (zero)
	run -0 bash -c "'$IPSTOR_BIN' vol read tank/v --offset 1000000 --length 1 | od -A n -t x1"
	[ "$output" = " 00" ]
}

@test "unit suffixes on offsets and lengths" {
	printf 'ABCD' | ipstor vol write tank/v --offset 2s
	run -0 ipstor vol read tank/v --offset 1K --length 4
	[ "$output" = "ABCD" ]
}

@test "reads and writes past the end are refused before anything is done" {
	pattern "$D/data" 2M 1
	run -2 --separate-stderr ipstor vol write tank/v --offset 15M "$D/data"
	[ "$stderr" = "ipstor: the input (2097152 bytes) does not fit in volume 'tank/v' at offset 15728640" ]
	run -2 --separate-stderr ipstor vol read tank/v --offset 15M --length 2M
	[ "$stderr" = "ipstor: range 15728640+2097152 lies beyond the end of 'tank/v' (16777216 bytes)" ]
	run -2 ipstor vol read tank/v --offset 17M
	# a pipe longer than the volume: what fits is written, then an error
	run -1 --separate-stderr bash -c "head -c 2M /dev/zero | '$IPSTOR_BIN' vol write tank/v --offset 15M"
	[ "$stderr" = "ipstor: the input is larger than volume 'tank/v'; wrote the first 1048576 bytes" ]
}

@test "a missing input file or unwritable output is a clear error" {
	run -2 --separate-stderr ipstor vol write tank/v "$D/nosuch"
	[ "$stderr" = "ipstor: cannot open '$D/nosuch': No such file or directory" ]
	run -2 --separate-stderr ipstor vol read tank/v "$D/nodir/out"
	[ "$stderr" = "ipstor: cannot create '$D/nodir/out': No such file or directory" ]
}

@test "vol write --json reports what it wrote" {
	run -0 bash -c "printf 'hello' | '$IPSTOR_BIN' vol write tank/v --json"
	echo "$output" | jq -e '.version == 1 and .written == 5 and .volume == "tank/v"'
}
