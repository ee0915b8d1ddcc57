"""Autograd through views of tensors modified in place, against PyTorch (float64 oracle).

Every in-place op of ``Tensor`` runs through 1- and 2-level views (unsqueeze,
slicing, transpose, view/reshape, select, diagonal, expand ...) of a non-leaf
base, in both directions:

* ``view``: the op writes into the view; the base, the view and a sibling view
  made before the write are read afterwards;
* ``base``: the op writes into the base; the view made before the write (and the
  sibling) are read afterwards.

``check_op`` compares the three values and the gradients of ``x`` and of the
op's tensor operands with torch. Random fills compare gradients only (their
values differ from torch's: the outputs are returned as ``o - o.detach()``).
Plus the errors PyTorch raises where a view's graph can't be rebased.
"""
import numpy as np
import pytest
import torch
from helpers import check_op
from torch_versions import error_as_in_2_13

import framework

RNG = np.random.default_rng(0)
BASE_SHAPE = (2, 3)

# --- the views (of a (2, 3) base) -----------------------------------------------------------
ONE_LEVEL = {
    "unsqueeze": lambda a: a.unsqueeze(0),
    "slice": lambda a: a[:, 1:],
    "step_slice": lambda a: a[:, ::2],
    "transpose": lambda a: a.t(),
    "view": lambda a: a.view(3, 2),
    "reshape": lambda a: a.reshape(6),
    "select": lambda a: a[1],
    "diagonal": lambda a: a.diagonal(),
    "narrow": lambda a: a.narrow(1, 1, 2),
    "permute": lambda a: a.permute(1, 0),
}
TWO_LEVEL = {
    "transpose_slice": lambda a: a.t()[1:],
    "unsqueeze_select_slice": lambda a: a.unsqueeze(0)[0, :, ::2],
    "view_slice": lambda a: a.view(6)[1:4],
    "transpose_select": lambda a: a.t()[2],
    "transpose_diagonal": lambda a: a.t().diagonal(-1),
    "select_unsqueeze": lambda a: a[1].unsqueeze(1),
    "slice_view": lambda a: a[1:].view(3),
}
READ_ONLY = {  # views that can't be written (elements share memory): base direction only
    "expand": lambda a: a.expand(2, 2, 3),
    "slice_expand": lambda a: a[:, :1].expand(2, 4),
}
VIEWS = {**ONE_LEVEL, **TWO_LEVEL, **READ_ONLY}


def _sibling(a):
    """Another view of the base, made before the write (overlaps part of every view)."""
    return a.view(6)[::2]


# --- the in-place ops -------------------------------------------------------------------------
UNARY = ["neg", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "floor", "ceil",
         "round", "trunc", "reciprocal", "square", "sign", "sin", "cos", "tan", "log1p",
         "expm1", "log2", "log10", "exp2", "rsqrt", "frac", "negative", "absolute",
         "asin", "acos", "atan", "sinh", "cosh", "erf", "erfc", "erfinv", "arcsin", "arccos",
         "arctan", "deg2rad", "rad2deg", "sinc", "fix", "lgamma", "digamma", "i0", "logit",
         "nan_to_num"]
BINARY = ["add", "sub", "mul", "div", "pow", "remainder", "fmod", "atan2", "multiply",
          "subtract", "divide", "true_divide", "floor_divide", "copysign", "hypot", "xlogy",
          "arctan2", "ldexp"]
# ops whose values may be negative here (the rest get values in (0.2, 0.9))
SIGNED = {"neg", "abs", "sigmoid", "tanh", "relu", "floor", "ceil", "round", "trunc", "square",
          "sign", "sin", "cos", "exp", "expm1", "exp2", "frac", "negative", "absolute", "add",
          "sub", "mul", "multiply", "subtract", "atan2", "clamp_", "clamp_min_", "clamp_max_",
          "clip_", "lerp_", "addcmul_", "logical_not_", "copy_", "fill_", "fill_tensor", "zero_",
          "masked_fill_", "scatter_", "scatter_add_", "index_add_", "index_copy_", "index_put_",
          "index_put_accumulate", "setitem", "setitem_advanced", "setitem_add", "uniform_",
          "normal_", "bernoulli_", "exponential_", "random_"}
