#!/usr/bin/env bats
# Damaged labels and metadata copies: the pool still opens from a good
# copy, check names the damage, repair rewrites it, and when no copy is
# left the pool is refused with exit 7 and nothing is written.

load ../helpers/common

setup() {
	common_setup
	mkpool tank 64M 48M
	A=$D/tank-0.img
	B=$D/tank-1.img
	ipstor vol create tank/v --size 24M
	pattern "$D/data" 24M 1
	ipstor vol write tank/v "$D/data"
}

@test "one damaged metadata copy: data still there, check names it (exit 7), repair fixes it" {
	scribble "$A" "$(slot_off "$A" 1)"
	run -0 ipstor vol read tank/v "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -7 --separate-stderr ipstor pool check tank
	assert_output "error: device '$A': metadata copy 1 is damaged (repairable)"
	[ "$stderr" = "ipstor: pool 'tank': 1 problem found" ]
	run -0 ipstor pool repair tank
	assert_line "repaired: device '$A': rewrote metadata copies with sequence 2"
	run -0 ipstor -v pool check tank
	assert_output "pool 'tank' is clean"
	run -0 ipstor pool dump tank
	echo "$output" | jq -e '[.devices[].metadata_copies[].status] | all(. == "ok")'
}

@test "one device's first label damaged: the pool opens, check names it, repair rewrites it" {
	scribble "$B" "$(label_off "$B" 0)"
	run -0 ipstor vol read tank/v "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -7 --separate-stderr ipstor pool check tank
	assert_output "error: device '$B': label copy 0 (at the start) is damaged (repairable)"
	run -0 ipstor pool repair tank
	assert_line "repaired: device '$B': rewrote label copy 0"
	run -0 ipstor pool check tank
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '.pool.devices[1].labels == ["ok", "ok"]'
}

@test "both labels of a device damaged: recognised by its metadata copy, labels rebuilt" {
	scribble "$B" "$(label_off "$B" 0)"
	scribble "$B" "$(label_off "$B" 1)"
	run -7 ipstor pool check tank
	assert_line "error: device '$B': label copy 0 (at the start) is damaged (repairable)"
	assert_line "error: device '$B': label copy 1 (at the end) is damaged (repairable)"
	run -0 ipstor pool repair tank
	run -0 ipstor pool check tank
	run -0 ipstor vol read tank/v "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
}

@test "a read-write command repairs damaged copies on the way, and says so" {
	scribble "$A" "$(slot_off "$A" 0)"
	run -0 --separate-stderr ipstor vol create tank/w --size 1M
	[[ $stderr == *"warning: pool 'tank': device '$A': rewrote metadata copies"* ]]
	run -0 ipstor pool check tank
}

@test "every metadata copy damaged: exit 7, a clear message, nothing written" {
	for f in "$A" "$B"; do
		scribble "$f" "$(slot_off "$f" 0)"
		scribble "$f" "$(slot_off "$f" 1)"
	done
	sha256sum "$A" "$B" >"$D/before"
	for cmd in "pool show tank" "vol create tank/x --size 1M" "vol read tank/v" \
		"pool check tank" "pool repair tank" "vol delete tank/v --yes"; do
		run -7 --separate-stderr ipstor $cmd
		[[ $stderr == *"pool 'tank' ("*"): no valid metadata copy on any of its devices; nothing was changed"* ]]
	done
	sha256sum -c "$D/before"
}

@test "a damaged map node: check reports the volume, exit 7, and the volume is refused" {
	# the map node sits in the first chunk the pool handed out for nodes;
	# find it: the volume's root address from the metadata
	root=$(ipstor pool dump tank | jq -r '.devices[0].metadata_copies | max_by(.sequence) | .config.volumes[0].map.root')
	dev=$(( (root >> 48) - 1 ))
	block=$(( root & ((1 << 48) - 1) ))
	f=$D/tank-$dev.img
	scribble "$f" $((block * 4096 + 100))
	run -7 ipstor pool check tank
	assert_output --partial "error: volume 'v': map node at device $dev block $block: checksum mismatch"
	run -7 ipstor vol read tank/v "$D/out"
}

@test "a copy torn by an interrupted commit is a notice, not damage; the next write replaces it" {
	# what a writer killed mid-commit leaves: the header of the new copy
	# (a newer sequence) written, its JSON not
	ipstor pool dump tank | jq '.devices[0].metadata_copies[0].config' >"$D/cfg.json"
	"$HELPERS/mdslot" "$A" 1 3 "$D/cfg.json"
	scribble "$A" $(( $(slot_off "$A" 1) + 4096 ))
	run -0 ipstor -v pool check tank
	assert_output "notice: device '$A': metadata copy 1 is incomplete: a commit stopped while writing it; the next commit replaces it (repairable)
pool 'tank' is clean"
	run -0 ipstor vol read tank/v "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	ipstor vol create tank/w --size 1M 2>/dev/null
	run -0 ipstor -v pool check tank
	assert_output "pool 'tank' is clean"
}

@test "a newest copy whose JSON does not decode: the older copy is used, check names it" {
	printf '{"format": "ipstor-pool", "schema": 1, "pool": 42}' >"$D/bad.json"
	"$HELPERS/mdslot" "$A" 1 9 "$D/bad.json"
	run -0 --separate-stderr ipstor vol read tank/v "$D/out"
	[[ $stderr == *"metadata copy 1 on '$A' does not decode"*"trying an older one"* ]]
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -7 ipstor pool check tank
	assert_line "error: device '$A': metadata copy 1 is damaged (its checksum holds, its content does not decode) (repairable)"
	run -0 ipstor pool repair tank
	run -0 ipstor pool check tank
}

@test "repair --dry-run says what it would rewrite and writes nothing" {
	scribble "$B" "$(label_off "$B" 1)"
	sha256sum "$A" "$B" >"$D/before"
	run -0 ipstor -n pool repair tank
	assert_line "repaired: device '$B': would rewrite label copy 1"
	sha256sum -c "$D/before"
	run -7 ipstor pool check tank
}
