"""eg.compile's guard (compile/guard.py, cpp/bindings/bind_guard.cpp): the probes, what makes a guard fail,
that a steady training loop replays through it, and that a guard failing at every call stops being made.

Every test of the suite also asks the full path at each call the guard lets through (tests/conftest.py sets
``CompiledFunction._check_guard``): there a guard that holds where the full path would decide otherwise fails
the test that made it."""
from __future__ import annotations

import warnings
from collections import OrderedDict, defaultdict

import eigengrad as eg
import numpy as np
import pytest
from compile_cases import make_step
from eigengrad import _kernels, nn
from eigengrad.compile import api
from eigengrad.compile.guard import AGREE, ATTR, CELL, EQ, IS, ITEM, ITEMS, LEN, NONE, SELF, TRUTH, Probes

F = nn.functional


# --- the probes ---------------------------------------------------------------------------------------------
class _Obj:
    pass


def _guard(*probes):
    g = _kernels.compiled_module().Guard()
    for access, obj, key, test in probes:
        g.add(access, obj, key, test)
    return g


def test_an_attribute_probe_compares_identity_or_typed_value():
    o = _Obj()
    o.a, o.b = [1], 1
    g = _guard((ATTR, o, "a", IS), (ATTR, o, "b", EQ))
    assert g.check() == -1 and len(g) == 2
    o.a = [1]  # equal, another object
    assert g.check() == 0
    o.a = g  # (any object: restore the first probe's)
    del o.a
    assert g.check() == 0  # absent now
    o2 = _Obj()
    o2.b = 1
    g = _guard((ATTR, o2, "b", EQ))
    o2.b = True  # == 1, another type
    assert g.check() == 0
    o2.b = 1
    assert g.check() == -1
    o2.b = 2
    assert g.check() == 0


def test_item_cell_and_missing_probes():
    d = OrderedDict(x=1)

    def make():
        v = 3

        def f():
            return v
        return f, f.__closure__[0]
    _, cell = make()
    g = _guard((ITEM, d, "x", IS), (ITEM, d, "y", IS), (CELL, cell, None, IS))
    assert g.check() == -1
    d["y"] = 0  # absent when made: must stay absent
    assert g.check() == 1
    del d["y"]
    cell.cell_contents = 4
    assert g.check() == 2
    dd = defaultdict(list)
    g = _guard((ITEM, dd, "k", IS))  # (a defaultdict's lookup makes no item)
    assert g.check() == -1 and "k" not in dd


def test_items_truth_none_length_and_agree_probes():
    a, b = object(), object()
    lst, d, hooks, opt = [a, b], {"p": a}, {}, _Obj()
    opt.grad = None
    states = ({"step": 3}, {"step": 3})
    g = _guard((SELF, lst, None, ITEMS), (SELF, d, None, ITEMS), (SELF, hooks, None, TRUTH),
               (ATTR, opt, "grad", NONE), (SELF, lst, None, LEN), (SELF, states, "step", AGREE))
    assert g.check() == -1
    states[1]["step"] = 4
    assert g.check() == 5
    states[0]["step"] = 4  # equal again (each step count moves: only their agreement is checked)
    assert g.check() == -1
    opt.grad = 0
    assert g.check() == 3
    opt.grad = None
    hooks["h"] = len
    assert g.check() == 2
    hooks.clear()
    d["p"] = b
    assert g.check() == 1
    lst.reverse()
    assert g.check() == 0


def test_guard_arguments_are_checked():
    g = _kernels.compiled_module().Guard()
    with pytest.raises(ValueError, match="access: expected 0..3, got 7"):
        g.add(7, [], None, IS)
    with pytest.raises(ValueError, match="test: expected 0..7, got 9"):
        g.add(SELF, [], None, 9)
    with pytest.raises(TypeError, match="expected a dict for an item probe, got list"):
        g.add(ITEM, [], "k", IS)
    with pytest.raises(TypeError, match="expected a cell"):
        g.add(CELL, {}, None, IS)
    with pytest.raises(TypeError, match="items test reads a dict, list or tuple"):
        g.add(SELF, 3, None, ITEMS)
    assert len(g) == 0


def test_probes_are_added_once():
    p = Probes()
    o = _Obj()
    o.x = 1
    p.attr(o, "x")
    p.attr(o, "x")
    p.attr(o, "x", EQ)
    assert len(p.native) == 2


