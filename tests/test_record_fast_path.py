"""The recorded-op fast paths build exactly the node ``Function.apply`` builds.

``_Binary._record`` (``framework/ops/binary.py``) and ``_Unary._record``
(``framework/ops/unary.py``) make the graph node of a recorded elementwise op
directly instead of through ``Function.apply``'s generic ctx; so do
``_Matmul.apply``, ``_Linear.record_plain`` (``framework/ops/matmul.py``),
``_TanhBackward.apply`` (tanh's double-backward node), ``shape._View.apply`` (every view
op: permute, reshape, expand, slicing...) and ``reduce._reduce_all`` (``x.sum()``,
``x.mean()``). Each test here
compares them with ``Function.apply`` itself: the node (its class, name,
``__dict__``, edges, saved tensors and versions), and whole graphs run both
ways (gradients, double backward, hooks, ``retain_grad``, in-place checks,
views).
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
from framework import dtypes
from framework.autograd.function import Function, rename_node
from framework.ops import binary, matmul, unary

BINARY_CLASSES = sorted((cls for cls in vars(binary).values()
                         if isinstance(cls, type) and issubclass(cls, binary._Binary)
                         and cls is not binary._Binary), key=lambda c: c.__name__)


def _leaf(shape, dtype=dtypes.float64, seed=0, requires_grad=True, low=0.5):
    values = np.random.default_rng(seed).uniform(low, 2.0, shape)
    return framework.tensor(values, dtype=dtype, requires_grad=requires_grad)


def _general(cls, *args):
    """``Function.apply`` itself, bypassing the op's own ``apply``."""
    return Function.apply.__func__(cls, *args)


def _general_view(cls, x, shape, strides, offset, backward_fn, name=None):
    """``Function.apply`` of ``_View``, its node then named ``name`` as ``rename_node`` would."""
    out = Function.apply.__func__(cls, x, shape, strides, offset, backward_fn)
    return out if name is None else rename_node(out, name)


def _state(node, names: dict):
    """A node's class and ``__dict__``, tensors replaced by their names in ``names``
    (the operands and the output), nodes by their class names."""
    def label(value):
        if isinstance(value, framework.Tensor):
            return names[id(value)]
        if isinstance(value, tuple):
            return tuple(label(v) for v in value)
        if isinstance(value, list):
            return [label(v) for v in value]
        if isinstance(value, framework.autograd.function.Node):
            return (type(value).__name__, id(value))
        return value
    return type(node), {key: label(value) for key, value in vars(node).items()}


def _assert_same_node(fast, general, names: dict) -> None:
    assert type(fast.grad_fn) is type(general.grad_fn)
    assert fast.grad_fn.name() == general.grad_fn.name()
    assert fast._output_nr == general._output_nr == 0
    assert fast.requires_grad and not fast.is_leaf
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    assert (_state(fast.grad_fn, {**names, id(fast): "out"})
            == _state(general.grad_fn, {**names, id(general): "out"}))


def _operands(case: str):
    """``(a, b)`` of one recorded binary call."""
    a, b = _leaf((2, 3), seed=1), _leaf((2, 3), seed=2, requires_grad=False)
    if case == "a":
        return a, b
    if case == "b":
        return b, a
    if case == "both":
        return a, _leaf((2, 3), seed=3)
    if case == "broadcast":
        return a, _leaf((3,), seed=3)
    if case == "number":
        return a, 1.5
    if case == "reflected":
        return 2.5, a
    if case == "non-leaf":
        return a * 2.0, b
    if case == "view":
        return a[1:], b[:1]
    if case == "float32":
        return _leaf((4,), dtypes.float32, 4), _leaf((4,), dtypes.float32, 5)
    raise ValueError(case)


