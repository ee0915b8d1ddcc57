"""The small-op dispatch fast paths give exactly what the general paths give.

``Tensor``'s ``+ - * /`` operators (``ops/_pointwise.py::tensor_operator`` and
``reflected_operator``), the no-grad ``relu`` and unary kernel calls, the NumPy
backend's inlined ``wrap`` of a fresh result, its ``np.maximum`` relu and the
error-state context (``_arrays.quiet``) are each checked against the path they
short-cut (docs/perf.md, "small-op dispatch").
"""
from __future__ import annotations

import threading
import warnings

import ml_dtypes
import numpy as np
import pytest

import framework
from framework import dtypes
from framework._backends.numpy import _arrays, elementwise as np_elementwise
from framework.autograd.function import Function
from framework.ops import binary, unary

DTYPES = [dtypes.float32, dtypes.float64, dtypes.float16, dtypes.bfloat16, dtypes.int64,
          dtypes.int32, dtypes.uint8, dtypes.bool]
OPERATORS = {"+": ("add", lambda a, b: a + b), "-": ("sub", lambda a, b: a - b),
             "*": ("mul", lambda a, b: a * b), "/": ("div", lambda a, b: a / b)}


def _tensor(dtype, shape, seed=0, device="cpu"):
    values = np.random.default_rng(seed).standard_normal(shape) * 3
    if not dtype.is_floating_point:
        values = np.where(np.abs(values) < 1, 2.0, values)  # no integer zeros to divide by
    return framework.tensor(values, dtype=dtype, device=device)


def _pair(dtype, layout, device="cpu"):
    """Two operands of one dtype and shape, laid out as ``layout`` says."""
    shape = {"0-d": (), "1-d": (5,), "2-d": (2, 3), "transposed": (3, 2), "empty": (0, 3),
             "offset": (4, 3), "size-1": (2, 1, 3)}[layout]
    a, b = _tensor(dtype, shape, 1, device), _tensor(dtype, shape, 2, device)
    if layout == "transposed":
        a, b = a.t(), b.t()
    if layout == "offset":  # views with a storage offset (no longer the whole storage)
        a, b = a[1:], b[:3]
    return a, b


def _summary(t):
    """Everything a result is compared on: metadata, graph state, version, bytes."""
    return (t.dtype, t.device, tuple(t.shape), t.stride(), t.requires_grad, t.grad_fn,
            t.is_leaf, t._version, t.is_contiguous(), t.cpu().numpy().tobytes())


def _general_calls(monkeypatch) -> list:
    """Record each call of the helpers the ops' general paths start with (an operator that
    takes its fast path calls none of them)."""
    calls = []
    for name in ("same_untracked", "_fast_result_type", "_operands", "_binary"):
        original = getattr(binary, name)

        def recorded(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(binary, name, recorded)
    return calls


def _general(op: str, a, b):
    """``a op b`` through the op the operator falls back to, its own fast path switched off."""
    fn = {"+": binary.add, "-": binary.sub if isinstance(a, framework.Tensor) else binary._rsub,
          "*": binary.mul, "/": binary.div}[op]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(binary, "same_untracked", lambda kernel, x, y: None)
        return fn(a, b)


# ---------------------------------------------------------------------------------------
# Tensor operators
# ---------------------------------------------------------------------------------------
def _outcome(fn):
    try:
        return _summary(fn())
    except RuntimeError as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("op", list(OPERATORS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["0-d", "1-d", "2-d", "transposed", "empty", "offset",
                                    "size-1"])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_operator_fast_path_equals_the_general_path(op, dtype, layout, grad_mode, monkeypatch):
    a, b = _pair(dtype, layout)
    versions = (a._version, b._version)
    calls = _general_calls(monkeypatch)
    with framework.set_grad_enabled(grad_mode):
        fast = _outcome(lambda: OPERATORS[op][1](a, b))
    # views (transposed, offset) leave grad mode's exact test to the op
    takes_fast_path = not (op == "-" and dtype is dtypes.bool) and not (
        op == "/" and not dtype.is_floating_point) and not (
        grad_mode and layout in ("transposed", "offset"))
    assert (calls == []) is takes_fast_path
    assert _outcome(lambda: _general(op, a, b)) == fast
    assert (a._version, b._version) == versions  # inputs untouched
    if not isinstance(fast[0], type):
        out = OPERATORS[op][1](a, b)
        assert out._a.storage is not a._a.storage and out._a.storage is not b._a.storage
        if out.numel():  # fresh memory, no alias of either operand
            assert not np.shares_memory(out._a.storage.buffer, a._a.storage.buffer)
            assert not np.shares_memory(out._a.storage.buffer, b._a.storage.buffer)


@pytest.mark.parametrize("op", list(OPERATORS))
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16,
                                   dtypes.bfloat16, dtypes.int64, dtypes.uint8])
