#!/usr/bin/env bats
# Several processes at once on one pool: each command succeeds or fails
# cleanly, and the metadata stays valid.

load ../helpers/common

setup() {
	common_setup
}

@test "concurrent vol create and vol delete from several processes" {
	mkpool tank 128M 64M
	for w in 1 2 3 4; do
		(
			for i in 1 2 3 4 5 6; do
				"$IPSTOR_BIN" vol create "tank/w$w-$i" --size 4M --thin ||
					echo "create w$w-$i failed" >>"$D/errors"
				[ $((i % 2)) = 0 ] && { "$IPSTOR_BIN" vol delete "tank/w$w-$((i - 1))" --yes ||
					echo "delete w$w-$((i - 1)) failed" >>"$D/errors"; }
				true
			done >/dev/null 2>&1
		) &
	done
	# everyone racing for the same name too: exactly one wins
	for w in 1 2 3 4 5; do
		(
			rc=0
			"$IPSTOR_BIN" vol create tank/same --size 1M >/dev/null 2>>"$D/same.err" || rc=$?
			echo "$rc" >>"$D/same.rc"
		) &
	done
	wait
	[ ! -e "$D/errors" ] || { cat "$D/errors"; false; }
	[ "$(grep -c '^0$' "$D/same.rc")" = 1 ]
	[ "$(grep -c '^5$' "$D/same.rc")" = 4 ]
	[ "$(grep -c "volume 'same' already exists in pool 'tank'" "$D/same.err")" = 4 ]
	run -0 ipstor vol list --json
	# 4 writers x 3 surviving volumes, plus 'same'
	echo "$output" | jq -e '[.volumes[].name] | sort == (["same"] + ([range(1;5) as $w | range(2;7;2) as $i | "w\($w)-\($i)"] | sort) | sort)'
	run -0 ipstor pool check tank
}

@test "a reader and writers at once: readers never see a torn pool" {
	mkpool tank 64M
	ipstor vol create tank/v --size 8M
	pattern "$D/data" 8M 3
	for w in 1 2 3; do
		(for i in 1 2 3 4 5; do "$IPSTOR_BIN" vol write tank/v "$D/data" >/dev/null || echo fail >>"$D/errors"; done) &
	done
	for i in $(seq 1 20); do
		"$IPSTOR_BIN" pool list --json >"$D/list.json" || echo "list failed" >>"$D/errors"
		jq -e '.pools[0].name == "tank"' "$D/list.json" >/dev/null || echo "bad list" >>"$D/errors"
	done
	wait
	[ ! -e "$D/errors" ] || { cat "$D/errors"; false; }
	ipstor vol read tank/v "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -0 ipstor pool check tank
}
