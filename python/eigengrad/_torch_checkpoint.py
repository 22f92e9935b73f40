"""Reading the checkpoints PyTorch writes (``torch.save``'s zip format) without PyTorch and without running
code from the file: what :func:`eigengrad.load` does with such a file.

The format (PyTorch >= 1.6): a zip archive whose records all sit in one folder ``<archive>/``:
``data.pkl`` (a pickle of the saved object), ``data/<key>`` (the raw bytes of each storage, uncompressed),
``byteorder`` (``little`` or ``big``; absent in old files, which are little-endian), ``version`` and a few
more that are not needed here. In ``data.pkl`` a tensor is a call of ``torch._utils._rebuild_tensor_v2``
(``_rebuild_tensor_v3`` with a dtype argument for dtypes without a legacy storage class) on a storage, an
offset, a size and a stride; a storage is a persistent id ``('storage', <storage class>, key, location,
numel)`` naming its record.

**Restricted unpickling** (PyTorch's ``weights_only=True``, its default since 2.6): :class:`_Unpickler` is a
pickle unpickler whose ``find_class`` hands out only eigengrad stand-ins for an allow-list of PyTorch's
globals (the tensor and parameter rebuild functions, storage classes, dtypes, ``torch.Size``,
``torch.device``, the strided layout), the builtins PyTorch allows (``collections.OrderedDict`` and
``Counter``, ``set``, ``complex``, ``bytearray`` and ``_codecs.encode``, which protocol 2 uses for
``bytes``; not ``frozenset``, ``slice`` or ``range``, which PyTorch refuses too), and the classes the user
allow-listed with :func:`eigengrad.serialization.add_safe_globals` / ``safe_globals``. Any other global is refused with
``WeightsOnlyUnpicklingError`` (a ``pickle.UnpicklingError``) naming it. The opcodes that run code on an
object (``BUILD``, ``NEWOBJ``, ``INST``/``OBJ``, extension codes) are allowed only on allow-listed classes
(and ``BUILD`` on an ``OrderedDict``, which is how a ``state_dict``'s ``_metadata`` is stored).

**Checks** (the file comes from outside): every record's declared size against the zip's own bytes before
it is read (no allocation from a forged size), every storage record against ``numel * itemsize``, every
tensor's offset, sizes and strides against its storage before a view is made, and the archive's CRCs.
Anything wrong is a ``ValueError`` naming the file and what is wrong.

**Tensors** come back as eigengrad tensors (``nn.Parameter`` where PyTorch pickled one) with the saved dtype,
shape, strides, storage offset and ``requires_grad``; tensors that shared a storage share memory. Storages are
put on the CPU whatever location they were saved from. bfloat16, float8, complex32 and quantized tensors
are an error naming the dtype (eigengrad has no tensors of them).

With ``weights_only=False`` the same stand-ins rebuild PyTorch's objects (eigengrad has nothing else to
rebuild them with: any other ``torch.*`` global, such as a whole pickled ``nn.Module``, is an error saying
so), and globals outside ``torch`` (a NumPy scalar, an ``argparse.Namespace``, the program's own classes)
are imported and called as plain ``pickle`` would, after a warning: that runs code from the file.

**Writing** (:func:`write`, ``eigengrad.serialization.save_torch_checkpoint``): the same format for
``torch.load(weights_only=True)``; ``data.pkl`` is emitted opcode by opcode (so PyTorch's globals are named
without PyTorch), one 64-byte-aligned record per root array with the tensors as views of it.
"""
from __future__ import annotations

import io
import pickle
import re
import struct
import warnings
from collections import OrderedDict

import numpy as np

# torch dtype name -> NumPy dtype (None: eigengrad has no tensors of it), and its size in bytes
_DTYPES = {
    "float32": (np.float32, 4), "float64": (np.float64, 8), "float16": (np.float16, 2), "bfloat16": (None, 2),
    "int8": (np.int8, 1), "int16": (np.int16, 2), "int32": (np.int32, 4), "int64": (np.int64, 8),
    "uint8": (np.uint8, 1), "uint16": (np.uint16, 2), "uint32": (np.uint32, 4), "uint64": (np.uint64, 8),
    "bool": (np.bool_, 1), "complex64": (np.complex64, 8), "complex128": (np.complex128, 16),
    "complex32": (None, 4), "float8_e4m3fn": (None, 1), "float8_e5m2": (None, 1), "float8_e4m3fnuz": (None, 1),
    "float8_e5m2fnuz": (None, 1), "float8_e8m0fnu": (None, 1), "float4_e2m1fn_x2": (None, 1),
    "qint8": (None, 1), "quint8": (None, 1), "qint32": (None, 4), "quint4x2": (None, 1), "quint2x4": (None, 1),
}
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "short": "int16", "int": "int32",
                  "long": "int64", "cfloat": "complex64", "cdouble": "complex128", "chalf": "complex32"}
# the legacy storage classes PyTorch pickles for a typed storage, and their dtypes
_STORAGE_CLASSES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}
_MAX_DIMS = 64
_MAX_INT = 2 ** 62
# What torch.save writes for the magic number at the start of a legacy (torch < 1.6) checkpoint.
LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
# deflate cannot expand data by more than about 1032:1: a record claiming more is forged
_MAX_RATIO = 1100


