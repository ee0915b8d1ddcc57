"""framework.save / framework.load: safetensors checkpoints, interchangeable with PyTorch's."""
import io
import json
import os
import re
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
    np.testing.assert_array_equal(a.cpu().float().numpy(), b.cpu().float().numpy())


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



def test_map_location_function_as_torch_scripts_write_it(tmp_path):
    """``map_location=lambda storage, loc: storage`` (keep on cpu) and ``storage.cuda()``: the
    function gets each tensor's data on cpu and its saved device name; the tensor goes to the
    device of what it returns (its saved device when it returns None)."""
    framework.save({"x": framework.ones(2, device="cuda"), "y": framework.arange(3)},
                   tmp_path / "m.safetensors")
    seen = []

    def keep(storage, location):
        seen.append((storage.device.type, location))
        return storage
    kept = framework.load(tmp_path / "m.safetensors", map_location=keep)
    assert not kept["x"].is_cuda and kept["x"].tolist() == [1.0, 1.0]
    assert sorted(seen) == [("cpu", "cpu"), ("cpu", "cuda:0")]
    moved = framework.load(tmp_path / "m.safetensors", map_location=lambda s, loc: s.cuda())
    assert moved["y"].is_cuda and moved["y"].tolist() == [0, 1, 2]
    default = framework.load(tmp_path / "m.safetensors", map_location=lambda s, loc: None)
    assert default["x"].is_cuda and not default["y"].is_cuda

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


# -- regressions (issue 9, item 1) ---------------------------------------------------------------
def _header_length(path) -> int:
    return int.from_bytes(path.read_bytes()[:8], "little")


def test_the_issues_checkpoint_with_a_header_of_128_mod_256_loads(tmp_path):
    """A header length of 128 mod 256 makes the file start with 0x80, a pickle's first byte."""
    framework.manual_seed(0)
    model = framework.nn.Sequential(*[framework.nn.Linear(3, 3) for _ in range(17)])
    path = tmp_path / "ck.st"
    framework.save({"model": model.state_dict(), "epoch": 1}, path)
    assert path.read_bytes()[0] == 0x80 and _header_length(path) % 256 == 128
    back = framework.load(path)
    assert back["epoch"] == 1
    for key, value in model.state_dict().items():
        _same(back["model"][key], value)


def test_every_header_length_round_trips(tmp_path, device):
    """Key names of every length from 0 to 2000: header lengths cover all 32 values mod 256
    (headers are padded to 8 bytes) many times over, with every dtype (bf16 included)."""
    residues = set()
    lengths = range(0, 2001) if device == "cpu" else range(0, 300, 3)
    extra = framework.arange(5, dtype=framework.bfloat16, device=device)
    for length in lengths:
        state = _state(device) if length % 100 == 0 else OrderedDict(
            (key, value) for key, value in state.items() if not key.startswith("k"))
        state["k" * length] = extra[:length % 6]
        buffer = io.BytesIO()
        framework.save(state, buffer)
        residues.add(int.from_bytes(buffer.getvalue()[:8], "little") % 256)
        buffer.seek(0)
        back = framework.load(buffer)
        assert list(back) == list(state)
        for key in state:
            _same(back[key], state[key])
    assert len(residues) == 32


_DTYPES = [framework.float32, framework.float64, framework.float16, framework.bfloat16,
           framework.int32, framework.int64, framework.bool]


def _random_state(draw_ints, names):
    state = OrderedDict()
    for name in names:
        dtype = _DTYPES[draw_ints(0, len(_DTYPES) - 1)]
        shape = tuple(draw_ints(0, 4) for _ in range(draw_ints(0, 3)))
        data = np.random.default_rng(draw_ints(0, 1000)).standard_normal(shape) * 100
        state[name] = framework.tensor(data).to(dtype)
    return state


