#!/usr/bin/env bash
# Creates the first administrator of a fresh desk (once) and prints how to sign in.
# Usage: scripts/first-login.sh ESCALA_BINARY DATA_DIR
set -euo pipefail
bin=$1 data=$2
mkdir -p "$data"
hint="$data/first-login.txt"
if [[ ! -f "$hint" ]]; then
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)
  "$bin" migrate --data-dir "$data" >/dev/null
  "$bin" user add --data-dir "$data" --email admin@escala.local --name "Administrator" \
    --role admin --password "$password" >/dev/null
  umask 077
  printf 'email: admin@escala.local\npassword: %s\n' "$password" > "$hint"
fi
echo "Escala: sign in at http://127.0.0.1:8080 with the credentials in $hint:"
sed 's/^/  /' "$hint"
echo "  (API: curl -XPOST http://127.0.0.1:8080/api/v1/auth/login -d '{\"email\":\"admin@escala.local\",\"password\":\"…\"}')"
