#!/usr/bin/env bash
# The ONE GPU check of the project (see shared/GPU.md), run from the source tree on a GPU
# machine that cannot install anything:
#
#     OUT=/some/folder bash bench/gpu_check.sh
#
# Phases, each with its own time limit, all within TOTAL_BUDGET seconds (default 450, under
# the 8 minutes a GPU call may take):
#   versions  GPU, driver, Python, Triton, torch, numpy versions and `framework info`;
#   smoke     one tiny cuda computation (if even this fails, its error is the whole story);
#   reliability  stream policy, worker threads, device-side index checks (bench/gpu_reliability_check.py);
#   dispatch  one small op's time: framework layers against Triton's own launch (bench/gpu_dispatch_profile.py);
#   tests     the suite's cuda tests on the GPU (FRAMEWORK_TRITON_INTERPRET=0, compiled
#             kernels), TEST_SHARDS pytest processes side by side, dealt whole test files
#             (tests/conftest.py), sharing one Triton kernel cache (TRITON_CACHE_DIR);
#   autotune  `framework autotune --quick` into a cache under $OUT, then again (must be warm);
#   bench     `framework bench --device cuda --quick` against torch on the same card.
# Logs and JSON go under $OUT; after every phase bench/gpu_check_summary.py rewrites
# $OUT/summary.txt and summary.json, so a run killed from outside still leaves a summary of
# the phases it finished. The summary is printed last.
#
# Rehearsal on a CPU machine (interpreter, a few test files, a small simulated budget):
#     FRAMEWORK_TRITON_INTERPRET=1 PYTEST_TARGETS="tests/test_cli.py tests/ops/test_scan.py" \
#         TEST_SHARDS=2 TOTAL_BUDGET=150 TEST_TIMEOUT=45 BENCH_ARGS="--device cpu --quick --ops matmul" \
#         OUT=/tmp/gpu_check bash bench/gpu_check.sh
# (docs/benchmarks.md shows what that printed.)
set -uo pipefail

cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export FRAMEWORK_TRITON_INTERPRET="${FRAMEWORK_TRITON_INTERPRET:-0}"
TOTAL_BUDGET="${TOTAL_BUDGET:-450}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-60}"
RELIABILITY_TIMEOUT="${RELIABILITY_TIMEOUT:-60}"
TEST_TIMEOUT="${TEST_TIMEOUT:-240}"
AUTOTUNE_TIMEOUT="${AUTOTUNE_TIMEOUT:-60}"   # each of the two runs
AUTOTUNE_BUDGET="${AUTOTUNE_BUDGET:-40}"     # framework autotune --budget (seconds of tuning)
BENCH_TIMEOUT="${BENCH_TIMEOUT:-80}"
TEST_SHARDS="${TEST_SHARDS:-12}"  # of 16 cores: compiling is single-threaded per process
PYTEST_TARGETS="${PYTEST_TARGETS:-tests}"
BENCH_ARGS="${BENCH_ARGS:---device cuda --quick}"
# Under the interpreter (a rehearsal) autotune exercises its flow with --dry-run.
AUTOTUNE_ARGS="${AUTOTUNE_ARGS:---quick --dtypes bf16}"
if [[ "$FRAMEWORK_TRITON_INTERPRET" != "0" ]]; then AUTOTUNE_ARGS="$AUTOTUNE_ARGS --dry-run"; fi
RESERVE=10  # seconds kept for the last summary
# One compiled-kernel cache for every process of the run (shards, subprocesses, autotune,
# bench): a kernel compiled by one is loaded by the others. A fresh writable folder unless
# the caller gives one.
export TRITON_CACHE_DIR="${TRITON_CACHE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/framework-triton-cache.XXXXXX")}"
export FRAMEWORK_CACHE_DIR="$OUT/tests-autotune-cache"  # the autotune phase gets a fresh one
: >"$OUT/phases.tsv"

# Seconds a phase may run: its own limit, cut to what is left of the total budget.
budget() {
    local left=$((TOTAL_BUDGET - SECONDS - RESERVE))
    if ((left < 5)); then left=5; fi
    if (($1 < left)); then echo "$1"; else echo "$left"; fi
}

