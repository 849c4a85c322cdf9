#!/usr/bin/env bats
# --compare: targets alternated in rounds, medians and spreads, the
# difference against the first target labelled and flagged when it is no
# larger than the run-to-run spread; --report writes JSON, CSV and an SVG.

load ../helpers/common

setup() {
	common_setup
}

@test "a target compared with itself differs within the spread, flagged so" {
	pattern "$D/f.img" 32M 1
	run -0 --separate-stderr ipstor bench iometer --compare -t "$D/f.img" -t "$D/f.img" \
		--spec database --time 0.2 --rounds 7 --yes --json
	printf '%s\n' "$output" >"$D/r.json"
	# 7 rounds of each target: A, B, then B, A, ...
	jq -e '[.bench.tests[] | .targets[0].name] | length == 14' "$D/r.json"
	jq -e '[.bench.tests[].round] == [1,1,2,2,3,3,4,4,5,5,6,6,7,7]' "$D/r.json"
	jq -c '.bench.compare[0].differences[] | select(.within_spread | not)' "$D/r.json"
	jq -e '.bench.compare[0] | (.differences | length) == (.metrics | length) and
		all(.differences[]; .within_spread)' "$D/r.json"
	run -0 --separate-stderr ipstor bench iometer --compare -t "$D/f.img" -t "$D/f.img" \
		--spec 4k-random-read --time 0.2 --rounds 7
	assert_line --regexp '^  I/Os per second, IOPS +A [0-9,]+ \([0-9,]+\.\.[0-9,]+\) +B .*, within the spread \(spread [0-9.]+%\)$'
	[ "$(grep -c ', within the spread' <<<"$output")" -eq 9 ]
}

@test "a real difference is labelled and not flagged" {
	# copying 64 KiB per I/O against doing nothing. Rates swing with the
	# machine's load (a descheduled round of the null target spans a range
	# wider than any difference); the CPU each I/O costs does not
	run -0 --separate-stderr ipstor bench iometer --compare -t memory:64M -t null \
		--spec max-throughput --time 0.2 --rounds 5 --json
	echo "$output" | jq -c '.bench.compare[0].differences[]'
	echo "$output" | jq -e '.bench.compare[0].differences[] |
		select(.metric == "cpu_us_per_io") |
		.verdict == "less CPU" and .percent < -50 and (.within_spread | not)'
	echo "$output" | jq -e '.bench.compare[0].differences[] |
		select(.metric == "iops") | .verdict == "faster" and .percent > 0'
	echo "$output" | jq -e '.bench.compare[0].differences[] |
		select(.metric == "avg_response_ms") | .verdict == "faster"'
	echo "$output" | jq -e '.bench.rounds == 5 and (.bench.compare[0].targets | length) == 2'
}

@test "medians, minima and maxima are those of the rounds" {
	run -0 --separate-stderr ipstor bench iometer --compare -t null:1G -t memory:8M \
		--spec default --time 0.1 --json
	echo "$output" | jq -e '.bench as $b | $b.compare[0].targets[1] as $t |
		[$b.tests[] | select(.targets[0].name == "memory:8M") | .all.iops] | sort as $v |
		$t.median.iops == $v[1] and $t.min.iops == $v[0] and $t.max.iops == $v[2]'
}

@test "--report DIR: results, CSV and an SVG chart naming every target" {
	require_cmd xmllint
	run -0 ipstor bench iometer --compare -t null -t 'memory:8M' -t null:2G \
		--spec database --time 0.1 --report "$D/rep"
	[ -s "$D/rep/results.json" ] && [ -s "$D/rep/results.csv" ] && [ -s "$D/rep/report.svg" ]
	xmllint --noout "$D/rep/report.svg"
	[ "$(xmllint --xpath 'name(/*)' "$D/rep/report.svg")" = svg ]
	local t
	for t in null memory:8M null:2G; do
		grep -q ">[A-C]: $t</text>" "$D/rep/report.svg"
	done
	# a panel per compared metric, a bar per target in each
	local panels bars
	panels=$(jq '.bench.compare[0].metrics | length' "$D/rep/results.json")
	[ "$(grep -c '<g class="metric">' "$D/rep/report.svg")" -eq "$panels" ]
	bars=$(grep -c '<rect x="[0-9]*" y="[0-9-]*" width="[0-9]*" height="[0-9-]*" fill="#' "$D/rep/report.svg")
	[ "$bars" -eq $((panels * 3 + 3)) ] # + the legend's swatches
	grep -q "^'Results" "$D/rep/results.csv"
}

@test "names are escaped in the SVG" {
	require_cmd xmllint
	mkdir "$D/a&b<c>"
	truncate -s 4M "$D/a&b<c>/f.img"
	run -0 ipstor bench iometer -t "$D/a&b<c>/f.img" -t null --spec 4k-random-read \
		--time 0.1 --report "$D/rep"
	xmllint --noout "$D/rep/report.svg"
	grep -qF 'a&amp;b&lt;c&gt;/f.img' "$D/rep/report.svg"
}

@test "--compare needs two targets; --rounds at least 3 and only with --compare" {
	run -2 --separate-stderr ipstor bench iometer --compare -t null --time 0.1
	[ "$stderr" = "ipstor bench iometer: --compare needs two targets or more" ]
	run -2 --separate-stderr ipstor bench iometer --compare -t null -t null --rounds 2 --time 0.1
	[ "$stderr" = "ipstor bench iometer: --rounds must be from 3 to 100" ]
	run -2 --separate-stderr ipstor bench iometer -t null --rounds 5 --time 0.1
	[ "$stderr" = "ipstor bench iometer: --rounds applies to --compare" ]
}

@test "a report directory that cannot be made is an error" {
	run -4 --separate-stderr ipstor bench iometer -t null --time 0.1 --report "$D/no/such/dir"
	[ "$stderr" = "ipstor: cannot create '$D/no/such/dir': No such file or directory" ]
}
