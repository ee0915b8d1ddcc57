"""framework.save / framework.load: safetensors checkpoints, interchangeable with PyTorch's."""
import io
import os
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch

import framework
import framework.optim as optim


def _state(device="cpu"):
    return OrderedDict([
        ("weight", framework.randn(3, 4, device=device)),
        ("bias", framework.arange(3, dtype=framework.float64, device=device)),
        ("half", framework.ones(2, dtype=framework.float16, device=device)),
        ("brain", framework.full((2, 2), 1.5, dtype=framework.bfloat16, device=device)),
        ("count", framework.tensor(7, device=device)),
        ("mask", framework.tensor([True, False], device=device)),
    ])


def _same(a, b):
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.float().cpu().numpy(), b.float().cpu().numpy())


def test_state_dict_round_trip_keeps_dtypes_shapes_values_and_order(tmp_path, device):
    state = _state(device)
    path = tmp_path / "model.safetensors"
    framework.save(state, path)
    loaded = framework.load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(state)
    for key in state:
        _same(loaded[key], state[key])
        assert loaded[key].device == state[key].device


def test_nested_objects_and_plain_values_round_trip(tmp_path):
    t = framework.ones(2)
    obj = {"epoch": 3, "loss": 0.25, "best": float("inf"), "name": "run", "none": None,
           "flags": [True, False], "pair": (1, t), "again": t, "dtype": framework.bfloat16,
           "nested": {1: {"x": framework.zeros(1)}}}
    framework.save(obj, tmp_path / "ck.safetensors")
    back = framework.load(tmp_path / "ck.safetensors")
    assert back["epoch"] == 3 and back["loss"] == 0.25 and back["best"] == float("inf")
    assert back["name"] == "run" and back["none"] is None and back["flags"] == [True, False]
    assert isinstance(back["pair"], tuple) and back["pair"][1].tolist() == [1.0, 1.0]
    assert back["dtype"] is framework.bfloat16
    assert back["nested"][1]["x"].tolist() == [0.0]


def test_optimizer_state_round_trip_resumes_identically(tmp_path):
    p = framework.tensor([1.0, -1.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = framework.tensor([0.5, 0.25])
    opt.step()
    framework.save({"model": {"p": p}, "optim": opt.state_dict()}, tmp_path / "ck.safetensors")
    ck = framework.load(tmp_path / "ck.safetensors")
    q = ck["model"]["p"].detach().requires_grad_()
    resumed = optim.Adam([q], lr=0.1)
    resumed.load_state_dict(ck["optim"])
    for param, o in ((p, opt), (q, resumed)):
        param.grad = framework.tensor([0.1, 0.2])
        o.step()
    assert q.tolist() == p.tolist()


def test_file_written_by_pytorch_loads_with_the_same_weights(tmp_path):
    weights = {"w": torch.randn(3, 2), "b": torch.arange(4), "h": torch.ones(2).bfloat16(),
               "u8": torch.tensor([1, 255], dtype=torch.uint8)}
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(weights, str(path))
    loaded = framework.load(path)
    np.testing.assert_array_equal(loaded["w"].numpy(), weights["w"].numpy())
    assert loaded["b"].dtype is framework.int64 and loaded["b"].tolist() == [0, 1, 2, 3]
    assert loaded["h"].dtype is framework.bfloat16 and loaded["h"].float().tolist() == [1.0, 1.0]
    assert loaded["u8"].tolist() == [1, 255]


def test_pytorch_reads_a_saved_state_dict(tmp_path):
    state = _state()
    framework.save(state, tmp_path / "ours.safetensors")
    theirs = safetensors.torch.load_file(str(tmp_path / "ours.safetensors"))
    assert set(theirs) == set(state)
    np.testing.assert_array_equal(theirs["weight"].numpy(), state["weight"].numpy())
    assert theirs["brain"].dtype == torch.bfloat16


def test_map_location_moves_tensors(tmp_path):
    framework.save({"x": framework.ones(2)}, tmp_path / "x.safetensors")
    assert framework.load(tmp_path / "x.safetensors", map_location="cuda")["x"].is_cuda
    framework.save({"x": framework.ones(2, device="cuda")}, tmp_path / "y.safetensors")
    assert framework.load(tmp_path / "y.safetensors")["x"].is_cuda
    mapped = framework.load(tmp_path / "y.safetensors", map_location={"cuda:0": "cpu",
                                                                      "cuda": "cpu"})
    assert not mapped["x"].is_cuda


def test_file_objects_work():
    buffer = io.BytesIO()
    framework.save(framework.arange(3), buffer)
    buffer.seek(0)
    assert framework.load(buffer).tolist() == [0, 1, 2]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    framework.save({"a": framework.ones(1)}, tmp_path / "a.safetensors")
    with pytest.raises(TypeError, match="cannot save an object of type object"):
        framework.save({"a": object()}, tmp_path / "a.safetensors")
    assert os.listdir(tmp_path) == ["a.safetensors"]
    assert framework.load(tmp_path / "a.safetensors")["a"].tolist() == [1.0]


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "t.safetensors"
    framework.save({"w": framework.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        framework.load(path)
    path.write_bytes(data[:5])
    with pytest.raises(RuntimeError, match="not a safetensors file"):
        framework.load(path)


def test_pickle_checkpoint_is_refused_without_running_it(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, str(path))
    with pytest.raises(RuntimeError, match="pickle/zip checkpoint"):
        framework.load(path)
    (tmp_path / "junk").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(RuntimeError, match="not JSON"):
        framework.load(tmp_path / "junk")
