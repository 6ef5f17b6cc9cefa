#!/usr/bin/env bash
# Installs what is missing, builds edgebridge, and runs the whole test suite: unit, integration
# (real Apache Kafka broker, real clients), crash tests, an ASan+UBSan build of the unit and
# integration tests, and a bounded fuzzing run. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${EB_JOBS:-$(nproc)}

"$root/scripts/install-deps.sh"

echo "== module boundaries and formatting"
python3 "$root/scripts/check_boundaries.py"
"$root/scripts/check_format.sh"

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== tests"
ctest --test-dir build --output-on-failure -j 2 --timeout 900

# The real-client matrices ran above against the regular build; under ASan the process tests and
# every in-process test run again (the sanitizers watch the same code paths at a fraction of the
# time).
echo "== ASan+UBSan build, unit and integration tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEB_SANITIZE=ON -DEB_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j 2 -L 'unit|integration' \
  -E '^(client_producers_test|client_consumers_test|consumer_scenarios_test|downlink_test|mirror_cluster_test|mirror_kafka4_test|cloud_kafka4_start|cloud_kafka4_stop|security_clients_test|tls_clients_test|mirror_security_test|admin_tools_test|kip848_test)$' \
  --timeout 900

# The group and consumer tests cross threads the most (coordinator strand, io threads, storage's
# writer): run them repeatedly under ASan and under ThreadSanitizer so a race shows up as a failure.
echo "== group and consumer tests, repeated, under ASan and TSan"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j 2 \
  -R '^(GroupTest|ConsumerTest)\.' --repeat until-fail:3 --timeout 300
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEB_TSAN=ON -DEB_BENCH=OFF >/dev/null
cmake --build build-tsan -j "$jobs" --target group_test consumer_test
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -j 2 \
  -R '^(GroupTest|ConsumerTest)\.' --repeat until-fail:3 --timeout 300

if [ -x "$root/scripts/fuzz.sh" ]; then
  echo "== fuzzing the request decoder (bounded)"
  "$root/scripts/fuzz.sh" "${EB_FUZZ_SECONDS:-60}"
fi
