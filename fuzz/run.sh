#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds the parse_mail fuzzer with clang (libFuzzer, ASan, UBSan)
# in build-fuzz/ and runs it for SECONDS (default 60), seeded with the email corpus
# (tests/corpus/email, or $ESCALA_CORPUS_DIR) and fuzz/regressions/. New inputs go
# to build-fuzz/fuzz-corpus/, crashing inputs to build-fuzz/crashes/ (copy them to
# fuzz/regressions/ once fixed: mail_codec_test parses every file there).
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
corpus="${ESCALA_CORPUS_DIR:-$root/tests/corpus/email}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
    -DESCALA_BUILD_FUZZ=ON -DESCALA_BUILD_TESTS=OFF -DESCALA_BUILD_BENCH=OFF
fi
cmake --build "$build" --target parse_mail_fuzz

# libFuzzer reads seed folders flat: copy the corpus messages (not its licences) in.
seeds="$build/fuzz-seeds"
rm -rf "$seeds"
mkdir -p "$seeds" "$build/fuzz-corpus" "$build/crashes"
if [ -d "$corpus" ]; then
  find "$corpus" -type f ! -path '*/LICENSES/*' ! -name SOURCES.md -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$seeds/$(echo "${f#"$corpus"/}" | tr '/' '_')"; done
else
  echo "warning: no email corpus at $corpus; fuzzing from the regressions only" >&2
fi

exec "$build/fuzz/parse_mail_fuzz" "$build/fuzz-corpus" "$seeds" "$root/fuzz/regressions" \
  -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/crashes/" -print_final_stats=1