@pytest.mark.parametrize("number", [2, 2.5, -3, True, 2 ** 40])
def test_operator_with_a_python_number_equals_the_general_path(op, dtype, number, monkeypatch):
    a = _tensor(dtype, (2, 3), 3)
    calls = _general_calls(monkeypatch)
    for left, right in ((a, number), (number, a)):
        calls.clear()
        fast = _outcome(lambda: OPERATORS[op][1](left, right))
        # numbers take the fast path with floating tensors (a bool number never does), and
        # ints with int64 tensors in + - * (an int64 result)
        takes = (dtype.is_floating_point and type(number) in (int, float)) or (
            dtype is dtypes.int64 and type(number) is int and op in "+-*")
        assert (calls == []) is takes
        assert fast == _outcome(lambda: _general(op, left, right)), (left, right)


def test_operator_fast_path_leaves_other_cases_to_the_op(monkeypatch):
    a, b = _tensor(dtypes.float32, (2, 3), 1), _tensor(dtypes.float32, (2, 3), 2)
    calls = _general_calls(monkeypatch)
    cases = [
        lambda: a + b[:1],  # broadcasting
        lambda: a + b.double(),  # promotion
        lambda: a * framework.nn.Parameter(b),  # a subclass (and tracked)
        lambda: a + (b.detach().requires_grad_() * 1)[0:2][0],  # a view of one, broadcast
        lambda: a + np.float32(1.5),  # a NumPy scalar
        lambda: _tensor(dtypes.int32, (2, 3)) + 1.5,  # an integer tensor and a float
        lambda: _tensor(dtypes.int32, (2, 3)) / _tensor(dtypes.int32, (2, 3), 1),  # int / int
    ]
    for case in cases:
        calls.clear()
        case()
        assert calls, case
    # a tracked leaf or a graph result of the same dtype, device and shape goes straight to
    # the op's recorded path (tests/test_record_fast_path.py holds its node equal)
    for case in (lambda: a - b.detach().requires_grad_(),
                 lambda: (a.detach().requires_grad_() * 1) / b):
        calls.clear()
        assert case().grad_fn is not None and calls == [], case
    with framework.no_grad():  # no graph recorded: tracked operands take the fast path
        calls.clear()
        tracked = b.detach().requires_grad_()
        out = a * tracked
        assert calls == [] and out.grad_fn is None and not out.requires_grad


def test_operators_record_the_graph_of_the_general_path():
    a = _tensor(dtypes.float32, (2, 3), 1).requires_grad_()
    b = _tensor(dtypes.float32, (2, 3), 2)
    names = [type((f(a, b)).grad_fn).__name__ for f in (
        lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
        lambda x, y: 2 - x, lambda x, y: 2 / x, lambda x, y: 2 * x, lambda x, y: 2 + x)]
    assert names == ["AddBackward0", "SubBackward0", "MulBackward0", "DivBackward0",
                     "RsubBackward1", "DivBackward0", "MulBackward0", "AddBackward0"]
    ((a + b) * (2 - a) / b).sum().backward()
    expected = (2 - 2 * a.detach() - b) / b
    np.testing.assert_allclose(a.grad.numpy(), expected.numpy(), rtol=1e-6)


