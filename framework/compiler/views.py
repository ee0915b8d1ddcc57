"""View ops of the IR: recognizing them from array geometry, and applying them to arrays.

Views (``reshape``, ``transpose``, ``expand``, indexing, ...) make a new
``Array`` over the same storage without a kernel. The tracer sees the parent
and child geometry (shape, strides, offset) and ``classify`` turns that into
a short chain of semantic view ops, so replays, symbolic shapes and ONNX
export do not depend on raw strides; only a view that is none of these
becomes ``as_strided`` (absolute strides and offset on the parent's storage).
"""
from __future__ import annotations

import itertools

from .._backends.array import Array, contiguous_strides
from .ir import evaluate


def _geometry(a: Array) -> tuple:
    return tuple(a.shape), tuple(a.strides), a.offset


def _same(shape_a, strides_a, shape_b, strides_b) -> bool:
    """Same shape, and same strides on every dim of size > 1."""
    return tuple(shape_a) == tuple(shape_b) and all(
        s == t for n, s, t in zip(shape_a, strides_a, strides_b) if n > 1)


def reshape_strides(shape, strides, new_shape):
    """Strides viewing (shape, strides) as ``new_shape``, or None (ATen's computeStride)."""
    global _view_strides
    if _view_strides is None:
        from ..ops.shape import _view_strides
    return _view_strides(tuple(shape), tuple(strides), tuple(new_shape))


_view_strides = None  # framework.ops.shape._view_strides, imported on first use


def classify(parent: Array, child: Array) -> list:
    """View steps ``[(op, attrs), ...]`` turning ``parent`` into ``child``'s geometry."""
    if child.dtype is not parent.dtype:
        return [("as_strided", _as_strided(parent, child, dtype=child.dtype.name))]
    shape, strides, offset = _geometry(child)
    steps = _classify(_geometry(parent), (shape, strides, offset))
    return steps if steps is not None else [("as_strided", _as_strided(parent, child))]


def _as_strided(parent: Array, child: Array, dtype=None) -> dict:
    """Absolute strides; the offset relative to the parent's (so replays may move the base)."""
    attrs = {"size": tuple(child.shape), "stride": tuple(child.strides),
             "storage_offset": child.offset - parent.offset}
    if dtype is not None:
        attrs["dtype"] = dtype
    return attrs


def _classify(p, c):
    pshape, pstrides, poff = p
    cshape, cstrides, coff = c
    if _same(pshape, pstrides, cshape, cstrides) and poff == coff:
        return []
    broadcast = [i for i, (n, s) in enumerate(zip(cshape, cstrides)) if s == 0 and n > 1]
    if broadcast:  # expand of a view with those dims of size 1
        shape1 = tuple(1 if i in broadcast else n for i, n in enumerate(cshape))
        inner = _classify(p, (shape1, cstrides, coff))
        if inner is not None:
            return inner + [("expand", {"size": tuple(cshape)})]
        # else a view of an expanded parent (its broadcast dims permuted): below
    numel_p, numel_c = _numel(pshape), _numel(cshape)
    if numel_c == numel_p and coff == poff:
        st = reshape_strides(pshape, pstrides, cshape)
        if st is not None and _same(cshape, st, cshape, cstrides):
            return [("reshape", {"shape": tuple(cshape)})]
        return _permute_reshape(p, c)
    if numel_c < numel_p:
        return _slice(p, c) or _select(p, c) or _select_slice(p, c)
    return None


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _permute_reshape(p, c):
    """Drop size-1 dims, permute the rest into the child's order, add the child's 1s."""
    pshape, pstrides, _ = p
    cshape, cstrides, _ = c
    pdims = [(n, s, i) for i, (n, s) in enumerate(zip(pshape, pstrides)) if n != 1]
    cdims = [(n, s) for n, s in zip(cshape, cstrides) if n != 1]
    if len(pdims) != len(cdims):
        return None
    perm, used = [], set()
    for n, s in cdims:
        match = next((k for k, (pn, ps, _) in enumerate(pdims) if k not in used and pn == n
                      and ps == s), None)
        if match is None:
            return None
        used.add(match)
        perm.append(match)
    steps = []
    squeezed = tuple(n for n, _, _ in pdims)
    if squeezed != tuple(pshape):
        steps.append(("reshape", {"shape": squeezed}))
    if perm != sorted(perm):
        steps.append(("permute", {"dims": tuple(perm)}))
    if tuple(n for n, _ in cdims) != tuple(cshape):
        steps.append(("reshape", {"shape": tuple(cshape)}))
    return steps


