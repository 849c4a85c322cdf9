#!/usr/bin/env bash
# udp-compare.sh: ipstor's UDP export against its NBD export of the same
# volume, on loopback, in one run: `ipstor bench iometer` drives both
# (nbd:// through libnbd, ipstor:// through the UDP client library),
# alternating target by target in every round, and the script prints
# each round, the medians and the ratios UDP / NBD. Then the same UDP
# workloads through the impairment proxy at 1 % loss each way, and a
# cross-check of `ipstor bench` against fio's nbd engine on the NBD
# export. A benchmark, not a test.
#
# usage: tests/bench/udp-compare.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#   -r ROUNDS   rounds (default 3)
#   -t SECONDS  seconds per run (default 5)
#   -s SIZE     the volume (default 1G), thick, written once first
#
# Workloads (one worker each, 1 s ramp-up left out): 1 MiB sequential
# read and write at 8 outstanding I/Os, 4 KiB random read and write at
# 32. Goals: UDP >= 1.2 x NBD for 1 MiB, >= 1.0 x for 4 KiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
IMPAIR=$PWD/$BUILD/tests/helpers/udp-impair

rounds=3 secs=5 size=1G
while getopts "r:t:s:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	*) sed -n '2,19p' "$0"; exit 2 ;;
	esac
done
for t in jq python3; do
	command -v "$t" >/dev/null || { echo "udp-compare: $t is not installed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/udp-compare.XXXXXX")
export IPSTOR_STATE_DIR=$work/state
proxy=
cleanup() {
	[ -n "$proxy" ] && kill "$proxy" 2>/dev/null
	"$IPSTOR" server stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
port() {
	python3 -c 'import socket,sys; s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
bytes=$(numfmt --from=iec "$size")
truncate -s $((bytes + (256 << 20))) "$work/member.img"
"$IPSTOR" pool create bench "$work/member.img" >/dev/null
"$IPSTOR" vol create bench/v --size "$size" >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/key"
nport=$(port tcp) uport=$(port udp) pport=$(port udp)
"$IPSTOR" export add bench/v --name vn --listen "127.0.0.1:$nport" >/dev/null
"$IPSTOR" export add bench/v --name vu --proto udp --listen "127.0.0.1:$uport" \
	--secret-file "$work/key" >/dev/null
"$IPSTOR" server start >/dev/null
NBD=nbd://127.0.0.1:$nport/vn
UDP="ipstor://127.0.0.1:$uport/vu?secret-file=$work/key"
LOSSY="ipstor://127.0.0.1:$pport/vu?secret-file=$work/key"
# precondition: every chunk written once, so no run allocates
head -c "$bytes" /dev/urandom | "$IPSTOR" remote write "ipstor://127.0.0.1:$uport/vu" \
	--secret-file "$work/key" >/dev/null

for s in read:100:0:1M write:0:0:1M rread:100:100:4K rwrite:0:100:4K; do
	IFS=: read -r name rd rnd bs <<<"$s"
	printf '{"name": "%s", "lines": [{"size": "%s", "percent": 100, "read": %s, "random": %s, "align": "%s"}]}\n' \
		"$name" "$bs" "$rd" "$rnd" "$bs" >"$work/$name.json"
done

# run TARGET SPEC QD: IOPS and MB/s
run() {
	"$IPSTOR" bench iometer -t "$1" --spec "$work/$2.json" -o "$3" --ramp 1 \
		--time "$secs" --seed 1 --yes --json >"$work/last.json" || {
		echo "udp-compare: ipstor bench failed on $1" >&2
		exit 1
	}
	jq -r '.bench.tests[0].all | "\(.iops) \(.mbps)"' "$work/last.json" || {
		head -c 300 "$work/last.json" >&2
		exit 1
	}
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

workloads="read:8 write:8 rread:32 rwrite:32"
: >"$work/rows"
for r in $(seq "$rounds"); do
	line="round $r:"
	for w in $workloads; do
		IFS=: read -r name qd <<<"$w"
		read -r ni nm < <(run "$NBD" "$name" "$qd")
		read -r ui um < <(run "$UDP" "$name" "$qd")
		echo "$name $ni $nm $ui $um" >>"$work/rows"
		line="$line $name QD$qd NBD $(printf '%.0f' "$ni") UDP $(printf '%.0f' "$ui") IOPS |"
	done
	echo "$line"
done

# the proxy: 1 % of datagrams dropped each way
"$IMPAIR" --listen "127.0.0.1:$pport" --to "127.0.0.1:$uport" --seed 1 --drop 1 \
	--stats "$work/proxy.stats" &
proxy=$!
: >"$work/lossy"
for r in $(seq "$rounds"); do
	for w in $workloads; do
		IFS=: read -r name qd <<<"$w"
		read -r li lm < <(run "$LOSSY" "$name" "$qd")
		echo "$name $li $lm" >>"$work/lossy"
	done
done
kill "$proxy"
wait "$proxy" 2>/dev/null || true
proxy=

# cross-check: ipstor bench and fio on the same NBD export
fio_iops=
if command -v fio >/dev/null && fio --enghelp 2>/dev/null | grep -qw nbd; then
	fio_iops=$(fio --name=x --ioengine=nbd --uri="$NBD" --rw=randread --bs=4k \
		--iodepth=32 --ramp_time=1 --runtime="$secs" --time_based \
		--output-format=json 2>/dev/null | sed -n '/^{/,$p' | jq -r '.jobs[0].read.iops')
	bench_iops=$(run "$NBD" rread 32 | cut -d' ' -f1)
fi

echo
echo "medians of $rounds rounds, $secs s each, same thick volume behind both exports:"
printf '| workload | NBD | UDP | UDP / NBD | goal | UDP at 1 %% loss | lossy / clean |\n|---|---|---|---|---|---|---|\n'
for w in $workloads; do
	IFS=: read -r name qd <<<"$w"
	col=2 unit=IOPS goal=1.0
	case $name in read | write) col=3 unit=MB/s goal=1.2 ;; esac
	n=$(awk -v w="$name" -v c="$col" '$1 == w { print $c }' "$work/rows" | median)
	u=$(awk -v w="$name" -v c="$((col + 2))" '$1 == w { print $c }' "$work/rows" | median)
	l=$(awk -v w="$name" -v c="$col" '$1 == w { print $c }' "$work/lossy" | median)
	awk -v w="$name QD$qd ($unit)" -v n="$n" -v u="$u" -v l="$l" -v g="$goal" 'BEGIN {
		printf "| %s | %.0f | %.0f | %.2f | %.1f x %s | %.0f | %.2f |\n", w, n, u, u / n, g,
			(u / n >= g) ? "met" : "missed", l, l / u }'
done
if [ -n "$fio_iops" ]; then
	awk -v f="$fio_iops" -v b="$bench_iops" 'BEGIN {
		printf "\ncross-check, 4k random read QD32 on the NBD export: fio %.0f IOPS, ipstor bench %.0f IOPS (%.2f)\n", f, b, b / f }'
fi
sed 's/^/proxy: /' "$work/proxy.stats"
