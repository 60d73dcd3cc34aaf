#!/usr/bin/env bash
# Checks for the Debian packages that the tests drive. The browser tests run
# Debian's Chromium through playwright-core, which cannot download its own
# browsers. The server's postgres tests start a throwaway cluster with
# PostgreSQL's initdb and pg_ctl.
#
# As root, installs what is missing with apt-get; otherwise prints the command
# to run and exits with status 1.
set -euo pipefail

missing=()
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing Debian packages for the tests: ${missing[*]}." >&2
  echo "Install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  # Tell postgresql-common not to create Debian's default cluster, so that no
  # database service runs: the tests start their own.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main-cluster.conf
fi

echo "Installing ${missing[*]} with apt-get" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends "${missing[@]}"
