"""eg.compile: a replay reads the caller's input arrays where they are, and copies the ones it must."""
from __future__ import annotations

import gc
import weakref

import numpy as np

import eigengrad as eg
from compile_cases import batches, make_step, same, state_arrays


def _compiled(n_warm: int = 5):
    step, model, opt, _ = make_step()
    fn = eg.compile(step)
    for x, y in batches(n_warm):
        fn(x, y)
    assert fn.replays > 0
    return fn, next(iter(fn._plans.values())).plan, model, opt


def _eager_after(n_warm: int, data: list):
    step, model, opt, _ = make_step()
    for x, y in batches(n_warm):
        step(x, y)
    return [step(x, y).detach().numpy().copy() for x, y in data], state_arrays(model, opt)


def test_contiguous_inputs_are_read_in_place():
    fn, plan, model, opt = _compiled()
    slots = plan.input_slots
    assert all(slots.passable) and all(slots.slots)  # x and the targets: read only, by kernels
    for own in plan.inputs:  # poison the plan's own copies: a replay that read them would give NaN or fail
        own[...] = np.nan if own.dtype.kind == "f" else -7
    data = batches(5, seed=9)
    got = [fn(x, y).numpy().copy() for x, y in data]
    want, state = _eager_after(5, data)
    same(got, want)
    same(state_arrays(model, opt), state)
    assert np.isnan(plan.inputs[0]).all()  # never written


def test_no_reference_to_the_callers_arrays_is_kept():
    fn, plan, *_ = _compiled()
    x, y = batches(1, seed=5)[0]
    ref = weakref.ref(x._data)
    fn(x, y)
    del x
    gc.collect()
    assert ref() is None
    assert all(args[pos] is own for slot in plan.input_slots.slots for args, pos, *_, own in slot)


def test_strided_and_readonly_inputs():
    fn, plan, model, opt = _compiled()
    rng = np.random.default_rng(3)
    wide = rng.standard_normal((16, 40)).astype(np.float32)
    ro = rng.standard_normal((16, 20)).astype(np.float32)
    ro.flags.writeable = False
    y = eg.from_numpy(rng.integers(0, 10, 16).astype(np.int64))
    data = [(eg.from_numpy(wide[:, ::2]), y), (eg.from_numpy(ro), y)]  # a strided view is copied; read-only read
    got = [fn(x, t).numpy().copy() for x, t in data]
    want, state = _eager_after(5, [(eg.from_numpy(np.ascontiguousarray(x.numpy())), t) for x, t in data])
    same(got, want)
    same(state_arrays(model, opt), state)
    assert fn.fallback_reason is None


def test_an_input_sharing_memory_with_a_parameter_is_copied():
    # eager mode reads a step's arguments as the snapshot the trace's copy took; an argument that is a view
    # of a parameter (which the step updates) is therefore copied, never read in place
    fn, plan, model, opt = _compiled()
    weight = model[0].weight._data  # (64, 20) float32: its first 16 rows have the shape of x
    y = np.zeros(16, np.int64)
    assert plan.input_slots.place([weight[:16], y]) == [1]  # x copied, the targets passed
    assert np.array_equal(plan.inputs[0], weight[:16])
    plan.input_slots.reset([1])
