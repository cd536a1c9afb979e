#!/usr/bin/env bash
# The Escala benchmarks (docs/BENCHMARKS.md explains them and holds the figures).
#
#   bench/run.sh [BUILD_DIR]        default: build-bench (configured Release, tests off)
#
# `make bench` runs `bench/run.sh build`. Steps, each printing the load generator's JSON and
# a one-line summary, then a table at the end:
#   a  create, 32 connections, closed loop, 10 s after a 3 s warm-up      (target ≥ 5,000/s)
#   b  create, open loop at 1,000/s for 10 s: p99                         (target < 20 ms)
#   c  get by number, 64 connections, 10 s                                (target ≥ 20,000/s)
#   d  kill -9 during a create run; after restart every acknowledged case must exist
#   e  search over 1,000,000 seeded cases: p95 over a term mix, 8 connections and 1 connection
#                                                                         (target < 50 ms)
#   f  server VmRSS / VmHWM after the searches and gets on 1,000,000 cases (target < 200 MB)
#   h  /healthz with wrk -t2 -c64 -d10s: the ceiling of the HTTP layer
#   k  calendar micro-benchmark (Google Benchmark)
#
# Environment:
#   STEPS="a b c d e f h k"   which steps to run (f needs e; it runs the 1M gets itself)
#   DURATION=10  WARMUP=3     seconds per measurement and of warm-up
#   SEARCH_DURATION=30        seconds per search measurement (slow requests: more samples)
#   REPEAT=1                  run every measurement this many times
#   SEED_DIR=…/build-bench/seed-1m   the cached 1M-case data directory (made once, reused;
#                             delete it to re-seed, e.g. after a schema change)
#   SEED_CASES=1000000
#   QUIET_WAIT=60             before each measurement, wait up to this many seconds for the
#                             other processes on the machine to use < QUIET_PCT % of the CPUs
#   QUIET_PCT=15
#   CRASH_ROUNDS=3            kill -9 rounds of step d
#   BENCH_COMMIT=…            what to print as the commit (e.g. when run from a git archive)
#   SEARCH_TERMS=…            comma-separated search mix of step e (default: frequent,
#                             medium and rare words, accented and not, a SIP code, two words,
#                             and a carrier ticket number found in one case)
# Each measurement also prints how much CPU the rest of the machine used meanwhile
# ("others"), so a figure taken on a busy machine can be recognised and repeated.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${1:-build-bench}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
STEPS="${STEPS:-a b c d e f h k}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
SEARCH_DURATION="${SEARCH_DURATION:-30}"
REPEAT="${REPEAT:-1}"
SEED_DIR="${SEED_DIR:-$ROOT/build-bench/seed-1m}"
SEED_CASES="${SEED_CASES:-1000000}"
QUIET_WAIT="${QUIET_WAIT:-60}"
QUIET_PCT="${QUIET_PCT:-15}"
CRASH_ROUNDS="${CRASH_ROUNDS:-3}"
# Frequent, medium and rare words; accented and unaccented spellings; a SIP code; two words.
# The seed's carrier ticket reference (in one case) is appended unless SEARCH_TERMS is given.
SEARCH_TERMS_DEFAULT="llamada,extension,extensión,buzón,buzon,grabación,Grandstream,486,pingüino,Mazatlán,mazatlan,troncal caída"
SEARCH_TERMS="${SEARCH_TERMS:-}"
ADMIN_EMAIL="bench@escala.test"
ADMIN_PASSWORD="bench-password-1"
NCPU="$(nproc)"
HZ="$(getconf CLK_TCK)"

ESCALA="$BUILD_DIR/escala"
LOADGEN="$BUILD_DIR/bench/escala_loadgen"
SEED="$BUILD_DIR/bench/escala_seed"
CALBENCH="$BUILD_DIR/bench/calendar_bench"
WORK="$(mktemp -d /tmp/escala-bench.XXXXXX)"
RESULTS="$BUILD_DIR/bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
SUMMARY="$RESULTS/summary.txt"
SERVER_PID=""

