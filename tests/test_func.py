"""``framework.func`` against ``torch.func`` in float64 on cpu and cuda: grad /
grad_and_value (argnums, has_aux), vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap
(in_dims/out_dims/randomness), compositions (grad(grad), jacfwd(jacrev), vmap(jacrev),
vmap(grad) per-sample gradients), functional_call and stack_module_state, and torch's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.func as TF

import framework
import framework.func as FF
import framework.nn as fnn
from framework.func._pytree import tree_flatten
from helpers import assert_close

TOL = dict(atol=1e-10, rtol=1e-10)
# torch.func imports torch.jit machinery that warns on this torch; its linearize traces with fx
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated"),
              pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node")]


def _pair(shape, device, seed=0):
    """The same float64 values as a framework tensor on ``device`` and a torch tensor."""
    values = np.random.default_rng(seed).standard_normal(shape)
    return (framework.tensor(values, dtype=framework.float64, device=device),
            torch.tensor(values, dtype=torch.float64))


def _compare(got, want):
    """Same pytree structure and values; tensors have torch's ``requires_grad``."""
    got_leaves, got_spec = tree_flatten(got)
    want_leaves, want_spec = tree_flatten(want)
    assert repr(got_spec) == repr(want_spec), f"{got_spec} != {want_spec}"
    for i, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        assert_close(g, w, what=f"leaf {i}", **TOL)
        assert g.requires_grad == w.requires_grad, f"leaf {i}: requires_grad"


def _f(x, y):
    return (x.sin() * y).sum() + (x * x).sum()


# grad, grad_and_value, vjp, jvp, linearize ---------------------------------------------------

@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, -2)])
def test_grad_argnums(device, argnums):
    (x, tx), (y, ty) = _pair((3,), device, 0), _pair((3,), device, 1)
    _compare(FF.grad(_f, argnums)(x, y), TF.grad(_f, argnums)(tx, ty))


def test_grad_and_value_has_aux_and_pytree_input(device):
    (x, tx), (y, ty) = _pair((2, 2), device, 0), _pair((2,), device, 1)

    def f(params, scale):
        out = (params["w"].exp() @ params["b"]).sum() * scale
        return out, {"out": out, "w": params["w"]}

    got = FF.grad_and_value(f, has_aux=True)({"w": x, "b": y}, 2.0)
    want = TF.grad_and_value(f, has_aux=True)({"w": tx, "b": ty}, 2.0)
    _compare(got, want)
    _compare(FF.grad(f, has_aux=True)({"w": x, "b": y}, 2.0),
             TF.grad(f, has_aux=True)({"w": tx, "b": ty}, 2.0))
    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type"):
        FF.grad(lambda a: (a.sum(), 1.0), has_aux=True)(x)


def test_grad_of_grad_and_unused_input(device):
    x, tx = _pair((), device)
    _compare(FF.grad(FF.grad(lambda a: a.sin() * a))(x),
             TF.grad(TF.grad(lambda a: a.sin() * a))(tx))
    # an input the function does not use gets zeros
    _compare(FF.grad(lambda a, b: (a * 2).sum(), argnums=1)(x, x),
             TF.grad(lambda a, b: (a * 2).sum(), argnums=1)(tx, tx))


def test_vjp_jvp_linearize(device):
    (x, tx), (y, ty) = _pair((3,), device, 0), _pair((3,), device, 1)
    (v, tv), (w, tw) = _pair((3,), device, 2), _pair((3,), device, 3)

    def g(a, b):
        return a.sin() * b, (a * b).sum()

    out, fn = FF.vjp(g, x, y)
    tout, tfn = TF.vjp(g, tx, ty)
    _compare(out, tout)
    _compare(fn((v, w.sum())), tfn((tv, tw.sum())))
    _compare(fn((w, v.sum())), tfn((tw, tv.sum())))  # vjp_fn may be called again
    _compare(FF.jvp(g, (x, y), (v, w)), TF.jvp(g, (tx, ty), (tv, tw)))
    out, jvp_fn = FF.linearize(lambda a: a.exp() * a, x)
    tout, tjvp_fn = TF.linearize(lambda a: a.exp() * a, tx)
    _compare((out, jvp_fn(v), jvp_fn(w)), (tout, tjvp_fn(tv), tjvp_fn(tw)))


