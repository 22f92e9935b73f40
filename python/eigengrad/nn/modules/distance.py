"""PyTorch's module path ``torch.nn.modules.distance``: CosineSimilarity and PairwiseDistance (defined
with the composite layers)."""
from eigengrad.nn.modules.activation_composite import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
