#!/usr/bin/env bash
# Installs the Debian packages Escala needs to build and test. Idempotent: when every
# package is already installed it only runs dpkg-query and returns in well under a second.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build pkg-config make
  libboost1.81-dev libboost-system1.81-dev libboost-url1.81-dev libssl-dev
  libsoci-dev libsqlite3-dev libpq-dev libsodium-dev
  libhowardhinnant-date-dev tzdata libspdlog-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgmime-3.0-dev libcurl4-openssl-dev libkainjow-mustache-dev
)
test_pkgs=(
  python3 curl sqlite3 wrk libbusiness-hours-perl
  python3-aiosmtpd dovecot-imapd swaks libnet-ssleay-perl s-nail mutt clang
  # The PostgreSQL store's tests start their own server (initdb + pg_ctl on loopback).
  # On Debian 12 postgresql-15 itself provides postgresql-contrib-15 (unaccent): that
  # name is virtual, and dpkg-query would report it missing on every run.
  postgresql-15
  chromium   # the web console's browser tests (playwright-core drives it; nothing downloads a browser)
)
# The web console is built with Node and npm (web/). A Node already on PATH (e.g. a newer
# one from NodeSource) is kept: Debian's packages are installed only when it is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  build_pkgs+=(nodejs npm)
fi

want=()
case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  test)  want=("${test_pkgs[@]}") ;;
  all)   want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600 --no-install-recommends)
# The Boost 1.81 packages conflict with the default 1.74 -dev packages and libmstch-dev:
# remove those in the same transaction (a trailing '-' removes a package).
removals=()
for p in libboost1.74-dev libmstch-dev; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] && removals+=("$p-")
done
if ! apt-get "${apt_opts[@]}" install "${missing[@]}" "${removals[@]}"; then
  apt-get -q -o DPkg::Lock::Timeout=600 update
  apt-get "${apt_opts[@]}" install "${missing[@]}" "${removals[@]}"
fi
