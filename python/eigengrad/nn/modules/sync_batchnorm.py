"""``SyncBatchNorm``: batch norm whose statistics are those of the whole batch across the ranks
(``torch.nn.SyncBatchNorm``), so that N ranks with batches of B normalise as one process with N * B.

Forward (training, more than one rank): each rank's per-channel count, mean and biased variance (the
batch-norm kernel, statistics in double) are all-gathered and merged in rank order with Chan et al.'s
pairwise formula (no sum-of-squares cancellation, the same bits on every rank); the input is then
normalised with the global statistics by the evaluation-mode kernel.

Backward: with xhat = (x - mean) * invstd and M the global count, the gradient of the whole batch's
loss is dx = w * invstd * (dy - (sum dy + xhat * sum dy * xhat) / M) with the sums over every rank. The
evaluation-mode backward gives w * invstd * dy and this rank's sum dy and sum dy * xhat; one all-reduce
makes them global, and the evaluation-mode forward kernel computes the correction as an affine map of
xhat (weight -w * invstd * sum(dy xhat) / M, bias -w * invstd * sum(dy) / M). The weight and bias get
this rank's sums: DistributedDataParallel averages them with the other gradients.

Outside training, or without a process group of more than one rank, it is plain BatchNorm.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive
from eigengrad.nn.modules.batchnorm import _BatchNorm
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def merge_statistics(stats: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Count, mean and biased variance per channel of the union of the ranks' samples, from ``stats``
    (ranks, 3, C): each rank's count, mean and biased variance; merged in rank order (Chan et al. 1979)."""
    total = 0.0
    mean = np.zeros(stats.shape[2])
    m2 = np.zeros(stats.shape[2])
    for count, m, v in stats:
        n = float(count[0])
        if n == 0:
            continue
        delta = m - mean
        both = total + n
        mean = mean + delta * (n / both)
        m2 = m2 + v * n + delta * delta * (total * n / both)
        total = both
    return total, mean, m2 / max(total, 1.0)


class SyncBatchNormFunction(Primitive):
    """Batch norm with the statistics of every rank's batch (see the module docstring)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, momentum=0.1, eps=1e-5, world=None):
        from eigengrad.distributed import collectives as C

        _, local_mean, local_invstd = K.batch_norm_forward(x, None, None, None, None, True, 0.0, eps)
        count = x.size // x.shape[1] if x.shape[1] else 0
        local_var = np.maximum(1.0 / (local_invstd * local_invstd) - eps, 0.0) if count else np.zeros_like(local_mean)
        mine = np.stack([np.full_like(local_mean, count), local_mean, local_var])
        every = np.empty((world.size,) + mine.shape)
        C.all_gather(list(every), mine)
        total, mean, var = merge_statistics(every)
        if total <= 1:
            raise ArgumentError(f"Expected more than 1 value per channel when training, got {int(total)} over all "
                                "ranks "
                             f"(input size {x.shape} on rank {world.rank})")
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            running_var[...] = (1 - momentum) * running_var + momentum * var * (total / (total - 1))
        stats = mean.astype(x.dtype), var.astype(x.dtype)
        y, save_mean, save_invstd = K.batch_norm_forward(x, weight, bias, *stats, False, 0.0, eps)
        ctx.save_for_backward(x, weight, save_mean, save_invstd)
        ctx.stats, ctx.total, ctx.eps, ctx.world = stats, total, eps, world
        return y

    @staticmethod
    def backward(ctx, g):
        from eigengrad.distributed import collectives as C

        x, weight, save_mean, save_invstd = ctx.saved
        need = ctx.needs_input_grad
        dx, dw, db = K.batch_norm_backward(g, x, save_mean, save_invstd, weight, False, grads=(need[0], True, True))
        if need[0]:
            sums = np.stack([db, dw]).astype(np.float64)
            C.all_reduce(sums)
            scale = (np.ones_like(save_invstd) if weight is None else weight.astype(np.float64)) * save_invstd / ctx.total
            correction, _, _ = K.batch_norm_forward(x, (-scale * sums[1]).astype(x.dtype), (-scale * sums[0]).astype(x.dtype),
                                                    *ctx.stats, False, 0.0, ctx.eps)
            dx += correction
        return dx, (dw if weight is not None and need[1] else None), (db if len(need) > 2 and need[2] else None)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over dim 1 of (N, C, *) input with statistics over the whole batch of all ranks in
    training (PyTorch's arguments and buffers; ``process_group`` must be None: the default group)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None) -> None:
        if process_group is not None:
            raise ArgumentError(f"process_group: only the default group exists; expected None, got {process_group!r}")
        if device not in (None, "cpu"):
            raise ArgumentError(f"device: eigengrad runs on the CPU; expected None or 'cpu', got {device!r}")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        self.process_group = None

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ArgumentError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ArgumentError(f"SyncBatchNorm: expected input of shape (N, {self.num_features}, *), got "
                                f"{input.shape}")

    def forward(self, input: Tensor) -> Tensor:
        from eigengrad.distributed.process_group import _world

        if not (self.training and _world is not None and _world.size > 1):
            return super().forward(input)
        self._check_input_dim(input)
        running_mean, running_var, momentum = self._statistics(input, check_values=False)
        p = self._parameters
        return SyncBatchNormFunction.apply(
            input, p["weight"], p["bias"], running_mean=None if running_mean is None else running_mean._data,
            running_var=None if running_var is None else running_var._data, momentum=momentum, eps=self.eps,
            world=_world)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm*d layer replaced by a SyncBatchNorm sharing its parameters,
        buffers and mode (the module itself when it is one)."""
        if process_group is not None:
            raise ArgumentError(f"process_group: only the default group exists; expected None, got {process_group!r}")
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
            for store in ("_parameters", "_buffers"):
                getattr(out, store).update(getattr(module, store))
            object.__setattr__(out, "training", module.training)
            if "_keep_eval" in module.__dict__:
                object.__setattr__(out, "_keep_eval", module.__dict__["_keep_eval"])
            return out
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child)
        return module
