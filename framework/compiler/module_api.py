"""The ``nn.Module`` methods a traced or loaded graph answers (``torch.jit.ScriptModule``'s).

A PyTorch user calls ``loaded = torch.jit.load(path); loaded.eval()`` and
reads ``loaded.state_dict()``, ``loaded.parameters()`` or moves it with
``loaded.to("cuda")``. ``GraphModule`` (``framework/compiler/runtime.py``)
takes these from ``ModuleAPI``: the graph itself is fixed at trace time (the
train/eval mode it was traced in, its dtypes), so ``train()``/``eval()`` only
set the ``training`` flag, and ``to()`` moves the graph and its weights but
does not cast them.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict

from .ir import Graph


def move_graph(graph: Graph, device: str) -> None:
    """Put every input, node and output of ``graph`` on ``device`` (host values stay)."""
    for value in graph.inputs:
        value.device = device
    for node in graph.nodes:
        node.device = device
        for out in node.outputs:
            if out is not None and out.device != "host":
                out.device = device


class ModuleAPI:
    """``training``, ``train``/``eval``, ``state_dict``/``load_state_dict``, parameters and
    buffers, ``to``/``cpu``/``cuda`` over ``self.graph`` and ``self.params`` (state_dict key
    -> tensor; the traced module's own ``Parameter`` objects, or loaded ones)."""

    training = False  # a trace replays the mode it was recorded in; this is only the flag

    def train(self, mode: bool = True):
        """Set the ``training`` flag (``Module.train``). The graph keeps the mode it was
        traced in (dropout and batch norm as recorded): switching to training warns."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        if mode and not self.training:
            warnings.warn(f"{type(self).__name__}.train(): a traced graph replays the mode it "
                          "was traced in; trace the module again in training mode to record "
                          "dropout and batch-norm updates", stacklevel=2)
        self.training = mode
        return self

    def eval(self):
        """``train(False)``: returns the module, so ``jit.load(path).eval()`` works."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` of every parameter (the graph itself records no autograd)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # parameters and buffers -------------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(name, Parameter) of the graph's weights that are parameters."""
        from ..nn.parameter import Parameter
        for name, t in self.params.items():
            if isinstance(t, Parameter):
                yield prefix + name, t

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """(name, tensor) of the graph's weights that are not parameters (batch-norm stats)."""
        from ..nn.parameter import Parameter
        for name, t in self.params.items():
            if not isinstance(t, Parameter):
                yield prefix + name, t

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers():
            yield b

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> "OrderedDict":
        """Every weight by its ``state_dict`` key (detached unless ``keep_vars``)."""
        return OrderedDict((prefix + name, t if keep_vars else t.detach())
                           for name, t in self.params.items())

    def load_state_dict(self, state_dict: dict, strict: bool = True):
        """Copy ``state_dict``'s tensors into the graph's weights in place (shapes must
        match; dtypes and devices are converted). Returns (missing, unexpected) keys."""
        from ..autograd.grad_mode import no_grad
        missing = [k for k in self.params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in self.params]
        if strict and (missing or unexpected):
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                               f"missing keys {missing}, unexpected keys {unexpected}")
        for name, target in self.params.items():
            if name not in state_dict:
                continue
            source = state_dict[name]
            if tuple(source.shape) != tuple(target.shape):
                raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                                   f"size mismatch for {name}: copying a param with shape "
                                   f"{list(source.shape)}, the traced graph has shape "
                                   f"{list(target.shape)}")
            with no_grad():
                target.copy_(source)
        return missing, unexpected

    # devices ----------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Move the graph and its weights to a device (``to("cuda")``, ``to(device)``,
        ``to(tensor)``). A traced graph's dtypes are fixed: another floating dtype than its
        weights' raises ``TypeError`` (cast the module and trace it again). For a trace of a
        live module the module's own parameters and buffers move too (they are the graph's
        weights, as with ``torch.jit``)."""
        from ..nn.modules.module import _parse_to
        kwargs.pop("non_blocking", None)
        device, dtype = _parse_to(args, kwargs)
        if dtype is not None and any(t.is_floating_point() and t.dtype != dtype
                                     for t in self.params.values()):
            raise TypeError(f"{type(self).__name__}.to({dtype}): a traced graph's dtypes are "
                            "fixed when it is traced; cast the module and trace it again")
        if device is not None:
            self._move_to(device)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else
                       device if not isinstance(device, int) else f"cuda:{device}")

    def _move_to(self, device) -> None:
        from ..devices import as_device
        target = str(as_device(device))
        values = list(self.graph.inputs) + [o for n in self.graph.nodes for o in n.outputs
                                            if o is not None and o.device != "host"]
        if all(v.device == target for v in values) and all(
                str(t.device) == target for t in self.params.values()):
            return
        retrace = getattr(self, "_retrace", None)
        source = getattr(retrace, "source", None)
        from ..nn import Module
        if isinstance(source, Module):  # the graph's weights are the module's own tensors
            from .runtime import named_tensors
            source.to(target)
            self.params = named_tensors(source)
            retrace.named = self.params
            retrace.graphs.clear()
        else:
            self.params = {name: _moved(t, target) for name, t in self.params.items()}
        move_graph(self.graph, target)
        self._plan_key = None  # the plan holds the old device's kernels


def _moved(t, device: str):
    """``t`` on ``device``, still a ``Parameter`` (with its ``requires_grad``) if it was one."""
    from ..nn.parameter import Parameter
    moved = t.detach().to(device)
    if isinstance(t, Parameter):
        return Parameter(moved, requires_grad=t.requires_grad)
    return moved
