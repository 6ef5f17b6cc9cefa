#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on 127.0.0.1, from jars pinned in pom.xml.
#   kafka.sh fetch              collect the jars into .cache/ (idempotent)
#   kafka.sh start DIR [opts]   start a broker with its state in DIR; prints its bootstrap
#        --auto-create=false    refuse unknown topics (default true)
#        --port=N               listen on N instead of a free port
#        --advertise-port=N     advertise 127.0.0.1:N (a proxy such as toxiproxy in front of the
#                               broker) to clients; the broker also gets a DIRECT listener,
#                               advertised as itself, written to DIR/direct (bench probes)
#        --message-max-bytes=N  the broker's message.max.bytes (default Kafka's 1048588)
#        --node=I --voters=LIST one broker of a cluster (start-cluster uses these)
#   kafka.sh start-cluster DIR N  N brokers (KRaft, each also a controller) in DIR/b1..bN with
#                               replication factor min(3,N) and min.insync.replicas 2;
#                               prints the bootstrap list. EB_KAFKA_HEAP (e.g. 256m) per broker.
#   kafka.sh stop-cluster DIR
#   kafka.sh stop DIR           stop it cleanly (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh run-class CLASS …  run a Kafka tool class (ProducerPerformance, …) on the same jars
#   kafka.sh --version=V CMD …  any of the above on Kafka V instead of pom.xml's (3.9): 4.x.y uses
#                               pom4.xml (KRaft only, log4j2); EB_KAFKA_VERSION=V does the same
# Several brokers can run side by side, each in its own DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
version=${EB_KAFKA_VERSION:-$version}
case "${1:-}" in --version=*) version=${1#*=}; shift ;; esac
pom="$here/pom.xml"
case $version in 4.*) pom="$here/pom4.xml" ;; esac
libs="${EB_KAFKA_CACHE:-$root/.cache}/kafka-$version/libs"

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  mkdir -p "$libs"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs" \
    -DincludeScope=runtime -Dkafka.version="$version" >&2
  touch "$libs/.complete"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

java_opts() {
  echo "-Xmx${EB_KAFKA_HEAP:-512m} -Xms128m -XX:+UseG1GC -Djava.awt.headless=true"
}

start() {
  local dir=$1; shift
  local auto_create=true port="" adv_port="" max_bytes=1048588 node=1 voters="" cport=""
  local rf=1 min_isr=1
  for a in "$@"; do
    case $a in
      --auto-create=*) auto_create=${a#*=} ;;
      --port=*) port=${a#*=} ;;
      --advertise-port=*) adv_port=${a#*=} ;;
      --message-max-bytes=*) max_bytes=${a#*=} ;;
      --node=*) node=${a#*=} ;;
      --voters=*) voters=${a#*=} ;;
      --controller-port=*) cport=${a#*=} ;;
      --replication=*) rf=${a#*=} ;;
      --min-isr=*) min_isr=${a#*=} ;;
      *) echo "kafka.sh: unknown option $a" >&2; exit 2 ;;
    esac
  done
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    cat "$dir/bootstrap"; return 0
  fi
  [ -n "$port" ] || port=$(free_port)
  if [ -z "$cport" ]; then
    cport=$(free_port)
    while [ "$cport" = "$port" ]; do cport=$(free_port); done
  fi
  [ -n "$voters" ] || voters="1@127.0.0.1:$cport"
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  local advertised="PLAINTEXT://127.0.0.1:$port" inter=PLAINTEXT
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  rm -f "$dir/direct"
  if [ -n "$adv_port" ]; then
    local dport; dport=$(free_port)
    while [ "$dport" = "$port" ] || [ "$dport" = "$cport" ]; do dport=$(free_port); done
    listeners="$listeners,DIRECT://127.0.0.1:$dport"
    advertised="PLAINTEXT://127.0.0.1:$adv_port,DIRECT://127.0.0.1:$dport"
    protocols="$protocols,DIRECT:PLAINTEXT"
    inter=DIRECT
    echo "127.0.0.1:$dport" >"$dir/direct"
  fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protocols
inter.broker.listener.name=$inter
log.dirs=$dir/logs
num.partitions=1
auto.create.topics.enable=$auto_create
message.max.bytes=$max_bytes
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
default.replication.factor=$rf
min.insync.replicas=$min_isr
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=${EB_KAFKA_FLUSH_MESSAGES:-9223372036854775807}
PROPS
  cat >"$dir/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
