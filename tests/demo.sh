#!/usr/bin/env bash
# make demo: the main job on an embedded default, narrated. A pool on three
# sparse files of different sizes under ./demo, a thick and a thin volume,
# data written and read back, the pool checked. Safe to run again: it
# starts from scratch every time and never touches /var/lib/ipstor.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/default}
IPSTOR=$PWD/$BUILD/ipstor
DEMO=$PWD/demo
export IPSTOR_STATE_DIR=$DEMO/state

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# -v: the narration shows the confirmations even when make demo is piped
run() { printf '$ ipstor %s\n' "$*"; "$IPSTOR" -v "$@"; }

rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"

step "Three member devices of different sizes (sparse files here; disks and partitions work the same)"
truncate -s 1G disk-a.img
truncate -s 512M disk-b.img
truncate -s 256M disk-c.img
ls -l disk-*.img

step "Aggregate them into one pool"
run pool create tank disk-a.img disk-b.img disk-c.img
run pool list

step "Carve volumes: a thick one striped over all devices, a thin one"
run vol create tank/db --size 600M
run vol create tank/scratch --size 4G --thin
run vol list

step "Write 200 MiB of data into each, read it back, compare"
head -c 200M /dev/urandom >payload.bin
run vol write tank/db payload.bin
run vol write tank/scratch --offset 3G payload.bin
want=$(sha256sum <payload.bin | cut -d' ' -f1)
got_db=$("$IPSTOR" vol read tank/db --length 200M | sha256sum | cut -d' ' -f1)
got_th=$("$IPSTOR" vol read tank/scratch --offset 3G --length 200M | sha256sum | cut -d' ' -f1)
echo "payload        $want"
echo "tank/db        $got_db"
echo "tank/scratch   $got_th"
[ "$want" = "$got_db" ] && [ "$want" = "$got_th" ] || { echo "MISMATCH" >&2; exit 1; }
echo "both volumes return exactly what was written"

step "The thin volume only holds what was written; the pool shows where chunks went"
run vol list
run pool show tank

step "Forget the host state and import the pool from its devices alone"
rm -rf "$IPSTOR_STATE_DIR"
run pool import disk-a.img disk-b.img disk-c.img
got=$("$IPSTOR" vol read tank/db --length 200M | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] && echo "tank/db still reads back identical after import"

step "Snapshots: free to take, frozen while the volume moves on; clone, diff, roll back"
run snap create tank/db@before
head -c 8M /dev/urandom >change.bin
run vol write tank/db --offset 16M change.bin
run snap list
run snap diff tank/db@before tank/db
run vol clone tank/db@before db-test
[ "$("$IPSTOR" vol read tank/db-test --length 200M | sha256sum | cut -d' ' -f1)" = "$want" ] &&
	echo "the clone reads exactly as the snapshot: the 200 MiB written first"
run snap rollback tank/db@before --yes

step "Back the snapshot up as a checksummed stream, restore it into a new volume"
run backup tank/db@before -o db-before.stream
run restore db-before.stream tank/db-restored
[ "$("$IPSTOR" vol read tank/db-restored --length 200M | sha256sum | cut -d' ' -f1)" = "$want" ] &&
	echo "tank/db-restored is byte-identical to the snapshot"
run vol delete tank/db-test --yes

step "Verify every label, metadata copy and map node"
run pool check tank

step "A local block device through device-mapper (a thick volume on a loop device member)"
if [ "$(id -u)" = 0 ] && truncate -s 64M local.img && loop=$(losetup -f --show local.img 2>/dev/null); then
	run pool create local "$loop"
	run vol create local/fast --size 16M --contiguous
	run vol map local/fast --dry-run
	echo "(one linear target per run of chunks that are consecutive on $loop)"
	if [ -e /dev/mapper/control ]; then
		run vol map local/fast
		run vol unmap local/fast
	else
		echo "(no device-mapper in this kernel: vol map would refuse, the table is all there is)"
	fi
	run pool destroy local --yes
	losetup -d "$loop"
else
	echo "(needs root and a loop device; skipped)"
fi

