"""NaN and ±inf propagate through every reduction-like op as in PyTorch, on cpu and cuda.

One table of ops, each run by ``check_op`` (float64 PyTorch oracle, outputs and input
gradients compared with NaN positions and signed infinities equal) on one matrix whose
rows hold the cases that break reductions: NaN, +inf, -inf, all -inf, all +inf, all NaN,
mixed and ties. Rows are 5 wide, so every kernel also runs its masked tail lanes. Longer
rows take the looping paths (chunked online softmax and logsumexp, Chan merges) and the
split paths (several programs per row, then a combine launch). See docs/semantics.md.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from helpers import check_op

NAN, INF = float("nan"), float("inf")
F32, F64 = framework.float32, framework.float64

# NaN/inf results are the point here: NumPy and the interpreter warn about them.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:All-NaN slice encountered:RuntimeWarning")]

ROWS = np.array([
    [0.5, -1.0, 2.0, 0.25, 1.5],     # finite
    [0.5, NAN, 2.0, 0.25, 1.5],      # one NaN
    [0.5, INF, 2.0, 0.25, 1.5],      # one +inf
    [0.5, -INF, 2.0, 0.25, 1.5],     # one -inf
    [-INF, -INF, -INF, -INF, -INF],  # all -inf
    [INF, INF, INF, INF, INF],       # all +inf
    [INF, -INF, 1.0, 2.0, 0.0],      # both infinities
    [NAN, INF, -INF, 0.0, 1.0],      # NaN first, then infinities
    [1.0, INF, INF, 2.0, NAN],       # tied +inf, NaN last
    [NAN, NAN, NAN, NAN, NAN],       # all NaN
    [2.0, 2.0, -1.0, INF, INF],      # ties
])
TARGETS = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0])  # one class per row of ROWS
CLASS_WEIGHTS = np.array([0.0, 0.5, 1.0, 1.5, 2.0])  # a zero weight: -inf * 0 is NaN in torch
PROBS = np.full((11, 5), 0.1)
PROBS[np.arange(11), TARGETS] = 0.6
ONE_HOT = np.eye(5)[TARGETS]  # probability targets with zeros: 0 * -inf is NaN in torch


def _tensor(values, like, dtype=None):
    """A framework or torch tensor of ``values`` matching ``like``'s device and float dtype."""
    if isinstance(like, torch.Tensor):
        return torch.tensor(values, dtype=like.dtype if dtype is None else dtype)
    return framework.tensor(values, dtype=like.dtype if dtype is None else dtype,
                            device=like.device)


def _targets(like, values=TARGETS):
    if isinstance(like, torch.Tensor):
        return torch.tensor(values)
    return framework.tensor(values, device=like.device)


def _lib(x):
    """(functional module, top-level module) of the library ``x`` belongs to."""
    return (TF, torch) if isinstance(x, torch.Tensor) else (F, framework)


def _ce(**kwargs):
    def run(x):
        nn, _ = _lib(x)
        return nn.cross_entropy(x, _targets(x), **kwargs)
    return run


def _ce_weighted(**kwargs):
    def run(x):
        nn, _ = _lib(x)
        return nn.cross_entropy(x, _targets(x), weight=_tensor(CLASS_WEIGHTS, x), **kwargs)
    return run


def _ce_probs(probs):
    def run(x):
        nn, _ = _lib(x)
        return nn.cross_entropy(x, _tensor(probs, x), reduction="none")
    return run


def _ce_ignored(x):
    nn, _ = _lib(x)
    targets = TARGETS.copy()
    targets[[1, 2, 4]] = -100  # NaN, +inf and all -inf rows ignored: loss 0, gradient NaN
    return nn.cross_entropy(x, _targets(x, targets), reduction="none")


def _nll(reduction):
    def run(x):
        nn, _ = _lib(x)
        return nn.nll_loss(x, _targets(x), reduction=reduction)
    return run


def _layer_norm(x):
    nn, _ = _lib(x)
    w, b = np.linspace(0.5, 1.5, 5), np.linspace(-0.2, 0.3, 5)
    return nn.layer_norm(x, (5,), _tensor(w, x), _tensor(b, x))