class CheckpointError(ValueError):
    """What is wrong with a checkpoint, without the file's name (the caller adds it)."""


def is_legacy(data: bytes) -> bool:
    """A checkpoint of PyTorch < 1.6 (a sequence of pickles) or an older tar archive."""
    return data.startswith(LEGACY_MAGIC) or (data[:1] != b"\x80" and data[257:262] == b"ustar")


def _unsupported_dtype(name: str) -> CheckpointError:
    return CheckpointError(f"a tensor of dtype torch.{name}: eigengrad has no {name} tensors (it computes in float16, "
                           "float32, float64, integers, bool and complex64/128). Convert it with PyTorch first, e.g. "
                           "torch.save({k: v.float() for k, v in torch.load(file).items()}, file)")


# --- stand-ins for PyTorch's globals -----------------------------------------------------------------------

class _Marker:
    """A stand-in for a PyTorch class that is only ever an argument (a storage class, ``torch.Tensor``):
    not callable, and nothing can be set on it."""

    __slots__ = ("name", "dtype_name")

    def __init__(self, name: str, dtype_name: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype_name", dtype_name)

    def __setattr__(self, name, value):
        raise AttributeError(f"{self.name} cannot be changed")

    def __repr__(self) -> str:
        return self.name


_UNTYPED = _Marker("torch.storage.UntypedStorage", "uint8")
_TENSOR_TYPE = _Marker("torch.Tensor")
_PARAMETER_TYPE = _Marker("torch.nn.parameter.Parameter")


class _Storage:
    """One storage of the checkpoint: ``array`` is its memory (a 1-D NumPy array of its dtype, the root
    array every tensor on it is a view of); an untyped storage holds bytes until a tensor gives it a dtype."""

    __slots__ = ("key", "dtype_name", "untyped", "array", "big_endian")

    def __init__(self, key: str, dtype_name: str, untyped: bool, array: np.ndarray, big_endian: bool) -> None:
        self.key, self.dtype_name, self.untyped, self.array = key, dtype_name, untyped, array
        self.big_endian = big_endian

    def typed(self, dtype_name: str) -> np.ndarray:
        """The storage's memory as elements of ``dtype_name`` (an untyped storage takes the dtype of the
        first tensor on it; PyTorch never saves one storage as two dtypes)."""
        np_dtype, itemsize = _DTYPES[dtype_name]
        if np_dtype is None:
            raise _unsupported_dtype(dtype_name)
        if self.dtype_name == dtype_name:
            self.untyped = False  # its dtype is fixed by the first tensor on it
            return self.array
        if not self.untyped:
            raise CheckpointError(f"storage {self.key!r} is used as {self.dtype_name} and as {dtype_name}")
        if self.array.size % itemsize:
            raise CheckpointError(f"storage {self.key!r} holds {self.array.size} bytes, not a whole number of "
                                  f"{dtype_name} elements ({itemsize} bytes each)")
        self.array = _native(self.array.view(np_dtype).copy(), self.big_endian)
        self.dtype_name, self.untyped = dtype_name, False
        return self.array


def _native(array: np.ndarray, big_endian: bool) -> np.ndarray:
    """``array`` (just read from the file, owned) in this machine's byte order, bools as 0/1."""
    if big_endian and array.dtype.itemsize > 1:
        array.byteswap(inplace=True)
    if array.dtype == np.bool_:
        raw = array.view(np.uint8)
        if raw.size and raw.max() > 1:  # any nonzero byte is True, as a C++ bool would read it
            np.not_equal(raw, 0, out=array)
    return array


def _int(value, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < _MAX_INT:
        raise CheckpointError(f"{what} must be an int in [{low}, 2**62), got {value!r}"[:300])
    return value


def _ints(value, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) > _MAX_DIMS:
        raise CheckpointError(f"{what} must be a tuple of at most {_MAX_DIMS} ints, got {value!r}"[:300])
    return tuple(_int(v, what) for v in value)


def _view(storage, offset, size, stride, dtype_name: str | None) -> np.ndarray:
    """The array of a tensor on ``storage``: checked against the storage's bounds before the view is made."""
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"a tensor must be rebuilt from a storage record, got {type(storage).__name__}")
    offset = _int(offset, "a tensor's storage offset")
    size, stride = _ints(size, "a tensor's size"), _ints(stride, "a tensor's stride")
    if len(size) != len(stride):
        raise CheckpointError(f"a tensor's size {list(size)} and stride {list(stride)} differ in length")
    root = storage.typed(storage.dtype_name if dtype_name is None else dtype_name)
    if 0 in size:
        return root[:0].reshape(size)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= root.size:
        raise CheckpointError(f"a tensor of size {list(size)}, stride {list(stride)} and storage offset {offset} "
                              f"reads element {last} of storage {storage.key!r}, which has {root.size} elements")
    item = root.itemsize
    return np.ndarray(size, root.dtype, buffer=root, offset=offset * item, strides=tuple(s * item for s in stride))


def _check_hooks(backward_hooks) -> None:
    if not isinstance(backward_hooks, dict) or backward_hooks:
        raise CheckpointError(f"a tensor with backward hooks ({backward_hooks!r})"[:300] + ": hooks are not loaded")


def _tensor(array: np.ndarray, requires_grad):
    from eigengrad.tensor import Tensor

    if not isinstance(requires_grad, bool):
        raise CheckpointError(f"requires_grad must be a bool, got {requires_grad!r}"[:300])
    if requires_grad and array.dtype.kind not in "fc":
        raise CheckpointError(f"a tensor of dtype {array.dtype} cannot require grad")
    return Tensor._wrap(array, requires_grad)


def _check_metadata(metadata) -> None:
    if metadata is not None and (not isinstance(metadata, dict) or metadata):
        raise CheckpointError(f"a tensor with metadata {metadata!r} (conjugate or negative bits?)"[:300] +
                              ": eigengrad reads plain dense tensors only")


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: a tensor viewing ``storage``."""
    _check_hooks(backward_hooks)
    _check_metadata(metadata)
    return _tensor(_view(storage, storage_offset, size, stride, None), requires_grad)


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    """``torch._utils._rebuild_tensor_v3``: the same with the dtype given (an untyped storage)."""
    _check_hooks(backward_hooks)
    _check_metadata(metadata)
    name = _dtype_name(dtype)
    if name is None:
        raise CheckpointError(f"_rebuild_tensor_v3: expected a torch dtype, got {dtype!r}"[:300])
    return _tensor(_view(storage, storage_offset, size, stride, name), requires_grad)


def rebuild_tensor(storage, storage_offset, size, stride):
    """``torch._utils._rebuild_tensor`` (older files)."""
    return _tensor(_view(storage, storage_offset, size, stride, None), False)


def _parameter(data, requires_grad):
    from eigengrad.nn.parameter import Parameter
    from eigengrad.tensor import Tensor

    if not isinstance(data, Tensor):
        raise CheckpointError(f"a parameter must hold a tensor, got {type(data).__name__}")
    if not isinstance(requires_grad, bool):
        raise CheckpointError(f"requires_grad must be a bool, got {requires_grad!r}"[:300])
    if requires_grad and data._data.dtype.kind not in "fc":
        raise CheckpointError(f"a parameter of dtype {data._data.dtype} cannot require grad")
    return Parameter(data._data, requires_grad=requires_grad)


def _set_state(obj, state) -> None:
    """The attributes PyTorch saved with a parameter (``param.__dict__``): plain names only."""
    if state is None:
        return
    if isinstance(state, tuple) and len(state) == 2:  # (__dict__, slots)
        for part in state:
            _set_state(obj, part)
        return
    if not isinstance(state, dict):
        raise CheckpointError(f"a tensor's state must be a dict, got {type(state).__name__}")
    if state and not hasattr(obj, "__dict__"):
        raise CheckpointError(f"a plain tensor with attributes {sorted(map(str, state))[:10]}: eigengrad tensors "
                              "have no attributes of their own; set them on an nn.Parameter or drop them before "
                              "saving")
    for name, value in state.items():
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or hasattr(type(obj), name):
            raise CheckpointError(f"a tensor attribute named {name!r} cannot be set"[:300])
        setattr(obj, name, value)


def rebuild_parameter(data, requires_grad, backward_hooks):
    """``torch._utils._rebuild_parameter``."""
    _check_hooks(backward_hooks)
    return _parameter(data, requires_grad)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``torch._utils._rebuild_parameter_with_state``: a parameter with the attributes set on it."""
    _check_hooks(backward_hooks)
    param = _parameter(data, requires_grad)
    _set_state(param, state)
    return param


_REBUILDERS = (rebuild_tensor_v2, rebuild_tensor_v3, rebuild_tensor, rebuild_parameter, rebuild_parameter_with_state)


def rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: a tensor of a subclass (here torch.Tensor or Parameter only),
    with the attributes set on it."""
    if func not in _REBUILDERS or new_type not in (_TENSOR_TYPE, _PARAMETER_TYPE) or not isinstance(args, tuple):
        raise CheckpointError(f"_rebuild_from_type_v2 of {new_type!r} with {getattr(func, '__name__', func)!r}: "
                              "only torch.Tensor and torch.nn.Parameter are rebuilt")
    out = func(*args)
    if new_type is _PARAMETER_TYPE and type(out).__name__ != "Parameter":
        out = _parameter(out, out.requires_grad)
    _set_state(out, state)
    return out


def make_size(dims=()):
    """``torch.Size``."""
    from eigengrad.tensor import Size

    return Size(_ints(dims, "torch.Size"))


def make_device(*args):
    """``torch.device``: any device can be named; tensors are loaded to the CPU."""
    from eigengrad._device import device

    if not 1 <= len(args) <= 2 or not isinstance(args[0], str) or (len(args) == 2 and args[1] is not None and
                                                                   not isinstance(args[1], int)):
        raise CheckpointError(f"torch.device{args!r}"[:300] + ": expected (type, index)")
    return device(*args)


def make_set(items=()):
    return set(_iterable(items))


def make_counter(*args):
    from collections import Counter

    if len(args) > 1 or (args and not isinstance(args[0], dict)):
        raise CheckpointError(f"Counter{args!r}: expected a dict"[:300])
    return Counter(*args)


def _iterable(items):
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise CheckpointError(f"a set must be built from a list, got {type(items).__name__}")
    return items


def make_complex(real=0.0, imag=0.0):
    if not all(isinstance(v, (int, float)) for v in (real, imag)):
        raise CheckpointError(f"complex({real!r}, {imag!r}): expected numbers"[:300])
    return complex(real, imag)


def make_bytearray(*args):
    if not args:
        return bytearray()
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin-1", "latin1"):
        return bytearray(args[0], "latin-1")
    raise CheckpointError(f"bytearray{args!r}: expected bytes or (str, 'latin-1')"[:300])


def codecs_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode``, which protocol 2 pickles ``bytes`` with: latin-1 and utf-8 text only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8") or errors != "strict":
        raise CheckpointError(f"_codecs.encode({text!r}, {encoding!r}): only text to latin-1 bytes"[:300])
    return text.encode(encoding)


def get_layout(name):
    """``torch.serialization._get_layout``: eigengrad has the strided layout only."""
    import eigengrad

    if name != "torch.strided":
        raise CheckpointError(f"layout {name!r}: eigengrad tensors are strided (dense)"[:300])
    return eigengrad.strided


class _DtypeName:
    """A torch dtype eigengrad has no object for (float8, quantized): named only."""

    __slots__ = ("_torch_checkpoint_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_torch_checkpoint_name", name)

    def __setattr__(self, name, value):
        raise AttributeError("a dtype cannot be changed")

    def __repr__(self) -> str:
        return f"eigengrad.{self._torch_checkpoint_name}"

    def __eq__(self, other) -> bool:
        return isinstance(other, _DtypeName) and other._torch_checkpoint_name == self._torch_checkpoint_name

    def __hash__(self) -> int:
        return hash(self._torch_checkpoint_name)


def _dtype_object(name: str):
    from eigengrad import _dtype

    np_dtype, _ = _DTYPES[name]
    if np_dtype is not None:
        return _dtype.of(np_dtype)
    if name == "bfloat16":
        return _dtype.bfloat16
    return _DtypeName(name)


def _dtype_name(obj) -> str | None:
    """The torch name of a dtype object from :func:`_dtype_object`."""
    from eigengrad import _dtype

    if isinstance(obj, _DtypeName):
        return obj._torch_checkpoint_name
    if obj is _dtype.bfloat16:
        return "bfloat16"
    if type(obj) is _dtype.dtype:
        name = str(obj)
        return name if name in _DTYPES else None
    return None


def _globals() -> dict:
    """(module, name) -> the stand-in ``find_class`` gives for it."""
    table = {
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "Counter"): make_counter,
        ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor_v3"): rebuild_tensor_v3,
        ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter_with_state,
        ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type_v2,
        ("torch", "Tensor"): _TENSOR_TYPE,
        ("torch.nn.parameter", "Parameter"): _PARAMETER_TYPE,
        ("torch", "Size"): make_size,
        ("torch", "device"): make_device,
        ("torch.storage", "UntypedStorage"): _UNTYPED,
        ("torch", "UntypedStorage"): _UNTYPED,
        ("torch.serialization", "_get_layout"): get_layout,
        ("builtins", "set"): make_set,
        ("builtins", "complex"): make_complex,
        ("builtins", "bytearray"): make_bytearray,
        ("_codecs", "encode"): codecs_encode,
    }
    for name, dtype_name in _STORAGE_CLASSES.items():
        table["torch", name] = table["torch.cuda", name] = _Marker(f"torch.{name}", dtype_name)
    for name in (*_DTYPES, *_DTYPE_ALIASES):
        table["torch", name] = _dtype_object(_DTYPE_ALIASES.get(name, name))
    return table


_GLOBALS: dict | None = None
_OLD_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # what protocol 2 names Python 3's modules


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


# --- the unpickler ------------------------------------------------------------------------------------------

def _refused(label: str, what: str, unsafe_would_do: bool = True):
    from eigengrad.serialization import _UNSAFE, WeightsOnlyUnpicklingError

    advice = f"\n\t{_UNSAFE}" if unsafe_would_do else ""
    return WeightsOnlyUnpicklingError(f"Weights only load failed for {label!r}: {what}.{advice}")


class _Unpickler(pickle._Unpickler):
    """The restricted unpickler of ``data.pkl`` (the pure-Python unpickler, whose opcodes can be restricted
    one by one: the file's pickle is small, the tensors' bytes are in their own records)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream, reader: "_Archive", weights_only: bool) -> None:
        super().__init__(stream, encoding="utf-8")
        self.reader, self.weights_only, self.label = reader, weights_only, reader.label
        self.user_allowed: dict = {}  # id -> object of the user's allow-list handed out
        self.storages: dict = {}
        self.imported: list = []

    def find_class(self, module, name):
        global _GLOBALS
        module = _OLD_MODULES.get(module, module)
        full = f"{module}.{name}"
        if _GLOBALS is None:
            _GLOBALS = _globals()
        found = _GLOBALS.get((module, name))
        if found is not None:
            return found
        from eigengrad.serialization import _SAFE_GLOBALS, _global_name, _unsupported_global

        for entry in _SAFE_GLOBALS:
            if _global_name(entry) == full:
                obj = entry[0] if isinstance(entry, tuple) else entry
                self.user_allowed[id(obj)] = obj
                return obj
        if _is_torch(module):
            raise _refused(self.label, f"GLOBAL {full} is a PyTorch object that eigengrad cannot rebuild without "
                                       "PyTorch (it reads tensors, parameters, storages, dtypes, torch.Size and "
                                       "torch.device from PyTorch checkpoints). If the file holds a whole pickled "
                                       "model, save its state_dict() with PyTorch instead and load that",
                           unsafe_would_do=False)
        if self.weights_only:
            raise _unsupported_global(self.label, full)
        self.imported.append(full)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise CheckpointError(f"persistent id {pid!r} is not a storage ('storage', type, key, location, "
                                  "numel)"[:300])
        _, kind, key, location, numel = pid
        if not isinstance(kind, _Marker) or kind.dtype_name is None:
            raise CheckpointError(f"storage {key!r}: {kind!r} is not a storage class"[:300])
        if not isinstance(key, str) or re.fullmatch(r"[A-Za-z0-9_.]{1,64}", key) is None:
            raise CheckpointError(f"storage key {key!r} is not a record name"[:300])
        if not isinstance(location, str):
            raise CheckpointError(f"storage {key!r}: location {location!r} is not a string"[:300])
        numel = _int(numel, f"storage {key!r}: numel")
        known = self.storages.get(key)
        if known is None:
            known = self.storages[key] = self.reader.storage(key, kind, numel)
        elif known[1] is not kind or known[2] != numel:
            raise CheckpointError(f"storage {key!r} is named twice with different types or sizes")
        return known[0]

    # --- opcodes that apply code to objects: allow-listed classes only -------------------------------------

    def _user(self, obj) -> bool:
        """Whether ``obj`` is on the user's allow-list (handed out by find_class, or the class of an object an
        allow-listed function made, as ``numpy.dtype`` makes a ``Float64DType``)."""
        from eigengrad.serialization import _SAFE_GLOBALS

        if self.user_allowed.get(id(obj)) is obj:
            return True
        return any((entry[0] if isinstance(entry, tuple) else entry) is obj for entry in _SAFE_GLOBALS)

    def load_build(self):
        if not self.weights_only:
            return super().load_build()
        state, inst = self.stack[-1], self.stack[-2]
        if type(inst) is OrderedDict:  # a state_dict's _metadata
            if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
                state = state[0]
            if not isinstance(state, dict) or not all(
                    isinstance(k, str) and k.isidentifier() and not k.startswith("__") for k in state):
                raise CheckpointError("an OrderedDict's state must be a dict of attribute names")
            self.stack.pop()
            inst.__dict__.update(state)
            return
        if not self._user(type(inst)):
            raise _refused(self.label, f"the pickle sets the state of a {type(inst).__module__}."
                                       f"{type(inst).__qualname__} object (BUILD), which is only done for "
                                       "allow-listed classes (eigengrad.serialization.add_safe_globals)")
        return super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def _check_class(self, cls, opcode: str) -> None:
        if self.weights_only and not (cls is OrderedDict or (isinstance(cls, type) and self._user(cls))):
            raise _refused(self.label, f"the pickle creates a {cls!r} object ({opcode}), which is only done for "
                                       "allow-listed classes (eigengrad.serialization.add_safe_globals)"[:600])

    def load_newobj(self):
        self._check_class(self.stack[-2], "NEWOBJ")
        return super().load_newobj()

    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        self._check_class(self.stack[-3], "NEWOBJ_EX")
        return super().load_newobj_ex()

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def _instantiate(self, klass, args):
        if self.weights_only and not (callable(klass) and not isinstance(klass, type)) and klass is not OrderedDict:
            self._check_class(klass, "INST/OBJ")
        return super()._instantiate(klass, args)

    def load_reduce(self):
        func = self.stack[-2]
        if not callable(func):
            raise CheckpointError(f"the pickle calls {func!r}, which is not callable"[:300])
        return super().load_reduce()

    dispatch[pickle.REDUCE[0]] = load_reduce

    def _check_target(self, target, kinds: tuple, opcode: str) -> None:
        """APPEND(S), SETITEM(S) and ADDITEMS call the target's append/extend, __setitem__ or add: only on the
        containers they are for, or an allow-listed class."""
        if self.weights_only and type(target) not in kinds and not self._user(type(target)):
            raise _refused(self.label, f"the pickle applies {opcode} to a {type(target).__module__}."
                                       f"{type(target).__qualname__} object, which is only done for containers and "
                                       "allow-listed classes (eigengrad.serialization.add_safe_globals)")

    _LISTS, _DICTS, _SETS = (list,), (dict, OrderedDict), (set,)

    def load_append(self):
        self._check_target(self.stack[-2], self._LISTS, "APPEND")
        return super().load_append()

    def load_appends(self):
        self._check_target(self.metastack[-1][-1], self._LISTS, "APPENDS")
        return super().load_appends()

    def load_setitem(self):
        self._check_target(self.stack[-3], self._DICTS, "SETITEM")
        return super().load_setitem()

    def load_setitems(self):
        self._check_target(self.metastack[-1][-1], self._DICTS, "SETITEMS")
        return super().load_setitems()

    def load_additems(self):
        self._check_target(self.metastack[-1][-1], self._SETS, "ADDITEMS")
        return super().load_additems()

    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems

    def get_extension(self, code):
        if self.weights_only:
            raise _refused(self.label, f"the pickle uses extension code {code} (copyreg), which is never allowed")
        return super().get_extension(code)


