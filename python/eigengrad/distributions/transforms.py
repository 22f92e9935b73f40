"""``torch.distributions.transforms``: the transforms of ``TransformedDistribution`` (transformed.py: the
elementwise ones; structured_transforms.py: those over event dims or made of others)."""
from eigengrad.distributions.structured_transforms import (
    CatTransform, CorrCholeskyTransform, CumulativeDistributionTransform, IndependentTransform,
    LowerCholeskyTransform, PositiveDefiniteTransform, ReshapeTransform, SoftmaxTransform, StackTransform,
    StickBreakingTransform,
)
from eigengrad.distributions.transformed import (
    AbsTransform, AffineTransform, ComposeTransform, ExpTransform, PowerTransform, SigmoidTransform, SoftplusTransform,
    TanhTransform, Transform, identity_transform,
)

__all__ = ["Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
           "SoftplusTransform", "PowerTransform", "AbsTransform", "CatTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform", "StackTransform",
           "StickBreakingTransform", "identity_transform"]
