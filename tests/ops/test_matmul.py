"""matmul family (matmul/@, mm, bmm, mv, dot, outer) against PyTorch on cpu and cuda."""
import numpy as np
import pytest
import torch
from helpers import check_op
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
from framework._backends import for_device

RNG = np.random.default_rng(1234)


def randn(*shape):
    return RNG.standard_normal(shape)


# (a shape, b shape): every rank combination of PyTorch's matmul rules.
RANK_CASES = [
    ((3,), (3,)),                  # dot -> 0-d
    ((2, 3), (3,)),                # matrix @ vector
    ((3,), (3, 4)),                # vector @ matrix
    ((2, 3), (3, 4)),              # mm
    ((2, 2, 3), (3, 4)),           # batch @ matrix (folded into one product)
    ((3, 4), (2, 4, 5)),           # matrix @ batch (broadcast, stride 0)
    ((3,), (2, 3, 4)),             # vector @ batch
    ((2, 3, 4), (4,)),             # batch @ vector
    ((2, 3, 4), (2, 4, 5)),        # bmm-like
    ((2, 1, 3, 4), (5, 4, 2)),     # broadcast batch dims
    ((4, 1, 2, 3), (1, 5, 3, 2)),  # both broadcast: batch dims don't merge
    ((2, 2, 2, 3), (3,)),          # 4-d @ vector
]


def _ids(cases):
    return [f"{a}@{b}" for a, b in cases]


@pytest.mark.parametrize("a_shape,b_shape", RANK_CASES, ids=_ids(RANK_CASES))
def test_matmul_ranks(device, a_shape, b_shape):
    check_op(framework.matmul, torch.matmul, [randn(*a_shape), randn(*b_shape)], device=device)


@pytest.mark.parametrize("a_shape,b_shape", RANK_CASES, ids=_ids(RANK_CASES))
def test_matmul_ranks_non_contiguous(device, a_shape, b_shape):
    check_op(framework.matmul, torch.matmul, [randn(*a_shape), randn(*b_shape)], device=device,
             contiguous=False)


def test_matmul_operator(device):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, [randn(2, 3, 4), randn(4, 2)], device=device)


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16],
                         ids=str)
@pytest.mark.parametrize("a_shape,b_shape", [((3,), (3,)), ((5, 7), (7, 6)),
                                             ((2, 1, 3, 9), (2, 9, 4)), ((2, 3, 4), (4,))],
                         ids=_ids([((3,), (3,)), ((5, 7), (7, 6)), ((2, 1, 3, 9), (2, 9, 4)),
                                   ((2, 3, 4), (4,))]))
def test_matmul_dtypes(device, dtype, a_shape, b_shape):
    # Half types: inputs rounded to the type, fp32 accumulation, one rounding of the result.
    k = a_shape[-1]
    check_op(framework.matmul, torch.matmul, [randn(*a_shape), randn(*b_shape)], device=device,
             dtype=dtype, scale=k)


def test_matmul_result_dtype_and_layout(device):
    for dtype in (framework.float16, framework.bfloat16, framework.float32, framework.float64):
        a = framework.randn(2, 3, 4, dtype=dtype, device=device)
        b = framework.randn(4, 5, dtype=dtype, device=device).mT
        out = a @ b.mT
        assert out.dtype == dtype and out.is_contiguous()
        assert tuple(out.shape) == (2, 3, 5)


def test_transposed_operands(device):
    check_op(lambda a, b: a.mT @ b.mT, lambda a, b: a.mT @ b.mT, [randn(4, 3), randn(5, 4)],
             device=device)
    check_op(lambda a, b: framework.bmm(a.transpose(1, 2), b), lambda a, b: torch.bmm(a.mT, b),
             [randn(2, 4, 3), randn(2, 4, 5)], device=device)
    check_op(lambda a, b: a.mT @ b, lambda a, b: a.mT @ b, [randn(2, 1, 4, 3), randn(3, 4, 2)],
             device=device)


