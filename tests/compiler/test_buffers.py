"""Buffer passes: zero-padded gradient buffers merged, repeated contiguous copies dropped."""
from __future__ import annotations

import numpy as np
import pytest
from compiler_models import on

import framework
from framework.compiler import buffers
from framework.compiler.ir import DType, Graph, Node
from framework.compiler.runtime import GraphModule

F32 = DType("float32")


def _zero_padded_sum(regions, n=6, device="cpu"):
    """``sum_k pad(x_k)``: per region (start, end) a zero buffer of n, x_k copied into its
    slice, the buffers added in order (the backward of ``split``)."""
    g = Graph()
    xs = [g.new_value((end - start,), "float32", device, f"input{k}")
          for k, (start, end) in enumerate(regions)]
    g.inputs, g.user_inputs = list(xs), len(xs)
    total = None
    for (start, end), x in zip(regions, xs):
        buf = g.new_value((n,), "float32", device)
        part = g.new_value((end - start,), "float32", device)
        g.nodes += [Node("full", {"shape": (n,), "value": 0, "dtype": F32}, [buf], device),
                    Node("slice", {"input": buf, "dim": 0, "start": start, "end": end,
                                   "step": 1}, [part], device),
                    Node("copy_", {"dst": part, "src": x}, [None], device)]
        if total is None:
            total = buf
        else:
            out = g.new_value((n,), "float32", device)
            g.nodes.append(Node("add", {"a": total, "b": buf, "compute_dtype": F32,
                                        "out_dtype": F32}, [out], device))
            total = out
    g.output = total
    return g


def _expected(regions, xs, n=6):
    want = np.zeros(n, np.float32)
    for (start, end), x in zip(regions, xs):
        want[start:end] += x.numpy()
    return want


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_zero_padded_pieces_become_one_buffer(device):
    regions = [(4, 6), (2, 4), (0, 2)]  # the in_proj q, k, v gradients, last piece first
    g = _zero_padded_sum(regions, device="cuda:0" if device == "cuda" else device)
    assert buffers.merge_zero_buffers(g) == 5  # two adds, two fills; the last fill: empty
    ops = [n.op for n in g.nodes]
    assert ops.count("add") == 0 and ops.count("full") == 0 and ops.count("empty") == 1
    assert ops.count("copy_") == 3
    xs = [framework.randn(end - start, device=device) for start, end in regions]
    got = GraphModule(g, {}, None)(*xs)
    np.testing.assert_array_equal(got.cpu().numpy(), _expected(regions, [x.cpu() for x in xs]))


def test_partly_covered_buffer_keeps_its_fill():
    regions = [(0, 2), (4, 5)]
    g = _zero_padded_sum(regions)
    assert buffers.merge_zero_buffers(g) == 2
    assert [n.op for n in g.nodes].count("full") == 1
    xs = [framework.randn(2), framework.randn(1)]
    np.testing.assert_array_equal(GraphModule(g, {}, None)(*xs).numpy(),
                                  _expected(regions, xs))


def test_overlapping_regions_are_added():
    regions = [(0, 4), (2, 6)]
    g = _zero_padded_sum(regions)
    assert buffers.merge_zero_buffers(g) == 0
    xs = [framework.randn(4), framework.randn(4)]
    np.testing.assert_allclose(GraphModule(g, {}, None)(*xs).numpy(), _expected(regions, xs))