def test_vjp_and_jvp_has_aux(device):
    x, tx = _pair((3,), device)
    v, tv = _pair((3,), device, 1)

    def g(a):
        return a.cos(), a.sum()

    out, fn, aux = FF.vjp(g, x, has_aux=True)
    tout, tfn, taux = TF.vjp(g, tx, has_aux=True)
    _compare((out, fn(v), aux), (tout, tfn(tv), taux))
    _compare(FF.jvp(g, (x,), (v,), has_aux=True), TF.jvp(g, (tx,), (tv,), has_aux=True))


# Jacobians and Hessians ----------------------------------------------------------------------

@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_pytree_outputs_and_argnums(device, transform):
    (x, tx), (y, ty) = _pair((2,), device, 0), _pair((3,), device, 1)

    def g(a, b):
        return {"outer": a[:, None] * b.sin(), "sum": (a.exp().sum() * b).sum()}

    ours, theirs = getattr(FF, transform), getattr(TF, transform)
    _compare(ours(g)(x, y), theirs(g)(tx, ty))
    _compare(ours(g, argnums=(0, 1))(x, y), theirs(g, argnums=(0, 1))(tx, ty))
    _compare(ours(lambda a: (a.tanh(), a), has_aux=True)(x),
             theirs(lambda a: (a.tanh(), a), has_aux=True)(tx))


def test_hessian_and_forward_over_reverse(device):
    (x, tx), (y, ty) = _pair((3,), device, 0), _pair((3,), device, 1)
    want = TF.hessian(_f)(tx, ty)
    _compare(FF.hessian(_f)(x, y), want)
    _compare(FF.jacfwd(FF.jacrev(_f))(x, y), want)
    _compare(FF.jacrev(FF.jacrev(_f))(x, y), want)
    _compare(FF.hessian(_f, argnums=(0, 1))(x, y), TF.hessian(_f, argnums=(0, 1))(tx, ty))


def test_closed_over_parameters_keep_their_graph(device):
    """A PINN-style loss on ``jacrev(model)(x)`` trains the model: the Jacobian is
    differentiable with respect to parameters the function closes over, as in torch."""
    w, tw = _pair((3,), device)
    x, tx = _pair((3,), device, 1)
    w.requires_grad_(True)
    tw.requires_grad_(True)
    jac = FF.jacrev(lambda a: (a * w).sin())(x)
    tjac = TF.jacrev(lambda a: (a * tw).sin())(tx)
    _compare(jac, tjac)
    (jac ** 2).sum().backward()
    (tjac ** 2).sum().backward()
    assert_close(w.grad, tw.grad, **TOL)
    # an input that requires grad keeps history too
    xg, txg = x.clone().requires_grad_(True), tx.clone().requires_grad_(True)
    _compare(FF.grad(lambda a: a.sin().sum())(xg), TF.grad(lambda a: a.sin().sum())(txg))


# vmap ----------------------------------------------------------------------------------------

def test_vmap_in_dims_out_dims(device):
    (x, tx), (y, ty) = _pair((2, 3), device, 0), _pair((3, 2), device, 1)
    (b, tb) = _pair((3,), device, 2)

    def g(a, c, bias):
        return a * c + bias, (a * c).sum()

    _compare(FF.vmap(g, in_dims=(0, 1, None))(x, y, b),
             TF.vmap(g, in_dims=(0, 1, None))(tx, ty, tb))
    _compare(FF.vmap(g, in_dims=(1, 0, None), out_dims=(1, 0))(y.t(), x.t(), b[:2]),
             TF.vmap(g, in_dims=(1, 0, None), out_dims=(1, 0))(ty.t(), tx.t(), tb[:2]))
    nested = FF.vmap(lambda d: d["a"] @ d["b"], in_dims=({"a": 0, "b": None},))
    tnested = TF.vmap(lambda d: d["a"] @ d["b"], in_dims=({"a": 0, "b": None},))
    _compare(nested({"a": x, "b": b}), tnested({"a": tx, "b": tb}))
    _compare(FF.vmap(FF.vmap(lambda s: s * s))(x), TF.vmap(TF.vmap(lambda s: s * s))(tx))
    _compare(FF.vmap(lambda a: a.sum(), chunk_size=1)(x[:0]), TF.vmap(lambda a: a.sum())(tx[:0]))


