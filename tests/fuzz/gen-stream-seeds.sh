#!/usr/bin/env bash
# Writes tests/fuzz/stream-seeds/: real backup streams for the stream
# fuzzer to start from (full, incremental with data and zero records, of
# small volumes on a pool of 4 KiB chunks). Needs a built ipstor:
#   tests/fuzz/gen-stream-seeds.sh [BUILD]   (default build/default)
set -euo pipefail
cd "$(dirname "$0")/../.."
IPSTOR=$PWD/${1:-build/default}/ipstor
OUT=$PWD/tests/fuzz/stream-seeds
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export IPSTOR_STATE_DIR=$T/state
truncate -s 16M "$T/a.img"
"$IPSTOR" pool create s "$T/a.img" --chunk-size 4K >/dev/null
"$IPSTOR" vol create s/v --size 64K --thin >/dev/null
printf 'first' | "$IPSTOR" vol write s/v --offset 8K >/dev/null
"$IPSTOR" snap create s/v@one >/dev/null
printf 'second' | "$IPSTOR" vol write s/v --offset 40K >/dev/null
head -c 4096 /dev/zero | "$IPSTOR" vol write s/v --offset 8K >/dev/null
"$IPSTOR" snap create s/v@two >/dev/null
"$IPSTOR" vol resize s/v --size 32K --yes >/dev/null
"$IPSTOR" snap create s/v@three >/dev/null
mkdir -p "$OUT"
"$IPSTOR" backup s/v@one -o "$OUT/full"
"$IPSTOR" backup s/v@two --from one -o "$OUT/incremental"
"$IPSTOR" backup s/v@three --from two -o "$OUT/shrunk"
"$IPSTOR" vol create s/e --size 8K --thin >/dev/null
"$IPSTOR" snap create s/e@empty >/dev/null
"$IPSTOR" backup s/e@empty -o "$OUT/empty"
ls -l "$OUT"
# the same, for the harness's mode that recomputes checksums
for f in full incremental shrunk empty; do
	{ printf '\001'; cat "$OUT/$f"; } >"$OUT/$f-fixed"
done
