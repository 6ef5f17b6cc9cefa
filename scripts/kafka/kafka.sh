#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on 127.0.0.1, from jars pinned in pom.xml.
#   kafka.sh fetch              collect the jars into .cache/ (idempotent)
#   kafka.sh start DIR [opts]   start a broker with its state in DIR; prints its bootstrap
#        --auto-create=false    refuse unknown topics (default true)
#        --port=N               listen on N instead of a free port
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
  local auto_create=true port=""
  for a in "$@"; do
    case $a in
      --auto-create=*) auto_create=${a#*=} ;;
      --port=*) port=${a#*=} ;;
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
  local cport; cport=$(free_port)
  while [ "$cport" = "$port" ]; do cport=$(free_port); done
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
auto.create.topics.enable=$auto_create
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
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
    java -cp "$libs/*" "$logcfg" \
      kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1
  fi
  # shellcheck disable=SC2046
  setsid java $(java_opts) -cp "$libs/*" "$logcfg" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
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
  run-class) shift; run_class "$@" ;;
  libs) fetch; echo "$libs" ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
