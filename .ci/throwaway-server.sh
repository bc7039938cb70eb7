# shellcheck shell=bash
# Sourced by .ci/schemathesis.sh and .ci/client.sh: a release server on a
# throwaway data directory with one write key, stopped and removed at exit.
#
#   start_roster BIN ORG [CONTACTS]
#
# Sets: data (the data directory), work (a scratch directory, removed at
# exit), server_log, key (a write key of ORG) and base (http://ADDR).
# CONTACTS generated contacts are written into ORG first (default none).

server_pid=""

# At exit: stop the server (SIGTERM, then SIGKILL if it has not drained in
# 10 s), show the end of its log when the run failed, and remove both directories.
# shellcheck disable=SC2317  # called by the trap below
stop_roster() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -f "${server_log:-}" ]; then
    echo "--- last lines of the server's log ---"
    tail -n 60 "$server_log" || true
  fi
  rm -rf "${data:-}" "${work:-}"
  exit "$status"
}

start_roster() {
  local bin=$1 org=$2 contacts=${3:-0}
  data=$(mktemp -d -t roster-data.XXXXXX)
  work=$(mktemp -d -t roster-work.XXXXXX)
  server_log="$work/server.log"
  trap stop_roster EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # A write key from the CLI, which prints the key itself as its last line.
  key=$("$bin" keys create --org "$org" --access write --data-dir "$data" | tail -n 1)
  if [[ "$key" != rst_* ]]; then
    echo "roster keys create did not end with a key: '$key'" >&2
    exit 2
  fi

  # Some realistic contacts in the key's organization, so reads answer real data.
  if [ "$contacts" -gt 0 ]; then
    "$bin" seed --org "$org" --count "$contacts" --seed 1 --data-dir "$data"
  fi

  # The log exists before the server starts, so the wait below can read it at once.
  : >"$server_log"

  # The server on a free loopback port (port 0), offline lookups, and outbound
  # webhooks allowed to call only 127.0.0.1, whatever URLs a client saves.
  "$bin" serve --data-dir "$data" --listen 127.0.0.1:0 \
    --lookup-provider offline --webhook-allowed-hosts 127.0.0.1 --drain-secs 5 \
    >>"$server_log" 2>&1 &
  server_pid=$!

  # The address it picked, from its "roster listening on http://ADDR" line.
  local addr=""
  for _ in $(seq 300); do
    addr=$(sed -n 's|^roster listening on http://||p' "$server_log" | head -n 1)
    [ -n "$addr" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "roster serve exited before listening" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "roster serve printed no address within 30 s" >&2
    exit 1
  fi
  base="http://$addr"

  # Ready when GET /healthz answers 200.
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$base/healthz"
  echo "roster is up at $base"
}
