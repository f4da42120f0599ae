#!/usr/bin/env bash
# `make sam-check`: the optional SAM CLI's checks of infra/template.yaml, offline, never a deploy.
#   sam validate --lint   cfn-lint as SAM runs it
#   sam build             cargo-lambda per function (BuildMethod rust-cargolambda, no Docker)
# Telemetry is off, and the AWS endpoint points at a closed local port with dummy credentials,
# so no command here can reach an AWS account.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(pwd)/.venv/bin:$PATH" # cargo-lambda and zig for the rust-cargolambda builder
SAM="$(pwd)/.local/sam-venv/bin/sam"

export SAM_CLI_TELEMETRY=0 SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
export AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline

echo "== sam validate --lint =="
"$SAM" validate --lint --template infra/template.yaml

echo "== sam build =="
"$SAM" build --template infra/template.yaml --build-dir .local/sam-build --beta-features
ls -l .local/sam-build/*/bootstrap
