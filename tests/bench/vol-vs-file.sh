#!/usr/bin/env bash
# vol-vs-file.sh: IPStor's headline, measured. A thick volume through the
# engine (vol:, no network) against a raw file holding the same data on
# the same filesystem, with `ipstor bench iometer --compare` on the
# file-server, database and streaming presets (goal: at most 5 %
# difference). A benchmark, not a test: it prints the comparison of every
# preset and a summary table.
#
# usage: tests/bench/vol-vs-file.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#            [-o OUTSTANDING] [-e ENGINE] [-p PRESETS] [-R DIR]
#   -r ROUNDS       rounds of each comparison (default 5)
#   -t SECONDS      seconds per run (default 3)
#   -s SIZE         size of the volume and of the file (default 1G)
#   -o OUTSTANDING  I/Os in flight (default 8)
#   -e ENGINE       how the raw file is driven: psync (default: a thread
#                   per outstanding I/O, the access method vol: uses, so
#                   the difference is the volume layer) or io_uring
#   -p PRESETS      comma-separated (default
#                   file-server,database,streaming-read,streaming-write)
#   -R DIR          keep each comparison's --report under DIR
#   -C              also compare the raw file with itself on each preset:
#                   the method's own noise on this machine, right now
#
# Method: a pool on one sparse file holds a thick volume of SIZE; the
# volume and a plain file of SIZE get the same random content; both sit
# in the page cache (the comparison is of the data paths, not of a disk).
# Targets alternate within each round. The volume is striped over one
# member, so its chunks are contiguous in the pool file, as a raw file's
# blocks are.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor

rounds=5 secs=3 size=1G qd=8 engine=psync keep= control=0
presets=file-server,database,streaming-read,streaming-write
while getopts "r:t:s:o:e:p:R:Ch" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	o) qd=$OPTARG ;;
	e) engine=$OPTARG ;;
	p) presets=$OPTARG ;;
	R) keep=$OPTARG ;;
	C) control=1 ;;
	*) sed -n '2,28p' "$0"; exit 2 ;;
	esac
done
command -v jq >/dev/null || { echo "vol-vs-file: jq is not installed" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vol-vs-file.XXXXXX")
trap 'rm -rf "$work"' EXIT
export IPSTOR_STATE_DIR=$work/state
bytes=$(numfmt --from=iec "$size")
truncate -s $((bytes + 64 * 1048576)) "$work/member.img"
"$IPSTOR" pool create bench "$work/member.img" >/dev/null
"$IPSTOR" vol create bench/v --size "$bytes" >/dev/null
# Both written in 256 KiB requests (the volume's chunk size, what the data
# path issues): how a file was written decides the size of its page-cache
# folios, and reading large folios costs less CPU per byte (40 % less for
# 64-256 KiB reads on this machine's kernel, against a file written 4 KiB
# at a time), which would otherwise be the biggest difference measured.
dd if=/dev/urandom of="$work/raw.img" bs=256K count=$((bytes / 262144)) status=none
"$IPSTOR" vol write bench/v "$work/raw.img" >/dev/null
cat "$work/raw.img" "$work/member.img" >/dev/null

printf '| preset | figure | raw file | vol: | difference | spread | within 5 %% |\n|---|---|---|---|---|---|---|\n' >"$work/summary"
# compare NAME SLUG B: raw file against B, printed, a row per headline
# figure; the report (-R) goes to DIR/SLUG
compare() {
	local name=$1 slug=$2 b=$3 rep=()
	[ -n "$keep" ] && mkdir -p "$keep" && rep=(--report "$keep/$slug")
	"$IPSTOR" bench iometer --compare -t "$work/raw.img" -t "$b" \
		--engine "$engine" --spec "$p" -o "$qd" --time "$secs" --rounds "$rounds" \
		--seed 1 --yes --json "${rep[@]}" >"$work/$slug.json"
	echo "== $name: raw file against $b (raw file: $engine; $rounds rounds of $secs s, $qd outstanding)"
	jq -r '.bench.compare[0] as $c | $c.metrics[] | .key as $k |
		[$c.differences[] | select(.metric == $k)][0] as $d |
		"  \(.label): raw \($c.targets[0].median[$k]) other \($c.targets[1].median[$k]) (\($d.percent)% \($d.verdict)\(if $d.within_spread then ", within the spread" else "" end), spread \($d.spread)%)"' \
		"$work/$slug.json"
	jq -r --arg p "$name" '.bench.compare[0] as $c |
		($c.differences[] | select(.metric == "iops" or .metric == "mibps" or .metric == "avg_response_ms" or .metric == "cpu_us_per_io")) as $d |
		"| \($p) | \($d.metric) | \($c.targets[0].median[$d.metric]) | \($c.targets[1].median[$d.metric]) | \($d.percent)% \($d.verdict) | \($d.spread)% | \(if ($d.percent | fabs) <= 5 then "yes" else "no" end) |"' \
		"$work/$slug.json" >>"$work/summary"
	jq -e '[.bench.tests[].all.errors] | add == 0' "$work/$slug.json" >/dev/null ||
		echo "  ERRORS in $name"
}
IFS=, read -ra list <<<"$presets"
for p in "${list[@]}"; do
	[ "$control" = 1 ] && compare "$p (control: raw file against itself)" "$p-control" "$work/raw.img"
	compare "$p" "$p" vol:bench/v
done
echo
cat "$work/summary"
