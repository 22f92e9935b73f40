"""Saving and loading: ``eigengrad.save(obj, f)`` / ``eigengrad.load(f)``, PyTorch's names and arguments, a
safe format by default.

**The safe format** is a safetensors file: every tensor and NumPy array of ``obj`` is a safetensors tensor,
and the structure around them (dicts, OrderedDicts, lists, tuples, sets, numbers (complex ones and NumPy scalars
with their dtype too), strings, bytes, None, dtypes, devices, and enums, namedtuples, dataclasses and allow-listed classes as ``{"__object__": name, ...}`` entries) is JSON
in the header's metadata (``eigengrad.tree``; see ``eigengrad.utils.state_tree``). Loading it parses
JSON and copies bytes: no code runs, and a class named by the file is used only if it is allow-listed
(:func:`add_safe_globals`, :class:`safe_globals`), as PyTorch's ``weights_only`` unpickler does.

**A pickle** is written only for what the safe format cannot hold (a whole ``nn.Module``, an arbitrary
object), with a warning, as ``torch.save`` would pickle it. :func:`load` unpickles only with
``weights_only=False`` (never by default, unlike a ``weights_only`` unpickler that still runs allow-listed
code): a pickle under ``weights_only=True`` is PyTorch's ``UnpicklingError``.

**PyTorch's checkpoints** (``torch.save``'s zip format) are read as ``torch.load(weights_only=True)`` reads
them, by a restricted unpickler that rebuilds tensors, containers, dtypes, ``torch.Size``, ``torch.device``
and allow-listed classes only, every record and tensor checked against the file: see
``eigengrad._torch_checkpoint``.

The header's metadata (string -> string) holds eigengrad's fields:

- ``eigengrad.keys``: a JSON list of the tensor names in the caller's order (safetensors sorts them);
- ``eigengrad.tree``: the JSON structure of the saved object (absent in files of older versions, which
  hold a flat dict name -> tensor: :func:`load` returns those as an ``OrderedDict`` of tensors);
- ``eigengrad``: the caller's JSON metadata, when given;
- ``eigengrad.sha256``: a SHA-256 digest of the other fields and of every tensor's name, dtype, shape and
  bytes, so a damaged file (a flipped data byte) fails to load instead of loading wrong numbers.

:func:`load` checks every field it reads: bad JSON, a field of the wrong type, a keys list that does not
name exactly the file's tensors, or a digest that does not match, is a ``ValueError`` that names the file
and the field. Files written before the digest existed (no ``eigengrad.sha256``) still load. Paths are
written atomically (a temporary file renamed over the old one); file objects (open binary files,
``io.BytesIO``) are written and read at their current position, as PyTorch does.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import secrets
import warnings
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from eigengrad.tensor import Tensor

KEYS_FIELD = "eigengrad.keys"
TREE_FIELD = "eigengrad.tree"
META_FIELD = "eigengrad"
HASH_FIELD = "eigengrad.sha256"
DEFAULT_PROTOCOL = 2  # PyTorch's pickle protocol for torch.save

# Temporary files of atomic_write_bytes: ".tmp-<pid>-<8 hex>-<name>"; before the pid was in the name,
# tempfile's ".tmp-<8 of [a-z0-9_]><name>". Either names the file it was to become.
_TEMPORARY = re.compile(r"\.tmp-(?:(\d+)-[0-9a-f]{8}-|[a-z0-9_]{8})(?P<name>.+)\Z", re.DOTALL)


# --- writing ------------------------------------------------------------------------------------------

def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a crash leaves either the old file or the new one.

    The bytes go to a temporary file in the same directory, which is fsynced and renamed over ``path``;
    the directory is then fsynced so the rename itself is on disk. The file gets the mode ``open()`` would
    give it (0o666 less the umask, as ``numpy.save``). Temporary files that earlier writes of the same
    path left behind (a process killed mid-write) are removed first, unless their writer still runs.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    remove_leftovers(directory, name)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def remove_leftovers(directory: str, name: str) -> list[str]:
    """Remove the temporary files that interrupted writes of ``directory/name`` left; returns their names.

    Only eigengrad's temporaries for that name are touched, and not those of a writer that is still
    running (this process, or a live process whose id is in the name)."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMPORARY.match(entry.name)
        if m is None or m.group("name") != name or (m.group(1) and _running(int(m.group(1)))):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported here (Windows): the rename is as durable as the platform makes it
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _digest(arrays: dict[str, np.ndarray], fields: dict[str, str]) -> str:
    """SHA-256 over the metadata fields (but the digest) and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for key in sorted(fields):
        if key != HASH_FIELD:
            h.update(json.dumps([key, fields[key]]).encode())
    for name in sorted(arrays):
        a = arrays[name]
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data)
    return h.hexdigest()


# --- allow-listed classes ------------------------------------------------------------------------------

_SAFE_GLOBALS: list = []


def _global_name(entry) -> str:
    """The name a safe-globals entry is known by: ``module.QualName``, or the name given with it."""
    if isinstance(entry, tuple):
        return entry[1]
    return f"{entry.__module__}.{entry.__qualname__}"


def _check_entries(safe_globals) -> list:
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"safe_globals: expected a list of classes or functions (or (object, name) pairs), got "
                        f"{type(safe_globals).__name__}")
    for i, entry in enumerate(safe_globals):
        if isinstance(entry, tuple):
            if len(entry) != 2 or not callable(entry[0]) or not isinstance(entry[1], str):
                raise TypeError(f"safe_globals[{i}]: expected (object, 'module.name'), got {entry!r}")
        elif not callable(entry) or not hasattr(entry, "__qualname__"):
            raise TypeError(f"safe_globals[{i}]: expected a class or function, got {type(entry).__name__}")
    return list(safe_globals)


def add_safe_globals(safe_globals: list) -> None:
    """Allow-list classes (or ``(class, "module.name")`` pairs) for ``weights_only`` loading, as
    ``torch.serialization.add_safe_globals``: a checkpoint that holds an instance of one of them (an enum,
    a dataclass, a config object) loads with ``weights_only=True``. Only what is listed is ever used."""
    _SAFE_GLOBALS.extend(_check_entries(safe_globals))


def get_safe_globals() -> list:
    """The allow-listed classes and functions (``torch.serialization.get_safe_globals``)."""
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Empty the allow-list (``torch.serialization.clear_safe_globals``)."""
    _SAFE_GLOBALS.clear()