# --- the archive ------------------------------------------------------------------------------------------

class _Archive:
    """The zip archive of a checkpoint, read from bytes held in memory, with every record checked."""

    def __init__(self, label: str, data: bytes) -> None:
        import zipfile

        self.label, self.size = label, len(data)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except Exception as e:  # BadZipFile, EOFError, struct.error, ...: a truncated or corrupted file
            raise CheckpointError(f"is not a readable zip archive, it is truncated or corrupted ({type(e).__name__}: "
                                  f"{str(e)[:200]})") from None
        self.infos = {i.filename: i for i in infos}
        if any(n.endswith("/constants.pkl") or "/code/" in n for n in self.infos):
            raise CheckpointError("is a TorchScript archive (torch.jit.save), which eigengrad does not read: "
                                  "save the model's state_dict() with torch.save instead")
        pickles = [n for n in self.infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError("is a zip archive but not a PyTorch checkpoint: it has "
                                  f"{'no' if not pickles else len(pickles)} <archive>/data.pkl records "
                                  "(a checkpoint has one)")
        self.prefix = pickles[0][:-len("data.pkl")]
        order = self.read("byteorder", 16) if self.prefix + "byteorder" in self.infos else b"little"
        if order not in (b"little", b"big"):
            raise CheckpointError(f"record {self.prefix}byteorder must be 'little' or 'big', got {order[:20]!r}")
        self.big_endian = order == b"big"

    def _info(self, name: str):
        import zipfile

        info = self.infos.get(self.prefix + name)
        if info is None:
            raise CheckpointError(f"has no record {self.prefix + name!r}")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"record {info.filename!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise CheckpointError(f"record {info.filename!r} is stored uncompressed but declares {info.file_size} "
                                  f"bytes in {info.compress_size}")
        if info.file_size > _MAX_RATIO * info.compress_size + 4096:
            raise CheckpointError(f"record {info.filename!r} declares {info.file_size} bytes from "
                                  f"{info.compress_size} compressed bytes, more than compression can give")
        if info.header_offset + info.compress_size > self.size:
            raise CheckpointError(f"record {info.filename!r} ends past the end of the file (truncated)")
        return info

    def read(self, name: str, limit: int | None = None) -> bytes:
        info = self._info(name)
        if limit is not None and info.file_size > limit:
            raise CheckpointError(f"record {info.filename!r} is {info.file_size} bytes, expected at most {limit}")
        try:
            data = self.zip.read(info)
        except Exception as e:  # a bad CRC, a bad local header, truncated data
            raise CheckpointError(f"record {info.filename!r} cannot be read, the file is corrupted "
                                  f"({type(e).__name__}: {str(e)[:200]})") from None
        if len(data) != info.file_size:
            raise CheckpointError(f"record {info.filename!r} holds {len(data)} bytes, the archive says "
                                  f"{info.file_size}")
        return data

    def read_into(self, name: str, out: np.ndarray) -> None:
        """Record ``name`` into the byte array ``out`` (its size checked by the caller), a chunk at a time."""
        info = self._info(name)
        view = memoryview(out)
        try:
            with self.zip.open(info) as stream:
                pos = 0
                while pos < len(view):
                    chunk = stream.read(min(len(view) - pos, 1 << 24))
                    if not chunk:
                        break
                    view[pos:pos + len(chunk)] = chunk
                    pos += len(chunk)
                extra = stream.read(1)  # reads to the end, where zipfile checks the CRC
        except Exception as e:  # a bad CRC, a bad local header, truncated data
            raise CheckpointError(f"record {info.filename!r} cannot be read, the file is corrupted "
                                  f"({type(e).__name__}: {str(e)[:200]})") from None
        if pos != len(view) or extra:
            raise CheckpointError(f"record {info.filename!r} does not hold the {len(view)} bytes the archive says")

    def storage(self, key: str, kind: _Marker, numel: int) -> tuple:
        """(the storage of record data/<key>, its class, numel); its size is checked before it is read."""
        np_dtype, itemsize = _DTYPES[kind.dtype_name]
        if np_dtype is None:
            raise _unsupported_dtype(kind.dtype_name)
        name = f"data/{key}"
        info = self._info(name)
        if info.file_size != numel * itemsize:
            raise CheckpointError(f"storage record {info.filename!r} holds {info.file_size} bytes, but the "
                                  f"checkpoint says {numel} elements of {itemsize} bytes ({kind!r}) = "
                                  f"{numel * itemsize} bytes")
        array = np.empty(numel, dtype=np_dtype)
        self.read_into(name, array.view(np.uint8))
        array = _native(array, self.big_endian)
        storage = _Storage(key, kind.dtype_name, kind is _UNTYPED, array, self.big_endian)
        return storage, kind, numel


