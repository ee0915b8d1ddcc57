"""scaled_dot_product_attention against PyTorch's (float64) on cpu (NumPy) and cuda (Triton).

Shapes stay tiny (the interpreter runs each program instance in ~1.5 ms):
one (batch, head) tile of 16 queries x 16 keys per program there, so the
causal and multi-block tests use L, S > 16 to cross block edges.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from helpers import assert_close, check_op, make_input

OP = "scaled_dot_product_attention"


def randn(*shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def attention(**kwargs):
    """The framework op and the PyTorch oracle, with ``kwargs``; a mask comes as a 4th input."""
    def fw(q, k, v, *mask):
        return F.scaled_dot_product_attention(q, k, v, *mask, **kwargs)

    def oracle(q, k, v, *mask):
        return TF.scaled_dot_product_attention(q, k, v, *mask, **kwargs)
    return fw, oracle


def qkv(q_shape, k_shape, v_shape):
    return [randn(*q_shape, seed=1), randn(*k_shape, seed=2), randn(*v_shape, seed=3)]


# --- forward and gradients --------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [
    ((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)),      # batch, heads, L != S
    ((2, 5, 8), (2, 7, 8), (2, 7, 6)),               # no head dim, Ev != E
    ((5, 8), (7, 8), (7, 8)),                        # 2-D
    ((2, 1, 5, 8), (1, 3, 7, 8), (1, 3, 7, 8)),      # broadcast batch dims
    ((1, 2, 20, 8), (1, 2, 37, 8), (1, 2, 37, 12)),  # several key blocks
])
def test_matches_torch(device, shapes):
    check_op(*attention(), qkv(*shapes), device=device)


def test_custom_scale(device):
    check_op(*attention(scale=0.7), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 6)), device=device)


def test_head_dim_not_a_power_of_two(device):
    check_op(*attention(), qkv((1, 1, 5, 20), (1, 1, 7, 20), (1, 1, 7, 3)), device=device)


@pytest.mark.parametrize("lengths", [(5, 5), (5, 7), (7, 5), (37, 20), (20, 37)])
def test_causal(device, lengths):
    """Top-left aligned causal mask (key j <= query i), across block edges when > 16."""
    L, S = lengths
    check_op(*attention(is_causal=True), qkv((1, 2, L, 8), (1, 2, S, 8), (1, 2, S, 8)),
             device=device)


def test_bool_mask_broadcast_with_a_fully_masked_row(device):
    """A (L, S) bool mask over every batch entry; an all-False row gives 0 output and no gradient."""
    mask = np.random.default_rng(4).random((5, 7)) > 0.4
    mask[2] = False
    check_op(*attention(), qkv((2, 2, 5, 8), (2, 2, 7, 8), (2, 2, 7, 8)) + [mask], device=device,
             input_dtypes=[None, None, None, framework.bool])


def test_bool_mask_broadcast_over_rows(device):
    mask = np.random.default_rng(5).random((2, 1, 1, 7)) > 0.5
    mask[..., 0] = True
    check_op(*attention(), qkv((2, 2, 5, 8), (2, 2, 7, 8), (2, 2, 7, 8)) + [mask], device=device,
             input_dtypes=[None, None, None, framework.bool])


def test_float_mask_and_its_gradient(device):
    """A float mask is added to the scores; -inf rows give 0; the mask's gradient is dS."""
    mask = randn(2, 5, 7, seed=6)
    mask[0, 1] = -np.inf
    mask[1, 3, :4] = -np.inf
    check_op(*attention(), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)) + [mask], device=device)


def test_float_mask_without_gradient(device):
    def fw(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, mask.detach())

    def oracle(q, k, v, mask):
        return TF.scaled_dot_product_attention(q, k, v, mask.detach())
    check_op(fw, oracle, qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)) + [randn(5, 7, seed=11)],
             device=device)


def test_float_mask_broadcast_over_rows(device):
    check_op(*attention(), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)) + [randn(7, seed=7)],
             device=device)


def test_non_contiguous(device):
    mask = randn(1, 2, 5, 7, seed=8)
    check_op(*attention(), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 6)) + [mask], device=device,
             contiguous=False)


