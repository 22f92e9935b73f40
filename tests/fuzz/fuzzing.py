"""The fuzz suite's strategies, budget, verdicts and call counts (tests/fuzz).

Hypothesis draws batches of recipes (binding_calls.Recipe: a function of the compiled module or a public
functional op); the fork server (tests/forked.py) runs each call in a forked child of its
own, and :func:`judge` turns each outcome into a failure message or None:

- a crash (a signal) or a hang (no result within ``EIGENGRAD_FUZZ_TIMEOUT`` seconds) fails, naming the call;
- a raised exception must be a clean one (TypeError/ValueError, ...; see CLEAN_ERRORS), and an unmutated
  call must not raise at all;
- a result that returns must match the NumPy reference, where the op has one.

Budget: ``EIGENGRAD_FUZZ_CALLS`` calls in all, shared by the two fuzz tests (default 3,000, about 20 ms of
CPU each: well under a minute on two cores; the acceptance run takes 10,000 or more); the seed is fixed
(Hypothesis ``derandomize``), so a run is repeatable.
"""
from __future__ import annotations

import collections
import copy
import math
import os
import time

import numpy as np

from hypothesis import HealthCheck, Phase, settings, strategies as st

import binding_calls
import functional_calls
from binding_calls import Recipe, array_paths, is_output
from binding_table import TABLE, Case
from functional_table import OPS, scalar_paths, tensor_paths

CALLS = int(float(os.environ.get("EIGENGRAD_FUZZ_CALLS", 3_000)))
TIMEOUT = float(os.environ.get("EIGENGRAD_FUZZ_TIMEOUT", 20.0))
BATCH = 24  # calls per Hypothesis example (the fork server runs them two or more at a time)
STATS: collections.Counter = collections.Counter()
SECONDS = [0.0]  # wall time in the fork server's calls

BIG_INTS = (2**31, 2**32 + 1, 2**63 - 1, 2**63, 2**64, 2**64 + 1, 10**30, -1, -(2**31), -(2**63), -(2**63) - 1, 0)
ODD_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -0.0, 5e-324)
DTYPES = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool", ">f8", "<f4", "complex64")
LAYOUTS = ("fortran", "strided", "negative", "unaligned")
VALUES = ("nan", "inf", "-inf", "huge", "subnormal")