# --- what a compiled step's guard notices --------------------------------------------------------------------
def _mlp():
    step, model, opt, _ = make_step("adamw")
    return model, opt, step


def _data():
    return eg.randn(8, 20), eg.randint(0, 10, (8,))


def _steady(calls: int = 6):
    model, opt, step = _mlp()
    fn = eg.compile(step)
    x, y = _data()
    for _ in range(calls):
        fn(x, y)
    assert fn._guard is not None and fn._guard.used, "a steady loop replays through its guard"
    return model, opt, fn, x, y


def _holds(fn, x, y) -> bool:
    return fn._guard.holds(api._arg_signature((x, y), {}), [x, y])


def test_a_steady_loop_replays_through_the_guard_with_eagers_numbers():
    results = []
    for compiled in (False, True):
        model, opt, step = _mlp()
        fn = eg.compile(step) if compiled else step
        x, y = _data()
        losses, hits = [], 0
        for _ in range(12):
            hits += compiled and fn._guard is not None and _holds(fn, x, y)
            losses.append(fn(x, y).item())
        results.append((losses, np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).tobytes()))
    assert results[0] == results[1]
    # the first call (no gradients yet: a signature of its own), two traces, the check against eager mode, the
    # first replay (which makes the guard): then the guard
    assert hits == 12 - 5


