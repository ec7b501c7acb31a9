#!/usr/bin/env bash
# Installs what the test suite drives, where it is missing (Debian packages; quiet, idempotent,
# quick when everything is there): util-linux logger, curl, openssl, syslog-ng's loggen, Python
# with requests, systemd-analyze (the unit of install-service is verified with it), Chromium (the
# status page is tested in it, driven by playwright-core), and the
# syslog daemons of tests/loggly_senders_test.ts. Run by `deno task test`
# and .ci/run. Without root, it says what is missing and leaves it to you.
set -uo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

missing=()
for pair in logger:bsdutils curl:curl openssl:openssl loggen:syslog-ng-core python3:python3 \
  systemd-analyze:systemd chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
# The Python client tests need requests in some python3: the one on PATH, or Debian's.
python3 -c 'import requests' 2>/dev/null || /usr/bin/python3 -c 'import requests' 2>/dev/null ||
  missing+=(python3-requests)

if [ "$(id -u)" != 0 ]; then
  [ ${#missing[@]} -eq 0 ] || echo "tests need: apt-get install ${missing[*]} (as root)" >&2
  [ -x /var/cache/loggly-relay-tests/rsyslog/rsyslogd ] ||
    echo "tests need: sudo bash tests/tools/install_syslog_daemons.sh" >&2
  exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash ./install_syslog_daemons.sh >/dev/null
