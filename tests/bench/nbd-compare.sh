#!/usr/bin/env bash
# nbd-compare.sh: ipstor's NBD export against nbdkit's file plugin and the
# local file, with fio. A benchmark, not a test: it prints figures and the
# ratios the NBD export is held to (4k random read and write at QD32: at
# least 1.3x nbdkit's IOPS; 1M sequential read and write at QD8: at least
# 1.0x its throughput).
#
# usage: tests/bench/nbd-compare.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#                [-j JOBS] [-w WORKLOADS] [-- NBD-SERVE-OPTIONS]
#   -r ROUNDS     rounds (default 3); medians of the rounds are reported
#   -t SECONDS    seconds per fio run (default 5)
#   -s SIZE       size of the volume and of nbdkit's file (default 1G)
#   -j JOBS       fio jobs, each with its own connection (default 1)
#   -w WORKLOADS  comma-separated rw:bs:iodepth
#                 (default randread:4k:32,randwrite:4k:32,read:1m:8,write:1m:8)
#   -- OPTIONS    serve with tests/helpers/nbd-serve OPTIONS instead of the
#                 worker (to try the NBD module's knobs)
#
# Method: a pool on a sparse file holds a thick volume; the volume and a
# plain file for nbdkit get the same random content; the worker exports the
# volume (ipstor export add + server start), `nbdkit file` the plain file,
# both on 127.0.0.1. Each
# round runs every workload against every target in turn (local file,
# ipstor, nbdkit), so that a noisy machine disturbs all of them alike.
# Before every run both backing files are read once so that they are in the
# page cache: the comparison is of the servers, not of the disk.
#
# A fourth target, "ceiling", is nbdkit's null plugin: a server that does
# no work at all (reads return zeroes, writes are dropped). What fio gets
# from it is the most any server can show with this client and this many
# jobs; a goal above it measures the client, not the server.
#
# Needs fio (with its nbd engine), nbdkit, jq; BUILD (default
# build/default) must hold a built ipstor.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
SERVE=$PWD/$BUILD/tests/helpers/nbd-serve

rounds=3 secs=5 size=1G jobs=1
workloads="randread:4k:32,randwrite:4k:32,read:1m:8,write:1m:8"
while getopts "r:t:s:j:w:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	j) jobs=$OPTARG ;;
	w) workloads=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
serve_opts=("$@")
use_serve=$#

for t in fio nbdkit jq; do
	command -v "$t" >/dev/null || { echo "nbd-compare: $t is not installed" >&2; exit 2; }
