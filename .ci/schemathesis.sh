#!/usr/bin/env bash
# API fuzzing: schemathesis against a throwaway release server, driven by the
# OpenAPI document it serves at GET /api/openapi.json.
#
#   .ci/schemathesis.sh [path/to/roster]      (default target/release/roster)
#
# Environment (all optional):
#   ROSTER_FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   ROSTER_FUZZ_SEED          schemathesis's random seed (default 1)
#   ROSTER_FUZZ_CONTACTS      generated contacts written before the run (default 20, 0 for none)
#   ROSTER_FUZZ_TIMEOUT       seconds before the whole schemathesis run is stopped (default 900)
#
# Exits with schemathesis's status: 0 when nothing was found, non-zero on any
# failure, error or configuration problem (and 124 when the timeout hit).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SCHEMATHESIS_VERSION=4.32.5
max_examples=${ROSTER_FUZZ_MAX_EXAMPLES:-25}
seed=${ROSTER_FUZZ_SEED:-1}
contacts=${ROSTER_FUZZ_CONTACTS:-20}
run_timeout=${ROSTER_FUZZ_TIMEOUT:-900}

# The release binary to test, made absolute because schemathesis runs from another directory.
bin=${1:-target/release/roster}
if [ ! -x "$bin" ]; then
  echo "no roster binary at $bin (build it with cargo build --release)" >&2
  exit 2
fi
bin=$(realpath "$bin")

# The pinned schemathesis, installed from PyPI when another version (or none) is there.
if [ "$(schemathesis --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
schemathesis --version

# A throwaway server with a write key and some contacts (see
# .ci/throwaway-server.sh); its scratch directory is schemathesis's working
# directory, so its .hypothesis/ and .schemathesis/ caches stay out of the repository.
# shellcheck source=.ci/throwaway-server.sh
. "$root/.ci/throwaway-server.sh"
start_roster "$bin" fuzz "$contacts"
echo "seed $seed, at most $max_examples examples per operation"

# The key's organization id, from GET /api/me, for the x-organization-id header.
org_id=$(curl -fsS -H "Authorization: Bearer $key" "$base/api/me" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["organization"]["id"])')

# Every phase, the four response checks, a fixed seed and a bounded number of
# examples, against the document the server serves; requests go to the
# loopback server whatever its "servers" says; the Twilio webhook is left out
# (it needs an X-Twilio-Signature). The key and organization id reach
# schemathesis.toml through ROSTER_FUZZ_KEY and ROSTER_FUZZ_ORG_ID.
export ROSTER_FUZZ_KEY="$key" ROSTER_FUZZ_ORG_ID="$org_id"
status=0
(
  cd "$work"
  exec timeout --kill-after=10 "$run_timeout" \
    schemathesis --config-file "$root/schemathesis.toml" run "$base/api/openapi.json" \
    --url "$base" \
    --phases examples,coverage,fuzzing,stateful \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --exclude-path '/api/webhooks/twilio/inbound/{secret}'
) || status=$?
if [ "$status" = 124 ]; then
  echo "schemathesis did not finish within $run_timeout s" >&2
fi
exit "$status"
