"""Data types as PyTorch names them: ``eigengrad.float32`` (``float``), ``float64`` (``double``), ``int64``
(``long``), ``bool``, ... with ``is_floating_point``, ``is_signed``, ``itemsize``; ``finfo`` and ``iinfo``.

A :class:`dtype` stands for one NumPy dtype and is interchangeable with it: NumPy reads its ``.dtype``
attribute (``np.zeros(3, dtype=eigengrad.float32)`` works), it compares and hashes equal to the NumPy
dtype (``t.dtype == np.float32``, a dict keyed by NumPy dtypes), and NumPy's own attributes (``kind``,
``type``, ``name``, ...) read through. ``Tensor.dtype`` returns one; there is one object per NumPy dtype,
so ``is`` works as in PyTorch (``eigengrad.float is eigengrad.float32``).
"""
from __future__ import annotations

import builtins

import numpy as np

# PyTorch's names for the dtypes eigengrad knows by name (aliases point to the same object).
_TORCH_NAMES = {"float16": "float16", "float32": "float32", "float64": "float64", "int8": "int8", "int16": "int16",
                "int32": "int32", "int64": "int64", "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
                "uint64": "uint64", "bool": "bool", "complex64": "complex64", "complex128": "complex128"}


class dtype:
    """One data type (``torch.dtype``): ``repr`` is ``eigengrad.float32``; NumPy accepts it as a dtype."""

    __slots__ = ("dtype", "kind", "itemsize", "_name")

    def __init__(self, np_dtype: np.dtype) -> None:
        self.dtype = np_dtype  # NumPy converts any object with a .dtype attribute: np.dtype(eg.float32)
        self.kind = np_dtype.kind
        self.itemsize = np_dtype.itemsize
        self._name = _TORCH_NAMES.get(np_dtype.name, np_dtype.name)

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.kind in "fic"

    def to_real(self) -> "dtype":
        return of({"complex64": np.float32, "complex128": np.float64}.get(self._name, self.dtype))

    def to_complex(self) -> "dtype":
        if self.kind not in "fc":
            raise RuntimeError(f"to_complex: expected a floating point or complex dtype, got {self!r}")
        return of(np.complex64 if self.itemsize <= 4 or self._name == "complex64" else np.complex128)

    def __getattr__(self, name: str):
        return getattr(self.dtype, name)  # NumPy's attributes: type, name, char, str, ...

    def __eq__(self, other) -> bool:
        if isinstance(other, dtype):
            return self.dtype == other.dtype
        try:
            return self.dtype == np.dtype(other)
        except (TypeError, ValueError):
            return NotImplemented

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self.dtype)  # equal to the NumPy dtype's: either finds the other in a dict

    def __repr__(self) -> str:
        return f"eigengrad.{self._name}"

    def __str__(self) -> str:
        """The bare name ('float32'), as NumPy prints its dtypes: messages read the same for tensors and arrays
        (``repr`` is 'eigengrad.float32', as PyTorch's 'torch.float32')."""
        return self._name

    def __reduce__(self):
        return of, (self.dtype,)

    def __copy__(self) -> "dtype":
        return self

    def __deepcopy__(self, memo) -> "dtype":
        return self


_BY_NUMPY: dict = {}

# PyTorch's C++ names of the scalar types, as its kernels' messages print them ("... with dtype long int").
_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
            "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char", "bool": "bool",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def c_type_name(d) -> str:
    """The C++ name PyTorch's messages give a dtype: ``c_type_name(np.int64) == "long int"``."""
    name = np.dtype(d).name
    return _C_NAMES.get(name, name)


# PyTorch's scalar type names ("expected scalar type Float but found Double")
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}


def scalar_type_name(d) -> str:
    """PyTorch's scalar type name of a dtype: ``scalar_type_name(np.float32) == "Float"``."""
    name = np.dtype(d).name
    return _SCALAR_NAMES.get(name, name)


def of(np_dtype) -> dtype:
    """The :class:`dtype` of a NumPy dtype (or anything NumPy reads as one), one object per dtype."""
    if type(np_dtype) is dtype:
        return np_dtype
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        d = np.dtype(np_dtype)
        found = _BY_NUMPY.get(d)
        if found is None:
            found = _BY_NUMPY[d] = dtype(d)
    return found


def to_numpy(d, name: str = "dtype") -> np.dtype | None:
    """The NumPy dtype of a dtype argument: an eigengrad dtype, a NumPy dtype or type, or a Python type
    (``float`` is float64 and ``int`` int64, as PyTorch reads them); None stays None."""
    if d is None:
        return None
    if type(d) is dtype:
        return d.dtype
    if isinstance(d, str) and d.startswith(("torch.", "eigengrad.")):
        d = d.split(".", 1)[1]
    if isinstance(d, _NamedOnly) or d == "bfloat16":
        raise TypeError(f"{name}: eigengrad computes in float32 and float64; bfloat16 tensors are not supported")
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"{name}: expected a dtype such as eigengrad.float32, got {d!r}") from None