CASES = ["a", "b", "both", "broadcast", "number", "reflected", "non-leaf", "view", "float32"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cls", BINARY_CLASSES, ids=lambda c: c.__name__)
def test_binary_node_equals_function_apply(cls, case):
    a, b = _operands(case)
    ref = a if isinstance(a, framework.Tensor) else b
    dtype = ref.dtype
    fast = cls.apply(a, b, dtype, dtype)
    general = _general(cls, a, b, dtype, dtype)
    _assert_same_node(fast, general, {id(a): "a", id(b): "b"})


def _use_function_apply(monkeypatch) -> None:
    """Make every recorded op with a fast path (elementwise, matmul, linear, tanh's
    backward, full sums and means) build its node through ``Function.apply``."""
    monkeypatch.setattr(binary._Binary, "_record", classmethod(
        lambda cls, a, b, cd, od, *flags: _general(cls, a, b, cd, od)))
    monkeypatch.setattr(unary._Unary, "_record", classmethod(
        lambda cls, x, out_dtype, params: _general(cls, x, out_dtype, params)))
    monkeypatch.setattr(matmul._Matmul, "apply", classmethod(_general))
    monkeypatch.setattr(unary._TanhBackward, "apply", classmethod(_general))
    monkeypatch.setattr(matmul._Linear, "record_plain", classmethod(
        lambda cls, x, w, b: _general(cls, x, w, b, None, None)))
    from framework.ops import reduce, shape
    monkeypatch.setattr(shape._View, "apply", classmethod(_general_view))
    monkeypatch.setattr(reduce.Unreduce, "apply", classmethod(_general))
    monkeypatch.setattr(reduce, "_reduce_all", lambda cls, kernel, x: _general(
        cls, x, tuple(range(x.ndim)), *(((), x.dtype) if cls is reduce.Sum else (False,))))


@pytest.fixture(params=["fast", "general"])
def record_mode(request, monkeypatch):
    """Run a test with the fast paths, and again with ``Function.apply`` for every node."""
    if request.param == "general":
        _use_function_apply(monkeypatch)
    return request.param


def test_the_fast_paths_are_taken(monkeypatch):
    """The ops and operators below record without ``Function.apply`` (so the equality tests
    here compare two different paths)."""
    def refuse(cls, *args, **kwargs):
        raise AssertionError(f"Function.apply called for {cls.__name__}")
    layer = framework.nn.Linear(3, 2).double()
    monkeypatch.setattr(Function, "apply", classmethod(refuse))
    a, b = _leaf((3,), seed=1), _leaf((3,), seed=2, requires_grad=False)
    for out in (a * b, a + 1.0, 2.0 * a, b / a, a - b, binary.mul(a, b), binary.pow(a, b),
                a.tanh(), unary.exp(a * b), framework.nn.functional.gelu(a), a.sum(), a.mean()):
        assert out.grad_fn is not None
    m, w = _leaf((4, 3), seed=3), _leaf((3, 2), seed=4)
    for out in (m @ w, framework.nn.functional.linear(m, w.detach().mT), layer(m),
                unary._TanhBackward.apply(m, m.detach())):
        assert out.grad_fn is not None
    # create_graph: linear's and tanh's backward record a matmul and tanh's backward node
    ones = framework.ones(4, 2, dtype=dtypes.float64)
    (g,) = framework.autograd.grad(layer(m).tanh(), m, ones, create_graph=True)
    assert type(g.grad_fn).__name__ == "MmBackward0"
    g.backward(framework.ones(4, 3, dtype=dtypes.float64))


def _graph(x, y):
    """A small graph of binary and unary ops (a PINN-like mix) and its names."""
    z = (x * y + x / (y + 1.0)) - 0.5 * x
    w = z.tanh() * z.exp() + (2.0 - z).sigmoid() + z.pow(2.0) + framework.maximum(z, y)
    return w.sum(), z, w


def _run():
    x, y = _leaf((3, 4), seed=7), _leaf((4,), seed=8)
    out, z, w = _graph(x, y)
    z.retain_grad()
    seen = []
    w.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    gx, gy = framework.autograd.grad(out, (x, y), create_graph=True)
    second = framework.autograd.grad((gx * gx).sum() + gy.sum(), (x, y))
    out2, z2, w2 = _graph(x, y)
    z2.retain_grad()
    out2.backward()
    names = [type(t.grad_fn).__name__ for t in (z, w, gx, gy)]
    edges = [[(type(n).__name__ if n is not None else None, nr)
              for n, nr in t.grad_fn.next_functions] for t in (z, w, gx)]
    return {"grads": [t.detach().numpy() for t in (gx, gy, *second, x.grad, y.grad, z2.grad)],
            "hook": seen, "names": names, "edges": edges}


def test_graph_equals_function_apply(monkeypatch):
    """Gradients (first and second order), hooks, retain_grad, node names and edges of a
    graph recorded by the fast paths equal those of the same graph made by ``Function.apply``."""
    fast = _run()
    _use_function_apply(monkeypatch)
    general = _run()
    assert fast["names"] == general["names"]
    assert fast["edges"] == general["edges"]
    assert len(fast["hook"]) == len(general["hook"]) == 1
    for f, g in zip(fast["grads"] + fast["hook"], general["grads"] + general["hook"]):
        np.testing.assert_array_equal(f, g)


def test_inplace_after_save_raises(record_mode):
    x, y = _leaf((3,), seed=1), _leaf((3,), seed=2, requires_grad=False)
    out = x * y  # saves y for x's gradient
    with framework.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    u = _leaf((3,), seed=3)
    e = u.exp()  # saves its output
    e.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        e.sum().backward()


def test_inplace_op_keeps_the_overwritten_value(record_mode):
    """``a.mul_(b)`` with ``b`` requiring grad: the node saving ``a`` gets a copy (the
    ``inplace_watch`` of ``Node.save_for_backward``), so backward gives the old ``a``."""
    b = _leaf((3,), seed=2)
    a = _leaf((3,), seed=1, requires_grad=False)
    old = a.detach().numpy().copy()
    a.mul_(b)
    a.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), old)


