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
