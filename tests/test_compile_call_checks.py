"""eg.compile's per-call checks, once a plan replays: one pass over the state (StepState.observe) must still
see every change that leaves the plan invalid."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from compile_cases import batches, make_step, same, state_arrays


def _warm(fn, data):
    for x, y in data:
        fn(x, y)
    assert fn.replays > 0  # past tracing and the check against eager mode: the plan replays


def test_eval_train_switches_between_replays_are_seen():
    step, model, opt, _ = make_step()
    fn = eg.compile(step)
    data = batches(14, seed=4)
    _warm(fn, data[:6])
    got = []
    for i, (x, y) in enumerate(data[6:]):
        if i == 2:
            model.eval()  # another signature: traced, then replayed
        if i == 5:
            model.train()
        got.append(fn(x, y).detach().numpy().copy())
    step2, model2, opt2, _ = make_step()
    want = []
    for i, (x, y) in enumerate(data):
        if i == 8:
            model2.eval()
        if i == 11:
            model2.train()
        want.append(step2(x, y).detach().numpy().copy())
    same(got, want[6:])
    same(state_arrays(model, opt), state_arrays(model2, opt2))
    assert fn.fallback_reason is None and len(fn._plans) == 3  # (the first call's: no gradients yet), train, eval


@pytest.mark.parametrize("change", ["requires_grad", "unhashable", "anomaly", "shape"])
def test_a_changed_argument_or_mode_between_replays_is_seen(change):
    step, model, opt, _ = make_step()
    fn = eg.compile(step)
    data = batches(7, seed=2)
    _warm(fn, data[:6])
    x, y = data[6]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if change == "requires_grad":
            fn(x.detach().requires_grad_(), y)
        elif change == "unhashable":
            step_with = eg.compile(lambda x, y, extra=None: step(x, y), modules=[model], optimizers=[opt])
            for a, b in data[:6]:
                step_with(a, b, extra=(1, 2))
            assert step_with.replays > 0
            step_with(x, y, extra={1, 2})  # a set: not hashable, so not a signature (a list is looked into)
            fn = step_with
        elif change == "anomaly":
            with eg.autograd.detect_anomaly():
                fn(x, y)
        else:
            fn(eg.from_numpy(np.ascontiguousarray(x.numpy()[:9])), y[:9])
    messages = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
    if change == "shape":
        assert not messages and fn.fallback_reason is None and len(fn._plans) == 3
    else:
        reason = {"requires_grad": "requires grad", "unhashable": "neither a tensor nor hashable",
                  "anomaly": "anomaly detection"}[change]
        assert len(messages) == 1 and reason in messages[0], messages