class safe_globals:
    """Context manager that allow-lists classes for the ``weights_only`` loads inside it
    (``torch.serialization.safe_globals``)."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = _check_entries(safe_globals)

    def __enter__(self) -> None:
        self._before = list(_SAFE_GLOBALS)
        _SAFE_GLOBALS.extend(self.safe_globals)

    def __exit__(self, *exc) -> None:
        _SAFE_GLOBALS[:] = self._before


def _storable_name(obj) -> str | None:
    """The name an object of the safe format is stored under: enums, namedtuples and dataclasses are stored
    by their class's name (loading them needs the class allow-listed); other objects only when allow-listed."""
    import dataclasses
    import enum

    cls = type(obj)
    for entry in _SAFE_GLOBALS:
        if (entry[0] if isinstance(entry, tuple) else entry) is cls:
            return _global_name(entry)
    if isinstance(obj, enum.Enum) or (isinstance(obj, tuple) and hasattr(cls, "_fields")) or (
            dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
        return _global_name(cls)
    return None


class WeightsOnlyUnpicklingError(pickle.UnpicklingError, ValueError):
    """What ``load(weights_only=True)`` raises for a file it will not load: PyTorch's exception type
    (``pickle.UnpicklingError``), and a ``ValueError`` as eigengrad's other bad-input errors."""


_UNSAFE = ("Re-running `eigengrad.load` with `weights_only` set to `False` will likely succeed, but it can result "
           "in arbitrary code execution. Do it only if you got the file from a trusted source.")


def _unsupported_global(label: str, name: str) -> WeightsOnlyUnpicklingError:
    return WeightsOnlyUnpicklingError(
        f"Weights only load failed for {label!r}. This file can still be loaded, to do so you have two options, "
        "do those steps only if you trust the source of the checkpoint.\n"
        f"\t(1) {_UNSAFE}\n"
        "\t(2) Alternatively, to load with `weights_only=True` please check the recommended steps in the following "
        f"error message.\n\tWeightsUnpickler error: Unsupported global: GLOBAL {name} was not an allowed global by "
        f"default. Please use `eigengrad.serialization.add_safe_globals([{name}])` or the "
        f"`eigengrad.serialization.safe_globals([{name}])` context manager to allowlist this global if you trust "
        "this class/function.")


def _resolver(label: str, weights_only: bool) -> Callable:
    def resolve(name: str):
        for entry in _SAFE_GLOBALS:
            if _global_name(entry) == name:
                return entry[0] if isinstance(entry, tuple) else entry
        if weights_only:
            raise _unsupported_global(label, name)
        return _import_global(name)
    return resolve


def _import_global(name: str):
    """The object ``module.QualName`` names (``weights_only=False``: the module is imported)."""
    import importlib

    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
            return obj
        except AttributeError:
            break
    raise ValueError(f"{name}: no such class to rebuild (its module is not importable or does not define it)")


# --- save -----------------------------------------------------------------------------------------------

def save(obj: Any, f, metadata: Any = None, *, pickle_module: Any = None, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` (a path, or a binary file object such as ``io.BytesIO``), as ``torch.save``.

    Tensors, NumPy arrays, numbers (NumPy scalars keep their dtype), strings, bytes, None, dtypes, devices and
    any nesting of dicts, OrderedDicts, lists, tuples and sets of them (``model.state_dict()``, ``optimizer.state_dict()``, a scheduler's, whole training
    states), and enums, namedtuples, dataclasses and allow-listed objects in them, go to the safe format
    (safetensors + JSON, nothing executed on load). Anything else (a whole ``nn.Module``, an arbitrary
    object) is pickled with ``pickle_module`` (default ``pickle``) and ``pickle_protocol``, with a
    warning: :func:`load` reads such a file only with ``weights_only=False``.

    ``metadata`` (JSON-serialisable, eigengrad's) is stored in the header under ``"eigengrad"``
    (:func:`load_metadata`). A path is written atomically; a file object at its current position.
    The last two arguments are PyTorch's and change nothing here.
    """
    from safetensors.numpy import save as st_save

    from eigengrad.utils.state_tree import NotStorable, pack

    _check_destination(f)
    try:
        arrays, tree = pack(obj, typed=True, object_name=_storable_name)
    except NotStorable as why:
        _write(f, _pickled(obj, f, why, pickle_module, pickle_protocol))
        return
    arrays = {k: a if a.flags.c_contiguous else np.ascontiguousarray(a) for k, a in arrays.items()}
    # safetensors stores tensors sorted by name: keep the caller's order (state_dict order) in the header
    fields = {KEYS_FIELD: json.dumps(list(arrays)), TREE_FIELD: json.dumps(tree)}
    if metadata is not None:
        fields[META_FIELD] = json.dumps(metadata)
    fields[HASH_FIELD] = _digest(arrays, fields)
    _write(f, st_save(arrays, metadata=fields))


def save_torch_checkpoint(obj: Any, f) -> None:
    """Save ``obj`` in PyTorch's own checkpoint format (``torch.save``'s zip), which ``torch.load`` reads
    with ``weights_only=True`` (its default) and :func:`load` reads back: for handing a state_dict or a
    training state to a PyTorch program. Tensors keep their dtype, shape, strides, shared storage,
    ``requires_grad`` and ``nn.Parameter``; numbers, strings, bytes, None, dtypes, ``Size``, devices, sets,
    and lists, tuples, dicts and OrderedDicts of them are written as PyTorch pickles them. Anything else
    (NumPy arrays, other objects) is a TypeError: :func:`save` writes those. A path is written atomically."""
    from eigengrad import _torch_checkpoint

    _check_destination(f)
    _write(f, _torch_checkpoint.write(obj))


def _check_destination(f) -> None:
    if not isinstance(f, (str, os.PathLike)) and not callable(getattr(f, "write", None)):
        raise TypeError(f"f: expected a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")


def _write(f, payload: bytes) -> None:
    if isinstance(f, (str, os.PathLike)):
        atomic_write_bytes(f, payload)
    else:
        f.write(payload)


def _pickled(obj: Any, f, why: Exception, pickle_module: Any, protocol: int) -> bytes:
    warnings.warn(f"eigengrad.save: {why}, so {_label(f)!r} is written as a pickle (as torch.save would), which "
                  "eigengrad.load reads only with weights_only=False. Save the state instead (model.state_dict(), "
                  "tensors, numbers, containers; eigengrad.serialization.add_safe_globals for your own classes) to "
                  "get a file that loads safely.", UserWarning, stacklevel=3)
    return (pickle if pickle_module is None else pickle_module).dumps(obj, protocol=protocol)


def _label(f) -> str:
    """How messages name ``f``: its path, or the file object's name."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"


# --- reading ------------------------------------------------------------------------------------------

def _bad(path: str, field: str, what: str) -> ValueError:
    return ValueError(f"path: {path!r}: metadata field {field!r} {what}")


def _json_field(path: str, fields: dict, field: str) -> Any:
    try:
        return json.loads(fields[field])
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError is a ValueError
        raise _bad(path, field, f"is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None


def _read_bytes(f, header_only: bool = False) -> tuple[str, bytes]:
    """(label, the bytes of ``f`` from its current position; of a path, only the header if asked)."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"path: no such file {path!r}")
        with open(path, "rb") as stream:
            if not header_only:
                return path, stream.read()
            head = stream.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else 0
            return path, head + stream.read(n if n <= os.path.getsize(path) else 0)
    if not callable(getattr(f, "read", None)):
        raise TypeError(f"f: expected a path (str or os.PathLike) or a binary file object, got {type(f).__name__}")
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"f: expected a binary file object (open(..., 'rb')), its read() gave {type(data).__name__}")
    return _label(f), bytes(data)


def _header_length(data: bytes) -> int | None:
    """The JSON header's length when ``data`` looks like a safetensors file, else None."""
    if len(data) < 10:
        return None
    n = int.from_bytes(data[:8], "little")
    return n if n <= len(data) - 8 and data[8:9] == b"{" else None


def _parse(label: str, data: bytes, read_tensors: bool) -> tuple[dict, dict]:
    """(header fields, tensors) of the safetensors file ``data``; every error names the file."""
    from safetensors.numpy import load as st_load

    def invalid(why: str) -> ValueError:
        return ValueError(f"path: {label!r} is not a valid safetensors file ({why})")

    n = _header_length(data)
    if n is None:
        raise invalid("no safetensors header")
    try:
        header = json.loads(data[8:8 + n])
        arrays = st_load(data) if read_tensors else {}
    except Exception as e:  # safetensors raises its own SafetensorError (and others) for a bad file
        raise invalid(f"{type(e).__name__}: {str(e)[:200]}") from e
    fields = header.get("__metadata__") or {} if isinstance(header, dict) else None
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise invalid("metadata values must be strings")
    if not all(isinstance(v, dict) and {"dtype", "shape", "data_offsets"} <= set(v)
               for k, v in header.items() if k != "__metadata__"):
        raise invalid("a tensor entry lacks dtype, shape or data_offsets")
    return fields, arrays


def _open(f, read_tensors: bool) -> tuple[str, dict, dict]:
    """(label, header fields, tensors) of a safetensors file or file object; every error names the file."""
    label, data = _read_bytes(f, header_only=not read_tensors)
    fields, arrays = _parse(label, data, read_tensors)
    return label, fields, arrays


def _ordered_keys(path: str, fields: dict, arrays: dict) -> list[str]:
    """The tensor names in the order they were saved: the keys field must name exactly the file's tensors."""
    if KEYS_FIELD not in fields:  # not written by eigengrad: safetensors' (sorted) order
        return sorted(arrays)
    keys = _json_field(path, fields, KEYS_FIELD)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _bad(path, KEYS_FIELD, f"must be a JSON list of tensor names, got {fields[KEYS_FIELD][:200]!r}")
    if len(set(keys)) != len(keys):
        raise _bad(path, KEYS_FIELD, "names a tensor twice")
    missing, unlisted = sorted(set(keys) - set(arrays)), sorted(set(arrays) - set(keys))
    if missing or unlisted:
        raise _bad(path, KEYS_FIELD, f"must name exactly the file's tensors: names {missing[:5]} not in the file, "
                                     f"omits {unlisted[:5]}")
    return keys


def _verify(path: str, fields: dict, arrays: dict) -> None:
    expected = fields.get(HASH_FIELD)
    if expected is None:  # written before the digest existed
        return
    if not isinstance(expected, str) or re.fullmatch(r"[0-9a-f]{64}", expected) is None:
        raise _bad(path, HASH_FIELD, f"must be a SHA-256 hex digest, got {expected[:80]!r}")
    if _digest(arrays, fields) != expected:
        raise ValueError(f"path: {path!r} is damaged: its tensors or metadata do not match the SHA-256 digest "
                         f"stored when it was saved (field {HASH_FIELD!r}); load(..., verify=False) reads it anyway")


def _checked(label: str, fields: dict, arrays: dict, verify: bool) -> "OrderedDict[str, np.ndarray]":
    keys = _ordered_keys(label, fields, arrays)
    if verify:
        _verify(label, fields, arrays)
    return OrderedDict((k, arrays[k]) for k in keys)


def read(f, verify: bool = True) -> tuple["OrderedDict[str, np.ndarray]", Any]:
    """(the tensors as arrays in saved order, the ``metadata`` given to :func:`save` or None), checked."""
    label, fields, arrays = _open(f, read_tensors=True)
    arrays = _checked(label, fields, arrays, verify)
    meta = _json_field(label, fields, META_FIELD) if META_FIELD in fields else None
    return arrays, meta


def load(f, map_location=None, pickle_module: Any = None, *, weights_only: bool | None = None, mmap: bool | None = None,
         verify: bool = True, **pickle_load_args) -> Any:
    """Load what :func:`save` saved to ``f`` (a path or a binary file object), as ``torch.load``.

    A safe-format file gives back its object: tensors as tensors, NumPy arrays as arrays, the containers
    and numbers as they were; objects named in it are rebuilt only from allow-listed classes
    (:func:`add_safe_globals`) unless ``weights_only=False``. Nothing is executed. A file of an older
    eigengrad (a flat dict) gives an ``OrderedDict`` name -> Tensor.

    A PyTorch checkpoint (``torch.save``'s zip format) gives back its object as ``torch.load`` would, tensors
    as eigengrad tensors (storages shared as saved, put on the CPU), read by a restricted unpickler
    (``eigengrad._torch_checkpoint``): a global outside PyTorch's ``weights_only`` set and the allow-list
    is PyTorch's ``UnpicklingError``. With ``weights_only=False`` globals outside ``torch`` are imported as
    ``pickle`` would (with a warning); other ``torch`` objects cannot be rebuilt without PyTorch (an error).
    Legacy (torch < 1.6) and TorchScript files are a ``ValueError`` saying so.

    ``weights_only`` (default True, PyTorch's default since 2.6): a pickle (what :func:`save` writes for a
    whole module or another object) is refused with PyTorch's ``UnpicklingError``; ``weights_only=False``
    unpickles it (with ``pickle_module`` and ``pickle_load_args``) after a warning: unpickling runs code
    from the file. ``map_location``: None, ``'cpu'``, a CPU device, a dict of locations, or a callable
    ``f(tensor, 'cpu')`` applied to every loaded tensor (eigengrad runs on the CPU: another device is a
    ValueError). ``mmap`` is accepted and ignored. ``verify``: check the SHA-256 digest :func:`save`
    stored; False reads a damaged file anyway. Every error names the file.
    """
    location = _check_map_location(map_location)
    label, data = _read_bytes(f)
    weights_only = True if weights_only is None else bool(weights_only)
    if _header_length(data) is None and data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        from eigengrad import _torch_checkpoint

        obj = _torch_checkpoint.load(label, data, weights_only)  # torch.save's zip format, restricted unpickling
    elif _header_length(data) is None and _is_legacy_torch(data):
        raise ValueError(f"path: {label!r} is a PyTorch checkpoint in the legacy format of torch < 1.6, which "
                         "eigengrad does not read. Re-save it once with a recent PyTorch: "
                         "torch.save(torch.load(file), file) writes the zip format that eigengrad.load reads")
    elif _header_length(data) is None and data[:1] == b"\x80":
        obj = _unpickle(label, data, weights_only, pickle_module, pickle_load_args)
    else:
        obj = _load_safe(label, data, weights_only, verify)
    return _map_tensors(obj, location) if location is not None else obj


def _is_legacy_torch(data: bytes) -> bool:
    """A checkpoint of torch < 1.6: pickles starting with torch's magic number, or a tar archive."""
    from eigengrad._torch_checkpoint import is_legacy

    return is_legacy(data)


def _load_safe(label: str, data: bytes, weights_only: bool, verify: bool) -> Any:
    from eigengrad.utils.state_tree import unpack

    fields, arrays = _parse(label, data, read_tensors=True)
    arrays = _checked(label, fields, arrays, verify)
    if META_FIELD in fields:
        _json_field(label, fields, META_FIELD)  # checked as read() checks it, though load returns the object
    if TREE_FIELD not in fields:  # a flat dict name -> tensor (older eigengrad, or any safetensors file)
        return OrderedDict((k, Tensor._wrap(a)) for k, a in arrays.items())
    tree = _json_field(label, fields, TREE_FIELD)
    try:
        return unpack(dict(arrays), tree, typed=True, resolve=_resolver(label, weights_only))
    except WeightsOnlyUnpicklingError:
        raise
    except ValueError as e:
        raise _bad(label, TREE_FIELD, str(e)) from None


def _unpickle(label: str, data: bytes, weights_only: bool, pickle_module: Any, pickle_load_args: dict) -> Any:
    if weights_only:
        raise WeightsOnlyUnpicklingError(
            f"Weights only load failed for {label!r}: it is a pickle (eigengrad.save writes one for an object the "
            "safe format cannot hold, such as a whole nn.Module), and eigengrad never unpickles with "
            f"weights_only=True.\n\t(1) {_UNSAFE}\n\t(2) Save the state instead (model.state_dict(), tensors, "
            "numbers, containers; eigengrad.serialization.add_safe_globals for your own classes) to get a file "
            f"that loads with weights_only=True. The pickle names: {', '.join(_pickle_globals(data)) or 'nothing'}.")
    warnings.warn(f"eigengrad.load({label!r}, weights_only=False) unpickles the file, which can run arbitrary code "
                  "from it: only do this for files you trust.", FutureWarning, stacklevel=3)
    module = pickle if pickle_module is None else pickle_module
    return module.loads(data, **pickle_load_args)


def _pickle_globals(data: bytes) -> list[str]:
    """The classes and functions a pickle names (read with pickletools: nothing is executed)."""
    import pickletools

    names, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                names.append(arg.replace(" ", "."))
            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                strings.append(arg)
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # a damaged or truncated pickle: list what was read
        pass
    return sorted(set(names))[:20]


def _check_map_location(map_location) -> Any:
    """None (nothing to do), or a callable to apply to every tensor; a non-CPU target is a ValueError."""
    if map_location is None:
        return None
    if callable(map_location) and not isinstance(map_location, type):
        return map_location
    targets = list(map_location.values()) if isinstance(map_location, dict) else [map_location]
    for target in targets:
        name = target if isinstance(target, str) else getattr(target, "type", None) or str(target)
        if not isinstance(name, str) or name.split(":")[0] != "cpu":
            raise ValueError(f"map_location: eigengrad runs on the CPU only, got {map_location!r}")
    return None


def _map_tensors(obj: Any, fn: Callable) -> Any:
    """``obj`` with every tensor ``t`` replaced by ``fn(t, 'cpu')`` when that gives a tensor."""
    if isinstance(obj, Tensor):
        mapped = fn(obj, "cpu")
        return mapped if isinstance(mapped, Tensor) else obj
    if isinstance(obj, dict):
        out = type(obj)() if type(obj) in (dict, OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _map_tensors(v, fn)
        if type(obj) is OrderedDict and hasattr(obj, "_metadata"):  # a state_dict's versions
            out._metadata = obj._metadata
        return out
    if type(obj) in (list, tuple):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def load_metadata(f):
    """The ``metadata`` given to :func:`save`, or None (reads the header only: the digest is not checked)."""
    label, fields, _ = _open(f, read_tensors=False)
    return _json_field(label, fields, META_FIELD) if META_FIELD in fields else None
