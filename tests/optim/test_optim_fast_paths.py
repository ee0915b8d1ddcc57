"""The optimizers' shortcuts give what their general paths give.

``step_count`` reads the previous step from a note on the step tensor it made (no
device read) while that tensor's memory is unwritten; these tests check the note is
ignored once the tensor is written in place or replaced, and that the step tensor keeps
PyTorch's dtype. (The in-place Adam kernel against the copying one:
``tests/test_cpu_fast_paths.py::test_in_place_adam_is_bit_identical_to_the_copying_kernel``.)
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import framework
from framework import dtypes
from framework.optim._state import step_count


def test_step_count_counts_from_its_note_and_from_the_tensor():
    state: dict = {}
    assert [step_count(state) for _ in range(3)] == [1.0, 2.0, 3.0]
    assert float(state["step"]) == 3.0 and state["step"].dtype is dtypes.float32
    with framework.no_grad():
        state["step"].fill_(10.0)  # written in place: the note is stale
    assert step_count(state) == 11.0
    state["step"] = framework.tensor(41.0)  # replaced (as load_state_dict does)
    assert step_count(state) == 42.0
    assert float(state["step"]) == 42.0


def test_step_count_without_the_note_equals_float_of_the_tensor(monkeypatch):
    from framework.optim import _state
    state: dict = {}
    noted = [step_count(state) for _ in range(4)]
    monkeypatch.setattr(_state, "scalar_value", lambda step: float(step))
    state = {}
    assert [step_count(state) for _ in range(4)] == noted


@pytest.mark.parametrize("default", [dtypes.float32, dtypes.float64])
def test_step_tensor_has_torch_dtype(default):
    previous, torch_previous = dtypes.get_default_dtype(), torch.get_default_dtype()
    dtypes.set_default_dtype(default)
    torch.set_default_dtype(getattr(torch, str(default).split(".")[-1]))
    try:
        p = framework.tensor(np.ones(3), dtype=default, requires_grad=True)
        tp = torch.ones(3, dtype=getattr(torch, str(default).split(".")[-1]), requires_grad=True)
        p.grad = framework.ones_like(p)
        tp.grad = torch.ones_like(tp)
        opt, topt = framework.optim.Adam([p]), torch.optim.Adam([tp])
        opt.step()
        topt.step()
        assert str(opt.state[p]["step"].dtype).split(".")[-1] == \
            str(topt.state[tp]["step"].dtype).split(".")[-1]
    finally:
        dtypes.set_default_dtype(previous)
        torch.set_default_dtype(torch_previous)