def load(label: str, data: bytes, weights_only: bool):
    """The object in the PyTorch zip checkpoint ``data`` (read from ``label``); see the module's docstring."""
    from eigengrad.serialization import WeightsOnlyUnpicklingError

    try:
        archive = _Archive(label, data)
        pickled = archive.read("data.pkl")
        unpickler = _Unpickler(io.BytesIO(pickled), archive, weights_only)
        try:
            obj = unpickler.load()
        except (WeightsOnlyUnpicklingError, CheckpointError):
            raise
        except Exception as e:  # a damaged pickle: bad opcode, truncated, wrong arguments to a stand-in
            raise CheckpointError(f"has a {archive.prefix}data.pkl that cannot be unpickled, the file is damaged "
                                  f"or holds what eigengrad cannot rebuild ({type(e).__name__}: {str(e)[:300]})") \
                from None
    except WeightsOnlyUnpicklingError:
        raise
    except CheckpointError as e:
        raise ValueError(f"path: {label!r} {e}" if str(e).startswith(("is ", "has ")) else f"path: {label!r}: {e}") \
            from None
    if unpickler.imported:
        warnings.warn(f"eigengrad.load({label!r}, weights_only=False) imported and called "
                      f"{', '.join(sorted(set(unpickler.imported))[:10])} from the file, which can run arbitrary "
                      "code: only do this for files you trust.", FutureWarning, stacklevel=3)
    return obj


