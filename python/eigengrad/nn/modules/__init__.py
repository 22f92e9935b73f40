from eigengrad.nn.modules.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from eigengrad.nn.modules.activation import ELU, GELU, SELU, LeakyReLU, Maxout, PReLU, Softplus
from eigengrad.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from eigengrad.nn.modules.container import Flatten, ModuleList, Sequential
from eigengrad.nn.modules.linear import Identity, Linear
from eigengrad.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
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
            "AlphaDropout", "FeatureAlphaDropout"]
from eigengrad.nn.modules.rnn import GRU, LSTM, RNN, RNNBase
__all__ += ["RNNBase", "RNN", "LSTM", "GRU"]
from eigengrad.nn.modules.rnn_cell import GRUCell, LSTMCell, RNNCell, RNNCellBase
__all__ += ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from eigengrad.nn.modules.conv import Conv2d  # noqa: E402
from eigengrad.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: E402

__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
from eigengrad.nn.modules.sparse import Embedding, EmbeddingBag  # noqa: E402

__all__ += ["Embedding", "EmbeddingBag"]
from eigengrad.nn.modules.conv import Conv1d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: E402
from eigengrad.nn.modules.pooling import (  # noqa: E402
    AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, MaxPool1d,
)

__all__ += ["Conv1d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d",
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
from eigengrad.nn.modules.activation_more import (  # noqa: E402
    CELU, GLU, RReLU, SiLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, ReLU6, Softmax2d, Softmin,
    Softshrink, Softsign, Tanhshrink, Threshold,
)

__all__ += ["SiLU", "Mish", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softmin", "Softsign",
            "Tanhshrink", "Threshold", "GLU", "CELU", "Hardshrink", "Softshrink", "RReLU", "Softmax2d"]
from eigengrad.nn.modules.distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from eigengrad.nn.modules.loss_margin import (  # noqa: E402
    CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)

__all__ += ["CosineSimilarity", "PairwiseDistance", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
            "CosineEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "PoissonNLLLoss",
            "GaussianNLLLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "CTCLoss"]
from eigengrad.nn.modules.linear import Bilinear, LazyLinear  # noqa: E402
from eigengrad.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: E402
from eigengrad.nn.modules.normalization import RMSNorm  # noqa: E402
from eigengrad.nn.modules.container import Unflatten  # noqa: E402
from eigengrad.nn.modules.fold import Fold, Unfold  # noqa: E402
from eigengrad.nn.modules.padding import (  # noqa: E402
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d,
    ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
    ZeroPad3d,
)
from eigengrad.nn.modules.container_dict import ModuleDict, ParameterDict, ParameterList  # noqa: E402
from eigengrad.nn.modules.batchnorm import BatchNorm3d  # noqa: E402

__all__ += ["Bilinear", "LazyLinear", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "Unflatten", "Fold", "Unfold",
            "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
            "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
            "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ModuleDict", "ParameterList",
            "ParameterDict", "BatchNorm3d"]
from eigengrad.nn.modules.conv import Conv3d  # noqa: E402
from eigengrad.nn.modules.pooling import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d  # noqa: E402

__all__ += ["Conv3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "Dropout3d"]
from eigengrad.nn.modules.pooling import (  # noqa: E402
    ChannelShuffle, LPPool1d, LPPool2d, LPPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d,
)

__all__ += ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d", "ChannelShuffle"]
from eigengrad.nn.modules.pooling import FractionalMaxPool2d, FractionalMaxPool3d  # noqa: E402

__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d"]
from eigengrad.nn.modules.lazy import (  # noqa: E402
    LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d,
    LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d,
)

__all__ += ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
            "LazyBatchNorm1d",
            "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]
from eigengrad.nn.modules.adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402

__all__ += ["AdaptiveLogSoftmaxWithLoss"]
from eigengrad.nn.modules.container import Container  # noqa: E402
from eigengrad.nn.modules.loss import NLLLoss2d  # noqa: E402
from eigengrad.nn.modules.normalization import CrossMapLRN2d  # noqa: E402

__all__ += ["Container", "CrossMapLRN2d", "NLLLoss2d"]
from eigengrad.nn.modules import utils  # noqa: E402,F401  (torch.nn.modules.utils, an attribute after import torch)
