"""``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd`` and
``hessian`` of ``framework.func``, built on ``framework.autograd.grad``.

torch.func keeps one autograd "level" per transform. Here every transform records on the
one autograd graph instead: the differentiated inputs are replaced by fresh leaves (or, when
they already carry history, by views of themselves, so an enclosing transform or a later
``backward`` still reaches them), and gradients are taken with ``create_graph=True``
exactly when the function's graph reaches a leaf requiring grad that this transform did not
make (a closed-over parameter, or the input of an enclosing transform) and grad mode was on
at the call. That is what makes ``grad(grad(f))``, ``jacfwd(jacrev(f))``, ``vmap(grad(f))``
and ``loss(jacrev(model)(x)).backward()`` work; results otherwise come back detached, as
torch's do.

Forward-mode products (``jvp``, ``linearize``) use the double-vjp trick: the backward
``u -> u^T J`` is linear in ``u``, so differentiating it with respect to ``u`` against a
tangent gives ``J t``. ``jacfwd`` computes the same Jacobian as ``jacrev``, by reverse mode.
"""
from __future__ import annotations

from ..autograd import grad as _autograd_grad
from ..autograd.function import AccumulateGrad
from ..autograd.functional import _jacobian_rows
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..ops.creation import zeros_like
from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian"]

_RANDOMNESS = ("error", "different", "same")


# argument handling --------------------------------------------------------------------------

def _check_argnums(argnums, num_args: int) -> None:
    """torch's checks: an int or a non-empty tuple of unique ints, each a valid position."""
    if isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        positions = argnums
    elif isinstance(argnums, int) and not isinstance(argnums, bool):
        positions = (argnums,)
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for argnum in positions:
        if not isinstance(argnum, int) or isinstance(argnum, bool):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnum)}")
        if not -num_args <= argnum < num_args:
            raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _track(args: tuple, argnums) -> tuple:
    """``(new_args, diff_inputs, fresh)``: ``args`` with the tensors at ``argnums`` replaced
    by tracked copies; ``diff_inputs`` is their pytree (an int ``argnums``: one argument's
    tree; a tuple: a tuple of trees); ``fresh`` the ids of the new leaves."""
    _check_argnums(argnums, len(args))
    positions = argnums if isinstance(argnums, tuple) else (argnums,)
    new_args = list(args)
    fresh: set = set()
    for position in positions:
        new_args[position] = _track_tree(args[position], fresh)
    if isinstance(argnums, tuple):
        diff = tuple(new_args[p] for p in positions)
    else:
        diff = new_args[argnums]
    return tuple(new_args), diff, fresh


def _track_tree(tree, fresh: set):
    """Each tensor leaf of ``tree`` as a tensor the graph can differentiate with respect to."""
    leaves, spec = tree_flatten(tree)
    tracked = []
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
        if leaf.requires_grad:
            tracked.append(leaf.view_as(leaf))
        else:
            copy = leaf.detach().requires_grad_(True)
            fresh.add(id(copy))
            tracked.append(copy)
    return tree_unflatten(tracked, spec)


def _reaches_other_leaves(tensors, fresh: set) -> bool:
    """Whether the graph of ``tensors`` reaches a leaf requiring grad not in ``fresh``."""
    stack = []
    for t in tensors:
        if not isinstance(t, Tensor) or not t.requires_grad:
            continue
        if t.grad_fn is None:
            if id(t) not in fresh:
                return True
            continue
        stack.append(t.grad_fn)
    seen: set = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in fresh:
                return True
            continue
        stack.extend(child for child, _ in node._edges if child is not None)
    return False


def _keeps_graph(grad_enabled: bool, tensors, fresh: set) -> bool:
    """The rule of the module docstring: differentiable results exactly when needed."""
    return grad_enabled and _reaches_other_leaves(tensors, fresh)


