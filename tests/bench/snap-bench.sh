#!/usr/bin/env bash
# snap-bench.sh: what snapshots cost, measured side by side in one run. A
# benchmark, not a test: it prints figures and the ratios the snapshot
# work is held to.
#
#   reads    4k random read IOPS at QD32 (fio over NBD) of a volume with 100
#            snapshots (each taken after 1 MiB of scattered writes, so the
#            trees differ) against the same data in a volume without
#            any: goal at least 0.9x
#   writes   4k random write IOPS at QD32 for SECONDS right after a
#            snapshot (every chunk shared: the first write to each copies
#            it), and again once a sequential pass has given every chunk
#            its copy, against a volume without snapshots: goals 0.5x and
#            0.9x
#   create   snap create time (through the worker, and offline) on a 1 GiB
#            and a 100 GiB thin volume, for the first 20 snapshots and for
#            the 481st to 500th: goal, no growth
#   backup   ipstor backup of a 1 GiB snapshot to /dev/null against
#            ipstor vol read of the same snapshot: goal at least 0.8x
#
# usage: tests/bench/snap-bench.sh [-r ROUNDS] [-t SECONDS] [-p PARTS]
#   -r ROUNDS  rounds of the fio and backup comparisons (default 3)
#   -t SECONDS seconds per fio run (default 4)
#   -p PARTS   comma-separated subset of reads,writes,create,backup
#
# Method: a pool on one sparse file (default 256 KiB chunks) in $TMPDIR
# (for writes, one on a file written through first, see there);
# volumes filled with random data just before, so page-cached; targets
# alternate within each round and medians are reported. Times include
# the ipstor command's own start (a process per snap create). Needs fio
# (nbd engine), jq.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
rounds=3 secs=4 parts=reads,writes,create,backup
while getopts "r:t:p:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	p) parts=$OPTARG ;;
	*) sed -n '2,28p' "$0"; exit 2 ;;
	esac
done
for t in fio jq; do
	command -v "$t" >/dev/null || { echo "snap-bench: $t is not installed" >&2; exit 2; }
done
[ -x "$IPSTOR" ] || { echo "snap-bench: build first (make)" >&2; exit 2; }
want() { [[ ,$parts, == *,$1,* ]]; }

