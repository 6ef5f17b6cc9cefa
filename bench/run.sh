#!/usr/bin/env bash
# End-to-end benchmark: edgebridge against Apache Kafka and MirrorMaker 2, side by side on this
# machine, as ratios. Prints a markdown table and writes it to bench/results/LATEST.md (with the
# machine, the commit and the date); raw tool output goes to bench/results/raw/ (not committed).
#
#   bench/run.sh [--quick] [--only produce|pipeline] [--no-build] [--edgebridge PATH]
#
#   --quick        development sizes: a few minutes (default: the full run, < 30 min on 2 cores)
#   --only LIST    produce (scenarios 1, 2, 6) and/or pipeline (3, 4, 5), comma separated
#   --no-build     use the existing edgebridge binary of the build dir
#   --edgebridge   benchmark this binary instead of building one
#   --micro        also run the Google Benchmark binaries of bench/*/ (built with -DEB_BENCH=ON)
#   --wan [LIST]   also (with --only wan: only) the WAN scenario, bench/e2e/wan.py: edgebridge and
#                  MM2 draining over toxiproxy, profiles lte,satellite,fiber (default all; about
#                  15 min); its section of LATEST.md is replaced
#
# Environment: EB_BENCH_BUILD (build dir, default build-bench), EB_BENCH_WORK (server data dirs,
# default .cache/bench-work; on the same disk as the repo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${EB_BENCH_BUILD:-$root/build-bench}
work=${EB_BENCH_WORK:-$root/.cache/bench-work}
quick="" only="" build_it=1 eb="" micro=0 wan=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=--quick ;;
    --only) only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --no-build) build_it=0 ;;
    --edgebridge) eb=$2; shift ;;
    --edgebridge=*) eb=${1#*=} ;;
    --micro) micro=1 ;;
    --wan) wan=lte,satellite,fiber
      case ${2:-} in lte*|sat*|fib*) wan=$2; shift ;; esac ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

for tool in kcat java python3; do
  command -v $tool >/dev/null || { echo "run.sh: $tool missing (scripts/deps.sh installs it)" >&2; exit 2; }
done
"$root/scripts/kafka/kafka.sh" fetch

stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw="$root/bench/results/raw/$stamp"
mkdir -p "$raw" "$work"

missing="n/a: edgebridge not built"
desc=""
if [ -z "$eb" ]; then
  eb="$build/bridge/edgebridge"
  if [ $build_it = 1 ]; then
    echo "[bench] building edgebridge (Release) in $build" >&2
    bench_flag=-DEB_BENCH=OFF
    [ $micro = 1 ] && bench_flag=-DEB_BENCH=ON
    if cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF \
        $bench_flag >"$raw/build.log" 2>&1 \
      && nice ninja -C "$build" -j2 edgebridge >>"$raw/build.log" 2>&1; then
      :
    else
      echo "[bench] edgebridge build failed (see $raw/build.log); benchmarking Kafka alone" >&2
      missing="n/a: edgebridge build failed at $(git -C "$root" rev-parse --short HEAD)"
      eb=""
    fi
  fi
fi
if [ -n "$eb" ] && [ ! -x "$eb" ]; then
  missing="n/a: no edgebridge binary at $eb"
  eb=""
fi
if [ -n "$eb" ]; then
  desc="$eb (CMAKE_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$eb")/../CMakeCache.txt" 2>/dev/null || echo unknown))"
fi

if [ $micro = 1 ] && [ -n "$eb" ]; then
  # Teammates' Google Benchmark binaries (bench/storage, bench/mirror, ...), if they build.
  targets=$(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\(bench_[a-z0-9_]*\): phony$/\1/p' || true)
  for t in $targets; do
    if nice ninja -C "$build" -j2 "$t" >>"$raw/build.log" 2>&1; then
      bin=$(find "$build/bench" -type f -name "$t" -perm -u+x | head -1)
      [ -n "$bin" ] && timeout 300 "$bin" --benchmark_min_time=0.2 >"$raw/micro-$t.txt" 2>&1 || true
    fi
  done
fi

if [ "$only" != wan ]; then
  python3 "$here/e2e/bench.py" $quick ${only:+--only "$only"} \
    --edgebridge "$eb" --edgebridge-missing "$missing" --edgebridge-desc "$desc" \
    --work-dir "$work" --raw-dir "$raw" --out "$root/bench/results/LATEST.md"
fi
if [ "$only" = wan ] && [ -z "$wan" ]; then wan=lte,satellite,fiber; fi
if [ -n "$wan" ] && [ -n "$eb" ]; then
  # The system python: confluent-kafka from Debian (python3-confluent-kafka).
  /usr/bin/python3 "$here/e2e/wan.py" --edgebridge "$eb" --profiles "$wan" \
    --work "$work/wan" --out "$raw/wan.json" --update-md "$root/bench/results/LATEST.md"
fi