def test_operator_errors_are_the_general_paths():
    a = _tensor(dtypes.float32, (2, 3))
    with pytest.raises(TypeError) as fast:
        a + "x"
    with pytest.raises(TypeError) as general:
        binary.add(a, "x")
    assert str(fast.value) == str(general.value)
    with pytest.raises(RuntimeError, match="size of tensor a"):
        a + _tensor(dtypes.float32, (4,))
    flags = _tensor(dtypes.bool, (3,))
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool"):
        flags - flags
    with pytest.raises(RuntimeError, match="with a bool tensor"):
        1 - flags


@pytest.mark.parametrize("op", list(OPERATORS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["0-d", "2-d", "transposed", "empty", "offset"])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_public_functions_equal_the_general_path(op, dtype, layout, grad_mode):
    """``framework.add/sub/mul/div(a, b)`` (their public form tries the same-operand kernel
    call first: ``ops.out``) give the general path's result, graph and errors."""
    a, b = _pair(dtype, layout)
    public = getattr(framework, OPERATORS[op][0])
    with framework.set_grad_enabled(grad_mode):
        fast = _outcome(lambda: public(a, b))
        assert _outcome(lambda: _general(op, a, b)) == fast
        assert _outcome(lambda: public(input=a, other=b)) == fast


def test_public_functions_record_the_graph_and_keep_keywords():
    a = _tensor(dtypes.float32, (2, 3), 1).requires_grad_()
    b = _tensor(dtypes.float32, (2, 3), 2)
    for name, node in (("add", "AddBackward0"), ("sub", "SubBackward0"),
                       ("mul", "MulBackward0"), ("div", "DivBackward0")):
        out = getattr(framework, name)(a, b)
        assert type(out.grad_fn).__name__ == node and out.requires_grad
    with framework.no_grad():
        trunc = framework.div(a, b, rounding_mode="trunc")
    np.testing.assert_array_equal(trunc.numpy(), np.trunc(a.detach().numpy() / b.numpy()))
    assert framework.add.__name__ == "add" and "out" in framework.add.__code__.co_varnames


def test_out_and_alpha_take_the_checked_path():
    a, b = _tensor(dtypes.float32, (2, 3), 1), _tensor(dtypes.float32, (2, 3), 2)
    np.testing.assert_array_equal(framework.add(a, b, alpha=2).numpy(), (a + b * 2).numpy())
    np.testing.assert_array_equal(framework.sub(a, b, alpha=3).numpy(), (a - b * 3).numpy())
    out = framework.empty((2, 3))
    assert framework.mul(a, b, out=out) is out
    np.testing.assert_array_equal(out.numpy(), (a * b).numpy())
    with pytest.raises(RuntimeError, match="can't be cast"):
        framework.div(a, b, out=framework.empty((2, 3), dtype=dtypes.int64))
    with pytest.raises(RuntimeError, match="alpha must not be a floating"):
        framework.add(a.long(), b.long(), alpha=1.5)


def test_operator_fast_path_on_the_triton_backend(monkeypatch):
    a, b = _pair(dtypes.float32, "2-d", device="cuda")
    calls = _general_calls(monkeypatch)
    fast = [_summary(f(a, b)) for f in (lambda x, y: x + y, lambda x, y: x * y)]
    assert calls == []
    assert fast == [_summary(_general("+", a, b)), _summary(_general("*", a, b))]


# ---------------------------------------------------------------------------------------
# relu and the unary kernels
# ---------------------------------------------------------------------------------------
def _special(np_dtype, shape):
    v = np.asarray(np.random.default_rng(0).standard_normal(shape)).astype(np_dtype)
    if v.size >= 5:
        v.flat[:5] = [np.nan, -0.0, -np.inf, np.inf, 0.0]
    return v


@pytest.mark.parametrize("dtype", DTYPES[:-1])
@pytest.mark.parametrize("layout", ["0-d", "1-d", "2-d", "transposed", "empty", "offset"])
def test_relu_fast_path_equals_the_general_path(dtype, layout, monkeypatch):
    a, _ = _pair(dtype, layout)
    if dtype.is_floating_point and a.numel() >= 5:
        flat = a.reshape(-1) if a.is_contiguous() else None
        if flat is not None:
            flat[:5] = framework.tensor([float("nan"), -0.0, float("-inf"), float("inf"), 0.0])
    fast = _summary(framework.relu(a))
    fast_nn = _summary(framework.nn.functional.relu(a))
    monkeypatch.setattr(np_elementwise, "_relu_zero", lambda np_dtype: None)  # no maximum
    monkeypatch.setattr(np_elementwise, "_RELU_BY_DTYPE", {})  # nor its cached zeros
    general = _summary(unary._Relu.apply(a, a.dtype, {}))
    assert fast == general == fast_nn


def test_relu_keeps_its_checks_and_its_graph():
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        framework.relu(_tensor(dtypes.bool, (3,)))
    with pytest.raises(TypeError, match="must be Tensor"):
        framework.relu(np.ones(3))
    a = _tensor(dtypes.float32, (4,)).requires_grad_()
    out = framework.relu(a)
    assert type(out.grad_fn).__name__ == "ReluBackward0"
    view = (a * 1)[1:]  # a view of a graph result: tracked through its base
    assert type(framework.relu(view).grad_fn).__name__ == "ReluBackward0"
    assert type(framework.exp(view).grad_fn).__name__ == "ExpBackward0"
    assert type((view * 2).grad_fn).__name__ == "MulBackward0"
    assert type((2 - view).grad_fn).__name__ == "RsubBackward1"
    with framework.no_grad():
        assert framework.relu(view).grad_fn is None and framework.exp(view).grad_fn is None
    b = _tensor(dtypes.float32, (4,))
    assert framework.relu(b, inplace=True) is b and b._version == 1


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16,
                                      np.int32, np.int8, np.uint8])