# binary ops without a derivative in PyTorch: values only
NO_OTHER_GRAD = {"floor_divide"}
# metadata-only in-place methods (no data written) and grad-mode methods
NOT_WRITES = {"detach_", "requires_grad_", "squeeze_", "unsqueeze_", "t_", "transpose_",
              "swapaxes_", "swapdims_", "as_strided_", "set_"}
# integer-only methods: no gradient flows through them, so a view has nothing to rebase
INTEGER_ONLY = {"bitwise_and_", "bitwise_or_", "bitwise_xor_", "bitwise_not_",
                "bitwise_left_shift_", "bitwise_right_shift_", "gcd_", "lcm_"}
# writes PyTorch has no derivative for (comparisons, steps, bit-pattern moves) or whose
# values need their own inputs (integer-valued draws): tests/ops/test_numeric.py checks them
NO_DERIVATIVE = {"eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_",
                 "less_", "less_equal_", "not_equal_", "logical_and_", "logical_or_",
                 "logical_xor_", "heaviside_", "nextafter_", "geometric_",
                 "float_power_",  # (float_power_ needs a float64 base; the table's is float32)
                 "resize_", "resize_as_",  # (refused for tensors that require grad, as torch)
                 "igamma_", "igammac_"}  # (torch differentiates these in x only: no self grad)


def _positive(shape):
    return RNG.uniform(0.5, 1.5, shape)


def _ints(lib, device, values):
    return lib.tensor(values, dtype=lib.int64, device=device)


def _last_dim_permutation(shape):
    """Index for scatter along the last dim: each row a permutation (no duplicates)."""
    rows = int(np.prod(shape[:-1]))
    return np.stack([RNG.permutation(shape[-1]) for _ in range(rows)]).reshape(shape)


def _case_unary(name):
    return dict(floats=lambda shape: [], apply=lambda t, ex, lib, dev: getattr(t, name + "_")())


def _case_binary(name):
    if name in NO_OTHER_GRAD:
        def apply(t, ex, lib, dev, const=_positive(BASE_SHAPE)):
            return getattr(t, name + "_")(lib.tensor(float(const[0, 0]), dtype=t.dtype,
                                                     device=dev))
        return dict(floats=lambda shape: [], apply=apply)
    return dict(floats=lambda shape: [_positive(shape)],
                apply=lambda t, ex, lib, dev: getattr(t, name + "_")(ex[0]))


def _scatter_case(method, **kwargs):
    def floats(shape):
        return [RNG.standard_normal(shape)]

    def apply(t, ex, lib, dev):
        index = _ints(lib, dev, INDEX_CACHE.setdefault((method, tuple(t.shape)),
                                                       _last_dim_permutation(tuple(t.shape))))
        return getattr(t, method)(t.ndim - 1, index, ex[0], **kwargs)
    return dict(floats=floats, apply=apply)


def _rows(method, shape):
    """Row indices along dim 0: with a repeat for index_add_, a permutation for index_copy_,
    distinct rows for index_put_."""
    if method == "index_add_":
        return [r % shape[0] for r in (1, 0, 1)]
    if method == "index_copy_":
        return list(range(shape[0]))[::-1]
    return sorted({shape[0] - 1, 0})


def _rows_case(method, **kwargs):
    def floats(shape):
        return [RNG.standard_normal((len(_rows(method, shape)),) + tuple(shape[1:]))]

    def apply(t, ex, lib, dev):
        index = _ints(lib, dev, _rows(method, tuple(t.shape)))
        if method == "index_put_":
            return t.index_put_((index,), ex[0], **kwargs)
        return getattr(t, method)(0, index, ex[0], **kwargs)
    return dict(floats=floats, apply=apply)


def _setitem(index_fn, augmented=False):
    def floats(shape):
        return [RNG.standard_normal((1,) + tuple(shape[1:]))]

    def apply(t, ex, lib, dev):
        index = index_fn(lib, dev)
        if augmented:
            t[index] += ex[0]
        else:
            t[index] = ex[0]
    return dict(floats=floats, apply=apply)


def _inverse_hyperbolic(name, shift=0.0):
    def apply(t, ex, lib, dev):
        if shift:
            t.add_(shift)
        if lib is torch:
            return t.copy_(getattr(torch, name)(t.clone()))  # atanh saves its input
        return getattr(t, name + "_")()
    return dict(floats=lambda s: [], apply=apply)