def test_random_state_dicts_round_trip_property(tmp_path):
    """Random names, dtypes (bf16 included), shapes (empty and 0-d included) and tied views."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=8, unique=True)

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(names=names, data=st.data(), tie=st.booleans())
    def round_trip(names, data, tie):
        state = _random_state(lambda lo, hi: data.draw(st.integers(lo, hi)), names)
        if tie and state[names[0]].numel():
            state[names[0] + "/view"] = state[names[0]].reshape(-1)[:1]
        buffer = io.BytesIO()
        framework.save(state, buffer)
        buffer.seek(0)
        back = framework.load(buffer)
        assert list(back) == list(state)
        for key in state:
            _same(back[key], state[key])
        tied = tie and state[names[0]].numel()
        if tied:
            assert back[names[0] + "/view"].data_ptr() == back[names[0]].data_ptr()
        theirs = safetensors.torch.load(buffer.getvalue())  # the safetensors library accepts it
        assert len(theirs) == len(state) - bool(tied)

    round_trip()


def test_a_key_named_metadata_is_kept(tmp_path, device):
    state = OrderedDict([("__metadata__", framework.ones(2, device=device)),
                         ("w", framework.zeros(3, device=device))])
    path = tmp_path / "m.safetensors"
    framework.save(state, path)
    back = framework.load(path)
    assert list(back) == ["__metadata__", "w"]
    _same(back["__metadata__"], state["__metadata__"])
    _same(back["w"], state["w"])
    assert set(safetensors.torch.load_file(str(path))) == {"__metadata__#1", "w"}


def _raw_file(path, header: dict, data: bytes = b"") -> None:
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


_F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
_BAD_HEADERS = {
    "overlap": ({"a": _F32, "b": _F32}, 8),
    "gap": ({"a": _F32, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}, 16),
    "not from 0": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 8),
    "trailing bytes": ({"a": _F32}, 12),
    "negative shape": ({"a": {"dtype": "F32", "shape": [-1, -2], "data_offsets": [0, 8]}}, 8),
    "float shape": ({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, 8),
    "bool shape": ({"a": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, 8),
    "list shape": ({"a": {"dtype": "F32", "shape": [[2]], "data_offsets": [0, 8]}}, 8),
    "shape not a list": ({"a": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, 8),
    "float offsets": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}, 8),
    "negative offsets": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, 8),
    "one offset": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8]}}, 8),
    "list dtype": ({"a": {"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]}}, 8),
    "size overflow": ({"a": {"dtype": "F32", "shape": [2 ** 62, 2 ** 62, 4],
                             "data_offsets": [0, 8]}}, 8),
    "wrapping size": ({"a": {"dtype": "F32", "shape": [2 ** 62, 2], "data_offsets": [0, 0]}}, 0),
    "entry not an object": ({"a": [1, 2]}, 8),
    "metadata not strings": ({"__metadata__": {"x": 1}, "a": _F32}, 8),
}


@pytest.mark.parametrize("case", sorted(_BAD_HEADERS))
def test_malformed_headers_raise_a_clear_error_as_safetensors_does(tmp_path, case):
    header, size = _BAD_HEADERS[case]
    path = tmp_path / "bad.safetensors"
    _raw_file(path, header, bytes(size))
    with pytest.raises(RuntimeError, match=re.escape(str(path))):
        framework.load(path)
    with pytest.raises(Exception):  # noqa: B017 - the reference library refuses it too
        safetensors.torch.load_file(str(path))


def test_deep_nesting_and_bad_structure_raise_a_clear_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    text = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(RuntimeError, match="nested too deeply"):
        framework.load(path)
    for tree in ("[" * 50_000 + "]" * 50_000, '{"list": 5}', '{"tensor": ["a"]}',
                 '{"tensor": "missing"}', '{"dict": [[{"list": []}, 1]]}', '{"float": []}',
                 '{"tensor": "a", "view": [[4], [1], 0]}',
                 '{"tensor": "a", "view": [[-1], [1], 0]}', '{"tensor": "a", "object": []}',
                 '{"tensor": "a", "device": 1}', '{"dtype": "nonsense"}'):
        document = '{"version": 2, "tree": ' + tree + "}"
        _raw_file(path, {"__metadata__": {"framework": document}, "a": _F32}, bytes(8))
        with pytest.raises(RuntimeError, match=re.escape(str(path))):
            framework.load(path)


def test_unreadable_header_text_names_the_file(tmp_path):
    path = tmp_path / "bin.safetensors"
    path.write_bytes((4).to_bytes(8, "little") + b"\xff\xfe\xfd\xfc")
    with pytest.raises(RuntimeError, match="not UTF-8"):
        framework.load(path)
    path.write_bytes((2 ** 40).to_bytes(8, "little") + b"{}")
    with pytest.raises(RuntimeError, match="not a safetensors file"):
        framework.load(path)


def _big_state(megabytes: int):
    return {"big": framework.zeros(megabytes * 2 ** 18), "small": framework.ones(3)}


def test_mmap_maps_the_file_instead_of_reading_it(tmp_path):
    """Peak traced allocations while loading (numpy reports its buffers to tracemalloc):
    mmap=True allocates next to nothing, a plain load one copy of the data (it was two)."""
    import tracemalloc
    path = tmp_path / "big.safetensors"
    framework.save(_big_state(16), path)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        mapped = framework.load(path, mmap=True)
        _, mapped_peak = tracemalloc.get_traced_memory()
        del mapped
        tracemalloc.reset_peak()
        loaded = framework.load(path)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mapped_peak < size / 50
    assert size <= read_peak < 1.2 * size
    assert loaded["small"].tolist() == [1.0, 1.0, 1.0]


def test_mmap_tensors_are_copy_on_write_views_of_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    framework.save({"w": framework.arange(4, dtype=framework.float32),
                    "b": framework.tensor([True, False])}, path)
    before = path.read_bytes()
    back = framework.load(path, mmap=True)
    base = back["w"].numpy()
    while not isinstance(base, np.memmap) and getattr(base, "base", None) is not None:
        base = base.base
    assert isinstance(base, np.memmap)
    back["w"].add_(1)
    assert back["w"].tolist() == [1.0, 2.0, 3.0, 4.0] and back["b"].tolist() == [True, False]
    assert path.read_bytes() == before
    cuda = framework.load(path, mmap=True, map_location="cuda")
    assert cuda["w"].is_cuda and cuda["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="file path"):
        framework.load(io.BytesIO(before), mmap=True)


def test_a_save_killed_mid_write_leaves_a_temp_that_the_next_save_removes(tmp_path):
    import signal
    import subprocess
    import sys
    path = tmp_path / "ck.safetensors"
    framework.save({"w": framework.ones(2)}, path)
    script = ("import os, sys, time, framework\n"
              "os.fsync = lambda fd: (print('writing', flush=True), time.sleep(600))\n"
              f"framework.save({{'w': framework.zeros(2 ** 20)}}, {str(path)!r})\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout.readline().strip() == b"writing"
        stale = [name for name in os.listdir(tmp_path) if name != "ck.safetensors"]
        assert len(stale) == 1 and stale[0].startswith(".ck.safetensors.")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    alive = tmp_path / f".ck.safetensors.{stale[0].split('.')[3]}.{os.getpid()}.0.partial"
    alive.write_bytes(b"a save in progress in this (live) process")
    assert framework.load(path)["w"].tolist() == [1.0, 1.0]  # the old file is intact
    framework.save({"w": framework.full((2,), 2.0)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ck.safetensors", alive.name])
    assert framework.load(path)["w"].tolist() == [2.0, 2.0]


def test_a_read_only_target_is_not_replaced(tmp_path):
    path = tmp_path / "ro.safetensors"
    framework.save({"w": framework.ones(1)}, path)
    path.chmod(0o444)
    with pytest.raises(PermissionError):
        framework.save({"w": framework.zeros(1)}, path)
    assert framework.load(path)["w"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["ro.safetensors"]
    path.chmod(0o640)
    framework.save({"w": framework.zeros(1)}, path)
    assert path.stat().st_mode & 0o777 == 0o640  # permissions of the replaced file are kept


def test_a_symlinked_target_is_written_through_like_open(tmp_path):
    real = tmp_path / "real.safetensors"
    framework.save({"w": framework.ones(1)}, real)
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    framework.save({"w": framework.zeros(1)}, link)
    assert link.is_symlink() and framework.load(real)["w"].tolist() == [0.0]


def test_tensors_sharing_memory_load_as_views_of_one_storage(tmp_path, device):
    base = framework.arange(12, dtype=framework.float32, device=device).reshape(3, 4)
    obj = {"base": base, "row": base[1], "col": base[:, 2], "t": base.t(),
           "same": base, "tail": base.reshape(-1)[6:]}
    path = tmp_path / "views.safetensors"
    framework.save(obj, path)
    assert path.stat().st_size < 8 + _header_length(path) + 12 * 4 + 1  # data stored once
    back = framework.load(path)
    for key in obj:
        _same(back[key], obj[key])
        assert back[key].device == obj[key].device
    assert back["same"] is back["base"]
    back["base"].add_(100)
    assert back["row"].tolist() == [104.0, 105.0, 106.0, 107.0]
    assert back["col"].tolist() == [102.0, 106.0, 110.0]
    assert back["t"][2, 1].item() == 106.0 and back["tail"][0].item() == 106.0


def test_views_without_their_base_share_the_span_they_cover(tmp_path, device):
    base = framework.arange(10, dtype=framework.float64, device=device)
    first, second = base[2:4], base[5:8]
    path = tmp_path / "span.safetensors"
    framework.save([first, second], path)
    back = framework.load(path)
    assert back[0].tolist() == [2.0, 3.0] and back[1].tolist() == [5.0, 6.0, 7.0]
    back[0].zero_()
    back[1].zero_()
    assert path.stat().st_size == 8 + _header_length(path) + 6 * 8  # elements 2..7 only


def test_tied_weights_load_tied(tmp_path, device):
    embedding = framework.nn.Embedding(5, 3).to(device)
    head = framework.nn.Linear(3, 5, bias=False).to(device)
    head.weight = embedding.weight
    model = framework.nn.ModuleDict({"embedding": embedding, "head": head})
    path = tmp_path / "tied.safetensors"
    framework.save(model.state_dict(), path)
    back = framework.load(path)
    _same(back["head.weight"], embedding.weight.detach())
    assert back["head.weight"].data_ptr() == back["embedding.weight"].data_ptr()
    assert set(safetensors.torch.load_file(str(path))) == {"embedding.weight"}


def test_a_structure_too_large_for_a_header_is_refused_before_writing(tmp_path, monkeypatch):
    import framework.serialization as serialization
    monkeypatch.setattr(serialization, "_MAX_HEADER", 256)
    framework.save({"w": framework.ones(1)}, tmp_path / "a.safetensors")
    with pytest.raises(RuntimeError, match="over the safetensors limit"):
        framework.save({"w": framework.ones(1), "names": ["x" * 300]}, tmp_path / "a.safetensors")
    assert framework.load(tmp_path / "a.safetensors")["w"].tolist() == [1.0]