def test_vmap_of_jacrev_and_per_sample_grads(device):
    x, tx = _pair((2, 3), device)
    _compare(FF.vmap(FF.jacrev(lambda a: a.sin() * a.sum()))(x),
             TF.vmap(TF.jacrev(lambda a: a.sin() * a.sum()))(tx))
    model = fnn.Linear(3, 2).double().to(device)
    tmodel = torch.nn.Linear(3, 2).double()
    tmodel.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in
                            model.state_dict().items()})
    y, ty = _pair((2, 2), device, 1)

    def loss(call, mod, p, a, t):
        return ((call(mod, p, (a[None],)) - t[None]) ** 2).sum()

    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    got = FF.vmap(FF.grad(lambda p, a, t: loss(FF.functional_call, model, p, a, t)),
                  in_dims=(None, 0, 0))(params, x, y)
    want = TF.vmap(TF.grad(lambda p, a, t: loss(TF.functional_call, tmodel, p, a, t)),
                   in_dims=(None, 0, 0))(tparams, tx, ty)
    _compare(got, want)


def test_vmap_randomness(device):
    x = framework.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="called random operation while in randomness error"):
        FF.vmap(lambda a: a + framework.rand((), device=device))(x)
    same = FF.vmap(lambda a: a + framework.rand((), device=device), randomness="same")(x)
    different = FF.vmap(lambda a: a + framework.rand((), device=device),
                        randomness="different")(x)
    assert len(set(same.tolist())) == 1 and len(set(different.tolist())) == 3


def test_stack_module_state_ensemble(device):
    models = [fnn.Linear(3, 2).double().to(device) for _ in range(2)]
    tmodels = [torch.nn.Linear(3, 2).double() for _ in range(2)]
    for m, tm in zip(models, tmodels):
        tm.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in m.state_dict().items()})
    params, buffers = FF.stack_module_state(models)
    tparams, tbuffers = TF.stack_module_state(tmodels)
    _compare(params, tparams)
    assert params["weight"].is_leaf and buffers == {} == tbuffers
    x, tx = _pair((4, 3), device)
    got = FF.vmap(lambda p, a: FF.functional_call(models[0], p, (a,)),
                  in_dims=(0, None))(params, x)
    want = TF.vmap(lambda p, a: TF.functional_call(tmodels[0], p, (a,)),
                   in_dims=(0, None))(tparams, tx)
    assert_close(got, want, **TOL)


# functional_call -----------------------------------------------------------------------------

class _Tied(fnn.Module):
    def __init__(self):
        super().__init__()
        self.a = fnn.Linear(2, 2, bias=False)
        self.b = fnn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight
        self.register_buffer("count", framework.zeros(()))

    def forward(self, x):
        self.count = self.count + 1
        return self.b(self.a(x))


def test_functional_call_tie_weights_strict_and_buffers(device):
    module = _Tied().double().to(device)
    x, _ = _pair((1, 2), device)
    w = framework.eye(2, dtype=framework.float64, device=device) * 2
    state = {"a.weight": w, "count": framework.zeros((), device=device)}
    out = FF.functional_call(module, state, x)
    assert_close(out, torch.tensor(x.cpu().numpy() * 4), **TOL)  # tied: both layers take w
    assert state["count"].item() == 1 and module.count.item() == 0  # reassigned buffer written back
    assert module.a.weight is module.b.weight and module.a.weight is not w
    out = FF.functional_call(module, ({"a.weight": w}, {"b.weight": w * 0}), (x,),
                             tie_weights=False)
    assert out.abs().sum().item() == 0
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'count'"):
        FF.functional_call(module, {"a.weight": w}, (x,), strict=True)
    with pytest.raises(ValueError, match="which are tied"):
        FF.functional_call(module, {"a.weight": w, "b.weight": w * 0}, (x,))
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        FF.functional_call(module, ({"a.weight": w}, {"a.weight": w}), (x,))
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        framework.nn.utils.stateless.functional_call(module, {"a.weight": w}, (x,))


