"""L-BFGS (``torch.optim.LBFGS``), without a line search: the quasi-Newton direction from the
last ``history_size`` steps, a fixed step ``lr`` (the first scaled by the gradient's size),
up to ``max_iter`` inner iterations per ``step(closure)``. It works on the parameters as one
flat vector; every update is a plain framework op (no fused kernel: the work is a few dot
products and axpys per iteration). ``line_search_fn='strong_wolfe'`` is not implemented.
"""
from __future__ import annotations

from ..autograd.grad_mode import enable_grad, no_grad
from ..ops import creation
from ..ops.shape import cat
from .optimizer import Optimizer

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters (one group); ``step`` needs a ``closure`` that
    recomputes the loss and its gradients."""

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn is not None:
            raise NotImplementedError("LBFGS: line_search_fn='strong_wolfe' is not implemented; "
                                      "use line_search_fn=None")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        views = [p.grad.reshape(-1) if p.grad is not None else creation.zeros(p.numel(),
                 dtype=p.dtype, device=p.device) for p in self._params]
        return cat(views, 0)

    def _add_grad(self, step_size: float, update) -> None:
        offset = 0
        for p in self._params:
            numel = p.numel()
            p.add_(update[offset:offset + numel].view_as(p), alpha=step_size)
            offset += numel

    @staticmethod
    def _direction(state: dict, flat_grad, history_size: int):
        """The two-loop recursion: -H·grad from the stored (y, s) pairs."""
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        al = [0.0] * len(old_dirs)
        q = flat_grad.neg()
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = float(old_stps[i].dot(q)) * ro[i]
            q.add_(old_dirs[i], alpha=-al[i])
        r = q * state["H_diag"]
        for i in range(len(old_dirs)):
            be_i = float(old_dirs[i].dot(r)) * ro[i]
            r.add_(old_stps[i], alpha=al[i] - be_i)
        return r

    @staticmethod
    def _remember(state: dict, flat_grad, history_size: int) -> None:
        """Store the newest curvature pair (when it is positive enough)."""
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float(y.dot(s))
        if ys > 1e-10:
            if len(state["old_dirs"]) == history_size:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / float(y.dot(y))

    @no_grad()
    def step(self, closure):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if float(flat_grad.abs().max()) <= tolerance_grad:
            return orig_loss
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                state.update(d=flat_grad.neg(), old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                self._remember(state, flat_grad, group["history_size"])
                state["d"] = self._direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"] = flat_grad.clone()
            prev_loss = loss
            if state["n_iter"] == 1:
                state["t"] = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr
            else:
                state["t"] = lr
            if float(flat_grad.dot(state["d"])) > -tolerance_change:
                break
            self._add_grad(state["t"], state["d"])
            opt_cond = False
            if n_iter != max_iter:
                with enable_grad():
                    loss = float(closure())
                flat_grad = self._flat_grad()
                opt_cond = float(flat_grad.abs().max()) <= tolerance_grad
                current_evals += 1
                state["func_evals"] += 1
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float((state["d"] * state["t"]).abs().max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break
        return orig_loss