def test_freed_graph_raises(record_mode):
    x, y = _leaf((3,), seed=1), _leaf((3,), seed=2)
    out = (x * y).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


_UNARY_BASES = (unary._Unary, framework.ops.activation._FusedBackwardUnary)
UNARY_CLASSES = sorted((cls for module in (unary, framework.ops.activation)
                        for cls in vars(module).values()
                        if isinstance(cls, type) and issubclass(cls, unary._Unary)
                        and cls not in _UNARY_BASES), key=lambda c: c.__name__)


def _unary_input(cls, case: str):
    x = _leaf((2, 3), seed=9, low=0.1)
    if cls.KERNEL in ("asin", "acos", "atanh", "erfinv"):
        x = _leaf((2, 3), seed=9, low=0.1) * 0.4  # inside (-1, 1); a non-leaf
    elif cls.KERNEL == "acosh":
        x = _leaf((2, 3), seed=9, low=0.1) + 1.5
    if case == "non-leaf":
        return x * 1.0
    if case == "view":
        return x[1:]
    if case == "float32":
        return x.detach().float().requires_grad_()
    return x


@pytest.mark.parametrize("case", ["leaf", "non-leaf", "view", "float32"])
@pytest.mark.parametrize("cls", UNARY_CLASSES, ids=lambda c: c.__name__)
def test_unary_node_equals_function_apply(cls, case):
    x = _unary_input(cls, case)
    params = {"beta": 1.0, "threshold": 20.0} if cls.KERNEL == "softplus" else {}
    fast = cls.apply(x, x.dtype, params)
    general = _general(cls, x, x.dtype, params)
    assert type(fast.grad_fn) is type(general.grad_fn)
    assert fast.grad_fn.name() == general.grad_fn.name()
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    names = {id(x): "x"}
    assert (_state(fast.grad_fn, {**names, id(fast): "out"})
            == _state(general.grad_fn, {**names, id(general): "out"}))


OPERATORS = {"+": (binary._Add, lambda a, b: a + b), "-": (binary._Sub, lambda a, b: a - b),
             "*": (binary._Mul, lambda a, b: a * b), "/": (binary._Div, lambda a, b: a / b)}


