#!/usr/bin/env bash
# Installs the syslog daemons that tests/loggly_senders_test.ts runs with Loggly's own setups:
# syslog-ng with its bundled configuration library (the loggly() destination) as Debian
# packages, and rsyslog with its GnuTLS driver unpacked into a directory of its own, because the
# rsyslog and syslog-ng-core packages conflict. Idempotent and quiet; prints the path of the
# rsyslogd to run: a wrapper that supplies the unpacked libraries and module directory.
set -euo pipefail
DIR=/var/cache/loggly-relay-tests/rsyslog
export DEBIAN_FRONTEND=noninteractive

updated=
apt_update() {
  [ -n "$updated" ] || apt-get update -qq
  updated=1
}

if ! command -v syslog-ng >/dev/null 2>&1 ||
  [ ! -f /usr/share/syslog-ng/include/scl/loggly/loggly.conf ]; then
  apt-get install -y -qq syslog-ng-core syslog-ng-scl >/dev/null 2>&1 ||
    { apt_update && apt-get install -y -qq syslog-ng-core syslog-ng-scl >/dev/null; }
fi

if [ ! -f "$DIR/.complete" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work" "$DIR.new"' EXIT
  chown _apt "$work" 2>/dev/null || true # apt-get downloads as _apt where it can
  packages=(rsyslog rsyslog-gnutls)
  for lib in libestr0 libfastjson4 liblognorm5; do
    dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q '^install ok installed' ||
      packages+=("$lib")
  done
  (cd "$work" && { apt-get download -qq "${packages[@]}" >/dev/null 2>&1 ||
    { apt_update && apt-get download -qq "${packages[@]}" >/dev/null; }; })
  rm -rf "$DIR.new"
  mkdir -p "$DIR.new"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$DIR.new"; done
  modules=$(dirname "$(find "$DIR.new/usr/lib" -name lmnsd_gtls.so -print -quit)")
  [ -f "$modules/lmnsd_gtls.so" ] || { echo "rsyslog's GnuTLS driver was not unpacked" >&2; exit 1; }
  libs=$(dirname "$modules")
  missing=$(for binary in "$DIR.new/usr/sbin/rsyslogd" "$modules"/*.so; do
    LD_LIBRARY_PATH="$libs" ldd "$binary" | grep 'not found' || true
  done | sort -u)
  [ -z "$missing" ] || { echo "rsyslog needs libraries that are not installed: $missing" >&2; exit 1; }
  # The final paths, as the wrapper will see them once the directory is moved into place.
  modules=$DIR${modules#"$DIR.new"}
  libs=$DIR${libs#"$DIR.new"}
  cat >"$DIR.new/rsyslogd" <<WRAPPER
#!/bin/sh
LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DIR/usr/sbin/rsyslogd" -M "$modules" "\$@"
WRAPPER
  chmod 755 "$DIR.new/rsyslogd"
  rm -rf "$DIR"
  mv "$DIR.new" "$DIR"
  touch "$DIR/.complete"
fi
echo "$DIR/rsyslogd"
