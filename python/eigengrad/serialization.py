"""Saving and loading tensors: safetensors files (never pickle), written atomically."""
from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict

import numpy as np

from eigengrad.tensor import Tensor


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a crash leaves either the old file or the new one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(state_dict: dict, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Save a dict name -> Tensor/array (e.g. ``model.state_dict()``) as a safetensors file.

    ``metadata`` (JSON-serialisable) is stored in the file's header under ``"eigengrad"``.
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
    header = {"eigengrad.keys": json.dumps(list(arrays))}
    if metadata is not None:
        header["eigengrad"] = json.dumps(metadata)
    atomic_write_bytes(path, st_save(arrays, metadata=header))


def load(path: str | os.PathLike) -> "OrderedDict[str, Tensor]":
    """Load a safetensors file saved by :func:`save` as an ordered dict name -> Tensor."""
    from safetensors.numpy import load_file

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file {path!r}")
    try:
        arrays = load_file(path)
    except Exception as e:  # safetensors raises its own SafetensorError for a bad header
        raise ValueError(f"path: {path!r} is not a valid safetensors file ({type(e).__name__}: {e})") from e
    order = _header(path).get("eigengrad.keys")
    keys = [k for k in json.loads(order) if k in arrays] if order else sorted(arrays)
    return OrderedDict((k, Tensor._wrap(arrays[k])) for k in keys)


def _header(path) -> dict:
    from safetensors import safe_open

    with safe_open(os.fspath(path), framework="numpy") as f:
        return f.metadata() or {}


def load_metadata(path: str | os.PathLike):
    """The ``metadata`` given to :func:`save`, or None."""
    meta = _header(path)
    return json.loads(meta["eigengrad"]) if "eigengrad" in meta else None