def test_a_buffer_read_before_its_last_write_is_left_alone():
    """full; copy_ into [0:2]; exp(full); copy_ into [2:6]: the exp sees the zeros."""
    g = Graph()
    x, y = g.new_value((2,), "float32", "cpu", "input0"), g.new_value((4,), "float32", "cpu",
                                                                         "input1")
    g.inputs, g.user_inputs = [x, y], 2
    buf, a, b, e = (g.new_value(s, "float32", "cpu") for s in ((6,), (2,), (4,), (6,)))
    g.nodes = [Node("full", {"shape": (6,), "value": 0, "dtype": F32}, [buf]),
               Node("slice", {"input": buf, "dim": 0, "start": 0, "end": 2, "step": 1}, [a]),
               Node("copy_", {"dst": a, "src": x}, [None]),
               Node("exp", {"x": buf, "out_dtype": F32}, [e]),
               Node("slice", {"input": buf, "dim": 0, "start": 2, "end": 6, "step": 1}, [b]),
               Node("copy_", {"dst": b, "src": y}, [None])]
    g.output = (e, buf)
    assert buffers.merge_zero_buffers(g) == 0
    assert g.nodes[0].op == "full"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_attention_in_proj_gradients_need_no_fill_and_no_add(device):
    """EncoderBlock's in_proj weight and bias gradients: three copies each into an empty
    buffer; the compiled gradients equal eager's."""
    eager, (x,) = on(device, "encoder_block")
    twin, _ = on(device, "encoder_block")
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin.train())
    weight = framework.randn(*x.shape, device=device)
    (eager.train()(x) * weight).sum().backward()
    (compiled(x) * weight).sum().backward()
    entry = next(iter(compiled._compiled.cache.values()))
    nodes = entry.backward_graph.nodes
    assert "full" not in [n.op for n in nodes]
    assert not [n for n in nodes if n.op == "add" and n.outputs[0].shape in ((24,), (24, 8))]
    assert entry.optimize_stats["backward"]["zero_buffers"] == 10
    # q, k, v gradients written side by side: one matmul and one sum for the packed grads
    assert entry.optimize_stats["backward"]["concatenations"] == 2
    for (name, p), q in zip(eager.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.cpu().numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def _contiguous_twice(internal: bool):
    """Two ``empty`` + ``copy_`` of the same transposed input, each read by an exp; the second
    buffer is also returned (as a saved value when ``internal``)."""
    g = Graph()
    x = g.new_value((2, 3), "float32", "cpu", "input0")
    g.inputs, g.user_inputs = [x], 1
    t = g.new_value((3, 2), "float32", "cpu")
    g.nodes = [Node("permute", {"input": x, "dims": (1, 0)}, [t])]
    outs = []
    for _ in range(2):
        buf, e = g.new_value((3, 2), "float32", "cpu"), g.new_value((3, 2), "float32", "cpu")
        g.nodes += [Node("empty", {"shape": (3, 2), "dtype": F32}, [buf]),
                    Node("copy_", {"dst": buf, "src": t}, [None]),
                    Node("exp", {"x": buf, "out_dtype": F32}, [e])]
        outs += [e, buf]
    g.output = ((outs[0], outs[2]), (outs[3],))
    if internal:
        g.internal_outputs = [outs[3]]
    return g


def test_a_repeated_contiguous_copy_reads_the_first_buffer():
    g = _contiguous_twice(internal=True)
    assert buffers.dedupe_copies(g) == 2
    assert [n.op for n in g.nodes].count("copy_") == 1
    x = framework.randn(2, 3)
    (e1, e2), (saved,) = GraphModule(g, {}, None)(x)
    np.testing.assert_array_equal(e1.numpy(), np.exp(x.numpy().T))
    np.testing.assert_array_equal(e2.numpy(), e1.numpy())
    np.testing.assert_array_equal(saved.numpy(), x.numpy().T)


def test_a_copy_the_caller_sees_is_kept():
    """Returned to the caller, the second buffer must not alias the first."""
    g = _contiguous_twice(internal=False)
    assert buffers.dedupe_copies(g) == 0


def test_a_copy_after_a_write_to_its_source_is_kept():
    g = Graph()
    x, y = (g.new_value((3,), "float32", "cpu", f"input{k}") for k in range(2))
    g.inputs, g.user_inputs = [x, y], 2
    src, b1, b2 = (g.new_value((3,), "float32", "cpu") for _ in range(3))
    g.nodes = [Node("exp", {"x": x, "out_dtype": F32}, [src]),
               Node("empty", {"shape": (3,), "dtype": F32}, [b1]),
               Node("copy_", {"dst": b1, "src": src}, [None]),
               Node("copy_", {"dst": src, "src": y}, [None]),
               Node("empty", {"shape": (3,), "dtype": F32}, [b2]),
               Node("copy_", {"dst": b2, "src": src}, [None])]
    g.output = (b1, b2)
    assert buffers.dedupe_copies(g) == 0


def test_plan_keeps_constants_and_cse_merges_equal_ones():
    """Two folded causal masks merge; the folded constant is made once per plan, a
    returned or written constant every call."""
    from framework.compiler import passes
    from framework.compiler.launches import count_launches

    def fn(x):
        n = x.shape[-1]
        mask = framework.ones(n, n).triu(1) * -1e9
        again = framework.ones(n, n).triu(1) * -1e9
        return (x + mask).exp() + (x + again), framework.zeros(n)

    x = framework.randn(4, 4)
    traced = framework.jit.trace(fn, (x,))
    passes.run_passes(traced.graph)
    ops = [n.op for n in traced.graph.nodes]
    assert ops.count("from_numpy") == 1 and ops.count("full") == 1  # zeros(n) is returned
    for _ in range(2):
        with count_launches() as n:
            got, zeros = traced(x)
        np.testing.assert_allclose(got.numpy(), fn(x)[0].numpy(), rtol=1e-6)
    assert n.by_op["from_numpy"] == 0 and n.by_op["full"] == 1
    zeros.add_(1.0)  # the caller's array is its own
    assert traced(x)[1].numpy().tolist() == [0.0] * 4


def _packed_gradients(device="cpu", cover=True):
    """The backward of a packed projection: per block k, T_k = contiguous copy of an input
    (5, 3)^T-read strided; C_w[3k:3k+3] = T_k^T @ Y, C_b[3k:3k+3] = T_k.sum(0)."""
    g = Graph()
    srcs = [g.new_value((3, 5), "float32", device, f"input{k}") for k in range(2)]
    y = g.new_value((5, 4), "float32", device, "input2")
    g.inputs, g.user_inputs = srcs + [y], 3
    y3 = g.new_value((1, 5, 4), "float32", device)
    g.nodes = [Node("reshape", {"input": y, "shape": (1, 5, 4)}, [y3], device)]
    cw, cb = g.new_value((6, 4), "float32", device), g.new_value((6,), "float32", device)
    g.nodes += [Node("empty", {"shape": (6, 4), "dtype": F32}, [cw], device),
                Node("empty", {"shape": (6,), "dtype": F32}, [cb], device)]
    blocks = []
    for k, src in enumerate(srcs if cover else srcs[:1]):
        tr, t = g.new_value((5, 3), "float32", device), g.new_value((5, 3), "float32", device)
        tt, tt3 = g.new_value((3, 5), "float32", device), g.new_value((1, 3, 5), "float32", device)
        w3, w = g.new_value((1, 3, 4), "float32", device), g.new_value((3, 4), "float32", device)
        b = g.new_value((3,), "float32", device)
        dw, db = g.new_value((3, 4), "float32", device), g.new_value((3,), "float32", device)
        g.nodes += [
            Node("permute", {"input": src, "dims": (1, 0)}, [tr], device),
            Node("empty", {"shape": (5, 3), "dtype": F32}, [t], device),
            Node("copy_", {"dst": t, "src": tr}, [None], device),
            Node("permute", {"input": t, "dims": (1, 0)}, [tt], device),
            Node("reshape", {"input": tt, "shape": (1, 3, 5)}, [tt3], device),
            Node("matmul", {"a": tt3, "b": y3}, [w3], device),
            Node("reshape", {"input": w3, "shape": (3, 4)}, [w], device),
            Node("slice", {"input": cw, "dim": 0, "start": 3 * k, "end": 3 * k + 3, "step": 1},
                 [dw], device),
            Node("copy_", {"dst": dw, "src": w}, [None], device),
            Node("sum", {"x": t, "dims": (0,), "out_dtype": F32}, [b], device),
            Node("slice", {"input": cb, "dim": 0, "start": 3 * k, "end": 3 * k + 3, "step": 1},
                 [db], device),
            Node("copy_", {"dst": db, "src": b}, [None], device)]
        blocks.append(t)
    e = g.new_value((5, 3), "float32", device)
    g.nodes.append(Node("exp", {"x": blocks[0], "out_dtype": F32}, [e], device))
    g.output = (cw, cb, e)
    return g


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_concatenated_weight_and_bias_pieces_become_one_matmul_and_one_sum(device):
    g = _packed_gradients("cuda:0" if device == "cuda" else "cpu")
    assert buffers.merge_concatenated_pieces(g) == 2
    ops = [n.op for n in g.nodes]
    assert ops.count("matmul") == 1 and ops.count("sum") == 1 and ops.count("copy_") == 2
    xs = [framework.randn(3, 5, device=device) for _ in range(2)] + [
        framework.randn(5, 4, device=device)]
    cw, cb, t0 = GraphModule(g, {}, None)(*xs)
    a = np.concatenate([x.cpu().numpy() for x in xs[:2]])  # (6, 5): the blocks' T_k^T
    np.testing.assert_allclose(cw.cpu().numpy(), a @ xs[2].cpu().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cb.cpu().numpy(), a.sum(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t0.cpu().numpy(), np.exp(xs[0].cpu().numpy().T),  # strided block
                               rtol=1e-6)


def test_pieces_that_do_not_cover_the_buffer_stay():
    g = _packed_gradients(cover=False)
    assert buffers.merge_concatenated_pieces(g) == 0


def test_common_split():
    assert buffers._common_split((16, 128, 16), (512, 64)) == (16, 32, 4, 16)
    assert buffers._common_split((512, 64), (16, 32, 64)) == (16, 32, 64)
    assert buffers._common_split((4, 6), (6, 4)) is None
