#!/usr/bin/env bats
# Volume management: create (thick, thin, striped, contiguous), list, show,
# resize, rename, delete; full pools; bad input with nothing changed.

load ../helpers/common

setup() {
	common_setup
}

@test "thick volumes are allocated at create, thin ones on first write" {
	mkpool tank 64M 64M
	run -0 ipstor -v vol create tank/thick --size 20M
	assert_output "created thick volume 'tank/thick' of 20 MiB"
	run -0 ipstor vol create thin --pool tank --size 1G --thin
	run -0 ipstor vol list --json
	echo "$output" | jq -e '.volumes[0] | .name == "thick" and .allocated == 20971520 and .thin == false'
	echo "$output" | jq -e '.volumes[1] | .name == "thin" and .allocated == 0 and .thin == true and .size == 1073741824'
	printf 'hello' | ipstor vol write tank/thin --offset 500M
	run -0 ipstor vol show tank/thin --json
	echo "$output" | jq -e '.volume.allocated == 262144'
	run -0 ipstor vol list
	assert_line --regexp '^tank +thin +1 GiB +256 KiB +yes +2 '
}

@test "unwritten parts of a thin volume, and a new thick volume, read as zeroes" {
	mkpool tank 64M
	# dirty the devices first: a deleted volume's data must not leak
	ipstor vol create tank/old --size 40M
	pattern "$D/junk" 40M 9
	ipstor vol write tank/old "$D/junk"
	ipstor vol delete tank/old --yes
	ipstor vol create tank/thick --size 20M
	ipstor vol create tank/thin --size 20M --thin
	printf 'x' | ipstor vol write tank/thin --offset 4097
	head -c 20M /dev/zero >"$D/zero"
	ipstor vol read tank/thick "$D/a"
	cmp "$D/a" "$D/zero"
	ipstor vol read tank/thin "$D/b"
	printf 'x' | dd of="$D/zero" bs=1 seek=4097 conv=notrunc status=none
	cmp "$D/b" "$D/zero"
}

@test "stripes spread chunks round-robin; --stripes and --contiguous choose" {
	mkpool tank 64M 64M 64M
	ipstor vol create tank/all --size 30M
	ipstor vol create tank/two --size 30M --stripes 2
	ipstor vol create tank/one --size 30M --contiguous
	run -0 ipstor vol show tank/all --json
	echo "$output" | jq -e '.volume.stripes == 3'
	run -0 ipstor vol show tank/two --json
	echo "$output" | jq -e '.volume.stripes == 2'
	run -0 ipstor vol show tank/one --json
	echo "$output" | jq -e '.volume.stripes == 1 and .volume.contiguous == true'
	run -0 ipstor pool show tank --json
	# 'all' put 10M on each; 'two' 15M on each of the two emptiest; 'one'
	# 30M on the emptiest left (map nodes took a chunk somewhere)
	echo "$output" | jq -e '[.pool.devices[].allocated | . / 1048576 | floor] | sort == [25, 25, 40]' ||
		{ echo "$output" | jq -c '[.pool.devices[].allocated]'; false; }
	run -2 --separate-stderr ipstor vol create tank/x --size 1M --stripes 4
	[ "$stderr" = "ipstor: pool 'tank' has 3 devices; cannot stripe over 4" ]
	run -2 --separate-stderr ipstor vol create tank/x --size 1M --stripes 2 --contiguous
	[ "$stderr" = "ipstor vol create: --contiguous and --stripes conflict" ]
}

@test "a full pool: clear ENOSPC, nothing corrupted, existing data intact" {
	mkpool tank 32M
	ipstor vol create tank/a --size 20M
	pattern "$D/data" 20M 2
	ipstor vol write tank/a "$D/data"
	before=$(pool_fingerprint tank)
	run -1 --separate-stderr ipstor vol create tank/b --size 20M
	[[ $stderr == "ipstor: pool 'tank' has "*" free; this needs "* ]]
	[ "$(pool_fingerprint tank)" = "$before" ]
	# a thin volume that outgrows the pool fails its write, not the pool
	ipstor vol create tank/t --size 1G --thin
	pattern "$D/big" 30M 4
	run -1 --separate-stderr ipstor vol write tank/t "$D/big"
	[ "$stderr" = "ipstor: pool 'tank' is full" ]
	run -0 ipstor pool check tank
	ipstor vol read tank/a "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	# freeing space makes room again
	ipstor vol delete tank/t --yes
	run -0 ipstor vol create tank/b --size 4M
}

