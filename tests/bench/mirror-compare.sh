#!/usr/bin/env bash
# mirror-compare.sh: a volume with two local legs against the same volume
# unmirrored, on the same devices, through NBD with fio; and resync speed
# against the device's sequential write throughput. A benchmark, not a
# test: it prints figures and the ratios mirroring is held to (1M
# sequential write at QD8: at least 0.85x the unmirrored volume; 4k random
# read at QD32: at least 1.0x, the reads being balanced over two legs;
# resync close to the device's sequential throughput).
#
# usage: tests/bench/mirror-compare.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#   -r ROUNDS   rounds (default 5); medians are reported
#   -t SECONDS  seconds per fio run (default 5)
#   -s SIZE     size of the volumes (default 512M)
#
# Method: two sparse files A and B. Pool "a" on A holds a thick volume
# "plain" and a thick volume "mirrored"; the second has a device leg on
# B. Both are exported by one worker. Each round runs each workload
# against plain and mirrored in turn (which goes first alternates), and
# the worker's CPU time per I/O is reported beside each figure: on a
# shared machine throughput swings with the neighbours' load, the CPU a
# request costs much less. The page cache holds everything, so this
# compares the mirroring layer's cost, not disks. Resync: the time
# the worker takes to sync a fresh device leg of SIZE with no client I/O,
# against fio writing SIZE sequentially (1M, QD8, psync) to a plain file
# on the same filesystem and against dd copying that page-cached file to
# a new one (bs=1M), all ending with an fdatasync. The load average is
# printed at the start and at the end.
#
# Needs fio (with its nbd engine) and jq; BUILD (default build/default)
# must hold a built ipstor.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
rounds=5 secs=5 size=512M
while getopts "r:t:s:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	*) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 2 ;;
	esac
done
for t in fio jq python3; do
	command -v "$t" >/dev/null || { echo "mirror-compare: $t is not installed" >&2; exit 2; }
done
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "mirror-compare: fio has no nbd engine" >&2; exit 2; }