@pytest.mark.parametrize("shape", [(), (1,), (9,), (70,), (5, 7), (4099,), (2, 140001)])
def test_maximum_relu_has_the_bits_of_the_masked_relu(np_dtype, shape):
    v = _special(np_dtype, shape) if np.dtype(np_dtype).kind not in "iu" else np.asarray(
        (np.arange(np.prod(shape, dtype=int)).reshape(shape) * 37 % 23 - 11).astype(np_dtype))
    exact = v.copy()
    np.putmask(exact, v < 0, 0)
    for operand in (v, v.T, v[::2] if v.ndim else v):
        expected = operand.copy()
        np.putmask(expected, operand < 0, 0)
        got = np.asarray(np_elementwise._relu(operand))
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_the_matmul_epilogue_relu_in_place_has_the_relu_kernel_bits(np_dtype):
    """``matmul_epilogue(..., "relu", keep_preact=False)`` applies relu in place over its own
    product: the bits of the relu kernel on ``a @ b + bias`` (NaN, -0.0 and -inf rows)."""
    from framework._backends.numpy import matmul as np_matmul
    from framework._backends.numpy._arrays import wrap
    dtype = dtypes.float32 if np_dtype is np.float32 else dtypes.float64
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1, 6, 5)).astype(np_dtype), rng.standard_normal((1, 5, 4)).astype(np_dtype)
    a[0, 0], a[0, 1] = 0.0, np.nan
    bias = np.array([-0.0, np.inf, -np.inf, 1.0], np_dtype)
    out, pre = np_matmul.matmul_epilogue(wrap(a, dtype), wrap(b, dtype), wrap(bias, dtype), "relu",
                                         None, False)
    z = np.matmul(a, b)
    z += bias
    expected = z.copy()
    np.putmask(expected, z < 0, 0)
    assert pre is None and np.asarray(out._cache).tobytes() == expected.tobytes()