@pytest.mark.parametrize("symbol, case", [
    (symbol, case) for symbol in OPERATORS
    for case in ["a", "b", "both", "number", "int", "reflected", "non-leaf", "view", "float32"]
    if (symbol, case) != ("-", "reflected")])  # rsub: test_reflected_sub_keeps_its_node_name
def test_operator_node_equals_function_apply(symbol, case):
    """``Tensor``'s ``+ - * /`` on operands that record a node (their own route to
    ``_Binary._record``) give ``Function.apply``'s node."""
    cls, operator = OPERATORS[symbol]
    a, b = _operands({"int": "number"}.get(case, case))
    if case == "int":
        b = 3
    fast = operator(a, b)
    ref = a if isinstance(a, framework.Tensor) else b
    general = _general(cls, a, b, ref.dtype, ref.dtype)
    assert type(fast.grad_fn) is type(general.grad_fn)
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    names = {id(a): "a", id(b): "b"}
    assert (_state(fast.grad_fn, {**names, id(fast): "out"})
            == _state(general.grad_fn, {**names, id(general): "out"}))


def test_reflected_sub_keeps_its_node_name():
    a = _leaf((3,))
    out = 2.0 - a
    assert type(out.grad_fn).__name__ == "RsubBackward1"
    assert [n is not None for n, _ in out.grad_fn.next_functions] == [True]


@pytest.mark.parametrize("symbol", list(OPERATORS))
def test_operator_records_nothing_without_grad_mode(symbol):
    _, operator = OPERATORS[symbol]
    a, b = _operands("both")
    with framework.no_grad():
        assert operator(a, b).grad_fn is None and operator(a, 2.0).grad_fn is None
        assert operator(2.0, a).grad_fn is None


def test_a_node_without_saved_tensors_runs_twice(record_mode):
    """``release`` frees only nodes that saved a tensor (``x + 1``, ``x * 2`` keep working)."""
    x = _leaf((3,))
    out = (x + 1.0).sum() + (x * 2.0).sum()
    out.backward()
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 6.0))


@pytest.mark.parametrize("cls", [binary._Add, binary._Mul, binary._Div, binary._Pow],
                         ids=lambda c: c.__name__)
def test_binary_node_equals_function_apply_on_each_device(cls, device):
    a = _leaf((2, 3), seed=1).to(device)  # a non-leaf on cuda: the copy's node
    b = _leaf((3,), seed=2).to(device).detach().requires_grad_()
    fast, general = cls.apply(a, b, a.dtype, a.dtype), _general(cls, a, b, a.dtype, a.dtype)
    assert fast.device == general.device == a.device
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    np.testing.assert_array_equal(fast.detach().cpu().numpy(), general.detach().cpu().numpy())
    names = {id(a): "a", id(b): "b"}
    assert (_state(fast.grad_fn, {**names, id(fast): "out"})
            == _state(general.grad_fn, {**names, id(general): "out"}))


@pytest.mark.parametrize("cls", [unary._Tanh, unary._Sin], ids=lambda c: c.__name__)
def test_unary_node_equals_function_apply_on_each_device(cls, device):
    x = _leaf((2, 3), seed=1).to(device)
    fast, general = cls.apply(x, x.dtype, {}), _general(cls, x, x.dtype, {})
    assert fast.device == general.device == x.device
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    np.testing.assert_array_equal(fast.detach().cpu().numpy(), general.detach().cpu().numpy())
    assert (_state(fast.grad_fn, {id(x): "x", id(fast): "out"})
            == _state(general.grad_fn, {id(x): "x", id(general): "out"}))


