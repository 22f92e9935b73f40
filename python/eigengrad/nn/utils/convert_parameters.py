"""``torch.nn.utils.parameters_to_vector`` / ``vector_to_parameters``: all parameters as one flat vector
(second-order methods, evolution strategies, weight averaging) and back."""
from __future__ import annotations

from eigengrad.tensor import Tensor


def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and concatenated, in order (differentiable: the gradient goes back to each)."""
    from eigengrad.tensor_ops.shape import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data, in order (as PyTorch: ``param.data``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vec: expected a 1-D tensor of {total} elements (the parameters' count), got shape "
                         f"{tuple(vec.shape)}")
    offset = 0
    for p in params:
        n = p.numel()
        p.data = vec.detach()[offset:offset + n].reshape(p.shape).clone()
        offset += n
