"""How tensors print: PyTorch's format (``torch/_tensor_str.py``'s rules) and ``set_printoptions``.

A float tensor's values share one format, chosen from its nonzero finite values: whole numbers print as
``1.`` (or in scientific notation), others with ``precision`` digits after the point, and scientific
notation (``1.0000e-05``) is used when the largest is over 1e8, the smallest under 1e-4, or their ratio over
1000 (unless ``sci_mode`` says otherwise). Every value is right-aligned to the widest; a row wraps at
``linewidth``; a tensor of more than ``threshold`` elements shows ``edgeitems`` at each end of every
dimension around ``...``. A complex value prints as ``1.5000-2.0000j``: the real parts share one such format,
the imaginary parts another. The suffixes (``size=``, ``dtype=``, ``grad_fn=``) follow PyTorch's rules and wrap
where PyTorch's would, counting 'eigengrad.' as PyTorch's 'torch.'. NumPy's own print options are left alone.
"""
from __future__ import annotations

import math

import numpy as np

# PyTorch's profiles: precision, threshold, edgeitems, linewidth
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
_options: dict = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: digits after the point (``precision``), the
    element count above which the middle is elided (``threshold``) and the items kept at each edge
    (``edgeitems``), the line width, a ``profile`` ('default', 'short', 'full') and ``sci_mode``
    (True: always scientific notation, False: never, None: chosen from the values, PyTorch's rule)."""
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


class _Formatter:
    """One format for every value of a tensor (from its summarized values), as PyTorch's."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = _options["precision"]
        if not self.floating:
            for v in values.reshape(-1).tolist():
                self.width = max(self.width, len(f"{v}"))
            return
        finite = values[np.isfinite(values) & (values != 0)].reshape(-1)
        if finite.size == 0:
            return
        self.int_mode = bool(np.all(finite == np.ceil(finite)))  # in the tensor's own dtype, as PyTorch
        magnitude = np.abs(finite.astype(np.float64))
        lo, hi = float(magnitude.min()), float(magnitude.max())
        sci = _options["sci_mode"]
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if sci is None else sci
        for v in finite.tolist():
            if self.sci_mode:
                text = f"{v:.{p}e}"
            elif self.int_mode:
                text = f"{v:.0f}" + "."
            else:
                text = f"{v:.{p}f}"
            self.width = max(self.width, len(text))

    def format(self, v) -> str:
        p = _options["precision"]
        if not self.floating:
            text = f"{v}"
        elif self.sci_mode:
            text = f"{v:{self.width}.{p}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{p}f}"
        return " " * (self.width - len(text)) + text


class _ComplexFormatter:
    """PyTorch's complex format: the real parts share one format, the imaginary parts another, and a value
    prints as ``real+imagj`` (``1.5000-2.0000j``); ``width`` (the two parts' widths and 1 for the ``j``) is what
    PyTorch counts to fit the values on a line."""

    def __init__(self, values: np.ndarray) -> None:
        self.real, self.imag = _Formatter(values.real), _Formatter(values.imag)
        self.width = self.real.width + self.imag.width + 1

    def format(self, v) -> str:
        v = complex(v)
        imag = (self.imag.format(v.imag) + "j").lstrip()
        return self.real.format(v.real) + ("" if imag[0] in "+-" else "+") + imag


def _formatter(values: np.ndarray):
    return _ComplexFormatter(values) if values.dtype.kind == "c" else _Formatter(values)


def _summarized(data: np.ndarray, edge: int) -> np.ndarray:
    """The values a summarized print shows: ``edge`` items at each end of every dimension."""
    for axis, n in enumerate(data.shape):
        if n > 2 * edge:
            data = np.concatenate([np.take(data, range(edge), axis), np.take(data, range(n - edge, n), axis)], axis)
    return data


def _vector(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = _options["edgeitems"]
    per_line = max(1, math.floor((_options["linewidth"] - indent) / (fmt.width + 2)))
    if summarize and not edge:
        items = ["..."]
    elif summarize and data.shape[0] > 2 * edge:
        items = ([fmt.format(v) for v in data[:edge].tolist()] + [" ..."]
                 + [fmt.format(v) for v in data[-edge:].tolist()])
    else:
        items = [fmt.format(v) for v in data.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector(data, indent, summarize, fmt)
    edge, n = _options["edgeitems"], data.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_nested(data[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                + [_nested(data[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_nested(data[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_array(data: np.ndarray, indent: int) -> str:
    """``data`` as a tensor repr's body (after a prefix of ``indent`` characters), PyTorch's format."""
    if data.size == 0:
        return "[]"
    summarize = data.size > _options["threshold"]
    fmt = _formatter(_summarized(data, _options["edgeitems"]) if summarize else data)
    return _nested(data, indent, summarize, fmt)


def tensor_repr(data: np.ndarray, dtype, grad_fn: str | None, requires_grad: bool, prefix: str = "tensor(") -> str:
    """A tensor's repr, PyTorch's: ``prefix``, the values, then the suffixes: ``size=`` (an empty tensor not
    1-d, or any tensor while ``edgeitems`` is 0), ``dtype=`` (a dtype not the default: the default float
    dtype, its complex dtype, int64 and bool; an empty tensor shows any dtype but the default float one),
    ``grad_fn=<...>`` or ``requires_grad=True``."""
    from eigengrad.tensor import get_default_dtype  # (tensor imports this module)

    default = get_default_dtype()
    suffixes = []
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        shown = dtype != default
    else:
        if not _options["edgeitems"]:
            suffixes.append(f"size={tuple(data.shape)}")
        complex_default = np.complex128 if default == np.float64 else np.complex64
        shown = not (dtype == default or dtype == complex_default or dtype == np.int64 or dtype == np.bool_)
    if shown:
        suffixes.append(f"dtype={dtype!r}")
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")  # PyTorch's node name: MulBackward0, MyFnBackward
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return with_suffixes(prefix + format_array(data, indent=len(prefix)), suffixes, len(prefix))


def prints_as_repr(tensor) -> bool:
    """Whether a 0-d ``tensor`` formats (``f"{t}"``, ``format(t, spec)``) as its repr rather than as its number:
    PyTorch formats only a plain tensor's number, so a Parameter shows ``Parameter containing:...``."""
    from eigengrad.nn.parameter import Parameter

    return isinstance(tensor, Parameter)


def _torch_len(text: str) -> int:
    """``text``'s length as PyTorch's would be ('torch.float64' for 'eigengrad.float64'): lines wrap where
    PyTorch's wrap, so a print reads as PyTorch's with only the module's name changed."""
    return len(text) - (len("eigengrad.") - len("torch.")) * text.count("eigengrad.")


def with_suffixes(body: str, suffixes: list, indent: int) -> str:
    """``body`` and its ``dtype=``, ``grad_fn=`` ... suffixes, wrapped at the line width as PyTorch's."""
    parts = [body]
    last = _torch_len(body[body.rfind("\n") + 1:]) + 2  # (PyTorch counts 2 more than the last line's length)
    for suffix in suffixes:
        n = _torch_len(suffix)
        if last + n + 2 > _options["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + n
        else:
            parts.append(", " + suffix)
            last += n + 2
    return "".join(parts) + ")"