def _random(call):
    return dict(floats=lambda shape: [], apply=lambda t, ex, lib, dev: call(t), random=True)


INDEX_CACHE: dict = {}
CASES = {f"{n}_": _case_unary(n) for n in UNARY}
CASES.update({f"{n}_": _case_binary(n) for n in BINARY})
CASES.update({
    "clamp_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.clamp_(-0.3, 0.6)),
    "clip_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.clip_(-0.3, 0.6)),
    "clamp_min_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.clamp_min_(0.1)),
    "clamp_max_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.clamp_max_(0.1)),
    "lerp_": dict(floats=lambda s: [_positive(s)],
                  apply=lambda t, ex, lib, dev: t.lerp_(ex[0], 0.3)),
    "addcmul_": dict(floats=lambda s: [_positive(s), _positive(s)],
                     apply=lambda t, ex, lib, dev: t.addcmul_(ex[0], ex[1], value=0.5)),
    "addcdiv_": dict(floats=lambda s: [_positive(s), _positive(s)],
                     apply=lambda t, ex, lib, dev: t.addcdiv_(ex[0], ex[1], value=2.0)),
    "add_alpha": dict(floats=lambda s: [_positive(s)],
                      apply=lambda t, ex, lib, dev: t.add_(ex[0], alpha=3.0)),
    "sub_alpha": dict(floats=lambda s: [_positive(s)],
                      apply=lambda t, ex, lib, dev: t.sub_(ex[0], alpha=0.5)),
    "copy_": dict(floats=lambda s: [RNG.standard_normal(s)],
                  apply=lambda t, ex, lib, dev: t.copy_(ex[0])),
    "copy_broadcast": dict(floats=lambda s: [RNG.standard_normal(s[-1:])],
                           apply=lambda t, ex, lib, dev: t.copy_(ex[0])),
    "fill_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.fill_(0.25)),
    "fill_tensor": dict(floats=lambda s: [np.asarray(0.7)],
                        apply=lambda t, ex, lib, dev: t.fill_(ex[0])),
    "zero_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.zero_()),
    # no derivative: PyTorch leaves the graph as it was (the gradient passes unchanged)
    "logical_not_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.logical_not_()),
    "masked_fill_": dict(
        floats=lambda s: [],
        apply=lambda t, ex, lib, dev: t.masked_fill_(
            lib.tensor(INDEX_CACHE.setdefault(("mask", tuple(t.shape)),
                                              RNG.random(tuple(t.shape)) > 0.5),
                       device=dev), -0.5)),
    "scatter_": _scatter_case("scatter_"),
    "scatter_add_": _scatter_case("scatter_add_"),
    "scatter_reduce_": _scatter_case("scatter_reduce_", reduce="sum"),
    "scatter_reduce_amax": _scatter_case("scatter_reduce_", reduce="amax"),
    "index_reduce_": _rows_case("index_reduce_", reduce="prod"),
    # torch has no derivative for in-place asinh_/acosh_/atanh_ ("not implemented"): its side
    # writes the out-of-place result back with copy_, the same values and graph semantics
    "asinh_": _inverse_hyperbolic("asinh"),
    "arcsinh_": _inverse_hyperbolic("arcsinh"),
    "atanh_": _inverse_hyperbolic("atanh"),
    "arctanh_": _inverse_hyperbolic("arctanh"),
    # acosh needs values >= 1: shift in place first (two writes through the same view)
    "acosh_": _inverse_hyperbolic("acosh", shift=1.5),
    "arccosh_": _inverse_hyperbolic("arccosh", shift=1.5),
    "index_add_": _rows_case("index_add_", alpha=2.0),
    "index_copy_": _rows_case("index_copy_"),
    "index_put_": _rows_case("index_put_", accumulate=False),
    "index_put_accumulate": _rows_case("index_put_", accumulate=True),
    "setitem": _setitem(lambda lib, dev: slice(0, 1)),
    "setitem_add": _setitem(lambda lib, dev: slice(0, 1), augmented=True),
    "setitem_advanced": _setitem(lambda lib, dev: _ints(lib, dev, [0])),
    # matrix ops on a 2-D view of the target (its first matrix, or a row made 2-D)
    "tril_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: _matrix(t).tril_()),
    "triu_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: _matrix(t).triu_(1)),
    "fill_diagonal_": dict(floats=lambda s: [],
                           apply=lambda t, ex, lib, dev: _matrix(t).fill_diagonal_(-0.5)),
    "index_fill_": dict(floats=lambda s: [],
                        apply=lambda t, ex, lib, dev: t.index_fill_(0, _ints(lib, dev, [0]), -0.5)),
    "masked_scatter_": dict(
        floats=lambda s: [RNG.standard_normal(s)],
        apply=lambda t, ex, lib, dev: t.masked_scatter_(
            lib.tensor(INDEX_CACHE.setdefault(("mask", tuple(t.shape)),
                                              RNG.random(tuple(t.shape)) > 0.5),
                       device=dev), ex[0])),
    "uniform_": _random(lambda t: t.uniform_(-0.5, 0.5)),
    "normal_": _random(lambda t: t.normal_(0.0, 2.0)),
    "bernoulli_": _random(lambda t: t.bernoulli_(0.5)),
    "exponential_": _random(lambda t: t.exponential_(2.0)),
    "random_": _random(lambda t: t.random_(0, 5)),
    "cauchy_": _random(lambda t: t.cauchy_(0.0, 0.5)),
    "log_normal_": _random(lambda t: t.log_normal_(0.0, 0.5)),
    "cumsum_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.cumsum_(0)),
    "cumprod_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.cumprod_(-1)),
    "renorm_": dict(floats=lambda s: [],
                    apply=lambda t, ex, lib, dev: _matrix(t).renorm_(2, 0, 0.5)),
    "mvlgamma_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.add_(1.0).mvlgamma_(2)),
    "polygamma_": dict(floats=lambda s: [], apply=lambda t, ex, lib, dev: t.polygamma_(1)),
    "put_": dict(floats=lambda s: [RNG.standard_normal(2)],
                 apply=lambda t, ex, lib, dev: t.put_(_ints(lib, dev, [0, -1]), ex[0])),
    "addr_": dict(floats=lambda s: [RNG.standard_normal(s[-2:-1] or (1,)),
                                    RNG.standard_normal(s[-1:])],
                  apply=lambda t, ex, lib, dev: _matrix(t).addr_(
                      ex[0][:_matrix(t).shape[0]], ex[1][:_matrix(t).shape[1]])),
    "addmm_": dict(floats=lambda s: [RNG.standard_normal((6, 6)), RNG.standard_normal((6, 6))],
                   apply=lambda t, ex, lib, dev: _matrix(t).addmm_(
                       ex[0][:_matrix(t).shape[0]], ex[1][:, :_matrix(t).shape[1]])),
    "addmv_": dict(floats=lambda s: [RNG.standard_normal((6, 6)), RNG.standard_normal(6)],
                   apply=lambda t, ex, lib, dev: _matrix(t)[0].addmv_(
                       ex[0][:_matrix(t).shape[1]], ex[1])),
    "baddbmm_": dict(floats=lambda s: [RNG.standard_normal((1, 6, 6)),
                                       RNG.standard_normal((1, 6, 6))],
                     apply=lambda t, ex, lib, dev: _matrix(t).unsqueeze(0).baddbmm_(
                         ex[0][:, :_matrix(t).shape[0]], ex[1][:, :, :_matrix(t).shape[1]])),
    "addbmm_": dict(floats=lambda s: [RNG.standard_normal((2, 6, 6)),
                                      RNG.standard_normal((2, 6, 6))],
                    apply=lambda t, ex, lib, dev: _matrix(t).addbmm_(
                        ex[0][:, :_matrix(t).shape[0]], ex[1][:, :, :_matrix(t).shape[1]])),
})