log() { printf '%s\n' "$*" >&2; }
has_step() { [[ " $STEPS " == *" $1 "* ]]; }

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- build ------------------------------------------------------------------------------------
build() {
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DESCALA_BUILD_TESTS=OFF >&2
  fi
  local targets=(escala escala_loadgen escala_seed)
  if grep -q 'calendar_bench' "$BUILD_DIR/build.ninja"; then targets+=(calendar_bench); fi
  cmake --build "$BUILD_DIR" --target "${targets[@]}" >&2
}

# ---- machine load -------------------------------------------------------------------------------
# Busy jiffies of all CPUs.
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# utime+stime jiffies of a process (0 when it is gone).
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# Waits (up to QUIET_WAIT s) until the machine, apart from our idle server, is quiet.
wait_quiet() {
  local waited=0 b0 b1 s0 s1 pct
  while :; do
    b0=$(cpu_busy); s0=$( [[ -n "$SERVER_PID" ]] && proc_cpu "$SERVER_PID" || echo 0 )
    sleep 2
    b1=$(cpu_busy); s1=$( [[ -n "$SERVER_PID" ]] && proc_cpu "$SERVER_PID" || echo 0 )
    pct=$(( ( (b1 - b0) - (s1 - s0) ) * 100 / (2 * HZ * NCPU) ))
    if (( pct < QUIET_PCT )); then return 0; fi
    waited=$((waited + 2))
    if (( waited >= QUIET_WAIT )); then
      log "  (machine still busy: others use ${pct}% of ${NCPU} CPUs; measuring anyway)"
      return 0
    fi
  done
}

# ---- server -----------------------------------------------------------------------------------
start_server() {  # DATA_DIR
  local dir="$1"
  rm -f "$dir/ports.json"
  "$ESCALA" serve --data-dir "$dir" --http 127.0.0.1:0 >>"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    [[ -s "$dir/ports.json" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { log "escala serve died:"; tail "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s "$dir/ports.json" ]] || { log "escala serve did not start"; exit 1; }
  PORT=$(sed -E 's/.*"http": *([0-9]+).*/\1/' "$dir/ports.json")
}

# Waits (up to 300 s) until the server itself is idle: on a seeded database it may first
# have background work (the SLA scheduler firing timers that came due while it was down).
wait_server_idle() {
  local waited=0 s0 s1 pct
  while (( waited < 300 )); do
    s0=$(proc_cpu "$SERVER_PID"); sleep 2; s1=$(proc_cpu "$SERVER_PID")
    pct=$(( (s1 - s0) * 100 / (2 * HZ) ))
    if (( pct < 5 )); then
      (( waited > 0 )) && log "  (the server was busy on its own for ${waited} s before the measurements)"
      return 0
    fi
    waited=$((waited + 2))
  done
  log "  (the server is still busy on its own after 300 s; measuring anyway)"
}

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

new_desk() {  # NAME -> prints the data directory, with the bench admin
  local dir="$WORK/$1"
  mkdir -p "$dir"
  "$ESCALA" user add --data-dir "$dir" --email "$ADMIN_EMAIL" --name "Bench" --role admin \
    --password "$ADMIN_PASSWORD" >/dev/null
  echo "$dir"
}

json_get() {  # FILE KEY…  (a tiny JSON reader through python3)
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d=d[k]
print(d)' "$@"
}

