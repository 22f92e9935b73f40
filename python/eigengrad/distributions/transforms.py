"""``torch.distributions.transforms``: the transforms of ``TransformedDistribution`` (transformed.py)."""
from eigengrad.distributions.transformed import (
    AffineTransform, ExpTransform, SigmoidTransform, TanhTransform, Transform,
)

__all__ = ["Transform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform"]