def _slice(p, c):
    pshape, pstrides, poff = p
    cshape, cstrides, coff = c
    if len(pshape) != len(cshape):
        return None
    changed = [d for d in range(len(pshape)) if pshape[d] != cshape[d]
               or (cshape[d] > 1 and pstrides[d] != cstrides[d])]
    steps, rest = [], coff - poff
    for d in sorted(changed, key=lambda d: -abs(pstrides[d])):
        ps = pstrides[d]
        if ps == 0:
            return None
        step = 1 if cshape[d] <= 1 else cstrides[d] // ps
        if step < 1 or (cshape[d] > 1 and step * ps != cstrides[d]):
            return None
        start = rest // ps if ps > 0 else 0
        rest -= start * ps
        stop = start + step * (cshape[d] - 1) + 1 if cshape[d] else start
        if not (0 <= start <= pshape[d] and stop <= pshape[d]):
            return None
        steps.append(("slice", {"dim": d, "start": start, "end": stop, "step": step}))
    if rest != 0 or not steps:
        return None
    return steps


def _select(p, c):
    pshape, pstrides, poff = p
    cshape, cstrides, coff = c
    if len(pshape) != len(cshape) + 1:
        return None
    for d in range(len(pshape)):
        if _same(pshape[:d] + pshape[d + 1:], pstrides[:d] + pstrides[d + 1:], cshape, cstrides):
            ps = pstrides[d]
            delta = coff - poff
            if (ps == 0 and delta == 0) or (ps and delta % ps == 0 and 0 <= delta // ps < pshape[d]):
                return [("select", {"dim": d, "index": delta // ps if ps else 0})]
    return None


def _select_slice(p, c):
    """Indexing that drops dims and narrows others at once (``y[:, 0, 1:-1]``): selects of
    the dropped dims, then ``_slice``. The offset is split over the dims by decreasing
    stride (as ``_slice`` does); each choice of dropped dims is tried."""
    pshape, pstrides, poff = p
    cshape = c[0]
    drop = len(pshape) - len(cshape)
    if drop < 1:
        return None
    for dropped in itertools.combinations(range(len(pshape)), drop):
        index, rest = {}, c[2] - poff
        for d in sorted(range(len(pshape)), key=lambda d: -abs(pstrides[d])):
            first = rest // pstrides[d] if pstrides[d] > 0 else 0
            rest -= first * pstrides[d]
            if d in dropped:
                index[d] = first
        if rest != 0 or any(not 0 <= index[d] < pshape[d] for d in dropped):
            continue
        kept = [d for d in range(len(pshape)) if d not in dropped]
        inner = (tuple(pshape[d] for d in kept), tuple(pstrides[d] for d in kept),
                 poff + sum(index[d] * pstrides[d] for d in dropped))
        rest_steps = _classify(inner, c) if len(kept) == len(cshape) else None
        if rest_steps is not None:  # selects from the last dim down: earlier dims keep place
            return [("select", {"dim": d, "index": index[d]})
                    for d in sorted(dropped, reverse=True)] + rest_steps
    return None


def apply(op: str, a: Array, attrs: dict, env=None) -> Array:
    """Run view op ``op`` on array ``a`` (symbolic sizes evaluated in ``env``)."""
    attrs = evaluate(attrs, env)
    if op == "reshape":
        shape = tuple(attrs["shape"])
        strides = reshape_strides(a.shape, a.strides, shape)
        if strides is None:
            raise RuntimeError(f"replay: cannot view {tuple(a.shape)} with strides "
                               f"{tuple(a.strides)} as {shape}")
        return a.view(shape, strides, a.offset)
    if op == "permute":
        dims = attrs["dims"]
        return a.view(tuple(a.shape[d] for d in dims), tuple(a.strides[d] for d in dims), a.offset)
    if op == "expand":
        size = tuple(attrs["size"])
        pad = len(size) - len(a.shape)
        strides = [0] * pad + [0 if (n == 1 and m != 1) else s
                               for n, s, m in zip(a.shape, a.strides, size[pad:])]
        return a.view(size, tuple(strides), a.offset)
    if op == "slice":
        d, start, end, step = attrs["dim"], attrs["start"], attrs["end"], attrs["step"]
        n = max(0, -(-(end - start) // step))
        shape = a.shape[:d] + (n,) + a.shape[d + 1:]
        strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:]
        return a.view(shape, strides, a.offset + start * a.strides[d])
    if op == "select":
        d, index = attrs["dim"], attrs["index"]
        return a.view(a.shape[:d] + a.shape[d + 1:], a.strides[:d] + a.strides[d + 1:],
                      a.offset + index * a.strides[d])
    if op == "as_strided":
        dtype = attrs.get("dtype")
        if dtype is not None:
            from .. import dtypes
            dtype = getattr(dtypes, dtype)
        return a.view(tuple(attrs["size"]), tuple(attrs["stride"]),
                      a.offset + attrs["storage_offset"], dtype)
    raise ValueError(f"unknown view op {op!r}")


def contiguous_like(a: Array) -> bool:
    """True when ``a`` is row-major without gaps, from offset 0 (a fresh kernel output)."""
    return a.strides == contiguous_strides(a.shape) or a.is_contiguous()
