#!/usr/bin/env bats
# Snapshots: created in O(1), frozen while the volume changes, read like a
# volume, listed, shown and deleted; names and references checked.

load ../helpers/common

setup() {
	common_setup
	mkpool p 64M 32M
	ipstor vol create p/v --size 8M --thin >/dev/null
	pattern "$D/a" 2M 1
	pattern "$D/b" 1M 2
	ipstor vol write p/v "$D/a" >/dev/null
}

@test "a snapshot keeps the volume's content while the volume changes" {
	run -0 ipstor snap create p/v@one
	ipstor vol write p/v --offset 512K "$D/b" >/dev/null
	ipstor vol read p/v@one --length 2M "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	# the volume has the new data, the rest of the old
	ipstor vol read p/v --offset 512K --length 1M "$D/now"
	[ "$(sha "$D/now")" = "$(sha "$D/b")" ]
	ipstor vol read p/v --length 512K "$D/head"
	cmp "$D/head" <(head -c 512K "$D/a")
	run -0 ipstor pool check p
}

@test "snapshots can be listed, shown and deleted, as text and JSON" {
	ipstor snap create p/v@mon >/dev/null
	ipstor snap create v@tue >/dev/null
	run -0 ipstor --json snap list p/v
	jq -e '.version == 1 and [.snapshots[].name] == ["mon", "tue"]' <<<"$output"
	jq -e '.snapshots[0] | .pool == "p" and .volume == "v" and .size == 8388608
		and .referenced == 2097152 and .received == false
		and (.uuid | test("^[0-9a-f-]{36}$"))' <<<"$output"
	run -0 ipstor snap list
	assert_line --regexp '^p +v +mon +8 MiB +2 MiB '
	run -0 ipstor --json snap show p/v@tue
	jq -e '.snapshot.name == "tue" and .snapshot.exclusive == 0 and .snapshot.shared == 2097152' <<<"$output"
	run -0 ipstor snap show v@tue
	assert_line --regexp '^referenced: +2 MiB$'
	run -0 ipstor snap delete p/v@mon --yes
	run -0 ipstor --json snap list v
	jq -e '[.snapshots[].name] == ["tue"]' <<<"$output"
	run -0 ipstor --json vol show p/v
	jq -e '.volume.snapshots == 1' <<<"$output"
	run -0 ipstor pool check p
}

@test "snapshot names follow the name rules; duplicates and missing ones are refused" {
	ipstor snap create p/v@one >/dev/null
	run -5 --separate-stderr ipstor snap create p/v@one
	[ "$stderr" = "ipstor: snapshot 'v@one' already exists" ]
	run -2 --separate-stderr ipstor snap create p/v@-bad
	[ "$stderr" = "ipstor: invalid snapshot name '-bad': it must start with a letter or digit" ]
	run -2 --separate-stderr ipstor snap create 'p/v@a/b'
	assert_equal "$stderr" "ipstor: invalid snapshot name 'a/b': only letters, digits and _ . + - are allowed"
	run -2 --separate-stderr ipstor snap create p/v@
	[ "$stderr" = "ipstor: invalid snapshot reference 'p/v@' ([POOL/]VOL@SNAP)" ]
	run -2 --separate-stderr ipstor snap create 'p/v@a@b'
	[ "$stderr" = "ipstor: invalid snapshot reference 'p/v@a@b' ([POOL/]VOL@SNAP)" ]
	run -2 --separate-stderr ipstor snap create p/v
	[ "$stderr" = "ipstor: 'p/v' is not a snapshot reference ([POOL/]VOL@SNAP)" ]
	run -2 --separate-stderr ipstor snap create "p/v@$(printf 'x%.0s' {1..65})"
	[ "$stderr" = "ipstor: snapshot name 'xxxxxxxxxxxxxxxxxxxx...' is longer than 64 characters" ]
	run -4 --separate-stderr ipstor snap create p/nope@x
	[ "$stderr" = "ipstor: volume 'nope' not found in pool 'p'" ]
	run -4 --separate-stderr ipstor snap show p/v@nope
	[ "$stderr" = "ipstor: snapshot 'v@nope' not found in pool 'p'" ]
	run -4 ipstor snap delete p/v@nope --yes
	run -4 ipstor vol read p/v@nope
	# nothing of that changed the pool
	run -0 --separate-stderr ipstor --json snap list p/v
	jq -e '[.snapshots[].name] == ["one"]' <<<"$output"
}

@test "a snapshot is read-only" {
	ipstor snap create p/v@one >/dev/null
	run -1 --separate-stderr ipstor vol write p/v@one "$D/b"
	[ "$stderr" = "ipstor: snapshot 'v@one' is read-only" ]
	ipstor vol read p/v@one --length 2M "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
}

@test "deleting a snapshot and rolling back ask first, and --dry-run changes nothing" {
	ipstor snap create p/v@one >/dev/null
	before=$(pool_fingerprint p)
	run -2 --separate-stderr ipstor snap delete p/v@one </dev/null
	[ "$stderr" = "ipstor: refusing to delete snapshot 'p/v@one' without --yes" ]
	run -2 ipstor snap rollback p/v@one </dev/null
	run -0 ipstor snap delete p/v@one --dry-run
	[ "$output" = "would delete snapshot 'p/v@one'" ]
	run -0 ipstor snap create p/v@two --dry-run
	[ "$(pool_fingerprint p)" = "$before" ]
}

