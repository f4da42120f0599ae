# Helpers for the local stack: moto, lever-sim and cargo lambda watch on 127.0.0.1.
# Sourced by test.sh and demo.sh. Every process started here is stopped by `stack_stop`.

STACK_DIR="${STACK_DIR:-$(pwd)/.local}"
VENV="${VENV:-$(pwd)/.venv}"
STACK_PIDS=()
# Where cargo puts binaries (honours CARGO_TARGET_DIR like cargo does).
TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"

mkdir -p "$STACK_DIR"

# A TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until a URL answers 200, up to $2 seconds.
wait_http() {
  local url=$1 seconds=${2:-60}
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# Starts moto (DynamoDB and Secrets Manager) and exports what the AWS SDK needs to use it.
start_moto() {
  local port
  port=$(free_port)
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$STACK_DIR/moto.log" 2>&1 &
  STACK_PIDS+=($!)
  wait_http "http://127.0.0.1:$port/moto-api/" 60

  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_EC2_METADATA_DISABLED=true
  echo "moto listening on $AWS_ENDPOINT_URL"
}

# Starts lever-sim with the given arguments; sets SIM_URL (control root) and LEVER_API_URL.
# SIM_BIN picks the build (default: debug), SIM_NAME the log names (several simulators).
start_sim() {
  local name="${SIM_NAME:-lever-sim}"
  local log="$STACK_DIR/$name.out"
  setsid "${SIM_BIN:-$TARGET_DIR/debug/lever-sim}" serve --host 127.0.0.1 --port 0 "$@" >"$log" 2>"$STACK_DIR/$name.log" &
  STACK_PIDS+=($!)
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$log" 2>/dev/null; then break; fi
    sleep 0.1
  done
  SIM_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n 1)
  [[ -n "$SIM_URL" ]] || { echo "lever-sim did not start (see $STACK_DIR/$name.log)" >&2; return 1; }
  export SIM_URL LEVER_API_URL="$SIM_URL/v1"
  echo "lever-sim listening on $SIM_URL"
}

# Starts `cargo lambda watch` (the Lambda runtime emulator) with an env file and, optionally,
# more watch arguments (e.g. `--profile bench-run`); sets LAMBDA_PORT.
# `--ignore-changes`: source edits during a run must not restart a function mid-invocation.
start_watch() {
  LAMBDA_PORT=$(free_port)
  setsid "$VENV/bin/cargo-lambda" lambda watch -A 127.0.0.1 -P "$LAMBDA_PORT" --env-file "$1" --timeout 900 --ignore-changes "${@:2}" \
    >"$STACK_DIR/watch.log" 2>&1 &
  STACK_PIDS+=($!)
  export LAMBDA_PORT
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$LAMBDA_PORT") 2>/dev/null; then
      echo "cargo lambda watch listening on 127.0.0.1:$LAMBDA_PORT"
      return 0
    fi
    sleep 0.2
  done
  echo "cargo lambda watch did not start (see $STACK_DIR/watch.log)" >&2
  return 1
}

# Stops everything this shell started: each was started in its own process group.
stack_stop() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STACK_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  STACK_PIDS=()
}
