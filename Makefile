# karta-conformance — developer entry points. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KUBERAY_VERSION ?=
CLUSTER ?= auto
DEFINITIONS ?= definitions/
UPSTREAM ?= definitions/upstream/
ARTIFACTS ?= artifacts
KIND_IMAGE ?=
# A local KubeRay chart folder or archive for the kind backend ({version} = the KubeRay version;
# default: $KARTA_CONFORMANCE_CHART, else the Helm repository).
CHART ?=
# kind: keep the cluster afterwards (KEEP_CLUSTER=1); existing: the cluster's kubeconfig (KUBECONFIG=PATH).
KEEP_CLUSTER ?=
PYTEST_ARGS ?=
# Live scenarios side by side, each in its own namespace (PARALLEL=1: one at a time; default: the
# backend's, kind 3, local 2, existing 1): `check --parallel` and pytest's `--parallel`.
PARALLEL ?=
# The live tests' backends in `make test`, comma-separated. The first runs the whole suite (unit,
# static, live) into artifacts/junit.xml; each further one runs the live tests only, into
# artifacts/<backend>/ and artifacts/junit-<backend>.xml. Without a Docker engine the kind leg is
# left out with one line saying so (REQUIRE_ALL_LEGS=1, as .ci/run sets, fails instead).
TEST_CLUSTER ?= local,kind
REQUIRE_ALL_LEGS ?=
KC := $(BIN)/karta-conformance
# Karta's source folder for the oracle when the Go module proxy does not serve the pinned Karta (no
# default: the harness reads no folder a user did not name).
KARTA_SOURCE ?=
ifneq ($(KARTA_SOURCE),)
export KARTA_SOURCE
endif
# What a caller may set reaches the shell only as environment variables, always double-quoted
# ("$$DEFINITIONS"), never spliced into a recipe's text, and make tests them with $(value ...):
# a value cannot inject shell syntax. Given in the environment (as CI does), a value is not even
# expanded by make, so `$(shell ...)` in it stays text.
# local: the KubeRay operator's --batch-scheduler for the whole run (BATCH_SCHEDULER=volcano).
BATCH_SCHEDULER ?=
export DEFINITIONS UPSTREAM ARTIFACTS KUBERAY_VERSION KIND_IMAGE CHART FEATURES KEEP_CLUSTER KUBECONFIG CLUSTER TEST_CLUSTER PARALLEL BATCH_SCHEDULER REQUIRE_ALL_LEGS

.DEFAULT_GOAL := help
.PHONY: help venv tools actionlint test lint typecheck unit static live conformance check-static check-replay oracle cluster-up cluster-down cluster-status bench-static bench-local bench-live clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/karta-conformance: pyproject.toml
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip
	@$(BIN)/pip install -qq -e '.[dev]'
	@touch $@

venv: $(BIN)/karta-conformance ## create .venv with the project (editable) and dev tools

tools: venv ## build the pinned kind, helm, actionlint and crane from their Go modules (into the cache)
	$(KC) tools install

actionlint: venv ## lint .github/workflows (actionlint built from its Go module on first use)
	$(KC) tools run actionlint

lint: venv actionlint ## ruff and actionlint
	$(BIN)/ruff check conformance scripts
	$(BIN)/ruff format --check conformance scripts

typecheck: venv ## mypy (strict)
	$(BIN)/mypy

test: lint typecheck ## what CI runs: ruff, actionlint, mypy, the whole pytest suite on local, the live tests on kind (TEST_CLUSTER)
	@status=0; first=1; for backend in $$(printf %s "$$TEST_CLUSTER" | tr , " "); do \
	  if [ $$backend = kind ] && ! docker info >/dev/null 2>&1; then \
	    if [ -n "$$REQUIRE_ALL_LEGS" ]; then echo "== make test: no Docker engine answers (docker info): the kind leg cannot run, and REQUIRE_ALL_LEGS asks for every leg"; status=1; \
	    else echo "== make test: no Docker engine answers (docker info): the kind leg is left out; start Docker to run it"; fi; \
	    continue; \
	  fi; \
	  if [ $$first = 1 ]; then \
	    echo "== make test: the whole suite, live tests on $$backend"; \
	    $(BIN)/pytest conformance/tests --junitxml=artifacts/junit.xml --cluster "$$backend" $(if $(value PARALLEL),--parallel "$$PARALLEL") $(PYTEST_ARGS); \
	  else \
	    echo "== make test: the live tests on $$backend"; \
	    $(BIN)/pytest conformance/tests -m live --cluster "$$backend" --artifacts "artifacts/$$backend" \
	      --junitxml="artifacts/junit-$$backend.xml" $(if $(value PARALLEL),--parallel "$$PARALLEL") $(PYTEST_ARGS); \
	  fi; \
	  code=$$?; [ $$status -ne 0 ] || status=$$code; first=0; \
	done; exit $$status