def _matrix(t):
    """A 2-D view of ``t``: its first matrix, or ``t`` as one row."""
    while t.ndim > 2:
        t = t[0]
    return t.unsqueeze(0) if t.ndim < 2 else t


def _method_of(case: str) -> str:
    for suffix in ("_alpha", "_broadcast", "_tensor", "_accumulate", "_amax"):
        if case.endswith(suffix):
            return case[: -len(suffix)] + "_"
    return {"setitem": "__setitem__", "setitem_add": "__setitem__",
            "setitem_advanced": "__setitem__"}.get(case, case)


def _values(name):
    if name.rstrip("_") in SIGNED or name in SIGNED:
        data = RNG.uniform(0.1, 0.9, BASE_SHAPE) * RNG.choice([-1.0, 1.0], BASE_SHAPE)
        return data
    return RNG.uniform(0.2, 0.9, BASE_SHAPE)


def _program(lib, device, name, view_fn, direction):
    """``fn(x, *operands)``: write with op ``name`` into the view or the base of ``x * 1``
    and return (base, view, sibling) as read afterwards."""
    case = CASES[name]

    def fn(x, *operands):
        a = x * 1.0
        sibling = _sibling(a)
        view = view_fn(a)
        case["apply"](view if direction == "view" else a, operands, lib, device)
        outs = (a, view, sibling)
        if case.get("random"):
            outs = tuple(o - o.detach() for o in outs)  # values 0, gradients kept
        return outs
    return fn