# --- matmul, linear and tanh's backward node ------------------------------------------------
def _matmul_operands(case: str):
    """``(a, b)`` of one ``_Matmul`` call."""
    a, b = _leaf((4, 3), seed=1), _leaf((3, 2), seed=2)
    if case == "both":
        return a, b
    if case == "a":
        return a, b.detach()
    if case == "b":
        return a.detach(), b
    if case == "non-leaf":
        return a * 2.0, b
    if case == "transposed view":
        return a, _leaf((2, 3), seed=3).mT
    if case == "parameter":
        return a.detach(), framework.nn.Parameter(b.detach())
    if case == "float32":
        return a.float(), b.detach().float().requires_grad_()
    if case == "bmm":
        return _leaf((2, 4, 3), seed=4), _leaf((2, 3, 2), seed=5)
    if case == "broadcast":
        return _leaf((2, 4, 3), seed=4), b
    raise ValueError(case)


MATMUL_CASES = ["both", "a", "b", "non-leaf", "transposed view", "parameter", "float32", "bmm",
                "broadcast"]


@pytest.mark.parametrize("case", MATMUL_CASES)
def test_matmul_node_equals_function_apply(case):
    a, b = _matmul_operands(case)
    fast = matmul._Matmul.apply(a, b)
    general = _general(matmul._Matmul, a, b)
    _assert_same_node(fast, general, {id(a): "a", id(b): "b"})


@pytest.mark.parametrize("case", ["plain operands", "no_grad"])
def test_matmul_records_nothing_when_nothing_is_needed(case):
    a, b = _matmul_operands("both")
    if case == "plain operands":
        a, b = a.detach(), b.detach()
        fast, general = matmul._Matmul.apply(a, b), _general(matmul._Matmul, a, b)
    else:
        with framework.no_grad():
            fast, general = matmul._Matmul.apply(a, b), _general(matmul._Matmul, a, b)
    assert fast.grad_fn is None and general.grad_fn is None and not fast.requires_grad
    np.testing.assert_array_equal(fast.numpy(), general.numpy())


@pytest.mark.parametrize("case, bias", [
    (case, bias) for case in ["all", "x", "weight", "bias", "non-leaf x", "float32"]
    for bias in (True, False) if (case, bias) != ("bias", False)])
def test_linear_node_equals_function_apply(case, bias):
    layer = framework.nn.Linear(3, 2, bias=bias).double()
    x = _leaf((4, 3), seed=1, requires_grad=case in ("all", "x"))
    if case == "non-leaf x":
        x = x * 2.0
    if case in ("weight", "bias"):
        layer.weight.requires_grad_(case == "weight")
    if case == "float32":
        layer.float()
        x = x.float()
    w, b = layer.weight, layer.bias
    fast = framework.nn.functional.linear(x, w, b)
    general = _general(matmul._Linear, x, w, b, None, None)
    _assert_same_node(fast, general, {id(x): "x", id(w): "w", id(b): "b"})


def test_linear_records_nothing_when_nothing_is_needed():
    x = _leaf((4, 3), seed=1, requires_grad=False)
    w = _leaf((2, 3), seed=2, requires_grad=False)
    out = framework.nn.functional.linear(x, w)
    assert out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), _general(matmul._Linear, x, w, None, None,
                                                        None).numpy())


def _node_chain(out) -> tuple:
    """The types of ``out``'s node, of its inputs' nodes, and of theirs (with output numbers)."""
    outer = out.grad_fn.next_functions
    inner = outer[0][0].next_functions
    return (type(out.grad_fn), [type(node) for node, _ in outer],
            [(type(node), index) for node, index in inner])


