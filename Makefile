# lever-offers: see README.md. Every target runs on 127.0.0.1 only.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup test demo lint fmt build package clean

## setup: virtualenv with the pinned Python tools (moto, cargo-lambda, cfn-lint, checkov)
setup: $(STAMP)

$(STAMP): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## test: every unit and integration test against moto and in-process Lever simulators
test: setup
	scripts/test.sh

## demo: full backfill of ~2,000 simulated opportunities through the Lambda runtime path
demo: setup
	scripts/demo.sh

## lint: rustfmt, clippy (-D warnings) and the template checks
lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint infra/template.yaml

fmt:
	cargo fmt --all

build:
	cargo build --workspace

clean:
	rm -rf .local target
