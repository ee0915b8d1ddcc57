"""The ``framework`` command line: ``info`` and ``autotune`` (``bench``: tests/test_bench.py)."""
import os
import subprocess
import sys

import numpy as np

import framework
from framework import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(*args, interpret: str = "1", env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, FRAMEWORK_TRITON_INTERPRET=interpret, COLUMNS="120", **(env or {}))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "framework", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_info_rows_name_runtime_devices_and_versions():
    from framework.backends.triton import runtime
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
    plain = _run_cli("info", interpret="0")
    assert plain.returncode == 0, plain.stderr
    # this machine has no GPU, so without the interpreter only the CPU serves tensors
    mode_ok = "CPU only" in plain.stdout or "GPU:" in plain.stdout
    assert mode_ok, plain.stdout


def test_autotune_without_a_gpu_says_so_and_fails(tmp_path):
    env_cache = {"FRAMEWORK_CACHE_DIR": str(tmp_path)}
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
