#!/usr/bin/env bash
# The ONE GPU check of the project (see shared/GPU.md), run from the source tree on a GPU
# machine that cannot install anything:
#
#     OUT=/some/folder bash bench/gpu_check.sh
#
# 1. prints GPU, driver, Triton, torch and numpy versions (and `framework info`);
# 2. runs the test suite on the real GPU (FRAMEWORK_TRITON_INTERPRET=0, compiled kernels);
# 3. runs `framework autotune --quick` twice into a cache under $OUT (the second run must
#    tune nothing);
# 4. runs `framework bench` (reference: torch on the same card);
# 5. writes logs and JSON under $OUT and prints a summary table last.
#
# Every step has a timeout and the whole script keeps within TOTAL_BUDGET seconds (default
# 460, under the 8 minutes a GPU call may take). Dry run on a CPU machine with the
# interpreter and a few tests:
#     FRAMEWORK_TRITON_INTERPRET=1 PYTEST_TARGETS=tests/test_cli.py BENCH_ARGS=--quick \
#         OUT=/tmp/gpu_check bash bench/gpu_check.sh
set -uo pipefail

cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export FRAMEWORK_TRITON_INTERPRET="${FRAMEWORK_TRITON_INTERPRET:-0}"
TOTAL_BUDGET="${TOTAL_BUDGET:-460}"
TEST_TIMEOUT="${TEST_TIMEOUT:-250}"
AUTOTUNE_TIMEOUT="${AUTOTUNE_TIMEOUT:-150}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-100}"
PYTEST_TARGETS="${PYTEST_TARGETS:-tests}"
BENCH_ARGS="${BENCH_ARGS:-}"
RESERVE=15  # seconds kept for the summary

# Seconds step may run: its own timeout, cut to what is left of the total budget.
budget() {
    local left=$((TOTAL_BUDGET - SECONDS - RESERVE))
    if (( left < 5 )); then left=5; fi
    if (( $1 < left )); then echo "$1"; else echo "$left"; fi
}

step() { echo; echo "=== $* ($(date -u +%H:%M:%S), ${SECONDS}s in) ==="; }

# 1. versions ---------------------------------------------------------------------------
step "versions"
{
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    else
        echo "nvidia-smi: not found"
    fi
    "$PYTHON" - <<'EOF'
import platform
from importlib import metadata
print("python", platform.python_version())
for dist in ("triton", "torch", "numpy", "cuda-bindings", "rich", "ml_dtypes", "pytest", "hypothesis"):
    try:
        print(dist, metadata.version(dist))
    except metadata.PackageNotFoundError:
        print(dist, "not installed")
EOF
    timeout "$(budget 60)" "$PYTHON" -m framework info
} 2>&1 | tee "$OUT/versions.log"

# 2. test suite on the GPU ----------------------------------------------------------------
# TEST_SHARDS pytest processes run side by side (FRAMEWORK_TEST_SHARD=i/n, see
# tests/conftest.py): compiling the kernels is what takes the time, and it is single-threaded
# per process. SIGINT first so each pytest stops cleanly and still writes its report.
TEST_SHARDS="${TEST_SHARDS:-8}"
step "tests: FRAMEWORK_TRITON_INTERPRET=$FRAMEWORK_TRITON_INTERPRET pytest $PYTEST_TARGETS in $TEST_SHARDS shards"
TEST_LIMIT="$(budget "$TEST_TIMEOUT")"
pids=()
for ((shard = 0; shard < TEST_SHARDS; shard++)); do
    # shellcheck disable=SC2086
    FRAMEWORK_TEST_SHARD="$shard/$TEST_SHARDS" timeout --signal=INT --kill-after=20 "$TEST_LIMIT" \
        "$PYTHON" -m pytest $PYTEST_TARGETS -q -p no:cacheprovider --durations=5 \
        --junitxml="$OUT/tests-$shard.xml" >"$OUT/tests-$shard.log" 2>&1 &
    pids+=("$!")
done
TEST_RC=0
for pid in "${pids[@]}"; do
    wait "$pid"
    rc=$?
    if (( rc != 0 && TEST_RC == 0 )) || (( rc == 124 || rc == 137 )); then TEST_RC=$rc; fi
done
cat "$OUT"/tests-*.log >"$OUT/tests.log"
"$PYTHON" bench/gpu_check_summary.py --merge-junit "$OUT" "$TEST_SHARDS"
grep -hE "[0-9]+ (passed|failed)" "$OUT"/tests-*.log
grep -hE "^(FAILED|ERROR) " "$OUT/tests.log" | head -40
echo "pytest exit status (worst shard): $TEST_RC"

# 3. autotune, twice (the second run must find the cache warm) -------------------------------
step "autotune"
# A private cache under $OUT (copied back), tuned with a budget; the second run must say the
# cache is warm.
export FRAMEWORK_CACHE_DIR="$OUT/autotune-cache"
timeout "$(budget "$AUTOTUNE_TIMEOUT")" "$PYTHON" -m framework autotune --quick --dtypes bf16 \
    --budget 90 >"$OUT/autotune-1.log" 2>&1
AUTOTUNE_RC=$?
cat "$OUT/autotune-1.log"
if (( AUTOTUNE_RC == 3 )); then
    AUTOTUNE_STATUS="no GPU found (framework autotune exits 3); skipped"
elif (( AUTOTUNE_RC != 0 )); then
    AUTOTUNE_STATUS="FAILED (exit $AUTOTUNE_RC), see autotune-1.log"
else
    timeout "$(budget "$AUTOTUNE_TIMEOUT")" "$PYTHON" -m framework autotune --quick --dtypes bf16 >"$OUT/autotune-2.log" 2>&1
    AUTOTUNE2_RC=$?
    cat "$OUT/autotune-2.log"
    if grep -q "Nothing to tune" "$OUT/autotune-2.log"; then WARM="warm"; else WARM="NOT warm"; fi
    AUTOTUNE_STATUS="first run exit 0, second run exit $AUTOTUNE2_RC and $WARM (see autotune-1.log, autotune-2.log)"
fi
echo "autotune: $AUTOTUNE_STATUS"

# 4. benchmark against torch on the same card -------------------------------------------
step "bench"
# shellcheck disable=SC2086
COLUMNS=120 timeout "$(budget "$BENCH_TIMEOUT")" "$PYTHON" -m framework bench --json "$OUT/bench.json" \
    $BENCH_ARGS >"$OUT/bench.log" 2>&1
BENCH_RC=$?
cat "$OUT/bench.log"
echo "bench exit status: $BENCH_RC"

# 5. summary (last) ------------------------------------------------------------------------
step "summary"
TEST_RC=$TEST_RC AUTOTUNE_STATUS="$AUTOTUNE_STATUS" BENCH_RC=$BENCH_RC OUT="$OUT" \
    "$PYTHON" bench/gpu_check_summary.py 2>&1 | tee "$OUT/summary.txt"
echo "total ${SECONDS}s; logs and JSON in $OUT"
if (( TEST_RC != 0 || BENCH_RC != 0 )); then exit 1; fi