step "Start the worker and export the thin volume over NBD (loopback only by default)"
port=10809
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
trap '"$IPSTOR" server stop >/dev/null 2>&1 || true' EXIT
run export add tank/scratch --listen "127.0.0.1:$port"
run server start
if command -v nbdinfo >/dev/null; then
	printf '$ nbdinfo --map nbd://127.0.0.1:%s/scratch\n' "$port"
	nbdinfo --map "nbd://127.0.0.1:$port/scratch"
	echo "(data where the demo wrote, holes elsewhere: the volume is thin)"
fi
if command -v qemu-img >/dev/null; then
	head -c 64M /dev/urandom >disk.raw
	printf '$ qemu-img convert -n disk.raw nbd://127.0.0.1:%s/scratch\n' "$port"
	qemu-img convert -n -f raw -O raw disk.raw "nbd://127.0.0.1:$port/scratch"
	printf '$ qemu-img compare disk.raw <first 64 MiB of the export>\n'
	qemu-img compare -f raw -F raw disk.raw \
		"json:{\"driver\":\"raw\",\"size\":67108864,\"file\":{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"$port\"},\"export\":\"scratch\"}}"
fi

step "Export tank/db over ipstor's own UDP protocol, with a secret, and use it"
uport=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >db.key
run export add tank/db --proto udp --listen "127.0.0.1:$uport" --secret-file db.key
run remote info "ipstor://127.0.0.1:$uport/db" --secret-file db.key
head -c 16M /dev/urandom >chunk.bin
run remote write "ipstor://127.0.0.1:$uport/db" chunk.bin --secret-file db.key
got=$("$IPSTOR" remote read "ipstor://127.0.0.1:$uport/db" --length 16M --secret-file db.key | sha256sum | cut -d' ' -f1)
[ "$got" = "$(sha256sum <chunk.bin | cut -d' ' -f1)" ] && echo "16 MiB written and read back over UDP, identical"

step "Mirror tank/db onto a spare file; a failing leg costs the clients nothing"
truncate -s 640M spare.img
run mirror add tank/db --device "$DEMO/spare.img"
mirror_state() { "$IPSTOR" mirror status tank/db --json | jq -r '.mirrors[0].state'; }
for _ in $(seq 600); do [ "$(mirror_state)" = in-sync ] && break; sleep 0.2; done
run mirror status tank/db
run disk fault "$DEMO/spare.img" --error
head -c 1M /dev/urandom >blob
run vol write tank/db blob --offset 8M
run mirror status tank/db
run disk heal "$DEMO/spare.img"
run mirror repair tank/db
for _ in $(seq 600); do [ "$(mirror_state)" = in-sync ] && break; sleep 0.2; done
run mirror verify tank/db

run server status

step "Benchmark: the volume over NBD against the same 200 MiB in a plain file (IOMeter's model, 3 alternating rounds)"
# 'db' is its UDP export's name already: this one needs its own
run export add tank/db --name db-nbd --listen "127.0.0.1:$port"
run bench iometer --compare -t payload.bin -t "nbd://127.0.0.1:$port/db-nbd" \
	--spec 4k-random-read --outstanding 8 --span 200M --time 1 --report bench-report
echo "(chart: $DEMO/bench-report/report.svg; 'man ipstor-bench' for presets and targets)"
run server stop

step "For cron: a batch of commands, silent when all goes well, the failing line named when not"
cat >nightly.txt <<'EOF2'
# one command a line, as typed after "ipstor"
vol create tank/nightly --size 16M --thin
vol write tank/nightly chunk.bin
pool check tank
EOF2
cat nightly.txt
printf '$ ipstor -b nightly.txt | cat; echo "exit $?"\n'
"$IPSTOR" -b nightly.txt | cat
echo "exit ${PIPESTATUS[0]}"
printf '$ ipstor -b nightly.txt; echo "exit $?"   # again: the volume exists\n'
"$IPSTOR" -b nightly.txt || echo "exit $?"
echo "(on a terminal, 'ipstor' alone is a shell: Tab completes commands and names, history is kept)"

printf '\nDemo state is in %s (IPSTOR_STATE_DIR=%s).\n' "$DEMO" "$IPSTOR_STATE_DIR"
