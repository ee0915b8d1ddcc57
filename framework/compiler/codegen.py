"""Triton source for fused elementwise groups: generated, written to the cache dir, imported.

``source(group)`` writes one ``@triton.jit`` kernel per ``FusedGroup``: each
program instance loads ``BLOCK`` consecutive elements of every input (flat
indices when every input is contiguous with the output's shape, else through
6-d strides as the library's elementwise kernels do), runs the group's ops in
registers with the library's own op math (``triton_kernels.elementwise._unary``
/ ``_binary``, the functions the unfused kernels call, so results are the same)
and stores the group's outputs. The file is ``<cache dir>/generated/fused_<hash>.py``
(``$FRAMEWORK_CACHE_DIR/generated``, else ``$XDG_CACHE_HOME/framework/generated``,
else ``~/.cache/framework/generated``), the hash being of the source itself: a
second compile of the same group reuses the file. Open it to read what runs.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path

from .fusion import FusedGroup

BLOCK = 1024  # elements per program (the library's elementwise block)
NUM_WARPS = 8
_INT32_LIMIT = 2 ** 31 - BLOCK
_HALF = {"float16": "tl.float16", "bfloat16": "tl.bfloat16"}
_ACTIVATIONS = ("gelu", "gelu_tanh", "silu")  # math in triton_kernels.activation
_LOADED: dict = {}  # file path -> FusedKernel (documented cache: one import per kernel)
_LOCK = threading.Lock()


def generated_dir() -> Path:
    """Where generated kernels are written (see the module docstring)."""
    explicit = os.environ.get("FRAMEWORK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "generated"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "framework" / "generated"


def kernel_imports(matmul_activation: bool = False) -> list:
    """The import lines (and the two blank lines after them) of a generated kernel's source:
    the helpers of ``triton_kernels`` the generated code calls."""
    return [
        "import triton",
        "import triton.language as tl",
        "",
        "from triton_kernels.activation import _unary_activation",
        "from triton_kernels.elementwise import _binary, _coords, _unary",
        *(["from triton_kernels.matmul import _activation"] if matmul_activation else []),
        "from triton_kernels.scalars import compute_scalar",
        "from triton_kernels.strided import offset6",
        "",
        "",
    ]


def source(group: FusedGroup) -> str:
    """The readable Triton source of ``group``'s kernel."""
    n_in, n_sc = len(group.inputs), len(group.scalars)
    outs = [index for _, index in group.outputs]
    used_as_value, used_as_cond = set(), set()
    for ins in group.instrs:
        for pos, (kind, k) in enumerate(ins.operands):
            if kind == "in":
                (used_as_cond if ins.kind == "where" and pos == 0 else used_as_value).add(k)

    soft = group.softmax  # None, or {"log": bool}: a row softmax of the last op's result
    red = group.reduce  # None, or {"index": K, ...}: also the column sums of tK
    drops = dropouts(group)
    soft_drop = soft.get("dropout") if soft else None  # the softmax's dropout, a 2nd output
    extra = [index for index, _ in red.get("extra", ())] if red else []  # sibling sums
    params = [f"out{j}_ptr" for j in range(len(outs))] + (["red_ptr"] if red else [])
    params += [f"red{k}_ptr" for k in range(1, len(extra) + 1)]
    params += ["drop_ptr"] if soft_drop else []
    params += [f"in{k}_ptr" for k in range(n_in)]
    params += [f"s{j}: tl.float64" for j in range(n_sc)]  # docs/architecture.md, numerics
    params += [f"{name}{i}" for i in drops for name in ("seed", "offset")]
    params += ["seed_drop", "offset_drop"] if soft_drop else []
    params += (["n_rows", "n_cols", "inner"] if red else ["n_cols" if soft else "n"])
    params += ["size1", "size2", "size3", "size4", "size5"]
    params += [f"st{k}_{d}" for k in range(n_in) for d in range(6)]
    perm = sorted(group.out_perm)  # outputs stored transposed, at strides ostJ_*
    params += [f"ost{j}_{d}" for j in perm for d in range(6)]
    params += ["STRIDED: tl.constexpr", "INDEX32: tl.constexpr"]
    params += (["BLOCK_R: tl.constexpr", "BLOCK_C: tl.constexpr"] if red
               else ["BLOCK: tl.constexpr"])
    block = "(BLOCK_R, BLOCK_C)" if red else "(BLOCK,)"

    ops_doc = "\n".join(f"        {line}" for line in group.describe())
    outs_doc = ", ".join(f"out{j} = t{i}" for j, i in enumerate(outs))
    if soft:
        what = ['    """Each program computes one row of n_cols (<= BLOCK) elements, at flat '
                'indices',
                "    i = row * n_cols + col, of:"]
        stores = [f"    then {'log_softmax' if soft['log'] else 'softmax'}(t{outs[0]}) over the "
                  "row (max, exp, sum in float32),", "    and stores it at i."]
        if soft.get("backward") is not None:
            y = f"in{soft['backward']}"
            stores = [f"    then, g = t{outs[0]} being the gradient of the "
                      f"{'log_softmax' if soft['log'] else 'softmax'} output y = {y}, stores",
                      "    the input gradient " + ("g - exp(y) * sum(g)" if soft["log"] else
                                                   "y * (g - sum(g * y))")
                      + " (sums over the row, float32) at i."]
        if soft_drop:
            stores += ["    Then stores its dropout at i of drop: kept when tl.rand(seed_drop, "
                       "offset_drop + i)", "    >= p (the library's dropout kernel's draw), "
                       "scaled by 1 / (1 - p)."]
    elif red:
        what = ['    """Each program computes BLOCK_C columns c of the n_rows x n_cols view of the',
                "    output, every row r (flat index i = (r // inner) * n_cols * inner + c * inner",
                "    + r % inner: c indexes the kept dims, inner is the size of the summed dims",
                "    after them, 1 for a sum over leading dims), BLOCK_R rows at a time, of:"]
        sums = [f"red[c] = the sum over r of t{red['index']}"] + [
            f"red{k}[c] of t{index}" for k, index in enumerate(extra, 1)]
        import textwrap
        parts = ([f"{outs_doc} at i"] if outs_doc else []) + sums
        stores = textwrap.wrap("and stores " + ", ".join(parts) + " (float32 sums).", 84,
                               initial_indent="    ", subsequent_indent="    ")
    else:
        what = ['    """Each program computes BLOCK consecutive flat output indices i of:']
        stores = [f"    and stores {outs_doc} at i."]
    lines = [
        '"""Fused elementwise kernel generated by framework.compiler.codegen (do not edit).',
        "",
        "Fused ops: " + ", ".join(ins.op for ins in group.instrs)
        + (", then a row " + ("log_softmax" if soft and soft["log"] else "softmax") if soft
           else "") + (", and a sum over rows" if red else "") + ".",
        '"""',
        *kernel_imports(),
        "@triton.jit(do_not_specialize=" + repr(tuple(
            ["size1", "size2", "size3", "size4", "size5"]
            + [f"st{k}_{d}" for k in range(n_in) for d in range(6)]
            + [f"ost{j}_{d}" for j in perm for d in range(6)]
            + [f"{name}{i}" for i in drops for name in ("seed", "offset")]
            + (["seed_drop", "offset_drop"] if soft_drop else []))) + ")",
        "def fused_kernel(" + ", ".join(params) + "):",
        *what,
        "",
        ops_doc,
        "",
        *stores,
        "    inK is input K (read at its strides stK_* when STRIDED, broadcast dims having",
        "    stride 0), sJ scalar argument J, tI a value kept in registers (float32 math;",
        "    half results rounded as the unfused kernels store them)." + (
            '"""' if not (drops or perm) else ""),
        *([f"    Outputs {', '.join(f'out{j}' for j in perm)} are stored transposed: element "
           "i at the strides ostJ_* of", "    outJ (the layout of permute(tI, dims)"
           ".contiguous())." + ('"""' if not drops else "")] if perm else []),
        *(["    A dropout tI keeps element i when tl.rand(seedI, offsetI + i) >= p, the draw",
           '    of the library\'s dropout kernel: the unfused mask."""'] if drops else []),
    ]
    for j in range(n_sc):
        lines.append(f"    s{j} = compute_scalar(s{j}, tl.float32)  # a float64 argument, "
                     "rounded once")
    if soft:
        lines += [
            "    row = tl.program_id(0).to(tl.int64)",
            "    col = tl.arange(0, BLOCK)",
            "    mask = col < n_cols  # BLOCK is n_cols rounded up to a power of 2",
            "    idx = row * n_cols + col",
        ]
    elif red:
        lines += [
            "    col = tl.program_id(0).to(tl.int64) * BLOCK_C + tl.arange(0, BLOCK_C)",
            "    acc = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)  # per-lane partial column sums",
            *[f"    acc{k} = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)"
              for k in range(1, len(extra) + 1)],
            "    for r0 in range(0, n_rows, BLOCK_R):",
            "        row = r0 + tl.arange(0, BLOCK_R).to(tl.int64)",
            "        idx = ((row[:, None] // inner) * n_cols * inner + col[None, :] * inner",
            "               + row[:, None] % inner)",
            "        # the last row block and column block are partial: lanes outside load,",
            "        # store and add nothing",
            "        mask = (row[:, None] < n_rows) & (col[None, :] < n_cols)",
        ]
    else:
        lines += [
            "    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
            "    mask = idx < n  # the last block is partial: lanes past n neither load nor store",
        ]
    body = _body(group, outs, used_as_value, block)
    if red:
        body.append(f"acc += tl.where(mask, t{red['index']}, 0.0)")
        body += [f"acc{k} += tl.where(mask, t{index}, 0.0)" for k, index in enumerate(extra, 1)]
        lines += ["        " + line for line in body]
        lines.append("    tl.store(red_ptr + col, tl.sum(acc, axis=0).to(red_ptr.dtype."
                     "element_ty), mask=col < n_cols)")
        lines += [f"    tl.store(red{k}_ptr + col, tl.sum(acc{k}, axis=0).to(red{k}_ptr.dtype."
                  "element_ty), mask=col < n_cols)" for k in range(1, len(extra) + 1)]
        return "\n".join(lines) + "\n"
    lines += ["    " + line for line in body]
    if soft and soft.get("backward") is not None:  # the library's softmax_backward_kernel
        lines += [
            f"    g = tl.where(mask, t{outs[0]}, 0.0)  # padding lanes take no part",
            f"    y = tl.where(mask, in{soft['backward']}.to(tl.float32), 0.0)",
            ("    dx = g - tl.exp(y) * tl.sum(g, axis=0)" if soft["log"] else
             "    dx = y * (g - tl.sum(g * y, axis=0))"),
            "    tl.store(out0_ptr + idx, dx.to(out0_ptr.dtype.element_ty), mask=mask)",
        ]
    elif soft:
        last = outs[0]
        lines += [
            f"    x = tl.where(mask, t{last}, float(\"-inf\"))  # padding lanes take no part",
            "    shifted = x - tl.max(x, axis=0)  # a row of -inf gives NaN, as unfused",
            "    e = tl.exp(shifted)",
            "    total = tl.sum(tl.where(mask, e, 0.0), axis=0)",
            ("    r = shifted - tl.log(total)" if soft["log"] else "    r = e / total"),
            "    tl.store(out0_ptr + idx, r.to(out0_ptr.dtype.element_ty), mask=mask)",
        ]
        if soft_drop:
            p, scale = soft_drop["p"], soft_drop["scale"]
            lines += [
                "    r = r.to(out0_ptr.dtype.element_ty).to(tl.float32)  # as stored above",
                f"    keep = tl.rand(seed_drop, (offset_drop + idx).to(tl.uint32)) >= s{p}",
                f"    dropped = tl.where(keep, r * s{scale}, 0.0)",
                "    tl.store(drop_ptr + idx, dropped.to(drop_ptr.dtype.element_ty), mask=mask)",
            ]
    return "\n".join(lines) + "\n"


