#!/usr/bin/env bash
# Installs the Debian packages the real-tool tests run (as root; a no-op when they are all there):
#   sudo bash scripts/install-tools.sh
# PostgreSQL 15 + PostGIS (bootstrap SQL, backup/restore, cutover copy), caddy (Caddyfile validation), prometheus
# (promtool), shellcheck (every rendered shell script), nginx (the basemap's tile cache), redis-server and
# redis-tools (the broker's start and health scripts), gcc + libc6-dev (a stub Redis module, so the Redis 8
# entrypoint's appended --loadmodule loads for real), busybox (the Docker schedule runner in BusyBox ash, as on
# Alpine images), restic (the off-host backup's copy and restore). .ci/run runs this first; tests/unit/install-tools.test.ts
# keeps this list equal to what the tests ask for and to the README's.
set -euo pipefail

DEBIAN_PACKAGES=(postgresql-15 postgresql-15-postgis-3 caddy prometheus shellcheck nginx redis-server redis-tools gcc libc6-dev busybox restic)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-tools: all ${#DEBIAN_PACKAGES[@]} packages are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-tools: run as root to install: ${missing[*]} (sudo bash scripts/install-tools.sh)" >&2
  exit 1
fi
echo "install-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