PROPS
  # Kafka 4 logs through log4j2: the same settings in its properties format.
  cat >"$dir/log4j2.properties" <<PROPS
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$dir/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.broker.name=kafka.server.BrokerServer
logger.broker.level=INFO
PROPS
  local logcfg="-Dlog4j.configuration=file:$dir/log4j.properties"
  case $version in 4.*) logcfg="-Dlog4j2.configurationFile=$dir/log4j2.properties" ;; esac
  if [ ! -f "$dir/logs/meta.properties" ]; then
    local cid=${EB_KAFKA_CLUSTER_ID:-}
    [ -n "$cid" ] || cid=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$libs/*" "$logcfg" \
      kafka.tools.StorageTool format -t "$cid" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1
  fi
  # shellcheck disable=SC2046
  setsid java $(java_opts) -cp "$libs/*" "$logcfg" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  # A cluster member answers Metadata only once a quorum is up: start-cluster waits instead.
  if [ -n "${EB_KAFKA_NO_WAIT:-}" ]; then return 0; fi
  local deadline=$((SECONDS + ${EB_KAFKA_START_TIMEOUT:-90}))
  until kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "kafka.sh: broker exited; see $dir/stdout.log and $dir/server.log" >&2
      tail -20 "$dir/stdout.log" >&2 || true; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "kafka.sh: broker did not answer Metadata in time" >&2; stop "$dir"; exit 1
    fi
    sleep 0.5
  done
  cat "$dir/bootstrap"
}

stop() {
  local dir=$1
  [ -f "$dir/pid" ] || return 0
  local pid; pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

start_cluster() {
  local dir=$1 n=$2; shift 2
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local ports=() cports=() voters="" i
  for i in $(seq 1 "$n"); do
    if [ -f "$dir/b$i/server.properties" ]; then  # a restart keeps the ports
      ports+=("$(sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$dir/b$i/server.properties")")
      cports+=("$(sed -n 's|.*CONTROLLER://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/b$i/server.properties" | head -1)")
    else
      ports+=("$(free_port)"); cports+=("$(free_port)")
    fi
    voters="$voters${voters:+,}$i@127.0.0.1:${cports[$((i - 1))]}"
  done
  local cid; cid=$(cat "$dir/cluster_id" 2>/dev/null || true)
  if [ -z "$cid" ]; then
    cid=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    echo "$cid" >"$dir/cluster_id"
  fi
  local rf=$((n < 3 ? n : 3)) isr=$((n < 2 ? 1 : 2)) boot=""
  for i in $(seq 1 "$n"); do
    EB_KAFKA_NO_WAIT=1 EB_KAFKA_CLUSTER_ID=$cid start "$dir/b$i" --node="$i" --voters="$voters" \
      --port="${ports[$((i - 1))]}" --controller-port="${cports[$((i - 1))]}" \
      --replication=$rf --min-isr=$isr "$@" >/dev/null
    boot="$boot${boot:+,}127.0.0.1:${ports[$((i - 1))]}"
  done
  echo "$boot" >"$dir/bootstrap"
  local deadline=$((SECONDS + ${EB_KAFKA_START_TIMEOUT:-180}))
  # Every broker registered (the metadata lists n brokers).
  until [ "$(kcat -b "$boot" -L -m 2 2>/dev/null | grep -c '^  broker ')" -ge "$n" ]; do
    for i in $(seq 1 "$n"); do
      if ! kill -0 "$(cat "$dir/b$i/pid")" 2>/dev/null; then
        echo "kafka.sh: broker $i exited; see $dir/b$i/stdout.log" >&2
        tail -20 "$dir/b$i/stdout.log" >&2 || true; stop_cluster "$dir"; exit 1
      fi
    done
    if [ $SECONDS -ge $deadline ]; then
      echo "kafka.sh: cluster did not come up in time" >&2; stop_cluster "$dir"; exit 1
    fi
    sleep 0.5
  done
  echo "$boot"
}

stop_cluster() {
  local dir=$1 d
  for d in "$dir"/b*; do [ -d "$d" ] && stop "$d" & done
  wait
}

run_class() {
  fetch
  local cls=$1; shift
  # shellcheck disable=SC2046
  exec java $(java_opts) -cp "$libs/*" -Dlog4j.configuration="file:$here/tools-log4j.properties" "$cls" "$@"
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  start-cluster) shift; start_cluster "$@" ;;
  stop-cluster) shift; stop_cluster "$@" ;;
  run-class) shift; run_class "$@" ;;
  libs) fetch; echo "$libs" ;;
  *) sed -n '2,19p' "$0" >&2; exit 2 ;;
esac
