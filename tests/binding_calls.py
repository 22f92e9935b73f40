"""One call of a compiled-module function, built from a picklable :class:`Recipe`, mutated, run and judged
against the NumPy reference. Runs in a forked child (see forked.py), so the recipe is plain data: the table
entry's name, a seed, the dtype, the sizes and one mutation.

Mutations (a tuple whose first item is the kind; ``path`` names an array argument, "grads[1]" for an item
of a list argument):

  ("dtype", path, dtype)          the array cast to another dtype
  ("layout", path, kind)          the same values Fortran-ordered, strided, with negative strides or unaligned
  ("readonly", path)              the array made read-only
  ("alias", out, other)           the output passed as exactly the other array argument
  ("overlap", out, other)         the output and the other array views of one buffer, one element apart
  ("values", path, kind)          NaN, +-inf, huge or subnormal values sprinkled in
  ("replace", name, kind)         the argument replaced by None, a list, a scalar or a string
  ("int", name, value)            an int argument replaced by a huge or negative value
  ("float", name, value)          a float argument replaced by nan, inf or a huge value
  ("shape", path, kind)           a zero-size array with a huge dimension, an empty first axis, or one axis
                                  one longer

The verdict says whether the call returned (and whether its outputs match the reference computed from
the arguments as they were passed) or raised (and what).
"""
from __future__ import annotations

import builtins
import contextlib
import copy
import dataclasses
import math
import re
import signal
import warnings

import numpy as np

from binding_table import TABLE, Case, array_args, describe

# A raised exception of these types is a clean refusal (pybind11 raises TypeError for arguments it
# cannot convert, MemoryError for std::bad_alloc; the embeddings raise IndexError for an index out of
# range, as PyTorch); anything else (RuntimeError from an unexpected C++ exception, SystemError, ...) is
# a failure.
CLEAN_ERRORS = ("TypeError", "ValueError", "IndexError", "MemoryError")


def _clean_kind(error: BaseException) -> str:
    """The clean class an error is an instance of (a class index out of range raises eigengrad's
    ArgumentIndexError, an IndexError and a ValueError), else its own name."""
    return next((n for n in CLEAN_ERRORS if isinstance(error, getattr(builtins, n))), type(error).__name__)
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    seed: int
    dtype: str
    dims: tuple = (3, 5, 2, 4)
    mutation: tuple = ("none",)
    full: bool = False

    def __str__(self) -> str:
        name = self.name if "." in self.name else f"_C.{self.name}"  # (the public ops' names are "F.x", "eg.x")
        return f"{name} [{self.dtype}, dims {self.dims}, seed {self.seed}, mutation {self.mutation}]"


# --- argument paths ---------------------------------------------------------------------------------

_ITEM = re.compile(r"(\w+)\[(\d+)\]\Z")


def array_paths(kw: dict) -> list[str]:
    """Every array argument: a name, or "name[i]" for the items of a list argument."""
    paths = []
    for name in array_args(kw):
        paths += [f"{name}[{i}]" for i in range(len(kw[name]))] if isinstance(kw[name], list) else [name]
    return paths


def get(kw: dict, path: str):
    m = _ITEM.match(path)
    return kw[m.group(1)][int(m.group(2))] if m else kw[path]


def put(kw: dict, path: str, value) -> None:
    m = _ITEM.match(path)
    if m:
        kw[m.group(1)][int(m.group(2))] = value
    else:
        kw[path] = value


def base_name(path: str) -> str:
    m = _ITEM.match(path)
    return m.group(1) if m else path


def is_output(name: str, path: str) -> bool:
    return base_name(path) in TABLE[name].outputs


# --- mutations --------------------------------------------------------------------------------------

def _relayout(a: np.ndarray, kind: str) -> np.ndarray | None:
    """``a``'s values in another memory layout (a copy), or None where the layout would be C-contiguous."""
    if kind == "fortran":
        if sum(s > 1 for s in a.shape) < 2:
            return None
        return np.asfortranarray(a)
    if kind == "strided":
        if a.size < 2:
            return None
        big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), a.dtype) if a.ndim else None
        if big is None:
            return None
        big[..., ::2] = a
        return big[..., ::2]
    if kind == "negative":
        if a.ndim == 0 or a.shape[-1] < 2:
            return None
        return np.flip(np.flip(a, -1).copy(), -1)
    if kind == "unaligned":
        if a.size == 0 or a.itemsize == 1:
            return None
        raw = np.empty(a.nbytes + 1, np.uint8)
        out = raw[1:].view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    raise ValueError(kind)


