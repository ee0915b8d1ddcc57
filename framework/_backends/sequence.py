"""Operand checks and step order shared by both backends' recurrent sequence kernels
(``lstm_sequence``, ``gru_sequence`` and their backwards in the contract)."""
from __future__ import annotations

from .. import dtypes
from .array import Array


def check_sequence(name: str, x_proj: Array, state: Array, w_hh: Array, gates: int) -> tuple:
    """(T, N, H) of a sequence kernel's operands, or a ValueError naming ``name``."""
    if x_proj.dtype not in (dtypes.float32, dtypes.float64) or any(
            a.dtype != x_proj.dtype for a in (state, w_hh)):
        raise ValueError(f"{name}: expected float32 or float64 operands of one dtype, got "
                         f"{x_proj.dtype}, {state.dtype}, {w_hh.dtype}")
    length, rows, width = x_proj.shape if len(x_proj.shape) == 3 else (0, 0, -1)
    hidden = state.shape[-1]
    if len(x_proj.shape) != 3 or width != gates * hidden or tuple(state.shape) != (rows, hidden) \
            or tuple(w_hh.shape) != (gates * hidden, hidden):
        raise ValueError(f"{name}: expected x_proj (T, N, {gates}H), states (N, H) and w_hh "
                         f"({gates}H, H), got {tuple(x_proj.shape)}, {tuple(state.shape)}, "
                         f"{tuple(w_hh.shape)}")
    return length, rows, hidden


def slot_order(length: int, reverse: bool) -> list:
    """(t, slot read, slot written) of each step in running order: step t reads its previous
    state from slot t and writes slot t + 1 (``reverse``: reads t + 1, writes t, t = T-1 first)."""
    if reverse:
        return [(t, t + 1, t) for t in range(length - 1, -1, -1)]
    return [(t, t, t + 1) for t in range(length)]