def _body(group: FusedGroup, outs: list, used_as_value: set, block: str) -> list:
    """The per-element code (unindented lines): input offsets and loads, the ops, the stores
    of the outputs (none for a softmax group: its caller stores the softmax)."""
    n_in = len(group.inputs)
    lines = ["if STRIDED:",
             "    i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, "
             "INDEX32)"]
    for k in range(n_in):
        lines.append(f"    off{k} = offset6(i0, i1, i2, i3, i4, i5, "
                     + ", ".join(f"st{k}_{d}" for d in range(6)) + ")")
    for j in sorted(group.out_perm):
        lines.append(f"    ooff{j} = offset6(i0, i1, i2, i3, i4, i5, "
                     + ", ".join(f"ost{j}_{d}" for d in range(6)) + ")")
    lines.append("else:  # every input is contiguous with the output's shape")
    for k in range(n_in):
        lines.append(f"    off{k} = idx")
    for j in sorted(group.out_perm):  # (a transposed output makes the launch STRIDED)
        lines.append(f"    ooff{j} = idx")
    if not n_in and not group.out_perm:
        lines.append("    pass")
    for k in range(n_in):
        lines.append(f"in{k} = tl.load(in{k}_ptr + off{k}, mask=mask)  # masked lanes: not read")
        if k in used_as_value:
            lines.append(f"x{k} = in{k}.to(tl.float32)")
    scalar_values = sorted({k for ins in group.instrs
                            if ins.kind not in ("clamp", "softplus", "dropout")
                            for kind, k in ins.operands if kind == "scalar"})
    for j in scalar_values:  # scalars the ops read as blocks (clamp/softplus take them as is)
        lines.append(f"c{j} = tl.full({block}, s{j}, tl.float32)")

    def val(ref):
        kind, k = ref
        if kind == "in":
            return f"x{k}"
        if kind == "scalar":
            return f"c{k}"
        return f"t{k}" if group.instrs[k].dtype != "bool" else f"t{k}.to(tl.float32)"

    def cond(ref):
        kind, k = ref
        return f"(in{k} != 0)" if kind == "in" else f"(t{k} != 0)"

    for i, ins in enumerate(group.instrs):
        lines.append(f"# t{i} = {ins.text}")
        a = [val(r) for r in ins.operands]
        if ins.kind == "where":
            expr = f"tl.where({cond(ins.operands[0])}, {a[1]}, {a[2]})"
        elif ins.kind == "clamp":
            expr = f'_unary({a[0]}, s{ins.operands[1][1]}, s{ins.operands[2][1]}, "{ins.op}")'
        elif ins.kind == "softplus":
            expr = (f'_unary_activation({a[0]}, s{ins.operands[1][1]}, s{ins.operands[2][1]}, '
                    '"softplus")')
        elif ins.kind == "load":  # an input as it is
            expr = a[0]
        elif ins.kind == "dropout":  # the library's dropout_kernel, element i of the output
            p, scale = (f"s{r[1]}" for r in ins.operands[1:])
            lines.append(f"keep{i} = tl.rand(seed{i}, (offset{i} + idx).to(tl.uint32)) >= {p}")
            expr = f"tl.where(keep{i}, {a[0]} * {scale}, 0.0)"
        elif ins.kind == "unary" and ins.op in _ACTIVATIONS:
            expr = f'_unary_activation({a[0]}, 0.0, 0.0, "{ins.op}")'
        elif ins.kind == "unary":
            expr = f'_unary({a[0]}, 0.0, 0.0, "{ins.op}")'
        elif ins.op == "pow" and ins.operands[1][0] == "scalar" and \
                group.scalars[ins.operands[1][1]] == 0.5:
            expr = f'_unary({a[0]}, 0.0, 0.0, "sqrt")  # x ** 0.5: IEEE sqrt, as unfused'
        else:
            expr = f'_binary({a[0]}, {a[1]}, "{ins.op}")'
        lines.append(f"t{i} = {expr}")
        if ins.dtype in _HALF:
            lines.append(f"t{i} = t{i}.to({_HALF[ins.dtype]}).to(tl.float32)  "
                         f"# stored as {ins.dtype} when unfused")
    if group.softmax is None:
        for j, i in enumerate(outs):
            at = f"ooff{j}" if j in group.out_perm else "idx"
            lines.append(f"tl.store(out{j}_ptr + {at}, t{i}.to(out{j}_ptr.dtype.element_ty), "
                         "mask=mask)")
    return lines


