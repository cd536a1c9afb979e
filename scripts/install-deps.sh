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
)

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
