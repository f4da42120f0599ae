#!/usr/bin/env bash
# `make test`: starts moto, a lever-sim and `cargo lambda watch` (serving the webhook and
# backfill functions) on 127.0.0.1, runs every test of the workspace, stops them.
# Most integration tests start their own Lever simulators in-process; the end-to-end webhook
# tests (tests/tests/webhook_e2e.rs) use the stack started here, through these variables:
#   E2E_WEBHOOK_URL   Function URL root: http://127.0.0.1:PORT/lambda-url/webhook (+ /<tenant>)
#   E2E_INVOKE_URL    the backfill's invoke endpoint under cargo lambda watch
#   E2E_SIM_URL       the simulator's root (its /v1 is the functions' Lever)
#   E2E_TABLE, E2E_SECRET_PREFIX   the functions' table and secret prefix
#   E2E_WATCH_LOG     where the functions' log lines go
set -euo pipefail
cd "$(dirname "$0")/.."
# Its own directory for logs and env files, so a demo and a test run can share the checkout.
STACK_DIR="${STACK_DIR:-$(pwd)/.local/test}"
source scripts/stack.sh
trap stack_stop EXIT

start_moto

# The build `cargo lambda watch` runs (`cargo run --bin …`), so its first invocation is warm.
cargo build --bin webhook --bin backfill --bin lever-sim
start_sim --seed 7 --opportunities 300 --rate 2000 --burst 2000

run_id="$(date +%s)-$$"
export E2E_TABLE="e2e-offers-$run_id" E2E_SECRET_PREFIX="e2e-$run_id/"
cat >"$STACK_DIR/e2e.env" <<ENV
OFFERS_TABLE=$E2E_TABLE
SECRET_PREFIX=$E2E_SECRET_PREFIX
LEVER_API_URL=$LEVER_API_URL
LEVER_RATE_PER_SEC=1000
LEVER_BURST=1000
LEVER_RETRY_BASE_MS=20
LEVER_RETRY_CAP_MS=200
WEBHOOK_LEVER_RETRY_CAP_MS=50
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_EC2_METADATA_DISABLED=true
LOG_LEVEL=debug
ENV
start_watch "$STACK_DIR/e2e.env"

export E2E_WEBHOOK_URL="http://127.0.0.1:$LAMBDA_PORT/lambda-url/webhook"
export E2E_INVOKE_URL="http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/backfill/invocations"
export E2E_SIM_URL="$SIM_URL" E2E_WATCH_LOG="$STACK_DIR/watch.log"

# Start both functions once (the answers do not matter: no tenant "warm-up" exists).
curl -s -o /dev/null -m 600 -X POST -d '{}' "$E2E_WEBHOOK_URL/warm-up"
curl -s -o /dev/null -m 600 -X POST -d '{"tenant":"warm-up"}' "$E2E_INVOKE_URL"
echo "functions warm"

cargo test --workspace --all-targets "$@"
