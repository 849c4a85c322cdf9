#!/usr/bin/env bats
# Space: what a snapshot holds alone (exclusive) and with others (shared);
# deleting frees exactly what nothing else references.

load ../helpers/common

setup() {
	common_setup
	# 64 KiB chunks: a 4 MiB volume is one map node, so the map itself
	# comes back whole when snapshots go
	mkdev a.img 64M
	ipstor pool create p "$D/a.img" --chunk-size 64K >/dev/null
	ipstor vol create p/v --size 4M --thin >/dev/null
	pattern "$D/a" 4M 1
	pattern "$D/b" 1M 2
	ipstor vol write p/v "$D/a" >/dev/null
}

free_bytes() {
	ipstor --json pool show p | jq '.pool.free'
}

snapval() { # SNAP KEY
	ipstor --json snap show "p/v@$1" | jq ".snapshot.$2"
}

@test "exclusive and shared bytes follow the writes; a chunk shared by three is exclusive to none" {
	ipstor snap create p/v@s1 >/dev/null
	[ "$(snapval s1 exclusive)" = 0 ]
	[ "$(snapval s1 shared)" = 4194304 ]
	# overwrite 1 MiB: those 16 chunks are now s1's alone
	ipstor vol write p/v "$D/b" >/dev/null
	[ "$(snapval s1 exclusive)" = 1048576 ]
	[ "$(snapval s1 shared)" = 3145728 ]
	# a second snapshot shares everything with the volume; the chunks
	# all three hold are exclusive to none
	ipstor snap create p/v@s2 >/dev/null
	[ "$(snapval s2 exclusive)" = 0 ]
	[ "$(snapval s1 exclusive)" = 1048576 ]
	# the volume moves on: s2 alone holds b's chunks then
	ipstor vol write p/v "$D/a" >/dev/null
	[ "$(snapval s2 exclusive)" = 1048576 ]
	run -0 ipstor snap list p/v
	assert_line --regexp '^p +v +s1 +4 MiB +4 MiB +1 MiB +3 MiB '
}

@test "deleting a snapshot frees exactly its exclusive bytes" {
	ipstor snap create p/v@s1 >/dev/null
	ipstor vol write p/v "$D/b" >/dev/null
	ipstor snap create p/v@s2 >/dev/null
	ipstor vol write p/v --offset 2M "$D/b" >/dev/null
	excl=$(snapval s1 exclusive)
	[ "$excl" = 1048576 ]
	before=$(free_bytes)
	ipstor snap delete p/v@s1 --yes >/dev/null
	[ $(($(free_bytes) - before)) = "$excl" ]
	run -0 ipstor pool check p
}

@test "deleting every snapshot returns the pool's free space to what it was" {
	before=$(free_bytes)
	for i in 1 2 3 4 5; do
		ipstor snap create "p/v@s$i" >/dev/null
		ipstor vol write p/v --offset "$(((i - 1) * 512))K" "$D/b" >/dev/null
		ipstor vol clone "p/v@s$i" "c$i" >/dev/null
		ipstor vol write "p/c$i" --offset 3M "$D/b" >/dev/null
		ipstor vol delete "p/c$i" --yes >/dev/null
	done
	[ "$(free_bytes)" -lt "$before" ]
	for i in 3 1 5 2 4; do
		ipstor snap delete "p/v@s$i" --yes >/dev/null
	done
	[ "$(free_bytes)" = "$before" ]
	run -0 ipstor pool check p
}

@test "snapshots of a thick volume: the first write to each chunk needs space again" {
	ipstor vol create p/t --size 8M >/dev/null
	before=$(free_bytes)
	ipstor snap create p/t@s >/dev/null
	[ "$(free_bytes)" = "$before" ]
	ipstor vol write p/t "$D/b" >/dev/null
	[ "$(free_bytes)" = $((before - 1048576)) ]
	ipstor snap delete p/t@s --yes >/dev/null
	[ "$(free_bytes)" = "$before" ]
}

@test "prune keeps the newest N, or those younger than AGE, in one commit" {
	for i in 1 2 3 4 5; do ipstor snap create "p/v@s$i" >/dev/null; done
	names() { ipstor --json snap list p/v | jq -c '[.snapshots[].name]'; }
	run -0 ipstor snap prune p/v --keep 3 --dry-run
	[ "$output" = "would delete 2 snapshots of 'p/v': s1, s2" ]
	[ "$(names)" = '["s1","s2","s3","s4","s5"]' ]
	seq=$(ipstor --json pool show p | jq '.pool.sequence')
	run -0 ipstor --json snap prune p/v --keep 3 --yes
	jq -e '.deleted == ["s1","s2"]' <<<"$output"
	[ "$(names)" = '["s3","s4","s5"]' ]
	[ "$(ipstor --json pool show p | jq '.pool.sequence')" = $((seq + 1)) ]
	# none is a day old: nothing goes
	run -0 ipstor -v snap prune p/v --older-than 1d --yes
	[ "$output" = "no snapshot of 'p/v' to prune" ]
	run -0 ipstor snap prune p/v --keep 1 --older-than 1d --yes
	[ "$(names)" = '["s3","s4","s5"]' ]
	run -0 ipstor snap prune p/v --keep 0 --yes
	[ "$(names)" = '[]' ]
}

@test "prune refuses bad limits, and runs only with --yes" {
	ipstor snap create p/v@s1 >/dev/null
	run -2 --separate-stderr ipstor snap prune p/v --yes
	[ "$stderr" = "ipstor snap prune: say what to keep: --keep N, --older-than AGE, or both" ]
	run -2 --separate-stderr ipstor snap prune p/v --keep -1 --yes
	[ "$stderr" = "ipstor snap prune: --keep: '-1' is not a count" ]
	run -2 ipstor snap prune p/v --keep 2x --yes
	run -2 --separate-stderr ipstor snap prune p/v --older-than 3 --yes
	[ "$stderr" = "ipstor snap prune: --older-than: '3' is not an age (30d, 12h, 90m, 2w)" ]
	run -2 ipstor snap prune p/v --older-than 99999999999999999999d --yes
	run -2 --separate-stderr ipstor snap prune p/v --keep 0 </dev/null
	[ "$stderr" = "ipstor: refusing to delete the snapshots of 'p/v' beyond the newest 0 without --yes" ]
	run -0 --separate-stderr ipstor --json snap list p/v
	jq -e '[.snapshots[].name] == ["s1"]' <<<"$output"
}
