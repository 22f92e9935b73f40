"""Conversion and inspection: ``to`` (a device, a dtype, both, or another tensor's), ``cpu``, ``cuda`` (a clear
error: eigengrad runs on the CPU), ``type``, ``float``/``double``/``long``/``int``/``bool``/... casts,
``type_as``, ``element_size``, ``is_floating_point``, ``stride``, ``pin_memory``..."""
from __future__ import annotations

import builtins

import numpy as np

from eigengrad import _trace
from eigengrad import _dtype, _kernels as K
from eigengrad._errors import ArgumentError
from eigengrad._device import as_device, cpu_only_error, is_device_like
from eigengrad._kernels import FLOAT_DTYPES

# PyTorch's legacy tensor type names and their dtypes.
LEGACY_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
                "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16, "CharTensor": np.int8,
                "ByteTensor": np.uint8, "BoolTensor": np.bool_}
_TYPE_NAMES = {np.dtype(v): k for k, v in LEGACY_TYPES.items()}


def cast(input, dtype: np.dtype, copy: bool = False):
    """input in ``dtype`` (differentiable between float dtypes); input itself when nothing changes, unless copy."""
    if dtype == input._data.dtype:
        return input.clone() if copy else input
    if dtype == np.float16:
        raise TypeError("half: eigengrad computes in float32 and float64; float16 tensors are not supported")
    from eigengrad.autograd import ops

    if input.requires_grad and dtype in FLOAT_DTYPES:
        return ops.Cast.apply(input, dtype=dtype)
    return builtins.type(input)._wrap(K.cast(input._data, dtype))


def _is_dtype(arg) -> bool:
    # (bfloat16 too: named only, so that to(bfloat16) raises as bfloat16() does instead of passing as non_blocking)
    return isinstance(arg, (_dtype.dtype, np.dtype, _dtype._NamedOnly)) or (isinstance(arg, builtins.type) and (
        issubclass(arg, np.generic) or arg in (builtins.float, builtins.int, builtins.bool)))