def _same(name, *args, **kwargs):
    """``fn(x)`` calling the method or function ``name`` of whichever library ``x`` is from."""
    def run(x):
        _, lib = _lib(x)
        return getattr(lib, name)(x, *args, **kwargs)
    return run


def _nn(name, *args, **kwargs):
    def run(x):
        nn, _ = _lib(x)
        return nn.__dict__[name](x, *args, **kwargs)
    return run


def _sort(x):
    _, lib = _lib(x)
    return lib.sort(x, dim=-1, stable=True)


def _sort_descending_dim0(x):
    _, lib = _lib(x)
    return lib.sort(x, dim=0, descending=True, stable=True)


def _argsort(x):
    _, lib = _lib(x)
    return lib.argsort(x, dim=-1, stable=True)


# name -> fn(x) written once for both libraries, and whether input gradients are compared
OPS = {
    # softmax family
    "softmax": (_nn("softmax", -1), True),
    "softmax_dim0": (_nn("softmax", 0), True),
    "log_softmax": (_nn("log_softmax", -1), True),
    "log_softmax_dim0": (_nn("log_softmax", 0), True),
    "softmin": (_nn("softmin", -1), True),
    "logsumexp": (_same("logsumexp", -1), True),
    "logsumexp_dim0": (_same("logsumexp", 0), True),
    # losses
    "cross_entropy_mean": (_ce(), True),
    "cross_entropy_none": (_ce(reduction="none"), True),
    "cross_entropy_sum_smoothing": (_ce(reduction="sum", label_smoothing=0.1), True),
    "cross_entropy_none_smoothing": (_ce(reduction="none", label_smoothing=0.2), True),
    "cross_entropy_weighted": (_ce_weighted(reduction="none"), True),
    "cross_entropy_weighted_smoothing": (_ce_weighted(reduction="none", label_smoothing=0.2),
                                         True),
    "cross_entropy_weighted_mean": (_ce_weighted(), True),
    "cross_entropy_probs": (_ce_probs(PROBS), True),
    "cross_entropy_one_hot_probs": (_ce_probs(ONE_HOT), True),
    "cross_entropy_ignored_rows": (_ce_ignored, True),
    "bce_with_logits": (lambda x: _lib(x)[0].binary_cross_entropy_with_logits(
        x, _tensor(np.eye(5)[TARGETS], x), reduction="none"), True),
    "bce_with_logits_pos_weight": (lambda x: _lib(x)[0].binary_cross_entropy_with_logits(
        x, _tensor(PROBS, x), pos_weight=_tensor(CLASS_WEIGHTS + 0.5, x)), True),
    "mse_loss": (lambda x: _lib(x)[0].mse_loss(x, _tensor(PROBS, x)), True),
    "l1_loss": (lambda x: _lib(x)[0].l1_loss(x, _tensor(PROBS, x), reduction="none"), True),
    "smooth_l1_loss": (lambda x: _lib(x)[0].smooth_l1_loss(x, _tensor(PROBS, x), reduction="none"),
                       True),
    "huber_loss": (lambda x: _lib(x)[0].huber_loss(x, _tensor(PROBS, x), delta=0.5), True),
    "nll_loss_none": (_nll("none"), True),
    "nll_loss_mean": (_nll("mean"), True),
    # normalization
    "layer_norm": (_layer_norm, True),
    "rms_norm": (_nn("rms_norm", (5,)), True),
    "group_norm": (lambda x: _lib(x)[0].group_norm(x.reshape(11, 5, 1), 1), True),
    "instance_norm": (lambda x: _lib(x)[0].instance_norm(x.reshape(11, 1, 5)), True),
    "batch_norm": (lambda x: _lib(x)[0].batch_norm(x, None, None, training=True), True),
    "normalize": (_nn("normalize", dim=-1), True),
    # reductions
    "sum": (lambda x: x.sum(-1), True),
    "sum_dim0": (lambda x: x.sum(0), True),
    "sum_all": (lambda x: x.sum(), True),
    "mean": (lambda x: x.mean(-1), True),
    "prod": (lambda x: x.prod(-1), True),
    "prod_dim0": (lambda x: x.prod(0), True),
    "prod_all": (lambda x: x.prod(), True),  # several zeros: PyTorch's gradient is 0
    "prod_all_one_zero": (lambda x: x[:7].prod(), True),
    "amax": (lambda x: x.amax(-1), True),
    "amin": (lambda x: x.amin(-1), True),
    "amax_dim0": (lambda x: x.amax(0), True),
    "max_dim": (lambda x: _lib(x)[1].max(x, -1), True),
    "min_dim": (lambda x: _lib(x)[1].min(x, -1), True),
    "max_dim0": (lambda x: _lib(x)[1].max(x, 0), True),
    "max_all": (lambda x: _lib(x)[1].max(x), True),
    "min_all": (lambda x: _lib(x)[1].min(x), True),
    "argmax": (lambda x: x.argmax(-1), False),
    "argmin": (lambda x: x.argmin(-1), False),
    "argmax_dim0": (lambda x: x.argmax(0), False),
    "argmax_all": (lambda x: x.argmax(), False),
    "var": (lambda x: x.var(-1), True),
    "std": (lambda x: x.std(-1), True),
    "var_dim0": (lambda x: x.var(0), True),
    "norm_2": (_same("norm", dim=-1), True),
    "norm_1": (_same("norm", p=1, dim=-1), True),
    "norm_3": (_same("norm", p=3, dim=-1), True),
    "norm_inf": (_same("norm", p=INF, dim=-1), True),
    "norm_-inf": (_same("norm", p=-INF, dim=-1), True),
    # scans
    "cumsum": (_same("cumsum", -1), True),
    "cumprod": (_same("cumprod", -1), True),
    "cumprod_dim0": (_same("cumprod", 0), True),
    "logcumsumexp": (_same("logcumsumexp", -1), True),
    "logcumsumexp_dim0": (_same("logcumsumexp", 0), True),
    "cummax": (_same("cummax", -1), True),
    "cummin": (_same("cummin", -1), True),
    "cummax_dim0": (_same("cummax", 0), True),
    # sorting (topk has its own test: PyTorch leaves the order of tied indices open)
    "sort": (_sort, True),
    "sort_descending_dim0": (_sort_descending_dim0, True),
    "argsort": (_argsort, False),
    # pooling
    "max_pool1d": (lambda x: _lib(x)[0].max_pool1d(x[None], 2), True),
    "max_pool1d_padded": (lambda x: _lib(x)[0].max_pool1d(x[None], 3, 1, 1), True),
    "adaptive_max_pool1d": (lambda x: _lib(x)[0].adaptive_max_pool1d(x[None], 2), True),
    "avg_pool1d": (lambda x: _lib(x)[0].avg_pool1d(x[None], 2), True),
    "max_pool2d": (lambda x: _lib(x)[0].max_pool2d(x[None, None], 2, 1), True),
    # distances
    "cosine_similarity": (lambda x: _lib(x)[0].cosine_similarity(x, _tensor(PROBS, x), dim=-1),
                          True),
    "pairwise_distance": (lambda x: _lib(x)[0].pairwise_distance(x, _tensor(PROBS, x)), True),
    "cdist": (lambda x: _lib(x)[1].cdist(x, _tensor(PROBS[:3], x)), False),
    # activations: NaN in, NaN out (gradients at NaN inputs are left out: PyTorch's own
    # vectorized and scalar lanes disagree there for several of these)
    "relu": (_nn("relu"), True),
    "relu6": (_nn("relu6"), False),
    "leaky_relu": (_nn("leaky_relu"), False),
    "elu": (_nn("elu"), False),
    "selu": (_nn("selu"), False),
    "celu": (_nn("celu"), False),
    "hardtanh": (_nn("hardtanh"), False),
    "hardshrink": (_nn("hardshrink"), False),
    "softshrink": (_nn("softshrink"), False),
    "threshold": (_nn("threshold", 0.5, -1.0), False),
    "softplus": (_nn("softplus"), False),
    "logsigmoid": (_nn("logsigmoid"), False),
    "silu": (_nn("silu"), False),
    "mish": (_nn("mish"), False),
    "hardswish": (_nn("hardswish"), False),
    "hardsigmoid": (_nn("hardsigmoid"), False),
    # elementwise max/min/clamp
    "maximum": (lambda x: _lib(x)[1].maximum(x, x.flip(0)), True),
    "minimum": (lambda x: _lib(x)[1].minimum(x, x.flip(0)), True),
    "clamp": (lambda x: _lib(x)[1].clamp(x, -1.0, 1.0), True),
}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(OPS))
def test_nan_and_inf_rows_match_torch(name, dtype, device):
    fn, grad = OPS[name]
    check_op(fn, fn, [ROWS], device=device, dtype=dtype, grad=grad)


