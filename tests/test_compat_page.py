"""docs/compat.md is generated from the code (docs/compat_report.py) and cannot drift."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

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


def test_compat_page_counts_add_up():
    report = _generator().report()
    rows = [line for line in report.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["torch", "torch.nn.functional", "torch.Tensor",
                                               "torch.nn"]
    for row in rows:
        total, present, designed, not_yet = (int(c) for c in row.strip("|").split("|")[1:])
        assert total == present + designed + not_yet
    assert f"torch {torch.__version__.split('+')[0]}" in report


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