def _check(device, name, view, direction):
    target_shape = tuple(VIEWS[view](torch.zeros(BASE_SHAPE)).shape) if direction == "view" \
        else BASE_SHAPE
    operands = CASES[name]["floats"](target_shape)
    check_op(_program(framework, device, name, VIEWS[view], direction),
             _program(torch, "cpu", name, VIEWS[view], direction),
             [_values(name)] + operands, device=device,
             grad=name.rstrip("_") not in NO_OTHER_GRAD)


WRITABLE = sorted({**ONE_LEVEL, **TWO_LEVEL})
# On cuda (Triton interpreter: slow) each op goes through one view per direction, rotating
# over all of them; test_every_view_on_cuda adds every view with a few ops.
CUDA_ROTATION = {name: [WRITABLE[i % len(WRITABLE)]] for i, name in enumerate(sorted(CASES))}


@pytest.mark.parametrize("direction", ["view", "base"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_through_views_matches_torch(device, name, direction):
    views = WRITABLE if device == "cpu" else CUDA_ROTATION[name]
    if direction == "base":
        views = views + (sorted(READ_ONLY) if device == "cpu" else [])
    for view in views:
        try:
            _check(device, name, view, direction)
        except AssertionError as error:
            raise AssertionError(f"{name} through view {view!r} ({direction}): {error}") from None


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_view_on_cuda(view):
    """On cuda, each view in both directions with two ops (cpu runs every op through every
    view above)."""
    for name in ("mul_", "copy_"):
        for direction in (("base",) if view in READ_ONLY else ("view", "base")):
            _check("cuda", name, view, direction)


def test_cases_cover_every_inplace_method():
    """The table holds every data-writing in-place method of ``Tensor`` (and torch has each)."""
    methods = {n for n in dir(framework.Tensor) if n.endswith("_") and not n.startswith("_")}
    covered = {_method_of(case) for case in CASES}
    missing = methods - NOT_WRITES - INTEGER_ONLY - NO_DERIVATIVE - covered
    assert not missing, sorted(missing)
    for case in CASES:
        assert hasattr(torch.Tensor, _method_of(case)), case


# --- the issue's example and friends, spelled out --------------------------------------------
@pytest.mark.parametrize("op", ["relu_", "mul_", "exp_"])
def test_issue_example_inplace_on_base_then_backward_through_view(device, op):
    def program(lib):
        def fn(x):
            a = x - 1.5
            v = a.unsqueeze(0)
            vv = v[:, 1:]                      # a view of a view
            getattr(a, op)(*((2.0,) if op == "mul_" else ()))
            return v * 2, vv * 3
        return fn
    check_op(program(framework), program(torch), [np.array([1.0, 2.0])], device=device)
    x = framework.tensor([1.0, 2.0], requires_grad=True, device=device)
    a = x - 1.5
    v = a.unsqueeze(0)
    a.relu_()
    (v * 2).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]


def test_gradients_of_expanded_and_summed_reads(device):
    """Output gradients with zero strides (``sum``) go through the strided replay."""
    def program(x, w):
        a = x * 1.0
        e = a[:1].expand(3, 3)
        v = a.t()[1:]
        v.mul_(w)
        return a.sum() + e.sum() + v.sum() * 2
    check_op(program, program, [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 2))],
             device=device)