work=$(mktemp -d "${TMPDIR:-/tmp}/snap-bench.XXXXXX")
worker=
cleanup() {
	[ -n "$worker" ] && "$IPSTOR" server stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
export IPSTOR_STATE_DIR=$work/state
ip() { "$IPSTOR" "$@"; }
free_port() {
	local p=$((20000 + RANDOM % 20000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
median() { sort -g | awk '{v[NR] = $1} END {print NR ? (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) : 0}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
GiB=$((1 << 30))

echo "# preparing in $work" >&2
truncate -s 24G "$work/member.img"
ip pool create b "$work/member.img" >/dev/null
head -c "$GiB" <(openssl enc -aes-128-ctr -nosalt -pass pass:snap-bench \
	</dev/zero 2>/dev/null) >"$work/data"
port=$(free_port)

# space for the next part: the volumes, their snapshots and exports go
drop_volumes() {
	local v
	for v in "$@"; do
		ip export remove "$v" >/dev/null 2>&1 || true
		ip snap prune "b/$v" --keep 0 --yes >/dev/null
		ip vol delete "b/$v" --yes >/dev/null
	done
}
start_worker() { ip server start >/dev/null; worker=1; }
stop_worker() { ip server stop >/dev/null; worker=; }

# fio 4k at QD32 against export NAME: IOPS
fio_iops() { # RW NAME SECONDS
	# the previous step's dirty pages written back now, not during this run
	sync "$work/member.img"
	fio --name=b --ioengine=nbd --uri="nbd://127.0.0.1:$port/$2" --rw="$1" \
		--bs=4k --iodepth=32 --size="$GiB" --time_based --runtime="$3" \
		--output-format=json 2>/dev/null | sed -n '/^{/,$p' |
		jq '.jobs[0] | .read.iops + .write.iops'
}

if want reads; then
	echo "# reads: two 1 GiB volumes with the same data, one with 100 snapshots" >&2
	for v in plain snapped; do
		ip vol create "b/$v" --size 1G >/dev/null
		ip vol write "b/$v" "$work/data" >/dev/null
		ip export add "b/$v" --listen "127.0.0.1:$port" >/dev/null
	done
	start_worker
	for s in $(seq 1 100); do
		ip snap create "b/snapped@s$s" >/dev/null
		# 1 MiB of scattered 4k writes: each snapshot's tree differs
		fio --name=w --ioengine=nbd --uri="nbd://127.0.0.1:$port/snapped" \
			--rw=randwrite --bs=4k --iodepth=8 --size="$GiB" --io_size=1m \
			--randseed="$s" >/dev/null 2>&1
	done
	for ((r = 1; r <= rounds; r++)); do
		for v in plain snapped; do
			x=$(fio_iops randread "$v" "$secs")
			echo "reads $v $x" >>"$work/results"
			echo "# round $r randread $v $x" >&2
		done
	done
	stop_worker
	drop_volumes plain snapped
fi

if want writes; then
	echo "# writes: a 1 GiB volume snapshotted before each run, and one never" >&2
	# a pool of its own on a member written through once, as a disk's
	# blocks always exist: copies land where an overwrite would, not in
	# holes of a sparse file that the file system allocates on first write
	dd if=/dev/zero of="$work/written.img" bs=1M count=4096 conv=fsync status=none
	ip pool create w "$work/written.img" >/dev/null
	for v in wbase wsnap; do
		ip vol create "w/$v" --size 1G >/dev/null
		ip vol write "w/$v" "$work/data" >/dev/null
		ip export add "w/$v" --listen "127.0.0.1:$port" >/dev/null
	done
	start_worker
	for ((r = 1; r <= rounds; r++)); do
		x=$(fio_iops randwrite wbase "$secs")
		echo "writes none $x" >>"$work/results"
		ip snap create "w/wsnap@r$r" >/dev/null
		y=$(fio_iops randwrite wsnap "$secs")
		echo "writes after $y" >>"$work/results"
		# every chunk gets its own copy: one sequential pass
		fio --name=w --ioengine=nbd --uri="nbd://127.0.0.1:$port/wsnap" \
			--rw=write --bs=1m --iodepth=8 --size="$GiB" >/dev/null 2>&1
		z=$(fio_iops randwrite wsnap "$secs")
		echo "writes copied $z" >>"$work/results"
		echo "# round $r randwrite: none $x, just after a snapshot $y, once copied $z" >&2
		ip snap delete "w/wsnap@r$r" --yes >/dev/null
	done
	stop_worker
	ip export remove wbase >/dev/null
	ip export remove wsnap >/dev/null
	ip pool destroy w --yes >/dev/null
	rm -f "$work/written.img"
fi

if want create; then
	echo "# create: snapshots of a 1 GiB and a 100 GiB thin volume" >&2
	ip vol create b/small --size 1G --thin >/dev/null
	ip vol write b/small "$work/data" >/dev/null
	ip vol create b/big --size 100G --thin >/dev/null
	# 1 MiB every GiB: a sparse tree over the whole 100 GiB
	for g in $(seq 0 99); do
		head -c 1M "$work/data" | ip vol write b/big --offset "${g}G" >/dev/null
	done
	time_creates() { # VOL FIRST LAST MODE
		local n t0 t1
		for ((n = $2; n <= $3; n++)); do
			t0=$(date +%s%N)
			ip snap create "b/$1@c$n" >/dev/null
			t1=$(date +%s%N)
			echo "create $1-$4-$2 $(((t1 - t0) / 1000))" >>"$work/results"
		done
	}
	start_worker
	for v in small big; do
		time_creates "$v" 1 20 worker
		for ((n = 21; n <= 480; n++)); do ip snap create "b/$v@c$n" >/dev/null; done
		time_creates "$v" 481 500 worker
	done
	stop_worker
	# offline: every command opens the pool (a walk of every tree, each
	# shared node once) and closes it
	for v in small big; do
		ip snap prune "b/$v" --keep 0 --yes >/dev/null
		time_creates "$v" 1 20 offline
		for ((n = 21; n <= 480; n++)); do ip snap create "b/$v@c$n" >/dev/null; done
		time_creates "$v" 481 500 offline
	done
	drop_volumes small big
fi

if want backup; then
	echo "# backup: a 1 GiB snapshot to /dev/null, against reading it" >&2
	ip vol create b/bk --size 1G >/dev/null
	ip vol write b/bk "$work/data" >/dev/null
	ip snap create b/bk@s >/dev/null
	ip vol read b/bk@s >/dev/null # into the page cache
	for ((r = 1; r <= rounds; r++)); do
		t0=$(now_ms); ip vol read b/bk@s >/dev/null; t1=$(now_ms)
		t2=$(now_ms); ip backup b/bk@s >/dev/null; t3=$(now_ms)
		read_mbs=$((1073741824 / 1000 / (t1 - t0)))
		bk_mbs=$((1073741824 / 1000 / (t3 - t2)))
		echo "backup read $read_mbs" >>"$work/results"
		echo "backup backup $bk_mbs" >>"$work/results"
		echo "# round $r: vol read $read_mbs MB/s, backup $bk_mbs MB/s" >&2
	done
fi

get() { awk -v a="$1" -v b="$2" '$1 == a && $2 == b {print $3}' "$work/results" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN {print (r >= g ? "ok" : "BELOW")}'; }
echo
if want reads; then
	a=$(get reads snapped) b=$(get reads plain) q=$(ratio "$a" "$b")
	printf 'randread 4k QD32: %.0f IOPS with 100 snapshots, %.0f without: %s (goal 0.9) %s\n' "$a" "$b" "$q" "$(verdict "$q" 0.9)"
fi
if want writes; then
	n=$(get writes none) a=$(get writes after) c=$(get writes copied)
	q1=$(ratio "$a" "$n") q2=$(ratio "$c" "$n")
	printf 'randwrite 4k QD32: %.0f IOPS without snapshots; %.0f just after one: %s (goal 0.5) %s; %.0f once copied: %s (goal 0.9) %s\n' \
		"$n" "$a" "$q1" "$(verdict "$q1" 0.5)" "$c" "$q2" "$(verdict "$q2" 0.9)"
fi
if want create; then
	for m in worker offline; do
		for v in small big; do
			f=$(get create "$v-$m-1") l=$(get create "$v-$m-481")
			printf 'snap create (%s), %s volume: median %.1f ms for snapshots 1-20, %.1f ms for 481-500\n' \
				"$m" "$([ "$v" = small ] && echo "1 GiB" || echo "100 GiB")" \
				"$(awk -v x="$f" 'BEGIN {print x / 1000}')" "$(awk -v x="$l" 'BEGIN {print x / 1000}')"
		done
	done
fi
if want backup; then
	a=$(get backup backup) b=$(get backup read) q=$(ratio "$a" "$b")
	printf 'backup of 1 GiB: %s MB/s, vol read %s MB/s: %s (goal 0.8) %s\n' "$a" "$b" "$q" "$(verdict "$q" 0.8)"
fi