def _split_aux(output, has_aux: bool, api: str):
    """``(output, aux)``; with ``has_aux`` the function must return a pair, ``aux`` a pytree
    of tensors."""
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if "
                           "has_aux is True")
    for leaf in tree_flatten(output[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return output


def _finish(tree, keep: bool):
    """``tree`` with tensor leaves detached unless ``keep``."""
    if keep or tree is None:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([leaf.detach() if isinstance(leaf, Tensor) else leaf
                           for leaf in leaves], spec)


def _tensor_leaves(tree, api: str, what: str = "f(*primals)") -> tuple:
    """``(leaves, spec)`` of ``tree``, every leaf a Tensor."""
    leaves, spec = tree_flatten(tree)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"{api}: expected {what} to return only tensors, got "
                               f"unsupported type {type(leaf)}")
    return leaves, spec


def _grads(outputs: list, inputs: list, grad_outputs, create_graph: bool,
           retain_graph: bool) -> list:
    """``autograd.grad`` over the outputs that require grad; zeros for unused inputs."""
    kept = [i for i, out in enumerate(outputs) if out.requires_grad]
    found = [None] * len(inputs)
    if kept and inputs:
        roots = tuple(outputs[i] for i in kept)
        seeds = None if grad_outputs is None else tuple(grad_outputs[i] for i in kept)
        found = _autograd_grad(roots, tuple(inputs), seeds, retain_graph=retain_graph,
                               create_graph=create_graph, allow_unused=True)
    return [zeros_like(inp) if g is None else g for g, inp in zip(found, inputs)]


# grad and grad_and_value --------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux: bool = False):
    """A function returning ``(gradient, value)`` of the scalar function ``func``
    (``((gradient, (value, aux))`` with ``has_aux``), the gradient with respect to the
    positional arguments ``argnums`` (an int: that argument's pytree; a tuple: one per
    position). Inputs ``func`` does not use get zero gradients."""
    def wrapper(*args, **kwargs):
        grad_enabled = is_grad_enabled()
        with enable_grad():
            args, diff, fresh = _track(args, argnums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux,
                                     "grad_and_value(f)(*args)")
            _check_scalar(output)
            keep = _keeps_graph(grad_enabled, [output], fresh)
            inputs, spec = tree_flatten(diff)
            grads = _grads([output], inputs, None, create_graph=keep, retain_graph=keep)
        gradient = tree_unflatten(grads, spec)
        value = output if keep else output.detach()
        if has_aux:
            return gradient, (value, _finish(aux, keep))
        return gradient, value
    return wrapper


def _check_scalar(output) -> None:
    if not isinstance(output, Tensor):
        raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                           f"{type(output)}")
    if output.dim() != 0:
        raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar "
                           f"Tensor, got tensor with {output.dim()} dims. Maybe you wanted to "
                           "use the vjp or jacrev APIs instead?")


def grad(func, argnums=0, has_aux: bool = False):
    """A function returning the gradient of the scalar function ``func`` with respect to the
    positional arguments ``argnums`` (``(gradient, aux)`` with ``has_aux``); see
    ``grad_and_value``. Composes: ``grad(grad(f))`` is the second derivative."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        gradient, value = inner(*args, **kwargs)
        if has_aux:
            return gradient, value[1]
        return gradient
    return wrapper


# vjp ----------------------------------------------------------------------------------------

def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)`` (``+ (aux,)`` with ``has_aux``); ``vjp_fn(cotangents)``,
    with ``cotangents`` structured like the output, returns one vector-Jacobian product per
    primal, as a tuple. ``vjp_fn`` may be called many times."""
    grad_enabled = is_grad_enabled()
    with enable_grad():
        primals, diff, fresh = _track(primals, tuple(range(len(primals)))) if primals \
            else ((), (), set())
        output, aux = _split_aux(func(*primals), has_aux, "vjp(f, *primals)")
        outputs, out_spec = _tensor_leaves(output, "vjp(f, *primals)")
    keep = _keeps_graph(grad_enabled, outputs, fresh)
    inputs, in_spec = tree_flatten(diff)

    def vjp_fn(cotangents):
        cots, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function. cotangents: "
                               f"{cot_spec}, primal output: {out_spec}")
        _check_shapes(cots, outputs)
        create = is_grad_enabled() and (keep or any(isinstance(c, Tensor) and c.requires_grad
                                                    for c in cots))
        with enable_grad():
            grads = _grads(outputs, inputs, cots, create_graph=create, retain_graph=True)
        return tree_unflatten(grads, in_spec)

    result = (_finish(output, keep), vjp_fn)
    return result + (_finish(aux, keep),) if has_aux else result


def _check_shapes(grads: list, outputs: list) -> None:
    """A cotangent per output, shaped like it (torch's message)."""
    for i, (g, out) in enumerate(zip(grads, outputs)):
        if tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"torch.Size({list(g.shape)}) and output[{i}] has a shape of "
                               f"torch.Size({list(out.shape)}).")


# jvp and linearize (double-vjp trick) -------------------------------------------------------