def test_transposed_heads(device):
    """(B, L, H, E).transpose(1, 2): batch dims with non-mergeable strides, read in place."""
    arrays = qkv((2, 5, 3, 8), (2, 7, 3, 8), (2, 7, 3, 8))

    def fw(q, k, v):
        return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                              v.transpose(1, 2), is_causal=True)

    def oracle(q, k, v):
        return TF.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                               v.transpose(1, 2), is_causal=True)
    check_op(fw, oracle, arrays, device=device)


def test_three_batch_dims_with_broadcast_mask(device):
    """More batch dims than the kernels' two: broadcast operands are copied, results still match."""
    mask = np.random.default_rng(9).random((2, 1, 2, 5, 7)) > 0.3
    check_op(*attention(), qkv((2, 3, 2, 5, 8), (1, 3, 1, 7, 8), (2, 3, 2, 7, 8)) + [mask],
             device=device, input_dtypes=[None, None, None, framework.bool])


def test_enable_gqa(device):
    check_op(*attention(enable_gqa=True), qkv((1, 4, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)),
             device=device)


@pytest.mark.parametrize("shapes", [
    ((1, 1, 1, 8), (1, 1, 1, 8), (1, 1, 1, 8)),  # L = S = 1
    ((1, 2, 0, 8), (1, 2, 7, 8), (1, 2, 7, 8)),  # L = 0
    ((1, 2, 5, 8), (1, 2, 0, 8), (1, 2, 0, 8)),  # S = 0: output 0
    ((0, 2, 5, 8), (0, 2, 7, 8), (0, 2, 7, 8)),  # empty batch
    ((1, 1, 3, 0), (1, 1, 4, 0), (1, 1, 4, 2)),  # E = 0: uniform weights
])
def test_edge_shapes(device, shapes):
    check_op(*attention(), qkv(*shapes), device=device)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16, framework.float64])
def test_dtypes(device, dtype):
    check_op(*attention(is_causal=True), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)),
             device=device, dtype=dtype)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16])
def test_half_float_mask(device, dtype):
    mask = randn(5, 7, seed=10)
    check_op(*attention(), qkv((1, 2, 5, 8), (1, 2, 7, 8), (1, 2, 7, 8)) + [mask], device=device,
             dtype=dtype)


# --- dropout ----------------------------------------------------------------------------------
def _inputs(device, S=7, Ev=None, requires_grad=False):
    q = make_input(randn(1, 2, 5, 8, seed=1), framework.float32, device, requires_grad)
    k = make_input(randn(1, 2, S, 8, seed=2), framework.float32, device, requires_grad)
    v = make_input(randn(1, 2, S, Ev or 8, seed=3), framework.float32, device, requires_grad)
    return q, k, v


def test_dropout_zero_is_no_dropout(device):
    q, k, v = _inputs(device)
    plain = F.scaled_dot_product_attention(q, k, v)
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    np.testing.assert_array_equal(host(plain), host(zero))


