#!/usr/bin/env bash
# Captures golden Kafka frames from REAL clients talking to a REAL broker, through
# capture_proxy.py, into tests/net/golden/<client>/. Run by hand when the golden set must change;
# its output is committed and tests/net/golden_test.cc checks our codecs against it.
#
#   tests/net/capture/capture_golden.sh [OUT_DIR]      (default: tests/net/golden)
#
# Clients: kcat (librdkafka 2.0.2) and the Java client 3.9.1 (ConsoleProducer, ProducerPerformance,
# ConsoleConsumer) from the same jars as the broker. Older protocol versions come from the same
# clients after the proxy lowers the versions the broker advertises (--cap). Every step is bounded
# by `timeout`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/tests/net/golden}
kafka=$root/scripts/kafka/kafka.sh
work=$(mktemp -d /tmp/eb-golden.XXXXXX)
proxy_pid=""

cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
  "$kafka" stop "$work/broker" || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bootstrap=$("$kafka" start "$work/broker" | tail -1)
echo "broker at $bootstrap" >&2

# start_proxy LABEL [proxy options...]: sets $proxy (bootstrap through the proxy).
start_proxy() {
  local label=$1; shift
  local port; port=$(free_port)
  python3 "$here/capture_proxy.py" --listen "$port" --upstream "$bootstrap" --out "$out/$label" \
    --seconds 600 "$@" &
  proxy_pid=$!
  proxy=127.0.0.1:$port
  for _ in $(seq 1 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "proxy did not start" >&2; exit 1
}
stop_proxy() {
  kill "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=""
}

# The records every producer sends: keys and values the tests check after decoding.
messages() {
  for i in 1 2 3 4 5; do echo "key$i:value-$i-$1"; done
}

kcat_produce() {  # TOPIC CODEC [extra kcat args]
  local topic=$1 codec=$2; shift 2
  messages "$codec" | timeout 30 kcat -b "$proxy" -P -t "$topic" -K: -z "$codec" \
    -X linger.ms=50 "$@"
}

kcat_consume() {  # TOPIC: plain consumer (Fetch, ListOffsets) then a group consumer
  local topic=$1 group=$2
  timeout 30 kcat -b "$proxy" -C -t "$topic" -o beginning -e -q >/dev/null
  timeout 40 kcat -b "$proxy" -G "$group" -X auto.offset.reset=earliest -X enable.auto.commit=true \
    -X auto.commit.interval.ms=100 -e -q "$topic" >/dev/null || true
}

java_class() { timeout 90 "$kafka" run-class "$@"; }

java_produce() {  # TOPIC CODEC
  messages "java-$2" | java_class kafka.tools.ConsoleProducer --bootstrap-server "$proxy" \
    --topic "$1" --compression-codec "$2" --property parse.key=true --property key.separator=: \
    >/dev/null 2>&1
}

java_consume() {  # TOPIC GROUP
  java_class org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$proxy" \
    --topic "$1" --group "$2" --from-beginning --max-messages 5 --timeout-ms 20000 \
    >/dev/null 2>&1 || true
}

rm -rf "$out"
mkdir -p "$out"

echo "== librdkafka, latest versions" >&2
start_proxy librdkafka
for codec in none gzip snappy lz4 zstd; do kcat_produce "rd-$codec" "$codec"; done
kcat_produce rd-idem none -X enable.idempotence=true
kcat_consume rd-gzip rd-group
stop_proxy

echo "== librdkafka, old versions (capped ApiVersions)" >&2
# Metadata 1, Produce 3, Fetch 4, ListOffsets 1, OffsetCommit 2, OffsetFetch 1, FindCoordinator 0,
# JoinGroup 0, Heartbeat 0, LeaveGroup 0, SyncGroup 0, InitProducerId 0.
start_proxy librdkafka-old --force-api-versions-v0 \
  --cap 3=1,0=3,1=4,2=1,8=2,9=1,10=0,11=0,12=0,13=0,14=0,22=0
for codec in none gzip snappy lz4; do kcat_produce "rdold-$codec" "$codec"; done
kcat_produce rdold-idem none -X enable.idempotence=true
kcat_consume rdold-gzip rdold-group
stop_proxy

echo "== Java client, latest versions" >&2
start_proxy java
for codec in none gzip snappy lz4 zstd; do java_produce "java-$codec" "$codec"; done
java_consume java-snappy java-group
stop_proxy

echo "== Java client, capped versions" >&2
# Metadata 9, Produce 9, Fetch 12, OffsetCommit 8, FindCoordinator 3, JoinGroup 6,
# InitProducerId 4, ListOffsets 6.
start_proxy java-capped --cap 3=9,0=9,1=12,8=8,10=3,11=6,22=4,2=6
java_produce javacap-zstd zstd
java_consume javacap-zstd javacap-group
stop_proxy

echo "== Java client, Metadata 12 / Fetch 11 (capped)" >&2
start_proxy java-capped2 --cap 1=11
java_produce javacap2-lz4 lz4
java_consume javacap2-lz4 javacap2-group
stop_proxy

find "$out" -type f | sort | sed "s|$root/||" >&2
