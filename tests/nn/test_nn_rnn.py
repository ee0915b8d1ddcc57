"""RNN, LSTM, GRU and their cells against PyTorch (state dicts interchangeable)."""
import numpy as np
import pytest
from nn_oracle import check_module, module_pair as _pair, sync

import framework
from framework import nn


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", [
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=1, batch_first=True),
    dict(num_layers=2, batch_first=True, bidirectional=True, bias=False),
])
def test_recurrent_matches_torch(name, config):
    fw, ref = sync(*_pair(name, 3, 4, **config))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3) if config.get("batch_first") else (5, 2, 3))
    check_module(fw, ref, [x])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_recurrent_initial_state_matches_torch(name):
    fw, ref = sync(*_pair(name, 2, 3, num_layers=2, bidirectional=True))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 2))
    h0 = rng.standard_normal((4, 2, 3))
    if name == "LSTM":
        c0 = rng.standard_normal((4, 2, 3))
        check_module(fw, ref, [x, h0, c0], call=lambda m, x, h, c: m(x, (h, c)))
    else:
        check_module(fw, ref, [x, h0])


def test_lstm_on_both_devices(device):
    fw, ref = sync(*_pair("LSTM", 2, 2, batch_first=True), device=device)
    x = np.random.default_rng(6).standard_normal((1, 2, 2))
    check_module(fw, ref, [x], device=device)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_sequence_node_with_state_on_both_devices(name, device):
    """Bidirectional, with a given initial state: the sequence node's fused cell kernels
    (NumPy on cpu, Triton on cuda) forward and backward, input and state gradients."""
    fw, ref = sync(*_pair(name, 2, 3, bidirectional=True), device=device)
    rng = np.random.default_rng(7)
    x, h0 = rng.standard_normal((3, 2, 2)), rng.standard_normal((2, 2, 3))
    if name == "LSTM":
        check_module(fw, ref, [x, h0, rng.standard_normal((2, 2, 3))], device=device,
                     call=lambda m, x, h, c: m(x, (h, c)))
    else:
        check_module(fw, ref, [x, h0], device=device)


def test_rnn_relu_unbatched_matches_torch():
    fw, ref = sync(*_pair("RNN", 3, 4, nonlinearity="relu"))
    x = np.random.default_rng(3).standard_normal((4, 3))
    check_module(fw, ref, [x])


def test_lstm_unbatched_with_state_matches_torch():
    fw, ref = sync(*_pair("LSTM", 3, 2))
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((1, 2)), rng.standard_normal((1, 2))
    check_module(fw, ref, [x, h, c], call=lambda m, x, h, c: m(x, (h, c)))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(name):
    fw, ref = sync(*_pair(name, 3, 4))
    rng = np.random.default_rng(5)
    check_module(fw, ref, [rng.standard_normal((2, 3))])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_parameter_names_and_repr_match_torch(name):
    fw, ref = _pair(name, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    assert [(k, tuple(v.shape)) for k, v in fw.named_parameters()] == \
        [(k, tuple(v.shape)) for k, v in ref.named_parameters()]
    assert repr(fw) == repr(ref)
    fw_relu, ref_relu = _pair("RNN", 3, 4, nonlinearity="relu", dropout=0.5, num_layers=2)
    assert repr(fw_relu) == repr(ref_relu)


def test_rnn_init_range():
    model = nn.LSTM(5, 16)
    bound = 1 / 4
    for p in model.parameters():
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.std() > bound / 3


def test_rnn_bad_input_raises():
    model = nn.GRU(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        model(framework.zeros(1, 2, 3, 3))
    with pytest.raises(RuntimeError, match="input_size"):
        model(framework.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)


def test_lstm_projection_matches_torch():
    fw, ref = sync(*_pair("LSTM", 3, 4, num_layers=2, bidirectional=True, proj_size=2))
    assert repr(fw) == repr(ref)
    rng = np.random.default_rng(7)
    x, h0, c0 = (rng.standard_normal(s) for s in ((3, 2, 3), (4, 2, 2), (4, 2, 4)))
    check_module(fw, ref, [x, h0, c0], call=lambda m, x, h, c: m(x, (h, c)))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)


def test_rnn_dropout_between_layers_warns_and_flatten_is_noop():
    with pytest.warns(UserWarning, match="dropout option adds dropout"):
        nn.GRU(2, 3, dropout=0.5)
    nn.LSTM(2, 3).flatten_parameters()
