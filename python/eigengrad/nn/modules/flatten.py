"""PyTorch's module path ``torch.nn.modules.flatten``: ``Flatten`` and ``Unflatten`` (defined with the
containers)."""
from eigengrad.nn.modules.container import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
