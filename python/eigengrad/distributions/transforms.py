"""``torch.distributions.transforms``: the transforms of ``TransformedDistribution`` (transformed.py)."""
from eigengrad.distributions.transformed import (
    AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform, TanhTransform, Transform,
)

__all__ = ["Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform"]
