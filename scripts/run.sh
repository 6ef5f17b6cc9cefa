#!/usr/bin/env bash
# Installs what is missing, builds edgebridge (Release) and runs it in the foreground until Ctrl-C.
#   scripts/run.sh                      the embedded default config; data in ./data; a local real
#                                       Apache Kafka is started as the stand-in cloud and stopped
#                                       again on exit
#   scripts/run.sh --config FILE ...    your config (its mirror.bootstrap decides the cloud)
# Set EB_CLOUD_BOOTSTRAP=host:port to mirror to an existing cluster instead of the stand-in.
# Set EB_CLOUD_DIR=DIR to keep the stand-in's state in DIR instead of var/cloud-kafka.
# Set EB_BINARY=PATH to run that prebuilt edgebridge: no install, no build (tests do this).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

binary=${EB_BINARY:-}
if [ -z "$binary" ]; then
  EB_SKIP_CLIENTS=1 "$root/scripts/install-deps.sh"
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF -DEB_BENCH=OFF \
    >/dev/null
  cmake --build build-release --target edgebridge -j "$(nproc)"
  binary="$root/build-release/bridge/edgebridge"
fi

args=("$@")
has_config=0
for a in "$@"; do case $a in --config|--config=*|-c) has_config=1 ;; esac; done

if [ $has_config -eq 0 ]; then
  bootstrap=${EB_CLOUD_BOOTSTRAP:-}
  if [ -z "$bootstrap" ]; then
    cloud_dir=${EB_CLOUD_DIR:-$root/var/cloud-kafka}
    echo "run: starting a local Apache Kafka as the stand-in cloud ($cloud_dir)" >&2
    bootstrap=$("$root/scripts/kafka/kafka.sh" start "$cloud_dir")
    trap '"$root/scripts/kafka/kafka.sh" stop "$cloud_dir"' EXIT
  fi
  args+=(--mirror-bootstrap "$bootstrap")
fi

# Its own session, in the background: every signal to this script (Ctrl-C to the terminal's group,
# kill PID) reaches edgebridge exactly once, as the SIGTERM passed on below, so it shuts down
# gracefully and the EXIT trap then stops the stand-in cloud. A second signal makes it exit at
# once.
setsid "$binary" "${args[@]}" &
eb=$!
trap 'kill -TERM "$eb" 2>/dev/null || true' INT TERM
status=0
while :; do
  wait "$eb" && status=0 || status=$?
  kill -0 "$eb" 2>/dev/null || break  # wait also returns when a trapped signal arrives
done
exit $status
