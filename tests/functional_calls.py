"""One call of a public functional op (tests/functional_table.py), built from a picklable binding_calls.Recipe,
mutated, run in a forked child and judged against the NumPy reference where there is one.

Mutations are those of binding_calls.py, applied to the op's tensors (whose arrays are swapped for other
dtypes, layouts, read-only or non-finite copies through ``eigengrad.from_numpy``, which shares them as
they are) and to its other arguments (huge ints, non-finite floats, None, lists, strings, raw arrays). A
result that requires grad is also run backward (``out.sum().backward()``).
"""
from __future__ import annotations

import re

import numpy as np

import eigengrad as eg
from binding_calls import ARRAY_MUTATIONS, Recipe, call_reference, compares, mismatch, mutated_array
from functional_table import OPS, scalar_paths, tensor_paths, unwrap
from binding_table import Case

# A clean refusal by the public API: PyTorch's own error types for bad arguments (TypeError, ValueError,
# IndexError for a dimension out of range, RuntimeError, NotImplementedError for a mode eigengrad does not
# have), or MemoryError for a request too large.
def _kind(error: BaseException) -> str:
    """The built-in exception an error is (eigengrad's ArgumentError is a RuntimeError and a ValueError, as
    PyTorch's errors are RuntimeErrors): the first built-in class in its MRO."""
    return next(c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins")


CLEAN_ERRORS = ("TypeError", "ValueError", "IndexError", "RuntimeError", "NotImplementedError", "MemoryError")


_ITEM = re.compile(r"(\w+)\[(\d+)\]\Z")


def _slot(args: list, kwargs: dict, key: str):
    """(container, index) of the argument at ``key`` ("0", "name")."""
    return (args, int(key)) if key.isdigit() else (kwargs, key)


def get(args, kwargs, path):
    m = _ITEM.match(path)
    box, i = _slot(args, kwargs, m.group(1) if m else path)
    return box[i][int(m.group(2))] if m else box[i]


def put(args, kwargs, path, value) -> None:
    m = _ITEM.match(path)
    box, i = _slot(args, kwargs, m.group(1) if m else path)
    if m:
        items = list(box[i])
        items[int(m.group(2))] = value
        box[i] = items
    else:
        box[i] = value


def _retensor(t: eg.Tensor, a: np.ndarray) -> eg.Tensor:
    new = eg.from_numpy(a)
    if t.requires_grad and a.dtype in (np.float32, np.float64):  # (only those may require grad)
        new.requires_grad_(True)
    return new


def apply(args: list, kwargs: dict, mutation: tuple, rng) -> bool:
    kind = mutation[0]
    if kind == "none":
        return True
    path = mutation[1]
    if kind in ARRAY_MUTATIONS:
        if path not in tensor_paths(args, kwargs):
            return False
        t = get(args, kwargs, path)
        new = mutated_array(t.detach().numpy(), mutation, rng)
        if new is not None:
            put(args, kwargs, path, _retensor(t, new))
        return new is not None
    if path not in tensor_paths(args, kwargs) + scalar_paths(args, kwargs):
        return False
    value = get(args, kwargs, path)
    if kind == "replace":
        how = mutation[2]
        replacement = {"none": None, "scalar": 1.5, "string": "x", "int": 3}.get(how)
        if how == "list":
            if not isinstance(value, eg.Tensor):
                return False
            replacement = value.detach().numpy().tolist()
        elif how == "array":
            if not isinstance(value, eg.Tensor):
                return False
            replacement = value.detach().numpy()
        put(args, kwargs, path, replacement)
        return True
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
    elif kind == "float":
        if not isinstance(value, float):
            return False
    else:
        raise ValueError(f"unknown mutation {mutation}")
    put(args, kwargs, path, mutation[2])
    return True


def _describe(args, kwargs) -> str:
    def one(v):
        if isinstance(v, eg.Tensor):
            a = v.detach().numpy()
            return f"Tensor({a.dtype}, {a.shape}, strides={a.strides}, grad={v.requires_grad}, " \
                   f"writeable={a.flags.writeable}, aligned={a.flags.aligned})"
        if isinstance(v, (list, tuple)) and any(isinstance(x, eg.Tensor) for x in v):
            return "[" + ", ".join(one(x) for x in v) + "]"
        if isinstance(v, np.ndarray):
            return f"ndarray({v.dtype}, {v.shape})"
        text = repr(v)
        return text if len(text) < 80 else text[:80] + "..."
    return ", ".join([one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()])


def run(recipe: Recipe) -> dict:
    """Build, mutate, call (and run backward); in the forked child."""
    op = OPS[recipe.name]
    case = Case(recipe.seed, recipe.dtype, recipe.dims)
    eg.manual_seed(recipe.seed)
    args, kwargs = op.make(case)
    args = list(args)
    if not apply(args, kwargs, recipe.mutation, case.rng):
        return {"status": "skipped"}
    call = _describe(args, kwargs)
    before_args, before_kwargs = [unwrap(a) for a in args], {k: unwrap(v) for k, v in kwargs.items()}
    if recipe.mutation[0] == "replace" and recipe.mutation[2] == "array":  # the reference takes arrays as they are
        put(before_args, before_kwargs, recipe.mutation[1], get(args, kwargs, recipe.mutation[1]))
    try:
        out = op.fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the verdict reports it
        return {"status": "raised", "error_type": _kind(e), "message": str(e), "call": call}
    verdict = {"status": "returned", "call": call, "mismatch": None, "backward": None}
    if isinstance(out, eg.Tensor) and out.requires_grad:
        try:
            out.sum().backward()
        except Exception as e:  # noqa: BLE001
            verdict["backward"] = (_kind(e), str(e))
    if op.expect is None or not isinstance(out, eg.Tensor) or not compares(recipe.mutation) \
            or recipe.mutation[:1] == ("replace",) and recipe.mutation[2] != "array":
        return verdict  # (a list or a number becomes an array by each op's own rule: not compared)
    expected, verdict["mismatch"] = call_reference(lambda: op.expect(before_args, before_kwargs))
    if expected is None:
        return verdict
    got = out.detach().numpy()
    if got.dtype.kind in "fc" and got.dtype not in (np.float32, np.float64):
        return verdict  # float16, complex, byte-swapped results: the reference's precision says nothing
    expected = np.asarray(expected)
    if got.dtype in (np.float32, np.float64) and expected.dtype.kind == "f":
        expected = expected.astype(got.dtype)  # the op's dtype (a float32 result rounds, and overflows, as float32)
    dt = got.dtype if got.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    verdict["mismatch"] = mismatch(got, expected, np.dtype(dt), op.rtol * 10)
    return verdict