def test_expanded_and_sliced_operands(device):
    check_op(lambda a, b: a.expand(3, 2, 4) @ b[:, ::2], lambda a, b: a.expand(3, 2, 4) @ b[:, ::2],
             [randn(2, 4), randn(4, 10)], device=device)
    check_op(lambda a, b: a[1:, :3] @ b.expand(3, 4), lambda a, b: a[1:, :3] @ b.expand(3, 4),
             [randn(3, 5), randn(3, 1)], device=device)


def _count_copies(monkeypatch, device):
    backend = for_device(framework.device(device))
    calls = []
    original = backend.copy_

    def counting(dst, src):
        calls.append(tuple(dst.shape))
        return original(dst, src)

    monkeypatch.setattr(backend, "copy_", counting)
    return calls


def test_views_reach_kernel_without_copy(device, monkeypatch):
    a = framework.randn(3, 6, 4, device=device)
    b = framework.randn(5, 6, device=device)
    w = framework.randn(2, 4, 5, device=device)
    calls = _count_copies(monkeypatch, device)
    framework.matmul(a.mT, b.mT)            # transposed batch @ transposed matrix
    framework.matmul(a[:, ::2], w[:1])      # strided slice, broadcast batch of size 1
    framework.bmm(a.mT, a)                  # the same storage twice
    framework.matmul(a[0, :, 0], a)         # strided vector @ batch
    framework.matmul(a[0, 0], a.mT)         # vector @ transposed batch
    assert calls == []


def test_unmergeable_batch_is_copied_once(device, monkeypatch):
    a = framework.randn(2, 1, 3, 4, device=device)
    b = framework.randn(2, 5, 4, 2, device=device)
    calls = _count_copies(monkeypatch, device)
    out = a @ b
    assert calls == [(2, 5, 3, 4)]  # a's batch strides (12, 0) don't merge; b's do
    expected = torch.tensor(a.cpu().numpy()) @ torch.tensor(b.cpu().numpy())
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), atol=1e-5, rtol=1e-5)


EDGE_CASES = [
    ((4, 1), (1, 3)),        # K = 1
    ((1, 5), (5, 3)),        # M = 1
    ((4, 5), (5, 1)),        # N = 1
    ((1, 1), (1, 1)),
    ((0, 3), (3, 4)),        # M = 0
    ((3, 4), (4, 0)),        # N = 0
    ((3, 0), (0, 4)),        # K = 0 -> zeros
    ((2, 3, 0), (0, 2)),
    ((0, 2, 3), (3, 2)),     # empty batch
    ((0,), (0,)),            # empty dot -> 0
    ((70, 20), (20, 65)),    # several tiles, M/N not multiples of the block
    ((3, 17, 33), (33, 9)),  # K not a multiple of the block
]


@pytest.mark.parametrize("a_shape,b_shape", EDGE_CASES, ids=_ids(EDGE_CASES))
def test_matmul_edge_shapes(device, a_shape, b_shape):
    check_op(framework.matmul, torch.matmul, [randn(*a_shape), randn(*b_shape)], device=device,
             scale=max(a_shape[-1], 1))


def test_zero_k_gives_zeros(device):
    out = framework.matmul(framework.randn(3, 0, device=device), framework.randn(0, 4, device=device))
    assert out.cpu().numpy().tolist() == [[0.0] * 4] * 3


def test_grouped_tile_order(monkeypatch):
    """Many small tiles with partial groups: every (pid_m, pid_n) is covered exactly once."""
    from framework._backends.triton import runtime
    kernels = runtime.kernels().matmul
    config = {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16, "GROUP_M": 2, "SPLIT_K": 1,
              "num_warps": 4, "num_stages": 1}
    monkeypatch.setattr(kernels, "default_config", lambda *args, **kwargs: config)
    check_op(framework.matmul, torch.matmul, [randn(2, 50, 20), randn(20, 40)], device="cuda")