def fuzz_settings(share: float):
    """Hypothesis settings for a test that makes ``share`` of the budget's calls (rounded up to whole batches,
    so a run makes at least the budget). No shrinking: each failure
    message names its call already (the recipe replays it: ``binding_calls.run(recipe)``), and shrinking a
    batch of forked calls takes minutes."""
    return settings(max_examples=max(1, -(-int(CALLS * share) // BATCH)), derandomize=True, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


def _mutations(arrays: list[str], outputs: list[str], scalars: dict) -> dict[str, list[tuple]]:
    """Every mutation of a call, by kind."""
    ints = [k for k, v in scalars.items() if isinstance(v, int) and not isinstance(v, bool)]
    floats = [k for k, v in scalars.items() if isinstance(v, float)]
    kinds = {
        "none": [("none",)],
        "dtype": [("dtype", p, d) for p in arrays for d in DTYPES],
        "layout": [("layout", p, k) for p in arrays for k in LAYOUTS],
        "readonly": [("readonly", p) for p in arrays],
        "alias": [("alias", o, p) for o in outputs for p in arrays if p != o],
        "overlap": [("overlap", o, p) for o in outputs for p in arrays if p != o],
        "values": [("values", p, k) for p in arrays for k in VALUES],
        "shape": [("shape", p, k) for p in arrays for k in ("huge", "empty", "longer")],
        "replace": [("replace", n, k) for n in list(arrays) + list(scalars) for k in ("none", "list", "scalar", "string")],
        "int": [("int", n, v) for n in ints for v in BIG_INTS],
        "float": [("float", n, v) for n in floats for v in ODD_FLOATS],
    }
    return {k: v for k, v in kinds.items() if v}


_WEIGHTS = {"none": 3, "dtype": 2, "layout": 3, "readonly": 1, "alias": 2, "overlap": 2, "values": 3, "shape": 1,
            "replace": 2, "int": 2, "float": 1}


@st.composite
def _mutation(draw, kinds: dict[str, list[tuple]]):
    names = [k for k in _WEIGHTS for _ in range(_WEIGHTS[k]) if k in kinds]
    return draw(st.sampled_from(kinds[draw(st.sampled_from(names))]))


_DIMS = st.tuples(*[st.integers(0, 7)] * 4)


@st.composite
def binding_recipes(draw):
    name = draw(st.sampled_from(sorted(TABLE)))
    dtype, dims, seed = draw(st.sampled_from(["float32", "float64"])), draw(_DIMS), draw(st.integers(0, 2**31 - 1))
    try:
        kw = TABLE[name].make(Case(seed, dtype, dims))
    except Exception:  # noqa: BLE001 - the child raises the same: a table bug the verdict reports
        return Recipe(name, seed, dtype, dims)
    arrays = array_paths(kw)
    scalars = {k: v for k, v in kw.items() if not isinstance(v, (list,)) and k not in arrays}
    kinds = _mutations(arrays, [p for p in arrays if is_output(name, p)], scalars)
    mutation = draw(_mutation(kinds))
    applies = binding_calls.apply(copy.deepcopy(kw), mutation, np.random.default_rng(0))
    return Recipe(name, seed, dtype, dims, mutation if applies else ("none",))  # (no fork for a no-op)


@st.composite
def op_recipes(draw):
    name = draw(st.sampled_from(sorted(OPS)))
    dtype, dims, seed = draw(st.sampled_from(["float32", "float64"])), draw(_DIMS), draw(st.integers(0, 2**31 - 1))
    try:
        args, kwargs = OPS[name].make(Case(seed, dtype, dims))
    except Exception:  # noqa: BLE001
        return Recipe(name, seed, dtype, dims)
    args = list(args)
    tensors = tensor_paths(args, kwargs)
    scalars = {p: functional_calls.get(args, kwargs, p) for p in scalar_paths(args, kwargs)}
    kinds = _mutations(tensors, [], scalars)
    kinds["replace"] = kinds.get("replace", []) + [("replace", p, "array") for p in tensors]
    kinds = {k: v for k, v in kinds.items() if v}
    mutation = draw(_mutation(kinds))
    applies = functional_calls.apply(args, kwargs, mutation, np.random.default_rng(0))
    return Recipe(name, seed, dtype, dims, mutation if applies else ("none",))


def judge(recipe, outcome, clean_errors) -> str | None:
    """Why this call failed (a crash, a hang, an unclean error, a wrong result), or None; counts it."""
    if outcome.kind != "returned":  # the child died, hung, or the harness itself raised
        STATS["crashes" if outcome.kind == "signal" else "hangs" if outcome.kind == "timeout" else "harness"] += 1
        STATS["calls"] += 1
        return f"{recipe}: {outcome}"
    v = outcome.value
    if v["status"] == "skipped":
        STATS["skipped"] += 1
        return None
    STATS["calls"] += 1
    if v["status"] == "raised":
        if v["error_type"] not in clean_errors:
            STATS["unclean errors"] += 1
            return f"{recipe}: raised {v['error_type']}: {v['message']}\n    call: {v['call']}"
        if recipe.mutation == ("none",):
            STATS["valid calls refused"] += 1
            return f"{recipe}: a valid call raised {v['error_type']}: {v['message']}\n    call: {v['call']}"
        STATS["clean errors"] += 1
        return None
    STATS["returned"] += 1
    backward = v.get("backward")
    if backward and backward[0] not in clean_errors:
        STATS["unclean errors"] += 1
        return f"{recipe}: backward raised {backward[0]}: {backward[1]}\n    call: {v['call']}"
    if v["mismatch"]:
        STATS["wrong results"] += 1
        return f"{recipe}: wrong result: {v['mismatch']}\n    call: {v['call']}"
    return None


def run_batch(fork_server, module, recipes, clean_errors) -> list[str]:
    start = time.monotonic()
    outcomes = fork_server.run_many(module, "run", recipes, timeout=TIMEOUT)
    SECONDS[0] += time.monotonic() - start
    return [f for f in (judge(r, o, clean_errors) for r, o in zip(recipes, outcomes)) if f]


def summary() -> str:
    s = STATS
    return (f"fuzz: {s['calls']} calls in forked children in {SECONDS[0]:.1f} s ({s['returned']} returned and were checked, "
            f"{s['clean errors']} refused cleanly; {s['skipped']} mutations did not apply): {s['crashes']} crashes, "
            f"{s['hangs']} hangs, {s['wrong results']} wrong results, {s['unclean errors']} unclean errors, "
            f"{s['valid calls refused']} valid calls refused, {s['harness']} harness errors")


__all__ = ["binding_calls", "functional_calls"]