def test_dropout_is_reproducible_for_a_seed(device):
    q, k, v = _inputs(device)
    framework.manual_seed(3)
    first = host(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    second = host(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    framework.manual_seed(3)
    again = host(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second), "the generator's offset did not advance"


def _dropout_mask(device, p: float, seed: int) -> np.ndarray:
    """The kept weights of a call at ``seed``: with v = identity the output is the weight matrix."""
    q, k, _ = _inputs(device)
    eye = framework.tensor(np.broadcast_to(np.eye(7), (1, 2, 7, 7)).copy(), dtype=framework.float32,
                           device=device)
    framework.manual_seed(seed)
    return host(F.scaled_dot_product_attention(q, k, eye, dropout_p=p)) != 0


def test_dropout_rate_and_gradients_match_the_same_mask(device):
    """Forward and q/k/v gradients equal a float64 composite using the very mask the op drew."""
    p = 0.4
    keep = _dropout_mask(device, p, seed=11)
    assert 0.25 < 1 - keep.mean() < 0.55, f"dropped fraction {1 - keep.mean():.2f} for p={p}"
    q, k, v = _inputs(device, Ev=6, requires_grad=True)
    framework.manual_seed(11)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    grad = randn(1, 2, 5, 6, seed=12)
    got = framework.autograd.grad([out], [q, k, v], [framework.tensor(grad, dtype=framework.float32,
                                                                      device=device)])
    tq, tk, tv = (torch.tensor(t.detach().cpu().to(framework.float64).numpy(), requires_grad=True)
                  for t in (q, k, v))
    weights = torch.softmax(tq @ tk.mT / np.sqrt(8), dim=-1)
    want = (weights * torch.tensor(keep) / (1 - p)) @ tv
    want_grads = torch.autograd.grad([want], [tq, tk, tv], [torch.tensor(grad)])
    assert_close(out, want, 2e-5, 2e-4, "dropout forward")
    for name, a, b in zip("qkv", got, want_grads):
        assert_close(a, b, 1e-4, 1e-3, f"dropout gradient of {name}")


def test_dropout_one_drops_everything(device):
    q, k, v = _inputs(device)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    np.testing.assert_array_equal(host(out), np.zeros((1, 2, 5, 8), dtype=np.float32))


# --- autograd and errors ----------------------------------------------------------------------
def test_double_backward_raises(device):
    q, k, v = _inputs(device, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v)
    (grad_q,) = framework.autograd.grad([out.sum()], [q], create_graph=True)
    with pytest.raises(RuntimeError, match=f"{OP}.*double backward"):
        framework.autograd.grad([grad_q.sum()], [q])


def test_exported_in_functional():
    assert framework.nn.functional.scaled_dot_product_attention is F.scaled_dot_product_attention
    from framework.ops import attention
    assert "scaled_dot_product_attention" in attention.FUNCTIONAL


def _call(device, q_shape=(2, 5, 8), k_shape=(2, 7, 8), v_shape=(2, 7, 8), mask=None,
          dtypes=(framework.float32,) * 3, **kwargs):
    q, k, v = (framework.zeros(*s, dtype=d, device=device)
               for s, d in zip((q_shape, k_shape, v_shape), dtypes))
    if mask is not None:
        mask = mask.to(device)
    return F.scaled_dot_product_attention(q, k, v, mask, **kwargs)


@pytest.mark.parametrize("case, error", [
    (dict(k_shape=(2, 7, 6), v_shape=(2, 7, 6)), RuntimeError),   # E of key != E of query
    (dict(v_shape=(2, 6, 8)), RuntimeError),                      # S of value != S of key
    (dict(q_shape=(3, 5, 8)), RuntimeError),                      # batch dims don't broadcast
    (dict(q_shape=(8,)), RuntimeError),                           # 1-D query
    (dict(dtypes=(framework.float32, framework.float32, framework.float64)), RuntimeError),
    (dict(dtypes=(framework.int64,) * 3), RuntimeError),
    (dict(mask=framework.ones(5, 7, dtype=framework.bool), is_causal=True), RuntimeError),
    (dict(mask=framework.ones(5, 7, dtype=framework.int64)), RuntimeError),
    (dict(mask=framework.ones(4, 7, dtype=framework.bool)), RuntimeError),
    (dict(dropout_p=1.5), RuntimeError),
    (dict(q_shape=(1, 4, 5, 8), k_shape=(1, 3, 7, 8), v_shape=(1, 3, 7, 8), enable_gqa=True),
     RuntimeError),
])
def test_bad_input_raises_like_torch(device, case, error):
    torch_case = dict(case)
    to_torch = {framework.float32: torch.float32, framework.float64: torch.float64,
                framework.int64: torch.int64, framework.bool: torch.bool}
    shapes = [torch_case.pop(n, d) for n, d in (("q_shape", (2, 5, 8)), ("k_shape", (2, 7, 8)),
                                                 ("v_shape", (2, 7, 8)))]
    dtypes = torch_case.pop("dtypes", (framework.float32,) * 3)
    mask = torch_case.pop("mask", None)
    tensors = [torch.zeros(*s, dtype=to_torch[d]) for s, d in zip(shapes, dtypes)]
    torch_mask = None if mask is None else torch.ones(tuple(mask.shape), dtype=to_torch[mask.dtype])
    with pytest.raises(error):
        TF.scaled_dot_product_attention(*tensors, torch_mask, **torch_case)
    with pytest.raises(error, match=OP):
        _call(device, **case)


def test_non_tensor_raises_type_error():
    with pytest.raises(TypeError, match=OP):
        F.scaled_dot_product_attention(np.zeros((5, 8)), framework.zeros(7, 8), framework.zeros(7, 8))