@pytest.mark.parametrize("split", [2, 3])
@pytest.mark.parametrize("dtype", [framework.float32, framework.bfloat16], ids=str)
def test_split_k_sums_the_partial_products(monkeypatch, split, dtype):
    """Split-K: K = 70 in blocks of 16 (5 blocks) over 2 or 3 splits, one split left short."""
    from framework._backends.triton import runtime
    kernels = runtime.kernels().matmul
    config = {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16, "GROUP_M": 8, "SPLIT_K": split,
              "num_warps": 4, "num_stages": 1}
    monkeypatch.setattr(kernels, "default_config", lambda *args, **kwargs: config)
    check_op(framework.matmul, torch.matmul, [randn(2, 5, 70), randn(70, 6)], device="cuda",
             dtype=dtype, contiguous=False)


def test_batch_launched_in_chunks(monkeypatch):
    from framework._backends.triton import matmul as launcher
    monkeypatch.setattr(launcher, "_MAX_GRID_BATCH", 2)
    check_op(framework.bmm, torch.bmm, [randn(5, 2, 3), randn(5, 3, 2)], device="cuda",
             contiguous=False)


@pytest.mark.parametrize("dtype", [framework.int32, framework.int64], ids=str)
def test_integer_matmul_cpu(dtype):
    a = RNG.integers(-5, 6, size=(2, 3, 4))
    b = RNG.integers(-5, 6, size=(4, 5))
    out = check_op(framework.matmul, torch.matmul, [a, b], dtype=dtype, grad=False)[0]
    assert out.dtype == dtype
    check_op(framework.dot, torch.dot, [a[0, 0], b[:, 0]], dtype=dtype, grad=False)
    check_op(framework.mv, torch.mv, [a[0], b[:, 0]], dtype=dtype, grad=False)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2), st.integers(1, 9), st.integers(0, 9), st.integers(1, 9),
       st.sampled_from(["cpu", "cuda"]), st.booleans())
def test_matmul_random_shapes(batch, m, k, n, device, contiguous):
    a_shape = (batch, m, k) if batch else (m, k)
    check_op(framework.matmul, torch.matmul, [randn(*a_shape), randn(k, n)], device=device,
             contiguous=contiguous, scale=max(k, 1))


# --- mm, bmm, mv, dot, outer ------------------------------------------------------------------
@pytest.mark.parametrize("contiguous", [True, False])
def test_mm(device, contiguous):
    check_op(framework.mm, torch.mm, [randn(3, 5), randn(5, 4)], device=device,
             contiguous=contiguous)
    check_op(lambda a, b: a.mm(b), torch.mm, [randn(1, 2), randn(2, 1)], device=device)


@pytest.mark.parametrize("contiguous", [True, False])
def test_bmm(device, contiguous):
    check_op(framework.bmm, torch.bmm, [randn(3, 2, 5), randn(3, 5, 4)], device=device,
             contiguous=contiguous)
    check_op(lambda a, b: a.bmm(b), torch.bmm, [randn(0, 2, 5), randn(0, 5, 4)], device=device)


@pytest.mark.parametrize("contiguous", [True, False])
def test_mv(device, contiguous):
    check_op(framework.mv, torch.mv, [randn(4, 6), randn(6)], device=device, contiguous=contiguous)
    check_op(lambda a, b: a.mv(b), torch.mv, [randn(3, 1), randn(1)], device=device)


@pytest.mark.parametrize("contiguous", [True, False])
def test_dot(device, contiguous):
    out = check_op(framework.dot, torch.dot, [randn(7), randn(7)], device=device,
                   contiguous=contiguous)[0]
    assert out.ndim == 0
    check_op(lambda a, b: a.dot(b), torch.dot, [randn(1), randn(1)], device=device)


@pytest.mark.parametrize("contiguous", [True, False])
def test_outer(device, contiguous):
    check_op(framework.outer, torch.outer, [randn(4), randn(3)], device=device,
             contiguous=contiguous)
    check_op(lambda a, b: a.outer(b), torch.outer, [randn(0), randn(2)], device=device)


