#!/usr/bin/env bash
# Installs what is missing, builds edgebridge, and runs the whole test suite: unit, integration
# (real Apache Kafka broker, real clients), crash tests, an ASan+UBSan build of the unit and
# integration tests, the group tests under ASan and TSan, and a bounded fuzzing run. Exits non-zero
# on any failure. Where the time goes and why the phases overlap: docs/CI.md.
#
# The phases overlap where one waits and the other computes: the test-time installs (JDK, Kafka
# jars, clients) run while the first build compiles, and each sanitizer build compiles, niced, while
# the previous phase's tests run (they mostly wait on broker JVMs and sockets; nice gives the tests
# the CPU whenever they want it). EB_CI_OVERLAP=0 runs everything one after the other.
#
# The CI builds carry line tables only (-g1): sanitizer reports and backtraces keep file:line, and
# the link and the binaries are a fraction of full DWARF. EB_CI_DEBUG_FLAGS overrides (e.g. -g).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${EB_JOBS:-$(nproc)}
overlap=${EB_CI_OVERLAP:-1}
dbg=${EB_CI_DEBUG_FLAGS:--g1}
logs=$root/build-logs
mkdir -p "$logs"

start=$SECONDS
phase_start=$SECONDS
phase_name=""
timings=()
phase() {
  if [ -n "$phase_name" ]; then timings+=("$(printf '%5d s  %s' $((SECONDS - phase_start)) "$phase_name")"); fi
  phase_name=$1
  phase_start=$SECONDS
  [ -z "$phase_name" ] || echo "== $phase_name (at $((SECONDS - start)) s)"
}
summary() {
  phase ""
  echo "== phase times (wall)"
  printf '%s\n' "${timings[@]}"
  echo "$(printf '%5d s' $((SECONDS - start)))  total"
}

# Background jobs: NAME -> pid; a failed or unfinished one fails the run.
declare -A bg=()
bg_start() {  # bg_start NAME CMD...: output in build-logs/NAME.log
  local name=$1; shift
  if [ "$overlap" = 1 ]; then
    "$@" >"$logs/$name.log" 2>&1 &
    bg[$name]=$!
  else
    "$@" 2>&1 | tee "$logs/$name.log"
  fi
}
bg_wait() {  # bg_wait NAME: its exit status; its log on failure
  local name=$1
  [ -n "${bg[$name]:-}" ] || return 0
  if ! wait "${bg[$name]}"; then
    unset "bg[$name]"
    echo "== $name failed:" >&2
    tail -n 200 "$logs/$name.log" >&2
    return 1
  fi
  unset "bg[$name]"
  echo "== $name done (log: build-logs/$name.log)"
}
cleanup() {
  for pid in "${bg[@]}"; do kill "$pid" 2>/dev/null || true; done
  summary
}
trap cleanup EXIT

# configure DIR BUILD_TYPE FLAGS [cmake options...]: FLAGS replace the build type's own.
configure() {
  local dir=$1 type=$2 flags=$3; shift 3
  local flags_var=CMAKE_CXX_FLAGS_${type^^}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "-D$flags_var=$flags" \
    "-D${flags_var/CXX/C}=$flags" "$@" >/dev/null
}

phase "install: build dependencies"
"$root/scripts/install-deps.sh" build
# The test-time dependencies (Debian's JDK, Maven, Chromium, clang; Kafka jars; toxiproxy; the
# client programs) install while the regular build compiles.
bg_start install-test-deps "$root/scripts/install-deps.sh" test

phase "module boundaries and formatting"
python3 "$root/scripts/check_boundaries.py"
"$root/scripts/check_format.sh"

phase "build (RelWithDebInfo, $dbg)"
configure build RelWithDebInfo "-O2 $dbg -DNDEBUG"
cmake --build build -j "$jobs"

phase "waiting for the test-time installs"
bg_wait install-test-deps

# The sanitizer builds skip the tests labelled slow (their ctest runs do not select them) and the
# benches.
asan_opts=(-DEB_SANITIZE=ON -DEB_BENCH=OFF -DEB_SLOW_TESTS=OFF)
tsan_opts=(-DEB_TSAN=ON -DEB_BENCH=OFF -DEB_SLOW_TESTS=OFF)
configure build-asan Debug "$dbg" "${asan_opts[@]}"
bg_start build-asan nice -n 19 cmake --build build-asan -j "$jobs"

phase "tests (regular build; ASan build compiling niced)"
ctest --test-dir build --output-on-failure -j 2 --timeout 900

phase "waiting for the ASan build"
bg_wait build-asan

# The TSan build (only the two group test binaries) and the fuzzer's build compile niced while the
# ASan tests run.
# -O1, as ThreadSanitizer's documentation suggests: a third less compile than -O2 for the same
# checks.
configure build-tsan RelWithDebInfo "-O1 $dbg -DNDEBUG" "${tsan_opts[@]}"
bg_start build-tsan nice -n 19 cmake --build build-tsan -j "$jobs" --target group_test consumer_test
if [ -x "$root/scripts/fuzz.sh" ]; then
  bg_start build-fuzz nice -n 19 env EB_FUZZ_BUILD_ONLY=1 EB_FUZZ_DEBUG_FLAGS="$dbg" \
    "$root/scripts/fuzz.sh"
fi

# The real-client matrices ran above against the regular build; under ASan the process tests and
# every in-process test run again (the sanitizers watch the same code paths at a fraction of the
# time).
phase "ASan+UBSan: unit and integration tests (TSan and fuzz builds compiling niced)"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j 2 -L 'unit|integration' \
  -E '^(client_producers_test|client_consumers_test|consumer_scenarios_test|downlink_test|mirror_cluster_test|mirror_kafka4_test|cloud_kafka4_start|cloud_kafka4_stop|security_clients_test|tls_clients_test|mirror_security_test|admin_tools_test|kip848_test)$' \
  --timeout 900

# The group and consumer tests cross threads the most (coordinator strand, io threads, storage's
# writer): run them repeatedly under ASan and under ThreadSanitizer so a race shows up as a failure.
phase "group and consumer tests, repeated, under ASan"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j 2 \
  -R '^(GroupTest|ConsumerTest)\.' --repeat until-fail:3 --timeout 300

phase "waiting for the TSan build"
bg_wait build-tsan
phase "group and consumer tests, repeated, under TSan"
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -j 2 \
  -R '^(GroupTest|ConsumerTest)\.' --repeat until-fail:3 --timeout 300

if [ -x "$root/scripts/fuzz.sh" ]; then
  phase "waiting for the fuzzer's build"
  bg_wait build-fuzz
  phase "fuzzing the request decoder (bounded)"
  EB_FUZZ_DEBUG_FLAGS="$dbg" "$root/scripts/fuzz.sh" "${EB_FUZZ_SECONDS:-60}"
fi
