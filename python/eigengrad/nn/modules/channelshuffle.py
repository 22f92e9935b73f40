"""``ChannelShuffle`` at PyTorch's module path (``torch.nn.modules.channelshuffle``); it lives in ``pooling.py``."""
from eigengrad.nn.modules.pooling import ChannelShuffle

__all__ = ["ChannelShuffle"]