def test_maximum_relu_is_used_only_where_it_was_checked(monkeypatch):
    """Where NumPy's maximum orders -0.0 below +0.0 (ARM), relu keeps the masked path."""
    np_elementwise._relu_zero.cache_clear()
    monkeypatch.setattr(np_elementwise, "_RELU_BY_DTYPE", {})
    real_maximum = np.maximum

    def arm_like(a, b, *args, **kwargs):  # a tie returns +0.0, as ARM's fmax does
        out = real_maximum(a, b, *args, **kwargs)
        return np.where((np.asarray(a) == 0) & (np.asarray(b) == 0), np.abs(out), out)
    monkeypatch.setattr(np_elementwise.np, "maximum", arm_like)
    try:
        assert np_elementwise._relu_zero(np.dtype(np.float32)) is None
        assert np_elementwise._relu_zero(np.dtype(np.int32)) is not None
        v = np.array([-0.0, -1.0, np.nan, 2.0], np.float32)
        assert np.signbit(np_elementwise._relu(v)).tolist() == [True, False, False, False]
        from framework._backends.numpy._arrays import nd, wrap
        small = np_elementwise.relu(wrap(v.copy(), dtypes.float32), dtypes.float32)
        assert np.signbit(nd(small)).tolist() == [True, False, False, False]
    finally:
        monkeypatch.undo()
        np_elementwise._relu_zero.cache_clear()


@pytest.mark.parametrize("name", ["neg", "exp", "sigmoid", "tanh", "abs", "sqrt"])
@pytest.mark.parametrize("layout", ["1-d", "transposed", "offset"])
def test_unary_untracked_call_equals_function_apply(name, layout):
    a, _ = _pair(dtypes.float32, layout)
    a = a.abs() if name == "sqrt" else a
    fast = _summary(getattr(framework, name)(a))
    fn_cls = {"neg": unary._Neg, "exp": unary._Exp, "sigmoid": unary._Sigmoid,
              "tanh": unary._Tanh, "abs": unary._Abs, "sqrt": unary._Sqrt}[name]
    general = Function.apply.__func__(fn_cls, a, a.dtype, {})  # forward, nothing recorded
    assert fast == _summary(general)


# ---------------------------------------------------------------------------------------
# The NumPy backend: inlined wrap, layouts, error state
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3), (2, 1, 3), (3, 1), (0, 3)])
def test_binary_kernel_builds_the_array_wrap_builds(np_dtype, shape):
    dtype = dtypes.from_numpy_dtype(np.dtype(np_dtype))
    x = _arrays.wrap(np.ones(shape, np_dtype), dtype)
    y = _arrays.wrap(np.ones(shape, np_dtype), dtype)
    got = np_elementwise.KERNELS["mul"](x, y, dtype, dtype)
    expected = _arrays._wrap_copy(np.multiply(np.ones(shape, np_dtype), 1).astype(np_dtype),
                                  dtype)
    for name in ("shape", "strides", "offset", "dtype"):
        assert getattr(got, name) == getattr(expected, name), name
    assert got.storage.numel == expected.storage.numel and got.storage.version == 0
    assert got.storage.dtype is dtype and got.storage.buffer.ndim == 1
    assert got.storage.buffer.tobytes() == expected.storage.buffer.tobytes()
    assert _arrays.nd(got).tobytes() == _arrays.nd(expected).tobytes()
    if got.storage.numel:
        assert got._cache is not None and np.shares_memory(got._cache, got.storage.buffer)


def test_fresh_layouts_are_a_bounded_cache(monkeypatch):
    monkeypatch.setattr(_arrays, "_FRESH_LAYOUTS", [{} for _ in range(17)])
    monkeypatch.setattr(_arrays, "_FRESH_LAYOUTS_MAX", 4)
    for n in range(1, 12):
        array = _arrays.wrap(np.zeros((n, 2), np.float32), dtypes.float32)
        assert array.strides == (2, 1) and array.storage.numel == 2 * n
        assert 1 <= len(_arrays._FRESH_LAYOUTS[4]) <= 4
    assert (11, 2) in _arrays._FRESH_LAYOUTS[4]


