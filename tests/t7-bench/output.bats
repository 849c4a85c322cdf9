#!/usr/bin/env bats
# Results as IOMeter reports them: text, JSON valid against the
# documented schema (docs/bench-schema.json), and results.csv's blocks.

load ../helpers/common

SCHEMA=$BATS_TEST_DIRNAME/../../docs/bench-schema.json

setup() {
	common_setup
}

# validate FILE: FILE holds a document the schema accepts
validate() {
	python3 - "$SCHEMA" "$1" <<-'PY'
	import json, sys, jsonschema
	schema = json.load(open(sys.argv[1]))
	jsonschema.Draft202012Validator.check_schema(schema)
	jsonschema.validate(json.load(open(sys.argv[2])), schema,
	                    cls=jsonschema.Draft202012Validator)
	PY
}

@test "--json validates against the documented schema" {
	run -0 --separate-stderr ipstor bench iometer -t memory:32M -t null --spec file-server \
		--time 0.3 -o 1,4 -w 2 --seed 3 --json
	printf '%s\n' "$output" >"$D/r.json"
	validate "$D/r.json"
	jq -e '.version == 1 and .bench.seed == 3 and .bench.workers == 2 and
		([.bench.tests[].outstanding] == [1, 4]) and
		(.bench.spec.lines | length) == 8' "$D/r.json"
	# the figures add up
	jq -e '.bench.tests[0] | .all.ios == .all.read_ios + .all.write_ios and
		.all.ios == ([.workers[].results.ios] | add) and
		(.all.latency_bins | add) == .all.ios' "$D/r.json"
}

@test "a schema that is violated is noticed (the validator is real)" {
	run -0 ipstor bench iometer -t null --time 0.1 --json
	printf '%s\n' "$output" | jq '.bench.tests[0].all.iops = "fast"' >"$D/bad.json"
	run validate "$D/bad.json"
	[ "$status" -ne 0 ]
}

@test "text: a row per target with IOMeter's figures, and CPU" {
	run -0 ipstor bench iometer -t memory:16M --spec database --time 0.3 --seed 5
	assert_line --index 0 --regexp "^spec 'database' \(1 line\), 1 worker, 0.3 s measured after 0 s ramp-up, seed 5$"
	assert_line --regexp '^  TARGET +IOPS +READ IOPS +WRITE IOPS +MiB/s +AVG ms +MAX ms +P50 ms +P99 ms +P99.9 ms +ERRORS$'
	assert_line --regexp '^  memory:16M +[0-9,]+ +[0-9,]+ +[0-9,]+ +[0-9,.]+ .* 0$'
	assert_line --regexp '^  CPU: this process [0-9.]+% \(user [0-9.]+, system [0-9.]+\), [0-9.]+ us per I/O; machine'
}

@test "--csv: IOMeter's results.csv blocks, header and rows" {
	run -0 --separate-stderr ipstor bench iometer -t memory:16M -t null --spec web-server \
		--time 0.2 -o 1,2 -w 2 --csv
	printf '%s\n' "$output" >"$D/r.csv"
	assert_line --index 0 "'Test Type,Test Description"
	assert_line --index 1 "0,web-server"
	assert_line --index 2 "'Version"
	# per test, in order: time stamp, access specifications, results,
	# time stamp, end
	[ "$(grep -c "^'End Test$" "$D/r.csv")" -eq 2 ]
	grep -o "^'[A-Za-z ]*" "$D/r.csv" | sed -n '3,12p' | tr '\n' '|' >"$D/order"
	[ "$(cat "$D/order")" = "'Time Stamp|'Access specifications|'Access specification name|'size|'Results|'Target Type|'Time Stamp|'End Test|'Time Stamp|'Access specifications|" ]
	# the spec lines as IOMeter writes them
	grep -qx '524288,1,100,100,0,1,0,0' "$D/r.csv"
	# ALL, MANAGER, then each worker with its disks; as many fields as
	# the header, which ends with the 21 latency bins
	awk -F, '/^.Target Type/ { n = NF; ok = ($NF == ">= 10 s" && $(NF-20) == "0 to 50 uS") }
		/^(ALL|MANAGER|WORKER|DISK),/ { rows[$1]++; if (NF != n) bad++ }
		END { exit !(ok && !bad && rows["ALL"] == 2 && rows["MANAGER"] == 2 &&
			rows["WORKER"] == 4 && rows["DISK"] == 8) }' "$D/r.csv"
	grep -q '^DISK,memory:16M,web-server,0,0,1,' "$D/r.csv"
	grep -q '^WORKER,Worker 2,web-server,0,1,2,' "$D/r.csv"
}

@test "--csv and --json conflict" {
	run -2 --separate-stderr ipstor bench iometer -t null --time 0.1 --csv --json
	[ "$stderr" = "ipstor bench iometer: --csv and --json conflict" ]
}

@test "--dry-run opens the targets, prints the plan, writes nothing" {
	pattern "$D/f.img" 8M 1
	local before
	before=$(sha "$D/f.img")
	run -0 ipstor bench iometer -t "$D/f.img" --spec streaming-write --time 5 --seed 1 --dry-run
	assert_line --index 0 "would run spec 'streaming-write' (3 lines) with 1 worker for 5 s (ramp-up 0 s), seed 1, on:"
	assert_line --index 1 "  $D/f.img (file, 8 MiB)"
	[ "$(sha "$D/f.img")" = "$before" ]
}

@test "no progress line when stderr is not a terminal" {
	run -0 --separate-stderr ipstor bench iometer -t null --time 1.5
	[ -z "$stderr" ]
}

@test "a progress line on a terminal" {
	require_cmd script
	run -0 script -qec "'$IPSTOR_BIN' bench iometer -t null --time 1.5 --json >'$D/out.json'" /dev/null
	[[ $output == *"IOPS"*"MiB/s"*"errors 0"* ]]
	jq -e '.bench.tests[0].all.ios > 0' "$D/out.json"
}