# Small blocks on cuda: each 5-wide row spans several chunks, so the same table runs the
# looping kernels (online softmax/logsumexp across chunks, Chan merges, scan carries, sort
# merge passes) and the split ones (several programs per row, then a combine launch).
SMALL_BLOCKS = {
    "softmax": {"MAX_BLOCK_N": 2},
    "norm": {"MAX_BLOCK_N": 2, "SPLIT_COLS": 2},
    "loss": {"MAX_BLOCK_C": 2},
    "reduce": {"MAX_BLOCK_N": 2, "SPLIT_MIN_COLS": 2},
    "scan": {"MAX_BLOCK_N": 2},
    "sort": {"MAX_SORT_BLOCK": 2, "MERGE_BLOCK": 2},
}


@pytest.fixture
def small_blocks(monkeypatch):
    from framework._backends.triton import runtime
    kernels = runtime.kernels()
    for family, sizes in SMALL_BLOCKS.items():
        for name, value in sizes.items():
            monkeypatch.setattr(getattr(kernels, family), name, value)


@pytest.mark.parametrize("name", list(OPS))
def test_nan_and_inf_rows_match_torch_across_chunks(name, small_blocks):
    fn, grad = OPS[name]
    check_op(fn, fn, [ROWS], device="cuda", dtype=F32, grad=grad)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_nan_and_inf_rows(largest, device):
    """topk values as torch's (NaN is the largest); torch leaves the order of tied indices
    open, so indices are checked to name elements equal to the values."""
    for dtype in (F64, F32):
        x = framework.tensor(ROWS, dtype=dtype, device=device, requires_grad=True)
        values, indices = framework.topk(x, 3, -1, largest=largest)
        want = torch.topk(torch.tensor(ROWS), 3, -1, largest=largest).values.numpy()
        got = values.detach().cpu().to(F64).numpy()
        np.testing.assert_array_equal(got, want)  # NaN and signed infinities in place
        picked = np.take_along_axis(ROWS, indices.cpu().numpy(), axis=1)
        np.testing.assert_array_equal(picked, want)
        assert all(len(set(row)) == 3 for row in indices.cpu().numpy().tolist())
        values.sum().backward()
        expected = np.zeros_like(ROWS)
        np.put_along_axis(expected, indices.cpu().numpy(), 1.0, axis=1)
        np.testing.assert_array_equal(x.grad.cpu().to(F64).numpy(), expected)


