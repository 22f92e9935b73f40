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

    def __deepcopy__(self, memo) -> "Parameter":
        """A copy of the data with the same requires_grad and no gradient (PyTorch's Parameter copy: a
        deep-copied model, an EMA or a target network, starts without its source's .grad)."""
        t = super().__deepcopy__(memo)
        t.grad = None
        return t

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """PyTorch's ``nn.Buffer`` (2.5+): a tensor that a Module registers as a buffer when it is assigned as an
    attribute (``self.table = nn.Buffer(t, persistent=False)`` is ``register_buffer``). The module keeps a plain
    tensor sharing its memory."""

    def __init__(self, data=None, *, persistent: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        super().__init__(data._data if isinstance(data, Tensor) else data)
        self.persistent = bool(persistent)