def _sprinkle(a: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray | None:
    if a.dtype.kind != "f" or a.size == 0:
        return None
    b = a.copy()
    flat = b.reshape(-1)
    at = rng.choice(flat.size, size=max(1, flat.size // 5), replace=False)
    value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": np.finfo(a.dtype).max / 4,
             "subnormal": np.finfo(a.dtype).smallest_subnormal}[kind]
    flat[at] = value * rng.choice([-1, 1], size=at.size) if kind in ("huge", "subnormal") else value
    return b


def _overlapping(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Views (a2, b2) of one buffer with a's and b's shapes, dtypes and values, b2 starting one element (of
    the larger item size) after a2, so they overlap without being the same array."""
    shift = max(a.itemsize, b.itemsize)
    if a.nbytes <= shift or b.nbytes <= shift:
        return None
    raw = np.zeros(max(a.nbytes, shift + b.nbytes) + 64, np.uint8)
    base = (-raw.ctypes.data) % 64  # aligned for either dtype
    a2 = raw[base:base + a.nbytes].view(a.dtype).reshape(a.shape)
    b2 = raw[base + shift:base + shift + b.nbytes].view(b.dtype).reshape(b.shape)
    a2[...] = a
    b2[...] = b  # (overwrites part of a2: only b's values are read by the reference where they meet)
    return a2, b2


def _huge_zero(a: np.ndarray) -> np.ndarray | None:
    if a.ndim < 2:
        return None
    shape = list(a.shape)
    shape[0], shape[-1] = 0, 2**40
    return np.empty(shape, a.dtype)


ARRAY_MUTATIONS = ("dtype", "layout", "readonly", "values", "shape")


def mutated_array(a: np.ndarray, mutation: tuple, rng: np.random.Generator) -> np.ndarray | None:
    """``a`` under one of the ARRAY_MUTATIONS (a new array), or None where it does not apply."""
    kind, how = mutation[0], mutation[-1]
    if kind == "dtype":
        with warnings.catch_warnings():  # NaN to int: the values do not matter, the dtype does
            warnings.simplefilter("ignore", RuntimeWarning)
            return a.astype(how) if a.dtype != np.dtype(how) else None
    if kind == "layout":
        return _relayout(a, how)
    if kind == "readonly":
        new = a.copy()
        new.flags.writeable = False
        return new
    if kind == "values":
        return _sprinkle(a, how, rng)
    if a.ndim == 0:
        return None
    if how == "huge":
        return _huge_zero(a)
    if how == "empty":
        return np.zeros((0,) + a.shape[1:], a.dtype)
    return np.zeros(a.shape[:-1] + (a.shape[-1] + 1,), a.dtype)  # "longer"


def apply(kw: dict, mutation: tuple, rng: np.random.Generator) -> bool:
    """Mutates ``kw`` in place; False when the mutation does not apply to this call."""
    kind = mutation[0]
    if kind == "none":
        return True
    if kind in ARRAY_MUTATIONS:
        if mutation[1] not in array_paths(kw):
            return False
        new = mutated_array(get(kw, mutation[1]), mutation, rng)
        if new is not None:
            put(kw, mutation[1], new)
        return new is not None
    if kind in ("alias", "overlap"):
        out, other = mutation[1], mutation[2]
        paths = array_paths(kw)
        if out not in paths or other not in paths or out == other:
            return False
        a, b = get(kw, out), get(kw, other)
        if kind == "alias":
            if a.shape != b.shape or a.dtype != b.dtype:
                return False
            put(kw, out, b)
            return True
        pair = _overlapping(a, b)
        if pair is None:
            return False
        put(kw, out, pair[0])
        put(kw, other, pair[1])
        return True
    name = mutation[1]
    if name not in kw:
        return False
    value = kw[name]
    if kind == "replace":
        how = mutation[2]
        if how == "none":
            kw[name] = None
        elif how == "list":
            if not isinstance(value, np.ndarray):
                return False
            kw[name] = value.tolist()
        elif how == "scalar":
            kw[name] = 1.5
        else:
            kw[name] = "x"
        return True
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        kw[name] = mutation[2]
        return True
    if kind == "float":
        if not isinstance(value, float):
            return False
        kw[name] = mutation[2]
        return True
    raise ValueError(f"unknown mutation {mutation}")


# --- judging ----------------------------------------------------------------------------------------

def mismatch(got, expected, dtype: np.dtype, factor: float) -> str | None:
    """Why ``got`` is not ``expected`` (NaN where NaN, inf where inf, finite values within the dtype's
    tolerance relative to the largest expected magnitude), or None."""
    if isinstance(expected, list) and isinstance(got, list) and expected and isinstance(expected[0], np.ndarray):
        if len(got) != len(expected):
            return f"{len(got)} arrays, expected {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            why = mismatch(g, e, dtype, factor)
            if why:
                return f"[{i}]: {why}"
        return None
    if isinstance(expected, (tuple, list, int, str, type(None))) and not isinstance(expected, bool) \
            and not isinstance(expected, float):
        return None if got == expected else f"{got!r}, expected {expected!r}"
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape:
        return f"shape {g.shape}, expected {e.shape}"
    if e.dtype.kind in "iub" or g.dtype.kind in "iub":
        bad = np.flatnonzero(g.reshape(-1) != e.reshape(-1))
        return None if bad.size == 0 else f"{bad.size} of {e.size} differ (first at {bad[0]}: {g.reshape(-1)[bad[0]]} " \
                                          f"!= {e.reshape(-1)[bad[0]]})"
    g64, e64 = g.astype(np.float64), e.astype(np.float64)
    # Non-finite where the reference is non-finite: a NaN lost or invented is a failure; NaN against +-inf is
    # not (inf - inf in one association order is inf + finite in another), nor are infinities' signs then.
    special = ~np.isfinite(e64) | ~np.isfinite(g64)
    lost = special & (np.isfinite(e64) | np.isfinite(g64))
    if np.any(lost):
        i = np.flatnonzero(lost.reshape(-1))[0]
        return f"non-finite values differ (first at {i}: {g64.reshape(-1)[i]} != {e64.reshape(-1)[i]})"
    fin = ~special
    if not fin.any():
        return None
    # relative to the largest expected magnitude, but at least 1: where the exact answer is 0 (a sum that
    # cancels) the kernel's rounding noise is compared with the inputs' scale, not with nothing
    scale = max(float(np.max(np.abs(e64[fin]))), 1.0)
    err = float(np.max(np.abs(g64[fin] - e64[fin]))) / scale
    tol = TOLERANCE.get(dtype, TOLERANCE[np.dtype(np.float64)]) * factor
    return None if err <= tol else f"relative error {err:.2e} > {tol:.0e}"


class ReferenceTooSlow(Exception):
    pass


@contextlib.contextmanager
def reference_time_limit(seconds: float = 5.0):
    """The NumPy reference may give up (a window of 2**32 channels): then there is no verdict, and the
    call's own time is not mistaken for a hang (the child runs one thread of Python: SIGALRM is safe)."""
    def expire(*_):
        raise ReferenceTooSlow()
    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def call_reference(compute) -> tuple:
    """(expected, None) from ``compute()``; (None, None) when the NumPy reference cannot do what the kernel
    streams through (a MemoryError, NumPy's own "array is too big" refusal, or too slow: no verdict); (None,
    why) when it raised otherwise (the call returned what the reference calls invalid)."""
    try:
        with np.errstate(all="ignore"), reference_time_limit():
            return compute(), None
    except (MemoryError, ReferenceTooSlow):
        return None, None
    except Exception as e:  # noqa: BLE001
        if isinstance(e, ValueError) and any(s in str(e) for s in ("array is too big", "Maximum allowed dimension")):
            return None, None
        return None, f"the call returned, but the reference raised {type(e).__name__}: {e}"


def compares(mutation: tuple) -> bool:
    """Whether a result is compared with the reference: not after values near the float maximum (which
    overflow in intermediate steps, in the kernel and the reference at different places); NaN and inf
    inputs are compared (NaN must come out where it goes in)."""
    if mutation[0] == "values":
        return mutation[2] != "huge"
    if mutation[0] == "float":  # a parameter near the float maximum overflows in intermediate steps too
        return not (isinstance(mutation[2], float) and math.isfinite(mutation[2]) and abs(mutation[2]) > 1e300)
    return True


def run(recipe: Recipe) -> dict:
    """Build, mutate and call; in the forked child. The verdict is a dict (see the module docstring)."""
    from eigengrad._kernels import _C

    entry = TABLE[recipe.name]
    case = Case(recipe.seed, recipe.dtype, recipe.dims, recipe.full)
    kw = entry.make(case)
    if not apply(kw, recipe.mutation, case.rng):
        return {"status": "skipped"}
    call = describe(kw)
    before = copy.deepcopy(kw)
    try:
        value = getattr(_C, recipe.name)(**kw)
    except Exception as e:  # noqa: BLE001 - the verdict reports it
        return {"status": "raised", "error_type": _clean_kind(e), "message": str(e), "call": call}
    verdict = {"status": "returned", "call": call, "mismatch": None}
    if entry.expect is None or not compares(recipe.mutation):
        return verdict
    expected, verdict["mismatch"] = call_reference(lambda: entry.expect(before))
    if expected is None:
        return verdict
    for name, want in expected.items():
        got = value if name == "return" else kw[name]
        wide = isinstance(got, np.ndarray) and got.dtype == np.float64  # float64 statistics of float32 data
        why = mismatch(got, want, np.dtype(np.float64) if wide else np.dtype(recipe.dtype), entry.rtol)
        if why:
            verdict["mismatch"] = f"{name}: {why}"
            break
    return verdict
