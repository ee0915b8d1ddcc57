"""The small integer dtypes (uint8, int8, int16) against PyTorch on cpu and cuda.

Type promotion (every pair of dtypes, and with Python scalars), creation ops
(integer ``linspace`` rounding included), casts, arithmetic that wraps like
PyTorch's, reductions (sums widen to int64), masks (bool and the deprecated
uint8), printing, ``from_numpy`` memory sharing and ``view(dtype)``.
"""
import warnings

import numpy as np
import pytest
import torch

import framework
from framework import dtypes
from helpers import assert_close, check_op

RNG = np.random.default_rng(0)
SMALL = [framework.uint8, framework.int8, framework.int16]
ALL = list(dtypes.ALL_DTYPES)
TORCH = {d: getattr(torch, d.name) for d in ALL}


def torch_dtype(d):
    return TORCH[d]


def values_for(dtype, *shape):
    info = framework.iinfo(dtype)
    return RNG.integers(info.min, info.max, shape, endpoint=True)


def test_names_and_aliases():
    assert framework.short is framework.int16 and framework.int16 is dtypes.int16
    for d in SMALL:
        assert str(d) == f"framework.{d.name}"
        info, t_info = framework.iinfo(d), torch.iinfo(torch_dtype(d))
        assert (info.min, info.max, info.bits) == (t_info.min, t_info.max, t_info.bits)
        assert d.is_signed == torch_dtype(d).is_signed
        assert not d.is_floating_point


@pytest.mark.parametrize("a", ALL, ids=str)
def test_promote_types_matches_torch(a):
    for b in ALL:
        expected = torch.promote_types(torch_dtype(a), torch_dtype(b))
        assert framework.promote_types(a, b) is getattr(framework, str(expected).split(".")[-1]), \
            (a, b, expected)


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_result_type_with_scalars_and_zero_dim(dtype):
    x, tx = framework.zeros(2, dtype=dtype), torch.zeros(2, dtype=torch_dtype(dtype))
    for other in (1, 300, True, 2.5, framework.tensor(3), framework.tensor(True),
                  framework.tensor(1.5, dtype=framework.float16),
                  framework.tensor([1], dtype=framework.int8)):
        t_other = torch.tensor(other.tolist(), dtype=torch_dtype(other.dtype)) \
            if isinstance(other, framework.Tensor) else other
        expected = torch.result_type(tx, t_other)
        assert framework.result_type(x, other).name == str(expected).split(".")[-1], other


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_creation_ops(device, dtype):
    td = torch_dtype(dtype)
    cases = [("zeros", (2, 3)), ("ones", (3,)), ("full", ((2,), 7)), ("arange", (2, 9, 3)),
             ("eye", (3,)), ("tensor", ([[1, 2], [3, 4]],))]
    for name, args in cases:
        out = getattr(framework, name)(*args, dtype=dtype, device=device)
        expected = getattr(torch, name)(*args, dtype=td)
        assert out.dtype is dtype and out.device == framework.device(device)
        assert out.tolist() == expected.tolist()
    r = framework.randint(0, 100, (50,), dtype=dtype, device=device)
    assert r.dtype is dtype and 0 <= int(r.min()) and int(r.max()) < 100


LINSPACE = [(5, 10, 3), (0, 10, 4), (2.7, -10.2, 5), (3, 100, 7), (0, 100, 1), (7, 7, 4),
            (0, 1, 9), (-100, 100, 11), (1, 0, 6), (0, 0, 0)]


