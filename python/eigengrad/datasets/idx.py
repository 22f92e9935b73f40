"""Reading IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed or raw.

Layout (big-endian): two zero bytes, a type code, the number of dimensions d, then d uint32 sizes,
then the values in C order. Every check that fails raises ``ValueError`` naming the file, so a
truncated or corrupt download is reported, never returned as garbage.
"""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

# IDX type code -> big-endian NumPy dtype
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` files are decompressed), in native byte order."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{raw[:4].hex()}, expected 0x0000 followed "
                         f"by a type code in {sorted(hex(c) for c in _TYPES)} and the number of dimensions)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected at least {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(f"{path}: {what}: {len(raw)} bytes, expected {expected} for an array of shape "
                         f"{tuple(shape)} and type {dtype.name}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _read_bytes(path: str) -> bytes:
    if path.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip file ({err})") from None
    with open(path, "rb") as f:
        return f.read()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``); for tests and tools."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}
    array = np.ascontiguousarray(array)
    if array.dtype not in codes:
        raise TypeError(f"array: expected one of {[d.name for d in codes]}, got {array.dtype}")
    header = struct.pack(">HBB", 0, codes[array.dtype], array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">"), copy=False).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
