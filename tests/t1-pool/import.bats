#!/usr/bin/env bats
# The metadata lives on the devices: a pool survives the loss of the host's
# state, and moves between hosts by importing its devices.

load ../helpers/common

setup() {
	common_setup
}

@test "data spread over three devices of different sizes reads back identical after reopen and after import on a fresh state dir" {
	mkpool tank 160M 100M 60M
	ipstor vol create tank/v --size 100M
	ipstor vol create tank/t --size 1G --thin
	pattern "$D/data" 96M 7
	ipstor vol write tank/v "$D/data"
	ipstor vol write tank/t --offset 900M "$D/data"
	run -0 ipstor vol show tank/v --json
	echo "$output" | jq -e '.volume.stripes == 3'
	# the chunks really are on all three devices
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '[.pool.devices[].allocated] | all(. > 0)'
	want=$(sha "$D/data")
	# reopen (every command opens and closes the pool)
	ipstor vol read tank/v --length 96M "$D/r1"
	[ "$(sha "$D/r1")" = "$want" ]
	# a fresh state dir knows nothing
	export IPSTOR_STATE_DIR=$D/state2
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools == []'
	run -0 ipstor -v pool import "$D/tank-2.img" "$D/tank-0.img" "$D/tank-1.img"
	assert_output "imported pool 'tank'"
	ipstor vol read tank/v --length 96M "$D/r2"
	ipstor vol read tank/t --offset 900M --length 96M "$D/r3"
	[ "$(sha "$D/r2")" = "$want" ]
	[ "$(sha "$D/r3")" = "$want" ]
	run -0 ipstor pool check tank
}

@test "import with a member missing warns, and the pool is refused for writing until it is there" {
	mkpool tank 32M 32M
	ipstor vol create tank/v --size 16M
	export IPSTOR_STATE_DIR=$D/state2
	run -0 --separate-stderr ipstor pool import "$D/tank-0.img"
	[[ $stderr == *"pool 'tank': 1 member device(s) not given; import them too"* ]]
	run -0 ipstor pool show tank --json
	echo "$output" | jq -e '.pool.state == "degraded" and .pool.devices[1].state == "missing"'
	run -4 --separate-stderr ipstor vol create tank/w --size 1M
	[[ $stderr == "ipstor: pool 'tank' is missing device 1 (uuid "*", last seen at '$D/tank-1.img')" ]]
	run -7 ipstor pool check tank
	assert_line --partial "error: device 1: not found"
	run -0 ipstor pool import "$D/tank-1.img"
	run -0 ipstor vol create tank/w --size 1M
	run -0 ipstor pool check tank
}

@test "import refuses a device with no ipstor label, and a second pool of the same name" {
	mkdev blank.img 16M
	run -4 --separate-stderr ipstor pool import "$D/blank.img"
	[ "$stderr" = "ipstor: '$D/blank.img' carries no ipstor label or metadata" ]
	mkpool tank 32M
	mv "$D/tank-0.img" "$D/elsewhere.img"
	rm -r "$IPSTOR_STATE_DIR"
	mkpool tank 32M
	run -5 --separate-stderr ipstor pool import "$D/elsewhere.img"
	[ "$stderr" = "ipstor: another pool named 'tank' already exists on this host" ]
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools | length == 1'
}

@test "importing twice is harmless" {
	mkpool tank 32M
	run -0 ipstor pool import "$D/tank-0.img"
	run -0 ipstor pool import "$D/tank-0.img"
	run -0 ipstor pool list --json
	echo "$output" | jq -e '.pools | length == 1'
	[ "$(grep -c tank-0.img "$IPSTOR_STATE_DIR/devices")" = 1 ]
}
