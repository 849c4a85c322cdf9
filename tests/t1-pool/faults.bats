#!/usr/bin/env bats
# Fault injection on member devices: rules kept in the state dir, obeyed
# by every process and installed live in the worker.

load ../helpers/common

setup() {
	common_setup
	mkpool p 64M
	ipstor vol create p/v --size 32M
	pattern "$D/data" 8M 1
	ipstor vol write p/v "$D/data"
}

teardown() {
	stop_worker
}

@test "set, list, replace and heal rules; --json shows what each matched" {
	run -0 ipstor -v disk fault "$D/p-0.img" --error --ops read --range 8M:4M
	assert_output "set fault rule on '$D/p-0.img'"
	run -0 ipstor disk faults --json
	echo "$output" | jq -e --arg p "$D/p-0.img" '.version == 1 and (.faults | length) == 1 and
		(.faults[0] | .path == $p and .action == "error" and .ops == "read" and
		 .offset == 8388608 and .length == 4194304 and .after == 0 and .count == 0 and
		 .present == true)'
	# a second rule on the same device replaces the first
	run -0 ipstor disk fault "$D/p-0.img" --delay 5 --after 10 --count 3
	run -0 ipstor disk faults --json
	echo "$output" | jq -e '(.faults | length) == 1 and (.faults[0] | .action == "delay" and
		.delay_ms == 5 and .after == 10 and .count == 3 and .ops == "all" and .length == 0)'
	run -0 ipstor -v disk heal "$D/p-0.img"
	assert_output "removed the fault rule on '$D/p-0.img'"
	run -0 ipstor disk faults --json
	echo "$output" | jq -e '.faults == []'
	[ ! -e "$IPSTOR_STATE_DIR/faults.json" ]
}

@test "bad fault rules are refused with nothing changed" {
	ipstor disk fault "$D/p-0.img" --drop
	before=$(cat "$IPSTOR_STATE_DIR/faults.json")
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --ops sideways
	[ "$stderr" = "ipstor: unknown --ops 'sideways' (read, write, all)" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --drop --ops read
	[ "$stderr" = "ipstor: only writes can be dropped" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --drop --volatile
	[ "$stderr" = "ipstor: --error, --drop, --delay and --volatile exclude each other" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --range 4M
	[ "$stderr" = "ipstor: invalid range '4M' (OFFSET:LENGTH, e.g. 1G:4M)" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --range 4M:0
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --after -1
	[ "$stderr" = "ipstor: invalid --after '-1' (a count)" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --delay 60001
	[ "$stderr" = "ipstor: a delay must be from 1 to 60000 ms" ]
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --volatile --range 0:4K
	run -2 --separate-stderr ipstor disk fault "$D/p-0.img" --volatile --cache-size 1K
	[ "$stderr" = "ipstor: a volatile cache holds from 4 KiB to 16 GiB" ]
	run -4 --separate-stderr ipstor disk fault "$D/nonexistent.img"
	[ "$stderr" = "ipstor: cannot open '$D/nonexistent.img': No such file or directory" ]
	run -4 --separate-stderr ipstor disk heal "$D/other.img"
	[ "$stderr" = "ipstor: device '$D/other.img' has no fault rule" ]
	run -2 --separate-stderr ipstor disk heal
	[ "$stderr" = "ipstor: name a device, or give --all" ]
	run -0 ipstor -n disk fault "$D/p-0.img" --error
	[ "$(cat "$IPSTOR_STATE_DIR/faults.json")" = "$before" ]
}

@test "bad sectors: reads there fail with EIO, the rest reads; healed, all of it is back" {
	# the only device: the volume's 32 MiB start after the first
	# metadata copy, so 8M:4M lies inside its data
	ipstor disk fault "$D/p-0.img" --error --ops read --range 8M:4M
	run -1 --separate-stderr ipstor vol read p/v --length 8M "$D/out"
	[[ $stderr == *"Input/output error"* ]]
	# writes are not affected, nor reads elsewhere
	ipstor vol write p/v --offset 20M "$D/data"
	run -0 ipstor vol read p/v --offset 20M --length 8M "$D/tail"
	[ "$(sha "$D/tail")" = "$(sha "$D/data")" ]
	ipstor disk heal "$D/p-0.img"
	ipstor vol read p/v --length 8M "$D/out"
	[ "$(sha "$D/out")" = "$(sha "$D/data")" ]
	run -0 ipstor pool check p
}

@test "a dying device: the first I/Os work, then everything fails; healed, nothing was lost" {
	ipstor disk fault "$D/p-0.img" --error --after 0 --ops write
	pattern "$D/new" 1M 2
	run -1 --separate-stderr ipstor vol write p/v "$D/new"
	[[ $stderr == *"Input/output error"* ]]
	ipstor disk heal "$D/p-0.img"
	ipstor vol read p/v --length 8M "$D/out"
	run -0 ipstor pool check p
	# whatever the failed write left in the volume, the pool is whole
	# and the part it did not touch is intact
	cmp -s -i 1M "$D/out" "$D/data"
}

@test "dropped writes: acknowledged and lost, as a disk that lies" {
	ipstor disk fault "$D/p-0.img" --drop
	pattern "$D/new" 1M 3
	run -0 ipstor vol write p/v "$D/new"
	ipstor disk heal "$D/p-0.img"
	ipstor vol read p/v --length 1M "$D/out"
	# the old data is still there: the device dropped the new
	cmp "$D/out" <(head -c 1M "$D/data")
}

@test "in the worker, rules apply at once to the devices it holds, and count what they matched" {
	ipstor server start
	ipstor disk fault "$D/p-0.img" --delay 1 --ops read
	ipstor vol read p/v --length 1M "$D/out"
	run -0 ipstor disk faults --json
	echo "$output" | jq -e '.faults[0] | .matched > 0 and .affected == .matched'
	cmp "$D/out" <(head -c 1M "$D/data")
	ipstor disk fault "$D/p-0.img" --error --ops read
	run -1 ipstor vol read p/v --length 1M "$D/out"
	ipstor disk heal --all
	ipstor vol read p/v --length 1M "$D/out"
	cmp "$D/out" <(head -c 1M "$D/data")
}

@test "a damaged rules file stops device I/O with a clear error until healed" {
	echo '{"version": 1, "faults": [{"path": 7}]}' >"$IPSTOR_STATE_DIR/faults.json"
	run -7 --separate-stderr ipstor vol read p/v --length 4K "$D/out"
	[[ $stderr == *"fault rule 1 in '$IPSTOR_STATE_DIR/faults.json' is damaged"* ]]
	run -7 ipstor disk faults
	run -0 ipstor disk heal --all
	run -0 ipstor vol read p/v --length 4K "$D/out"
}
