#!/usr/bin/env bash
# iometer-vs-fio.sh: does `ipstor bench iometer` measure what fio
# measures? Both run the same workload on the same page-cached file,
# alternating, and the script prints each round, the medians and the
# ratio ipstor / fio (goal: within 10 %). A benchmark, not a test.
#
# usage: tests/bench/iometer-vs-fio.sh [-r ROUNDS] [-t SECONDS] [-s SIZE] [-d] [-e ENGINE]
#   -r ROUNDS   rounds (default 3)
#   -t SECONDS  seconds per run (default 5)
#   -s SIZE     size of the file (default 1G)
#   -d          O_DIRECT for both (the file then lives on the filesystem
#               of TMPDIR and is read from the device)
#   -e ENGINE   fio's engine: io_uring (default) or libaio
#
# Workloads: 4 KiB random reads at 32 outstanding I/Os (ipstor's
# 4k-random-read preset; fio rw=randread bs=4k iodepth=32) and 1 MiB
# sequential reads at 8 (a one-line spec; fio rw=read bs=1m iodepth=8).
# One worker / one job each, 1 s of ramp-up excluded by both.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor

rounds=3 secs=5 size=1G direct=0 engine=io_uring
while getopts "r:t:s:de:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	d) direct=1 ;;
	e) engine=$OPTARG ;;
	*) sed -n '2,19p' "$0"; exit 2 ;;
	esac
done
for t in fio jq; do
	command -v "$t" >/dev/null || { echo "iometer-vs-fio: $t is not installed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/iometer-vs-fio.XXXXXX")
trap 'rm -rf "$work"' EXIT
file=$work/data.img
head -c "$(numfmt --from=iec "$size")" /dev/urandom >"$file"
cat >"$work/seq1m.json" <<'JSON'
{"name": "seq-read-1m", "lines": [{"size": "1M", "percent": 100, "read": 100, "random": 0}]}
JSON

dflag=()
[ "$direct" = 1 ] && dflag=(--direct)

# ipstor_run SPEC QD: IOPS and MB/s
ipstor_run() {
	"$IPSTOR" bench iometer -t "$file" --spec "$1" -o "$2" --ramp 1 \
		--time "$secs" --seed 1 "${dflag[@]}" --json |
		jq -r '.bench.tests[0].all | "\(.iops) \(.mbps)"'
}

# fio_run RW BS QD: IOPS and MB/s
fio_run() {
	fio --name=x --filename="$file" --ioengine="$engine" --rw="$1" --bs="$2" \
		--iodepth="$3" --direct="$direct" --ramp_time=1 --runtime="$secs" \
		--time_based --output-format=json 2>/dev/null |
		jq -r '.jobs[0].read | "\(.iops) \(.bw_bytes / 1000000)"'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cat /dev/null >"$work/rows"
for r in $(seq "$rounds"); do
	cat "$file" >/dev/null # in the page cache for both
	read -r a _ < <(fio_run randread 4k 32)
	read -r b _ < <(ipstor_run 4k-random-read 32)
	read -r _ c < <(fio_run read 1m 8)
	read -r _ d < <(ipstor_run "$work/seq1m.json" 8)
	printf 'round %s: 4k randread QD32 IOPS fio %.0f ipstor %.0f | 1M read QD8 MB/s fio %.0f ipstor %.0f\n' \
		"$r" "$a" "$b" "$c" "$d"
	echo "$a $b $c $d" >>"$work/rows"
done
fa=$(cut -d' ' -f1 "$work/rows" | median)
ia=$(cut -d' ' -f2 "$work/rows" | median)
fc=$(cut -d' ' -f3 "$work/rows" | median)
ic=$(cut -d' ' -f4 "$work/rows" | median)
echo
echo "medians of $rounds rounds, $secs s each (fio engine $engine, direct=$direct):"
awk -v fa="$fa" -v ia="$ia" -v fc="$fc" -v ic="$ic" 'BEGIN {
	printf "| workload | fio | ipstor bench | ipstor / fio | within 10 %% |\n|---|---|---|---|---|\n"
	r = ia / fa; printf "| 4k random read QD32 (IOPS) | %.0f | %.0f | %.3f | %s |\n", fa, ia, r, (r > 0.9 && r < 1.1) ? "yes" : "no"
	r = ic / fc; printf "| 1M sequential read QD8 (MB/s) | %.0f | %.0f | %.3f | %s |\n", fc, ic, r, (r > 0.9 && r < 1.1) ? "yes" : "no"
}'
