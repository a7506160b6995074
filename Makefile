# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format clean preflight gpu-check deploy-check speed-guard mutation

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0] + "; run e.g. make run PYTHON=python3.12"'
	@echo "Creating the virtual environment $(VENV) (first run only)…"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	@echo "Installing the app's requirements into $(VENV) (first run, or after requirements.txt changed: a few minutes)…"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-peers.txt requirements-dl.txt requirements-dev.txt | $(BIN)/python
	@echo "Installing the requirements for tests and development into $(VENV) (PyTorch, polars, DuckDB…: several minutes)…"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

# Streamlit reads STREAMLIT_* environment variables (e.g. STREAMLIT_SERVER_PORT=8600).
run: $(VENV)/.installed-run
	$(BIN)/python -m streamlit run app.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.installed-dev lint
	$(BIN)/python -m pytest

# Fixed workloads (profile, loads, a pipeline preset, a model fit) timed as ratios to plain pandas/scikit-learn in
# the same run; fails when one is more than 1.5× the ratio recorded in benchmarks/guard.json (benchmarks/speed_guard.py
# says how to record new ones). About a minute; its report goes to test-artifacts/speed-guard.json.
speed-guard: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.speed_guard

# CPU-only check of the GPU path: the `gpu` tier on pandas/numpy stand-ins for cuDF, CuPy and cuML, then every
# call it made, every cuML estimator's keywords and the type table checked against the real RAPIDS 26.10
# packages, imported without a GPU from their own environment (CPU users never need it).
RAPIDS_VENV ?= .rapids
PREFLIGHT_OUT ?= test-artifacts/preflight

$(RAPIDS_VENV)/.installed: tests/preflight/requirements.txt
	$(PYTHON) -m venv $(RAPIDS_VENV)
	$(RAPIDS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RAPIDS_VENV)/bin/python -m pip install --quiet -r tests/preflight/requirements.txt
	@touch $@

# The stand-in tier and benchmarks run as a rehearsal of `make gpu-check`, each step recording its calls.
preflight: $(VENV)/.installed-dev $(RAPIDS_VENV)/.installed
	rm -rf $(PREFLIGHT_OUT)
	PYTHON=$(BIN)/python OUT_DIR=$(PREFLIGHT_OUT) STANDIN=1 QUICK=1 bash benchmarks/gpu_check.sh
	@sed -n '/^pre-flight stand-in tier/,/^calls written/p' $(PREFLIGHT_OUT)/gpu-tests.log
	RAPIDS_NO_INITIALIZE=1 $(RAPIDS_VENV)/bin/python tests/preflight/check_rapids.py $(PREFLIGHT_OUT)/calls-*.json

# On a GPU machine whose Python has RAPIDS (no venv: such machines reach no registry), e.g.
#   make gpu-check PYTHON=python3 OUT_DIR=/tmp/gpu-check
# Rehearsal without a GPU: make gpu-check PYTHON=.venv/bin/python STANDIN=1 QUICK=1 OUT_DIR=/tmp/rehearsal
OUT_DIR ?= test-artifacts/gpu-check
gpu-check:
	PYTHON=$(PYTHON) OUT_DIR=$(OUT_DIR) STANDIN=$(STANDIN) QUICK=$(QUICK) bash benchmarks/gpu_check.sh

# The container as docs/deploy.md runs it, checked here (as root, with Debian's podman, buildah, runc, debootstrap and
# chromium): the Dockerfile built on a Debian stand-in for the RAPIDS base, then run and driven (tests/deploy).
# podman's storage, with the cached stand-in base and image layers, is kept in DEPLOY_STATE.
DEPLOY_STATE ?= $(HOME)/.cache/gpu-pipeline-lab/deploy-check
deploy-check: $(VENV)/.installed-dev
	GPL_DEPLOY_STATE=$(DEPLOY_STATE) $(BIN)/python -m pytest tests/deploy -m deploy -v -s -p no:cacheprovider \
	  --timeout=1500

# Mutation testing of the core modules (settings in pyproject.toml's [tool.mutmut]): every mutant run against the fast
# unit tests that reach its function, then the score and each survivor checked against tests/mutation/accounted/
# (fails under 80 % or on a survivor not listed there). Not part of make test; mutmut's log goes to
# test-artifacts/mutmut.log, the figures to test-artifacts/mutation.json. Each test run is forked from mutmut's process:
# one thread per BLAS/OpenMP pool, since a pool's threads do not survive a fork and its next use would hang.
$(VENV)/.installed-mutation: requirements-mutation.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-mutation.txt
	@touch $@

mutation: $(VENV)/.installed-dev $(VENV)/.installed-mutation
	rm -rf mutants
	@mkdir -p test-artifacts
	@echo "mutmut: about 25 minutes on 2 cores; progress: tail -c 300 test-artifacts/mutmut.log"
	@start=$$(date +%s); \
	  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2 > test-artifacts/mutmut.log 2>&1 || { tail -c 3000 test-artifacts/mutmut.log; exit 1; }; \
	  $(BIN)/python -m tests.mutation.score --seconds $$(( $$(date +%s) - start ))

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(RAPIDS_VENV) .pytest_cache .ruff_cache test-artifacts mutants
