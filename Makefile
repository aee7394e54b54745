# The project's vocabulary. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make
LAYER := build/lambda-layer/python
WHEELHOUSE := processing/wheelhouse
SYSTEM_PACKAGES := libmagic1 espeak-ng sox ffmpeg tesseract-ocr
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUNTIME_PROVIDED := --no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer \
	--no-emit-package jmespath --no-emit-package urllib3 --no-emit-package python-dateutil --no-emit-package six

.PHONY: help dev demo test test-fast lint synth nag-report deploy lock layer schemas clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP)/system:
	@mkdir -p $(STAMP)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/python: requirements.lock pyproject.toml | $(STAMP)/system
	@mkdir -p $(STAMP)
	python3 -m pip install -q --disable-pip-version-check uv==0.13.8
	python3 -m uv venv -q --allow-existing --python python3.11 $(VENV)
	python3 -m uv pip sync -q --python $(VENV)/bin/python requirements.lock
	python3 -m uv pip install -q --python $(VENV)/bin/python -e . --no-deps
	@touch $@

$(STAMP)/node: package.json package-lock.json
	@mkdir -p $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

CONTRACTS := contracts/pyproject.toml $(shell find contracts/pipeline_contracts -name '*.py')
CONTRACTS_WHEEL := build/contracts/pipeline_contracts-1.0.0-py3-none-any.whl

# The contracts package, as the one wheel both the Lambda layer and the alignment job install.
$(CONTRACTS_WHEEL): $(CONTRACTS) | $(STAMP)/python
	rm -rf build/contracts contracts/build
	python3 -m uv build -q --wheel --out-dir build/contracts contracts
	rm -rf contracts/build contracts/*.egg-info

$(LAYER): lambda-requirements.txt $(CONTRACTS_WHEEL) | $(STAMP)/python
	rm -rf build/lambda-layer
	python3 -m uv pip install -q --target $(LAYER) --python-platform x86_64-manylinux_2_28 \
		--python-version 3.14 --only-binary :all: --no-deps -r lambda-requirements.txt $(CONTRACTS_WHEEL)
	@touch $@

# Wheels for the alignment job's image (Python 3.12, x86_64); shipped in its code asset.
$(WHEELHOUSE)/.downloaded: processing/requirements.txt
	rm -rf $(WHEELHOUSE)
	python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
		--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --implementation cp \
		--python-version 3.12 -r <(grep -v '^pipeline-contracts' processing/requirements.txt) \
		-d $(WHEELHOUSE)
	@touch $@

# The contracts wheel joins the downloaded ones (it is on no index, and must never be fetched).
$(WHEELHOUSE)/.complete: $(WHEELHOUSE)/.downloaded $(CONTRACTS_WHEEL)
	cp $(CONTRACTS_WHEEL) $(WHEELHOUSE)/
	@touch $@

dev: $(STAMP)/python $(STAMP)/node $(LAYER) $(WHEELHOUSE)/.complete ## Set up everything (system packages, venv, node tools, Lambda layer, job wheels)

layer: $(LAYER) ## Build the Lambda dependency layer for the Lambda platform

demo: dev ## Run the local mode on the bundled samples
	$(VENV)/bin/mmpipe local run samples/demo --out local-out

test: dev ## Lint, type-check and run every test (slow ones included)
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -n 2 --dist loadfile

test-fast: dev ## The tests without the slow ones (real speech recognition, long media)
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not slow"

lint: dev ## ruff (check and format) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lambdas/pipeline contracts stacks processing mmpipe app.py

synth: dev ## Synthesize with cdk-nag, then cfn-lint and asl-validator on the output
	npx cdk synth --quiet
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- cdk.out/MultimodalPipeline.template.json
	$(PY) -m mmpipe.local.template cdk.out > build/pipeline.asl.json
	npx asl-validator --json-path build/pipeline.asl.json

deploy: dev ## Deploy to the AWS account in your environment (see README)
	npx cdk deploy --require-approval broadening

lock: ## Re-resolve the pinned dependencies
	python3 -m uv pip compile requirements.in -o requirements.lock --python-version 3.11
	python3 -m uv pip compile lambda-requirements.in -o lambda-requirements.txt --python-version 3.14 \
		--python-platform x86_64-manylinux_2_28 $(RUNTIME_PROVIDED)

schemas: dev ## Export the JSON Schemas of the manifest and the published records
	$(PY) -m pipeline_contracts.published docs/schemas

clean: ## Remove generated files (keeps the venv)
	rm -rf cdk.out build local-out .pytest_cache .mypy_cache .ruff_cache
