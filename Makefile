# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv (Python >= 3.11) and installs the project into it when missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	# Compile the common numba kernels into their on-disk cache once, at install, so
	# the first fit (and the demo's first run) loads them instead of compiling.
	$(BIN)/centroids warmup
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The store tests also run against PostgreSQL and the report test in headless Chromium:
# .ci/test-services.sh starts (and as root installs) them and exports where they are.
test: lint
	eval "$$(.ci/test-services.sh)" && $(BIN)/python -m pytest

# The torch backend's tests (tests/test_torch*.py) skip without torch, which is not in
# `dev`. This installs torch 2.13.0 (on the project's machines pip takes the CPU build
# that lies on disk; elsewhere `pip install torch==2.13.0` may fetch a CUDA build of
# several GB) and runs them; CUDA tests skip without a CUDA device.
.PHONY: test-gpu
GPU_STAMP := $(VENV)/.installed-gpu
$(GPU_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	touch $(GPU_STAMP)

test-gpu: $(GPU_STAMP)
	$(BIN)/python -m pytest tests/test_torch_backend.py tests/test_torch_missing.py -q

# The benchmark suite also needs the `bench` extra (faiss-cpu); its own stamp keeps
# `make test` / `make demo` on the plain `dev` install.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/suite.py
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/missing.py
	$(BIN)/python benchmarks/dask_bench.py
	$(BIN)/python benchmarks/choose_k_speed.py
	$(BIN)/python benchmarks/onnx_speed.py
	$(BIN)/python benchmarks/constrained.py --rows 10000 100000
	$(BIN)/python benchmarks/small_fits.py --large
	$(BIN)/python benchmarks/grid.py --markdown benchmarks/grid.md --json benchmarks/grid.json

# The documentation site (user guide + API reference from the docstrings) into site/;
# `$(BIN)/mkdocs serve` shows it while editing. The dev install has the builder.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site