# phase_done NAME RC STARTED LIMIT: record a phase (rc 124/137: timed out) and refresh the summary.
phase_done() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$((SECONDS - $3))" "$4" >>"$OUT/phases.tsv"
    OUT="$OUT" "$PYTHON" bench/gpu_check_summary.py --quiet >/dev/null 2>&1
}

header() { echo; echo "=== $* ($(date -u +%H:%M:%S), ${SECONDS}s in) ==="; }

# versions ----------------------------------------------------------------------------------
header "versions"
started=$SECONDS
limit=$(budget 30)
{
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    else
        echo "nvidia-smi: not found"
    fi
    timeout "$limit" "$PYTHON" - <<'EOF'
import os
import platform
from importlib import metadata
print("python", platform.python_version(), "nproc", os.cpu_count())
for dist in ("triton", "torch", "numpy", "cuda-bindings", "rich", "ml_dtypes", "pytest", "hypothesis"):
    try:
        print(dist, metadata.version(dist))
    except metadata.PackageNotFoundError:
        print(dist, "not installed")
EOF
    echo "TRITON_CACHE_DIR $TRITON_CACHE_DIR"
    timeout "$limit" "$PYTHON" -m framework info
} >"$OUT/versions.log" 2>&1
rc=$?
cat "$OUT/versions.log"
phase_done versions "$rc" "$started" "$limit"

# smoke: the first contact ------------------------------------------------------------------
header "smoke"
started=$SECONDS
limit=$(budget "$SMOKE_TIMEOUT")
timeout "$limit" "$PYTHON" - >"$OUT/smoke.log" 2>&1 <<'EOF'
import time
import numpy as np
import framework
started = time.perf_counter()
x = framework.arange(12, dtype=framework.float32, device="cuda").reshape(3, 4)
y = (x * 2 + 1).sum(1)
framework.cuda.synchronize()
expected = (np.arange(12, dtype=np.float32).reshape(3, 4) * 2 + 1).sum(1)
assert np.allclose(y.cpu().numpy(), expected), (y.cpu().numpy(), expected)
print(f"smoke ok on {framework.cuda.get_device_name()}: {y.cpu().numpy().tolist()} "
      f"({time.perf_counter() - started:.1f} s including compiles)")
EOF
rc=$?
cat "$OUT/smoke.log"
phase_done smoke "$rc" "$started" "$limit"

# reliability: stream policy, worker threads, device-side index checks, sync-free step -------
header "reliability"
started=$SECONDS
limit=$(budget "$RELIABILITY_TIMEOUT")
timeout "$limit" "$PYTHON" bench/gpu_reliability_check.py >"$OUT/reliability.log" 2>&1
rc=$?
cat "$OUT/reliability.log"
phase_done reliability "$rc" "$started" "$limit"

# dispatch: where one small op's time goes (framework layers against Triton's launch) ----------
header "dispatch"
started=$SECONDS
limit=$(budget 20)
timeout "$limit" "$PYTHON" bench/gpu_dispatch_profile.py >"$OUT/dispatch.log" 2>&1
rc=$?
cat "$OUT/dispatch.log"
phase_done dispatch "$rc" "$started" "$limit"

# tests on the GPU --------------------------------------------------------------------------
# Only the cuda side (FRAMEWORK_TEST_DEVICE=cuda drops the tests parametrized on cpu: CI
# runs those). SIGINT first, so each pytest stops cleanly and still writes its JUnit report.
header "tests: FRAMEWORK_TRITON_INTERPRET=$FRAMEWORK_TRITON_INTERPRET pytest $PYTEST_TARGETS in $TEST_SHARDS shards"
started=$SECONDS
limit=$(budget "$TEST_TIMEOUT")
sampler=""
if command -v nvidia-smi >/dev/null 2>&1 && [[ "$FRAMEWORK_TRITON_INTERPRET" == "0" ]]; then
    nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits -lms 1000 \
        >"$OUT/gpu-memory.csv" 2>/dev/null &
    sampler=$!
