"""The layer classes of ``framework.nn``, one module per kind of layer."""
from __future__ import annotations

from .adaptive import AdaptiveLogSoftmaxWithLoss
from .activation import (CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                         LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax,
                         Softplus, Softsign, Tanh, Tanhshrink, Softmin, Softmax2d, Threshold, Hardshrink,
                         Softshrink, RReLU)
from .attention import MultiheadAttention
from .container import Container, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .conv import Conv3d, ConvTranspose3d
from .conv import (LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
                   LazyConvTranspose3d)
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from .fold import Fold, Unfold
from .lazy import LazyModuleMixin
from .linear import Bilinear, Flatten, Identity, LazyLinear, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity,
                   CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   NLLLoss, SmoothL1Loss, TripletMarginLoss, GaussianNLLLoss, PoissonNLLLoss,
                   SoftMarginLoss, MultiLabelSoftMarginLoss, HingeEmbeddingLoss, PairwiseDistance,
                   MultiMarginLoss, MultiLabelMarginLoss, TripletMarginWithDistanceLoss, NLLLoss2d,
                   CTCLoss, LinearCrossEntropyLoss)
from .linear_cross_entropy_options import LinearCrossEntropyOptions
from .module import Module
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d,
                            InstanceNorm2d, InstanceNorm3d, LayerNorm, RMSNorm)
from .normalization import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyInstanceNorm1d,
                            LazyInstanceNorm2d, LazyInstanceNorm3d, LocalResponseNorm,
                            CrossMapLRN2d)
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                      AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, PixelShuffle, PixelUnshuffle,
                      Upsample)
from .pooling import AvgPool3d, MaxPool3d, MaxUnpool2d, UpsamplingBilinear2d, UpsamplingNearest2d
from .pooling import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, ChannelShuffle, LPPool1d, LPPool2d,
                      LPPool3d, MaxUnpool1d, MaxUnpool3d, FractionalMaxPool2d, FractionalMaxPool3d)
from .padding import __all__ as _padding_names
from .padding import *  # noqa: F401,F403 - the padding layers (ZeroPad2d, ReflectionPad2d, ...)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding, EmbeddingBag
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "Embedding", "EmbeddingBag",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "Upsample", "PixelShuffle", "PixelUnshuffle",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout",
    "ReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "LeakyReLU", "ELU", "SELU", "CELU",
    "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish", "Softsign", "Tanhshrink",
    "LogSigmoid", "GLU", "PReLU", "Softmax", "LogSoftmax", "Softmin", "Threshold", "Hardshrink",
    "Softshrink", "Softmax2d",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss",
    "TripletMarginLoss", "CosineSimilarity", "GaussianNLLLoss", "PoissonNLLLoss", "SoftMarginLoss",
    "MultiLabelSoftMarginLoss", "HingeEmbeddingLoss",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerDecoder", "Transformer",
    "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "MaxUnpool2d",
    *_padding_names,
    "Fold", "Unfold", "PairwiseDistance", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "Dropout3d", "FeatureAlphaDropout", "BatchNorm3d", "InstanceNorm3d",
    "LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
    "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d", "RReLU", "MultiMarginLoss", "MultiLabelMarginLoss",
    "TripletMarginWithDistanceLoss", "LocalResponseNorm", "CrossMapLRN2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d", "ChannelShuffle", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d",
    "MaxUnpool3d", "Container", "RNNCellBase", "NLLLoss2d", "FractionalMaxPool2d",
    "FractionalMaxPool3d", "AdaptiveLogSoftmaxWithLoss", "CTCLoss", "LinearCrossEntropyLoss",
    "LinearCrossEntropyOptions",
]
