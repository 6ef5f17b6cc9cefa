#!/usr/bin/env bash
# Builds the librdkafka edgebridge links: Debian bookworm's source package (2.0.2-1, the version
# the system's librdkafka-dev is) with Debian's own patches and ours (scripts/librdkafka/*.patch),
# as a static library under .cache/librdkafka/<version>-<patches hash>/. CMake finds it there
# (EB_RDKAFKA_PREFIX); see scripts/librdkafka/README.md for why the project carries a patch.
# Idempotent: does nothing when the build for the current patches is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/scripts/librdkafka"

version=2.0.2
debian_rev=1
pool=${EB_DEBIAN_POOL:-http://deb.debian.org/debian/pool/main/libr/librdkafka}
orig="librdkafka_${version}.orig.tar.gz"
orig_sha256=f321bcb1e015a34114c83cf1aa7b99ee260236aab096b85c003170c90a47ca9d
debian_tar="librdkafka_${version}-${debian_rev}.debian.tar.xz"
debian_sha256=1a78b7ab2f5098806cfaabf12e80984a5513780c99b1ec37d7cd59535aaef421

patches_hash=$(cat "$here"/*.patch "$0" | sha256sum | cut -c1-12)
prefix="$root/.cache/librdkafka/${version}-${patches_hash}"
if [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

downloads="$root/.cache/librdkafka/downloads"
mkdir -p "$downloads"
fetch() {  # file sha256
  if [ ! -f "$downloads/$1" ] || ! echo "$2  $downloads/$1" | sha256sum -c --quiet 2>/dev/null; then
    curl -fsSL --retry 3 -o "$downloads/$1.part" "$pool/$1"
    mv "$downloads/$1.part" "$downloads/$1"
  fi
  echo "$2  $downloads/$1" | sha256sum -c --quiet
}
fetch "$orig" "$orig_sha256"
fetch "$debian_tar" "$debian_sha256"

work=$(mktemp -d "$root/.cache/librdkafka/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$downloads/$orig" -C "$work"
tar -xJf "$downloads/$debian_tar" -C "$work"
src="$work/librdkafka-$version"
# Debian's patches first (debian/patches/series), then ours, in name order.
while read -r p; do
  case "$p" in '' | '#'*) continue ;; esac
  patch -d "$src" -p1 -s <"$work/debian/patches/$p"
done <"$work/debian/patches/series"
for p in "$here"/*.patch; do
  patch -d "$src" -p1 -s <"$p"
done

echo "build-librdkafka: building librdkafka $version with $(ls "$here"/*.patch | wc -l) patch(es)" >&2
# Debian's feature set (SSL, SASL with Cyrus for GSSAPI, zstd, external lz4, zlib; no curl), PIC so
# the static library links into executables built as PIE.
(
  cd "$src"
  CFLAGS="-O2 -g -fPIC" ./configure --prefix="$prefix" --no-download --disable-curl \
    --enable-ssl --enable-gssapi --enable-zstd --enable-lz4-ext --enable-zlib >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; exit 1; }
  make -C src -j "${EB_JOBS:-$(nproc)}" librdkafka.a >"$work/make.log" 2>&1 ||
    { tail -50 "$work/make.log" >&2; exit 1; }
)
mkdir -p "$prefix/lib" "$prefix/include/librdkafka"
cp "$src/src/librdkafka.a" "$prefix/lib/"
cp "$src/src/rdkafka.h" "$src/src/rdkafka_mock.h" "$prefix/include/librdkafka/"
touch "$prefix/.complete"
echo "$prefix"
