#!/usr/bin/env bash
# cpu-per-io.sh: CPU time per I/O of the NBD server and of the client, for
# ipstor's worker and nbdkit serving the same page-cached data. Steadier
# than IOPS on a shared machine, and it shows which side bounds a
# single-connection benchmark. A benchmark, not a test.
#
# usage: tests/bench/cpu-per-io.sh [-n IOS] [-r ROUNDS] [-w RW,...]
#                                  [-b BS] [-q DEPTH]
#   -n IOS      I/Os per run (default 300000)
#   -r ROUNDS   rounds, targets alternating (default 2)
#   -w RW       fio rw modes (default randread,randwrite)
#   -b BS       block size (default 4k)
#   -q DEPTH    queue depth (default 32)
#
# Server CPU comes from /proc/PID/stat (utime + stime) around the run;
# client CPU from fio's own usr_cpu + sys_cpu.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
n=300000 rounds=2 modes=randread,randwrite bs=4k qd=32
while getopts "n:r:w:b:q:h" o; do
	case $o in
	n) n=$OPTARG ;; r) rounds=$OPTARG ;; w) modes=$OPTARG ;;
	b) bs=$OPTARG ;; q) qd=$OPTARG ;;
	*) sed -n '2,19p' "$0"; exit 2 ;;
	esac
done
for t in fio nbdkit jq; do
	command -v "$t" >/dev/null || { echo "cpu-per-io: $t is not installed" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/cpu-per-io.XXXXXX")
export IPSTOR_STATE_DIR=$work/state
kit_pid=
cleanup() {
	"$IPSTOR" server stop >/dev/null 2>&1 || true
	[ -n "$kit_pid" ] && kill "$kit_pid" 2>/dev/null && wait "$kit_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
free_port() {
	local p=$((20000 + RANDOM % 20000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
truncate -s 1600M "$work/member.img"
"$IPSTOR" pool create bench "$work/member.img" >/dev/null
"$IPSTOR" vol create bench/vol --size 1G >/dev/null
head -c 1G <(openssl enc -aes-128-ctr -nosalt -pass pass:cpu-per-io </dev/zero 2>/dev/null) >"$work/plain.img"
"$IPSTOR" vol write bench/vol "$work/plain.img" >/dev/null
ip_port=$(free_port)
"$IPSTOR" export add bench/vol --listen "127.0.0.1:$ip_port" >/dev/null
"$IPSTOR" server start >/dev/null
ip_pid=$(cat "$IPSTOR_STATE_DIR/worker.pid")
kit_port=$(free_port)
nbdkit -f -p "$kit_port" -i 127.0.0.1 file "$work/plain.img" &
kit_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$kit_port") 2>/dev/null && break; sleep 0.1; done

measure() { # LABEL PORT PID RW
	cat "$work/member.img" "$work/plain.img" >/dev/null
	local t0 t1 out
	t0=$(awk '{print $14 + $15}' "/proc/$3/stat")
	out=$(fio --name=x --ioengine=nbd --uri="nbd://127.0.0.1:$2/" --rw="$4" --bs="$bs" \
		--iodepth="$qd" --size=1G --number_ios="$n" --output-format=json 2>/dev/null |
		sed -n '/^{/,$p')
	t1=$(awk '{print $14 + $15}' "/proc/$3/stat")
	jq -r --arg l "$1" --arg rw "$4" --argjson s $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
		--argjson n "$n" '.jobs[0] |
		((.job_runtime / 1000) * (.usr_cpu + .sys_cpu) / 100) as $c |
		"\($rw)\t\($l)\t\(.read.iops + .write.iops | floor)\t\($s / $hz * 1e6 / $n)\t\($c * 1e6 / $n)"' <<<"$out"
}
printf '%-10s %-7s %8s %16s %16s\n' rw server IOPS server-us/io client-us/io
IFS=, read -r -a mm <<<"$modes"
for ((r = 1; r <= rounds; r++)); do
	for m in "${mm[@]}"; do
		for t in ipstor nbdkit; do
			if [ $t = ipstor ]; then
				line=$(measure ipstor "$ip_port" "$ip_pid" "$m")
			else
				line=$(measure nbdkit "$kit_port" "$kit_pid" "$m")
			fi
			IFS=$'\t' read -r a b c d e <<<"$line"
			printf '%-10s %-7s %8d %16.1f %16.1f\n' "$a" "$b" "$c" "$d" "$e"
		done
	done
done
