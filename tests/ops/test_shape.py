"""Views and shape ops against PyTorch: values, gradients, view semantics, errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check_op

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape)


VIEW_CASES = [
    ("reshape", lambda x: x.reshape(3, 8), (2, 3, 4)),
    ("reshape_infer", lambda x: x.reshape(-1, 2), (2, 3, 4)),
    ("view", lambda x: x.view(6, 4), (2, 3, 4)),
    ("permute", lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    ("transpose", lambda x: x.transpose(0, -1), (2, 3, 4)),
    ("T", lambda x: x.T, (3, 4)),
    ("mT", lambda x: x.mT, (2, 3, 4)),
    ("expand", lambda x: x.expand(2, 3, 4), (3, 1)),
    ("expand_keep", lambda x: x.expand(-1, 4), (3, 1)),
    ("squeeze_all", lambda x: x.squeeze(), (1, 3, 1, 2)),
    ("squeeze_dim", lambda x: x.squeeze(2), (1, 3, 1, 2)),
    ("unsqueeze", lambda x: x.unsqueeze(-1), (3, 2)),
    ("flatten", lambda x: x.flatten(1), (2, 3, 4)),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), (3, 4)),
    ("narrow", lambda x: x.narrow(1, 1, 2), (3, 4)),
    ("select", lambda x: x.select(0, -1), (3, 4)),
    ("index_int_slice", lambda x: x[1, 1:3], (3, 4)),
    ("index_step", lambda x: x[::2, 1::3], (5, 7)),
    ("index_none_ellipsis", lambda x: x[None, ..., 0], (2, 3, 4)),
    ("index_negative", lambda x: x[-1, -3:], (3, 4)),
    ("index_empty_slice", lambda x: x[2:1], (3, 4)),
    ("movedim", lambda x: x.movedim(0, -1), (2, 3, 4)),
    ("contiguous", lambda x: x.contiguous(), (3, 4)),
    ("broadcast_to", lambda x: x.broadcast_to((2, 3, 4)), (4,)),
    ("zero_size", lambda x: x.reshape(0, 4).T, (4, 0)),
    ("scalar_reshape", lambda x: x.reshape(1, 1), ()),
]


@pytest.mark.parametrize("name,fn,shape", VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_view_ops_match_torch(device, name, fn, shape):
    check_op(fn, fn, [arr(*shape)], device=device)


@pytest.mark.parametrize("name,fn,shape", VIEW_CASES[:8], ids=[c[0] for c in VIEW_CASES[:8]])
def test_view_ops_on_noncontiguous_input(device, name, fn, shape):
    if name == "view":
        fn = lambda x: x.reshape(6, 4)  # noqa: E731 - a transposed input can't always be viewed
    check_op(fn, fn, [arr(*shape)], device=device, contiguous=False)


def test_view_ops_in_float64_and_half(device):
    fn = lambda x: x.permute(1, 0)[1:, ::2].reshape(-1)  # noqa: E731
    check_op(fn, fn, [arr(3, 4)], device=device, dtype=framework.float64)
    check_op(fn, fn, [arr(3, 4)], device=device, dtype=framework.float16)


def test_views_share_storage_and_see_writes(device):
    x = framework.zeros(3, 4, device=device)
    v = x[1]
    v.fill_(2.0)
    t = x.T
    t[0, 2] = 7.0
    assert x.tolist()[1] == [2.0, 2.0, 2.0, 2.0]
    assert x.tolist()[2] == [7.0, 0.0, 0.0, 0.0]
    assert x.reshape(12)._a.storage is x._a.storage
    assert x.permute(1, 0).stride() == (1, 4)
    assert x[:, 1:3].storage_offset() == 1


def test_view_raises_on_incompatible_strides(device):
    x = framework.zeros(3, 4, device=device).T
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(12)
    assert x.reshape(12).is_contiguous()


def test_reshape_copies_only_when_needed(device):
    x = framework.arange(12, device=device).reshape(3, 4)
    assert x.reshape(4, 3)._a.storage is x._a.storage
    assert x.T.reshape(12)._a.storage is not x._a.storage
    assert x.T.reshape(12).tolist() == torch.arange(12).reshape(3, 4).T.reshape(12).tolist()


JOIN_CASES = [
    ("cat0", lambda a, b: framework.cat([a, b]), lambda a, b: torch.cat([a, b]), (2, 3), (4, 3)),
    ("cat1", lambda a, b: framework.cat([a, b], dim=-1), lambda a, b: torch.cat([a, b], dim=-1), (2, 3), (2, 1)),
    ("stack", lambda a, b: framework.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1), (2, 3), (2, 3)),
    ("split", lambda a, b: a.split(2, 1), lambda a, b: a.split(2, 1), (2, 5), (1,)),
    ("split_sizes", lambda a, b: a.split([1, 4], 1), lambda a, b: a.split([1, 4], 1), (2, 5), (1,)),
    ("chunk", lambda a, b: a.chunk(3, 0), lambda a, b: a.chunk(3, 0), (7, 2), (1,)),
    ("unbind", lambda a, b: a.unbind(1), lambda a, b: a.unbind(1), (2, 3), (1,)),
    ("cat_empty", lambda a, b: framework.cat([a, b]), lambda a, b: torch.cat([a, b]), (0, 3), (2, 3)),
]


@pytest.mark.parametrize("name,fw,th,sa,sb", JOIN_CASES, ids=[c[0] for c in JOIN_CASES])
def test_join_and_split_match_torch(device, name, fw, th, sa, sb):
    check_op(fw, th, [arr(*sa), arr(*sb)], device=device)


def test_cat_noncontiguous_and_promotes(device):
    check_op(lambda a, b: framework.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
             [arr(3, 2), arr(3, 4)], device=device, contiguous=False)
    a = framework.ones(2, dtype=framework.int64, device=device)
    b = framework.ones(2, dtype=framework.float32, device=device)
    assert framework.cat([a, b]).dtype == framework.float32


def test_setitem_writes_and_differentiates(device):
    def fw(x, v):
        y = x * 1.0
        y[1:, ::2] = v
        return y

    def th(x, v):
        y = x * 1.0
        y[1:, ::2] = v
        return y

    check_op(fw, th, [arr(3, 4), arr(2)], device=device)


def test_shape_errors_name_the_op(device):
    x = framework.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match="reshape"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match="expand"):
        x.expand(3, 3)
    with pytest.raises(IndexError, match="permute"):
        x.permute(0, 2)
    with pytest.raises(RuntimeError, match="cat"):
        framework.cat([x, framework.zeros(3, 2, device=device)])
    with pytest.raises(RuntimeError, match="stack"):
        framework.stack([x, framework.zeros(3, 2, device=device)])
    with pytest.raises(IndexError, match="out of bounds"):
        x[2]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(TypeError, match="cat"):
        framework.cat([x, 1.0])
    with pytest.raises(RuntimeError, match="split"):
        x.split([1, 1], 1)


def test_cat_rejects_mixed_devices():
    a = framework.zeros(2)
    b = framework.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="same device"):
        framework.cat([a, b])


def test_hstack_vstack_and_broadcast_tensors_match_torch(device):
    check_op(lambda a, b: framework.hstack([a, b]), lambda a, b: torch.hstack([a, b]),
             [arr(2, 3), arr(2, 1)], device=device)
    check_op(lambda a, b: framework.vstack([a, b]), lambda a, b: torch.vstack([a, b]),
             [arr(3), arr(2, 3)], device=device)
    check_op(lambda a, b: framework.broadcast_tensors(a, b), lambda a, b: torch.broadcast_tensors(a, b),
             [arr(3, 1), arr(4)], device=device)
    assert framework.broadcast_shapes((3, 1), (4,)) == (3, 4)
    with pytest.raises(RuntimeError, match="broadcast_shapes"):
        framework.broadcast_shapes((3,), (4,))


def test_keyword_forms_and_edge_cases_match_torch(device):
    x = framework.arange(24, device=device).reshape(2, 3, 4)
    assert x.view(size=(6, 4)).shape == (6, 4)
    assert x.reshape(shape=(4, 6)).shape == (4, 6)
    assert x.permute(dims=(2, 0, 1)).stride() == (1, 12, 4)
    assert framework.ones(3, device=device).expand(size=(2, 3)).stride() == (0, 1)
    assert [p.shape for p in x.split(split_size=2, dim=2)] == [(2, 3, 2), (2, 3, 2)]
    assert x.mT.shape == x.mH.shape == (2, 4, 3)
    assert [p.shape for p in framework.zeros(0, 4, device=device).chunk(2)] == [(0, 4), (0, 4)]
    pair = framework.hstack([framework.tensor(1.0, device=device), framework.tensor(2.0, device=device)])
    assert pair.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="tuple of Tensors"):
        framework.cat(framework.ones(2, 3, device=device))
    with pytest.raises(RuntimeError, match="ambiguous"):
        framework.zeros(2, 0, device=device).reshape(0, -1)


# --- diagonals, meshgrid, diff, type_as --------------------------------------------------------
@pytest.mark.parametrize("offset,dim1,dim2", [(0, 0, 1), (1, 0, 1), (-2, 1, 0), (1, -1, 0)])
def test_diagonal_is_a_view_matching_torch(device, offset, dim1, dim2):
    x = RNG.standard_normal((3, 4, 5))
    out = check_op(lambda t: framework.diagonal(t, offset, dim1, dim2),
                   lambda t: torch.diagonal(t, offset, dim1, dim2), [x], device=device,
                   contiguous=False)[0]
    assert out._base is not None


@pytest.mark.parametrize("shape,k", [((4,), 0), ((3,), 2), ((3,), -1), ((3, 4), 1), ((4, 3), -2)])
def test_diag_embeds_vectors_and_extracts_from_matrices(device, shape, k):
    check_op(lambda t: framework.diag(t, k), lambda t: torch.diag(t, k),
             [RNG.standard_normal(shape)], device=device)


def test_diag_embed_and_trace_match_torch(device):
    check_op(lambda t: framework.diag_embed(t, 1), lambda t: torch.diag_embed(t, 1),
             [RNG.standard_normal((2, 3))], device=device)
    check_op(framework.trace, torch.trace, [RNG.standard_normal((3, 4))], device=device)


def test_diagonal_second_derivative():
    from framework.autograd import gradgradcheck
    x = framework.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    assert gradgradcheck(lambda t: framework.diagonal(t, 1) ** 2, (x,))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(device, indexing):
    check_op(lambda a, b, c: framework.meshgrid(a, b, c, indexing=indexing),
             lambda a, b, c: torch.meshgrid(a, b, c, indexing=indexing),
             [RNG.standard_normal(3), RNG.standard_normal(2), RNG.standard_normal(4)],
             device=device)


@pytest.mark.parametrize("n,dim", [(1, -1), (2, 0), (3, 1)])
def test_diff_matches_torch(device, n, dim):
    check_op(lambda t: framework.diff(t, n, dim), lambda t: torch.diff(t, n, dim),
             [RNG.standard_normal((4, 5))], device=device)
    check_op(lambda t, p: framework.diff(t, dim=0, prepend=p),
             lambda t, p: torch.diff(t, dim=0, prepend=p),
             [RNG.standard_normal((4, 5)), RNG.standard_normal((2, 5))], device=device)


def test_type_as_casts_to_the_other_dtype():
    x = framework.ones(2)
    assert x.type_as(framework.zeros(1, dtype=framework.float64)).dtype is framework.float64


def test_diagonal_meshgrid_diff_bad_input():
    with pytest.raises(RuntimeError, match="cannot be identical"):
        framework.diagonal(framework.ones(2, 2), 0, 1, 1)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        framework.diagonal(framework.ones(2))
    with pytest.raises(RuntimeError, match="Supports 1D or 2D"):
        framework.diag(framework.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        framework.trace(framework.ones(2))
    with pytest.raises(RuntimeError, match="indexing must be one of"):
        framework.meshgrid(framework.ones(2), indexing="ji")
    with pytest.raises(RuntimeError, match="non-negative"):
        framework.diff(framework.ones(3), n=-1)


# --- cartesian_prod, combinations -----------------------------------------------------------------
def _same(got, want):
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())


def test_cartesian_prod_matches_torch(device):
    check_op(lambda a, b, c: framework.cartesian_prod(a, b, c),
             lambda a, b, c: torch.cartesian_prod(a, b, c),
             [RNG.standard_normal(3), RNG.standard_normal(2), RNG.standard_normal(2)],
             device=device, dtype=framework.float64)
    check_op(framework.cartesian_prod, torch.cartesian_prod, [RNG.standard_normal(3)],
             device=device, dtype=framework.float64)
    ints = [np.array([1, 2]), np.array([], dtype=np.int64)]
    _same(framework.cartesian_prod(*[framework.tensor(a, device=device) for a in ints]),
          torch.cartesian_prod(*[torch.tensor(a) for a in ints]))


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_matches_torch(device, r, with_replacement):
    check_op(lambda a: framework.combinations(a, r, with_replacement),
             lambda a: torch.combinations(a, r, with_replacement),
             [RNG.standard_normal(4)], device=device, dtype=framework.float64,
             grad=r > 0)
    _same(framework.combinations(framework.tensor([], dtype=framework.int64, device=device), r,
                                 with_replacement),
          torch.combinations(torch.tensor([], dtype=torch.int64), r, with_replacement))


def test_cartesian_prod_combinations_bad_input(device):
    matrix = framework.ones(2, 2, device=device)
    vector = framework.ones(2, device=device)
    for call in (lambda: framework.cartesian_prod(matrix),
                 lambda: framework.cartesian_prod(vector, matrix),
                 lambda: framework.combinations(matrix)):
        with pytest.raises(RuntimeError, match=r"Expect a 1D vector, but got shape \[2, 2\]"):
            call()
    with pytest.raises(RuntimeError, match="meshgrid expects a non-empty TensorList"):
        framework.cartesian_prod()
    with pytest.raises(RuntimeError, match="meshgrid expects all tensors to have the same dtype"):
        framework.cartesian_prod(vector, framework.ones(2, dtype=framework.int64, device=device))
    with pytest.raises(RuntimeError, match="Expect a non-negative number, but got -1"):
        framework.combinations(vector, r=-1)
    with pytest.raises(TypeError):
        framework.combinations(vector, r=1.5)
    with pytest.raises(TypeError):
        framework.combinations([1, 2])


@pytest.mark.parametrize("spec, dim", [(3, 1), (4, 0), ([1, 3], 1), ((0, 2, 2, 9), 1), (7, -1)])
def test_tensor_split(device, spec, dim):
    """``tensor_split``: n nearly equal parts (the first size % n one longer) or cuts at
    indices (clamped to the size; empty parts allowed); views with gradients as torch."""
    x = RNG.standard_normal((5, 6))
    check_op(lambda a: framework.tensor_split(a, spec, dim), lambda a: torch.tensor_split(a, spec, dim),
             [x], device=device)
    check_op(lambda a: a.tensor_split(spec, dim=dim), lambda a: a.tensor_split(spec, dim=dim),
             [x], device=device)
    with pytest.raises(RuntimeError, match="tensor_split"):
        framework.tensor_split(framework.ones(3, device=device), 0)


def test_diff_of_bool_tensors_is_the_exclusive_or_of_neighbours(device):
    """PyTorch's diff of bools (which do not subtract): True where neighbours differ."""
    values = np.array([[True, False, False, True], [False, False, True, True]])
    for kwargs in ({}, {"n": 2}, {"dim": 0}):
        ours = framework.diff(framework.tensor(values, device=device), **kwargs)
        theirs = torch.diff(torch.tensor(values), **kwargs)
        assert ours.dtype is framework.bool
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    ours = framework.diff(framework.tensor(values[0], device=device),
                          prepend=framework.tensor([True], device=device))
    np.testing.assert_array_equal(ours.cpu().numpy(), [False, True, False, True])


@pytest.mark.parametrize("name", ["cat", "stack", "hstack", "vstack", "dstack", "row_stack",
                                  "column_stack"])
def test_joining_functions_refuse_a_bare_tensor_like_torch(name):
    """A tensor where a sequence of tensors belongs is a TypeError in torch (iterating its
    rows would hide the mistake): the same here, naming the function."""
    with pytest.raises(TypeError):
        getattr(torch, name)(torch.ones(2, 3))
    with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'tensors'"):
        getattr(framework, name)(framework.ones(2, 3))
