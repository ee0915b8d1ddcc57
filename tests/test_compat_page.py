"""docs/compat.md is generated from the code (docs/compat_report.py) and the names of the
torch framework follows (recorded in docs/compat_torch_names.json), and cannot drift."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest


import framework

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = ("docs/compat.md is out of date with the code (names were added or removed). "
              "Regenerate it with `make docs`, or `PYTHONPATH=. python docs/compat_report.py "
              "> docs/compat.md`, and commit the result.")


def _generator():
    spec = importlib.util.spec_from_file_location("compat_report",
                                                  ROOT / "docs" / "compat_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compat_page_is_up_to_date():
    committed = (ROOT / "docs" / "compat.md").read_text()
    assert _generator().report() == committed, REGENERATE


def test_recorded_torch_is_the_pinned_one():
    """The page lists the names of the torch CI installs (the Makefile's TORCH_PIN), so
    test_recorded_names_are_the_installed_torchs runs there."""
    pin = re.search(r"^TORCH_PIN \?= torch==(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pin, "the Makefile pins no torch (TORCH_PIN ?= torch==X.Y.Z)"
    assert _generator().recorded_names()["torch"] == pin.group(1), (
        "docs/compat_torch_names.json records another torch than the Makefile's TORCH_PIN: "
        "`make docs` with the pinned torch installed, and commit the result.")


def test_recorded_names_are_the_installed_torchs():
    """The record is the installed torch's names where that torch is the recorded version
    (CI); another torch (the GPU machines' 2.11) has other names and cannot check it."""
    generator = _generator()
    recorded, installed = generator.recorded_names(), generator.installed_names()
    if installed["torch"] != recorded["torch"]:
        pytest.skip(f"docs/compat_torch_names.json records torch {recorded['torch']}'s names; "
                    f"torch {installed['torch']} is installed (CI has {recorded['torch']})")
    assert installed == recorded, ("docs/compat_torch_names.json is out of date: `make docs`, "
                                   "and commit the result.")


def test_compat_page_counts_add_up():
    report = _generator().report()
    rows = [line for line in report.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["torch", "torch.nn.functional", "torch.Tensor",
                                               "torch.nn", "torch.linalg",
                                               "torch.distributions"]
    for row in rows:
        total, present, designed, not_yet = (int(c) for c in row.strip("|").split("|")[1:])
        assert total == present + designed + not_yet
    assert f"against torch {_generator().recorded_names()['torch']}'s names" in report


def test_by_design_rules_only_cover_missing_kinds():
    """The rules name families framework leaves out on purpose, never an op it has."""
    generator = _generator()
    for name in ("save", "load", "add", "matmul", "tensor", "zeros", "float32", "autocast",
                 "set_default_device", "get_default_device", "accelerator", "randint"):
        assert hasattr(framework, name)
        assert generator.by_design(name) is None, name
    for name in ("sparse_coo_tensor", "quantize_per_tensor", "complex64", "FloatStorage",
                 "cudnn_convolution", "view_copy", "jit", "SymInt", "float8_e4m3fn"):
        assert generator.by_design(name) is not None, name
    # torch.linalg has its own rules: its cond, lstsq, solve are no TorchScript/deprecated names
    for name in ("cond", "lstsq", "solve", "lu_factor"):
        assert generator.by_design(name, "torch.linalg") is None, name
    assert generator.by_design("eig", "torch.linalg") is not None