# Runs the load generator against the running server, with the machine-load bookkeeping.
# NAME then loadgen arguments; leaves $RESULTS/NAME.json and prints a summary line.
measure() {
  local name="$1"; shift
  local i out b0 b1 s0 s1 t0 t1 others
  for i in $(seq 1 "$REPEAT"); do
    out="$RESULTS/$name.json"; (( REPEAT > 1 )) && out="$RESULTS/$name.$i.json"
    wait_quiet
    b0=$(cpu_busy); s0=$(proc_cpu "$SERVER_PID"); t0=$(date +%s.%N)
    "$LOADGEN" --port "$PORT" --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --label "$name" "$@" >"$out"
    b1=$(cpu_busy); s1=$(proc_cpu "$SERVER_PID"); t1=$(date +%s.%N)
    others=$(python3 -c 'import json,sys
b,s,t,hz,n=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),int(sys.argv[5])
d=json.load(open(sys.argv[6]))
lg=d.get("loadgen_cpu_s",0)
oth=max(0.0,(b-s)/hz-lg)
print("server %.0f%%, loadgen %.0f%%, others %.0f%% of %d CPUs"%(100*s/hz/t/n,100*lg/t/n,100*oth/t/n,n))' \
      "$((b1 - b0))" "$((s1 - s0))" "$(python3 -c "print($t1-$t0)")" "$HZ" "$NCPU" "$out")
    cat "$out"
    python3 - "$out" "$others" <<'PY' | tee -a "$SUMMARY" >&2
import json, sys
d = json.load(open(sys.argv[1]))
l = d["latency_ms"]
print("%-22s %9.0f req/s  ok %-8d err %-6d p50 %7.2f  p95 %7.2f  p99 %7.2f  max %8.2f ms  [%s]" % (
    d.get("label", d["mode"]), d["throughput_per_s"], d["ok"], d["errors"]["total"],
    l["p50"], l["p95"], l["p99"], l["max"], sys.argv[2]))
if d["errors"]["total"]:
    print("%-22s errors: %s" % ("", json.dumps(d["errors"])))
if "by_term" in d:
    for t, v in d["by_term"].items():
        print("    %-20s n %-6d p50 %7.2f  p95 %7.2f  p99 %7.2f  max %8.2f ms" % (
            t, v["count"], v["p50"], v["p95"], v["p99"], v["max"]))
PY
  done
}

# The same gets driven by wrk (a cheaper client: less of the 2 CPUs goes to the load).
wrk_get() {  # LABEL MAX_NUMBER
  command -v wrk >/dev/null || return 0
  local i out token
  token=$(api token)
  for i in $(seq 1 "$REPEAT"); do
    out="$RESULTS/$1.txt"; (( REPEAT > 1 )) && out="$RESULTS/$1.$i.txt"
    wait_quiet
    wrk -t2 -c64 -d"${DURATION}s" --latency -s "$ROOT/bench/get.lua" "http://127.0.0.1:$PORT" -- "$token" "$2" >"$out"
    python3 - "$out" "$1" <<'PY' | tee -a "$SUMMARY" >&2
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", t, re.M))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("%-22s %9.0f req/s  (wrk -t2 -c64) p50 %s p90 %s p99 %s, non-2xx %s" % (
    sys.argv[2], float(rps), lat.get("50"), lat.get("90"), lat.get("99"), bad.group(1) if bad else 0))
PY
  done
}

memory() {  # LABEL
  python3 - "$SERVER_PID" "$1" <<'PY' | tee -a "$SUMMARY" >&2
import sys
f = dict(l.split(":", 1) for l in open("/proc/%s/status" % sys.argv[1]))
print("%-22s VmRSS %s, VmHWM %s, threads %s" % (sys.argv[2], f["VmRSS"].strip(), f["VmHWM"].strip(), f["Threads"].strip()))
PY
}

# ---- the 1M seed ---------------------------------------------------------------------------------
ensure_seed() {
  if [[ -f "$SEED_DIR/seed.json" ]]; then
    log "re-using the seeded data directory $SEED_DIR: $(cat "$SEED_DIR/seed.json")"
    return
  fi
  log "seeding $SEED_CASES cases into $SEED_DIR (once; kept for later runs)…"
  rm -rf "$SEED_DIR.tmp"
  "$SEED" --data-dir "$SEED_DIR.tmp" --cases "$SEED_CASES" --threads 32 >"$WORK/seed.json"
  "$ESCALA" user add --data-dir "$SEED_DIR.tmp" --email "$ADMIN_EMAIL" --name "Bench" --role admin \
    --password "$ADMIN_PASSWORD" >/dev/null
  mv "$WORK/seed.json" "$SEED_DIR.tmp/seed.json"
  rm -rf "$SEED_DIR"
  mv "$SEED_DIR.tmp" "$SEED_DIR"
  log "seeded: $(cat "$SEED_DIR/seed.json")"
}

