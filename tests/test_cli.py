"""The ``framework`` command line: ``info`` and ``autotune`` (``bench``: tests/test_bench.py)."""
import os
import subprocess
import sys

import numpy as np

import framework
from framework import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Hides every GPU from the CUDA driver: the "no GPU" paths run the same on a GPU machine.
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}


def _gpu_present() -> bool:
    """True on a machine with a usable NVIDIA GPU (whatever runtime this process uses)."""
    from framework._backends.triton import runtime
    return runtime._gpu_count() > 0


def _run_cli(*args, interpret: str = "1", env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, FRAMEWORK_TRITON_INTERPRET=interpret, COLUMNS="120", **(env or {}))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "framework", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_info_rows_name_runtime_devices_and_versions():
    from framework._backends.triton import runtime
    rows = dict(cli.info_rows())
    assert rows["numpy"] == np.__version__
    assert rows["framework"] == framework.__version__
    assert rows["runtime"] == cli._RUNTIME_LABELS[runtime.mode()]
    devices = [value for name, value in cli.info_rows() if name == "device"]
    assert devices[0].startswith("cpu")
    assert len(devices) == 1 + framework.cuda.device_count()
    if runtime.mode() == "gpu":
        assert "compute capability" in devices[1]


def test_info_command_in_interpreter_and_cpu_only_modes():
    interpreted = _run_cli("info", interpret="1")
    assert interpreted.returncode == 0, interpreted.stderr
    assert "Triton interpreter" in interpreted.stdout
    hidden = _run_cli("info", interpret="0", env=NO_GPU)
    assert hidden.returncode == 0, hidden.stderr
    assert "CPU only" in hidden.stdout, hidden.stdout  # no GPU, no interpreter: only the CPU
    if _gpu_present():
        plain = _run_cli("info", interpret="0")
        assert plain.returncode == 0, plain.stderr
        assert "GPU:" in plain.stdout, plain.stdout


def test_autotune_without_a_gpu_says_so_and_fails(tmp_path):
    # GPUs hidden, so this never starts a real (unbudgeted) tuning run on a GPU machine
    env_cache = {"FRAMEWORK_CACHE_DIR": str(tmp_path), **NO_GPU}
    for interpret, words in (("0", "needs an NVIDIA GPU"), ("1", "--dry-run")):
        result = _run_cli("autotune", interpret=interpret, env=env_cache)
        assert result.returncode == cli.EXIT_NO_GPU != 0
        assert words in " ".join(result.stdout.split())
    assert os.listdir(tmp_path) == []


def test_info_names_the_autotune_cache(tmp_path):
    result = _run_cli("info", interpret="1", env={"FRAMEWORK_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    text = "".join(result.stdout.split())
    assert "autotunecache" in text and str(tmp_path).replace(" ", "") in text


def test_no_subcommand_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "info" in capsys.readouterr().out
