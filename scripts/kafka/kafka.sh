#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on 127.0.0.1, from jars pinned in pom.xml.
#   kafka.sh fetch              collect the jars into .cache/ (idempotent)
#   kafka.sh start DIR [opts]   start a broker with its state in DIR; prints its bootstrap
#        --auto-create=false    refuse unknown topics (default true)
#        --port=N               listen on N instead of a free port
#        --security=ssl|sasl_ssl|ssl,sasl_ssl   TLS listeners with certificates from --certs=DIR
#                               (scripts/dev-certs.sh; made there if missing): ssl = mTLS (client
#                               certificate signed by DIR/ca.crt required), sasl_ssl = TLS + SASL
#                               SCRAM-SHA-512 for --scram-user=NAME:PASSWORD (default
#                               edge:edge-secret). The first is printed (and on --port); each
#                               one's address is in STATEDIR/<kind>_bootstrap. A PLAINTEXT
#                               listener stays for tools: STATEDIR/plaintext_bootstrap.
#   kafka.sh stop DIR           stop it cleanly (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh run-class CLASS …  run a Kafka tool class (ProducerPerformance, …) on the same jars
# Several brokers can run side by side, each in its own DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
libs="${EB_KAFKA_CACHE:-$root/.cache}/kafka-$version/libs"

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" \
    -DincludeScope=runtime >&2
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
  local auto_create=true port="" security="" certs="" scram_user="edge:edge-secret"
  for a in "$@"; do
    case $a in
      --auto-create=*) auto_create=${a#*=} ;;
      --port=*) port=${a#*=} ;;
      --security=*) security=${a#*=} ;;
      --certs=*) certs=${a#*=} ;;
      --scram-user=*) scram_user=${a#*=} ;;
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
  # With --security the secure listener takes `port` and PLAINTEXT moves to a port of its own.
  local pport=$port listeners advertised protomap secure_props="" format_extra=()
  if [ -n "$security" ]; then
    pport=$(free_port)
    while [ "$pport" = "$port" ] || [ "$pport" = "$cport" ]; do pport=$(free_port); done
    [ -n "$certs" ] || certs="$dir/certs"
    "$root/scripts/dev-certs.sh" "$certs" >/dev/null
    certs=$(cd "$certs" && pwd)
  fi
  local ssl_store_props="ssl.keystore.type=PKCS12
ssl.keystore.location=$certs/server.p12
ssl.keystore.password=edgebridge-dev
ssl.key.password=edgebridge-dev
ssl.truststore.type=PKCS12
ssl.truststore.location=$certs/truststore.p12
ssl.truststore.password=edgebridge-dev"
  listeners="PLAINTEXT://127.0.0.1:$pport"
  protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  [ -z "$security" ] || secure_props="$ssl_store_props"
  local first=1 sport
  for kind in ${security//,/ }; do
    if [ $first = 1 ]; then sport=$port; first=0; else
      sport=$(free_port)
      while [ "$sport" = "$port" ] || [ "$sport" = "$pport" ] || [ "$sport" = "$cport" ]; do
        sport=$(free_port)
      done
    fi
    echo "127.0.0.1:$sport" >"$dir/${kind}_bootstrap"
    case $kind in
      ssl)
        listeners="$listeners,SSL://127.0.0.1:$sport"
        protomap="$protomap,SSL:SSL"
        secure_props="$secure_props
listener.name.ssl.ssl.client.auth=required" ;;
      sasl_ssl)
        listeners="$listeners,SASL_SSL://127.0.0.1:$sport"
        protomap="$protomap,SASL_SSL:SASL_SSL"
        secure_props="$secure_props
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
        format_extra=(--add-scram "SCRAM-SHA-512=[name=${scram_user%%:*},password=${scram_user#*:}]") ;;
      *) echo "kafka.sh: --security takes ssl, sasl_ssl or both (ssl,sasl_ssl)" >&2; exit 2 ;;
    esac
  done
  advertised=$listeners
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protomap
inter.broker.listener.name=PLAINTEXT
$secure_props
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
  if [ ! -f "$dir/logs/meta.properties" ]; then
    java -cp "$libs/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
      kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      -c "$dir/server.properties" "${format_extra[@]}" >"$dir/format.log" 2>&1
  fi
  # shellcheck disable=SC2046
  setsid java $(java_opts) -cp "$libs/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  echo "127.0.0.1:$pport" >"$dir/plaintext_bootstrap"
  local deadline=$((SECONDS + ${EB_KAFKA_START_TIMEOUT:-90}))
  until kcat -b "127.0.0.1:$pport" -L -m 2 >/dev/null 2>&1; do
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
