"""Saving and loading tensors: safetensors files (never pickle), written atomically, checked when read.

A file holds the tensors and, in its header's metadata (string -> string), eigengrad's fields:

- ``eigengrad.keys``: a JSON list of the tensor names in the caller's order (safetensors sorts them);
- ``eigengrad``: the caller's JSON metadata, when given;
- ``eigengrad.sha256``: a SHA-256 digest of the other fields and of every tensor's name, dtype, shape and
  bytes, so a damaged file (a flipped data byte) fails to load instead of loading wrong numbers.

:func:`load` checks every field it reads: bad JSON, a field of the wrong type, a keys list that does not
name exactly the file's tensors, or a digest that does not match, is a ``ValueError`` that names the file
and the field. Files written before the digest existed (no ``eigengrad.sha256``) still load.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections import OrderedDict
from typing import Any

import numpy as np

from eigengrad.tensor import Tensor

KEYS_FIELD = "eigengrad.keys"
META_FIELD = "eigengrad"
HASH_FIELD = "eigengrad.sha256"

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


def save(state_dict: dict, path: str | os.PathLike, metadata: Any = None) -> None:
    """Save a dict name -> Tensor/array (e.g. ``model.state_dict()``) as a safetensors file, atomically.

    ``metadata`` (JSON-serialisable) is stored in the file's header under ``"eigengrad"``; a SHA-256 digest
    of the tensors and metadata is stored with it and checked by :func:`load`.
    """
    from safetensors.numpy import save as st_save

    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict: expected a dict of name -> tensor, got {type(state_dict).__name__}")
    arrays = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"state_dict: keys must be str, got {type(k).__name__}")
        arr = v._data if isinstance(v, Tensor) else v
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"state_dict[{k!r}]: expected a Tensor or numpy array, got {type(v).__name__}")
        arrays[k] = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)  # (which makes 0-d arrays 1-d)
    # safetensors stores tensors sorted by name: keep the caller's order (state_dict order) in the header
    fields = {KEYS_FIELD: json.dumps(list(arrays))}
    if metadata is not None:
        fields[META_FIELD] = json.dumps(metadata)
    fields[HASH_FIELD] = _digest(arrays, fields)
    atomic_write_bytes(path, st_save(arrays, metadata=fields))


# --- reading ------------------------------------------------------------------------------------------

def _bad(path: str, field: str, what: str) -> ValueError:
    return ValueError(f"path: {path!r}: metadata field {field!r} {what}")


def _json_field(path: str, fields: dict, field: str) -> Any:
    try:
        return json.loads(fields[field])
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError is a ValueError
        raise _bad(path, field, f"is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None


def _open(path: str | os.PathLike, read_tensors: bool) -> tuple[str, dict, dict]:
    """(path, header fields, tensors) of a safetensors file; every error names the file."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file {path!r}")
    try:
        with safe_open(path, framework="numpy") as f:
            fields = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()} if read_tensors else {}
    except Exception as e:  # safetensors raises its own SafetensorError (and others) for a bad file
        raise ValueError(f"path: {path!r} is not a valid safetensors file ({type(e).__name__}: {e})") from e
    if not all(isinstance(v, str) for v in fields.values()):
        raise ValueError(f"path: {path!r} is not a valid safetensors file (metadata values must be strings)")
    return path, fields, arrays


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


def read(path: str | os.PathLike, verify: bool = True) -> tuple["OrderedDict[str, np.ndarray]", Any]:
    """(the tensors as arrays in saved order, the ``metadata`` given to :func:`save` or None), checked."""
    path, fields, arrays = _open(path, read_tensors=True)
    keys = _ordered_keys(path, fields, arrays)
    if verify:
        _verify(path, fields, arrays)
    meta = _json_field(path, fields, META_FIELD) if META_FIELD in fields else None
    return OrderedDict((k, arrays[k]) for k in keys), meta


def load(path: str | os.PathLike, verify: bool = True) -> "OrderedDict[str, Tensor]":
    """Load a safetensors file saved by :func:`save` as an ordered dict name -> Tensor.

    ``verify``: check the SHA-256 digest stored by :func:`save` (when the file has one); False reads a
    damaged file anyway. Every error (``ValueError``, ``FileNotFoundError``) names the file."""
    arrays, _ = read(path, verify)
    return OrderedDict((k, Tensor._wrap(a)) for k, a in arrays.items())


def load_metadata(path: str | os.PathLike):
    """The ``metadata`` given to :func:`save`, or None (reads the header only: the digest is not checked)."""
    path, fields, _ = _open(path, read_tensors=False)
    return _json_field(path, fields, META_FIELD) if META_FIELD in fields else None
