"""``framework.autograd.functional`` against ``torch.autograd.functional`` in float64:
``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp``, ``hvp`` with single and tuple inputs and
outputs, ``create_graph=True`` then differentiating again, and strict-mode errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import framework
import framework.autograd.functional as FAF
from helpers import assert_close

TOL = dict(atol=1e-10, rtol=1e-10)
# torch.autograd.functional imports torch.jit machinery that warns on this torch
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _pair(shape, device, seed):
    """The same float64 values as a framework tensor on ``device`` and a torch tensor."""
    values = np.random.default_rng(seed).standard_normal(shape)
    return (framework.tensor(values, dtype=framework.float64, device=device),
            torch.tensor(values, dtype=torch.float64))


def _inputs(shapes, device):
    pairs = [_pair(shape, device, seed) for seed, shape in enumerate(shapes)]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def _compare(got, want, what="result"):
    """Same nesting (Tensor / tuple / tuple of tuples) and values."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, framework.Tensor), f"{what}: {type(got)} is not a Tensor"
        assert_close(got, want, what=what, **TOL)
        return
    assert isinstance(got, tuple) and len(got) == len(want), f"{what}: nesting differs"
    for i, (g, w) in enumerate(zip(got, want)):
        _compare(g, w, f"{what}[{i}]")


# functions of (lib, *tensors): lib is framework or torch ---------------------------------------

def poly(m, x):
    return x ** 3 - 2 * x ** 2 + x


def tanh_matmul(m, x, w):
    return m.tanh(w @ x)


def two_outputs(m, x, w):
    return m.tanh(w @ x) * x.sum(), (x ** 3).sum() * w


def scalar_poly(m, x):
    return (x ** 4).sum() + (x[0] * x[1]) ** 2


def scalar_pair(m, x, w):
    return (m.tanh(w @ x) ** 2).sum() + (x ** 3).sum() * w.sum()


# (label, fn, input shapes, tuple inputs)
JACOBIAN_CASES = [
    ("poly", poly, [(3,)], False),
    ("poly 2d", poly, [(2, 2)], False),
    ("tanh matmul", tanh_matmul, [(3,), (2, 3)], True),
    ("tuple out", two_outputs, [(3,), (2, 3)], True),
]
SCALAR_CASES = [
    ("scalar poly", scalar_poly, [(3,)], False),
    ("scalar pair", scalar_pair, [(2,), (2, 2)], True),
]


def _call_args(inputs, as_tuple):
    return inputs if as_tuple else inputs[0]


def _bind(fn, lib):
    return lambda *xs: fn(lib, *xs)


@pytest.mark.parametrize("label,fn,shapes,as_tuple", JACOBIAN_CASES,
                         ids=[c[0] for c in JACOBIAN_CASES])
@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian(device, label, fn, shapes, as_tuple, vectorize):
    fw, th = _inputs(shapes, device)
    got = FAF.jacobian(_bind(fn, framework), _call_args(fw, as_tuple), vectorize=vectorize)
    want = TAF.jacobian(_bind(fn, torch), _call_args(th, as_tuple), vectorize=vectorize)
    _compare(got, want, label)


@pytest.mark.parametrize("label,fn,shapes,as_tuple", JACOBIAN_CASES[:3],
                         ids=[c[0] for c in JACOBIAN_CASES[:3]])
def test_jacobian_forward_mode(label, fn, shapes, as_tuple):
    fw, th = _inputs(shapes, "cpu")
    got = FAF.jacobian(_bind(fn, framework), _call_args(fw, as_tuple), vectorize=True,
                       strategy="forward-mode")
    want = TAF.jacobian(_bind(fn, torch), _call_args(th, as_tuple), vectorize=True,
                        strategy="forward-mode")
    _compare(got, want, label)


@pytest.mark.parametrize("label,fn,shapes,as_tuple", SCALAR_CASES,
                         ids=[c[0] for c in SCALAR_CASES])
