from eigengrad.nn.modules.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from eigengrad.nn.modules.activation import ELU, GELU, SELU, LeakyReLU, Maxout, PReLU, Softplus
from eigengrad.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from eigengrad.nn.modules.container import Flatten, ModuleList, Sequential
from eigengrad.nn.modules.linear import Identity, Linear
from eigengrad.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d
from eigengrad.nn.modules.loss import CrossEntropyLoss, MSELoss
from eigengrad.nn.modules.loss import (
    BCELoss, BCEWithLogitsLoss, DistillationLoss, HuberLoss, KLDivLoss, L1Loss, NLLLoss, SmoothL1Loss,
)
from eigengrad.nn.modules.module import Module
from eigengrad.nn.modules.normalization import GroupNorm, LayerNorm, LocalResponseNorm

__all__ = ["Module", "Linear", "Identity", "Sequential", "ModuleList", "Flatten", "ReLU", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "CrossEntropyLoss", "MSELoss", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
           "GroupNorm", "LocalResponseNorm"]
__all__ += ["NLLLoss", "BCELoss", "BCEWithLogitsLoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "KLDivLoss",
            "DistillationLoss"]
__all__ += ["LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Softplus", "Maxout", "Dropout", "Dropout1d", "Dropout2d",
            "AlphaDropout"]
from eigengrad.nn.modules.rnn import GRU, LSTM, RNN, RNNBase
__all__ += ["RNNBase", "RNN", "LSTM", "GRU"]
from eigengrad.nn.modules.rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase
__all__ += ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from eigengrad.nn.modules.conv import Conv2d  # noqa: E402
from eigengrad.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: E402

__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
from eigengrad.nn.modules.sparse import Embedding, EmbeddingBag  # noqa: E402

__all__ += ["Embedding", "EmbeddingBag"]
from eigengrad.nn.modules.conv import Conv1d, ConvTranspose1d, ConvTranspose2d  # noqa: E402
from eigengrad.nn.modules.pooling import (  # noqa: E402
    AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, MaxPool1d,
)

__all__ += ["Conv1d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d",
            "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
from eigengrad.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
from eigengrad.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: E402

__all__ += ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]

from eigengrad.nn.modules.attention import MultiheadAttention  # noqa: E402

__all__ += ["MultiheadAttention"]
from eigengrad.nn.modules.transformer import (  # noqa: E402
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)

__all__ += ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
            "TransformerDecoderLayer"]
from eigengrad.nn.modules.sync_batchnorm import SyncBatchNorm  # noqa: E402

__all__ += ["SyncBatchNorm"]
from eigengrad.nn.modules import padding as _padding  # noqa: E402
from eigengrad.nn.modules.padding import *  # noqa: E402,F401,F403

__all__ += _padding.__all__
from eigengrad.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: E402

__all__ += ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
from eigengrad.nn.modules import activation_composite as _activation_composite  # noqa: E402
from eigengrad.nn.modules.activation_composite import *  # noqa: E402,F401,F403

__all__ += _activation_composite.__all__
from eigengrad.nn.modules.container import ModuleDict, ParameterDict, ParameterList  # noqa: E402

__all__ += ["ModuleDict", "ParameterList", "ParameterDict"]
from eigengrad.nn.modules.batchnorm import BatchNorm3d  # noqa: E402
from eigengrad.nn.modules.container import Unflatten  # noqa: E402

__all__ += ["BatchNorm3d", "Unflatten"]
