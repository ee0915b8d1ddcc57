"""MultiheadAttention and the Transformer layers against PyTorch (dropout 0, training mode so
PyTorch takes its reference path). They need F.softmax (and F.layer_norm / F.dropout for the
Transformer layers), which land with the activation, norm and dropout families."""
import numpy as np
import pytest
import torch
from nn_oracle import check_module, module_pair as _pair, randn as _randn, sync

import framework
from framework import nn

# PyTorch's own deprecation/performance notes about mixed mask types and nested tensors
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(mismatched|enable_nested_tensor).*:UserWarning")


def _mha(m, q, k, v, **kwargs):
    return m(q, k, v, **kwargs)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention_matches_torch(batch_first, average):
    fw, ref = sync(*_pair("MultiheadAttention", 4, 2, batch_first=batch_first))
    x = _randn(2, 3, 4)
    check_module(fw, ref, [x, x, x],
                 call=lambda m, q, k, v: _mha(m, q, k, v, average_attn_weights=average))


def test_mha_masks_match_torch():
    fw, ref = sync(*_pair("MultiheadAttention", 4, 2, batch_first=True))
    q, kv = _randn(2, 3, 4), _randn(2, 5, 4, seed=1)
    padding = np.array([[False, False, False, True, True], [False, True, False, False, False]])
    float_mask = _randn(3, 5, seed=2)
    check_module(fw, ref, [q, kv, kv, padding, float_mask],
                 call=lambda m, q, k, v, p, a: m(q, k, v, key_padding_mask=p, attn_mask=a),
                 no_grad_inputs=(4,))
    bool_mask = np.zeros((4, 3, 5), dtype=bool)
    bool_mask[:, :, 0] = True
    bool_mask[1, 2, 4] = True
    check_module(fw, ref, [q, kv, kv, bool_mask],
                 call=lambda m, q, k, v, a: m(q, k, v, attn_mask=a, need_weights=False))


def test_mha_kdim_vdim_bias_kv_zero_attn_match_torch():
    fw, ref = sync(*_pair("MultiheadAttention", 4, 2, kdim=3, vdim=5, add_bias_kv=True,
                          add_zero_attn=True, bias=False))
    check_module(fw, ref, [_randn(2, 1, 4), _randn(3, 1, 3, seed=1), _randn(3, 1, 5, seed=2)])


def test_mha_unbatched_matches_torch():
    fw, ref = sync(*_pair("MultiheadAttention", 4, 1))
    x = _randn(3, 4)
    check_module(fw, ref, [x, x, x, np.array([False, False, True])],
                 call=lambda m, q, k, v, p: m(q, k, v, key_padding_mask=p))


def test_mha_on_both_devices(device):
    fw, ref = sync(*_pair("MultiheadAttention", 2, 1), device=device)
    x = _randn(2, 1, 2)
    check_module(fw, ref, [x, x, x], device=device)


def test_mha_parameters_and_errors():
    fw, ref = _pair("MultiheadAttention", 6, 3)
    assert [(k, tuple(v.shape)) for k, v in fw.named_parameters()] == \
        [(k, tuple(v.shape)) for k, v in ref.named_parameters()]
    assert not fw.in_proj_bias.detach().numpy().any()
    assert not fw.out_proj.bias.detach().numpy().any()
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="must be greater than 0"):
        nn.MultiheadAttention(0, 1)
    x = framework.ones(2, 1, 6)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        fw(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask"):
        fw(x, x, x, attn_mask=framework.zeros(3, 3))




@pytest.mark.parametrize("kwargs", [dict(), dict(norm_first=True, activation="gelu"),
                                    dict(batch_first=True, bias=False)])
def test_encoder_layer_matches_torch(kwargs):
    fw, ref = sync(*_pair("TransformerEncoderLayer", 4, 2, 6, dropout=0.0, **kwargs))
    mask = nn.Transformer.generate_square_subsequent_mask(3).numpy()
    padding = np.array([[False, False, True], [False, False, False]])
    if not kwargs.get("batch_first"):
        check_module(fw, ref, [_randn(3, 2, 4), mask, padding],
                     call=lambda m, x, a, p: m(x, src_mask=a, src_key_padding_mask=p),
                     no_grad_inputs=(1,))
    else:
        check_module(fw, ref, [_randn(2, 3, 4)])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    fw, ref = sync(*_pair("TransformerDecoderLayer", 4, 2, 6, dropout=0.0,
                          norm_first=norm_first, batch_first=True))
    mask = nn.Transformer.generate_square_subsequent_mask(3).numpy()
    check_module(fw, ref, [_randn(2, 3, 4), _randn(2, 2, 4, seed=1), mask],
                 call=lambda m, t, mem, a: m(t, mem, tgt_mask=a), no_grad_inputs=(2,))


def test_encoder_and_decoder_stacks_match_torch():
    torch.manual_seed(0)
    fw = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0), 2,
                               norm=nn.LayerNorm(4))
    ref = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0), 2,
                                      norm=torch.nn.LayerNorm(4), enable_nested_tensor=False)
    fw, ref = sync(fw, ref)
    check_module(fw, ref, [_randn(3, 2, 4)])
    fw = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0), 2)
    ref = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0), 2)
    fw, ref = sync(fw, ref)
    check_module(fw, ref, [_randn(3, 2, 4), _randn(2, 2, 4, seed=1)])


def test_transformer_matches_torch():
    fw, ref = sync(*_pair("Transformer", 4, 2, 1, 1, 6, dropout=0.0, batch_first=True))
    mask = nn.Transformer.generate_square_subsequent_mask(2).numpy()
    check_module(fw, ref, [_randn(2, 3, 4), _randn(2, 2, 4, seed=1), mask],
                 call=lambda m, s, t, a: m(s, t, tgt_mask=a), no_grad_inputs=(2,))


def test_transformer_structure_and_errors():
    fw, ref = _pair("Transformer", 4, 2, 2, 1, 6)
    assert [(k, tuple(v.shape)) for k, v in fw.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    layers = fw.encoder.layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(3).numpy())
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        fw(framework.ones(3, 2, 4), framework.ones(3, 1, 4))
    with pytest.raises(RuntimeError, match="feature number"):
        fw(framework.ones(3, 2, 5), framework.ones(3, 2, 5))