def test_second_order_gradients_through_rebased_views(device):
    def program(lib):
        def fn(x, w):
            a = x * x
            v = a.t()[1:]
            v.mul_(w)
            (g,) = lib.autograd.grad((a * a).sum(), x, create_graph=True)
            return g
        return fn
    check_op(program(framework), program(torch), [RNG.standard_normal((2, 3)),
                                                  RNG.standard_normal((2, 2))], device=device)


def test_non_contiguous_base(device):
    """A base that is itself a transposed, offset layout (``detach`` of a view)."""
    def program(lib, dev):
        def fn(w, u):
            big = lib.arange(14.0, dtype=w.dtype, device=dev)
            b = big[2:].view(3, 4).t().detach()   # non-contiguous, offset, not a view
            v = b[1:3, ::2]
            v.mul_(w)
            s = b[:, 1]
            b.add_(u)
            return b, v, s
        return fn
    check_op(program(framework, device), program(torch, "cpu"),
             [RNG.standard_normal((2, 2)), RNG.standard_normal((4, 3))], device=device)


def test_inplace_in_no_grad_keeps_views_consistent(device):
    def program(x):
        a = x * 2.0
        v = a.t()
        with (torch.no_grad() if isinstance(x, torch.Tensor) else framework.no_grad()):
            a.mul_(3.0)      # untracked write: v's gradient is the plain view's
            v[0].add_(1.0)
        return v * a.t()
    check_op(program, program, [RNG.standard_normal((2, 3))], device=device)


# --- errors PyTorch raises where a view's graph can't be rebased -------------------------------
def _leaf(lib, dev):
    return lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=dev)


