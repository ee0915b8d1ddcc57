"""Packed sequences (``nn.utils.rnn``) and RNN/LSTM/GRU on packed input against PyTorch.

Pack/pad round trips and their gradients in float64; the recurrent modules through
``nn_oracle.check_module`` (torch's weights copied in; outputs, h_n/c_n and the gradients
of the input, of hx and of every weight), in float64 on cpu and in float32 on both devices
(cuda: Triton interpreter; tiny shapes: 3 sequences of lengths 4, 2, 3, hidden 3).
"""
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as torch_rnn
from helpers import assert_close
from nn_oracle import check_module, sync

import framework
from framework import nn
from framework.nn.utils import rnn

LENGTHS = [4, 2, 3]


def _tensor(a, device="cpu", dtype=framework.float64, requires_grad=False):
    return framework.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad)


def _values(t):
    return None if t is None else t.detach().cpu().numpy()


def _assert_same_packing(ours, theirs):
    """Same data, batch sizes and indices; batch_sizes a cpu int64 tensor."""
    assert isinstance(ours, rnn.PackedSequence) and isinstance(ours, tuple)
    np.testing.assert_array_equal(_values(ours.data), _values(theirs.data))
    assert ours.batch_sizes.device.type == "cpu" and ours.batch_sizes.dtype == framework.int64
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for mine, ref in ((ours.sorted_indices, theirs.sorted_indices),
                      (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (mine is None) == (ref is None)
        if mine is not None:
            assert mine.device == ours.data.device and mine.dtype == framework.int64
            assert mine.tolist() == ref.tolist()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_pad_round_trip_and_gradient_match_torch(batch_first, enforce_sorted, device):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 2) if batch_first else (5, 3, 2))
    ours_x = _tensor(x, device, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=True)
    ours = rnn.pack_padded_sequence(ours_x, lengths, batch_first, enforce_sorted)
    theirs = torch_rnn.pack_padded_sequence(torch_x, lengths, batch_first, enforce_sorted)
    _assert_same_packing(ours, theirs)
    for total_length in (None, 6):
        padded, out_lengths = rnn.pad_packed_sequence(ours, batch_first, -1.5, total_length)
        want, want_lengths = torch_rnn.pad_packed_sequence(theirs, batch_first, -1.5,
                                                           total_length)
        assert padded.device == framework.device(device)
        np.testing.assert_array_equal(_values(padded), want.detach().numpy())
        assert out_lengths.device.type == "cpu" and out_lengths.dtype == framework.int64
        assert out_lengths.tolist() == want_lengths.tolist() == lengths
    weights = rng.standard_normal(tuple(want.shape))
    (padded * _tensor(weights, device)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    assert_close(ours_x.grad, torch_x.grad, 1e-12, 1e-12, "gradient of the padded input")


@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_sequence_and_unpack_sequence_match_torch(enforce_sorted):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    arrays = [np.random.default_rng(i).standard_normal((n, 2)) for i, n in enumerate(lengths)]
    ours_in = [_tensor(a, requires_grad=True) for a in arrays]
    torch_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = rnn.pack_sequence(ours_in, enforce_sorted)
    theirs = torch_rnn.pack_sequence(torch_in, enforce_sorted)
    _assert_same_packing(ours, theirs)
    assert repr(rnn.pack_sequence([framework.tensor([1, 2, 3]), framework.tensor([4, 5])])) == \
        repr(torch_rnn.pack_sequence([torch.tensor([1, 2, 3]), torch.tensor([4, 5])]))
    back = rnn.unpack_sequence(ours)
    assert [tuple(b.shape) for b in back] == [(n, 2) for n in lengths]
    for b, a in zip(back, arrays):
        np.testing.assert_array_equal(_values(b), a)
    (ours.data * ours.data).sum().backward()
    for t, a in zip(ours_in, arrays):
        np.testing.assert_array_equal(_values(t.grad), 2 * a)


def test_lengths_as_cpu_tensor_and_integer_data():
    x = framework.arange(12).reshape(4, 3)  # (T, B), no feature dims, int64
    lengths = framework.tensor([2, 4, 3])
    packed = rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    want = torch_rnn.pack_padded_sequence(torch.arange(12).reshape(4, 3), torch.tensor([2, 4, 3]),
                                          enforce_sorted=False)
    _assert_same_packing(packed, want)
    padded, out_lengths = rnn.pad_packed_sequence(packed, padding_value=-1)
    np.testing.assert_array_equal(_values(padded),
                                  torch_rnn.pad_packed_sequence(want, padding_value=-1)[0].numpy())
    assert padded.dtype == framework.int64 and out_lengths.tolist() == [2, 4, 3]
    assert rnn.invert_permutation(None) is None
    assert rnn.invert_permutation(framework.tensor([2, 0, 1])).tolist() == [1, 2, 0]


def test_packed_sequence_conversions(device):
    packed = rnn.pack_padded_sequence(framework.ones(4, 3, 2), LENGTHS, enforce_sorted=False)
    assert packed.to(framework.float32) is packed and not packed.is_cuda
    double = packed.double()
    assert double.data.dtype == framework.float64 and double.batch_sizes is packed.batch_sizes
    assert double.sorted_indices.tolist() == [0, 2, 1]
    assert double.float().data.dtype == framework.float32
    assert packed.long().data.dtype == framework.int64
    moved = packed.to(device)
    assert moved.data.device == framework.device(device)
    assert moved.sorted_indices.device == moved.unsorted_indices.device == moved.data.device
    assert moved.batch_sizes.device.type == "cpu"
    assert moved.is_cuda == (device == "cuda")
    assert moved.cpu().data.device.type == "cpu"
    if device == "cuda":
        assert packed.cuda().is_cuda
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            rnn.PackedSequence(packed.data, packed.batch_sizes.to(device))
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert rnn.PackedSequence((data, batch_sizes), sorted_indices=sorted_indices) \
        .unsorted_indices.tolist() == unsorted_indices.tolist()


def _raises_like_torch(call):
    """``call(utils, lib)`` raises the same error type and message with torch (``torch_rnn``,
    ``torch``) and with framework (``rnn``, ``framework``)."""
    with pytest.raises(Exception) as want:
        call(torch_rnn, torch)
    with pytest.raises(type(want.value)) as got:
        call(rnn, framework)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("lengths,enforce_sorted", [
    ([4, 2, 0], True), ([4, -1, 2], False), ([2, 4, 3], True), ([4, 3], True),
    ([4, 3, 2, 1], True)])
def test_pack_errors_match_torch(lengths, enforce_sorted):
    _raises_like_torch(lambda utils, lib: utils.pack_padded_sequence(
        lib.zeros(4, 3, 2), lengths, enforce_sorted=enforce_sorted))


def test_pack_and_pad_errors_match_torch():
    _raises_like_torch(lambda utils, lib: utils.pack_padded_sequence(
        lib.zeros(4, 3, 2), lib.tensor([[4, 3, 2]])))
    _raises_like_torch(lambda utils, lib: utils.pack_padded_sequence(
        lib.zeros(0, 3, 2), [1, 1, 1]))
    _raises_like_torch(lambda utils, lib: utils.pad_packed_sequence(
        utils.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 3, 2]), total_length=3))
    _raises_like_torch(lambda utils, lib: utils.pack_sequence([]))
    with pytest.raises(RuntimeError, match="longer than the 4 time steps"):
        rnn.pack_padded_sequence(framework.zeros(4, 3, 2), [5, 3, 2])