def test_results_are_detached_as_torchs(device):
    """Nothing outside requires grad: torch's results do not either."""
    x, tx = _pair((3,), device)
    for ours, theirs in [(FF.grad(lambda a: a.sin().sum()), TF.grad(lambda a: a.sin().sum())),
                         (FF.jacrev(framework.sin), TF.jacrev(torch.sin)),
                         (FF.vmap(FF.grad(lambda a: a.exp())), TF.vmap(TF.grad(torch.exp)))]:
        _compare(ours(x), theirs(tx))
    with framework.no_grad():
        assert_close(FF.grad(lambda a: (a * a).sum())(x), 2 * tx, **TOL)


# errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argnums, match", [
    (2, "Got argnum=2, but only 1 positional inputs"),
    ((0, 0), "argnums elements must be unique"),
    ((), "argnums must be non-empty"),
    (1.0, "argnums must be int or Tuple"),
])
def test_bad_argnums(argnums, match):
    x = framework.ones(2)
    with pytest.raises(RuntimeError, match=match):
        FF.grad(lambda a: a.sum(), argnums=argnums)(x)
    with pytest.raises(RuntimeError, match=match):
        FF.jacrev(lambda a: a, argnums=argnums)(x)


def test_bad_inputs_raise_like_torch(device):
    x = framework.ones(3, device=device)
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, "
                                           "got tensor with 1 dims"):
        FF.grad(lambda a: a)(x)
    with pytest.raises(RuntimeError, match="should be a tuple: \\(output, aux\\)"):
        FF.grad(lambda a: a.sum(), has_aux=True)(x)
    with pytest.raises(ValueError, match="Thing passed to transform API must be Tensor"):
        FF.grad(lambda a: a.sum())(1.0)
    with pytest.raises(ValueError, match="got sizes \\[3, 2\\] for the mapped dimension"):
        FF.vmap(lambda a, b: a)(x, x[:2])
    with pytest.raises(ValueError, match="Got in_dim=1 for some input"):
        FF.vmap(lambda a: a, in_dims=1)(x)
    with pytest.raises(ValueError, match="in_dims is not compatible with the structure"):
        FF.vmap(lambda a: a, in_dims=(0, 0))(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        FF.vmap(lambda a: 3.0)(x)
    with pytest.raises(ValueError, match="Expected at least one Tensor to vmap over"):
        FF.vmap(lambda a: a, in_dims=(None,))(x)
    with pytest.raises(ValueError, match="can not return a BatchedTensor when out_dim is None"):
        FF.vmap(lambda a: (a, a), out_dims=(0, None))(x.cumsum(0))
    out, scale = FF.vmap(lambda a: (a, 2.0), out_dims=(0, None))(x)
    assert scale == 2.0
    with pytest.raises(RuntimeError, match="tangent:0 with shape"):
        FF.linearize(framework.sin, x)[1](x[:2])
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        FF.vmap(lambda a: a, randomness="foo")
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        FF.jvp(lambda a: a, [x], [x])
    with pytest.raises(RuntimeError, match="forward gradient that has a different size"):
        FF.jvp(lambda a: a, (x,), (x[:2],))
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        FF.vjp(lambda a: a, x)[1](x[:2])
    with pytest.raises(RuntimeError, match="Expected at least one model"):
        FF.stack_module_state([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FF.vmap(lambda a: a)(x)  # no warning on the plain path


# meta-learning and nesting -------------------------------------------------------------------

def test_second_order_maml_step(device):
    """One inner SGD step by ``grad`` of a ``functional_call`` loss, then the outer loss
    differentiated through it to the meta-parameters (second order), as with torch.func."""
    model, tmodel = fnn.Linear(2, 1).double().to(device), torch.nn.Linear(2, 1).double()
    tmodel.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in
                            model.state_dict().items()})
    (x, tx), (y, ty) = _pair((3, 2), device, 1), _pair((3, 1), device, 2)

    def run(func, mod, params, a, b):
        def loss(p):
            return ((func.functional_call(mod, p, (a,)) - b) ** 2).mean()
        step = func.grad(loss)(params)
        adapted = {k: params[k] - 0.1 * step[k] for k in params}
        return loss(adapted)

    params = dict(model.named_parameters())
    tparams = dict(tmodel.named_parameters())
    outer, touter = run(FF, model, params, x, y), run(TF, tmodel, tparams, tx, ty)
    assert_close(outer, touter, **TOL)
    outer.backward()
    touter.backward()
    for name, p in params.items():
        assert_close(p.grad, tparams[name].grad, **TOL)


def test_transforms_inside_out(device):
    """``vmap`` inside ``grad``, ``jacrev`` of ``vmap``, ``vmap`` of ``hessian``."""
    x, tx = _pair((2, 3), device)
    _compare(FF.grad(lambda a: FF.vmap(lambda r: (r.sin() * r).sum())(a).sum())(x),
             TF.grad(lambda a: TF.vmap(lambda r: (r.sin() * r).sum())(a).sum())(tx))
    _compare(FF.jacrev(FF.vmap(lambda r: r.exp().sum()))(x),
             TF.jacrev(TF.vmap(lambda r: r.exp().sum()))(tx))
    _compare(FF.vmap(FF.hessian(lambda r: r.sin().sum() * r.sum()))(x),
             TF.vmap(TF.hessian(lambda r: r.sin().sum() * r.sum()))(tx))


# rearrange, functionalize, debug_unwrap ------------------------------------------------------

@pytest.mark.parametrize("pattern, lengths", [
    ("b h w -> b (h w)", {}), ("b (h1 h2) w -> w h2 b h1", {"h1": 3}), ("b ... -> ... b", {}),
    ("b h w -> 1 w (b h) ()", {}), ("b ... w -> (w b) ...", {})])
def test_rearrange(device, pattern, lengths):
    x, tx = _pair((2, 3, 4), device)
    _compare(FF.rearrange(x, pattern, **lengths), TF.rearrange(tx, pattern, **lengths))
    _compare(FF.rearrange([x, x], "n " + pattern.replace("->", "-> n", 1), **lengths),
             TF.rearrange([tx, tx], "n " + pattern.replace("->", "-> n", 1), **lengths))


def test_rearrange_errors_functionalize_debug_unwrap():
    x = framework.ones(2, 3, 4)
    with pytest.raises(ValueError, match="Identifiers only on one side"):
        FF.rearrange(x, "b h w -> b h")
    with pytest.raises(ValueError, match="Number of dimensions in pattern \\(2\\) must be equal"):
        FF.rearrange(x, "b h -> b h")
    with pytest.raises(ValueError, match="cannot infer the sizes of two dimensions at once"):
        FF.rearrange(x, "b (h1 h2) w -> b h1 h2 w")
    with pytest.raises(ValueError, match="single '->' separator"):
        FF.rearrange(x, "b h w")
    y = framework.zeros(3)

    def mutate(a):
        a.add_(1)
        return a * 2

    assert FF.functionalize(mutate)(y).tolist() == [2.0] * 3 and y.tolist() == [1.0] * 3
    with pytest.raises(RuntimeError, match="received invalid argument for remove=x"):
        FF.functionalize(mutate, remove="x")
    assert FF.debug_unwrap(y) is y


def test_replace_all_batch_norm_modules_(device):
    model = fnn.Sequential(fnn.Linear(3, 2), fnn.BatchNorm1d(2)).double().to(device)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).double()
    tmodel.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in
                            model.state_dict().items()})
    assert FF.replace_all_batch_norm_modules_(model) is model
    TF.replace_all_batch_norm_modules_(tmodel)
    assert model[1].running_mean is None and not model[1].track_running_stats
    assert list(model.state_dict()) == list(tmodel.state_dict())
    x, tx = _pair((2, 4, 3), device)
    _compare(FF.vmap(model)(x), TF.vmap(tmodel)(tx))