def test_outer_promotes(device):
    a = framework.tensor([1.0, 2.0], dtype=framework.float32, device=device)
    b = framework.tensor([3, 4, 5], dtype=framework.int64, device=device)
    out = framework.outer(a, b)
    assert out.dtype == framework.float32
    assert out.cpu().numpy().tolist() == [[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16],
                         ids=str)
def test_vector_products_dtypes(device, dtype):
    check_op(framework.mm, torch.mm, [randn(3, 5), randn(5, 2)], device=device, dtype=dtype, scale=5)
    check_op(framework.bmm, torch.bmm, [randn(2, 3, 5), randn(2, 5, 2)], device=device,
             dtype=dtype, scale=5)
    check_op(framework.mv, torch.mv, [randn(3, 5), randn(5)], device=device, dtype=dtype, scale=5)
    check_op(framework.dot, torch.dot, [randn(5), randn(5)], device=device, dtype=dtype, scale=5)
    check_op(framework.outer, torch.outer, [randn(3), randn(2)], device=device, dtype=dtype)


# --- second derivatives ----------------------------------------------------------------------
GRADGRAD_CASES = [  # tiny: finite differences of the first derivative cost O(numel^2) passes
    (framework.matmul, (2, 1, 1, 2), (2, 2, 2)),  # broadcast batch on both sides
    (framework.matmul, (2, 2), (2,)),
    (framework.matmul, (2,), (2, 2, 1)),
    (framework.matmul, (2, 1, 2), (2, 2)),        # batch @ matrix: folded rows
    (framework.mm, (2, 2), (2, 1)),
    (framework.bmm, (2, 1, 2), (2, 2, 1)),
    (framework.mv, (2, 2), (2,)),
    (framework.dot, (3,), (3,)),
    (framework.outer, (2,), (2,)),
]


@pytest.mark.parametrize("fn,a_shape,b_shape", GRADGRAD_CASES,
                         ids=[f"{f.__name__}-{a}@{b}" for f, a, b in GRADGRAD_CASES])
def test_gradgradcheck(device, fn, a_shape, b_shape):
    a = framework.tensor(randn(*a_shape), dtype=framework.float64, device=device, requires_grad=True)
    b = framework.tensor(randn(*b_shape), dtype=framework.float64, device=device, requires_grad=True)
    assert framework.autograd.gradcheck(fn, (a, b))
    assert framework.autograd.gradgradcheck(fn, (a, b))


def test_grad_of_one_operand_only(device):
    a = framework.randn(2, 3, device=device, requires_grad=True)
    b = framework.randn(3, 4, device=device)
    (a @ b).sum().backward()
    assert b.grad is None
    expected = np.ones((2, 4)) @ b.cpu().numpy().T
    np.testing.assert_allclose(a.grad.cpu().numpy(), expected, atol=1e-5, rtol=1e-5)


# --- bad input ---------------------------------------------------------------------------------
def _t(*shape, dtype=framework.float32, device="cpu"):
    return framework.zeros(*shape, dtype=dtype, device=device)