@test "a volume with snapshots is not deleted; its snapshots go first" {
	ipstor snap create p/v@one >/dev/null
	ipstor snap create p/v@two >/dev/null
	run -5 --separate-stderr ipstor vol delete p/v --yes
	[ "$stderr" = "ipstor: volume 'v' has 2 snapshots; delete them first (ipstor snap prune v --keep 0)" ]
	ipstor snap prune p/v --keep 0 --yes >/dev/null
	run -0 ipstor vol delete p/v --yes
	run -0 --separate-stderr ipstor --json pool show p
	jq -e '.pool.allocated == 0' <<<"$output"
}

@test "snapshots follow a renamed volume" {
	ipstor snap create p/v@one >/dev/null
	ipstor vol rename p/v w >/dev/null
	ipstor vol read p/w@one --length 2M "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	run -4 ipstor snap show p/v@one
}

@test "a snapshot records the size it had; the volume can grow and shrink after" {
	ipstor snap create p/v@small >/dev/null
	ipstor vol resize p/v --size 12M >/dev/null
	ipstor vol resize p/v --size 1M --yes >/dev/null
	run -0 ipstor --json snap show p/v@small
	jq -e '.snapshot.size == 8388608' <<<"$output"
	ipstor vol read p/v@small --length 2M "$D/got"
	[ "$(sha "$D/got")" = "$(sha "$D/a")" ]
	run -0 ipstor pool check p
}

@test "a pool without snapshots keeps configuration schema 1; the first snapshot makes it 2" {
	schemas() { ipstor pool dump p | jq -c '[.devices[].metadata_copies[].config.schema] | unique'; }
	[ "$(schemas)" = "[1]" ]
	ipstor snap create p/v@one >/dev/null
	ipstor vol write p/v "$D/b" >/dev/null
	[ "$(schemas)" = "[2]" ]
	ipstor snap delete p/v@one --yes >/dev/null
	# a write that maps a new chunk: a second commit, into the other slot
	ipstor vol write p/v --offset 6M "$D/b" >/dev/null
	[ "$(schemas)" = "[1]" ]
}

@test "a snapshot of a 64 TiB thin volume copies nothing and maps nothing" {
	ipstor vol create p/huge --size 64T --thin >/dev/null
	run -0 ipstor snap create p/huge@one
	run -0 --separate-stderr ipstor --json snap show p/huge@one
	jq -e '.snapshot.size == 70368744177664 and .snapshot.referenced == 0' <<<"$output"
	run -0 ipstor pool check p
}

@test "snap diff lists the changed ranges, chunk-aligned, as text and JSON" {
	# 256 KiB chunks (the default)
	ipstor snap create p/v@one >/dev/null
	ipstor vol write p/v --offset 300K "$D/b" >/dev/null
	ipstor snap create p/v@two >/dev/null
	run -0 ipstor --json snap diff p/v@one p/v@two
	jq -e '.from == "v@one" and .to == "v@two" and .chunk_size == 262144
		and .changes == [{"offset": 262144, "length": 1310720, "content": "data"}]' <<<"$output"
	run -0 ipstor snap diff p/v@one v@two
	assert_output "OFFSET  LENGTH   CONTENT
262144  1310720  data"
	# against the volume now
	ipstor vol write p/v --offset 7M "$D/b" >/dev/null
	run -0 ipstor --json snap diff p/v@two p/v
	jq -e '.to == "v" and .changes == [{"offset": 7340032, "length": 1048576, "content": "data"}]' <<<"$output"
	# the other way round: the same range, holding a's bytes in 'one'
	run -0 ipstor --json snap diff p/v@two p/v@one
	jq -e '.changes == [{"offset": 262144, "length": 1310720, "content": "data"}]' <<<"$output"
	run -0 ipstor --json snap diff p/v@one p/v@one
	jq -e '.changes == []' <<<"$output"
}

@test "snap diff across a volume that grew a map level, and across a shrink" {
	ipstor snap create p/v@small >/dev/null
	# 8 MiB is 32 chunks; 200 MiB needs a second map level
	ipstor vol resize p/v --size 200M >/dev/null
	ipstor vol write p/v --offset 150M "$D/b" >/dev/null
	ipstor snap create p/v@big >/dev/null
	run -0 ipstor --json snap diff p/v@small p/v@big
	jq -e '.changes == [{"offset": 157286400, "length": 1048576, "content": "data"}]' <<<"$output"
	ipstor vol resize p/v --size 1M --yes >/dev/null
	run -0 ipstor --json snap diff p/v@big p/v
	jq -e '[.changes[] | .content] | unique == ["zero"]' <<<"$output"
	jq -e '[.changes[] | .offset] | min == 1048576' <<<"$output"
	run -0 ipstor pool check p
}

@test "snap diff refuses snapshots of two volumes, and a volume as the first argument" {
	ipstor vol create p/w --size 8M --thin >/dev/null
	ipstor snap create p/v@one >/dev/null
	ipstor snap create p/w@one >/dev/null
	run -2 --separate-stderr ipstor snap diff p/v@one p/w@one
	[ "$stderr" = "ipstor: 'p/v@one' and 'p/w@one' are not of the same volume" ]
	run -2 ipstor snap diff p/v p/v@one
	run -4 ipstor snap diff p/v@one p/v@none
}

@test "completion offers snapshots once a word has an @" {
	ipstor snap create p/v@nightly >/dev/null
	ipstor snap create p/v@weekly >/dev/null
	run -0 ipstor __complete snap show v@n
	[ "$output" = "v@nightly" ]
	run -0 ipstor __complete vol read p/v@
	assert_output "p/v@nightly
p/v@weekly"
	run -0 ipstor __complete snap create v
	assert_line "v"
}
