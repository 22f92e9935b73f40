"""Loss modules with PyTorch's names, defaults and reductions (``torch.nn`` losses).

Constructors take PyTorch 2.13's parameters in PyTorch's positional order, including the deprecated
``size_average``/``reduce``: given, they set ``reduction`` at construction, with PyTorch's UserWarning
(``_Loss.__init__``, through ``eigengrad.nn._reduction.legacy_get_string``). Class weights and
``pos_weight`` are registered as buffers (in ``state_dict``, moved by ``.to(dtype)``), as in PyTorch.
"""
from __future__ import annotations

from eigengrad.nn import _reduction as _R
from eigengrad.nn import functional as F
from eigengrad.nn.modules._deprecated import deprecated_class
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor, as_tensor
from eigengrad._errors import ArgumentError


class _Loss(Module):
    # the reductions the constructor accepts; 'elementwise_mean' is kept as given (PyTorch's modules keep it)
    # and the forward's functional maps it to 'mean' with PyTorch's warning, or refuses it, as PyTorch's does
    _reductions = ("mean", "sum", "none", "elementwise_mean")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        reduction = _R.resolve(size_average, reduce, reduction)
        if reduction not in self._reductions:
            _R.check(reduction, self._reductions[:-1])
        self.reduction = reduction


def _buffer(value) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return as_tensor(value)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy over class logits (see :func:`eigengrad.nn.functional.cross_entropy`)::

        loss_i = (1 - eps) w[t_i] (-log softmax(x_i)[t_i]) + eps / C * sum_c w[c] (-log softmax(x_i)[c])

    ``weight``: class weights (C,), 'mean' divides by sum_i w[t_i] over the rows not ignored;
    ``ignore_index``: targets that add nothing; ``label_smoothing`` eps in [0, 1] (also applied to
    probability targets: (1 - eps) p + eps / C). Fused C++ kernels, forward and backward.
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = F._check_smoothing(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities: loss_i = -w[t_i] x_i[t_i]; weighted mean as PyTorch."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities: -w (y log x + (1 - y) log(1 - x)), logs clamped at -100."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable, fused kernel:
    w ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))). ``pos_weight`` weighs the positive examples
    (e.g. n_negative / n_positive per class, shape (C,))."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    """Mean-squared error (x - y)^2."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - y|."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta), d = x - y."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, d = x - y."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class KLDivLoss(_Loss):
    """KL(P || Q) with input = log Q and target = P (or log P with ``log_target``): p (log p - x).
    'batchmean' gives the KL divergence per sample; 'mean' (PyTorch's default) averages over all elements."""

    _reductions = ("mean", "batchmean", "sum", "none", "elementwise_mean")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class DistillationLoss(Module):
    """Knowledge distillation (Hinton, Vinyals & Dean 2015)::

        loss = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))  +  (1 - alpha) * CE(z_s, labels)

    The KL term is batch-averaged ('batchmean'); the teacher's logits get no gradient. Call as
    ``loss_fn(student_logits, teacher_logits, labels)``. ``weight``/``ignore_index``/``label_smoothing``
    and ``reduction`` ('mean' or 'sum') apply to the CE term. See
    :func:`eigengrad.nn.functional.distillation_loss`.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.5, *, weight=None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not (isinstance(temperature, (int, float)) and temperature > 0):
            raise ArgumentError(f"temperature: expected a number > 0, got {temperature!r}")
        if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
            raise ArgumentError(f"alpha: expected a number in [0, 1], got {alpha!r}")
        if reduction not in ("mean", "sum"):
            raise ArgumentError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = F._check_smoothing(label_smoothing)
        self.register_buffer("weight", _buffer(weight))

    def forward(self, student_logits, teacher_logits, target):
        return F.distillation_loss(student_logits, teacher_logits, target, temperature=self.temperature,
                                   alpha=self.alpha, reduction=self.reduction, weight=self.weight,
                                   ignore_index=self.ignore_index, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"


@deprecated_class("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                   "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.")
class NLLLoss2d(NLLLoss):
    """Deprecated: ``NLLLoss`` (which takes (N, C, d1, ...) inputs) under its old name."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


# PyTorch's module path torch.nn.modules.loss also holds the margin and likelihood losses
from eigengrad.nn.modules.loss_margin import (  # noqa: E402,F401
    CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
