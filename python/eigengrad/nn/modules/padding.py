"""PyTorch's padding layers (``torch.nn.modules.padding``): Constant/Zero/Reflection/Replication/Circular
Pad for 1, 2 and 3 padded dims, each ``F.pad`` with the layer's mode. ``padding`` is an int (every side)
or a tuple of 2N ints in F.pad's order (left, right, top, bottom, front, back)."""
from __future__ import annotations

import numbers

from eigengrad.nn._functional_pad import pad
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        self.padding = _expand(padding, self.dims, type(self).__name__)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


def _expand(padding, dims: int, name: str) -> tuple:
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * (2 * dims)
    if not isinstance(padding, (tuple, list)) or len(padding) != 2 * dims:
        raise ValueError(f"{name}: padding must be an int or a tuple of {2 * dims} ints, got {padding!r}")
    return tuple(padding)


def _layer(name: str, mode: str, dims: int, doc: str, constant_value: float | None = None) -> type:
    if mode == "constant" and constant_value is None:  # ConstantPadNd(padding, value)
        def __init__(self, padding, value: float) -> None:
            _PadNd.__init__(self, padding, value)
    elif mode == "constant":  # ZeroPadNd(padding)
        def __init__(self, padding) -> None:
            _PadNd.__init__(self, padding, 0.0)
    else:
        def __init__(self, padding) -> None:
            _PadNd.__init__(self, padding)
    return type(name, (_PadNd,), {"mode": mode, "dims": dims, "__init__": __init__, "__doc__": doc,
                                  "__module__": __name__})


_MODES = {"ConstantPad": ("constant", "pads with a constant ``value``"),
          "ZeroPad": ("constant", "pads with zeros"),
          "ReflectionPad": ("reflect", "pads with the reflection of the input (edge not repeated)"),
          "ReplicationPad": ("replicate", "pads by repeating the edge"),
          "CircularPad": ("circular", "pads by wrapping around")}
__all__ = []
for _stem, (_mode, _what) in _MODES.items():
    for _dims in (1, 2, 3):
        _name = f"{_stem}{_dims}d"
        globals()[_name] = _layer(_name, _mode, _dims, f"{_name}: {_what} over the last {_dims} dim(s) (F.pad).",
                                  0.0 if _stem == "ZeroPad" else None)
        __all__.append(_name)
