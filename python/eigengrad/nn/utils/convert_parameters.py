"""``parameters_to_vector`` and ``vector_to_parameters`` (``torch.nn.utils.convert_parameters``)."""
from __future__ import annotations

from typing import Iterable

from eigengrad.tensor import Tensor


def _check(t, what: str = "torch.Tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"expected {what}, but got: {type(t).__name__}")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one vector (differentiable w.r.t. them)."""
    from eigengrad import functions

    vec = []
    for p in parameters:
        _check(p)
        vec.append(p.reshape(-1))
    if not vec:
        raise ValueError("parameters_to_vector: expected at least one parameter, got none")
    return functions.cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copies consecutive slices of ``vec`` into the parameters' data (not recorded by autograd, as
    PyTorch's ``param.data = ...``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params if isinstance(p, Tensor))
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vec: expected a vector of {total} elements (the parameters' total), got shape {vec.shape}")
    from eigengrad.autograd.grad_mode import no_grad

    pointer = 0
    flat = vec.detach()
    with no_grad():  # (Tensor.copy_: an in-place change eg.compile records, so a compiled step replays it)
        for p in params:
            _check(p)
            n = p.numel()
            p.copy_(flat[pointer:pointer + n].view(p.shape))
            pointer += n
