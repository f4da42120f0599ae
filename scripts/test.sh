#!/usr/bin/env bash
# `make test`: starts moto on 127.0.0.1, runs every test of the workspace, stops moto.
# The integration tests start their own Lever simulators in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack.sh
trap stack_stop EXIT

start_moto
cargo test --workspace --all-targets "$@"
