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


class UninitializedParameter(Parameter):
    """A lazy layer's parameter before its first forward (``torch.nn.parameter.UninitializedParameter``): empty,
    so that ``isinstance(p, UninitializedParameter)`` tells a script to skip it (counting parameters,
    initialising weights). The first forward puts a real ``Parameter`` in its place."""

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        super().__init__(_empty(device, dtype), requires_grad)


class UninitializedBuffer(Tensor):
    """A lazy layer's buffer before its first forward (``torch.nn.parameter.UninitializedBuffer``): empty."""

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        super().__init__(_empty(device, dtype), requires_grad=requires_grad)


def _empty(device, dtype) -> np.ndarray:
    from eigengrad import _dtype
    from eigengrad._device import check_device
    from eigengrad.tensor import get_default_dtype

    check_device(device)
    return np.empty((0,), dtype=_dtype.to_numpy(dtype) or get_default_dtype().dtype)


def is_lazy(param) -> bool:
    """True for a lazy layer's parameter or buffer that its first forward has not made yet."""
    return isinstance(param, (UninitializedParameter, UninitializedBuffer))
