#!/usr/bin/env bash
# Case creation on PostgreSQL (issue 6): a throw-away PostgreSQL 15 on loopback with a
# durable configuration (fsync on, synchronous_commit on), `escala migrate` + `user add`,
# NODES `escala serve --db …` processes on that one database, and one `escala_loadgen
# --mode create` per node (the connections split between them). Prints one line per run
# (the sum over the nodes) and keeps every JSON in OUT.
#
#   bench/pg_create.sh BUILD_DIR
#   env: NODES=1|2  CONNECTIONS=32 (total)  DURATION=10  WARMUP=3  REPEAT=3
#        SYNC=on|off (synchronous_commit; off only to show what it would give)
#        TSV=simple (the search column of migrations 1-6 instead of Spanish + English)
#        ESCALA_PG_CREATE_WRITERS=0 (passed to the servers: a transaction per creation)
#        SERVER_PRELOAD=/path/lib.so (LD_PRELOAD of the servers, e.g. another malloc)
#        AFTER_MIGRATE_SQL='…' (run on each run's database after `escala migrate`: experiments)
#        STATS=1 (pg_stat_statements: the statements by total time, after each run)
#        OUT=/tmp/escala-pg-bench  PG_BIN=/usr/lib/postgresql/15/bin
# Needs root (PostgreSQL runs as the postgres user). Stops what it started, by PID.
set -euo pipefail

BUILD_DIR=$(realpath "${1:?usage: $0 BUILD_DIR}")
ESCALA="$BUILD_DIR/src/app/cli/escala"
[[ -x "$ESCALA" ]] || ESCALA="$BUILD_DIR/escala"
LOADGEN="$BUILD_DIR/bench/escala_loadgen"
NODES=${NODES:-1}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
REPEAT=${REPEAT:-3}
SYNC=${SYNC:-on}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
STATS=${STATS:-0}
STATS_OPTS=""
[[ "$STATS" == 1 ]] && STATS_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_io_timing=on"
OUT=${OUT:-/tmp/escala-pg-bench}
EMAIL=bench@escala.test
PASSWORD=bench-password-1
mkdir -p "$OUT"

PGDIR=$(mktemp -d /tmp/escala-pgbench-XXXXXX)
chown postgres:postgres "$PGDIR"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { runuser -u postgres -- "$@"; }
SERVER_PIDS=()
cleanup() {
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT

as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
# A durable, modestly tuned server: every commit is flushed (fsync, synchronous_commit on,
# full_page_writes on); enough shared buffers and WAL that no checkpoint falls in a run.
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-p $PORT \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDIR -c max_connections=200 \
  -c fsync=on -c synchronous_commit=$SYNC -c shared_buffers=1GB -c max_wal_size=8GB \
  -c checkpoint_timeout=30min $STATS_OPTS" start >/dev/null
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "# PostgreSQL on 127.0.0.1:$PORT (synchronous_commit=$SYNC), $NODES node(s), $CONNECTIONS connections"

# "PID TICKS" (utime+stime) of escala servers and of the cluster's processes (the postmaster
# and its children), one per line, tagged.
cpu_snapshot() {
  local pm; pm=$(head -1 "$PGDIR/data/postmaster.pid")
  /usr/bin/python3 - "$pm" "${SERVER_PIDS[@]}" <<'PY'
import os, sys
pm, servers = sys.argv[1], sys.argv[2:]
def ticks(p):
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12]), f[1]
    except OSError:
        return None, None
for p in servers:
    t, _ = ticks(p)
    if t is not None: print("escala", p, t)
for p in os.listdir("/proc"):
    if not p.isdigit(): continue
    t, ppid = ticks(p)
    if t is not None and (p == pm or ppid == pm): print("postgres", p, t)
PY
}