def test_hessian(device, label, fn, shapes, as_tuple):
    fw, th = _inputs(shapes, device)
    got = FAF.hessian(_bind(fn, framework), _call_args(fw, as_tuple))
    want = TAF.hessian(_bind(fn, torch), _call_args(th, as_tuple))
    _compare(got, want, label)


def test_hessian_forward_mode_outer():
    fw, th = _inputs([(2,), (2, 2)], "cpu")
    got = FAF.hessian(_bind(scalar_pair, framework), fw, vectorize=True,
                      outer_jacobian_strategy="forward-mode")
    want = TAF.hessian(_bind(scalar_pair, torch), th, vectorize=True,
                       outer_jacobian_strategy="forward-mode")
    _compare(got, want)


def _vectors(shapes, device, seed=10):
    pairs = [_pair(shape, device, seed + i) for i, shape in enumerate(shapes)]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


@pytest.mark.parametrize("label,fn,shapes,as_tuple", JACOBIAN_CASES,
                         ids=[c[0] for c in JACOBIAN_CASES])
def test_vjp_jvp(device, label, fn, shapes, as_tuple):
    fw, th = _inputs(shapes, device)
    out = _bind(fn, torch)(*th)
    out_shapes = [tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))]
    v_fw, v_th = _vectors(out_shapes, device)
    tuple_out = isinstance(out, tuple)
    got = FAF.vjp(_bind(fn, framework), _call_args(fw, as_tuple), _call_args(v_fw, tuple_out))
    want = TAF.vjp(_bind(fn, torch), _call_args(th, as_tuple), _call_args(v_th, tuple_out))
    _compare(got, want, f"vjp {label}")
    u_fw, u_th = _vectors(shapes, device, seed=20)
    got = FAF.jvp(_bind(fn, framework), _call_args(fw, as_tuple), _call_args(u_fw, as_tuple))
    want = TAF.jvp(_bind(fn, torch), _call_args(th, as_tuple), _call_args(u_th, as_tuple))
    _compare(got, want, f"jvp {label}")


@pytest.mark.parametrize("label,fn,shapes,as_tuple", SCALAR_CASES,
                         ids=[c[0] for c in SCALAR_CASES])
@pytest.mark.parametrize("name", ["vhp", "hvp"])
def test_vhp_hvp(device, label, fn, shapes, as_tuple, name):
    fw, th = _inputs(shapes, device)
    v_fw, v_th = _vectors(shapes, device)
    got = getattr(FAF, name)(_bind(fn, framework), _call_args(fw, as_tuple),
                             _call_args(v_fw, as_tuple))
    want = getattr(TAF, name)(_bind(fn, torch), _call_args(th, as_tuple),
                              _call_args(v_th, as_tuple))
    _compare(got, want, f"{name} {label}")


def test_default_v_single_element():
    x_fw, x_th = _pair((1,), "cpu", 0)
    _compare(FAF.vjp(lambda x: (x ** 3).sum(), x_fw), TAF.vjp(lambda x: (x ** 3).sum(), x_th))
    _compare(FAF.jvp(lambda x: x ** 3, x_fw), TAF.jvp(lambda x: x ** 3, x_th))
    _compare(FAF.hvp(lambda x: (x ** 3).sum(), x_fw), TAF.hvp(lambda x: (x ** 3).sum(), x_th))


