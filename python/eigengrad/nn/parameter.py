"""``Parameter``: a tensor that a Module registers as learnable."""
from __future__ import annotations

import numpy as np

from eigengrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` by default, registered when set as a Module attribute.

    Shares the array of the tensor or ndarray it is built from (no copy), as ``torch.nn.Parameter``.
    """

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        arr = data._data if isinstance(data, Tensor) else data
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
