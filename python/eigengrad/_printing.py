"""How tensors print: PyTorch's ``set_printoptions`` over NumPy's array formatting (for eigengrad's
tensors only: NumPy's own print options are left alone)."""
from __future__ import annotations

import math
import sys

import numpy as np

# PyTorch's profiles: precision, threshold, edgeitems, linewidth
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
# NumPy's formatting until set_printoptions is called (eigengrad's repr before it existed)
_options: dict = {"precision": None, "threshold": 1000, "edgeitems": None, "linewidth": None, "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: digits after the point (``precision``), the
    element count above which the middle is elided (``threshold``) and the items kept at each edge
    (``edgeitems``), the line width, a ``profile`` ('default', 'short', 'full') and ``sci_mode``
    (True: always scientific notation, False: never, None: NumPy's choice)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"profile: expected one of {', '.join(map(repr, _PROFILES))}, got {profile!r}")
        _options.update(zip(("precision", "threshold", "edgeitems", "linewidth"), _PROFILES[profile]))
    for name, value in (("precision", precision), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
            _options[name] = value
    if threshold is not None:
        _options["threshold"] = threshold
    if sci_mode is not None and not isinstance(sci_mode, bool):
        raise TypeError(f"sci_mode: expected True, False or None, got {sci_mode!r}")
    _options["sci_mode"] = sci_mode


def format_array(data: np.ndarray, prefix: str) -> str:
    """``data`` as a tensor repr's body, with the options above."""
    o = _options
    threshold = o["threshold"]
    kwargs = dict(separator=", ", prefix=prefix,
                  threshold=sys.maxsize if threshold == math.inf else int(threshold))
    if o["precision"] is not None:
        kwargs["precision"] = o["precision"]
    if o["edgeitems"] is not None:
        kwargs["edgeitems"] = o["edgeitems"]
    if o["linewidth"] is not None:
        kwargs["max_line_width"] = o["linewidth"]
    if o["sci_mode"] is False:
        kwargs["suppress_small"] = True
    elif o["sci_mode"] is True and data.dtype.kind == "f":
        digits = 4 if o["precision"] is None else o["precision"]
        kwargs["formatter"] = {"float_kind": lambda x: f"{x:.{digits}e}"}
    return np.array2string(data, **kwargs)

