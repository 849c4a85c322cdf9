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
#   create   snap create time (through the worker, and offline) of a
#            1 GiB and a 100 GiB thin volume holding no snapshot or 499
#            (the one timed is the 1st or the 500th), each in a pool of
#            its own, alternating in every round: goal, no growth; and
#            the worker's own CPU time per create and delete (40 of each
#            per case a round, from its /proc stat)
#   backup   ipstor backup of a 1 GiB snapshot to /dev/null against
#            ipstor vol read of the same snapshot, alternating first in
#            each round: goal at least 0.8x
#
# usage: tests/bench/snap-bench.sh [-r ROUNDS] [-t SECONDS] [-p PARTS] [-m DIR]
#                                  [-B BUILD]
#   -r ROUNDS  rounds of the fio and backup comparisons (default 3; the
#              create part runs 4 x ROUNDS)
#   -t SECONDS seconds per fio run (default 4)
#   -p PARTS   comma-separated subset of reads,writes,create,backup
#   -m DIR     where the writes part keeps its member (default /dev/shm)
#   -B BUILD   another build directory (the one before a change, say)
#              whose snap create is timed too, on the same pools, in turn
#              with this one's (worker started by each in turn)
#
# Method: a pool on one sparse file (default 256 KiB chunks) in $TMPDIR;
# volumes filled with random data just before, so page-cached; targets
# alternate within each round and medians are reported. The writes part
# puts its member on tmpfs: a file on ext4 (kernel 6.x with large folios)
# makes a buffered 4 KiB write cost what the folio under it was made by
# (a sequential pass leaves large ones, each first write to one maps
# every block of it), so the volume whose chunks were just rewritten
# loses half its IOPS with or without a snapshot; tmpfs pages are all
# 4 KiB, and the comparison measures copy-on-write, not the folio shape
# (see docs/BENCHMARKS.md). Times include the ipstor command's own start
# (a process per snap create). Needs fio (nbd engine), jq.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
rounds=3 secs=4 parts=reads,writes,create,backup wdir=/dev/shm other=
while getopts "r:t:p:m:B:h" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	p) parts=$OPTARG ;;
	m) wdir=$OPTARG ;;
	B) other=$(cd "$OPTARG" && pwd)/ipstor ;;
	*) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 2 ;;
	esac
done
for t in fio jq; do
	command -v "$t" >/dev/null || { echo "snap-bench: $t is not installed" >&2; exit 2; }
done
[ -x "$IPSTOR" ] || { echo "snap-bench: build first (make)" >&2; exit 2; }
[ -z "$other" ] || [ -x "$other" ] || { echo "snap-bench: no ipstor in -B's directory" >&2; exit 2; }
want() { [[ ,$parts, == *,$1,* ]]; }