for run in $(seq 1 "$REPEAT"); do
  db="bench$run"
  as_pg "$PG_BIN/psql" -h "$PGDIR" -p "$PORT" -U postgres -qc "CREATE DATABASE $db" postgres
  dburl="postgresql://postgres@127.0.0.1:$PORT/$db"
  dirs=()
  for n in $(seq 1 "$NODES"); do dirs+=("$(mktemp -d /tmp/escala-pgnode-XXXXXX)"); done
  "$ESCALA" migrate --data-dir "${dirs[0]}" --db "$dburl" >/dev/null
  if [[ "${TSV:-}" == simple ]]; then  # the search column of migrations 1-6, to compare
    as_pg "$PG_BIN/psql" -h "$PGDIR" -p "$PORT" -U postgres -qc "ALTER TABLE case_text DROP COLUMN tsv;
      ALTER TABLE case_text ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
      escala_search_text(subject || ' ' || body || ' ' || messages))) STORED;
      CREATE INDEX case_text_tsv ON case_text USING gin(tsv)" "$db"
  fi
  if [[ -n "${AFTER_MIGRATE_SQL:-}" ]]; then  # an experiment on the schema, e.g. an index option
    as_pg "$PG_BIN/psql" -h "$PGDIR" -p "$PORT" -U postgres -qc "$AFTER_MIGRATE_SQL" "$db"
  fi
  "$ESCALA" user add --data-dir "${dirs[0]}" --db "$dburl" --email "$EMAIL" --name Bench \
    --role admin --password "$PASSWORD" >/dev/null
  SERVER_PIDS=()
  for d in "${dirs[@]}"; do
    env ${SERVER_PRELOAD:+LD_PRELOAD=$SERVER_PRELOAD} "$ESCALA" serve --data-dir "$d" --db "$dburl" --http 127.0.0.1:0 >"$d/server.log" 2>&1 &
    SERVER_PIDS+=($!)
  done
  for d in "${dirs[@]}"; do
    for _ in $(seq 1 100); do [[ -s "$d/ports.json" ]] && break; sleep 0.1; done
  done
  per=$((CONNECTIONS / NODES))
  hz=$(getconf CLK_TCK)
  cpu_snapshot >"$OUT/cpu0"
  all0=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat); t0=$(date +%s.%N)
  lg=()
  i=0
  for d in "${dirs[@]}"; do
    i=$((i + 1))
    "$LOADGEN" --ports-file "$d/ports.json" --email "$EMAIL" --password "$PASSWORD" \
      --mode create --connections "$per" --duration "$DURATION" --warmup "$WARMUP" \
      --label "node$i" >"$OUT/run$run-node$i.json" &
    lg+=($!)
  done
  for p in "${lg[@]}"; do wait "$p"; done
  t1=$(date +%s.%N); all1=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
  cpu_snapshot >"$OUT/cpu1"
  /usr/bin/python3 - "$OUT" "$run" "$NODES" "$hz" "$all0" "$all1" "$t0" "$t1" <<'EOF'
import json, os, sys
out, run, nodes, hz, a0, a1, t0, t1 = sys.argv[1:]
nodes = int(nodes); hz = float(hz); t = float(t1) - float(t0); ncpu = os.cpu_count()
def snap(f):
    d = {}
    for line in open(f):
        k, p, v = line.split(); d[(k, p)] = int(v)
    return d
c0, c1 = snap(f"{out}/cpu0"), snap(f"{out}/cpu1")
used = {"escala": 0, "postgres": 0}
for (k, p), v in c1.items(): used[k] += v - c0.get((k, p), 0)
srv, pg = used["escala"] / hz, used["postgres"] / hz
rs = [json.load(open(f"{out}/run{run}-node{i}.json")) for i in range(1, nodes + 1)]
tput = sum(r["throughput_per_s"] for r in rs)
acks = sum(r["acknowledged"] for r in rs)  # every 201, warm-up included, like the CPU times
errs = sum(r["errors"]["total"] for r in rs)
lg = sum(r.get("loadgen_cpu_s", 0) for r in rs)
allc = (int(a1) - int(a0)) / hz
others = max(0.0, allc - srv - pg - lg)
p99 = max(r["latency_ms"]["p99"] for r in rs); p50 = max(r["latency_ms"]["p50"] for r in rs)
print(f"run {run}: {tput:,.0f} cases/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {errs}); "
      f"CPU of {ncpu}: escala {100*srv/t/ncpu:.0f}%, postgres {100*pg/t/ncpu:.0f}%, "
      f"loadgen {100*lg/t/ncpu:.0f}%, others {100*others/t/ncpu:.0f}%; "
      f"per case: escala {1e6*srv/max(1,acks):.0f} us, postgres {1e6*pg/max(1,acks):.0f} us CPU")
EOF
  if [[ "$STATS" == 1 ]]; then
    # Execution time only (not parse/plan); per call and per creation (acknowledged ones).
    as_pg "$PG_BIN/psql" -h "$PGDIR" -p "$PORT" -U postgres -q "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
      -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
                 round((1000 * mean_exec_time)::numeric, 0) AS mean_us, rows,
                 left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
          FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db')
          ORDER BY total_exec_time DESC LIMIT 25"
  fi
  for p in "${SERVER_PIDS[@]}"; do kill "$p"; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  SERVER_PIDS=()
  rm -rf "${dirs[@]}"
done
