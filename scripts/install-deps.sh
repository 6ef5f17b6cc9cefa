#!/usr/bin/env bash
# Installs everything the build, the tests and the benches need, from Debian and Maven Central.
# Idempotent and quiet: when everything is present it only checks and returns.
#   install-deps.sh          everything
#   install-deps.sh build    only what configuring and compiling edgebridge needs (Debian packages)
#   install-deps.sh test     the rest: test-time Debian packages (JDK, Maven, Chromium, clang for the
#                            fuzzer...), the Kafka jars, toxiproxy and the client programs
# scripts/test.sh runs `build` first and `test` in the background while the first build compiles.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
case $what in all | build | test) ;; *) echo "usage: install-deps.sh [build|test]" >&2; exit 2 ;; esac

build_packages=(
  build-essential cmake ninja-build pkg-config ccache git python3 curl
  librdkafka-dev libsasl2-dev librocksdb-dev libboost1.81-dev libssl-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libbenchmark-dev libsystemd-dev
  zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev
  clang-format
)
test_packages=(
  kcat clang libclang-rt-14-dev
  openjdk-17-jre-headless maven
  python3-confluent-kafka
  chromium prometheus
)
debian_packages=()
[ "$what" = test ] || debian_packages+=("${build_packages[@]}")
[ "$what" = build ] || debian_packages+=("${test_packages[@]}")

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$what" = build ] && exit 0

# The real Apache Kafka used as the cloud in tests and as the comparison in benches.
"$root/scripts/kafka/kafka.sh" fetch

# toxiproxy (the WAN bench's link: latency and bandwidth between the edge and the cloud broker), a
# Go module from the Go module proxy, built into .cache/go-bin.
toxiproxy_version=v2.9.0
if [ ! -x "$root/.cache/go-bin/toxiproxy-server" ] && command -v go >/dev/null; then
  echo "install-deps: building toxiproxy $toxiproxy_version" >&2
  mkdir -p "$root/.cache/go-bin"
  GOBIN="$root/.cache/go-bin" GOMODCACHE="$root/.cache/gomod" GOFLAGS=-modcacherw \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@$toxiproxy_version" >&2
  mv "$root/.cache/go-bin/server" "$root/.cache/go-bin/toxiproxy-server"
fi

# Client test programs install their own packages (PyPI, npm, Go modules, Maven) into caches.
if [ -z "${EB_SKIP_CLIENTS:-}" ] && [ -x "$root/tests/clients/install.sh" ]; then
  "$root/tests/clients/install.sh"
fi