# ---- steps --------------------------------------------------------------------------------------
machine() {
  {
    echo "date:    $(date -Is)"
    echo "commit:  ${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]] && echo ' (src/ has uncommitted changes)')}"
    echo "build:   $BUILD_DIR ($(grep -m1 '^CMAKE_BUILD_TYPE' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2))"
    echo "cpu:     $NCPU × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "memory:  $(free -m | awk '/^Mem:/{print $2 " MiB"}')"
    echo "disk:    $(df -h "$WORK" | awk 'NR==2{print $1 " " $2}')"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee -a "$SUMMARY" >&2
}

step_create() {
  local dir; dir=$(new_desk create)
  start_server "$dir"
  if has_step a; then
    log "== a: create, 32 connections, closed loop (${WARMUP} s warm-up, ${DURATION} s)"
    measure a_create_c32 --mode create --connections 32 --duration "$DURATION" --warmup "$WARMUP"
  fi
  if has_step b; then
    log "== b: create, open loop at 1,000/s (${DURATION} s, latency from the scheduled send)"
    measure b_create_r1000 --mode create --rate 1000 --connections 64 --duration "$DURATION" --warmup 2
  fi
  if has_step c; then
    local total
    total=$(sqlite_count "$dir")
    (( total > 0 )) || { measure c_seed_create --mode create --connections 32 --duration 3 >/dev/null; total=$(sqlite_count "$dir"); }
    log "== c: get by number, 64 connections (${total} cases in the database)"
    measure c_get_c64 --mode get --connections 64 --duration "$DURATION" --warmup 2 --max-number "$total"
    wrk_get c_get_wrk "$total"
  fi
  stop_server
}

# Small API calls on the running server: count | create_one | total TERM (prints the answer).
api() {
  python3 - "$PORT" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$@" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request
port, email, password, what = sys.argv[1:5]
base = "http://127.0.0.1:%s/api/v1" % port
def call(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"}
    if token: h["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data, h, method=method), timeout=120) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.stderr.write("bench/run.sh: %s %s: HTTP %d %s\n" % (method, path, e.code, e.read().decode()[:300]))
        sys.exit(1)
token = call("POST", "/auth/login", {"email": email, "password": password})["token"]
if what == "token":
    print(token)
elif what == "count":
    print(call("GET", "/cases?limit=1", token=token)["total"])
elif what == "create_one":
    print(call("POST", "/cases", {"type": "request", "subject": "after the restart"}, token)["number"])
elif what == "total":
    t0 = time.time()
    d = call("GET", "/cases?limit=50&q=" + urllib.parse.quote(sys.argv[5]), token=token)
    print("    term %-18s matches %8d cases (first query, cold: %.0f ms)" % (sys.argv[5], d["total"], (time.time() - t0) * 1000))
PY
}
sqlite_count() { api count; }

step_crash() {
  local round dir lg acks after verify_out
  for round in $(seq 1 "$CRASH_ROUNDS"); do
    dir=$(new_desk "crash$round")
    start_server "$dir"
    log "== d: kill -9 during a create run (round $round/$CRASH_ROUNDS)"
    "$LOADGEN" --port "$PORT" --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --mode create \
      --connections 32 --duration 6 --ack-file "$dir/acks.txt" --timeout-ms 2000 \
      --label "d_crash_$round" >"$RESULTS/d_crash_$round.json" &
    lg=$!
    sleep "$(python3 -c "import random; print(round(random.uniform(2.0, 4.0), 2))")"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    wait "$lg"
    acks=$(wc -l <"$dir/acks.txt")
    start_server "$dir"
    after=$(sqlite_count "$dir")
    verify_out="$RESULTS/d_verify_$round.json"
    "$LOADGEN" --port "$PORT" --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --mode verify \
      --ack-file "$dir/acks.txt" >"$verify_out" || true
    # A new case after the restart must get the next number, never one given before.
    local newnum
    newnum=$(api create_one || echo "none")
    python3 - "$verify_out" "$acks" "$after" "$newnum" "$round" <<'PY' | tee -a "$SUMMARY" >&2
import json, sys
v = json.load(open(sys.argv[1])); acks, after, newnum, rnd = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
num = int(newnum.split("-")[-1]) if newnum.startswith("CMW-") else 0
verdict = "OK" if v["missing"] == 0 and v["mismatched"] == 0 and v["failed"] == 0 and num == after + 1 else "FAILED"
print("d_crash_%s               acknowledged %d, in database after restart %d, missing %d, reused %d, unreadable %d, next number %s: %s" % (
    rnd, acks, after, v["missing"], v["mismatched"], v["failed"], newnum, verdict))
PY
    stop_server
  done
}

step_search() {
  ensure_seed
  start_server "$SEED_DIR"
  wait_server_idle
  log "== e: search over $(json_get "$SEED_DIR/seed.json" cases) cases"
  # How many cases each term matches (the API's total), for the record.
  local t
  if [[ -z "$SEARCH_TERMS" ]]; then
    SEARCH_TERMS="$SEARCH_TERMS_DEFAULT"
    t=$(awk -F'\t' '$1=="ticket"{print $2}' "$SEED_DIR/terms.tsv" 2>/dev/null || true)
    [[ -n "$t" ]] && SEARCH_TERMS="$SEARCH_TERMS,$t"
  fi
  IFS=',' read -ra terms <<<"$SEARCH_TERMS"
  for t in "${terms[@]}"; do api total "$t" | tee -a "$SUMMARY" >&2; done
  measure e_search_c8 --mode search --terms "$SEARCH_TERMS" --connections 8 --duration "$SEARCH_DURATION" --warmup 2 --timeout-ms 60000
  measure e_search_c1 --mode search --terms "$SEARCH_TERMS" --connections 1 --duration "$SEARCH_DURATION" --warmup 1 --timeout-ms 60000
  memory "f_rss_after_search"
  if has_step f || has_step c; then
    log "== c/f: get by number on the 1M database, 64 connections"
    measure c_get_1m_c64 --mode get --connections 64 --duration "$DURATION" --warmup 2 \
      --max-number "$(json_get "$SEED_DIR/seed.json" cases)"
    wrk_get c_get_1m_wrk "$(json_get "$SEED_DIR/seed.json" cases)"
    memory "f_rss_after_get_1m"
  fi
  stop_server
}

step_healthz() {
  local dir; dir=$(new_desk healthz)
  start_server "$dir"
  log "== h: /healthz, wrk -t2 -c64 -d${DURATION}s (the HTTP ceiling)"
  wait_quiet
  wrk -t2 -c64 -d"${DURATION}s" "http://127.0.0.1:$PORT/healthz" | tee "$RESULTS/h_wrk.txt" >&2
  awk '/Requests\/sec/{printf "%-22s %9.0f req/s (wrk -t2 -c64)\n", "h_healthz_wrk", $2}' "$RESULTS/h_wrk.txt" | tee -a "$SUMMARY" >&2
  measure h_healthz_loadgen --mode healthz --connections 64 --duration "$DURATION" --warmup 1
  stop_server
}

step_calendar() {
  [[ -x "$CALBENCH" ]] || { log "no calendar_bench (Google Benchmark missing)"; return; }
  log "== k: calendar micro-benchmark"
  wait_quiet
  "$CALBENCH" --benchmark_min_time=0.01 | tee "$RESULTS/k_calendar.txt" >&2
}

# ---- main -----------------------------------------------------------------------------------------
build
log "results in $RESULTS"
machine
if has_step a || has_step b || has_step c; then step_create; fi
if has_step d; then step_crash; fi
if has_step e || has_step f; then step_search; fi
if has_step h; then step_healthz; fi
if has_step k; then step_calendar; fi
log ""
log "==== summary ($SUMMARY)"
cat "$SUMMARY"