def to(input, *args, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's dtype), with ``non_blocking``
    and ``copy`` (a new tensor even when nothing changes) and ``memory_format`` (channels_last lays the result
    out with the channels last, see ``contiguous``). The device must be
    the CPU; the result is input itself when neither dtype nor copy asks for a new one (PyTorch's rule)."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = builtins.bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    memory_format = kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    rest = list(args)
    if rest and hasattr(rest[0], "_data"):
        dtype = rest.pop(0)._data.dtype
    elif rest and is_device_like(rest[0]) and not _is_dtype(rest[0]):
        device = rest.pop(0)
        if rest and (_is_dtype(rest[0]) or rest[0] is None):
            dtype = rest.pop(0)
    elif rest and _is_dtype(rest[0]):
        dtype = rest.pop(0)
    if rest:  # non_blocking, copy
        rest.pop(0)
        if rest:
            copy = builtins.bool(rest.pop(0))
        if rest:
            raise TypeError(f"to() received too many arguments: {args!r}")
    as_device(device)
    target = input._data.dtype if dtype is None else _dtype.to_numpy(dtype)
    out = cast(input, target, copy)
    if getattr(memory_format, "name", None) in ("channels_last", "channels_last_3d"):
        from eigengrad.tensor_ops.shape import contiguous

        out = contiguous(out, memory_format)
    return out


def cpu(input, memory_format=None):
    """input itself: eigengrad tensors live in CPU memory."""
    return input


def cuda(input, device=None, non_blocking: bool = False, memory_format=None):
    """Raises: eigengrad runs on the CPU (``eigengrad.cuda.is_available()`` is False)."""
    raise cpu_only_error("cuda" if device is None else (f"cuda:{device}" if isinstance(device, builtins.int) else device))


def mps(input, *args, **kwargs):
    raise cpu_only_error("mps")


def _legacy_dtype(name: str) -> np.dtype:
    short = name.rsplit(".", 1)[-1]
    if ".cuda." in name:
        raise cpu_only_error("cuda")
    if short not in LEGACY_TYPES:
        raise ValueError(f"invalid type: '{name}'")
    return np.dtype(LEGACY_TYPES[short])


def type(input, dtype=None, non_blocking: bool = False, **kwargs):
    """With no argument, the legacy type name ('torch.FloatTensor', as scripts compare against); with a dtype,
    a type name ('torch.LongTensor') or a legacy type (``eigengrad.LongTensor``), the tensor cast to it."""
    if dtype is None:
        return "torch." + _TYPE_NAMES.get(input._data.dtype, input._data.dtype.name)
    if isinstance(dtype, str):
        return cast(input, _legacy_dtype(dtype))
    if hasattr(dtype, "_legacy_dtype"):
        return cast(input, dtype._legacy_dtype)
    return cast(input, _dtype.to_numpy(dtype))


def type_as(input, other):
    return cast(input, other._data.dtype)


# From here on float, int, bool, type name this module's casts: code above uses builtins.* for the types.
def _caster(name: str, dt):
    def f(input, memory_format=None):
        return cast(input, np.dtype(dt))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"input cast to {np.dtype(dt).name} (input itself when it already is)."
    return f


float = _caster("float", np.float32)
double = _caster("double", np.float64)
half = _caster("half", np.float16)
long = _caster("long", np.int64)
int = _caster("int", np.int32)
short = _caster("short", np.int16)
char = _caster("char", np.int8)
byte = _caster("byte", np.uint8)
bool = _caster("bool", np.bool_)


def bfloat16(input, memory_format=None):
    raise TypeError("bfloat16: eigengrad computes in float32 and float64; bfloat16 tensors are not supported")


def element_size(input):
    return input._data.itemsize


def _nbytes(self):
    return self._data.nbytes


def _itemsize(self):
    return self._data.itemsize


def is_floating_point(input):
    return input._data.dtype.kind == "f"


def is_complex(input):
    return input._data.dtype.kind == "c"


def is_signed(input):
    return input._data.dtype.kind in "fic"


def stride(input, dim=None):
    """Strides in elements (PyTorch's), not bytes (NumPy's)."""
    from eigengrad.tensor_ops import _dims

    strides = tuple(s // input._data.itemsize for s in input._data.strides)
    return strides if dim is None else strides[_dims.wrap(dim, input.ndim)]


def storage_offset(input):
    base = input._data
    while isinstance(base.base, np.ndarray):
        base = base.base
    return (input._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // input._data.itemsize


def data_ptr(input):
    return input._data.__array_interface__["data"][0]


def nelement(input):
    return input._data.size


def ndimension(input):
    return input._data.ndim


def get_device(input):
    """-1: the CPU (PyTorch's value for CPU tensors)."""
    return -1


def pin_memory(input, device=None):
    """input itself: pinned memory only matters for copies to a GPU, and eigengrad has none."""
    return input


def is_pinned(input, device=None):
    return False


def share_memory_(input):
    return input


def is_shared(input):
    return False


def _layout(input):
    from eigengrad.tensor_ops.creation import strided

    return strided


def isreal(input):
    """True everywhere: eigengrad tensors are real."""
    return input.new_ones(input.shape, dtype=np.bool_)


def clone(input, *, memory_format=None):
    return input.clone(memory_format=memory_format)


def detach(input):
    return input.detach()


def is_nonzero(input):
    """The truth of a one-element tensor (PyTorch's error for any other)."""
    _trace.reject("is_nonzero() inside the step: a Python bool read from a tensor's value")
    if input._data.size == 0:
        raise ArgumentError("Boolean value of Tensor with no values is ambiguous")
    if input._data.size > 1:
        raise ArgumentError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(-1)[0])


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=None, requires_grad: bool = False):
    """A 0-D tensor of ``s`` in the default float dtype (or ``dtype``)."""
    from eigengrad.tensor import Tensor, default_float

    from eigengrad.autograd.ops import numpy_call

    dt = np.dtype(_dtype.to_numpy(dtype) if dtype is not None else default_float())
    arr = numpy_call(np.asarray, s, dt) if not hasattr(s, "_data") else np.asarray(s._data, dt)
    return Tensor._wrap(arr, requires_grad)


def can_cast(from_, to) -> bool:
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to`` (no float to int, no number to bool)."""
    a, b = np.dtype(_dtype.to_numpy(from_)), np.dtype(_dtype.to_numpy(to))
    rank = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
    return rank[a.kind] <= rank[b.kind]


METHODS = ("to", "cpu", "cuda", "mps", "type", "type_as", "float", "double", "half", "bfloat16", "long", "int",
           "short", "char", "byte", "bool", "element_size", "is_floating_point", "is_complex", "is_signed", "stride",
           "storage_offset", "data_ptr", "nelement", "ndimension", "get_device", "pin_memory", "is_pinned",
           "share_memory_", "is_shared", "isreal", "is_nonzero", "is_same_size")
FUNCTIONS = ("is_floating_point", "is_complex", "numel", "isreal", "clone", "detach", "is_nonzero", "is_same_size",
             "scalar_tensor", "can_cast")
PROPERTIES = {"nbytes": _nbytes, "itemsize": _itemsize, "layout": _layout}


def numel(input):
    return input._data.size
