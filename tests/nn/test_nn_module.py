"""The Module API: registration, iteration, state dicts, hooks, modes, conversions, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch_versions import norm_reprs_as_in_2_13

import framework
from framework import nn


class Net(nn.Module):
    def __init__(self, lib=nn):
        super().__init__()
        self.fc1 = lib.Linear(3, 4)
        self.act = lib.ReLU()
        self.blocks = lib.Sequential(lib.Linear(4, 4), lib.Tanh(), lib.Linear(4, 2, bias=False))
        self.scale = lib.Parameter(framework.ones(2) if lib is nn else torch.ones(2))
        self.register_buffer("steps", framework.zeros(1) if lib is nn else torch.zeros(1))
        self.register_buffer("cache", framework.zeros(2) if lib is nn else torch.zeros(2),
                             persistent=False)

    def forward(self, x):
        return self.blocks(self.act(self.fc1(x))) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.act = torch.nn.ReLU()
        self.blocks = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(),
                                          torch.nn.Linear(4, 2, bias=False))
        self.scale = torch.nn.Parameter(torch.ones(2))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.blocks(self.act(self.fc1(x))) * self.scale


def test_registration_and_iteration_match_torch():
    net, ref = Net(), TorchNet()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in ref.named_children()]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert list(net.state_dict()) == list(ref.state_dict())
    assert len(list(net.parameters())) == 6 and len(list(net.modules())) == 7
    assert isinstance(net.fc1.weight, nn.Parameter) and net.fc1.weight.is_leaf
    assert net.fc1.weight.requires_grad and isinstance(net.fc1.weight, framework.Tensor)
    assert net.get_submodule("blocks.2") is net.blocks[2]
    assert net.get_parameter("blocks.0.bias") is net.blocks[0].bias
    with pytest.raises(AttributeError):
        net.get_submodule("blocks.7")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        net.missing  # noqa: B018


def test_attribute_reassignment_and_deletion():
    net = Net()
    net.extra = nn.Linear(2, 2)
    assert "extra" in dict(net.named_children())
    net.extra = None
    assert "extra" not in dict(net.named_children())
    net.steps = framework.ones(1)
    assert "steps" in net.state_dict()
    with pytest.raises(TypeError, match="cannot assign"):
        net.scale = framework.ones(2)
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(KeyError, match="attribute 'fc1' already exists"):
        net.register_parameter("fc1", None)
    net.add_module("head", nn.Identity())
    assert net.head is net._modules["head"]


def test_shared_parameters_listed_once_unless_asked():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4
    assert len(list(model.named_modules(remove_duplicate=False))) == 3


def test_state_dict_round_trip_and_keep_vars():
    src, dst = Net(), Net()
    with framework.no_grad():
        src.steps.fill_(3)
    state = src.state_dict()
    assert isinstance(state, OrderedDict) and "cache" not in state
    assert not state["fc1.weight"].requires_grad
    assert src.state_dict(keep_vars=True)["fc1.weight"] is src.fc1.weight
    assert list(src.state_dict(prefix="net.")) == ["net." + k for k in state]
    result = dst.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), state[k].numpy())
    weight = dst.fc1.weight
    dst.load_state_dict(src.state_dict())
    assert dst.fc1.weight is weight  # copied in place


def test_load_state_dict_strict_errors_like_torch():
    net, ref = Net(), TorchNet()
    state = net.state_dict()
    torch_state = ref.state_dict()
    for d in (state, torch_state):
        del d["fc1.bias"]
        d["extra.weight"] = d["scale"]
    with pytest.raises(RuntimeError) as ours:
        net.load_state_dict(state)
    with pytest.raises(RuntimeError) as theirs:
        ref.load_state_dict(torch_state)
    assert str(ours.value).replace("Net", "X") == str(theirs.value).replace("TorchNet", "X")
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["extra.weight"]


def test_load_state_dict_size_mismatch_like_torch():
    net, ref = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    state = {"weight": framework.zeros(3, 3), "bias": framework.zeros(2)}
    torch_state = {"weight": torch.zeros(3, 3), "bias": torch.zeros(2)}
    with pytest.raises(RuntimeError) as ours:
        net.load_state_dict(state, strict=False)
    with pytest.raises(RuntimeError) as theirs:
        ref.load_state_dict(torch_state, strict=False)
    assert str(ours.value) == str(theirs.value)


def test_forward_hooks_modify_and_remove():
    model = nn.Linear(2, 2)
    calls = []

    def pre(module, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(module, args, output):
        calls.append("post")
        return output + 1

    h1 = model.register_forward_pre_hook(pre)
    h2 = model.register_forward_hook(post)
    out = model(framework.ones(1, 2))
    expected = model.bias.detach().numpy() + 1
    np.testing.assert_allclose(out.detach().numpy()[0], expected, rtol=1e-6)
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    h2.remove()
    model(framework.ones(1, 2))
    assert calls == ["pre", "post"]
    order = []
    model.register_forward_hook(lambda m, a, o: order.append(1))
    model.register_forward_hook(lambda m, a, o: order.append(0), prepend=True)
    model.register_forward_hook(lambda m, a, k, o: order.append(sorted(k)), with_kwargs=True)
    model(input=framework.ones(2))
    assert order == [0, 1, ["input"]]


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.blocks[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_to_dtype_keeps_parameter_objects(device):
    net = Net()
    weight = net.fc1.weight
    net.to(device, framework.float64)
    assert net.fc1.weight is weight and isinstance(weight, nn.Parameter)
    assert weight.dtype is framework.float64 and weight.device == framework.device(device)
    assert net.steps.dtype is framework.float64
    net.half()
    assert weight.dtype is framework.float16
    net.float().cpu()
    assert weight.dtype is framework.float32 and weight.device.type == "cpu"
    bn = nn.Embedding(3, 2)
    bn.double()
    assert bn.weight.dtype is framework.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(framework.int64)


def test_zero_grad_requires_grad_apply_and_deepcopy():
    net = Net()
    net(framework.ones(1, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"
    clone = copy.deepcopy(net)
    assert isinstance(clone.fc1.weight, nn.Parameter)
    assert clone.fc1.weight is not net.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight.numpy(), net.fc1.weight.numpy())
    restored = pickle.loads(pickle.dumps(nn.Linear(2, 3)))
    assert isinstance(restored.weight, nn.Parameter) and restored.weight.requires_grad


def test_parameter_works_with_autograd_and_inplace():
    p = nn.Parameter(framework.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])
    with framework.no_grad():
        p.mul_(2)
    np.testing.assert_allclose(p.detach().numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.add_(1)
    q = nn.Parameter(framework.zeros(2), requires_grad=False)
    assert not q.requires_grad
    assert repr(p).startswith("Parameter containing:\n")
    assert type(p + 1) is framework.Tensor


def test_repr_matches_torch(monkeypatch):
    norm_reprs_as_in_2_13(monkeypatch)  # torch < 2.13 prints no bias= (tests/torch_versions.py)

    def build(lib):
        return lib.Sequential(
            lib.Conv2d(3, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.ReLU(inplace=True),
            lib.MaxPool2d(2), lib.Flatten(), lib.Dropout(0.25),
            lib.ModuleList([lib.Linear(4, 4), lib.Linear(4, 4), lib.GELU(approximate="tanh")]),
            lib.ModuleDict({"emb": lib.Embedding(10, 3, padding_idx=0), "norm": lib.LayerNorm(3)}),
            lib.LSTM(3, 5, batch_first=True), lib.MultiheadAttention(4, 2),
            lib.CrossEntropyLoss(), lib.Softmax(dim=-1), lib.Identity())
    assert repr(build(nn)) == repr(build(torch.nn))


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict([("a", nn.Identity()), ("b", nn.ReLU())]))
    assert list(dict(named.named_children())) == ["a", "b"]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and len(list(layers.parameters())) == 6
    assert isinstance(layers[1:], nn.ModuleList)
    d = nn.ModuleDict({"x": nn.ReLU()})
    d["y"] = nn.Tanh()
    assert list(d.keys()) == ["x", "y"] and "y" in d
    plist = nn.ParameterList([framework.zeros(2), nn.Parameter(framework.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 2
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"]
    pdict = nn.ParameterDict({"a": framework.zeros(2)})
    pdict["b"] = nn.Parameter(framework.ones(1))
    assert [n for n, _ in pdict.named_parameters()] == ["a", "b"]
    assert isinstance(pdict["a"], nn.Parameter)
    tp = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2))])
    assert repr(nn.ParameterList([framework.zeros(2)])).replace("framework", "torch") == repr(tp)
    with pytest.raises(NotImplementedError):
        layers(framework.ones(2))


LAYER_CASES = [
 ("Linear", (3, 4), {}), ("Linear", (3, 4), {"bias": False}), ("Bilinear", (2, 3, 4), {}),
 ("Identity", (), {}), ("Flatten", (), {}), ("Unflatten", (1, (2, 3)), {}),
 ("Embedding", (10, 3), {"padding_idx": -1, "max_norm": 1.0}), ("EmbeddingBag", (10, 3), {"mode": "sum", "padding_idx": 2}),
 ("Conv1d", (2, 4, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
 ("Conv2d", (2, 4, (3, 2)), {"padding": "same", "padding_mode": "reflect"}),
 ("ConvTranspose1d", (2, 4, 3), {"output_padding": 1, "stride": 2}), ("ConvTranspose2d", (2, 4, 3), {"bias": False}),
 ("MaxPool1d", (3,), {}), ("MaxPool2d", (3, 1, 1), {"ceil_mode": True}), ("AvgPool1d", (3,), {}), ("AvgPool2d", (2,), {}),
 ("AdaptiveAvgPool1d", (3,), {}), ("AdaptiveAvgPool2d", ((2, 3),), {}), ("AdaptiveMaxPool2d", (2,), {}),
 ("Upsample", (), {"scale_factor": 2, "mode": "bilinear"}), ("Upsample", (), {"size": (4, 5)}), ("PixelShuffle", (2,), {}),
 ("BatchNorm1d", (4,), {"momentum": None}), ("BatchNorm2d", (4,), {"affine": False}), ("LayerNorm", ((3, 4),), {"bias": False}),
 ("RMSNorm", (4,), {}), ("GroupNorm", (2, 4), {}), ("InstanceNorm1d", (4,), {}), ("InstanceNorm2d", (4,), {"affine": True}),
 ("Dropout", (), {}), ("Dropout1d", (0.2,), {}), ("Dropout2d", (), {"inplace": True}), ("AlphaDropout", (0.1,), {}),
 ("ReLU", (), {}), ("ReLU", (True,), {}), ("GELU", (), {}), ("SiLU", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
 ("Softplus", (), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("SELU", (True,), {}), ("CELU", (0.5,), {}),
 ("Hardtanh", (), {}), ("ReLU6", (True,), {}), ("ReLU6", (), {}), ("Hardsigmoid", (True,), {}), ("Hardswish", (), {}), ("Mish", (), {}),
 ("Softsign", (), {}), ("Tanhshrink", (), {}), ("LogSigmoid", (), {}), ("GLU", (), {}), ("PReLU", (3,), {}),
 ("Softmax", (1,), {}), ("LogSoftmax", (), {}),
 ("CrossEntropyLoss", (), {}), ("NLLLoss", (), {}), ("MSELoss", (), {}), ("L1Loss", (), {}), ("SmoothL1Loss", (), {}),
 ("HuberLoss", (), {}), ("BCELoss", (), {}), ("BCEWithLogitsLoss", (), {}), ("KLDivLoss", (), {}),
 ("CosineEmbeddingLoss", (), {}), ("MarginRankingLoss", (), {}), ("TripletMarginLoss", (), {}), ("CosineSimilarity", (), {}),
 ("RNN", (3, 4), {"nonlinearity": "relu", "bias": False}), ("GRU", (3, 4), {"dropout": 0.1, "num_layers": 2}),
 ("RNNCell", (3, 4), {"nonlinearity": "relu"}), ("LSTMCell", (3, 4), {"bias": False}), ("GRUCell", (3, 4), {}),
 ("MultiheadAttention", (4, 2), {"kdim": 3, "vdim": 5, "add_bias_kv": True}),
 ("TransformerEncoderLayer", (4, 2, 8), {}), ("TransformerDecoderLayer", (4, 2, 8), {"activation": "gelu", "norm_first": True}),
 ("Transformer", (4, 2, 2, 1, 8), {}),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,args,kwargs", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_repr_and_state_dict_keys_match_torch(name, args, kwargs, monkeypatch):
    norm_reprs_as_in_2_13(monkeypatch)  # torch < 2.13 prints no bias= (tests/torch_versions.py)
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


def test_load_state_dict_assign_and_batchnorm_without_counter():
    net = nn.Linear(2, 2)
    weight = framework.zeros(2, 2)
    net.load_state_dict({"weight": weight, "bias": framework.ones(2)}, assign=True)
    assert isinstance(net.weight, nn.Parameter) and net.weight.requires_grad
    assert net.weight.tolist() == [[0, 0], [0, 0]]
    bn = nn.BatchNorm1d(3)
    state = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert bn.load_state_dict(state).missing_keys == []


def test_buffer_marker_and_hook_handle_cleanup():
    model = nn.Linear(2, 2)
    model.stats = nn.Buffer(framework.zeros(3), persistent=False)
    model.count = nn.Buffer(framework.zeros(1))
    assert [n for n, _ in model.named_buffers()] == ["stats", "count"]
    assert list(model.state_dict()) == ["weight", "bias", "count"]
    assert type(model.stats) is framework.Tensor
    handle = model.register_forward_hook(lambda m, a, k, o: None, with_kwargs=True)
    with handle:
        assert handle.id in model._forward_hooks_with_kwargs
    assert not model._forward_hooks and not model._forward_hooks_with_kwargs


def _hooked_pair(torch_module, fw_module, calls):
    """The same backward hooks on both modules; each call records what it saw."""
    for lib, module in (("torch", torch_module), ("fw", fw_module)):
        def full(mod, grad_input, grad_output, lib=lib):
            calls[lib].append(("full", [None if g is None else g.detach().numpy().copy()
                                        for g in grad_input],
                               [g.detach().numpy().copy() for g in grad_output]))
            return tuple(None if g is None else g * 2 for g in grad_input)

        def pre(mod, grad_output, lib=lib):
            calls[lib].append(("pre", [g.detach().numpy().copy() for g in grad_output]))
            return (grad_output[0] * 3,)
        module.register_full_backward_pre_hook(pre)
        module.register_full_backward_hook(full)


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hooks_match_torch(input_requires_grad):
    """``register_full_backward_hook(hook(module, grad_input, grad_output))``: called with the
    gradients of the tensor inputs (None where none is needed) and of the outputs; a returned
    tuple replaces grad_input. ``register_full_backward_pre_hook`` can replace grad_output."""
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 2).double()
    ours = nn.Linear(3, 2).to(framework.float64)
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    calls = {"torch": [], "fw": []}
    _hooked_pair(ref, ours, calls)
    x = np.random.default_rng(0).standard_normal((4, 3))
    tx = torch.tensor(x, requires_grad=input_requires_grad)
    fx = framework.tensor(x, dtype=framework.float64, requires_grad=input_requires_grad)
    (ref(tx) ** 2).sum().backward()
    (ours(fx) ** 2).sum().backward()
    assert [c[0] for c in calls["fw"]] == [c[0] for c in calls["torch"]] == ["pre", "full"]
    for got, want in zip(calls["fw"], calls["torch"]):
        for g, w in zip(got[1:], want[1:]):
            assert len(g) == len(w)
            for a, b in zip(g, w):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-12)
    if input_requires_grad:
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_full_backward_hook_remove_and_multiple_inputs():
    class Add(nn.Module):
        def forward(self, a, scale, b):
            return a * scale + b, b.sum()
    module = Add()
    seen = []
    handle = module.register_full_backward_hook(
        lambda m, gi, go: seen.append((len(gi), [g is None for g in gi], len(go))))
    a = framework.ones(2, requires_grad=True)
    b = framework.ones(2)
    out, total = module(a, 2.0, b)
    (out.sum() + total).backward()
    assert seen == [(3, [False, True, False], 2)]  # as torch: every positional arg; b too
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 2.0])
    handle.remove()
    module(a, 2.0, b)[0].sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="grad_input"):
        bad = nn.Linear(2, 2)
        bad.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        bad(a).sum().backward()


def test_full_backward_hook_sees_the_arguments_after_forward_pre_hooks():
    """As torch: grad_input is the gradient of the arguments ``forward`` got (after a forward
    pre-hook replaced them), not of the caller's."""
    calls = {}
    for lib, module in (("torch", torch.nn.Linear(3, 2).double()),
                        ("fw", nn.Linear(3, 2).to(framework.float64))):
        with (torch.no_grad() if lib == "torch" else framework.no_grad()):
            module.weight.copy_(module.weight * 0 + 1)
        module.register_forward_pre_hook(lambda m, i: (i[0] * 2,))
        module.register_full_backward_hook(
            lambda m, gi, go, lib=lib: calls.update({lib: gi[0].detach().numpy().copy()}))
        make = torch.ones if lib == "torch" else framework.ones
        x = make(1, 3, dtype=torch.float64 if lib == "torch" else framework.float64,
                 requires_grad=True)
        module(x).sum().backward()
        calls[lib + "_x"] = x.grad.detach().numpy().copy()
    np.testing.assert_allclose(calls["fw"], calls["torch"])
    np.testing.assert_allclose(calls["fw_x"], calls["torch_x"])