fi
pids=()
for ((shard = 0; shard < TEST_SHARDS; shard++)); do
    count=""  # under the interpreter nothing compiles: count what a GPU would compile instead
    if [[ "$FRAMEWORK_TRITON_INTERPRET" != "0" ]]; then count="$OUT/specializations-$shard.json"; fi
    # shellcheck disable=SC2086
    env FRAMEWORK_TEST_SHARD="$shard/$TEST_SHARDS" FRAMEWORK_TEST_DEVICE=cuda \
        FRAMEWORK_TEST_STATS="$OUT/test-stats-$shard.json" FRAMEWORK_COUNT_SPECIALIZATIONS="$count" \
        timeout --signal=INT --kill-after=15 "$limit" \
        "$PYTHON" -m pytest $PYTEST_TARGETS -q -p no:cacheprovider --durations=5 \
        --junitxml="$OUT/tests-$shard.xml" >"$OUT/tests-$shard.log" 2>&1 &
    pids+=("$!")
done
TEST_RC=0
for pid in "${pids[@]}"; do
    wait "$pid"
    rc=$?
    # the worst status: a timeout (124/137) over a failure (1) over success; 5 = no tests
    if ((rc == 124 || rc == 137)) || ((rc != 0 && rc != 5 && TEST_RC == 0)); then TEST_RC=$rc; fi
done
if [[ -n "$sampler" ]]; then kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null; fi
cat "$OUT"/tests-*.log >"$OUT/tests.log"
"$PYTHON" bench/gpu_check_summary.py --merge-junit "$OUT" "$TEST_SHARDS"
grep -hE "[0-9]+ (passed|failed|deselected)" "$OUT"/tests-*.log
echo "pytest exit status (worst shard): $TEST_RC; Triton cache: $(du -sh "$TRITON_CACHE_DIR" 2>/dev/null | cut -f1)"
phase_done tests "$TEST_RC" "$started" "$limit"

# autotune, twice (the second run must find the cache warm) --------------------------------
header "autotune"
export FRAMEWORK_CACHE_DIR="$OUT/autotune-cache"
started=$SECONDS
limit=$(budget "$AUTOTUNE_TIMEOUT")
# shellcheck disable=SC2086
timeout "$limit" "$PYTHON" -m framework autotune $AUTOTUNE_ARGS --budget "$AUTOTUNE_BUDGET" \
    >"$OUT/autotune-1.log" 2>&1
rc=$?
cat "$OUT/autotune-1.log"
phase_done autotune-1 "$rc" "$started" "$limit"
if ((rc == 0)); then
    started=$SECONDS
    limit=$(budget "$AUTOTUNE_TIMEOUT")
    # shellcheck disable=SC2086
    timeout "$limit" "$PYTHON" -m framework autotune $AUTOTUNE_ARGS --budget "$AUTOTUNE_BUDGET" \
        >"$OUT/autotune-2.log" 2>&1
    rc=$?
    cat "$OUT/autotune-2.log"
    phase_done autotune-2 "$rc" "$started" "$limit"
fi

# benchmark against torch on the same card --------------------------------------------------
header "bench"
started=$SECONDS
limit=$(budget "$BENCH_TIMEOUT")
# shellcheck disable=SC2086
COLUMNS=120 timeout "$limit" "$PYTHON" -m framework bench --json "$OUT/bench.json" $BENCH_ARGS \
    >"$OUT/bench.log" 2>&1
BENCH_RC=$?
cat "$OUT/bench.log"
phase_done bench "$BENCH_RC" "$started" "$limit"

# summary (last) ----------------------------------------------------------------------------
header "summary"
du -sh "$TRITON_CACHE_DIR" >"$OUT/triton-cache-size.txt" 2>/dev/null
OUT="$OUT" "$PYTHON" bench/gpu_check_summary.py
echo "total ${SECONDS}s of a ${TOTAL_BUDGET}s budget; logs and JSON in $OUT"
if ((TEST_RC != 0 || BENCH_RC != 0)); then exit 1; fi