@test "resize: grow keeps data; shrink needs --yes and drops the tail; regrown tail reads zero" {
	mkpool tank 64M
	ipstor vol create tank/v --size 10M
	pattern "$D/data" 10M 5
	ipstor vol write tank/v "$D/data"
	run -0 ipstor -v vol resize tank/v --size 20M
	assert_output "resized volume 'tank/v' from 10 MiB to 20 MiB"
	ipstor vol read tank/v --length 10M "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -2 ipstor vol resize tank/v --size 5M </dev/null
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.size == 20971520'
	# shrink to an odd size inside a chunk, then grow back
	run -0 ipstor vol resize tank/v --size 5000K --yes
	run -0 ipstor vol resize tank/v --size 10M
	ipstor vol read tank/v --length 5000K "$D/head"
	cmp "$D/head" <(head -c 5000K "$D/data")
	ipstor vol read tank/v --offset 5000K --length 240K "$D/tail"
	cmp "$D/tail" <(head -c 240K /dev/zero)
	run -0 ipstor pool check tank
}

@test "thin resize needs no space; sizes are rounded up to 4 KiB" {
	mkpool tank 32M
	ipstor vol create tank/t --size 10000 --thin
	run -0 ipstor vol show tank/t --json
	echo "$output" | jq -e '.volume.size == 12288'
	run -0 ipstor vol resize tank/t --size 100G
	run -0 ipstor vol show tank/t --json
	echo "$output" | jq -e '.volume.size == 107374182400 and .volume.allocated == 0'
}

@test "rename and delete" {
	mkpool tank 32M
	ipstor vol create tank/a --size 1M
	ipstor vol create tank/b --size 1M
	run -5 --separate-stderr ipstor vol rename tank/a b
	[ "$stderr" = "ipstor: volume 'b' already exists in pool 'tank'" ]
	run -2 ipstor vol rename tank/a 'c/d'
	run -0 ipstor vol rename tank/a c
	run -0 ipstor vol show tank/c
	run -4 ipstor vol show tank/a
	run -0 ipstor -v vol delete tank/c --yes
	assert_output "deleted volume 'tank/c'"
	run -0 ipstor vol list --json
	echo "$output" | jq -e '[.volumes[].name] == ["b"]'
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '.pool.allocated < 2 * 1048576'
}

@test "bad input to vol create: exact errors, nothing changed" {
	mkpool tank 32M
	ipstor vol create tank/v --size 1M
	before=$(pool_fingerprint tank)
	run -2 --separate-stderr ipstor vol create tank/x
	[ "$stderr" = "ipstor vol create: --size is required" ]
	run -2 --separate-stderr ipstor vol create x --size 1M
	[ "$stderr" = "ipstor vol create: say which pool: --pool POOL or POOL/x" ]
	run -2 --separate-stderr ipstor vol create tank/x --size 0
	[ "$stderr" = "ipstor: volume size must be greater than zero" ]
	run -2 --separate-stderr ipstor vol create tank/x --size -1M
	run -2 --separate-stderr ipstor vol create tank/x --size 1.5
	run -2 --separate-stderr ipstor vol create tank/x --size 99E
	[[ $stderr == *"is too large"* ]]
	run -2 --separate-stderr ipstor vol create tank/x --size 1M --pool other
	[ "$stderr" = "ipstor vol create: 'tank/x' names pool 'tank' but --pool says 'other'" ]
	run -5 ipstor vol create tank/v --size 1M
	run -4 ipstor vol create nosuch/x --size 1M
	run -2 ipstor vol create 'tank/a b' --size 1M
	run -2 ipstor vol create "tank/$(printf 'v%.0s' {1..65})" --size 1M
	[ "$(pool_fingerprint tank)" = "$before" ]
}

@test "--dry-run on volume commands changes nothing" {
	mkpool tank 32M
	ipstor vol create tank/v --size 4M
	before=$(pool_fingerprint tank)
	sha256sum "$D/tank-0.img" >"$D/sum"
	run -0 ipstor -n vol create tank/w --size 4M
	assert_output "would create thick volume 'tank/w' of 4 MiB"
	run -0 ipstor -n vol resize tank/v --size 8M
	run -0 ipstor -n vol rename tank/v z
	run -0 ipstor -n vol delete tank/v
	printf 'data' | ipstor -n vol write tank/v
	[ "$(pool_fingerprint tank)" = "$before" ]
	sha256sum -c "$D/sum"
	run -1 ipstor -n vol create tank/big --size 1G
}