work=$(mktemp -d "${TMPDIR:-/tmp}/snap-bench.XXXXXX")
worker=
cleanup() {
	[ -n "$worker" ] && "$IPSTOR" server stop >/dev/null 2>&1
	rm -rf "$work"
	[ -z "${wmember:-}" ] || rm -f "$wmember"
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
member=$work/member.img
fio_iops() { # RW NAME SECONDS
	# the previous step's dirty pages written back now, not during this run
	sync "$member"
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
	# a pool of its own on a member in $wdir (tmpfs: see the top),
	# written through once: copies land where an overwrite would, never
	# in holes the file system allocates on first write
	wmember=$(mktemp "$wdir/snap-bench-w.XXXXXX")
	dd if=/dev/zero of="$wmember" bs=1M count=3584 conv=fsync status=none
	ip pool create w "$wmember" >/dev/null
	for v in wbase wsnap; do
		ip vol create "w/$v" --size 1G >/dev/null
		ip vol write "w/$v" "$work/data" >/dev/null
		ip export add "w/$v" --listen "127.0.0.1:$port" >/dev/null
	done
	member=$wmember
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
	member=$work/member.img
	ip export remove wbase >/dev/null
	ip export remove wsnap >/dev/null
	ip pool destroy w --yes >/dev/null
	rm -f "$wmember"
	wmember=
fi

if want create; then
	echo "# create: 1 GiB and 100 GiB thin volumes with no snapshot and with 499" >&2
	# a pool each: an offline command opens (walks) its whole pool
	cases="small-1 small-500 big-1 big-500"
	for c in $cases; do
		truncate -s 2G "$work/c-$c.img"
		ip pool create "c$c" "$work/c-$c.img" >/dev/null
		case $c in
		small-*)
			ip vol create "c$c/v" --size 1G --thin >/dev/null
			ip vol write "c$c/v" "$work/data" >/dev/null
			;;
		big-*)
			ip vol create "c$c/v" --size 100G --thin >/dev/null
			# 1 MiB every GiB: a sparse tree over the whole 100 GiB
			for g in $(seq 0 99); do
				head -c 1M "$work/data" | ip vol write "c$c/v" --offset "${g}G" >/dev/null
			done
			;;
		esac
	done
	start_worker
	for c in small-500 big-500; do
		for ((n = 1; n <= 499; n++)); do ip snap create "c$c/v@k$n" >/dev/null; done
	done
	# one create per case a round, the order turning; each snapshot goes
	# again so that the count stays. With -B, the other build's creates
	# in the same round (results as MODE-B), first every other round.
	builds=("$IPSTOR")
	[ -z "$other" ] || builds+=("$other")
	hz=$(getconf CLK_TCK)
	worker_cpu() { # clock ticks the worker has run, exited threads too
		awk '{sub(/.*\) /, ""); print $12 + $13}' /proc/"$(cat "$IPSTOR_STATE_DIR/worker.pid")"/stat
	}
	cpu_burst() { # MODE BUILD: the worker's CPU per create and delete
		local c c0 c1 n
		for c in $cases; do
			c0=$(worker_cpu)
			for ((n = 0; n < 40; n++)); do
				"$2" snap create "c$c/v@t" >/dev/null
				"$2" snap delete "c$c/v@t" --yes >/dev/null
			done
			c1=$(worker_cpu)
			echo "create-cpu $c-$1 $(((c1 - c0) * 1000000 / hz / 40))" >>"$work/results"
		done
	}
	time_round() { # MODE ROUND BUILD
		local c t0 t1 list
		list=$(echo $cases $cases | tr ' ' '\n' | sed -n "$(($2 % 4 + 1)),+3p")
		for c in $list; do
			t0=$(date +%s%N)
			"$3" snap create "c$c/v@t" >/dev/null
			t1=$(date +%s%N)
			echo "create $c-$1 $(((t1 - t0) / 1000))" >>"$work/results"
			"$3" snap delete "c$c/v@t" --yes >/dev/null
		done
	}
	in_turn() { # ROUND: build indexes, first every other round
		if ((${#builds[@]} == 1)); then echo 0; elif (($1 % 2)); then echo 0 1; else echo 1 0; fi
	}
	suffix() { [ "$1" = 0 ] || echo -B; }
	if ((${#builds[@]} == 1)); then
		for ((r = 1; r <= 4 * rounds; r++)); do time_round worker "$r" "$IPSTOR"; done
		for ((r = 1; r <= rounds; r++)); do cpu_burst worker "$IPSTOR"; done
		stop_worker
	else
		stop_worker
		for ((r = 1; r <= 4 * rounds; r++)); do
			for k in $(in_turn "$r"); do
				"${builds[$k]}" server start >/dev/null
				# as a worker that has been running: one
				# create each first, untimed
				for c in $cases; do
					"${builds[$k]}" snap create "c$c/v@t" >/dev/null
					"${builds[$k]}" snap delete "c$c/v@t" --yes >/dev/null
				done
				time_round "worker$(suffix "$k")" "$r" "${builds[$k]}"
				((r > rounds)) || cpu_burst "worker$(suffix "$k")" "${builds[$k]}"
				"${builds[$k]}" server stop >/dev/null
			done
		done
	fi
	for ((r = 1; r <= 4 * rounds; r++)); do
		for k in $(in_turn "$r"); do
			time_round "offline$(suffix "$k")" "$r" "${builds[$k]}"
		done
	done
	for c in $cases; do
		ip snap prune "c$c/v" --keep 0 --yes >/dev/null
		ip pool destroy "c$c" --yes >/dev/null
		rm -f "$work/c-$c.img"
	done
fi

if want backup; then
	echo "# backup: a 1 GiB snapshot to /dev/null, against reading it" >&2
	ip vol create b/bk --size 1G >/dev/null
	ip vol write b/bk "$work/data" >/dev/null
	ip snap create b/bk@s >/dev/null
	ip vol read b/bk@s >/dev/null # into the page cache
	# wall clock, and the command's own CPU time (user + system): on a
	# shared machine the first also counts waiting for a CPU
	timed() { # KEY COMMAND...
		local TIMEFORMAT='%R %U %S' t k=$1
		shift
		t=$({ time "$@" >/dev/null 2>/dev/null; } 2>&1)
		awk -v k="$k" -v t="$t" 'BEGIN {
			split(t, f, " ")
			printf "backup %s %d\nbackup %s-cpu %d\n", k,
				1073.741824 / f[1], k, 1073.741824 / (f[2] + f[3])
		}' >>"$work/results"
	}
	for ((r = 1; r <= rounds; r++)); do
		if ((r % 2)); then
			timed read ip vol read b/bk@s
			timed backup ip backup b/bk@s
		else
			timed backup ip backup b/bk@s
			timed read ip vol read b/bk@s
		fi
		echo "# round $r: $(tail -4 "$work/results" | awk '{printf "%s %s MB/s; ", $2, $3}')" >&2
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
	modes="worker offline"
	[ -z "$other" ] || modes="worker worker-B offline offline-B"
	for m in $modes; do
		for v in small big; do
			f=$(get create "$v-1-$m") l=$(get create "$v-500-$m")
			printf 'snap create (%s%s), %s volume: median %.1f ms for the 1st snapshot, %.1f ms for the 500th: %s\n' \
				"${m%-B}" "$([ "${m#*-}" = B ] && echo ", $other")" \
				"$([ "$v" = small ] && echo "1 GiB" || echo "100 GiB")" \
				"$(awk -v x="$f" 'BEGIN {print x / 1000}')" "$(awk -v x="$l" 'BEGIN {print x / 1000}')" \
				"$(ratio "$l" "$f")x"
			[ "${m%-B}" = worker ] || continue
			f=$(get create-cpu "$v-1-$m") l=$(get create-cpu "$v-500-$m")
			printf '  the worker'"'"'s CPU time per create and delete: %.2f ms for the 1st, %.2f ms for the 500th: %s\n' \
				"$(awk -v x="$f" 'BEGIN {print x / 1000}')" "$(awk -v x="$l" 'BEGIN {print x / 1000}')" \
				"$(ratio "$l" "$f")x"
		done
	done
fi
if want backup; then
	a=$(get backup backup) b=$(get backup read) q=$(ratio "$a" "$b")
	printf 'backup of 1 GiB: %s MB/s, vol read %s MB/s: %s (goal 0.8) %s\n' "$a" "$b" "$q" "$(verdict "$q" 0.8)"
	a=$(get backup backup-cpu) b=$(get backup read-cpu) q=$(ratio "$a" "$b")
	printf 'the same by CPU time: backup %s MB/s, vol read %s MB/s: %s (goal 0.8) %s\n' "$a" "$b" "$q" "$(verdict "$q" 0.8)"
fi
