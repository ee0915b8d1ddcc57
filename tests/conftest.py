"""Test configuration: the ``cuda`` device runs on Triton's interpreter unless a GPU is used.

``FRAMEWORK_TRITON_INTERPRET`` defaults to 1 here, so CI machines without a
GPU run every Triton kernel; the GPU check script sets it to 0.
"""
import json
import math
import os
import signal
import sys
import warnings

os.environ.setdefault("FRAMEWORK_TRITON_INTERPRET", "1")
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import framework  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    framework.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _exact_float32_matmuls():
    """Oracle tests compare float32 matmuls at float32 tolerances: no TF32 on a real GPU."""
    framework.set_float32_matmul_precision("highest")
    yield
    framework.set_float32_matmul_precision("highest")


def _deliverable_sigint() -> None:
    """SIGINT handled by Python (KeyboardInterrupt) and unblocked."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# A run started as a background job of a non-interactive shell (`make test &`) starts with
# SIGINT ignored (POSIX), and every subprocess a test starts inherits that: the Ctrl-C tests'
# scripts then never saw their Ctrl-C. The suite starts from a deliverable SIGINT instead.
_deliverable_sigint()


@pytest.fixture(autouse=True)
def _sigint_left_as_found(request):
    """A test that leaves SIGINT ignored, handled elsewhere or blocked is named in a warning,
    and SIGINT is put back: subprocesses inherit that state (a Ctrl-C test's script once
    never saw its Ctrl-C in a full-suite run)."""
    yield
    handler = signal.getsignal(signal.SIGINT)
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    if handler is signal.default_int_handler and not blocked:
        return
    warnings.warn(f"{request.node.nodeid} left SIGINT {'blocked' if blocked else handler!r}; "
                  "restored")
    _deliverable_sigint()


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Every device: the NumPy backend and the Triton backend."""
    return request.param


def pytest_configure(config):
    """Plugins of the GPU check: ``FRAMEWORK_TEST_STATS=<file.json>`` writes compile counts and
    times, memory and wall time (tests/run_stats.py); ``FRAMEWORK_COUNT_SPECIALIZATIONS=
    <file.json>`` records the GPU kernel specializations each test launches under the
    interpreter (tests/specializations.py). Under the interpreter every launch is also
    checked for float scalars a GPU would round to float32 (tests/float_scalars.py)."""
    if os.environ.get("FRAMEWORK_TRITON_INTERPRET") == "1":
        from float_scalars import FloatScalarGuard
        FloatScalarGuard().install()
    stats_path = os.environ.get("FRAMEWORK_TEST_STATS")
    if stats_path:
        from run_stats import RunStats
        stats = RunStats(stats_path)
        stats.install()
        config.pluginmanager.register(stats, "framework-run-stats")
    path = os.environ.get("FRAMEWORK_COUNT_SPECIALIZATIONS")
    if path:
        from specializations import SpecializationCounter
        counter = SpecializationCounter(path)
        counter.install()
        config.pluginmanager.register(counter, "framework-specializations")


def _runs_on_cpu_only(item) -> bool:
    """True for a test parametrized on a device (``device``, ``device_name``...) set to cpu."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any("device" in name and value == "cpu" for name, value in params.items())


def shard_by_file(nodeids: list, count: int, file_weights: dict | None = None) -> list:
    """Shard number of each test id: whole test files, heaviest first onto the lightest shard.

    Tests of one file launch mostly the same kernels, so keeping a file on one
    shard compiles each kernel specialization once instead of in every shard.
    A file weighs its number of tests unless ``file_weights`` says otherwise;
    a file heavier than a shard's fair share is cut into as many runs of
    consecutive tests as it has fair shares (neighbours test the same op, so
    they still share kernels).
    """
    files: dict = {}
    for position, nodeid in enumerate(nodeids):
        files.setdefault(nodeid.split("::")[0], []).append(position)
    weights = {name: (file_weights or {}).get(name, len(members)) for name, members in files.items()}
    fair = max(1.0, sum(weights.values()) / count)
    units = []  # (weight, name, positions)
    for name, members in files.items():
        pieces = max(1, min(len(members), math.ceil(weights[name] / fair)))
        for piece in range(pieces):
            chunk = members[piece * len(members) // pieces:(piece + 1) * len(members) // pieces]
            units.append((weights[name] / pieces, f"{name}#{piece}", chunk))
    loads = [0.0] * count
    shards = [0] * len(nodeids)
    for weight, _, chunk in sorted(units, key=lambda u: (-u[0], u[1])):
        shard = min(range(count), key=lambda s: (loads[s], s))
        loads[shard] += weight
        for position in chunk:
            shards[position] = shard
    return shards


SHARD_WEIGHTS = os.path.join(os.path.dirname(__file__), "shard_weights.json")


def measured_weights() -> dict:
    """Distinct kernel specializations each test file launched when last counted
    (``bench/count_specializations.py --write-weights``): what a GPU shard compiles."""
    try:
        with open(SHARD_WEIGHTS, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _file_weights(items) -> dict:
    """Each file's sharding weight: its measured specializations, else its test count;
    ``SHARD_WEIGHT`` in a test module overrides both (a file much heavier than either)."""
    weights = measured_weights()
    for item in items:
        weight = getattr(getattr(item, "module", None), "SHARD_WEIGHT", None)
        if weight is not None:
            weights[item.nodeid.split("::")[0]] = weight
    return weights


def pytest_collection_modifyitems(config, items):
    """Select tests for the GPU check script (``bench/gpu_check.sh``).

    ``FRAMEWORK_TEST_DEVICE=cuda`` drops the tests parametrized on the ``cpu``
    device (the GPU run checks the GPU path; CI runs the rest).
    ``FRAMEWORK_TEST_SHARD=i/n`` keeps shard ``i`` of ``n``: whole test files
    (``shard_by_file``), or every n-th test with ``FRAMEWORK_TEST_SHARD_BY=index``.
    The script runs n pytest processes side by side, so kernel compilation uses
    several cores and each process compiles only the kernels of its own files.
    """
    dropped = []
    if os.environ.get("FRAMEWORK_TEST_DEVICE") == "cuda":
        dropped = [item for item in items if _runs_on_cpu_only(item)]
        items[:] = [item for item in items if not _runs_on_cpu_only(item)]
    shard = os.environ.get("FRAMEWORK_TEST_SHARD")
    if shard:
        index, count = (int(part) for part in shard.split("/"))
        if os.environ.get("FRAMEWORK_TEST_SHARD_BY", "file") == "index":
            shards = [i % count for i in range(len(items))]
        else:
            shards = shard_by_file([item.nodeid for item in items], count, _file_weights(items))
        dropped += [item for item, s in zip(items, shards) if s != index]
        items[:] = [item for item, s in zip(items, shards) if s == index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
