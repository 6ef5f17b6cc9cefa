#!/usr/bin/env bash
# Installs the real Kafka clients that tests/integration/test_clients.py and test_consumers.py drive,
# into git-ignored caches (override the root with EB_CLIENTS_CACHE):
#   .cache/clients/venv     confluent-kafka, kafka-python, pytest  (tests/clients/python/requirements.txt)
#   tests/clients/node/node_modules   kafkajs                       (npm ci from package-lock.json)
#   .cache/clients/bin      franz-go programs (go build), librdkafka C programs (cc + pkg-config)
#   .cache/clients/java     Java programs compiled against kafka-clients from scripts/kafka/kafka.sh,
#                           and classpath.txt, the runtime classpath for them
#   .cache/clients/java4    the same programs against kafka-clients 4.x (kafka.sh --version=$java4),
#                           classpath.txt and log4j2.properties
# kcat and librdkafka-dev come from Debian (scripts/install-deps.sh).
# Idempotent and quiet: each step keeps a stamp of its inputs and is skipped while they match.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${EB_CLIENTS_CACHE:-$root/.cache/clients}
mkdir -p "$cache/stamps" "$cache/bin" "$cache/java"

# fresh NAME OUTPUT INPUT...: true when OUTPUT exists and NAME's stamp matches the inputs, where
# an input is a file (its content and its path in the checkout count) or any other word (a tool
# version, say). Paths count relative to the checkout, so that worktrees sharing one .cache agree.
stamp_of() {
  for x in "$@"; do
    if [ -f "$x" ]; then printf '%s\n' "${x#"$root"/}"; cat "$x"; else printf '%s\n' "$x"; fi
  done | sha256sum | cut -d' ' -f1
}
fresh() {
  local name=$1 output=$2; shift 2
  [ -e "$output" ] && [ -f "$cache/stamps/$name" ] &&
    [ "$(cat "$cache/stamps/$name")" = "$(stamp_of "$@")" ]
}
mark() {
  local name=$1; shift
  stamp_of "$@" >"$cache/stamps/$name"
}
say() { echo "clients/install: $*" >&2; }

# Python: confluent-kafka, kafka-python, pytest.
py_inputs=("$here/python/requirements.txt" "$(python3 --version 2>&1)")
if ! fresh python "$cache/venv/bin/python" "${py_inputs[@]}"; then
  say "Python venv (${py_inputs[1]})"
  [ -x "$cache/venv/bin/python" ] || python3 -m venv "$cache/venv"
  "$cache/venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$here/python/requirements.txt"
  mark python "${py_inputs[@]}"
fi

# Node: kafkajs, exactly as locked.
node_inputs=("$here/node/package-lock.json" "$(node --version)")
if ! fresh node "$here/node/node_modules/kafkajs/package.json" "${node_inputs[@]}"; then
  say "npm ci (kafkajs, node ${node_inputs[1]})"
  (cd "$here/node" && npm ci --silent --no-audit --no-fund >/dev/null)
  mark node "${node_inputs[@]}"
fi

# Go: franz-go programs, one binary per cmd/ folder.
mapfile -t go_inputs < <(find "$here/go" -name '*.go' -o -name go.mod -o -name go.sum | sort)
go_inputs+=("$(go version)")
if ! fresh go "$cache/bin/franz-producer" "${go_inputs[@]}"; then
  say "go build (franz-go)"
  (cd "$here/go" && GOFLAGS=-mod=readonly go build -trimpath -o "$cache/bin/" ./cmd/...)
  mark go "${go_inputs[@]}"
fi

# C: librdkafka programs, each rdkafka/NAME_WORD.c becomes bin/NAME-WORD.
mapfile -t c_inputs < <(find "$here/rdkafka" -name '*.c' | sort)
c_inputs+=("$(pkg-config --modversion rdkafka)" "$(cc --version | head -1)")
if ! fresh c "$cache/bin/rdkafka-producer" "${c_inputs[@]}"; then
  say "cc (librdkafka $(pkg-config --modversion rdkafka))"
  for src in "$here"/rdkafka/*.c; do
    name=$(basename "$src" .c)
    # shellcheck disable=SC2046
    cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -o "$cache/bin/${name//_/-}" \
      "$src" $(pkg-config --cflags --libs rdkafka)
  done
  mark c "${c_inputs[@]}"
fi

# Java: against the kafka-clients jar of the broker's own jar set (Kafka 3.9.1). The runtime
# classpath is the client and the libraries it loads itself (compression codecs, logging), not
# the broker's jars.
libs=$("$root/scripts/kafka/kafka.sh" libs)
mapfile -t java_srcs < <(find "$here/java" -name '*.java' | sort)
java_inputs=("${java_srcs[@]}" "$here/java/log4j.properties" "$libs" "$(readlink -f "$(command -v javac)")")
if ! fresh java "$cache/java/classpath.txt" "${java_inputs[@]}"; then
  say "javac (kafka-clients in $libs)"
  cp=""
  for pattern in kafka-clients lz4-java snappy-java zstd-jni slf4j-api slf4j-reload4j reload4j; do
    jar=$(find "$libs" -maxdepth 1 -name "$pattern-[0-9]*.jar" | sort | tail -1)
    [ -n "$jar" ] || { echo "clients/install: no $pattern jar in $libs" >&2; exit 1; }
    cp="$cp:$jar"
  done
  cp=${cp#:}
  rm -rf "$cache/java/classes"
  javac -Xlint:all -Werror -d "$cache/java/classes" -cp "$cp" "${java_srcs[@]}"
  cp "$here/java/log4j.properties" "$cache/java/log4j.properties"
  echo "$cache/java/classes:$cp" >"$cache/java/classpath.txt"
  mark java "${java_inputs[@]}"
fi

# Java 4.x: the same programs against kafka-clients of the current generation (log4j2 through
# slf4j 2). EB_JAVA4_VERSION overrides the version (Maven Central serves 4.0.0 to 4.4.0).
java4=${EB_JAVA4_VERSION:-4.1.1}
libs4=$("$root/scripts/kafka/kafka.sh" --version="$java4" libs)
java4_inputs=("${java_srcs[@]}" "$libs4" "$(readlink -f "$(command -v javac)")")
if ! fresh java4 "$cache/java4/classpath.txt" "${java4_inputs[@]}"; then
  say "javac (kafka-clients in $libs4)"
  cp=""
  for pattern in kafka-clients lz4-java snappy-java zstd-jni slf4j-api log4j-slf4j2-impl log4j-api \
    log4j-core; do
    jar=$(find "$libs4" -maxdepth 1 -name "$pattern-[0-9]*.jar" | sort | tail -1)
    [ -n "$jar" ] || { echo "clients/install: no $pattern jar in $libs4" >&2; exit 1; }
    cp="$cp:$jar"
  done
  cp=${cp#:}
  mkdir -p "$cache/java4"
  rm -rf "$cache/java4/classes"
  javac -Xlint:all,-options -Werror -d "$cache/java4/classes" -cp "$cp" "${java_srcs[@]}"
  cat >"$cache/java4/log4j2.properties" <<'PROPS'
rootLogger.level=WARN
rootLogger.appenderRef.err.ref=err
appender.err.type=Console
appender.err.name=err
appender.err.target=SYSTEM_ERR
appender.err.layout.type=PatternLayout
appender.err.layout.pattern=[%d] %p %m (%c)%n
PROPS
  echo "$cache/java4/classes:$cp" >"$cache/java4/classpath.txt"
  mark java4 "${java4_inputs[@]}"
fi
