"""The layers, containers and losses of ``pygrad.nn``."""
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh
from .activation import (CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, PReLU,
                         ReLU6, RReLU, Softmax2d, Softmin, Softshrink, Softsign, Tanhshrink, Threshold)
from .conv import AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, LPPool1d, LPPool2d, MaxPool1d
from .linear import AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from .normalization import RMSNorm
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
                      ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                      ReplicationPad3d, ZeroPad1d, ZeroPad2d)
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import ModuleDict, ModuleList, Sequential
from .conv import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .fold import Fold, Unfold
from .convolution import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .linear import Dropout, Embedding, Flatten, Identity, LayerNorm, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .loss import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, KLDivLoss, MarginRankingLoss,
                   MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss,
                   TripletMarginLoss)
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyConv1d, LazyConv2d, LazyConvTranspose1d, LazyConvTranspose2d,
                   LazyLinear)
from .attention import MultiheadAttention
from .distance import Bilinear, CosineSimilarity, PairwiseDistance
from .flatten import Unflatten
from .module import Module
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d
from .parameter_containers import ParameterDict, ParameterList
from .resampling import PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .transformer import TransformerEncoder, TransformerEncoderLayer
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = ["Module", "Bilinear", "CosineSimilarity", "PairwiseDistance", "Unflatten", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "ParameterList", "ParameterDict", "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "Sequential", "ModuleList", "ModuleDict", "Identity", "Linear", "Flatten", "Dropout",
           "Embedding", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU",
           "ELU", "Softplus", "SiLU", "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "NLLLoss",
           "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]
__all__ += ["Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "SELU", "CELU", "Mish", "LogSigmoid", "Softsign",
            "Tanhshrink", "Softshrink", "Hardshrink", "Threshold", "GLU", "PReLU", "Softmin", "RReLU"]
__all__ += ["SoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "MultiLabelSoftMarginLoss",
            "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"]
__all__ += ["Softmax2d", "LPPool1d", "LPPool2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
            "AdaptiveMaxPool2d", "Fold", "Unfold", "Dropout1d", "Dropout2d", "Dropout3d",
            "AlphaDropout", "FeatureAlphaDropout", "RMSNorm", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
            "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
            "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]
