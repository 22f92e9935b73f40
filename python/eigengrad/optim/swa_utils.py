"""``torch.optim.swa_utils``: weight averaging (Izmailov et al., "Averaging weights leads to wider optima
and better generalization", UAI 2018) and exponential moving averages of a model's weights.

``AveragedModel`` keeps a copy of the model whose parameters are the running average of the model's
(SWA's equal-weight mean by default, or an EMA through ``get_ema_multi_avg_fn``); ``SWALR`` anneals each
group's rate to its ``swa_lr``; ``update_bn`` recomputes BatchNorm's running statistics for the averaged
weights with one pass over the data. The arithmetic is PyTorch's, so the averages equal its own.
"""
from __future__ import annotations

import copy
import math

from eigengrad import _dtype
from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.modules.batchnorm import _BatchNorm
from eigengrad.nn.modules.module import Module
from eigengrad.optim._schedulers.base import LRScheduler, warn_get_lr_called_within_step
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.creation import tensor

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999):
    """ema <- decay ema + (1 - decay) current, over lists of tensors (in place: ``lerp``)."""
    _check_decay(decay)
    def ema_update(ema_param_list, current_param_list, _):
        for ema, cur in zip(ema_param_list, current_param_list):
            if ema._data.dtype.kind in "fc":
                ema.lerp_(cur, 1 - decay)
            else:  # (an integer buffer: PyTorch's copy_ of the float mix, truncated)
                ema.copy_(ema * decay + cur * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """averaged <- averaged + (current - averaged) / (n + 1), over lists of tensors (in place)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged.item()) if isinstance(num_averaged, Tensor) else float(num_averaged)
        for avg, cur in zip(averaged_param_list, current_param_list):
            avg.add_((cur - avg) / (n + 1) if isinstance(num_averaged, Tensor) else (cur - avg) * (1.0 / (n + 1)))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """One tensor's EMA: ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """One tensor's running mean: ``averaged + (current - averaged) / (num_averaged + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _by_dtype(mine: list, theirs: list) -> list:
    """([averaged], [current]) per dtype of the averaged tensors, in first-seen order (PyTorch groups them so:
    a multi_avg_fn sees one dtype at a time)."""
    groups: dict = {}
    for a, b in zip(mine, theirs):
        g = groups.setdefault(a._data.dtype, ([], []))
        g[0].append(a)
        g[1].append(b)
    return list(groups.values())


class AveragedModel(Module):
    """A copy of ``model`` (``module``) whose parameters are an average of the model's over the calls of
    :meth:`update_parameters`; ``n_averaged`` counts them (a buffer: saved with the state_dict).

    ``avg_fn(averaged, current, n)`` returns one tensor's new average; ``multi_avg_fn(averaged_list,
    current_list, n)`` updates lists in place; neither: SWA's equal-weight mean. With ``use_buffers`` the
    floating buffers (BatchNorm's statistics) are averaged too, else they are copied from the model at every
    update; integer buffers (``num_batches_tracked``) are always copied (PyTorch 2.13 averages them into
    their integer dtype: a float32 model's update raises, a float64 one's truncates).
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged(self, model: Module) -> tuple[list, list]:
        if self.use_buffers:  # (every buffer, as PyTorch: an integer count too, its average truncated)
            return ([*self.module.parameters(), *self.module.buffers()], [*model.parameters(), *model.buffers()])
        return list(self.parameters()), list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        mine, theirs = self._averaged(model)
        mine = [p.detach() for p in mine]
        theirs = [p.detach() for p in theirs]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, b in zip(mine, theirs):
                    a.copy_(b)
            elif self.multi_avg_fn is not None:  # (PyTorch's: one call per dtype; integer buffers averaged too)
                for group in _by_dtype(mine, theirs):
                    self.multi_avg_fn(*group, self.n_averaged)
            else:
                avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                for a, b in zip(mine, theirs):
                    a.copy_(avg_fn(a, b, self.n_averaged))
            if not self.use_buffers:  # the buffers follow the model's
                for a, b in zip(self.module.buffers(), model.buffers()):
                    a.copy_(b.detach())
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute every BatchNorm's running statistics with one pass of ``loader``'s inputs through
    ``model`` (the first element of a tuple or list batch), as the cumulative average over the pass
    (momentum None); the momenta and the training mode are restored after."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's rate from its current value to ``swa_lr`` over ``anneal_epochs`` steps
    (``'cos'``: alpha = (1 - cos(pi t)) / 2, or ``'linear'``: alpha = t), then keeps it there."""

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        groups = optimizer.param_groups
        lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(lrs) != len(groups):
            raise ValueError(f"swa_lr must have the same length as optimizer.param_groups. swa_lr has {len(lrs)} "
                             f"values, param_groups has {len(groups)}.")
        for lr, group in zip(lrs, groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_strategy = anneal_strategy  # (saved by state_dict; anneal_func follows it)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_func(self):
        """The interpolation for ``anneal_strategy``: a property, so that a checkpoint holds the strategy's name
        (as PyTorch's ``state_dict``) rather than a function ``load(weights_only=True)`` refuses."""
        return self._cosine_anneal if self._anneal_strategy == "cos" else self._linear_anneal

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]
