# `make test`  — create .venv if missing, install the project with its test extra, run the suite.
# `make bench` — same environment, then `framework bench` (the benchmark report against PyTorch/NumPy).
# `make bench-targets` — the CPU speed targets vs PyTorch CPU (bench/cpu_targets.py; exits 1 on a miss).
# `make test-compat` — the GPU test machines' Triton (3.6.0, with NumPy >= 2.4) in a second venv
#   without torch: the compile check (sm_90/sm_80, spills, SASS) and the torch-free interpreter
#   tests. Not part of `make test` (a few minutes more).
#
# torch is the test oracle only. `torch==2.13.0` is installed explicitly first: on the project's
# machines pip finds that CPU build on local disk, and the test extra's looser `torch>=2.4`
# is then already satisfied (a bare `torch` requirement would pull a multi-GB CUDA build).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.framework-installed
TORCH_PIN ?= torch==2.13.0
# Two pytest-xdist workers; --dist loadgroup keeps each xdist_group (e.g. the compile
# check, which shares one compiler subprocess) on one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup -q
BENCH_ARGS ?=
TARGET_ARGS ?=

COMPAT_VENV ?= .venv36
COMPAT_PY := $(COMPAT_VENV)/bin/python
COMPAT_STAMP := $(COMPAT_VENV)/.compat-installed
COMPAT_PINS ?= triton==3.6.0 "numpy>=2.4" ml_dtypes rich safetensors pytest
COMPAT_TESTS ?= tests/test_compile.py tests/autotune tests/test_cli.py tests/test_gpu_check.py

.PHONY: test test-compat bench bench-targets venv docs clean-venv

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_PIN)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

# One BLAS/OpenMP thread per test worker: two xdist workers already fill two cores, and
# oversubscribed OpenBLAS threads made matmuls up to 100x slower on a busy machine.
test: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_ARGS)

$(COMPAT_STAMP):
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_PY) -m pip install --quiet --disable-pip-version-check $(COMPAT_PINS)
	touch $(COMPAT_STAMP)

# Runs from the source tree (PYTHONPATH), so nothing is installed into the compat venv.
test-compat: $(COMPAT_STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$(CURDIR) $(COMPAT_PY) -m pytest -q \
		-p no:cacheprovider $(COMPAT_TESTS)

bench: $(STAMP)
	$(VENV)/bin/framework bench $(BENCH_ARGS)

bench-targets: $(STAMP)
	$(PY) bench/cpu_targets.py $(TARGET_ARGS)

# Regenerate the op coverage table checked by tests/test_registry.py and the PyTorch
# compatibility page checked by tests/test_compat_page.py (--record: torch's names from the
# installed torch, TORCH_PIN, into docs/compat_torch_names.json).
docs: $(STAMP)
	$(PY) -W ignore::RuntimeWarning -m framework.ops.registry > docs/ops.md
	PYTHONPATH=. $(PY) docs/compat_report.py --record > docs/compat.md

clean-venv:
	rm -rf $(VENV)
