"""``torch.utils.checkpoint``: activation checkpointing's API. PyTorch recomputes a checkpointed segment's
forward during backward to save memory; eigengrad runs the segment once and keeps its activations (its
CPU training runs at batch sizes where they fit), so the results (values, gradients, random draws) are the
same as without checkpointing, and so are PyTorch's up to its recomputation. The other options are accepted
and change nothing.

``use_reentrant=True`` (and PyTorch 2.13's default, None, with its warning) keeps the reentrant variant's rules,
which change what trains: keyword arguments are refused, and when no input tensor requires grad the segment runs
without recording (PyTorch's warning "None of the inputs have requires_grad=True"): its parameters get no
gradient, the pitfall Hugging Face's ``enable_input_require_grads`` exists for."""
from __future__ import annotations

import contextlib
import enum
import warnings

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointPolicy", "noop_context_fn",
           "create_selective_checkpoint_contexts", "set_checkpoint_debug_enabled"]


class CheckpointError(RuntimeError):
    """PyTorch's error for a recomputation that differs from the forward (never raised here: nothing is
    recomputed)."""


class CheckpointPolicy(enum.Enum):
    """Selective checkpointing's choice per operation (saved or recomputed); everything is saved here."""
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


def noop_context_fn():
    """The default ``context_fn``: two contexts that do nothing."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation: bool = False):
    """A ``context_fn`` for selective checkpointing (a policy function or a list of operations to save): the
    contexts do nothing here, as every activation is kept."""
    if not (callable(policy_fn_or_list) or isinstance(policy_fn_or_list, (list, tuple))):
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    return noop_context_fn()


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """PyTorch's debug switch for recomputation errors (nothing is recomputed here)."""
    yield


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
    return _run(function, args, kwargs, use_reentrant is not False)


def _run(function, args: tuple, kwargs: dict, reentrant: bool):
    if not reentrant:
        return function(*args, **kwargs)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from eigengrad.autograd.grad_mode import no_grad
    from eigengrad.tensor import Tensor

    if any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return function(*args)
    warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", UserWarning, stacklevel=3)
    with no_grad():
        return function(*args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """``functions`` (a Sequential or a list of modules) applied in order to ``input``, in ``segments`` parts,
    all but the last checkpointed (run once here, with ``checkpoint``'s rules for ``use_reentrant``)."""
    _reentrant_warning(use_reentrant)
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    if int(segments) < 1:
        raise ValueError(f"segments: expected a positive number of segments, got {segments}")
    functions = list(functions)
    size = len(functions) // int(segments)  # PyTorch's split: equal parts, the last one takes the rest
    end = -1
    for start in range(0, size * (int(segments) - 1), size):
        end = start + size - 1
        part = functions[start:end + 1]
        input = _run(lambda x, part=part: _chain(part, x), (input,), {}, use_reentrant is not False)
    return _chain(functions[end + 1:], input)


def _chain(functions: list, x):
    for f in functions:
        x = f(x)
    return x
