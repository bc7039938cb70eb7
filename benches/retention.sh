#!/usr/bin/env bash
# Database bytes per contact at 1M, and what pruning lookup history gives
# back. Seeds 1M contacts, lets a server answer their lookups and index
# them, then gives every contact a second, newer lookup job (the history a
# re-check leaves), starts a server with --lookup-history 1s so it prunes,
# and VACUUMs. Prints the bytes per contact in use at each step, with the
# largest tables and indexes (SQLite's dbstat).
#
#   benches/retention.sh            # 1,000,000 contacts
#   COUNT=100000 benches/retention.sh
#   ROSTER_BENCH_BIN=/path/to/roster benches/retention.sh
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-1000000}
# ROSTER_BENCH_BIN runs another build's binary instead (to compare two).
bin=${ROSTER_BENCH_BIN:-target/release/roster}
[[ -n "${ROSTER_BENCH_BIN:-}" ]] || cargo build --release --locked --quiet
dir=$(mktemp -d)
trap 'pkill -TERM -f "$dir" 2>/dev/null || true; rm -rf "$dir"' EXIT

measure() {
  python3 - "$dir/roster.db" "$1" <<'PY'
import os, sqlite3, sys
db, label = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
q = lambda sql: c.execute(sql).fetchone()[0]
n = q("SELECT count(*) FROM contacts")
used = (q("PRAGMA page_count") - q("PRAGMA freelist_count")) * q("PRAGMA page_size")
print(f"{label}: {used / n:.0f} B/contact in use, file {os.path.getsize(db) / 2**20:.0f} MiB, "
      f"{q('SELECT count(*) FROM lookup_jobs')} lookup jobs")
for name, s in c.execute("SELECT name, sum(pgsize) s FROM dbstat GROUP BY name ORDER BY s DESC LIMIT 6"):
    print(f"    {name:36s} {s / n:5.0f} B/contact")
jobs = q("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'lookup_jobs%'")
print(f"    {'lookup_jobs and its indexes':36s} {jobs / n:5.0f} B/contact")
timeline = q("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'timeline%' OR name LIKE 'sqlite_autoindex_timeline%'")
print(f"    {'all but the timeline':36s} {(used - timeline) / n:5.0f} B/contact")
PY
}

# Runs a server on the data directory until `done_sql` counts 0 (or a
# line matching `log_line` is logged), then stops it.
serve_until() {
  local done_sql=$1 log_line=$2
  shift 2
  "$bin" serve --data-dir "$dir" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$dir.log" &
  local pid=$!
  for _ in $(seq 600); do
    sleep 2
    if [[ -n "$log_line" ]] && grep -q "$log_line" "$dir.log"; then break; fi
    if [[ -n "$done_sql" ]] && [[ $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$dir/roster.db" "$done_sql") == 0 ]]; then break; fi
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

"$bin" seed --org default --count "$count" --data-dir "$dir" >/dev/null
serve_until "SELECT (SELECT count(*) FROM lookup_jobs WHERE status IN ('pending','running')) + (SELECT count(*) FROM search_outbox)" ""
measure "imported, looked up and indexed"
python3 - "$dir/roster.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("""INSERT INTO lookup_jobs (org, contact, phone, status, attempts, last_error, run_after, created_at, updated_at)
             SELECT org, contact, phone, status, attempts, last_error, run_after, created_at + 1, updated_at + 1
               FROM lookup_jobs""")
c.commit()
PY
measure "a second lookup job per contact"
serve_until "" "pruned lookup history" --lookup-history 1s
grep -E "listening|pruned lookup history" "$dir.log" | sed 's/^/    /'
measure "history pruned"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('VACUUM')" "$dir/roster.db"
measure "after VACUUM"