unit: venv ## pure tests, no cluster
	$(BIN)/pytest -m "unit or static" $(PYTEST_ARGS)

live: venv ## the live tests only (backend auto: kind if Docker answers, else local)
	$(BIN)/pytest -m live $(if $(value PARALLEL),--parallel "$$PARALLEL") $(PYTEST_ARGS)

conformance: venv ## the main job: static and live conformance of $(DEFINITIONS) (+ upstream's kartas, reported, not gated), reports in $(ARTIFACTS)/
	@echo "== karta-conformance: definitions $$DEFINITIONS, backend $$CLUSTER$(if $(value KUBERAY_VERSION), and KubeRay $$KUBERAY_VERSION,), reports in $$ARTIFACTS/"
	$(if $(filter kind,$(value CLUSTER)),$(if $(shell command -v go),$(KC) tools install kind helm,@echo "== no Go toolchain: using kind and helm from PATH"))
	$(KC) check --static "$$DEFINITIONS" $(if $(value UPSTREAM),--ungated "$$UPSTREAM") $(if $(value KUBERAY_VERSION),--kuberay-version "$$KUBERAY_VERSION") \
		--json "$$ARTIFACTS/static-report.json" --junit "$$ARTIFACTS/static-junit.xml" --markdown "$$ARTIFACTS/static-summary.md"
	$(KC) check --live "$$DEFINITIONS" $(if $(value UPSTREAM),--ungated "$$UPSTREAM") --cluster "$$CLUSTER" $(if $(value KUBERAY_VERSION),--kuberay-version "$$KUBERAY_VERSION") \
		$(if $(value KIND_IMAGE),--kind-image "$$KIND_IMAGE") $(if $(value CHART),--chart "$$CHART") $(if $(value FEATURES),--features "$$FEATURES") $(if $(value BATCH_SCHEDULER),--batch-scheduler "$$BATCH_SCHEDULER") $(if $(value KEEP_CLUSTER),--keep-cluster) \
		$(if $(value PARALLEL),--parallel "$$PARALLEL") $(if $(filter existing,$(value CLUSTER)),--kubeconfig "$$KUBECONFIG") --artifacts "$$ARTIFACTS" \
		--json "$$ARTIFACTS/live-report.json" --junit "$$ARTIFACTS/live-junit.xml" --markdown "$$ARTIFACTS/live-summary.md"

images: venv ## the kind backend's offline images (Debian rootfs, kind node, KubeRay operator, Ray), cached by inputs
	$(KC) images build $(if $(value KUBERAY_VERSION),--kuberay-version "$$KUBERAY_VERSION")

check-static: venv ## karta-conformance check --static $(DEFINITIONS) (+ upstream's kartas, reported, not gated)
	$(KC) check --static "$$DEFINITIONS" $(if $(value UPSTREAM),--ungated "$$UPSTREAM") $(if $(value KUBERAY_VERSION),--kuberay-version "$$KUBERAY_VERSION")

check-replay: venv ## karta-conformance check --replay $(DEFINITIONS) on the recorded corpus of every pinned KubeRay (or $(KUBERAY_VERSION)), no cluster
	$(KC) check --replay "$$DEFINITIONS" $(if $(value UPSTREAM),--ungated "$$UPSTREAM") --kuberay-version "$${KUBERAY_VERSION:-all}"

oracle: venv ## Karta's own Go packages read the fixtures and $(ARTIFACTS)/snapshots; any disagreement with the harness fails
	$(KC) check --static "$$DEFINITIONS" --oracle karta
	$(KC) check --snapshots "$$ARTIFACTS/snapshots" "$$DEFINITIONS" --oracle karta

cluster-up: venv ## start the local backend (builds on first use)
	$(BIN)/karta-conformance cluster up --provider local $(if $(value KUBERAY_VERSION),--kuberay-version "$$KUBERAY_VERSION")

cluster-down: venv ## stop the local backend
	$(BIN)/karta-conformance cluster down --provider local

cluster-status: venv ## what the local backend runs
	$(BIN)/karta-conformance cluster status --provider local

bench-static: venv ## time the static check of every definition
	$(BIN)/python scripts/bench-static

bench-local: venv ## time the local backend: builds, warm up, down, peak RSS
	$(BIN)/python scripts/bench-local

bench-live: venv ## time the whole live suite and the cost of one more definition
	$(BIN)/python scripts/bench-live

clean: ## remove the venv and build droppings (not the cache)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