def test_attention_with_nan_and_inf_matches_torch_math_backend(device):
    """A NaN key poisons every query of its head; a +inf query gives a NaN row (inf - inf in
    the online softmax). The oracle is PyTorch's math backend: its fused CPU kernel gives
    0 instead of NaN in some lanes of such rows, which is neither backend's documented
    contract (docs/semantics.md)."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((1, 2, 4, 8)) for _ in range(3))
    k[0, 0, 1, 3] = NAN
    q[0, 1, 2, 0] = INF
    k[0, 1, 3, 5] = -INF

    def oracle(*args):
        return torch.ops.aten._scaled_dot_product_attention_math(*args)[0]

    for dtype in (F64, F32):
        check_op(F.scaled_dot_product_attention, oracle, [q, k, v], device=device, dtype=dtype,
                 grad=False)


def test_kl_div_with_nan_inf_and_negative_targets(device):
    """``target * log(target)`` is PyTorch's xlogy: 0 at a 0 target, NaN at a negative or NaN
    one; the input's gradient is compared (PyTorch's target gradient is NaN at 0, 0 / 0)."""
    target = np.array([[0.0, -0.5, NAN, INF, 0.3, 0.0], [0.2, 0.0, 0.5, 0.1, 0.2, 0.0]])
    log_probs = np.array([[-1.0, -2.0, -0.5, -0.1, -INF, -INF], [-1.5, NAN, INF, -2.0, -1.0, 0.0]])
    for reduction in ("none", "sum", "batchmean"):
        def kl_div(i):
            return _lib(i)[0].kl_div(i, _tensor(target, i), reduction=reduction)
        for dtype in (F64, F32):
            check_op(kl_div, kl_div, [log_probs], device=device, dtype=dtype)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_nan_at_another_class_is_not_hidden(reduction, device):
    """The reported bug: the fused cuda kernel skipped a NaN logit of a class other than the
    target and gave a finite loss; PyTorch's log_softmax makes the whole row NaN. -inf at the
    target gives +inf, -inf elsewhere a finite loss; a row long enough for several chunks."""
    logits = np.array([[0.5, NAN, 2.0], [0.5, -INF, 2.0], [0.5, 1.0, -INF], [0.5, 1.0, 2.0]])
    wide = np.zeros((2, 1500))  # classes loop over blocks of 1024
    wide[0, 1400] = NAN
    wide[1, 1300] = -INF
    for x, targets in ((logits, np.array([0, 0, 2, 1])), (wide, np.array([3, 1300]))):
        def loss(t, targets=targets):
            nn, _ = _lib(t)
            return nn.cross_entropy(t, _targets(t, targets), reduction=reduction)
        for dtype in (F64, F32):
            check_op(loss, loss, [x], device=device, dtype=dtype)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "cross_entropy_none",
                                  "layer_norm", "sum", "amax", "max_dim", "argmax", "var"])
def test_nan_and_inf_rows_in_half_types(name, dtype, device):
    """Half types load into float32 math and store rounded: the same NaN/inf rules."""
    fn, grad = OPS[name]
    check_op(fn, fn, [ROWS], device=device, dtype=dtype, grad=grad)


@pytest.mark.parametrize("name, kwargs, state", [("Adamax", {}, "exp_inf"),
                                                 ("Adam", {"amsgrad": True}, "max_exp_avg_sq")])
def test_optimizer_running_maximum_keeps_nan(name, kwargs, state, device):
    """A NaN gradient reaches the running maximum as in torch.maximum (the cuda kernel's
    plain tl.maximum dropped it), and a parameter made NaN by an inf gradient does not
    poison the next gradient through 0 * param when weight_decay is 0 (cuda added it
    anyway): the optimizer state is PyTorch's on both devices."""
    start, grads = np.array([1.0, -2.0, 0.5]), [np.array([NAN, 1.0, -INF]), np.array([0.5, 2.0, 1.0])]
    p = framework.tensor(start, dtype=F64, device=device, requires_grad=True)
    q = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    ours = getattr(framework.optim, name)([p], lr=0.1, **kwargs)
    theirs = getattr(torch.optim, name)([q], lr=0.1, **kwargs)
    for g in grads:
        p.grad = framework.tensor(g, dtype=F64, device=device)
        q.grad = torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
        np.testing.assert_array_equal(ours.state[p][state].cpu().numpy(),
                                      theirs.state[q][state].numpy())
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), equal_nan=True)


@pytest.mark.parametrize("error_if_nonfinite", [False, True])
def test_clip_grad_norm_with_nan_and_inf_gradients(error_if_nonfinite, device):
    """The total norm is NaN/inf as PyTorch's; with ``error_if_nonfinite`` it raises."""
    for grad in ([1.0, NAN, 2.0], [1.0, INF, 2.0]):
        p = framework.nn.Parameter(framework.tensor([1.0, 2.0, 3.0], device=device))
        q = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
        p.grad, q.grad = framework.tensor(grad, device=device), torch.tensor(grad)
        if error_if_nonfinite:
            with pytest.raises(RuntimeError):
                framework.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
            continue
        total = framework.nn.utils.clip_grad_norm_([p], 1.0)
        want = torch.nn.utils.clip_grad_norm_([q], 1.0)
        np.testing.assert_array_equal(total.cpu().numpy(), want.numpy())
        np.testing.assert_array_equal(p.grad.cpu().numpy(), q.grad.numpy())
