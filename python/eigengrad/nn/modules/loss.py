"""Loss modules."""
from __future__ import annotations

from eigengrad.autograd.ops import check_reduction
from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy over class logits with integer targets (fused forward/backward kernel)."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100) -> None:
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.cross_entropy(input, target, reduction=self.reduction, ignore_index=self.ignore_index)


class MSELoss(_Loss):
    """Mean-squared error mean((x - y)^2)."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