float16 = half = of(np.float16)
float32 = float = of(np.float32)
float64 = double = of(np.float64)
int8 = of(np.int8)
int16 = short = of(np.int16)
int32 = int = of(np.int32)
int64 = long = of(np.int64)
uint8 = of(np.uint8)
bool = of(np.bool_)
complex64 = cfloat = of(np.complex64)
complex128 = cdouble = of(np.complex128)


class _NamedOnly:
    """A PyTorch dtype eigengrad has no tensors of (NumPy has no bfloat16): it can be named and compared (as
    ``autocast(dtype=torch.bfloat16)`` does); making a tensor of it raises the dtype TypeError."""

    def __init__(self, name: str, itemsize: int) -> None:
        self._name, self.itemsize = name, itemsize

    is_floating_point, is_complex, is_signed = True, False, True

    def __repr__(self) -> str:
        return f"eigengrad.{self._name}"

    def __str__(self) -> str:
        return self._name


bfloat16 = _NamedOnly("bfloat16", 2)


class finfo:
    """Machine limits of a floating point dtype (``torch.finfo``): bits, eps, max, min, tiny,
    smallest_normal, resolution (Python floats) and dtype (its name)."""

    def __init__(self, type=None) -> None:
        from eigengrad.tensor import get_default_dtype

        if type is bfloat16:  # named only (no tensors of it): its limits, as PyTorch gives them
            self.bits, self.eps, self.max, self.min = 16, 2.0 ** -7, 3.3895313892515355e38, -3.3895313892515355e38
            self.tiny = self.smallest_normal = 2.0 ** -126
            self.resolution, self.dtype = 0.01, "bfloat16"
            return
        d = to_numpy(get_default_dtype() if type is None else type, "type")
        if d.kind not in "fc":
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = np.finfo(d)
        self.bits = builtins.int(info.bits)
        self.eps, self.max, self.min = builtins.float(info.eps), builtins.float(info.max), builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(info.precision)  # PyTorch's: exactly 1e-06, not float32(1e-06)
        self.dtype = of(d)._name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``): bits, max, min (Python ints) and dtype (its name)."""

    def __init__(self, type) -> None:
        d = to_numpy(type, "type")
        if d.kind not in "iub":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        if d.kind == "b":
            self.bits, self.min, self.max = 8, 0, 1
        else:
            info = np.iinfo(d)
            self.bits, self.min, self.max = builtins.int(info.bits), builtins.int(info.min), builtins.int(info.max)
        self.dtype = of(d)._name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


# --- PyTorch's type promotion -------------------------------------------------------------------------

def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """``torch.promote_types`` over NumPy dtypes: a float with an integer is the float (NumPy would widen
    int64 + float32 to float64); bool yields to anything; otherwise NumPy's rule (uint8 + int8 -> int16)."""
    if a == b:
        return a
    fa, fb = a.kind in "fc", b.kind in "fc"
    if fa != fb:
        return a if fa else b
    if a.kind == "b":
        return b
    if b.kind == "b":
        return a
    return np.promote_types(a, b)


def _combine(higher, lower):
    """PyTorch's combine_categories: the operands of a higher class (dimensioned tensors over zero-dim ones
    over Python numbers) decide the dtype unless a lower class has a higher category (bool < int < float)."""
    if higher is None:
        return lower
    if lower is None or higher.kind in "fc":
        return higher
    if higher.kind == "b" or lower.kind in "fc":
        return promote_types(higher, lower)
    return higher


_BOOL, _INT64, _COMPLEX = np.dtype(np.bool_), np.dtype(np.int64), np.dtype(np.complex64)


def result_type(*operands, default_float: np.dtype) -> np.dtype:
    """The dtype PyTorch computes ``operands`` in (``torch.result_type``). Operands are arrays (with ndim > 0
    they are dimensioned tensors, 0-d ones zero-dim tensors) or Python/NumPy scalars (weak: an int is int64, a
    float the default float dtype, and they decide only when their category is higher)."""
    dim = zero = wrapped = None
    for o in operands:
        if isinstance(o, np.ndarray):
            if o.ndim:
                dim = o.dtype if dim is None else promote_types(dim, o.dtype)
            else:
                zero = o.dtype if zero is None else promote_types(zero, o.dtype)
            continue
        if isinstance(o, (builtins.bool, np.bool_)):
            d = _BOOL
        elif isinstance(o, (builtins.int, np.integer)):
            d = _INT64
        elif isinstance(o, (builtins.float, np.floating)):
            d = default_float
        elif isinstance(o, (builtins.complex, np.complexfloating)):
            d = _COMPLEX
        else:
            raise TypeError(f"operand: expected a tensor or a number, got {type(o).__name__}")
        wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))