def test_kernels_silence_floating_point_warnings_and_leave_numpy_state_alone():
    before = np.geterr()
    a = framework.tensor([1.0, -1.0, 0.0, 3e38])
    zero = framework.zeros(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # the caller's NumPy state does not reach the kernels
            out = (a / zero).numpy()
            big = (a * a).numpy()
            logs = framework.log(zero - 1).numpy()
    assert np.isposinf(out[0]) and np.isneginf(out[1]) and np.isnan(out[2])
    assert np.isposinf(big[3]) and np.isnan(logs).all()
    assert np.geterr() == before


def test_quiet_works_nested_and_falls_back_when_its_context_is_in_use():
    def inner(x):
        # a nested call: the context is already entered, so quiet sets the variable here
        return _arrays.quiet(np.divide, x, 0.0)
    got = _arrays.quiet(inner, np.array([1.0, 0.0]))
    assert np.isposinf(got[0]) and np.isnan(got[1])
    with pytest.raises(ValueError):  # a kernel's own error comes through unchanged
        _arrays.quiet(np.reshape, np.ones(3), (2, 2))
    with pytest.raises(RuntimeError, match="mine"):
        _arrays.quiet(_raise_runtime_error)


@pytest.mark.parametrize("kernel", ["div", "log"])
def test_kernels_fall_back_when_the_quiet_context_is_in_use(kernel):
    """A kernel run while the context is entered (here: from inside it, as another thread
    would find it) sets NumPy's error state itself: the same result, no warning."""
    x = _arrays.wrap(np.array([1.0, 0.0, -1.0], np.float32), dtypes.float32)
    zero = _arrays.wrap(np.zeros(3, np.float32), dtypes.float32)
    run = np_elementwise.KERNELS[kernel]
    args = (x, zero, dtypes.float32, dtypes.float32) if kernel == "div" else (
        zero, dtypes.float32)
    expected = _arrays.nd(run(*args)).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nested = _arrays._QUIET_RUN(run, *args)
    assert _arrays.nd(nested).tobytes() == expected


def _raise_runtime_error():
    raise RuntimeError("mine")


def test_kernels_run_in_several_threads_at_once():
    """Large ops release the GIL inside NumPy, so threads enter the quiet context together."""
    a = framework.tensor(np.linspace(-1, 1, 400_000, dtype=np.float32))
    b = a + 2
    expected = (a.numpy() + b.numpy(), a.numpy() * b.numpy(), a.numpy() / b.numpy())
    errors = []

    def work():
        try:
            for _ in range(20):
                results = (a + b, a * b, a / b)
                for got, want in zip(results, expected):
                    assert np.array_equal(got.numpy(), want)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_tensors_on_one_device_share_its_device_object(monkeypatch):
    """``as_device`` gives one instance per device, so the operators' identity check holds for
    tensors made with any spelling of the device."""
    values = np.ones(3, np.float32)
    made = [framework.tensor(values), framework.tensor(values, device="cpu"),
            framework.tensor(values, device=framework.device("cpu")),
            framework.ones(3, device="cpu"), framework.tensor(values).to("cpu"),
            framework.tensor(values, device="cuda").cpu()]
    assert all(t.device is framework.devices.CPU for t in made)
    cuda = [framework.tensor(values, device=d) for d in ("cuda", "cuda:0", 0,
                                                          framework.device("cuda", 0))]
    assert all(t.device is cuda[0].device for t in cuda)
    calls = _general_calls(monkeypatch)
    for t in made[1:]:
        made[0] + t
    assert calls == []


def test_fast_paths_call_kernels_through_the_loaded_backend():
    """The compiler's tracer swaps the loaded backend for a recording one: kernels the fast
    paths call must reach it, or a trace would keep their results as constants."""
    def fn(x, y):
        return framework.relu(x * y + 1.0) - y / 2.0 + (1 - x)

    x, y = _tensor(dtypes.float32, (3, 4), 1), _tensor(dtypes.float32, (3, 4), 2)
    traced = framework.jit.trace(fn, (x, y))
    kernels = [node.op for node in traced.graph.nodes]
    for kernel in ("mul", "add", "relu", "div", "sub"):
        assert kernel in kernels, (kernel, kernels)
    other = (_tensor(dtypes.float32, (3, 4), 3), _tensor(dtypes.float32, (3, 4), 4))
    np.testing.assert_allclose(traced(*other).numpy(), fn(*other).numpy(), rtol=1e-6)


# In-place + - * / (``inplace._untracked_inplace``) --------------------------------------
def _general_inplace(op: str, x, other):
    """``x.<op>_(other)`` by ``apply_inplace`` (the path the shortcut skips)."""
    from framework.ops import binary, inplace
    fn = getattr(binary, {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}[op])
    return inplace.apply_inplace(op + "_", x, lambda old: fn(old, other))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16,
                                   dtypes.bfloat16, dtypes.int64, dtypes.int32, dtypes.bool])
