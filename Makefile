# lever-offers: see README.md. Every target runs on 127.0.0.1 only.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup test test-large demo bench lint fmt build package sam-setup sam-check clean

## setup: virtualenv with the pinned Python tools (moto, cargo-lambda, cfn-lint, checkov)
setup: $(STAMP)

$(STAMP): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## test: every unit and integration test against moto and in-process Lever simulators
test: setup
	scripts/test.sh

## test-large: the resumable-backfill check at full size (20,000 opportunities; several minutes)
test-large: setup
	source scripts/stack.sh && trap stack_stop EXIT && start_moto && \
	  RESUME_OPPORTUNITIES=20000 cargo test -p lever-sim --test resume -- --nocapture

## demo: full backfill of ~2,000 simulated opportunities through the Lambda runtime path
demo: setup
	scripts/demo.sh

## bench: benchmarks against lever-sim and moto (docs/benchmarks.md); fails when a floor is missed
bench: setup
	scripts/bench.sh

## lint: rustfmt, clippy (-D warnings) and the template checks (cfn-lint, checkov: offline)
lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/checkov -f infra/template.yaml --skip-download --config-file infra/.checkov.yaml

## package: release zips of both functions for Lambda (arm64, x86_64 fallback) and their sizes
package: setup
	scripts/package.sh

## sam-setup: the optional AWS SAM CLI (requirements-sam.txt) in .local/sam-venv
SAM_VENV := .local/sam-venv
sam-setup: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

## sam-check: `sam validate --lint` and `sam build` of infra/template.yaml, offline (no deploy)
sam-check: setup sam-setup
	scripts/sam-check.sh

fmt:
	cargo fmt --all

build:
	cargo build --workspace

clean:
	rm -rf .local target
