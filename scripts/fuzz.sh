#!/usr/bin/env bash
# Bounded libFuzzer run over the net/ decoders (tests/net/fuzz_request.cc): request headers and
# bodies of every API/version, responses, record batches with decompression.
#   scripts/fuzz.sh [SECONDS]     (default 60)
#   EB_FUZZ_BUILD_ONLY=1          configure and build only (scripts/test.sh builds it early)
#   EB_FUZZ_DEBUG_FLAGS=-g1       debug info of the build (default -g)
# Configures build-fuzz with clang and -DEB_FUZZ=ON, builds only the fuzz target, runs it on a copy
# of the seed corpus tests/net/fuzz_corpus/, and exits non-zero on a crash, leak, sanitizer report
# or encode/decode asymmetry (the crashing input is left in build-fuzz/fuzz-artifacts/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$root/build-fuzz
jobs=${EB_JOBS:-2}

flags="-O2 ${EB_FUZZ_DEBUG_FLAGS:--g} -DNDEBUG"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
  -DEB_FUZZ=ON -DEB_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target net_fuzz_request
[ -z "${EB_FUZZ_BUILD_ONLY:-}" ] || exit 0

corpus=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
cp -n "$root"/tests/net/fuzz_corpus/* "$corpus"/ 2>/dev/null || true

echo "== fuzzing net decoders for ${seconds}s" >&2
# -rss_limit_mb / -malloc_limit_mb: a decoder that allocates beyond what its input justifies fails.
"$build/tests/net/net_fuzz_request" "$corpus" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=1024 -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$artifacts/"