def _packed_call(utils, enforce_sorted, batch_first, lstm):
    """``call(module, x, h0[, c0])`` for ``check_module``: pack x, run the module with hx
    (None when h0 is None), and return the packed output's data, the padded output and
    the final states."""
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS

    def call(module, x, h0=None, c0=None):
        pack_utils = rnn if isinstance(module, nn.Module) else torch_rnn
        packed = pack_utils.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
        hx = None if h0 is None else (h0, c0) if lstm else h0
        out, state = module(packed, hx)
        assert isinstance(out, pack_utils.PackedSequence)
        assert out.batch_sizes is packed.batch_sizes
        assert out.sorted_indices is packed.sorted_indices
        padded, _ = pack_utils.pad_packed_sequence(out, batch_first)
        return out.data, padded, state
    return call


def _check_packed(name, config, device, dtype, with_hx=True, enforce_sorted=False,
                  batch_first=False):
    torch.manual_seed(0)
    fw, ref = sync(getattr(nn, name)(2, 3, **config), getattr(torch.nn, name)(2, 3, **config),
                   device=device, dtype=dtype)
    fw.eval()  # no inter-layer dropout
    ref.eval()
    rng = np.random.default_rng(3)
    states = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    inputs = [rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))]
    if with_hx:
        inputs.append(rng.standard_normal((states, 3, config.get("proj_size") or 3)))
        if name == "LSTM":
            inputs.append(rng.standard_normal((states, 3, 3)))
    call = _packed_call(rnn, enforce_sorted, batch_first, name == "LSTM")
    check_module(fw, ref, inputs, call=call, device=device, dtype=dtype)


CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True),
           dict(num_layers=2, bidirectional=True, bias=False)]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", CONFIGS)
def test_packed_recurrent_matches_torch(name, config):
    _check_packed(name, config, "cpu", framework.float64)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_recurrent_without_hx_matches_torch(name, enforce_sorted):
    _check_packed(name, dict(bidirectional=True, batch_first=True), "cpu", framework.float64,
                  with_hx=False, enforce_sorted=enforce_sorted, batch_first=True)


