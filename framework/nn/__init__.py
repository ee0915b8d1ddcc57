"""Neural-network building blocks (``torch.nn``): ``Module``, ``Parameter``, layers, losses,
containers; ``functional`` holds the stateless ops, ``init`` the initializations and
``utils`` gradient clipping."""
from __future__ import annotations

from . import functional  # noqa: F401
from . import init, parallel, utils  # noqa: F401
from .modules import (  # noqa: F401
    Module, Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, Identity, Linear,
    Bilinear, Flatten, Unflatten, Embedding, EmbeddingBag, Conv1d, Conv2d, ConvTranspose1d,
    ConvTranspose2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
    AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, Upsample, PixelShuffle,
    PixelUnshuffle, BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm, GroupNorm, InstanceNorm1d,
    InstanceNorm2d, Dropout, Dropout1d, Dropout2d, AlphaDropout, ReLU, GELU, SiLU, Sigmoid, Tanh,
    Softplus, LeakyReLU, ELU, SELU, CELU, Hardtanh, ReLU6, Hardsigmoid, Hardswish, Mish,
    Softsign, Tanhshrink, LogSigmoid, GLU, PReLU, Softmax, LogSoftmax, CrossEntropyLoss, NLLLoss,
    MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss,
    CosineEmbeddingLoss, MarginRankingLoss, TripletMarginLoss, CosineSimilarity, RNNBase, RNN,
    LSTM, GRU, RNNCell, LSTMCell, GRUCell, MultiheadAttention, TransformerEncoderLayer,
    TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer, Softmin,
    Threshold, Hardshrink, Softshrink, Softmax2d, GaussianNLLLoss, PoissonNLLLoss, SoftMarginLoss,
    MultiLabelSoftMarginLoss, HingeEmbeddingLoss,
)
from .modules import Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d, MaxUnpool2d  # noqa: F401
from .modules.padding import *  # noqa: F401,F403 - ZeroPad2d, ReflectionPad2d, ...
from .modules import *  # noqa: F401,F403 - every other layer (Fold, LazyLinear, ...)
from .modules import __all__ as _layer_names
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["functional", "init", "parallel", "utils", "Parameter", "Buffer",
           "UninitializedParameter", "UninitializedBuffer", *_layer_names]
