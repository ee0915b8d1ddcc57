"""Port check: one PyTorch training script, run on torch and, with only its imports
resolving to framework, on framework, from the same initial weights: the loss curves,
final weights, learning rate and accuracy must match.

The script (tests/port_check/train_script.py) covers nn.Module/Conv2d/MaxPool2d/Linear/
ReLU, F.relu, torch.flatten, a DataLoader over a TensorDataset, CrossEntropyLoss, SGD with
momentum and weight decay, StepLR, torch.save/torch.load of model, optimizer and scheduler
state, and resuming training from the checkpoint.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

import framework

SCRIPT = Path(__file__).parent / "port_check" / "train_script.py"

# The torch module names the script imports, and what they are on framework.
TORCH_NAMES = {
    "torch": "framework",
    "torch.nn": "framework.nn",
    "torch.nn.functional": "framework.nn.functional",
    "torch.optim": "framework.optim",
    "torch.optim.lr_scheduler": "framework.optim.lr_scheduler",
    "torch.utils": "framework.utils",
    "torch.utils.data": "framework.utils.data",
}


def run_script(checkpoint: Path, initial_state=None, on_framework: bool = False) -> tuple[dict, dict]:
    """Execute the script's text in a fresh namespace, call its ``main``: (result, namespace)."""
    namespace = {"__name__": "port_check_script", "__file__": str(SCRIPT)}
    code = compile(SCRIPT.read_text(), str(SCRIPT), "exec")
    if not on_framework:
        exec(code, namespace)
        return namespace["main"](str(checkpoint), initial_state), namespace
    shims = {torch_name: importlib.import_module(name) for torch_name, name in TORCH_NAMES.items()}
    with mock.patch.dict(sys.modules, shims):
        exec(code, namespace)
        return namespace["main"](str(checkpoint), initial_state), namespace


def test_script_runs_the_same_on_torch_and_framework(tmp_path):
    reference, torch_namespace = run_script(tmp_path / "torch.ckpt")
    ported, namespace = run_script(tmp_path / "framework.ckpt", initial_state=reference["initial_state"],
                                   on_framework=True)
    assert torch_namespace["torch"] is torch
    assert namespace["torch"] is framework and namespace["nn"] is framework.nn
    assert namespace["DataLoader"] is framework.utils.data.DataLoader

    for name, value in reference["initial_state"].items():
        np.testing.assert_array_equal(ported["initial_state"][name], value, err_msg=name)
    assert len(ported["losses"]) == len(reference["losses"]) == 4 * 6
    np.testing.assert_allclose(ported["losses"], reference["losses"], rtol=1e-4, atol=1e-5)
    for name, value in reference["final_state"].items():
        np.testing.assert_allclose(ported["final_state"][name], value, rtol=1e-3, atol=1e-5, err_msg=name)
    assert ported["lr"] == pytest.approx(reference["lr"])
    assert ported["accuracy"] == pytest.approx(reference["accuracy"])
    assert reference["losses"][-1] < 0.5 * reference["losses"][0]  # the script does learn