@pytest.mark.parametrize("case", ["x", "weight", "no grad", "view x"])
@pytest.mark.parametrize("bias", [True, False])
def test_batched_linear_fast_path_equals_checked_path(case, bias, monkeypatch):
    """``linear`` of a (2, 4, 3) input without the argument checks (``_plain_linear``) records
    what the checked path records (rows view, addmm/mm node built directly, view back) and
    gives the same values and gradients; recording nothing, a plain tensor as before."""
    layer = framework.nn.Linear(3, 2, bias=bias).double()
    x = _leaf((2, 4, 3), seed=1, requires_grad=case == "x")
    if case == "view x":
        x = _leaf((2, 4, 5), seed=1)[..., 1:4]
    layer.weight.requires_grad_(case != "no grad")
    if bias:
        layer.bias.requires_grad_(case != "no grad")
    w, b = layer.weight, layer.bias
    fast = framework.nn.functional.linear(x, w, b)
    with monkeypatch.context() as patch:
        patch.setattr(matmul, "_plain_linear", lambda *args: False)
        checked = framework.nn.functional.linear(x, w, b)
    np.testing.assert_array_equal(fast.detach().numpy(), checked.detach().numpy())
    if case == "no grad":
        assert fast.grad_fn is None and checked.grad_fn is None and fast._base is None
        return
    assert _node_chain(fast) == _node_chain(checked)
    weights = _leaf(tuple(fast.shape), seed=9, requires_grad=False)
    roots = [t for t in (x, w, b) if t is not None and t.requires_grad]
    for got, want in zip(framework.autograd.grad((fast * weights).sum(), roots),
                         framework.autograd.grad((checked * weights).sum(), roots)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("case", ["both", "g", "y", "non-leaf", "view", "float32"])
def test_tanh_backward_node_equals_function_apply(case):
    g, y = _leaf((2, 3), seed=1), _leaf((2, 3), seed=2, low=-0.9)
    if case == "g":
        y = y.detach()
    elif case == "y":
        g = g.detach()
    elif case == "non-leaf":
        g, y = g * 2.0, y.tanh()
    elif case == "view":
        g, y = g[1:], y[:1]
    elif case == "float32":
        g, y = g.float(), y.float()
    fast = unary._TanhBackward.apply(g, y)
    general = _general(unary._TanhBackward, g, y)
    _assert_same_node(fast, general, {id(g): "g", id(y): "y"})
    with framework.no_grad():
        untracked = unary._TanhBackward.apply(g, y)
    assert untracked.grad_fn is None
    np.testing.assert_array_equal(untracked.numpy(), general.detach().numpy())


def _run_pinn():
    """A PINN step's autograd (examples/pinn.py): u'' by two ``create_graph`` grads, the
    loss differentiated once more for the parameters."""
    framework.manual_seed(0)
    net = framework.nn.Sequential(framework.nn.Linear(1, 8), framework.nn.Tanh(),
                                  framework.nn.Linear(8, 8), framework.nn.Tanh(),
                                  framework.nn.Linear(8, 1)).double()
    x = _leaf((6, 1), seed=3)
    u = net(x)
    (du,) = framework.autograd.grad(u.sum(), x, create_graph=True)
    (d2u,) = framework.autograd.grad(du.sum(), x, create_graph=True)
    loss = (d2u + x.sin()).pow(2).mean() + net(x[:2]).pow(2).mean()
    loss.backward()
    nodes = [type(t.grad_fn).__name__ for t in (u, du, d2u, loss)]
    edges = [[(type(n).__name__ if n is not None else None, nr)
              for n, nr in t.grad_fn.next_functions] for t in (u, du, d2u)]
    grads = [t.detach().numpy() for t in (du, d2u, loss, x.grad)]
    return {"grads": grads + [p.grad.numpy() for p in net.parameters()], "nodes": nodes,
            "edges": edges}


def test_pinn_graph_equals_function_apply(monkeypatch):
    """First, second and third-order gradients, node names and edges of a PINN's graph built
    by the matmul/linear/tanh fast paths equal those of the graph ``Function.apply`` builds."""
    fast = _run_pinn()
    _use_function_apply(monkeypatch)
    general = _run_pinn()
    assert fast["nodes"] == general["nodes"]
    assert fast["edges"] == general["edges"]
    assert len(fast["grads"]) == len(general["grads"]) == 10
    for f, g in zip(fast["grads"], general["grads"]):
        np.testing.assert_array_equal(f, g)


def test_matmul_and_linear_inplace_after_save_raise(record_mode):
    a, b = _leaf((4, 3), seed=1), _leaf((3, 2), seed=2, requires_grad=False)
    out = a @ b  # saves b for a's gradient
    with framework.no_grad():
        b.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    layer = framework.nn.Linear(3, 2).double()
    x = _leaf((4, 3), seed=3)
    y = layer(x)
    with framework.no_grad():
        layer.weight.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_tanh_double_backward_inplace_raises(record_mode):
    x = _leaf((3,), seed=1)
    (g,) = framework.autograd.grad(x.tanh().sum(), x, create_graph=True)  # TanhBackwardBackward
    with framework.no_grad():
        x.mul_(0.5)  # the leaf tanh's output depends on is not saved; its output is: edit that
    y = x.tanh()
    (h,) = framework.autograd.grad(y.sum(), x, create_graph=True)
    with framework.no_grad():
        y.mul_(0.5)  # the saved output of tanh, also saved by h's node
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()
    g.sum().backward()  # the first graph is untouched


@pytest.mark.parametrize("dtype", [dtypes.float64, dtypes.float32])
def test_matmul_create_graph_grad_is_one_linear_node(dtype):
    """Under ``create_graph`` a matrix product's first-operand gradient ``grad @ b^T`` is one
    ``linear`` node (no transpose node) with the bits of ``_Matmul.apply(grad, b.mT)``; its
    own gradients match that formula's."""
    a, b = _leaf((5, 4), dtype, seed=1), _leaf((4, 3), dtype, seed=2)
    g = _leaf((5, 3), dtype, seed=3)
    (ga,) = framework.autograd.grad(a @ b, a, g, create_graph=True)
    assert type(ga.grad_fn).__name__ == "MmBackward0"
    assert [type(n).__name__ for n, _ in ga.grad_fn.next_functions] == ["AccumulateGrad"] * 2
    b2, g2 = b.detach().requires_grad_(), g.detach().requires_grad_()
    reference = matmul._Matmul.apply(g2, b2.mT)
    np.testing.assert_array_equal(ga.detach().numpy(), reference.detach().numpy())
    h = _leaf((5, 4), dtype, seed=4, requires_grad=False)
    ga.backward(h)
    reference.backward(h)
    tol = 1e-12 if dtype is dtypes.float64 else 1e-5
    np.testing.assert_allclose(b.grad.numpy(), b2.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(g.grad.numpy(), g2.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["sum", "mean"])
@pytest.mark.parametrize("case", ["leaf", "non-leaf", "view", "float32", "0-d", "empty"])
def test_full_reduction_node_equals_function_apply(op, case):
    """``x.sum()`` / ``x.mean()`` of a float tensor build ``Function.apply``'s node directly."""
    from framework.ops import reduce
    x = _leaf((2, 3), seed=1)
    if case == "non-leaf":
        x = x * 2.0
    elif case == "view":
        x = x.mT[1:]
    elif case == "float32":
        x = x.float()
    elif case == "0-d":
        x = _leaf((), seed=2)
    elif case == "empty":
        x = _leaf((0, 3), seed=3)
    cls = reduce.Sum if op == "sum" else reduce.Mean
    dims = tuple(range(x.ndim))
    fast = getattr(x, op)()
    general = (_general(cls, x, dims, (), x.dtype) if op == "sum"
               else _general(cls, x, dims, False))
    _assert_same_node(fast, general, {id(x): "x"})
    with framework.no_grad():
        plain = getattr(x, op)()
    assert plain.grad_fn is None
    np.testing.assert_array_equal(plain.numpy(), general.detach().numpy())


@pytest.mark.parametrize("case", ["scalar to matrix", "row kept", "float32", "non-leaf", "view"])
def test_unreduce_node_equals_function_apply(case):
    """The adjoint of a sum (``Unreduce``: a broadcast view) builds ``Function.apply``'s node."""
    from framework.ops import reduce
    g, kept, shape = _leaf((), seed=1), (1, 1), (2, 3)
    if case == "row kept":
        g, kept = _leaf((3,), seed=2), (1, 3)
    elif case == "float32":
        g = g.float()
    elif case == "non-leaf":
        g = g * 2.0
    elif case == "view":
        g, kept = _leaf((2, 3), seed=3)[0], (1, 3)
    fast = reduce.Unreduce.apply(g, kept, shape)
    general = _general(reduce.Unreduce, g, kept, shape)
    _assert_same_node(fast, general, {id(g): "g"})
    with framework.no_grad():
        plain = reduce.Unreduce.apply(g, kept, shape)
    assert plain.grad_fn is None
    np.testing.assert_array_equal(plain.numpy(), general.detach().numpy())


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16])
def test_engine_gradient_sum_equals_tensor_add(dtype):
    """Two gradients reaching one output are summed by the backend's add directly outside
    ``create_graph`` (``engine._sum``): the bits of ``total + grad``; other pairs (half types,
    a recorded sum) take ``total + grad`` itself."""
    from framework.autograd import engine
    total = _leaf((3, 4), dtype, seed=1, requires_grad=False)
    grad = _leaf((3, 4), dtype, seed=2, requires_grad=False)
    with framework.no_grad():
        fast = engine._sum(total, grad, False)
        general = total + grad
    assert fast.dtype is dtype and fast.grad_fn is None
    np.testing.assert_array_equal(fast.numpy(), general.numpy())
    x = _leaf((3, 4), dtype, seed=3)
    recorded = engine._sum(x * 2.0, grad, True)  # create_graph: a recorded add
    assert type(recorded.grad_fn).__name__ == "AddBackward0"