@pytest.mark.parametrize("other", ["tensor", 2, 2.5, -3, True, "broadcast", "other dtype"])
def test_inplace_operator_equals_apply_inplace(op, dtype, other):
    """Values, dtype, version bump and errors of ``x.op_(other)`` as ``apply_inplace`` gives
    them, shortcut taken or not."""
    def operand(x):
        if other == "tensor":
            return _tensor(dtype, (2, 3), 5)
        if other == "broadcast":
            return _tensor(dtype, (3,), 5)
        if other == "other dtype":
            return _tensor(dtypes.float64, (2, 3), 5)
        return other
    results = []
    for run in (lambda x, y: getattr(x, op + "_")(y), lambda x, y: _general_inplace(op, x, y)):
        x = _tensor(dtype, (2, 3), 4)
        version = x._version
        outcome = _outcome(lambda: run(x, operand(x)))
        results.append((outcome, x.numpy().tobytes(), x.dtype, x._version - version))
    assert results[0] == results[1]


def test_inplace_shortcut_leaves_recorded_and_view_writes_to_apply_inplace(monkeypatch):
    from framework.ops import inplace
    calls = []
    real = inplace.apply_inplace
    monkeypatch.setattr(inplace, "apply_inplace",
                        lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    leaf = framework.ones(3, requires_grad=True)
    plain = framework.ones(3)
    with framework.no_grad():
        leaf.sub_(0.5)  # a parameter's update under no_grad: the shortcut
        leaf -= plain
    assert calls == [] and leaf._version == 2
    cases = [lambda: plain.add_(leaf),  # records a node
             lambda: plain[:2].mul_(2.0),  # a view
             lambda: (leaf * 1).add_(1.0),  # has a node
             lambda: plain.add_(plain, alpha=2),  # a keyword
             lambda: plain.div_(framework.ones(3, dtype=dtypes.float64))]
    for case in cases:
        calls.clear()
        case()
        assert calls, case
    out = framework.ones(3).add_(leaf)
    assert type(out.grad_fn).__name__ == "AddBackward0"


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.int64])
def test_inplace_operator_equals_apply_inplace_on_both_devices(device, op, dtype):
    for other in ("tensor", 3, 0.5):
        results = []
        for run in (lambda x, y: getattr(x, op + "_")(y),
                    lambda x, y: _general_inplace(op, x, y)):
            x = _tensor(dtype, (2, 3), 4, device)
            y = _tensor(dtype, (2, 3), 5, device) if other == "tensor" else other
            version = x._version
            outcome = _outcome(lambda: run(x, y))
            results.append((outcome, x.cpu().numpy().tobytes(), x._version - version))
        assert results[0] == results[1], other