BAD_SHAPES = [
    (framework.matmul, (2, 3), (4, 5), r"matmul\(\): mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (framework.matmul, (2, 2, 3), (4, 5), r"matmul\(\): mat1 and mat2 shapes cannot be multiplied \(4x3 and 4x5\)"),
    (framework.matmul, (), (2, 3), r"matmul\(\): both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    (framework.matmul, (2, 3), (), r"matmul\(\): both arguments to matmul need to be at least 1D, but they are 2D and 0D"),
    (framework.matmul, (3,), (4,), r"matmul\(\): inconsistent tensor size, expected tensor \[3\] and src \[4\]"),
    (framework.matmul, (2, 3), (4,), r"matmul\(\): size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (framework.matmul, (4,), (2, 3), r"matmul\(\): mat1 and mat2 shapes cannot be multiplied \(1x4 and 2x3\)"),
    (framework.matmul, (2, 2, 3), (3, 3, 5), r"matmul\(\): The size of tensor a \(2\) must match the size of tensor b \(3\)"),
    (framework.matmul, (2, 2, 3), (2, 4, 5), r"matmul\(\): Expected size for first two dimensions of batch2 tensor to be: \[2, 3\] but got: \[2, 4\]"),
    (framework.mm, (2, 3), (4, 5), r"mm\(\): mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (framework.mm, (2, 3, 4), (4, 5), r"mm\(\): self must be a matrix"),
    (framework.mm, (2, 3), (3,), r"mm\(\): mat2 must be a matrix"),
    (framework.bmm, (2, 3), (2, 3, 4), r"bmm\(\): batch1 must be a 3D tensor"),
    (framework.bmm, (2, 3, 4), (4, 5), r"bmm\(\): batch2 must be a 3D tensor"),
    (framework.bmm, (2, 3, 4), (3, 4, 5), r"bmm\(\): Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[3, 4\]"),
    (framework.bmm, (2, 3, 4), (1, 4, 5), r"bmm\(\): Expected size"),  # no broadcasting
    (framework.mv, (2, 3), (4,), r"mv\(\): size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (framework.mv, (2, 3), (3, 1), r"mv\(\): vector \+ matrix @ vector expected, got 1, 2, 2"),
    (framework.mv, (3,), (3,), r"mv\(\): vector \+ matrix @ vector expected, got 1, 1, 1"),
    (framework.dot, (3,), (4,), r"dot\(\): inconsistent tensor size, expected tensor \[3\] and src \[4\]"),
    (framework.dot, (2, 3), (3,), r"dot\(\): 1D tensors expected, but got 2D and 1D tensors"),
    (framework.outer, (2, 2), (3,), r"outer\(\): Expected 1-D argument self, but got 2-D"),
    (framework.outer, (2,), (), r"outer\(\): Expected 1-D argument vec2, but got 0-D"),
]


@pytest.mark.parametrize("fn,a_shape,b_shape,message", BAD_SHAPES,
                         ids=[f"{f.__name__}-{a}@{b}" for f, a, b, _ in BAD_SHAPES])
def test_bad_shapes(fn, a_shape, b_shape, message):
    with pytest.raises(RuntimeError, match=message):
        fn(_t(*a_shape), _t(*b_shape))
    torch_fn = getattr(torch, fn.__name__)
    with pytest.raises(RuntimeError):  # PyTorch rejects the same shapes
        torch_fn(torch.zeros(a_shape), torch.zeros(b_shape))


BAD_DTYPES = [
    (framework.matmul, (2, 3), (3, 2), r"matmul\(\): expected m1 and m2 to have the same dtype, but got: float != double"),
    (framework.matmul, (2, 2, 3), (2, 3, 2), r"matmul\(\): expected m1 and m2 to have the same dtype"),
    (framework.matmul, (3,), (3,), r"matmul\(\): dot : expected both vectors to have same dtype, but found Float and Double"),
    (framework.matmul, (2, 3), (3,), r"matmul\(\): addmv input tensors must have the same dtype"),
    (framework.mm, (2, 3), (3, 2), r"mm\(\): expected m1 and m2 to have the same dtype, but got: float != double"),
    (framework.bmm, (2, 2, 3), (2, 3, 2), r"bmm\(\): expected scalar type Float but found Double"),
    (framework.mv, (2, 3), (3,), r"mv\(\): addmv input tensors must have the same dtype"),
    (framework.dot, (3,), (3,), r"dot\(\): dot : expected both vectors to have same dtype, but found Float and Double"),
]


@pytest.mark.parametrize("fn,a_shape,b_shape,message", BAD_DTYPES,
                         ids=[f"{f.__name__}-{a}@{b}" for f, a, b, _ in BAD_DTYPES])
def test_no_dtype_promotion(fn, a_shape, b_shape, message):
    with pytest.raises(RuntimeError, match=message):
        fn(_t(*a_shape), _t(*b_shape, dtype=framework.float64))
    torch_fn = getattr(torch, fn.__name__)
    with pytest.raises(RuntimeError):
        torch_fn(torch.zeros(a_shape), torch.zeros(b_shape, dtype=torch.float64))


def test_bad_types():
    with pytest.raises(TypeError, match=r"matmul\(\): argument 'other' must be Tensor"):
        framework.matmul(_t(2, 2), [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match=r"mm\(\): argument 'input' must be Tensor"):
        framework.mm(np.zeros((2, 2)), _t(2, 2))
    with pytest.raises(TypeError, match=r"outer\(\): argument 'vec2' must be Tensor"):
        framework.outer(_t(2), 3.0)


def test_device_mismatch():
    for fn, a_shape, b_shape in [(framework.matmul, (2, 3), (3, 2)), (framework.mm, (2, 3), (3, 2)),
                                 (framework.bmm, (1, 2, 3), (1, 3, 2)), (framework.mv, (2, 3), (3,)),
                                 (framework.dot, (3,), (3,)), (framework.outer, (2,), (3,))]:
        with pytest.raises(RuntimeError, match=rf"{fn.__name__}\(\): Expected all tensors to be on the same device"):
            fn(_t(*a_shape), _t(*b_shape, device="cuda"))


@pytest.mark.parametrize("dtype", [framework.int32, framework.int64], ids=str)
def test_integer_matmul_cuda_not_implemented(dtype):
    a = _t(2, 3, dtype=dtype, device="cuda")
    b = _t(3, 2, dtype=dtype, device="cuda")
    name = {"int32": "Int", "int64": "Long"}[dtype.name]
    for fn, x, y in [(framework.matmul, a, b), (framework.mm, a, b), (framework.mv, a, b[:, 0]),
                     (framework.dot, a[0], b[:, 0]), (framework.bmm, a[None], b[None])]:
        with pytest.raises(RuntimeError, match=rf"{fn.__name__}\(\): .*not implemented for '{name}'"):
            fn(x, y)


def test_bool_matmul_not_implemented(device):
    a = _t(2, 2, dtype=framework.bool, device=device)
    with pytest.raises(RuntimeError, match=r"matmul\(\): .*not implemented for 'Bool'"):
        framework.matmul(a, a)
    with pytest.raises(NotImplementedError):
        torch.matmul(torch.zeros(2, 2, dtype=torch.bool), torch.zeros(2, 2, dtype=torch.bool))


def test_registered():
    from framework.ops.registry import OPS
    for name in ("matmul", "mm", "bmm", "mv", "dot", "outer"):
        assert OPS[name].family == "matmul"
    assert "matmul" in OPS["matmul"].kernels
    assert set(for_device(framework.device("cpu")).kernels) >= {"matmul"}


# --- linear: matmul with the fused epilogue ---------------------------------------------------
import torch.nn.functional as TF  # noqa: E402

import framework.nn.functional as F  # noqa: E402

_TORCH_ACTIVATIONS = {
    None: lambda v: v, "relu": torch.relu, "gelu": TF.gelu, "silu": TF.silu,
    "gelu_tanh": lambda v: TF.gelu(v, approximate="tanh"),
}


@pytest.mark.parametrize("x_shape", [(3, 4), (2, 3, 4), (4,), (0, 4)], ids=str)
def test_linear_matches_torch(device, x_shape):
    check_op(F.linear, TF.linear, [randn(*x_shape), randn(5, 4), randn(5)], device=device)
    check_op(F.linear, TF.linear, [randn(*x_shape), randn(5, 4)], device=device,
             contiguous=False)


@pytest.mark.parametrize("activation", list(_TORCH_ACTIVATIONS), ids=str)
def test_linear_fused_activation_and_residual(device, activation):
    def ours(x, w, b, r):
        return F.linear(x, w, b, activation=activation, residual=r)

    def theirs(x, w, b, r):
        return _TORCH_ACTIVATIONS[activation](TF.linear(x, w, b)) + r

    check_op(ours, theirs, [randn(2, 3, 4), randn(5, 4), randn(5), randn(3, 5)], device=device)
    check_op(ours, theirs, [randn(3, 4), randn(5, 4), randn(5), randn(3, 5)], device=device,
             dtype=framework.bfloat16)


def test_linear_epilogue_after_split_k(monkeypatch):
    """A split-K config applies the epilogue after summing the partial products."""
    from framework._backends.triton import runtime
    kernels = runtime.kernels().matmul
    config = {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16, "GROUP_M": 8, "SPLIT_K": 2,
              "num_warps": 4, "num_stages": 1}
    monkeypatch.setattr(kernels, "default_config", lambda *args, **kwargs: config)
    check_op(lambda x, w, b, r: F.linear(x, w, b, activation="silu", residual=r),
             lambda x, w, b, r: TF.silu(TF.linear(x, w, b)) + r,
             [randn(3, 40), randn(5, 40), randn(5), randn(5)], device="cuda")


def test_linear_second_derivative():
    from framework.autograd import gradgradcheck
    x = framework.tensor(randn(2, 3), dtype=framework.float64, requires_grad=True)
    w = framework.tensor(randn(4, 3), dtype=framework.float64, requires_grad=True)
    b = framework.tensor(randn(4), dtype=framework.float64, requires_grad=True)
    assert gradgradcheck(lambda *t: F.linear(*t, activation="gelu"), (x, w, b))


@pytest.mark.parametrize("args,kwargs,error,match", [
    ((randn(3, 4), randn(5, 3)), {}, RuntimeError, "cannot be multiplied"),
    ((randn(3, 4), randn(5, 4), randn(4)), {}, RuntimeError, "bias of shape"),
    ((randn(3, 4), randn(4)), {}, RuntimeError, "weight must be 2-D"),
    ((randn(3, 4), randn(5, 4)), {"activation": "tanh"}, ValueError, "activation must be"),
    ((randn(3, 4), randn(5, 4)), {"residual": randn(2, 5)}, RuntimeError, "broadcast"),
])
def test_linear_bad_input(args, kwargs, error, match):
    tensors = [framework.tensor(a, dtype=framework.float32) for a in args]
    kwargs = {k: framework.tensor(v, dtype=framework.float32) if isinstance(v, np.ndarray)
              else v for k, v in kwargs.items()}
    with pytest.raises(error, match=match):
        F.linear(*tensors, **kwargs)


def test_linear_dtype_mismatch_raises():
    with pytest.raises(RuntimeError, match="dtype"):
        F.linear(framework.ones(2, 3), framework.ones(4, 3, dtype=framework.float64))


def test_bilinear_matches_torch(device):
    check_op(F.bilinear, TF.bilinear, [randn(2, 3), randn(2, 4), randn(5, 3, 4), randn(5)],
             device=device)
    with pytest.raises(RuntimeError, match="same size except the last"):
        F.bilinear(framework.ones(2, 3), framework.ones(3, 4), framework.ones(5, 3, 4))


# --- compositions: addmm, baddbmm, addmv, tensordot, inner, einsum, cdist ---------------------
def test_addmm_baddbmm_addmv_match_torch(device):
    check_op(lambda i, a, b: framework.addmm(i, a, b, beta=0.5, alpha=2.0),
             lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=2.0),
             [randn(3), randn(2, 4), randn(4, 3)], device=device)
    check_op(lambda i, a, b: framework.baddbmm(i, a, b, alpha=0.5),
             lambda i, a, b: torch.baddbmm(i, a, b, alpha=0.5),
             [randn(2, 3, 5), randn(2, 3, 4), randn(2, 4, 5)], device=device)
    check_op(lambda i, a, v: framework.addmv(i, a, v), lambda i, a, v: torch.addmv(i, a, v),
             [randn(3), randn(3, 4), randn(4)], device=device)


def test_addmm_with_beta_zero_ignores_nan_input():
    out = framework.addmm(framework.tensor([float("nan")] * 2), framework.ones(2, 3),
                          framework.ones(3, 2), beta=0)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize("dims,shapes", [
    (2, ((3, 4, 2), (4, 2, 5))), (1, ((3, 4, 2), (2, 5))), (0, ((2, 3), (4,))),
    (([0, 2], [1, 0]), ((3, 4, 2), (2, 3, 5))),
], ids=["2", "1", "0", "pairs"])
def test_tensordot_matches_torch(device, dims, shapes):
    check_op(lambda x, y: framework.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims),
             [randn(*shapes[0]), randn(*shapes[1])], device=device)


def test_inner_matches_torch(device):
    check_op(framework.inner, torch.inner, [randn(2, 3, 4), randn(5, 4)], device=device)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(3, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bij->", [(2, 3, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("bi,bi->b", [(3, 4), (1, 4)]),
])
def test_einsum_matches_torch(device, equation, shapes):
    check_op(lambda *t: framework.einsum(equation, *t), lambda *t: torch.einsum(equation, *t),
             [randn(*s) for s in shapes], device=device)


def test_einsum_bad_input():
    with pytest.raises(RuntimeError, match="number of subscripts"):
        framework.einsum("ij,jk->ik", framework.ones(2), framework.ones(2, 2))
    with pytest.raises(ValueError, match="operand subscripts"):
        framework.einsum("ij,jk->ik", framework.ones(2, 2))
    with pytest.raises(ValueError, match="does not appear"):
        framework.einsum("ij->k", framework.ones(2, 2))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_cdist_matches_torch(device, p):
    check_op(lambda a, b: framework.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p),
             [randn(2, 3, 4), randn(2, 5, 4)], device=device)
    with pytest.raises(RuntimeError, match="same number of columns"):
        framework.cdist(framework.ones(2, 3), framework.ones(2, 4))


# (device, dtype) of the half-precision rounding tests: bfloat16 on cpu only, as the Triton
# interpreter (cuda in CI) casts float32 to bfloat16 by truncation, not to nearest as GPUs
# and NumPy do, so half its roundings differ from torch's whatever the op computes
HALF_CASES = [("cpu", "bfloat16"), ("cpu", "float16"), ("cuda", "float16")]


@pytest.mark.parametrize("device, dtype", HALF_CASES)
def test_half_addmm_baddbmm_round_once_like_torch(device, dtype):
    """``beta * input + alpha * (a @ b)`` on half tensors is computed in float32 and rounded
    once (torch's opmath), not rounded after the product and again after each term: torch's
    half results, up to a rare last-unit flip from the BLAS's summation order (rounding
    twice differed in about a third of the elements)."""
    ours_dtype, torch_dtype = getattr(framework, dtype), getattr(torch, dtype)
    rng = np.random.default_rng(5)
    cases = [("addmm", (16, 8), (16, 32), (32, 8)), ("baddbmm", (2, 8, 6), (2, 8, 12), (2, 12, 6))]
    for name, *shapes in cases:
        arrays = [rng.standard_normal(s) for s in shapes]
        ours = getattr(framework, name)(*[framework.tensor(a, dtype=ours_dtype, device=device)
                                          for a in arrays], beta=0.7, alpha=0.3)
        theirs = getattr(torch, name)(*[torch.tensor(a, dtype=torch_dtype) for a in arrays],
                                      beta=0.7, alpha=0.3)
        assert ours.dtype is ours_dtype
        differ = (ours.float().cpu().numpy() != theirs.float().numpy()).mean()
        assert differ <= 0.02, f"{name}: {differ:.0%} of the elements differ from torch's"