def test_results_detached_without_create_graph():
    x, _ = _pair((3,), "cpu", 0)
    x.requires_grad_(True)
    jac = FAF.jacobian(lambda t: t ** 2, x)
    out, vj = FAF.vjp(lambda t: (t ** 2).sum(), x)
    assert not jac.requires_grad and not out.requires_grad and not vj.requires_grad


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"])
def test_works_under_no_grad(name):
    """Every function records its own graph, as in PyTorch, even inside ``no_grad``."""
    fw, th = _inputs([(3,)], "cpu")
    v_fw, v_th = _vectors([(3,)], "cpu")
    scalar = name in ("hessian", "vhp", "hvp")
    extra = () if name in ("jacobian", "hessian") else None

    def run(af, lib, x, v, guard):
        fn = (lambda t: (lib.tanh(t) * t ** 2).sum()) if scalar else (lambda t: lib.tanh(t) * t)
        with guard():
            return getattr(af, name)(fn, x, *(extra if extra is not None else (v,)))

    _compare(run(FAF, framework, fw[0], v_fw[0], framework.no_grad),
             run(TAF, torch, th[0], v_th[0], torch.no_grad))


def test_independent_input_gives_zeros(device):
    fw, th = _inputs([(2,), (3,)], device)
    got = FAF.jacobian(lambda x, y: x ** 2, fw)
    want = TAF.jacobian(lambda x, y: x ** 2, th)
    _compare(got, want)
    _compare(FAF.hessian(lambda x, y: (x ** 3).sum(), fw),
             TAF.hessian(lambda x, y: (x ** 3).sum(), th))


# create_graph=True, then differentiate again --------------------------------------------------

@pytest.mark.parametrize("name", ["jacobian", "hessian"])
def test_create_graph_differentiates_again(device, name):
    x_fw, x_th = _pair((3,), device, 0)
    x_fw.requires_grad_(True)
    x_th.requires_grad_(True)

    def fn(m):
        return lambda x: (m.tanh(x) * x ** 2).sum() if name == "hessian" else m.tanh(x) * x ** 2

    got = getattr(FAF, name)(fn(framework), x_fw, create_graph=True)
    want = getattr(TAF, name)(fn(torch), x_th, create_graph=True)
    assert got.requires_grad
    _compare(got, want)
    (g_fw,) = framework.autograd.grad((got ** 2).sum(), x_fw)
    (g_th,) = torch.autograd.grad((want ** 2).sum(), x_th)
    assert_close(g_fw, g_th, what="gradient of the result", **TOL)


@pytest.mark.parametrize("name", ["vjp", "jvp", "vhp", "hvp"])
def test_products_create_graph(device, name):
    x_fw, x_th = _pair((3,), device, 0)
    v_fw, v_th = _pair((3,), device, 1)
    x_fw.requires_grad_(True)
    x_th.requires_grad_(True)
    scalar = name in ("vhp", "hvp")

    def fn(m):
        return (lambda x: (m.tanh(x) * x ** 3).sum()) if scalar else (lambda x: m.tanh(x) * x)

    out_fw, got = getattr(FAF, name)(fn(framework), x_fw, v_fw, create_graph=True)
    out_th, want = getattr(TAF, name)(fn(torch), x_th, v_th, create_graph=True)
    assert got.requires_grad and out_fw.requires_grad
    _compare(got, want)
    (g_fw,) = framework.autograd.grad(got.sum(), x_fw)
    (g_th,) = torch.autograd.grad(want.sum(), x_th)
    assert_close(g_fw, g_th, what="gradient of the product", **TOL)


def test_captured_tensor_is_not_the_input():
    """A tensor ``func`` captures from outside is a constant, even if it is the input object."""
    x_fw, x_th = _pair((2,), "cpu", 0)
    got = FAF.jacobian(lambda t: t * x_fw, x_fw)
    want = TAF.jacobian(lambda t: t * x_th, x_th)
    _compare(got, want)


# errors ---------------------------------------------------------------------------------------

def _both_raise(exc, call):
    """``call(lib_functional, lib)`` raises ``exc`` with the same message in torch and here
    (``torch.Size`` printed as ``framework.Size``)."""
    with pytest.raises(exc) as want:
        call(TAF, torch)
    with pytest.raises(exc) as got:
        call(FAF, framework)
    assert str(got.value) == str(want.value).replace("torch.Size", "framework.Size")