dir=$(mktemp -d)
export IPSTOR_STATE_DIR=$dir/state
cleanup() { "$IPSTOR" server stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
bytes=$(python3 -c "import sys; u={'K':1<<10,'M':1<<20,'G':1<<30}; s=sys.argv[1]; print(int(s[:-1])*u[s[-1]] if s[-1] in u else int(s))" "$size")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

truncate -s $((3 * bytes + (64 << 20))) "$dir/A"
truncate -s $((2 * bytes + (64 << 20))) "$dir/B"
"$IPSTOR" pool create a "$dir/A" >/dev/null
"$IPSTOR" vol create a/plain --size "$bytes" >/dev/null
"$IPSTOR" vol create a/mirrored --size "$bytes" >/dev/null
"$IPSTOR" mirror add a/mirrored --device "$dir/B" >/dev/null
"$IPSTOR" export add a/plain --listen "127.0.0.1:$port" >/dev/null
"$IPSTOR" export add a/mirrored --listen "127.0.0.1:$port" >/dev/null
"$IPSTOR" server start >/dev/null
uri=nbd://127.0.0.1:$port
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# fill both volumes so that reads read data
for v in plain mirrored; do
	fio --name=fill --ioengine=nbd --uri="$uri/$v" --rw=write --bs=1m \
		--iodepth=8 --size="$bytes" --output-format=json >/dev/null
done

wpid=$(cat "$IPSTOR_STATE_DIR/worker.pid")
hz=$(getconf CLK_TCK)
worker_ticks() { awk '{ print $14 + $15 }' "/proc/$wpid/stat"; }

run() { # VOL RW BS DEPTH: "IOPS-or-MiB/s worker-CPU-us-per-I/O"
	local out t0 t1
	t0=$(worker_ticks)
	out=$(fio --name=b --ioengine=nbd --uri="$uri/$1" --rw="$2" --bs="$3" \
		--iodepth="$4" --size="$bytes" --time_based --runtime="$secs" \
		--output-format=json | sed -n '/^{/,$p')
	t1=$(worker_ticks)
	jq -r --arg bs "$3" --argjson cpu "$(((t1 - t0) * 1000000 / hz))" '
		.jobs[0] | [.read, .write] as [$r, $w] |
		(if $bs == "1m" then ($r.bw_bytes + $w.bw_bytes) / 1048576
		 else $r.iops + $w.iops end | floor | tostring) + ":" +
		($cpu / ([$r.total_ios + $w.total_ios, 1] | max) | . * 10 | floor / 10 | tostring)' <<<"$out"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Rounds alternate which volume goes first, so that a neighbour's load
# that comes and goes does not always fall on the same one.
declare -A res cpu
for ((r = 1; r <= rounds; r++)); do
	order="plain mirrored"
	((r % 2)) || order="mirrored plain"
	for w in write:1m:8 randread:4k:32; do
		IFS=: read -r rw bs qd <<<"$w"
		for v in $order; do
			IFS=: read -r val us <<<"$(run "$v" "$rw" "$bs" "$qd")"
			res[$w/$v]+="$val "
			cpu[$w/$v]+="$us "
		done
	done
done

printf '%-16s %9s %9s %6s %-8s %s\n' workload plain mirrored ratio goal "worker CPU us per I/O, plain / mirrored"
for w in write:1m:8 randread:4k:32; do
	p=$(tr ' ' '\n' <<<"${res[$w/plain]}" | grep . | median)
	m=$(tr ' ' '\n' <<<"${res[$w/mirrored]}" | grep . | median)
	pc=$(tr ' ' '\n' <<<"${cpu[$w/plain]}" | grep . | median)
	mc=$(tr ' ' '\n' <<<"${cpu[$w/mirrored]}" | grep . | median)
	unit=IOPS
	[[ $w == *:1m:* ]] && unit=MiB/s
	goal=">= 1.00"
	[[ $w == write:* ]] && goal=">= 0.85"
	printf '%-16s %9s %9s %6.2f %-8s %s / %s\n' "$w" "$p" "$m" \
		"$(python3 -c "print($m / $p)")" "$goal" "$pc" "$mc"
	printf '  (%s; rounds: plain %s| mirrored %s)\n' "$unit" "${res[$w/plain]}" "${res[$w/mirrored]}"
done

# resync: a fresh leg of SIZE with no client I/O
truncate -s $((bytes + (2 << 20))) "$dir/C"
t0=$(date +%s.%N)
"$IPSTOR" mirror add a/plain --device "$dir/C" >/dev/null
while [ "$("$IPSTOR" mirror status a/plain --json | jq -r '.mirrors[0].state')" != in-sync ]; do sleep 0.05; done
t1=$(date +%s.%N)
fio --name=seq --ioengine=psync --rw=write --bs=1m --size="$bytes" \
	--filename="$dir/seq" --end_fsync=1 --output-format=json >"$dir/seq.json"
seq_mib=$(jq '.jobs[0].write.bw_bytes / 1048576 | floor' "$dir/seq.json")
d0=$(date +%s.%N)
dd if="$dir/seq" of="$dir/copy" bs=1M conv=fdatasync status=none
d1=$(date +%s.%N)
rm -f "$dir/copy"
dd_mib=$(python3 -c "print(int($bytes / 1048576 / ($d1 - $d0)))")
rs_mib=$(python3 -c "print(int($bytes / 1048576 / ($t1 - $t0)))")
kernel=$("$IPSTOR" mirror status a/plain --json | jq '.mirrors[0].resync | (.copied_in_kernel // 0) * 100 / ([.copied, 1] | max) | floor')
printf 'resync %s: %s MiB/s (%s %% copied in the kernel); sequential write to a file on the same filesystem: %s MiB/s, ratio %.2f; dd copy of that file: %s MiB/s, ratio %.2f\n' \
	"$size" "$rs_mib" "$kernel" "$seq_mib" "$(python3 -c "print($rs_mib / $seq_mib)")" \
	"$dd_mib" "$(python3 -c "print($rs_mib / $dd_mib)")"

# throttled while a client writes
"$IPSTOR" mirror remove a/plain --leg 1 --yes >/dev/null
truncate -s 0 "$dir/C"
truncate -s $((bytes + (2 << 20))) "$dir/C"
fio --name=load --ioengine=nbd --uri="$uri/plain" --rw=randwrite --bs=64k \
	--iodepth=4 --size="$bytes" --time_based --runtime=600 --output-format=json >/dev/null &
load=$!
sleep 1
t0=$(date +%s.%N)
"$IPSTOR" mirror add a/plain --device "$dir/C" --resync-rate 32M >/dev/null
sleep 4
st=$("$IPSTOR" mirror status a/plain --json | jq '.mirrors[0].resync')
kill "$load"; wait "$load" 2>/dev/null || true
printf 'resync with --resync-rate 32M while a client writes: %s\n' "$(jq -c '{percent, rate_mib_s: (.rate / 1048576 | floor)}' <<<"$st")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