# each changes something between calls that a replay depends on: the guard must notice
CHANGES = {
    "eval mode": lambda m, o, x, y: m.eval(),
    "a dropout's p": lambda m, o, x, y: setattr(m[3], "p", 0.5),
    "a BatchNorm's momentum": lambda m, o, x, y: setattr(m[1], "momentum", 0.2),
    "p.data replaced": lambda m, o, x, y: setattr(m[0].weight, "data", eg.zeros(64, 20)),
    "a layer replaced": lambda m, o, x, y: m.__setitem__(4, nn.Linear(64, 32)),
    "a running mean replaced": lambda m, o, x, y: setattr(m[1], "running_mean", eg.zeros(64)),
    "a forward hook": lambda m, o, x, y: m[2].register_forward_hook(lambda *a: None),
    "a gradient hook": lambda m, o, x, y: m[0].bias.register_hook(lambda g: g),
    "a parameter frozen": lambda m, o, x, y: m[0].weight.requires_grad_(False),
    "a gradient set to None": lambda m, o, x, y: setattr(m[4].bias, "grad", None),
    "the optimizer's state cleared": lambda m, o, x, y: o.state.clear(),
    "a step count changed by hand": lambda m, o, x, y: o.state[m[0].weight].__setitem__("step", eg.tensor(99.0)),
    "amsgrad switched on": lambda m, o, x, y: o.param_groups[0].__setitem__("amsgrad", True),
    "a param group added": lambda m, o, x, y: o.add_param_group({"params": [nn.Parameter(eg.zeros(2))]}),
    "the default dtype": lambda m, o, x, y: eg.set_default_dtype(eg.float64),
    "grad mode off": lambda m, o, x, y: eg.set_grad_enabled(False),
    "anomaly detection": lambda m, o, x, y: eg.autograd.set_detect_anomaly(True),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_the_guard_notices(change):
    model, opt, fn, x, y = _steady()
    assert _holds(fn, x, y)
    try:
        CHANGES[change](model, opt, x, y)
        assert not _holds(fn, x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if change == "grad mode off":  # (backward raises in eager mode too)
                with pytest.raises(RuntimeError, match="does not require grad"):
                    fn(x, y)
            else:
                fn(x, y)  # (the full path decides: trace again, or eager mode with a warning)
    finally:
        eg.set_default_dtype(eg.float32)
        eg.set_grad_enabled(True)
        eg.autograd.set_detect_anomaly(False)


def test_the_guard_notices_the_arguments():
    model, opt, fn, x, y = _steady()
    assert not _holds(fn, eg.randn(9, 20), y)
    assert not _holds(fn, x.double(), y)
    assert not _holds(fn, x.clone().requires_grad_(), y)
    assert _holds(fn, *_data())  # (other values: the same plan)


@pytest.mark.parametrize("change", ["lr", "betas", "weight_decay", "eps"])
def test_hyperparameters_are_read_live_through_the_guard(change):
    values = {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1, "eps": 1e-6}
    results = []
    for compiled in (False, True):
        eg.manual_seed(0)
        model, opt, step = _mlp()
        fn = eg.compile(step) if compiled else step
        x, y = _data()
        for i in range(8):
            if i == 5:
                if compiled:
                    assert _holds(fn, x, y)
                opt.param_groups[0][change] = values[change]
                if compiled:
                    assert _holds(fn, x, y)  # (read by the replay itself)
            fn(x, y)
        results.append(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    assert results[0].tobytes() == results[1].tobytes()


def test_a_model_rebound_between_calls():
    models = {"net": nn.Linear(4, 2)}

    def step(x):
        return models["net"](x)
    fn = eg.compile(step)
    x = eg.randn(3, 4)
    with eg.no_grad():
        for _ in range(5):
            fn(x)
        assert fn._guard is not None and fn._guard.native.check() == -1
        models["net"] = nn.Linear(4, 2)
        assert fn._guard.native.check() >= 0
        assert np.array_equal(fn(x).numpy(), models["net"](x).numpy())


def test_a_guard_that_fails_at_every_call_is_no_longer_made():
    model, opt, step = _mlp()
    trainer = _Obj()
    trainer.models = [model]

    def step2(x, y):
        assert trainer.models
        return step(x, y)
    fn = eg.compile(step2)
    x, y = _data()
    for i in range(5):
        fn(x, y)
    assert fn._guard is not None
    for i in range(8):
        trainer.it = i  # (an attribute of a user object the step names: the full path looks only for models)
        fn(x, y)
    assert fn.fallback_reason is None and fn.replays >= 9
    assert fn._guard is None and fn._guard_misses == api._GUARD_MISSES


# --- found by a review of the guard: what a container, a helper or a user's object holds ----------------------
EXTRA: dict = {}  # (globals of this module that the helpers below read)
BIAS: list = []


def _penalty(out):
    loss = out.sum()
    for t in EXTRA.values():
        loss = loss + t.sum()
    return loss


def _plus_bias(out):
    for b in BIAS:
        out = out + b
    return out


HELPERS = {"post": _plus_bias}


def _holds_one(fn, x) -> bool:
    return fn._guard.holds(api._arg_signature((x,), {}), [x])


def test_a_tensor_added_to_a_dict_a_helper_reads():
    EXTRA.clear()
    model = nn.Linear(4, 2)
    try:
        fn = eg.compile(lambda x: _penalty(model(x)))
        x = eg.randn(3, 4)
        with eg.no_grad():
            for _ in range(6):
                fn(x)
            EXTRA["w"] = eg.ones(5) * 100
            assert not _holds_one(fn, x)
            assert float(fn(x)) == float(_penalty(model(x)))
    finally:
        EXTRA.clear()


def test_a_layer_appended_to_a_list_of_a_user_object():
    trainer = _Obj()
    trainer.model, trainer.heads = nn.Linear(4, 2), []

    def step(x):
        out = trainer.model(x)
        for h in trainer.heads:
            out = out + h(x)
        return out
    fn = eg.compile(step)
    x = eg.randn(3, 4)
    with eg.no_grad():
        for _ in range(6):
            fn(x)
        trainer.heads.append(nn.Linear(4, 2))
        assert not _holds_one(fn, x)
        assert np.array_equal(fn(x).numpy(), step(x).numpy())


def test_a_tensor_appended_to_a_list_a_registered_helper_reads():
    BIAS.clear()
    model = nn.Linear(4, 2)
    try:
        def step(x):
            return HELPERS["post"](model(x))
        fn = eg.compile(step)
        x = eg.randn(3, 4)
        with eg.no_grad():
            for _ in range(6):
                fn(x)
            BIAS.append(eg.ones(2) * 7)
            assert not _holds_one(fn, x)
            assert np.array_equal(fn(x).numpy(), step(x).numpy())
    finally:
        BIAS.clear()


def test_an_optimizer_given_to_an_attribute_of_a_user_object():
    trainer, holder = _Obj(), _Obj()
    trainer.model, trainer.warmup, holder.optimizer = nn.Linear(4, 2), holder, None
    fn = eg.compile(lambda x: trainer.model(x))
    x = eg.randn(3, 4)
    with eg.no_grad():
        for _ in range(6):
            fn(x)
        assert _holds_one(fn, x)
        holder.optimizer = eg.optim.SGD(trainer.model.parameters(), lr=0.1)  # (a scheduler-like object now)
        assert not _holds_one(fn, x)


class _Trainer:
    def __init__(self) -> None:
        self.model = nn.Linear(64, 64)
        self.opt = eg.optim.SGD(self.model.parameters(), lr=0.1)
        self.fn = eg.compile(self.step)  # (a cycle: fn -> its guard -> this object's __dict__ -> fn)

    def step(self, x):
        self.opt.zero_grad()
        loss = self.model(x).sum()
        loss.backward()
        self.opt.step()
        return loss


def test_a_compiled_method_kept_on_its_object_is_collected():
    import gc
    import weakref

    def run():
        t = _Trainer()
        x = eg.randn(8, 64)
        for _ in range(6):
            t.fn(x)
        assert t.fn._guard is not None
        return weakref.ref(t.model)
    ref = run()
    gc.collect()
    assert ref() is None, "the guard's references kept the trainer's cycle alive"
    assert gc.is_tracked(_kernels.compiled_module().Guard())


class _Net:
    model = nn.Linear(4, 2)

    @classmethod
    def step(cls, x):
        return cls.model(x)


def test_a_classmethod_step_replays_without_a_guard():
    fn = eg.compile(_Net.step)  # (its owner's __dict__ is a mappingproxy: no probe reads it)
    x = eg.randn(3, 4)
    with eg.no_grad():
        outs = [fn(x).numpy() for _ in range(6)]
        assert fn.replays >= 2 and fn._guard is None
        assert all(np.array_equal(o, _Net.model(x).numpy()) for o in outs)


def test_an_argument_too_large_to_open_holding_an_array():
    model = nn.Linear(4, 2)

    def step(x, cfg):
        return model(x) * float(cfg[-1])
    fn = eg.compile(step)
    x = eg.randn(3, 4)
    cfg = tuple([1.0] * 65)  # (more than 64 items: one plain value of the signature)
    with eg.no_grad():
        for _ in range(6):
            fn(x, cfg)
        assert fn._guard is not None and fn._guard.used
        for first in (np.array(1.0), np.array([1.0, 2.0])):  # (equal to 1.0 / an ambiguous comparison)
            other = (first,) + cfg[1:]
            assert not fn._guard.holds(api._arg_signature((x, other), {}), [x])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn(x, (np.array([1.0, 2.0]),) + cfg[1:])
        assert fn.fallback_reason is not None and "neither a tensor nor hashable" in fn.fallback_reason
        assert np.array_equal(out.numpy(), model(x).numpy()) and len(caught) == 1


class _Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.s = nn.Linear(4, 2), np.float32(1.0)

    def forward(self, x):
        return self.fc(x) * float(self.s)


def test_a_numpy_scalar_attribute_of_a_module_is_part_of_the_signature():
    m = _Scaled()
    fn = eg.compile(lambda x: m(x))
    x = eg.randn(3, 4)
    with eg.no_grad():
        for _ in range(6):
            fn(x)
        m.s = np.float32(3.0)  # (frozen into the plan: a replay multiplied by 1 without a warning)
        assert np.array_equal(fn(x).numpy(), m(x).numpy())


def test_a_probe_whose_comparison_raises_differs_and_an_interrupt_propagates():
    class Odd:
        def __init__(self, fail):
            self.fail = fail

        def __eq__(self, other):
            if self.fail == "interrupt":
                raise KeyboardInterrupt
            raise ValueError("no comparison")
        __hash__ = object.__hash__

    holder = _Obj()
    holder.v = Odd(None)
    g = _guard((ATTR, holder, "v", EQ))
    assert g.check() == -1  # (the same object: equal without asking __eq__)
    holder.v = Odd("value")
    assert g.check() == 0
    holder.v = Odd("interrupt")
    with pytest.raises(KeyboardInterrupt):
        g.check()


SHIFTS = [(float(i), i) for i in range(1000)]  # (a helper's global list of tuples: data, not models)


def _shifted(out):
    return out + SHIFTS[3][0]


def test_a_helpers_list_of_tuples_costs_one_probe_not_one_per_element():
    # the full path asks each element for an `optimizer` attribute; a tuple cannot gain one, so the guard reads
    # the list's elements once (their identities) instead of failing 1,000 attribute lookups at every call
    model = nn.Linear(4, 2)
    fn = eg.compile(lambda x: _shifted(model(x)))
    x = eg.randn(3, 4)
    with eg.no_grad():
        for _ in range(6):
            fn(x)
        assert fn._guard is not None and fn._guard.used
        assert len(fn._guard.native) < 60
        SHIFTS.append((1.0, 1))  # (an element added: the full path looks again)
        try:
            assert not _holds_one(fn, x)
        finally:
            SHIFTS.pop()