class _ForwardGraph:
    """``func`` at ``primals`` plus its backward ``u -> u^T J`` recorded as a graph in the
    zero cotangents ``u``, so that products ``J t`` are one more reverse pass each."""

    def __init__(self, func, primals: tuple, has_aux: bool, api: str) -> None:
        self.grad_enabled = is_grad_enabled()
        with enable_grad():
            primals, diff, self.fresh = _track(primals, tuple(range(len(primals))))
            output, self.aux = _split_aux(func(*primals), has_aux, api)
            self.output = output
            self.outputs, self.out_spec = _tensor_leaves(output, api)
            self.inputs, self.in_spec = tree_flatten(diff)
            self.cotangents = [zeros_like(out, requires_grad=True) for out in self.outputs]
            backward = _grads(self.outputs, self.inputs, self.cotangents, create_graph=True,
                              retain_graph=True)
        self.backward = backward
        self.keep = _keeps_graph(self.grad_enabled, self.outputs, self.fresh)

    def product(self, tangents: list) -> list:
        """``J t`` for each output (zeros where an output does not depend on the inputs)."""
        create = is_grad_enabled() and (self.keep or any(t.requires_grad for t in tangents))
        with enable_grad():
            return _grads(self.backward, self.cotangents, tangents, create_graph=create,
                          retain_graph=True)


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):  # noqa: ARG001
    """``(func(*primals), J t)`` (``+ (aux,)`` with ``has_aux``): the Jacobian-vector
    product with ``tangents`` (structured like ``primals``), computed by the double-vjp
    trick (two reverse passes) rather than forward-mode AD. ``strict`` is accepted and, as
    in torch, changes nothing."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it "
                           "should be valid to call f(*primals).")
    primal_leaves, primal_spec = tree_flatten(primals)
    tangent_leaves, tangent_spec = tree_flatten(tangents)
    if primal_spec != tangent_spec:
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have "
                           "the same python structure. For example, if primals is a tuple of 3 "
                           "tensors, tangents also must be. Got primals with structure "
                           f"{primal_spec} and tangents with structure {tangent_spec}")
    _check_tangents(primal_leaves, tangent_leaves)
    graph = _ForwardGraph(func, primals, has_aux, "jvp(f, primals, tangents)")
    products = tree_unflatten(graph.product(tangent_leaves), graph.out_spec)
    result = (_finish(graph.output, graph.keep), products)
    return result + (_finish(graph.aux, graph.keep),) if has_aux else result


def _check_tangents(primals: list, tangents: list) -> None:
    for p, t in zip(primals, tangents):
        if not isinstance(t, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if tuple(t.shape) != tuple(p.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size "
                               "than that of the original Tensor, this is not supported. Tensor "
                               f"is of size {list(p.shape)} while the given forward gradient is "
                               f"of size {list(t.shape)}.")


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at
    ``primals`` (``jvp(func, primals, tangents)[1]``), reusing the graph recorded once."""
    graph = _ForwardGraph(func, primals, False, "linearize(f, *primals)")
    primal_leaves, primal_spec = tree_flatten(primals)

    def jvp_fn(*tangents):
        tangent_leaves, tangent_spec = tree_flatten(tangents)
        if tangent_spec != primal_spec:
            raise RuntimeError(f"Expected the tangents {tangent_spec} to have the same "
                               f"argument structure as the primals {primal_spec}")
        for i, (p, t) in enumerate(zip(primal_leaves, tangent_leaves)):
            if tuple(t.shape) != tuple(p.shape):
                raise RuntimeError(f"tangent:{i} with shape torch.Size({list(t.shape)}) in "
                                   "flattened pytree doesn't match the shape "
                                   f"torch.Size({list(p.shape)}) of the corresponding primal.")
        return tree_unflatten(graph.product(tangent_leaves), graph.out_spec)

    return _finish(graph.output, graph.keep), jvp_fn


# Jacobians ----------------------------------------------------------------------------------

def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """A function returning the Jacobian of ``func`` with respect to the positional arguments
    ``argnums``, by reverse mode (one vector-Jacobian product per output element;
    ``chunk_size`` is accepted and changes nothing). Each output leaf ``o`` gets, per
    differentiated input ``x``, a tensor of shape ``o.shape + x.shape``; the result has the
    output's structure, each leaf holding the structure of ``argnums`` (``(jac, aux)`` with
    ``has_aux``)."""
    _check_chunk_size(chunk_size, "jacrev")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` (as ``jacrev``: same arguments, structure and values).

    torch computes it by forward-mode AD (one Jacobian-vector product per input element);
    framework has no forward-mode AD, so this is the same reverse-mode computation as
    ``jacrev``, which gives the same results (only the cost differs: reverse mode is cheaper
    when there are fewer outputs than inputs). ``randomness`` is checked and has no effect:
    ``func`` runs once."""
    if randomness not in _RANDOMNESS:
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    return _jacobian(func, argnums, has_aux, "jacfwd")


def _check_chunk_size(chunk_size, api: str) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"{api}: `chunk_size` should be greater than 0.")


def _jacobian(func, argnums, has_aux: bool, api: str):
    def wrapper(*args, **kwargs):
        grad_enabled = is_grad_enabled()
        with enable_grad():
            args, diff, fresh = _track(args, argnums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, f"{api}(f, ...)(*args)")
            outputs, out_spec = _tensor_leaves(output, f"{api}(f, ...)(*args)", "f(*args)")
            keep = _keeps_graph(grad_enabled, outputs, fresh)
            inputs, in_spec = tree_flatten(diff)
            per_output = [tree_unflatten(list(_jacobian_rows(out, i, tuple(inputs), keep,
                                                             False)), in_spec)
                          for i, out in enumerate(outputs)]
        jac = tree_unflatten(per_output, out_spec)
        jac = _finish(jac, keep)
        return (jac, _finish(aux, keep)) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """A function returning the Hessian of the scalar function ``func`` with respect to
    ``argnums``: ``jacfwd(jacrev(func, argnums), argnums)`` (both by reverse mode here)."""
    return jacfwd(jacrev(func, argnums), argnums)