# --- writing: PyTorch's zip format, for torch.load(weights_only=True) ---------------------------------------

_STORAGE_CLASS_OF = {dtype_name: name for name, dtype_name in _STORAGE_CLASSES.items()}


class _Writer:
    """Emits ``data.pkl`` (protocol 2 opcodes, written here, so no PyTorch object is needed to name PyTorch's
    globals) and collects the storages: one record per root array, tensors as views of it (sharing kept)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.records: list = []  # (key, bytes)
        self.roots: dict = {}  # id(root array) -> (key, root): kept alive, so an id is never reused

    # opcodes
    def op(self, *parts: bytes) -> None:
        for part in parts:
            self.out += part

    def glob(self, module: str, name: str) -> None:
        self.op(b"c", module.encode(), b"\n", name.encode(), b"\n")

    def text(self, value: str) -> None:
        data = value.encode("utf-8", "surrogatepass")
        self.op(b"X", len(data).to_bytes(4, "little"), data)

    def integer(self, value: int) -> None:
        if 0 <= value < 256:
            self.op(b"K", bytes([value]))
        elif -2 ** 31 <= value < 2 ** 31:
            self.op(b"J", value.to_bytes(4, "little", signed=True))
        else:
            encoded = pickle.encode_long(value)
            if len(encoded) < 256:
                self.op(b"\x8a", bytes([len(encoded)]), encoded)
            else:
                self.op(b"\x8b", len(encoded).to_bytes(4, "little", signed=True), encoded)

    def tuple_of(self, items) -> None:
        self.op(b"(")
        for item in items:
            self.save(item)
        self.op(b"t")

    def call(self, module: str, name: str, args) -> None:
        self.glob(module, name)
        self.tuple_of(args)
        self.op(b"R")

    def save(self, obj) -> None:
        from eigengrad import _dtype
        from eigengrad._device import device
        from eigengrad.tensor import Size, Tensor

        if obj is None:
            self.op(b"N")
        elif obj is True or obj is False:
            self.op(b"\x88" if obj else b"\x89")
        elif type(obj) is int:
            self.integer(obj)
        elif type(obj) is float:
            self.op(b"G", struct_pack_double(obj))
        elif type(obj) is str:
            self.text(obj)
        elif type(obj) is bytes:
            self.call("_codecs", "encode", (obj.decode("latin-1"), "latin1"))
        elif type(obj) is complex:
            self.call("__builtin__", "complex", (obj.real, obj.imag))
        elif isinstance(obj, Tensor):
            self.tensor(obj)
        elif type(obj) is Size:
            self.glob("torch", "Size")
            self.op(b"(")
            self.tuple_of(tuple(obj))
            self.op(b"tR")
        elif type(obj) is _dtype.dtype or obj is _dtype.bfloat16:
            self.glob("torch", str(obj))
        elif type(obj) is device:
            self.call("torch", "device", (obj.type,) if obj.index is None else (obj.type, obj.index))
        elif type(obj) is tuple:
            self.tuple_of(obj)
        elif type(obj) is list:
            self.op(b"](")
            for item in obj:
                self.save(item)
            self.op(b"e")
        elif type(obj) is set:
            self.glob("__builtin__", "set")
            self.op(b"(")
            self.save(sorted(obj, key=repr))
            self.op(b"tR")
        elif type(obj) in (dict, OrderedDict):
            if type(obj) is dict:
                self.op(b"}")
            else:
                self.glob("collections", "OrderedDict")
                self.op(b")R")
            self.op(b"(")
            for k, v in obj.items():
                self.save(k)
                self.save(v)
            self.op(b"u")
            metadata = getattr(obj, "_metadata", None) if type(obj) is OrderedDict else None
            if metadata is not None:  # a state_dict's versions, as torch pickles them
                self.op(b"}")
                self.text("_metadata")
                self.save(metadata)
                self.op(b"sb")
        else:
            raise TypeError(f"obj: a PyTorch checkpoint holds tensors, numbers, strings, bytes, None, dtypes, "
                            f"torch.Size, devices, sets and lists, tuples and dicts of them; got "
                            f"{type(obj).__module__}.{type(obj).__qualname__} (convert NumPy arrays and scalars "
                            "to tensors and numbers, or use eigengrad.save)")

    def tensor(self, t) -> None:
        from eigengrad.nn.parameter import Parameter

        arr = t._data
        name = str(_dtype_name_of(arr.dtype))
        if name not in _STORAGE_CLASS_OF and name not in ("uint16", "uint32", "uint64"):
            raise TypeError(f"obj: a tensor of dtype {arr.dtype} has no PyTorch storage")
        key, root, offset, stride = self.storage(arr)
        numel_args = (offset, tuple(arr.shape), stride)
        is_parameter = isinstance(t, Parameter)
        if is_parameter:  # torch pickles a parameter as _rebuild_parameter(its data, requires_grad, hooks)
            self.glob("torch._utils", "_rebuild_parameter")
            self.op(b"(")
        untyped = name not in _STORAGE_CLASS_OF
        self.glob("torch._utils", "_rebuild_tensor_v3" if untyped else "_rebuild_tensor_v2")
        self.op(b"(")
        self.op(b"(")
        self.text("storage")
        if untyped:
            self.glob("torch.storage", "UntypedStorage")
        else:
            self.glob("torch", _STORAGE_CLASS_OF[name])
        self.text(key)
        self.text("cpu")
        self.integer(root.nbytes if untyped else root.size)
        self.op(b"tQ")
        for item in numel_args:
            self.save(item)
        self.save(bool(t.requires_grad) and not is_parameter)
        self.save(OrderedDict())
        if untyped:
            self.glob("torch", name)
        self.op(b"tR")
        if is_parameter:
            self.save(bool(t.requires_grad))
            self.save(OrderedDict())
            self.op(b"tR")

    def storage(self, arr: np.ndarray) -> tuple:
        """(record key, root array, storage offset, strides) of ``arr``: a view of its root array's record when
        the root is one contiguous block of the same dtype (memory shared as PyTorch shares it), else a
        record of its own holding a contiguous copy."""
        from eigengrad.autograd.ops_shape import _root

        root, item = _root(arr), arr.itemsize
        delta = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        shared = (arr.size > 0 and root.dtype == arr.dtype and root.dtype.isnative and delta >= 0 and
                  delta % item == 0 and (root.flags.c_contiguous or root.flags.f_contiguous) and
                  all(s >= 0 and s % item == 0 for s in arr.strides))
        if not shared:
            root, delta = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")).reshape(-1), 0
        found = self.roots.get(id(root))
        if found is None:
            found = self.roots[id(root)] = (str(len(self.records)), root)
            self.records.append((found[0], root.tobytes(order="A")))
        strides = tuple(s // item for s in arr.strides) if shared else _c_strides(arr.shape)
        return found[0], root, delta // item, strides


def _c_strides(shape) -> tuple:
    strides, n = [], 1
    for size in reversed(shape):
        strides.append(n)
        n *= max(size, 1)
    return tuple(reversed(strides))


def _dtype_name_of(np_dtype) -> str:
    for name, (known, _) in _DTYPES.items():
        if known is not None and np.dtype(known) == np_dtype.newbyteorder("="):
            return name
    return str(np_dtype)


def struct_pack_double(value: float) -> bytes:
    return struct.pack(">d", value)


def write(obj) -> bytes:
    """The bytes of a PyTorch checkpoint (``torch.save``'s zip format) of ``obj``, which ``torch.load`` reads
    with ``weights_only=True``: tensors (dtype, shape, strides, shared storage, ``requires_grad``,
    ``nn.Parameter``), numbers, strings, bytes, None, dtypes, ``Size``, devices, sets, and lists, tuples,
    dicts and OrderedDicts of them (a ``state_dict``'s ``_metadata`` kept). Anything else is a TypeError."""
    import sys
    import zipfile

    writer = _Writer()
    try:
        writer.save(obj)
    except RecursionError:
        raise TypeError("obj: nested too deeply (or contains itself)") from None
    pickled = b"\x80\x02" + bytes(writer.out) + b"."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        def record(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            header = 30 + len(info.filename.encode()) + 4
            pad = -(buffer.tell() + header) % 64  # data aligned to 64 bytes, as PyTorch writes it (mmap)
            info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)

        record("data.pkl", pickled)
        record(".format_version", b"1")
        record(".storage_alignment", b"64")
        record("byteorder", sys.byteorder.encode())
        for key, data in writer.records:
            record(f"data/{key}", data)
        record("version", b"3\n")
    return buffer.getvalue()