VIEW_CASES = {
    "T": lambda a: a.T,
    "mT": lambda a: a.mT,
    "permute": lambda a: a.permute(1, 0, 2),
    "permute_negative": lambda a: a.permute(-1, 0, 1),
    "reshape": lambda a: a.reshape(6, 4),
    "view": lambda a: a.view(-1),
    "slice": lambda a: a[1:, :, ::2],
    "unsqueeze": lambda a: a.unsqueeze(1),
    "expand": lambda a: a.expand(5, *a.shape),
    "transpose": lambda a: a.transpose(0, 2),
}


@pytest.mark.parametrize("source", ["leaf", "non-leaf", "view"])
@pytest.mark.parametrize("case", sorted(VIEW_CASES))
def test_view_node_equals_function_apply(case, source, monkeypatch):
    """A recorded view's node (built directly by ``_View.apply``) equals ``Function.apply``'s,
    and so do its gradients, for a leaf, a non-leaf and a view as the viewed tensor."""
    from framework.ops import shape
    a = _leaf((2, 3, 4), seed=7)
    x = {"leaf": a, "non-leaf": a * 2.0, "view": a[:, :, :]}[source]
    if case == "T":  # a matrix (T of more dims is deprecated in PyTorch)
        x = x.reshape(6, 4) if source != "leaf" else _leaf((6, 4), seed=7)
    fast = VIEW_CASES[case](x)
    with monkeypatch.context() as patch:
        patch.setattr(shape._View, "apply", classmethod(_general_view))
        general = VIEW_CASES[case](x)
    assert type(fast.grad_fn) is type(general.grad_fn)
    assert fast.grad_fn.next_functions == general.grad_fn.next_functions
    assert fast._output_nr == general._output_nr == 0 and fast._base is general._base
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    states = []
    for out in (fast, general):  # each call makes its own backward closure: compared below
        node_type, state = _state(out.grad_fn, {id(x): "x", id(out): "out"})
        states.append((node_type, {k: v for k, v in state.items() if k != "backward_fn"}))
    assert states[0] == states[1]
    weights = _leaf(tuple(fast.shape), seed=8, requires_grad=False)
    root = a if case != "T" or source != "leaf" else x
    (fast_grad,) = framework.autograd.grad((fast * weights).sum(), root)
    (general_grad,) = framework.autograd.grad((general * weights).sum(), root)
    np.testing.assert_array_equal(fast_grad.numpy(), general_grad.numpy())
