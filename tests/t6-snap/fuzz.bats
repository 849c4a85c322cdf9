#!/usr/bin/env bats
# The backup stream fuzzer (tests/fuzz/stream-fuzz.c) builds and runs
# clean for a short while from its seed corpus.

load ../helpers/common

setup() {
	common_setup
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}

@test "the stream fuzzer builds and survives 50000 inputs" {
	require_cmd clang
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$D/probe.c"
	clang -fsanitize=fuzzer,address,undefined -o "$D/probe" "$D/probe.c" \
		2>/dev/null || skip "clang has no libFuzzer (libclang-rt-dev)"
	run -0 make -C "$ROOT" --no-print-directory fuzz
	mkdir "$D/corpus"
	cd "$D"
	run -0 "$ROOT/build/fuzz/stream-fuzz" -runs=50000 -max_total_time=60 \
		-timeout=10 -rss_limit_mb=2048 "$D/corpus" "$ROOT/tests/fuzz/stream-seeds"
	assert_line --regexp "^Done [0-9]+ runs"
	refute_output --partial "ERROR"
	refute_output --partial "runtime error"
}