done
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "nbd-compare: fio has no nbd engine" >&2; exit 2; }
[ -x "$IPSTOR" ] && [ -x "$SERVE" ] || { echo "nbd-compare: build first (make)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nbd-compare.XXXXXX")
serve_pid= kit_pid= null_pid= worker=
cleanup() {
	[ -n "$worker" ] && "$IPSTOR" server stop >/dev/null 2>&1
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	[ -n "$kit_pid" ] && kill "$kit_pid" 2>/dev/null && wait "$kit_pid" 2>/dev/null
	[ -n "$null_pid" ] && kill "$null_pid" 2>/dev/null && wait "$null_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export IPSTOR_STATE_DIR=$work/state

bytes=$(numfmt --from=iec "${size%B}")
echo "# preparing a $size volume and file in $work" >&2
truncate -s $((bytes + 512 * 1024 * 1024)) "$work/member.img"
"$IPSTOR" pool create bench "$work/member.img" >/dev/null
"$IPSTOR" vol create bench/vol --size "$bytes" >/dev/null
head -c "$bytes" <(openssl enc -aes-128-ctr -nosalt -pass pass:nbd-compare \
	</dev/zero 2>/dev/null) >"$work/plain.img"
"$IPSTOR" vol write bench/vol "$work/plain.img" >/dev/null

# free ports: nothing answers on them
free_port() {
	local p=$((20000 + RANDOM % 20000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
if [ "$use_serve" -gt 0 ]; then
	"$SERVE" "${serve_opts[@]}" bench/vol >"$work/serve.out" 2>"$work/serve.err" &
	serve_pid=$!
	for _ in $(seq 100); do
		grep -q '^listening on' "$work/serve.out" && break
		sleep 0.1
	done
	ipstor_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
	[ -n "$ipstor_port" ] || { cat "$work/serve.err" >&2; exit 1; }
else
	ipstor_port=$(free_port)
	"$IPSTOR" export add bench/vol --listen "127.0.0.1:$ipstor_port" >/dev/null
	"$IPSTOR" server start >/dev/null
	worker=1
fi
kit_port=$(free_port)
nbdkit -f -p "$kit_port" -i 127.0.0.1 file "$work/plain.img" &
kit_pid=$!
null_port=$(free_port)
nbdkit -f -p "$null_port" -i 127.0.0.1 null size="$bytes" &
null_pid=$!
for port in "$kit_port" "$null_port"; do
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
done

labels=(local ipstor nbdkit ceiling)
args=(
	"--ioengine=io_uring --filename=$work/plain.img"
	"--ioengine=nbd --uri=nbd://127.0.0.1:$ipstor_port/"
	"--ioengine=nbd --uri=nbd://127.0.0.1:$kit_port/"
	"--ioengine=nbd --uri=nbd://127.0.0.1:$null_port/"
)

results=$work/results
IFS=, read -r -a wl <<<"$workloads"
for ((r = 1; r <= rounds; r++)); do
	for w in "${wl[@]}"; do
		IFS=: read -r rw bs qd <<<"$w"
		for i in "${!labels[@]}"; do
			cat "$work/member.img" "$work/plain.img" >/dev/null
			# shellcheck disable=SC2086
			out=$(fio --name=cmp ${args[$i]} --rw="$rw" --bs="$bs" \
				--iodepth="$qd" --numjobs="$jobs" --size="$bytes" --time_based \
				--runtime="$secs" --group_reporting \
				--output-format=json 2>/dev/null | sed -n '/^{/,$p') || true
			v=$(jq -r '.jobs[0] | [(.read.iops + .write.iops),
				((.read.bw_bytes + .write.bw_bytes) / 1e6), .error] | @tsv' \
				<<<"$out" 2>/dev/null || printf '0\t0\t1')
			printf '%s\t%s\t%s\n' "$w" "${labels[$i]}" "$v" >>"$results"
			printf '# round %d %-16s %-7s %s\n' "$r" "$w" "${labels[$i]}" "$v" >&2
		done
	done
done

median() { sort -g | awk '{v[NR] = $1} END {print NR ? (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) : 0}'; }

printf '%-18s %-8s %10s %9s %8s\n' workload target IOPS MB/s failed
for w in "${wl[@]}"; do
	for l in "${labels[@]}"; do
		iops=$(awk -F'\t' -v w="$w" -v l="$l" '$1 == w && $2 == l {print $3}' "$results" | median)
		mbs=$(awk -F'\t' -v w="$w" -v l="$l" '$1 == w && $2 == l {print $4}' "$results" | median)
		failed=$(awk -F'\t' -v w="$w" -v l="$l" '$1 == w && $2 == l && $5 != 0' "$results" | wc -l)
		printf '%-18s %-8s %10.0f %9.1f %8d\n' "$w" "$l" "$iops" "$mbs" "$failed"
		eval "m_${l}=\$iops"
	done
	# shellcheck disable=SC2154
	awk -v w="$w" -v c="$m_ceiling" -v b="$m_nbdkit" 'BEGIN {
		printf "%-18s ceiling/nbdkit %.2f (the most any server can show here)\n", w, (b > 0 ? c / b : 0)
	}'
	IFS=: read -r rw bs qd <<<"$w"
	goal=1.0
	[ "$bs" = 4k ] && goal=1.3
	# shellcheck disable=SC2154
	awk -v w="$w" -v a="$m_ipstor" -v b="$m_nbdkit" -v g="$goal" 'BEGIN {
		r = b > 0 ? a / b : 0
		printf "%-18s ipstor/nbdkit %.2f (goal %.1f) %s\n", w, r, g, (r >= g ? "ok" : "BELOW")
	}'
done