def test_packed_lstm_projection_and_relu_rnn_match_torch():
    _check_packed("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2), "cpu",
                  framework.float64)
    _check_packed("RNN", dict(nonlinearity="relu", bidirectional=True), "cpu",
                  framework.float64)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_packed_recurrent_on_both_devices_matches_torch(name, device):
    """float32 on the NumPy and the Triton backend (interpreter in CI): two layers,
    bidirectional, with hx."""
    _check_packed(name, dict(num_layers=2, bidirectional=True), device, framework.float32)


def test_packed_dropout_between_layers():
    """Eval mode: no dropout, torch's values; train mode: the inter-layer dropout changes the
    output (as the padded path does)."""
    _check_packed("GRU", dict(num_layers=2, dropout=0.5), "cpu", framework.float64)
    model = nn.GRU(2, 3, num_layers=2, dropout=0.5).double()
    packed = rnn.pack_padded_sequence(framework.randn(4, 3, 2, dtype=framework.float64),
                                      LENGTHS, enforce_sorted=False)
    evaluated = model.eval()(packed)[0].data
    trained = model.train()(packed)[0].data
    assert trained.shape == evaluated.shape
    assert not np.allclose(_values(trained), _values(evaluated))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_packed_equal_lengths_match_the_padded_path(name):
    """All sequences full length: the packed steps give the padded (sequence-node) path's
    outputs and final states."""
    framework.manual_seed(1)
    model = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True).double()
    x = framework.randn(4, 3, 2, dtype=framework.float64)
    packed_out, packed_state = model(rnn.pack_padded_sequence(x, [4, 4, 4]))
    out, state = model(x)
    assert_close(packed_out.data, out.reshape(12, 6), 1e-12, 1e-12, "output")
    for got, want in zip(packed_state if name == "LSTM" else [packed_state],
                         state if name == "LSTM" else [state]):
        assert_close(got, want, 1e-12, 1e-12, "final state")


def _packed_run(model, x, h0, lengths):
    """Packed output data, final states and the gradients of x, h0 and every weight."""
    lstm = isinstance(model, nn.LSTM)
    out, state = model(rnn.pack_padded_sequence(x, lengths, enforce_sorted=False),
                       (h0, h0 * 0.5) if lstm else h0)
    states = list(state) if lstm else [state]
    loss = (out.data * out.data).sum() + sum((s * s.detach()).sum() for s in states)
    grads = framework.autograd.grad(loss, [x, h0, *model.parameters()])
    return [out.data, *states, *grads]


@pytest.mark.parametrize("name", ["GRU", "LSTM"])
def test_packed_sequence_nodes_match_the_per_step_path(name, monkeypatch):
    """GRU and LSTM run one whole-sequence node per run of steps of equal batch size;
    without that node (``_sequence`` returning None) the per-step cells run. Same values
    and gradients."""
    framework.manual_seed(2)
    model = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True).double()
    x = framework.randn(5, 4, 2, dtype=framework.float64, requires_grad=True)
    h0 = framework.randn(4, 4, 3, dtype=framework.float64, requires_grad=True)
    lengths = [3, 5, 1, 3]
    fused = _packed_run(model, x, h0, lengths)
    monkeypatch.setattr(getattr(nn, name), "_sequence", lambda *args: None)
    per_step = _packed_run(model, x, h0, lengths)
    for k, (got, want) in enumerate(zip(fused, per_step)):
        assert_close(got, want, 1e-13, 1e-13, f"result {k}")


def test_packed_module_errors_match_torch():
    def call(hx, features=2, lstm=False):
        def run(utils, lib):
            module = (lib.nn.LSTM if lstm else lib.nn.GRU)(2, 3, num_layers=2)
            packed = utils.pack_padded_sequence(lib.zeros(4, 3, features), LENGTHS,
                                                enforce_sorted=False)
            return module(packed, hx(lib))
        return run
    _raises_like_torch(call(lambda lib: lib.zeros(2, 3)))
    _raises_like_torch(call(lambda lib: lib.zeros(1, 3, 3)))
    _raises_like_torch(call(lambda lib: None, features=5))
    # torch's packed LSTM says 'got an incorrect number of RNN parameters' here; ours gives
    # the message of torch's padded path
    for h0, c0, which in (((2, 2, 3), (2, 3, 3), 0), ((2, 3, 3), (2, 3, 2), 1)):
        with pytest.raises(RuntimeError, match=rf"^Expected hidden\[{which}\] size \(2, 3, 3\), "
                                               rf"got \[2, \d, \d\]$"):
            call(lambda lib: (lib.zeros(*h0), lib.zeros(*c0)), lstm=True)(rnn, framework)