def _permuted_strides(out, dims: tuple) -> tuple:
    """Strides reading contiguous ``out`` (= ``permute(v, dims)``) in ``v``'s dim order."""
    inverse = [0] * len(dims)
    for k, d in enumerate(dims):
        inverse[d] = k
    return tuple(out.strides[inverse[d]] for d in range(len(dims)))


def dropouts(group: FusedGroup) -> list:
    """Indices of the group's dropout instrs (each takes a seed and an offset argument)."""
    return [i for i, ins in enumerate(group.instrs) if ins.kind == "dropout"]


class FusedKernel:
    """A generated kernel, imported from its file; ``launch`` runs it for a group."""

    def __init__(self, path: Path, fn) -> None:
        self.path = path
        self.fn = fn

    def launch(self, group: FusedGroup, arrays: list) -> "list | None":
        """Fresh contiguous outputs computed by one launch; None when the inputs' layout
        needs more than 6 strided dims (the caller then runs the nodes unfused)."""
        from .. import dtypes
        from .._backends.triton.launch import (all_contiguous_same_shape, grid_1d,
                                                pack_strided, pointer)
        from .._backends.triton.memory import empty
        shape = group.shape
        outs = [empty(v.shape, getattr(dtypes, v.dtype)) for v, _ in group.outputs]
        perm_strides = [_permuted_strides(outs[j], group.out_perm[j])
                        for j in sorted(group.out_perm)]
        red = group.reduce
        if red is not None:  # the column sums: fresh arrays of the sum nodes' shapes
            for value in [red["value"]] + [v for _, v in red.get("extra", ())]:
                outs.append(empty(value.shape, getattr(dtypes, value.dtype)))
        if group.softmax is not None and "dropout" in group.softmax:  # the softmax's dropout
            value = group.softmax["dropout"]["node"].outputs[0]
            outs.append(empty(value.shape, getattr(dtypes, value.dtype)))
        n = 1
        for size in shape:
            n *= size
        if n == 0:
            if red is not None:  # an empty sum is 0
                from .._backends.triton.memory import full
                sums = [red["value"]] + [v for _, v in red.get("extra", ())]
                outs[len(outs) - len(sums):] = [
                    full(v.shape, 0.0, getattr(dtypes, v.dtype)) for v in sums]
            return outs
        if all_contiguous_same_shape(shape, *arrays) and not perm_strides:
            strided, sizes, strides = False, (1,) * 5, [(0,) * 6] * len(arrays)
        else:  # (transposed outputs' strides are packed with the inputs')
            try:
                sizes, strides = pack_strided(shape, *arrays, *perm_strides)
            except NotImplementedError:
                return None
            strided = True
        soft = group.softmax
        cols = shape[-1] if soft else n
        args = [pointer(o) for o in outs] + [pointer(a) for a in arrays]  # red_ptr: last out
        args += list(group.scalars)
        for i in dropouts(group):  # this call's draws (training._RandomSites sets them)
            node_args = group.instrs[i].node.args
            args += [node_args["seed"] & 0x7FFFFFFF, node_args["offset"]]
        soft_drop = group.softmax.get("dropout") if group.softmax else None
        if soft_drop:
            node_args = soft_drop["node"].args
            args += [node_args["seed"] & 0x7FFFFFFF, node_args["offset"]]
        args += ([red["rows"], red["cols"], red["inner"]] if red else [cols]) + list(sizes)
        for st in strides:
            args += list(st)
        import numpy as np
        if soft:  # one program per row, the row in one block
            import triton
            block = triton.next_power_of_2(cols)
            grid, warps = (n // cols,), (4 if block <= 1024 else 8)
        else:
            block, grid, warps = BLOCK, grid_1d(n, BLOCK), NUM_WARPS
        with np.errstate(all="ignore"):
            if red is not None:  # one program per block of columns, looping over the rows
                import triton
                block_c = min(triton.next_power_of_2(red["cols"]), 64)
                block_r = max(1, BLOCK // block_c)
                self.fn[(triton.cdiv(red["cols"], block_c),)](
                    *args, STRIDED=strided, INDEX32=n < _INT32_LIMIT, BLOCK_R=block_r,
                    BLOCK_C=block_c, num_warps=4)
            else:
                self.fn[grid](*args, STRIDED=strided, INDEX32=n < _INT32_LIMIT, BLOCK=block,
                              num_warps=warps)
        return outs


def load(group: FusedGroup) -> FusedKernel:
    """The kernel for ``group``: written to the cache dir unless there, imported once."""
    return load_text(source(group))


def load_text(text: str) -> FusedKernel:
    """The kernel ``fused_kernel`` of generated source ``text`` (a ``FusedGroup``'s, or a
    ``norms.NormGroup``'s): written to the cache dir unless there, imported once."""
    from .._backends.triton import runtime
    runtime.kernels()  # fixes the interpreter mode before any @triton.jit runs
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    directory = generated_dir()
    path = directory / f"fused_{digest}.py"
    with _LOCK:
        kernel = _LOADED.get(str(path))
        if kernel is not None:
            return kernel
        directory.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)  # atomic: another process may be writing the same file
        spec = importlib.util.spec_from_file_location(f"framework_fused_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        kernel = _LOADED[str(path)] = FusedKernel(path, module.fused_kernel)
        return kernel


def path_of(group) -> Path:
    """The file ``group``'s kernel is (or will be) written to (a ``FusedGroup`` or a
    ``norms.NormGroup``)."""
    from .norms import NormGroup, norm_source
    text = norm_source(group) if isinstance(group, NormGroup) else source(group)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return generated_dir() / f"fused_{digest}.py"
