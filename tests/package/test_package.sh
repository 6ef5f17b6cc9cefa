#!/usr/bin/env bash
# The appliance package: cpack builds the .deb from this build tree; its control data, conffiles,
# maintainer scripts and file list are checked; it is extracted and the extracted binary validates
# the packaged config (--check-config; the data dir pointed at a temp dir, since /var/lib/edgebridge
# is postinst's job); the unit passes `systemd-analyze verify` where systemd-analyze exists.
# Usage: test_package.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/edgebridge_*.deb)
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# Control fields.
[ "$(dpkg-deb -f "$deb" Package)" = edgebridge ] || fail "Package"
dpkg-deb -f "$deb" Version | grep -q '^0\.' || fail "Version: $(dpkg-deb -f "$deb" Version)"
depends=$(dpkg-deb -f "$deb" Depends)
# librdkafka is linked statically (scripts/librdkafka): its own dependencies come instead.
for d in adduser systemd libsasl2 libssl3 libsystemd0 libyaml-cpp; do
  grep -q "$d" <<<"$depends" || fail "Depends lacks $d: $depends"
done
! grep -q librdkafka <<<"$depends" || fail "Depends names librdkafka (linked statically): $depends"
info=$(dpkg-deb -I "$deb")
grep -q " postinst " <<<"$info" || fail "no postinst: $info"
grep -q " conffiles " <<<"$info" || fail "no conffiles: $info"

# Files.
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/edgebridge ./usr/bin/edgebridge-dump ./usr/lib/systemd/system/edgebridge.service \
  ./etc/edgebridge/edgebridge.yaml ./var/lib/edgebridge/ ./usr/share/doc/edgebridge/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "missing $f in: $contents"
done
grep -q -- '-rwxr-xr-x root/root .* ./usr/bin/edgebridge$' <<<"$contents" || fail "binary mode"

mkdir "$work/ctl" "$work/root"
dpkg-deb -e "$deb" "$work/ctl"
dpkg-deb -x "$deb" "$work/root"
grep -qx '/etc/edgebridge/edgebridge.yaml' "$work/ctl/conffiles" || fail "conffiles"
grep -q 'adduser --system' "$work/ctl/postinst" || fail "postinst creates no user"
grep -q 'install -d -o edgebridge -g edgebridge' "$work/ctl/postinst" || fail "postinst data dir"
sh -n "$work/ctl/postinst" && sh -n "$work/ctl/prerm" && sh -n "$work/ctl/postrm"

# The unit.
unit="$work/root/usr/lib/systemd/system/edgebridge.service"
for line in 'Type=notify' 'Restart=on-failure' 'WatchdogSec=' 'User=edgebridge' \
  'ProtectSystem=strict' 'ProtectHome=yes' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
  'ReadWritePaths=/var/lib/edgebridge' 'ExecReload=/bin/kill -HUP $MAINPID' \
  'ExecStart=/usr/bin/edgebridge --config /etc/edgebridge/edgebridge.yaml'; do
  grep -qF "$line" "$unit" || fail "unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
  # verify checks that ExecStart's binary exists: the copy points it at the extracted one.
  mkdir "$work/unit"
  sed "s#/usr/bin/edgebridge#$work/root/usr/bin/edgebridge#" "$unit" >"$work/unit/edgebridge.service"
  if ! systemd-analyze verify "$work/unit/edgebridge.service" >"$work/verify.log" 2>&1; then
    cat "$work/verify.log"
    fail "systemd-analyze verify"
  fi
  # Unknown or misspelt directives are only warnings there: none is allowed.
  if [ -s "$work/verify.log" ]; then
    cat "$work/verify.log"
    fail "systemd-analyze verify warned"
  fi
  echo "systemd-analyze verify: ok"
fi

# The extracted binary runs (its libraries resolve) and validates the packaged config.
bin="$work/root/usr/bin/edgebridge"
ldd "$bin" | grep -q 'not found' && fail "unresolved libraries: $(ldd "$bin")"
out=$("$bin" --check-config --config "$work/root/etc/edgebridge/edgebridge.yaml" \
  --data-dir "$work/data" 2>&1) || fail "--check-config: $out"
[ "$out" = "config ok" ] || fail "--check-config said: $out"
# And rejects a broken one with the config error exit status.
printf 'storage: {fsync: sometimes}\n' >"$work/bad.yaml"
set +e
"$bin" --check-config --config "$work/bad.yaml" --data-dir "$work/data" 2>"$work/bad.log"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad config exit status $rc"
grep -q "storage.fsync" "$work/bad.log" || fail "bad config message: $(cat "$work/bad.log")"
echo "package test: ok"
