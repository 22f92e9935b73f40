"""``torch.distributions.transforms``: the transforms of ``TransformedDistribution`` (transformed.py)."""
from eigengrad.distributions.transformed import (
    AbsTransform, AffineTransform, ComposeTransform, ExpTransform, PowerTransform, SigmoidTransform, SoftplusTransform,
    TanhTransform, Transform,
)

__all__ = ["Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
           "SoftplusTransform", "PowerTransform", "AbsTransform"]