@pytest.mark.parametrize("dtype", SMALL + [framework.int32, framework.int64], ids=str)
def test_integer_linspace_rounds_like_torch(device, dtype):
    """PyTorch computes integer linspace from both ends (start + i*step, then end - j*step)
    in float64 and truncates: linspace(5, 10, 3) is [5, 7, 10], not [5, 7, 9]."""
    for start, end, steps in LINSPACE:
        try:
            expected = torch.linspace(start, end, steps, dtype=torch_dtype(dtype))
        except RuntimeError:  # torch refuses some negative ends for uint8 (we wrap them)
            continue
        out = framework.linspace(start, end, steps, dtype=dtype, device=device)
        assert out.dtype is dtype
        assert out.tolist() == expected.tolist(), (start, end, steps)
    for start, end in ((0, 2 ** 70), (-(2 ** 70), 0)):
        with pytest.raises(RuntimeError, match="linspace\\(\\): value cannot be converted"):
            framework.linspace(start, end, 3, dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_casts(device, dtype):
    td = torch_dtype(dtype)
    floats = [0.0, 1.9, 100.5, 120.0]
    if dtype is not framework.uint8:
        floats += [-100.7, -1.5]
    x = framework.tensor(floats, device=device)
    assert x.to(dtype).tolist() == torch.tensor(floats).to(td).tolist()
    ints = [-70000, -300, -129, -1, 0, 255, 256, 40000]  # wrap around, as torch's integer casts
    i = framework.tensor(ints, device=device)
    assert i.to(dtype).tolist() == torch.tensor(ints).to(td).tolist()
    method = {"uint8": "byte", "int8": "char", "int16": "short"}[dtype.name]
    assert getattr(i, method)().dtype is dtype
    assert getattr(i, method)().tolist() == getattr(torch.tensor(ints), method)().tolist()
    small = framework.tensor([1, 2, 100], dtype=dtype, device=device)
    for target in ALL:
        assert small.to(target).tolist() == torch.tensor([1, 2, 100], dtype=td).to(
            torch_dtype(target)).tolist(), target


ARITHMETIC = {
    "add": (framework.add, torch.add), "sub": (framework.sub, torch.sub),
    "mul": (framework.mul, torch.mul), "maximum": (framework.maximum, torch.maximum),
    "floor_divide": (framework.floor_divide, torch.floor_divide),
    "remainder": (framework.remainder, torch.remainder),
    "div": (framework.div, torch.div), "eq": (framework.eq, torch.eq),
    "lt": (framework.lt, torch.lt), "ge": (framework.ge, torch.ge),
}


@pytest.mark.parametrize("dtype", SMALL, ids=str)
@pytest.mark.parametrize("name", sorted(ARITHMETIC))
def test_arithmetic_wraps_like_torch(device, name, dtype):
    fw_fn, torch_fn = ARITHMETIC[name]
    a = values_for(dtype, 3, 4)
    b = values_for(dtype, 4)
    if name in ("floor_divide", "remainder"):
        b[b == 0] = 3
    (out,) = check_op(fw_fn, torch_fn, [a, b], device=device, dtype=dtype, contiguous=False)
    td = torch_dtype(dtype)
    expected = torch_fn(torch.tensor(a, dtype=td), torch.tensor(b, dtype=td))
    assert out.dtype.name == str(expected.dtype).split(".")[-1]


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_unary_and_mixed_ops(device, dtype):
    data = values_for(dtype, 2, 5)
    ops = [(framework.abs, torch.abs), (framework.sign, torch.sign),
           (framework.square, torch.square),
           (lambda t: t + 1000, lambda t: t + 1000), (lambda t: t * 3, lambda t: t * 3),
           (lambda t: t + 0.5, lambda t: t + 0.5), (framework.sqrt, torch.sqrt),
           (lambda t: t.clamp(0, 50), lambda t: t.clamp(0, 50)),
           (lambda t: framework.where(t > 0, t, 7), lambda t: torch.where(t > 0, t, 7))]
    if dtype is not framework.uint8:
        ops.append((framework.neg, torch.neg))
    for fw_fn, torch_fn in ops:
        (out,) = check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, atol=1e-5,
                          rtol=1e-6)
    mixed = framework.tensor([200], dtype=framework.uint8, device=device) + \
        framework.tensor([-100], dtype=framework.int8, device=device)
    assert mixed.dtype is framework.int16 and mixed.tolist() == [100]


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_reductions(device, dtype):
    data = values_for(dtype, 3, 4)
    cases = [(lambda t: t.sum(), lambda t: t.sum()), (lambda t: t.sum(1), lambda t: t.sum(1)),
             (lambda t: t.prod(0), lambda t: t.prod(0)), (lambda t: t.amax(1), lambda t: t.amax(1)),
             (lambda t: t.min(), lambda t: t.min()), (lambda t: t.argmax(1), lambda t: t.argmax(1)),
             (lambda t: t.cumsum(1), lambda t: t.cumsum(1)), (lambda t: t.any(1), lambda t: t.any(1))]
    for k, (fw_fn, torch_fn) in enumerate(cases):
        (out,) = check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, contiguous=False)
        expected = torch_fn(torch.tensor(data, dtype=torch_dtype(dtype)))
        if k < len(cases) - 1:  # any(): bool here; torch keeps uint8 for uint8 inputs
            assert out.dtype.name == str(expected.dtype).split(".")[-1]  # sums: int64
    with pytest.raises(RuntimeError, match="mean\\(\\)"):
        framework.tensor([1, 2], dtype=dtype, device=device).mean()


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_indexing_and_masks(device, dtype):
    data = values_for(dtype, 4, 3)
    x, tx = framework.tensor(data, dtype=dtype, device=device), torch.tensor(data, dtype=torch_dtype(dtype))
    assert x[1:3, ::2].tolist() == tx[1:3, ::2].tolist()
    assert x[x > 0].tolist() == tx[tx > 0].tolist()
    index = framework.tensor([3, 0], device=device)
    assert x[index].tolist() == tx[torch.tensor([3, 0])].tolist()
    mask = np.array([1, 0, 2, 0], dtype=np.uint8)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        got = x[framework.tensor(mask, dtype=framework.uint8, device=device)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert got.tolist() == tx[torch.tensor(mask, dtype=torch.uint8)].tolist()
    y = x.clone()
    y[y < 0] = 5
    ty = tx.clone()
    ty[ty < 0] = 5
    assert y.tolist() == ty.tolist()
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        x[framework.tensor([1, 0], dtype=framework.int8, device=device)]


@pytest.mark.parametrize("dtype", SMALL, ids=str)
def test_printing(device, dtype):
    data = values_for(dtype, 2, 3)
    text = repr(framework.tensor(data, dtype=dtype, device=device))
    expected = repr(torch.tensor(data, dtype=torch_dtype(dtype))).replace("torch.", "framework.")
    if device == "cuda":
        expected = expected.replace(", dtype", ", device='cuda:0', dtype")
    assert text == expected
    type_name = torch.tensor([1], dtype=torch_dtype(dtype)).type().replace("torch.", "framework.")
    assert framework.tensor([1], dtype=dtype).type() == type_name


@pytest.mark.parametrize("np_dtype", [np.uint8, np.int8, np.int16])
def test_from_numpy_shares_memory(np_dtype):
    array = np.arange(6, dtype=np_dtype).reshape(2, 3)
    t = framework.from_numpy(array)
    assert t.dtype.name == np.dtype(np_dtype).name
    array[0, 0] = 42
    assert t[0, 0].item() == 42
    t[1, 2] = 7
    assert array[1, 2] == 7
    assert torch.from_numpy(array).tolist() == t.tolist()


SAME_SIZE = [(framework.float32, framework.int32), (framework.int32, framework.float32),
             (framework.int16, framework.float16), (framework.bfloat16, framework.int16),
             (framework.float16, framework.bfloat16), (framework.uint8, framework.int8),
             (framework.int8, framework.bool), (framework.bool, framework.uint8),
             (framework.float64, framework.int64)]


def _typed_values(dtype, *shape):
    if dtype is framework.bool:
        return RNG.integers(0, 2, shape).astype(bool)
    if dtype.is_floating_point:
        return RNG.standard_normal(shape) * 10
    return values_for(dtype, *shape) if dtype.itemsize < 8 else RNG.integers(-2 ** 40, 2 ** 40, shape)


@pytest.mark.parametrize("pair", SAME_SIZE, ids=lambda p: f"{p[0].name}-{p[1].name}")
def test_view_dtype_same_size(device, pair):
    src, dst = pair
    data = _typed_values(src, 3, 4)
    x = framework.tensor(data, dtype=src, device=device)
    tx = torch.tensor(x.cpu().tolist(), dtype=torch_dtype(src))
    for fw_view, torch_view in ((x.view(dst), tx.view(torch_dtype(dst))),
                                (x.t().view(dst), tx.t().view(torch_dtype(dst))),
                                (x[1:, ::2].view(dst), tx[1:, ::2].view(torch_dtype(dst)))):
        assert fw_view.dtype is dst and tuple(fw_view.shape) == tuple(torch_view.shape)
        if dst is framework.bfloat16:  # torch has no NumPy bfloat16: compare the bits
            fw_view, torch_view = fw_view.view(framework.int16), torch_view.view(torch.int16)
        assert_close(fw_view, torch_view, 0, 0, f"{src} as {dst}")
    v = x.view(dst)
    v.zero_()  # shares memory: writes through the view reach x
    assert not x.cpu().to(framework.float64).numpy().any()


def test_view_dtype_different_sizes(device):
    x = framework.arange(16, dtype=framework.int16, device=device).reshape(2, 8)
    tx = torch.arange(16, dtype=torch.int16).reshape(2, 8)
    for fw_view, torch_view in ((x.view(framework.int32), tx.view(torch.int32)),
                                (x.view(framework.int64), tx.view(torch.int64)),
                                (x.view(framework.uint8), tx.view(torch.uint8)),
                                (x[:, 2:6].view(framework.float32), tx[:, 2:6].view(torch.float32)),
                                (x[1].view(framework.int8)[3:], tx[1].view(torch.int8)[3:])):
        assert tuple(fw_view.shape) == tuple(torch_view.shape)
        assert fw_view.stride() == torch_view.stride()
        assert_close(fw_view, torch_view, 0, 0)
    y = framework.ones(3, requires_grad=True, device=device)
    assert not y.view(framework.int32).requires_grad


def test_view_dtype_errors(device):
    x = framework.arange(8, dtype=framework.int16, device=device).reshape(2, 4)
    cases = [(lambda: x.t().view(framework.int8), "stride\\(-1\\) must be 1 to view Short as Char"),
             (lambda: framework.tensor(5, dtype=framework.int16, device=device).view(framework.int8),
              "dim\\(\\) cannot be 0"),
             (lambda: x[:, 1:].view(framework.int32), "size\\(-1\\) must be divisible by 2"),
             (lambda: x[:, 1:3].view(framework.int32), "storage_offset\\(\\) must be divisible by 2"),
             (lambda: framework.ones(3, device=device).view(framework.float64),
              "to view Float as Double")]
    for fn, message in cases:
        with pytest.raises(RuntimeError, match=message):
            fn()


def test_save_load_small_integers(tmp_path, device):
    state = {d.name: framework.tensor([1, 2, 100], dtype=d, device=device) for d in SMALL}
    framework.save(state, tmp_path / "small.safetensors")
    loaded = framework.load(tmp_path / "small.safetensors")
    for name, t in state.items():
        assert loaded[name].dtype is t.dtype and loaded[name].tolist() == t.tolist()


def test_import_framework_defers_ml_dtypes_until_bfloat16_is_used():
    """``import framework`` does not import ml_dtypes (~0.5 s); bfloat16's NumPy type, its
    finfo and arrays made by ml_dtypes still work once it is used."""
    import subprocess
    import sys
    code = ("import sys, framework\n"
            "assert 'ml_dtypes' not in sys.modules\n"
            "assert framework.finfo(framework.float16).eps == 2.0 ** -10\n"
            "assert 'ml_dtypes' not in sys.modules\n"
            "assert framework.bfloat16.numpy.itemsize == framework.bfloat16.itemsize == 2\n"
            "assert 'ml_dtypes' in sys.modules\n"
            "import numpy as np, ml_dtypes\n"
            "t = framework.from_numpy(np.ones(2, ml_dtypes.bfloat16))\n"
            "assert t.dtype is framework.bfloat16 and t.tolist() == [1.0, 1.0]\n"
            "assert framework.finfo(framework.bfloat16).eps == 2.0 ** -7\n")
    subprocess.run([sys.executable, "-c", code], check=True)
