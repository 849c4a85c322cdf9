# Shared setup for the bats suites: every test gets its own state dir and
# sparse member files under BATS_TEST_TMPDIR, never the machine's.
bats_require_minimum_version 1.8.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

: "${IPSTOR_BUILD:=$BATS_TEST_DIRNAME/../../build/default}"
IPSTOR_BIN=$IPSTOR_BUILD/ipstor
HELPERS=$IPSTOR_BUILD/tests/helpers

common_setup() {
	export IPSTOR_STATE_DIR=$BATS_TEST_TMPDIR/state
	D=$BATS_TEST_TMPDIR
	cd "$D" || return 1
}

ipstor() {
	"$IPSTOR_BIN" "$@"
}

# mkdev NAME SIZE: a sparse member file
mkdev() {
	truncate -s "$2" "$D/$1"
}

# mkpool NAME SIZE...: a pool on fresh sparse files NAME-0.img...
mkpool() {
	local name=$1 i=0 devs=()
	shift
	for s in "$@"; do
		mkdev "$name-$i.img" "$s"
		devs+=("$D/$name-$i.img")
		i=$((i + 1))
	done
	ipstor pool create "$name" "${devs[@]}" >/dev/null
}

# pattern FILE SIZE SEED: reproducible pseudo-random content
pattern() {
	head -c "$2" <(openssl enc -aes-128-ctr -nosalt -pass "pass:$3" \
		</dev/zero 2>/dev/null) >"$1"
}

sha() {
	sha256sum "$@" | cut -d' ' -f1
}

# The state of a pool, for "nothing changed" assertions: every metadata
# copy's sequence number and configuration.
pool_fingerprint() {
	ipstor pool dump "$1" | jq -S -c '[.devices[] | .metadata_copies[] | {sequence, config}]'
}

require_cmd() {
	command -v "$1" >/dev/null || skip "$1 is not installed"
}

# scribble FILE OFFSET: overwrite 16 bytes at OFFSET (a damaged sector)
scribble() {
	printf 'DAMAGEDDAMAGED!!' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Offsets of a member's labels and metadata copies (default 1 MiB copies).
label_off() { # FILE COPY
	if [ "$2" = 0 ]; then echo 64; else echo $(($(stat -c %s "$1") / 4096 * 4096 - 4096 + 64)); fi
}
slot_off() { # FILE SLOT
	if [ "$2" = 0 ]; then echo 4160; else echo $(($(stat -c %s "$1") / 4096 * 4096 - 4096 - 1048576 + 64)); fi
}

# Stop a worker a test started, whatever state the test left it in.
stop_worker() {
	local pidf=$IPSTOR_STATE_DIR/worker.pid
	[ -f "$pidf" ] || return 0
	"$IPSTOR_BIN" server stop >/dev/null 2>&1 && return 0
	local pid
	pid=$(cat "$pidf" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# A TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
