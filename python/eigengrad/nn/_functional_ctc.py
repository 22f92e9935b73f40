"""``ctc_loss``: the connectionist temporal classification loss (``autograd/ops_ctc.py`` has the math), with
PyTorch's shapes, target layouts, reductions and checks."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd.ops import numpy_call
from eigengrad.autograd.ops_ctc import CTCLoss
from eigengrad.nn._functional_loss import _check_reduction, _input
from eigengrad.tensor import Tensor


def _lengths(value, name: str, n: int) -> np.ndarray:
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.floor(arr))):
        raise TypeError(f"{name}: expected integer lengths, got dtype {arr.dtype}")
    arr = arr.astype(np.int64).reshape(-1)
    if arr.size != n:
        raise ArgumentError(f"{name}: {name} must be of size batch_size ({n}), got {arr.size} lengths")
    if np.any(arr < 0):
        raise ArgumentError(f"{name}: expected non-negative lengths, got {arr.tolist()}")
    return arr


def _padded_targets(targets: np.ndarray, target_lengths: np.ndarray, n: int) -> np.ndarray:
    """(N, S) targets from PyTorch's two layouts: padded (N, S) or the N targets concatenated."""
    if targets.ndim == 2:
        if targets.shape[0] != n:
            raise ArgumentError(f"targets: expected {n} rows (the batch size), got shape {targets.shape}")
        if target_lengths.size and target_lengths.max() > targets.shape[1]:
            raise ArgumentError(f"targets: Expected tensor to have size at least {int(target_lengths.max())} at "
                                f"dimension 1, but got size {targets.shape[1]} for argument #2 'targets'")
        return targets
    if targets.ndim != 1:
        raise ArgumentError(f"targets: expected a 1-D (concatenated) or 2-D (N, S) tensor, got shape {targets.shape}")
    if int(target_lengths.sum()) != targets.size:
        raise ArgumentError(f"targets: the concatenated targets hold {targets.size} labels, but target_lengths sum "
                            f"to {int(target_lengths.sum())}")
    out = np.zeros((n, int(target_lengths.max(initial=0))), np.int64)
    starts = np.concatenate([[0], np.cumsum(target_lengths)[:-1]])
    for i, (s, k) in enumerate(zip(starts, target_lengths)):
        out[i, :k] = targets[s:s + k]
    return out


def _checked_targets(targets, input_lengths, target_lengths, t_max: int, c: int, blank: int):
    """The (N, S) targets after PyTorch's checks of lengths and labels (a plan step when compiled)."""
    if input_lengths.size and input_lengths.max() > t_max:
        raise ArgumentError(f"input_lengths: Expected input_lengths to have value at most {t_max}, but got value "
                            f"{int(input_lengths.max())}")
    n = input_lengths.size
    padded = _padded_targets(np.asarray(targets).astype(np.int64), target_lengths, n)
    used = np.arange(padded.shape[1])[None, :] < target_lengths[:, None]
    bad = used & ((padded < 0) | (padded >= c))
    if np.any(bad):
        raise IndexError(f"targets: label {int(padded[bad][0])} is out of range for {c} classes")
    return np.where(used, padded, blank)


def ctc_loss(log_probs: Tensor, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    """CTC loss (Graves et al. 2006) of ``log_probs`` (T, N, C) (or (T, C) unbatched; log_softmax outputs)
    against ``targets`` (N, S) padded or the targets concatenated (1-D), with each sequence's
    ``input_lengths`` and ``target_lengths``. 'mean' divides each loss by its target length (at least 1)
    and averages over the batch, as PyTorch; ``zero_infinity`` zeroes impossible alignments (inf losses)
    and their gradients."""
    _input(log_probs, "log_probs")
    reduction = _check_reduction(reduction)
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise ArgumentError(f"log_probs: expected (T, N, C) or (T, C), got shape {log_probs.shape}")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    t_max, n, c = lp.shape
    if not 0 <= int(blank) < c:
        raise ArgumentError(f"blank: blank must be in label range [0, {c}), got {blank}")
    t = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"targets: expected integer labels, got dtype {t.dtype}")
    if unbatched:
        t = t.reshape(1, -1)
    il, tl = _lengths(input_lengths, "input_lengths", n), _lengths(target_lengths, "target_lengths", n)
    padded = numpy_call(_checked_targets, t, il, tl, t_max, c, int(blank))
    losses = CTCLoss.apply(lp, padded, il, tl, blank=int(blank), zero_infinity=bool(zero_infinity))
    if reduction == "none":
        return losses.reshape(()) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    return (losses / Tensor._wrap(np.maximum(tl, 1).astype(lp._data.dtype))).mean()
