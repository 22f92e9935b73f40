"""``torch.types``: the aliases type hints use (``from torch.types import Number``)."""
from __future__ import annotations

import builtins
import os
from typing import IO, Any, Sequence, Union  # noqa: F401  (re-exported, as PyTorch's module does)

from eigengrad._device import device as _device_type
from eigengrad.tensor import Size, Tensor

_int, _float, _bool, _complex, _str, _bytes = builtins.int, builtins.float, builtins.bool, builtins.complex, \
    builtins.str, builtins.bytes
Number = Union[_int, _float, _bool]
_Number = (_int, _float, _bool)
IntLikeType = _int
FloatLikeType = _float
BoolLikeType = _bool
Device = Union[_device_type, _str, _int, None]
FileLike = Union[_str, os.PathLike, IO[_bytes]]
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
_size = Union[Size, Sequence[_int]]

__all__ = ["Number", "Device", "FileLike", "IntLikeType", "FloatLikeType", "BoolLikeType", "Tensor", "Size"]
