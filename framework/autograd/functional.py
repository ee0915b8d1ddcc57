"""``framework.autograd.functional``: Jacobians, Hessians and their products with vectors.

PyTorch's ``torch.autograd.functional`` API (same names, signatures, defaults, output
nesting and error messages), built on ``framework.autograd.grad``:

- ``vjp``, ``vhp``: one or two reverse passes;
- ``jvp``, ``hvp``: the double-backward trick (the backward is linear in its
  ``grad_outputs``, so differentiating it with respect to them gives the forward product);
- ``jacobian``: one reverse pass per output element (``vectorize=True`` runs the same loop:
  there is no vmap); ``strategy="forward-mode"`` (which, as in PyTorch, needs
  ``vectorize=True``) runs one double-backward product per input element;
- ``hessian``: the Jacobian of the gradient.

Inputs are copied (detached, or viewed when ``create_graph`` keeps their history) before
``func`` sees them, so tensors ``func`` captures from outside are not differentiated.
Results are detached unless ``create_graph=True``.
"""
from __future__ import annotations

from ..ops.creation import zeros_like
from ..ops.shape import stack
from ..tensor import Tensor
from . import grad as _grad
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGY_HINT = ('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If '
                  'your function has more outputs than inputs, "forward-mode" tends to be more '
                  'performant. Otherwise, prefer to use "reverse-mode".')


# helpers (PyTorch's, one by one) ------------------------------------------------------------

def _as_tuple(inp, arg_name: str, fn_name: str) -> tuple:
    """``(was_tuple, tuple_of_tensors)``; a TypeError names ``arg_name`` when one is not a Tensor."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the {where} has type {type(item)}.")
    return is_tuple, items


def _tuple_postprocess(res, to_unpack):
    """Undo ``_as_tuple``: unwrap one level per False flag (``(outputs, inputs)`` or one flag)."""
    if isinstance(to_unpack, tuple):
        unpack_outputs, unpack_inputs = to_unpack
        if not unpack_inputs:
            res = tuple(row[0] for row in res)
        if not unpack_outputs:
            res = res[0]
        return res
    return res if to_unpack else res[0]


def _grad_preprocess(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """New tensor objects for ``inputs``: views keeping history under ``create_graph``,
    else detached copies requiring grad when ``need_graph``."""
    result = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            result.append(inp.view_as(inp))
        else:
            result.append(inp.detach().requires_grad_(need_graph))
    return tuple(result)


def _grad_postprocess(inputs: tuple, create_graph: bool) -> tuple:
    """Detach results (recursively through nested tuples) unless ``create_graph``."""
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    """``v`` has one tensor per tensor of ``other``, each of the same size."""
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but "
                               f"got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


def _strict_message(input_type: str, i: int) -> str:
    """The strict-mode error for tensor ``i`` of kind ``input_type`` not requiring grad."""
    if input_type == "hessian":
        return (f"The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should "
                "ensure that your function is thrice differentiable and that the hessian "
                "depends on the inputs.")
    if input_type == "jacobian":
        return ("While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).")
    if input_type == "grad_inputs":
        return (f"The gradient with respect to input {i} is independent of the inputs of the "
                "user-provided function. This is not allowed in strict mode.")
    return (f"Output {i} of the user-provided function does not require gradients. The "
            "outputs must be computed in a differentiable manner from the input when running "
            "in strict mode.")


def _check_requires_grad(inputs: tuple, input_type: str, strict: bool) -> None:
    """In strict mode, every tensor of ``inputs`` exists and requires grad."""
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not inp.requires_grad:
            raise RuntimeError(_strict_message(input_type, i))


def _autograd_grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph=False,
                   retain_graph=None) -> tuple:
    """``autograd.grad`` skipping outputs that are None or need no grad (all unused: Nones)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept_outputs = []
    kept_grads = []
    for out, grad_out in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            kept_outputs.append(out)
            kept_grads.append(grad_out)
    if not kept_outputs:
        return (None,) * len(inputs)
    return _grad(tuple(kept_outputs), inputs, tuple(kept_grads), allow_unused=True,
                 create_graph=create_graph, retain_graph=retain_graph)


_ZERO_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
            "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool,
                   stage: str) -> tuple:
    """Replace None gradients by zeros shaped like ``refs`` (strict mode: raise instead)."""
    result = []
    for i, grads_i in enumerate(grads):
        if grads_i is None:
            if strict:
                raise RuntimeError(_ZERO_MESSAGES[stage].format(i=i))
            grads_i = zeros_like(refs[i])
        elif strict and create_graph and not grads_i.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        result.append(grads_i)
    return tuple(result)


