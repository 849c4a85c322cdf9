#!/usr/bin/env bash
# iometer-vs-fio.sh: does `ipstor bench iometer` measure what fio
# measures? Both run the same workload on the same page-cached file,
# alternating, and the script prints each round, the medians and the
# ratio ipstor / fio (goal: within 10 %). A benchmark, not a test.
#
# usage: tests/bench/iometer-vs-fio.sh [-r ROUNDS] [-t SECONDS] [-s SIZE]
#            [-m MODES] [-e ENGINE] [-F]
#   -r ROUNDS   rounds (default 3)
#   -t SECONDS  seconds per run (default 4)
#   -s SIZE     size of the file (default 1G)
#   -m MODES    cache (page-cached, buffered), direct (O_DIRECT, from the
#               device under TMPDIR) or both (default: cache,direct)
#   -e ENGINE   fio's engine: io_uring (default) or libaio
#   -F          fio with its defaults (one I/O per submission, random map,
#               page cache invalidated before the job) instead of the
#               settings that match ipstor's engine
#
# Workloads: 4 KiB random reads at 32 outstanding I/Os (ipstor's
# 4k-random-read preset; fio rw=randread bs=4k iodepth=32) and 1 MiB
# sequential reads at 8 (a one-line spec; fio rw=read bs=1m iodepth=8).
# One worker / one job each, 1 s of ramp-up excluded by both. ipstor's
# io_uring engine submits every free slot in the call that waits for a
# completion and draws random offsets with replacement, so fio runs with
# iodepth_batch_submit=QD, iodepth_batch_complete_max=QD, norandommap,
# invalidate=0 (fio otherwise drops the file's page cache first) and
# iomem_align=4096 (ipstor's buffers are page-aligned; fio's malloc'd
# ones are not, which makes page-cache copies several times slower here).
# The CPU both spend per I/O is printed as well: at page-cache speed the
# tools' own cost is what is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor

rounds=3 secs=4 size=1G modes=cache,direct engine=io_uring fio_defaults=0
while getopts "r:t:s:m:e:Fh" o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	m) modes=$OPTARG ;;
	e) engine=$OPTARG ;;
	F) fio_defaults=1 ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
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

# ipstor_run SPEC QD: IOPS, MB/s, process CPU in microseconds per I/O
ipstor_run() {
	"$IPSTOR" bench iometer -t "$file" --spec "$1" -o "$2" --ramp 1 \
		--time "$secs" --seed 1 "${dflag[@]}" --json |
		jq -r '.bench.tests[0] | "\(.all.iops) \(.all.mbps) \(.cpu.process.total * .cpu.cpus * 10000 / .all.iops)"'
}

# fio_run RW BS QD: IOPS, MB/s, CPU in microseconds per I/O
fio_run() {
	local match=(--invalidate=0 --norandommap --randrepeat=0 --iomem_align=4096
		--iodepth_batch_submit="$3" --iodepth_batch_complete_max="$3")
	[ "$fio_defaults" = 1 ] && match=()
	fio --name=x --filename="$file" --ioengine="$engine" --rw="$1" --bs="$2" \
		--iodepth="$3" --direct="$direct" --ramp_time=1 --runtime="$secs" \
		--time_based "${match[@]}" --output-format=json 2>/dev/null |
		jq -r '.jobs[0] | "\(.read.iops) \(.read.bw_bytes / 1000000) \((.usr_cpu + .sys_cpu) * 10000 / .read.iops)"'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

summary=$work/summary
printf '| mode | workload | fio | ipstor bench | ipstor / fio | within 10 %% | CPU µs/IO fio | CPU µs/IO ipstor |\n|---|---|---|---|---|---|---|---|\n' >"$summary"
IFS=, read -ra mlist <<<"$modes"
for mode in "${mlist[@]}"; do
	direct=0 dflag=()
	[ "$mode" = direct ] && direct=1 dflag=(--direct)
	: >"$work/rows"
	for r in $(seq "$rounds"); do
		[ "$direct" = 0 ] && cat "$file" >/dev/null # page-cached for both
		read -r a _ ac < <(fio_run randread 4k 32)
		read -r b _ bc < <(ipstor_run 4k-random-read 32)
		read -r _ c cc < <(fio_run read 1m 8)
		read -r _ d dc < <(ipstor_run "$work/seq1m.json" 8)
		printf '%s round %s: 4k randread QD32 IOPS fio %.0f ipstor %.0f | 1M read QD8 MB/s fio %.0f ipstor %.0f\n' \
			"$mode" "$r" "$a" "$b" "$c" "$d"
		echo "$a $b $c $d $ac $bc $cc $dc" >>"$work/rows"
	done
	m() { cut -d' ' -f"$1" "$work/rows" | median; }
	awk -v mode="$mode" -v fa="$(m 1)" -v ia="$(m 2)" -v fc="$(m 3)" -v ic="$(m 4)" \
		-v fac="$(m 5)" -v iac="$(m 6)" -v fcc="$(m 7)" -v icc="$(m 8)" 'BEGIN {
		r = ia / fa; printf "| %s | 4k random read QD32 (IOPS) | %.0f | %.0f | %.3f | %s | %.1f | %.1f |\n", mode, fa, ia, r, (r > 0.9 && r < 1.1) ? "yes" : "no", fac, iac
		r = ic / fc; printf "| %s | 1M sequential read QD8 (MB/s) | %.0f | %.0f | %.3f | %s | %.1f | %.1f |\n", mode, fc, ic, r, (r > 0.9 && r < 1.1) ? "yes" : "no", fcc, icc
	}' >>"$summary"
done
echo
echo "medians of $rounds rounds, $secs s each (fio engine $engine$([ "$fio_defaults" = 1 ] && echo ", fio defaults")):"
cat "$summary"
