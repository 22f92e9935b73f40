"""PyTorch's module path ``torch.nn.modules.flatten``: ``Flatten`` (defined with the containers)."""
from eigengrad.nn.modules.container import Flatten

__all__ = ["Flatten"]
