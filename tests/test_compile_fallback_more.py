"""The other reasons eg.compile runs a step eagerly: each warns once naming its reason, and the step
gives eager mode's numbers (test_compile_fallback.py has the value reads, control flow, NumPy glue,
unsupported kernels, hooks and replaced parameters)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from compile_cases import batches, mlp, same, state_arrays


def _run(kind: str, compiled: bool, steps: int = 6):
    model = mlp(0)
    if kind == "bn_cumulative":
        model[1].momentum = None  # BatchNorm's cumulative moving average
    side = nn.Parameter(eg.zeros(2, dtype=eg.float64))  # a float64 parameter beside the float32 model
    side.grad = eg.ones(2, dtype=eg.float64)
    opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    extra = eg.zeros(3)

    def step(x, y, *rest):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if kind == "clip_nonfinite_check":
            nn.utils.clip_grad_norm_(model.parameters(), 0.5, error_if_nonfinite=True)
        if kind == "clip_mixed_dtypes":
            nn.utils.clip_grad_norm_([*model.parameters(), side], 0.5)  # gradients of two dtypes
        if kind == "print":  # (it would print only while tracing)
            print("loss", loss)
        if kind == "closure":
            opt.step(lambda: loss)
        else:
            opt.step()
        if kind == "python_value":
            return loss, 3
        return loss

    fn = eg.compile(step) if compiled else step
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, y in batches(steps):
            args = (x, y)
            if kind == "requires_grad_arg":
                args = (x.detach().requires_grad_(), y)
            elif kind == "unhashable_arg":
                args = (x, y, {1, 2})  # (a list or tuple is looked into: a set is not)
            if kind == "anomaly":
                with eg.autograd.detect_anomaly():
                    out = fn(*args)
            else:
                out = fn(*args)
            loss = out[0] if isinstance(out, tuple) else out
            losses.append(loss.detach().numpy().copy())
    messages = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
    return losses + state_arrays(model, opt) + [extra.numpy().copy(), side.grad.numpy().copy()], messages, fn


REASONS = {
    "anomaly": "anomaly detection is on",
    "requires_grad_arg": "an argument requires grad",
    "unhashable_arg": "an argument of type set is neither a tensor nor hashable",
    "bn_cumulative": "BatchNorm with momentum=None",
    "clip_nonfinite_check": "error_if_nonfinite=True",
    "clip_mixed_dtypes": "gradients of several dtypes",
    "closure": "optimizer.step(closure)",
    "print": "a tensor printed (repr/str) inside the step",
    "python_value": "the step returns a Python int",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_each_reason_warns_once_and_gives_eager_numbers(kind):
    want, _, _ = _run(kind, False)
    got, messages, fn = _run(kind, True)
    assert fn.fallback_reason is not None and fn.replays == 0
    assert len(messages) == 1 and REASONS[kind] in messages[0], messages
    same(got, want)
    assert not np.array_equal(got[0], got[5])  # (the steps trained)


_COUNT = [0]
_CALLS = 0


def test_a_step_that_assigns_a_global_or_nonlocal_falls_back_once_with_eager_numbers():
    """``global n; n += 1`` inside the step: a replay would not count (and the changed global made every call
    trace again, silently). Falls back at the first call, naming the variable; the counter counts every call."""
    model = nn.Linear(3, 2)
    opt = eg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        global _CALLS
        _CALLS += 1
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def outer():
        calls = 0

        def inner(x, y):
            nonlocal calls
            calls += 1
            return step(x, y)
        return inner, lambda: calls

    x, y = eg.randn(4, 3), eg.tensor([0, 1, 0, 1])
    inner, count = outer()
    for fn, name in ((step, "'_CALLS'"), (inner, "'calls'")):
        compiled = eg.compile(fn)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(6):
                compiled(x, y)
        messages = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
        assert len(messages) == 1 and f"the step assigns {name} (global or nonlocal)" in messages[0]
        assert compiled.replays == 0
    assert _CALLS == 12 and count() == 6


_WEIGHT = 1.0


def test_a_global_number_rebound_at_every_call_is_traced_again_then_falls_back():
    """A global the step reads (not assigns) that the loop rebinds: each call traces again with its value (never
    a stale one); after max_plans such calls in a row, eager mode with one warning. A value that settles
    replays."""
    global _WEIGHT
    model = nn.Linear(3, 2)
    opt = eg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) * _WEIGHT
        loss.backward()
        opt.step()
        return loss

    x, y = eg.randn(4, 3), eg.tensor([0, 1, 0, 1])
    compiled = eg.compile(step, max_plans=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = []
        for i in range(8):
            _WEIGHT = 1.0 + i
            losses.append(compiled(x, y).item() / _WEIGHT)
    messages = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
    assert len(messages) == 1 and "bound to another object at 4 calls in a row" in messages[0]
    assert compiled.replays == 0
    settled = eg.compile(step)
    _WEIGHT = 2.0
    for _ in range(6):
        settled(x, y)
    assert settled.replays >= 2 and settled.fallback_reason is None