ERRORS = {
    "view of leaf": (lambda lib, dev: _leaf(lib, dev)[0].mul_(2),
                     "a view of a leaf Variable that requires grad is being used in an in-place"),
    "leaf": (lambda lib, dev: _leaf(lib, dev).uniform_(),
             "a leaf Variable that requires grad is being used in an in-place"),
    "no_grad view of a non-leaf": (
        lambda lib, dev: _no_grad_view(lib, dev).mul_(2),
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled"),
    "no_grad view of a leaf": (
        lambda lib, dev: _no_grad_view(lib, dev, leaf=True).mul_(2),
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled"),
    "view of a no_grad view": (
        lambda lib, dev: _no_grad_view(lib, dev).unsqueeze(0)[0].mul_(2),
        "created in no_grad mode and is being modified inplace with grad mode enabled"),
    "no_grad view, base written": (
        lambda lib, dev: _use_after(lib, dev, _no_grad_view),
        "A view was created in no_grad mode and its base or another view of its base has been "
        "modified inplace with grad mode enabled"),
    "no_grad view written after its base": (
        lambda lib, dev: _write_after_base(_no_grad_view(lib, dev)),
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled"),
    "unbind output written after its base": (
        lambda lib, dev: _write_after_base((_leaf(lib, dev) * 1).unbind(0)[0]),
        "Output 0 of Unbind is a view and is being modified inplace"),
    "unbind": (lambda lib, dev: (_leaf(lib, dev) * 1).unbind(0)[1].mul_(2),
               "Output 1 of Unbind is a view and is being modified inplace. This view is the "
               "output of a function that returns multiple views"),
    "split": (lambda lib, dev: (_leaf(lib, dev) * 1).split(1)[0].add_(1),
              "Output 0 of Split is a view and is being modified inplace"),
    "split sizes": (lambda lib, dev: (_leaf(lib, dev) * 1).split([1, 1])[1].zero_(),
                    "Output 1 of SplitWithSizes is a view and is being modified inplace"),
    "chunk": (lambda lib, dev: (_leaf(lib, dev) * 1).chunk(2, 1)[0].exp_(),
              "Output 0 of Split is a view and is being modified inplace"),
    "iteration": (lambda lib, dev: next(iter(_leaf(lib, dev) * 1)).mul_(2),
                  "Output 0 of Unbind is a view and is being modified inplace"),
    "view of unbind output": (
        lambda lib, dev: (_leaf(lib, dev) * 1).unbind(0)[0].unsqueeze(0).mul_(2),
        "Output 0 of Unsqueeze is a view and is being modified inplace. This view is the output "
        "of a function that returns multiple views"),
    "unbind, base written": (
        lambda lib, dev: _use_after(lib, dev, lambda lib, dev: (_leaf(lib, dev) * 1).unbind(0)[0]),
        "Output 0 of Unbind is a view and its base or another view of its base has been "
        "modified inplace. This view is the output of a function that returns multiple views"),
    "unbind of a plain tensor, value requires grad": (
        lambda lib, dev: lib.zeros(2, 2, device=dev).unbind(0)[0].mul_(
            lib.ones(2, requires_grad=True, device=dev)),
        "A view was created in no_grad mode and is being modified inplace with grad mode "
        "enabled. This view is the output of a function that returns multiple views"),
    "detach_ of a view": (lambda lib, dev: (_leaf(lib, dev) * 1)[0].detach_(),
                          "Can't detach views in-place. Use detach() instead"),
}


def _no_grad_view(lib, dev, leaf=False):
    a = _leaf(lib, dev) if leaf else _leaf(lib, dev) * 1
    with lib.no_grad():
        v = a[0]
    return v


def _write_after_base(view):
    """Write into the view's base, then into the view itself."""
    view._base.mul_(2)
    view.add_(1)


def _use_after(lib, dev, make_view):
    """Write into the view's base in place, then use the view in grad mode."""
    v = make_view(lib, dev)
    base = v._base
    base.mul_(2)
    return v * 2


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_view_inplace_errors_match_torch(device, case):
    fn, message = ERRORS[case]
    for lib, dev in ((torch, "cpu"), (framework, device)):
        with pytest.raises(RuntimeError) as info:
            fn(lib, dev)
        text = error_as_in_2_13(str(info.value)) if lib is torch else str(info.value)
        assert message in text, f"{lib.__name__}: {info.value}"


def test_allowed_writes_do_not_raise(device):
    """Where torch raises nothing: views without gradient, writes under no_grad, multi-output
    views of tensors needing no gradient, no_grad views written under no_grad."""
    x = framework.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    plain = framework.zeros(2, 2, device=device)
    plain.unbind(0)[0].add_(1)
    plain.t()[0].mul_(2)
    with framework.no_grad():
        x[0].mul_(2)
        v = (x * 1)[1]
        v.add_(1)
        v.add_(1)           # a second write to the same no_grad view, still under no_grad
        (x * 1).unbind(0)[0].add_(1)
    assert plain.tolist() == [[2.0, 1.0], [0.0, 0.0]]
    assert x.tolist() == [[2.0, 4.0], [3.0, 4.0]]
    d = x.detach()[0]
    d.mul_(2)               # detach() is not a differentiable view: fine
    assert x.tolist() == [[4.0, 8.0], [3.0, 4.0]]


@pytest.mark.parametrize("write", ["base", "view", "sibling"])
def test_retain_grad_follows_inplace_writes(device, write):
    """``.grad`` of a retained tensor is the gradient of its value after the write (torch)."""
    grads = []
    for lib, dev in ((torch, "cpu"), (framework, device)):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True, device=dev)
        a = x * 1
        v = a[:2]
        a.retain_grad()
        v.retain_grad()
        {"base": a, "view": v, "sibling": a[1:]}[write].mul_(3)
        (a * a).sum().add((v * v).sum()).backward()
        grads.append([a.grad.tolist(), v.grad.tolist()])
    assert grads[0] == grads[1]


def test_a_view_that_cant_be_rebased_still_prints_like_torch(device):
    for lib, dev in ((torch, "cpu"), (framework, device)):
        a = lib.ones(2, requires_grad=True, device=dev) * 1
        with lib.no_grad():
            v = a[:1]
        a.mul_(2)
        assert v.requires_grad
        assert "grad_fn=<Invalid>" in repr(v), (lib.__name__, repr(v))
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
            v * 2


# --- sequences of writes through views made at different times ---------------------------------
# (none saves its result: PyTorch would refuse the backward after a later write, where this
# library, which saves a copy, gives the gradient)
SEQUENCE_OPS = ["mul_", "add_", "sin_", "clamp_", "neg_", "copy_", "zero_", "setitem"]
# views applicable to a tensor of any shape with at least one dim (results keep one dim)
GENERIC_VIEWS = {
    "unsqueeze": (lambda t: True, lambda t: t.unsqueeze(0)),
    "head": (lambda t: t.shape[0] > 1, lambda t: t[: t.shape[0] - 1]),
    "step": (lambda t: t.shape[-1] > 1, lambda t: t[..., ::2]),
    "transpose": (lambda t: t.ndim > 1, lambda t: t.transpose(0, -1)),
    "select": (lambda t: t.ndim > 1, lambda t: t[-1]),
    "diagonal": (lambda t: t.ndim > 1, lambda t: t.diagonal(0, 0, -1)),
    "flat": (lambda t: t.is_contiguous(), lambda t: t.view(-1)),
}


def _sequence(seed):
    """Eight steps: make a view of an existing tensor, or write into one (tensor 0: the base)."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(8):
        kind = "view" if rng.random() < 0.5 else "write"
        names = sorted(GENERIC_VIEWS) if kind == "view" else SEQUENCE_OPS
        steps.append((kind, int(rng.integers(1 << 16)), names[rng.integers(len(names))]))
    return steps


def _replay(steps):
    def fn(x, w):
        tensors = [x * 1.0]
        for kind, pick, what in steps:
            if kind == "view":
                applicable, make = GENERIC_VIEWS[what]
                candidates = [t for t in tensors if applicable(t)]
                if candidates:
                    tensors.append(make(candidates[pick % len(candidates)]))
                continue
            t = tensors[pick % len(tensors)]
            value = w.reshape(-1)[: t.numel()].reshape(t.shape)
            if what == "setitem":
                t[...] = value
            elif what in ("mul_", "add_", "copy_"):
                getattr(t, what)(value)
            elif what == "clamp_":
                t.clamp_(-0.5, 0.5)
            else:
                getattr(t, what)()
        return tuple(tensors)
    return fn


@pytest.mark.parametrize("seed", range(12))
def test_sequences_of_writes_through_views_match_torch(seed):
    """Random sequences of views (of views) and writes; every tensor is read at the end."""
    steps = _sequence(seed)
    check_op(_replay(steps), _replay(steps),
             [RNG.uniform(-0.9, 0.9, (2, 3, 2)), RNG.uniform(0.5, 1.5, 12)], device="cpu")


@pytest.mark.parametrize("seed", range(3))
def test_sequences_of_writes_through_views_match_torch_on_cuda(seed):
    steps = _sequence(seed)
    check_op(_replay(steps), _replay(steps),
             [RNG.uniform(-0.9, 0.9, (2, 3, 2)), RNG.uniform(0.5, 1.5, 12)], device="cuda")


# --- results of ops that build them through internal views are not views --------------------------
def _internal_views(lib, device):
    def fn(x, w):
        plain = x.detach()
        with lib.no_grad():
            made_in_no_grad = plain.cumsum(0)
        outs = [x.cumsum(0), x.sort(0).values, x.cummax(1).values, plain.cumsum(1),
                made_in_no_grad, lib.nn.functional.embedding(
                    lib.tensor([[1, 0]], device=device), x)]
        for out in outs:
            out.mul_(w if out.shape == w.shape else 2.0)
        return tuple(outs)
    return fn


def test_inplace_on_results_of_ops_built_from_internal_views(device):
    check_op(_internal_views(framework, device), _internal_views(torch, "cpu"),
             [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))], device=device)


def _custom_functions(lib):
    class ViewOfInput(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view(-1)

        @staticmethod
        def backward(ctx, grad):
            return grad.view(2, 2)

    class Identity(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad
    return ViewOfInput, Identity


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("direct", [True, False])
def test_views_returned_by_custom_functions_refuse_inplace_like_torch(device, which, direct):
    for lib, dev in ((torch, "cpu"), (framework, device)):
        a = lib.ones(2, 2, requires_grad=True, device=dev) * 1
        fn = _custom_functions(lib)[which]
        y = fn.apply(a)
        with pytest.raises(RuntimeError) as info:
            if direct:
                y.mul_(2)
            else:
                a.mul_(2)
                y * 2
        assert "This view was created inside a custom Function (or because an input was " \
               "returned as-is)" in str(info.value), (lib.__name__, str(info.value))
