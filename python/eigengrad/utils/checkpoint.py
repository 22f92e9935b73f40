"""``torch.utils.checkpoint``: activation checkpointing's API. PyTorch recomputes a checkpointed segment's
forward during backward to save memory; eigengrad runs the segment once and keeps its activations (its
CPU training runs at batch sizes where they fit), so the results (values, gradients, random draws) are the
same as without checkpointing, and so are PyTorch's up to its recomputation. ``use_reentrant`` and the other
options are accepted and change nothing."""
from __future__ import annotations

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]


def _reentrant_warning(use_reentrant) -> None:
    if use_reentrant is None:  # PyTorch 2.13's warning, so that a ported script sees what it would see there
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
                      "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", UserWarning, stacklevel=3)


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=None, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)``, its activations kept (see the module's doc)."""
    _reentrant_warning(use_reentrant)
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """``functions`` (a Sequential or a list of modules) applied in order to ``input``, in ``segments``
    checkpointed parts (here: run once, as ``checkpoint``)."""
    _reentrant_warning(use_reentrant)
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    if int(segments) < 1:
        raise ValueError(f"segments: expected a positive number of segments, got {segments}")
    for f in functions:
        input = f(input)
    return input