def _ins(lib, *shapes):
    return tuple(lib.ones(*s, dtype=lib.float64) for s in shapes)


@pytest.mark.parametrize("name", ["jacobian", "vjp", "jvp", "hessian", "vhp", "hvp"])
def test_strict_independent_input(name):
    scalar = name in ("hessian", "vhp", "hvp")

    def call(af, lib):
        x, y = _ins(lib, (2,), (2,))
        fn = (lambda a, b: (a ** 3).sum()) if scalar else (lambda a, b: a ** 3)
        args = ((x, y),)
        if name in ("vjp",):
            args += (lib.ones(2, dtype=lib.float64),)
        elif name in ("jvp", "vhp", "hvp"):
            args += ((lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64)),)
        getattr(af, name)(fn, *args, strict=True)

    _both_raise(RuntimeError, call)


@pytest.mark.parametrize("name", ["jacobian", "vjp"])
def test_strict_output_not_requiring_grad(name):
    def call(af, lib):
        (x,) = _ins(lib, (2,))
        const = lib.ones(2, dtype=lib.float64)
        args = (x, const) if name == "vjp" else (x,)
        getattr(af, name)(lambda a: const * 2, *args, strict=True)

    _both_raise(RuntimeError, call)


def test_strict_linear_hessian():
    _both_raise(RuntimeError, lambda af, lib: af.hessian(lambda a: a.sum() * 2,
                                                         _ins(lib, (2,))[0], strict=True))


@pytest.mark.parametrize("case", [
    "non tensor input", "non tensor in tuple", "non tensor output", "v wrong size",
    "v wrong length", "v single wrong length", "v missing", "hessian tuple output",
    "hessian non scalar", "vhp non scalar", "bad strategy", "forward create_graph",
    "forward not vectorized", "forward strict", "vectorize strict",
])
def test_errors_match_torch(case):
    def call(af, lib):
        x, y = _ins(lib, (2,), (3,))
        v2 = lib.ones(2, dtype=lib.float64)
        if case == "non tensor input":
            af.jacobian(lambda a: a, [x])
        elif case == "non tensor in tuple":
            af.vjp(lambda a, b: a, (x, 3.0), v2)
        elif case == "non tensor output":
            af.jacobian(lambda a: 1.0, x)
        elif case == "v wrong size":
            af.vjp(lambda a: a * 2, x, lib.ones(3, dtype=lib.float64))
        elif case == "v wrong length":
            af.jvp(lambda a, b: a * 2, (x, y), (v2,))
        elif case == "v single wrong length":
            af.jvp(lambda a: a * 2, x, (v2, v2))
        elif case == "v missing":
            af.vjp(lambda a: a * 2, x)
        elif case == "hessian tuple output":
            af.hessian(lambda a: (a.sum(), a.sum()), x)
        elif case == "hessian non scalar":
            af.hessian(lambda a: a ** 2, x)
        elif case == "vhp non scalar":
            af.vhp(lambda a: a ** 2, x, v2)
        elif case == "bad strategy":
            af.jacobian(lambda a: a, x, strategy="sideways")
        elif case == "forward create_graph":
            af.jacobian(lambda a: a, x, create_graph=True, strategy="forward-mode")
        elif case == "forward not vectorized":
            af.jacobian(lambda a: a, x, strategy="forward-mode")
        elif case == "forward strict":
            af.jacobian(lambda a: a, x, strict=True, vectorize=True, strategy="forward-mode")
        elif case == "vectorize strict":
            af.jacobian(lambda a: a * 2, x, strict=True, vectorize=True)

    exc = {"non tensor input": TypeError, "non tensor in tuple": TypeError,
           "non tensor output": TypeError, "bad strategy": AssertionError,
           "forward create_graph": NotImplementedError,
           "forward not vectorized": NotImplementedError}.get(case, RuntimeError)
    _both_raise(exc, call)