def _prepare_v(v, refs: tuple, is_refs_tuple: bool, create_graph: bool, fn_name: str,
               missing: str):
    """``v`` as a validated tuple shaped like ``refs``; None only when ``refs`` is one element."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, refs, is_refs_tuple)
        return v
    if len(refs) != 1 or refs[0].nelement() != 1:
        raise RuntimeError(missing)
    return None


def _call(func, inputs: tuple, fn_name: str, strict: bool) -> tuple:
    """``(was_tuple, outputs)`` of ``func(*inputs)``, checked for strict mode."""
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                          fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_outputs_tuple, outputs


def _check_scalar_output(is_outputs_tuple: bool, outputs: tuple, fn_name: str) -> None:
    """``hessian``/``vhp``/``hvp`` need ``func`` to return one single-element Tensor."""
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


_V_FOR_INPUT = ("The vector v can only be None if the input to the user-provided function is "
                "a single Tensor with a single element.")


# public API ---------------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    ``v`` is shaped like the output of ``func`` (optional when that output has one element);
    the product is shaped like ``inputs``. With ``strict``, an input all outputs are
    independent of raises instead of giving zeros.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, create_graph, "vjp",
                       "The vector v can only be None if the user-provided function returns a "
                       "single Tensor with a single element.")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-backward trick.

    ``v`` is shaped like ``inputs`` (optional when the input has one element); the product is
    shaped like the output.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp",
                       "The vector v can only be None if the input to the user-provided "
                       "function is a single Tensor with a single element.")
        is_outputs_tuple, outputs = _call(func, inputs, "jvp", strict)
        grad_outputs, grad_inputs = _backward_of(outputs, inputs)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_outputs_tuple))


def _backward_of(outputs: tuple, inputs: tuple) -> tuple:
    """``(u, u^T J)`` with ``u`` zeros requiring grad: the backward as a function of ``u``.

    The backward is linear in ``u``, so its value (zeros: no inf or nan) does not matter;
    differentiating ``u^T J`` with respect to ``u`` against ``v`` gives ``J v``.
    """
    grad_outputs = tuple(zeros_like(out, requires_grad=True) for out in outputs)
    grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
    return grad_outputs, grad_inputs


def _jacobian_rows(out: Tensor, i: int, inputs: tuple, create_graph: bool,
                   strict: bool) -> tuple:
    """Jacobian of output ``i`` with respect to each input: one reverse pass per element."""
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for j in range(out.nelement()):
        vj = _autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
        for el_idx, (rows_el, vj_el, inp_el) in enumerate(zip(rows, vj, inputs)):
            if vj_el is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is "
                                       f"independent of input {el_idx}. This is not allowed "
                                       "in strict mode.")
                vj_el = zeros_like(inp_el)
            elif strict and create_graph and not vj_el.requires_grad:
                raise RuntimeError("The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode when "
                                   "create_graph=True.")
            rows_el.append(vj_el)
    return tuple(_stack_rows(rows_el, tuple(out.shape) + tuple(inp.shape), inp)
                 for rows_el, inp in zip(rows, inputs))


def _stack_rows(rows: list, shape: tuple, like: Tensor) -> Tensor:
    """``rows`` stacked and viewed as ``shape`` (an output with no element: empty, like ``like``)."""
    if not rows:
        return like.new_zeros(shape)
    return stack(rows, dim=0).view(shape)


def _jacfwd(func, inputs, strict: bool, vectorize: bool):
    """Forward-mode Jacobian: one Jacobian-vector product per input element (PyTorch: vmap)."""
    if strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=False, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs", "jacobian")
        grad_outputs, grad_inputs = _backward_of(outputs, inputs)
    columns = [[[] for _ in inputs] for _ in outputs]
    for k, inp in enumerate(inputs):
        for e in range(inp.nelement()):
            tangent = _basis_tangent(inputs, k, e)
            grad_res = _autograd_grad(grad_inputs, grad_outputs, tangent, retain_graph=True)
            products = _fill_in_zeros(grad_res, outputs, False, False, "back_trick")
            for i, product in enumerate(products):
                columns[i][k].append(product.detach())
    jac = tuple(tuple(_stack_columns(columns[i][k], out, inp) for k, inp in enumerate(inputs))
                for i, out in enumerate(outputs))
    return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def _basis_tangent(inputs: tuple, k: int, e: int) -> tuple:
    """Zeros shaped like ``inputs`` with a one at flat element ``e`` of input ``k``."""
    tangent = []
    for index, inp in enumerate(inputs):
        t = zeros_like(inp)
        if index == k:
            t.view(-1)[e] = 1
        tangent.append(t)
    return tuple(tangent)


def _stack_columns(columns: list, out: Tensor, inp: Tensor) -> Tensor:
    """Per-input-element products stacked last and viewed as ``out.shape + inp.shape``."""
    shape = tuple(out.shape) + tuple(inp.shape)
    if not columns:
        return out.new_zeros(shape)
    stacked = stack([c.reshape(-1) for c in columns], dim=1)
    return stacked.reshape(shape)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    One input and one output: a Tensor of size ``output.shape + input.shape``. A tuple on one
    side: a tuple of such Tensors; on both sides: ``J[i][j]`` for output ``i``, input ``j``.
    ``vectorize=True`` computes the same rows one by one (there is no vmap here).
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(_STRATEGY_HINT)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` "
                                      'and `strategy="forward-mode"` are not supported together '
                                      "(yet). Please either set `create_graph=False` or "
                                      '`strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict, vectorize)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        jac = tuple(_jacobian_rows(out, i, inputs, create_graph, strict)
                    for i, out in enumerate(outputs))
        jac = _grad_postprocess(jac, create_graph)
        return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs`` (the Jacobian of its gradient).

    One input: a Tensor of size ``input.shape + input.shape``; a tuple of inputs: ``H[i][j]``
    of size ``inputs[i].shape + inputs[j].shape``.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        _check_scalar_output(is_out_tuple, t_out, "hessian")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: vector times the Hessian of the scalar function ``func``."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "vhp", _V_FOR_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, "vhp", strict)
        _check_scalar_output(is_outputs_tuple, outputs, "vhp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: the Hessian of the scalar ``func`` times ``v`` (double-backward
    trick on the gradient; equals ``vhp`` for twice continuously differentiable ``func``)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "hvp", _V_FOR_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, "hvp", strict)
        _check_scalar_output(is_outputs_tuple, outputs, "hvp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))
