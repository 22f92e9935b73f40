"""eg.compile and the Python state a step reads or changes outside tensors (compile/pystate.py): a port of
PyTorch programs found steps that increment a counter on their own object or in a dict and switch a loss term
on it, and steps that branch on NumPy's random generator. The first traces agreed, so replays ran the frozen
branch with no warning and the counter stopped. Now a change the step makes falls back (eager numbers), and a
value the loop changes between calls traces again."""
from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

F = nn.functional


class Trainer:
    def __init__(self):
        self.it = 0
        self.warmup = 3


def _setup():
    eg.manual_seed(0)
    m = nn.Linear(4, 3)
    return m, eg.optim.SGD(m.parameters(), lr=0.1), eg.randn(8, 4), eg.tensor(np.arange(8) % 3)


def _run(make_step, calls=10, compiled=True, between=None):
    """Losses and final weights of ``calls`` calls, and the eg.compile warnings."""
    m, opt, x, y = _setup()
    step = make_step(m, opt)
    fn = eg.compile(step) if compiled else step
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = []
        for i in range(calls):
            if between is not None:
                between(i)
            losses.append(fn(x, y).item())
    return np.array(losses), m.weight.detach().numpy().copy(), [str(w.message) for w in caught
                                                                 if "eg.compile" in str(w.message)], fn


def _loss(m, x, y, w):
    return F.cross_entropy(m(x), y) + w * m.weight.pow(2).sum()


def _side_by_side(make_step, fallback: str | None, **kw):
    np.random.seed(0)
    random.seed(0)
    want = _run(make_step, compiled=False, **kw)
    np.random.seed(0)
    random.seed(0)
    got = _run(make_step, **kw)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    if fallback is None:
        assert got[2] == [] and got[3].replays > 0, got[2]
    else:
        assert len(got[2]) == 1 and fallback in got[2][0], got[2]
    return got[3]


def test_a_counter_on_the_users_object_the_step_increments():
    def make(m, opt):
        tr = Trainer()

        def step(x, y):
            tr.it += 1
            loss = _loss(m, x, y, 0.0 if tr.it < 5 else 1.0)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    _side_by_side(make, "the step changes the Python state tr.it")


def test_a_counter_in_a_dict_and_a_list_the_step_appends_to():
    def make_dict(m, opt):
        state = {"step": 0}

        def step(x, y):
            state["step"] += 1
            loss = _loss(m, x, y, 0.0 if state["step"] < 5 else 1.0)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    _side_by_side(make_dict, "the step changes the Python state state['step']")
    preds = []

    def make_list(m, opt):
        def step(x, y):
            out = m(x)
            preds.append(out.detach())
            loss = F.cross_entropy(out, y)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    preds.clear()
    _side_by_side(make_list, "the step changes the Python state preds (appended to or changed)")
    assert len(preds) == 20  # eager's ten calls, then the compiled function's ten (all run eagerly)


@pytest.mark.parametrize("draw", ["numpy", "python", "numpy_generator"])
def test_a_branch_on_a_python_side_random_draw(draw):
    rng = np.random.default_rng(0)

    def coin():
        return {"numpy": np.random.rand, "python": random.random, "numpy_generator": rng.random}[draw]() < 0.5

    def make(m, opt):
        def step(x, y):
            if coin():
                x = x.flip(1)
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    if draw == "numpy_generator":  # (one generator for both runs: the second starts where the first stopped)
        rng = np.random.default_rng(0)
        want = _run(make, compiled=False)
        rng = np.random.default_rng(0)
        got = _run(make)
        np.testing.assert_array_equal(got[1], want[1])
        assert len(got[2]) == 1 and "random generator" in got[2][0]
    else:
        _side_by_side(make, "random generator")


def test_an_attribute_the_loop_changes_is_read_at_every_call():
    """tr.warmup set by the loop between calls: a new value traces again instead of replaying the old one."""
    tr = Trainer()

    def make(m, opt):
        def step(x, y):
            loss = _loss(m, x, y, 0.0 if tr.warmup > 0 else 1.0)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    def between(i):
        tr.warmup = 3 - i if i < 6 else 0  # 3, 2, 1, 0, ... : the branch switches at the fourth call
        tr.unread = i  # an attribute the step does not name: no new trace

    fn = _side_by_side(make, None, calls=16, between=between)
    assert fn.replays >= 5


def test_state_a_step_leaves_alone_still_compiles():
    """A user's object and a config dict that the step reads but does not change: replays, no warning."""
    tr = Trainer()
    cfg = {"w": 0.5, "history": []}

    def make(m, opt):
        def step(x, y):
            loss = _loss(m, x, y, cfg["w"] * tr.warmup)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    fn = _side_by_side(make, None)
    assert fn.replays >= 5


SCALE = eg.linspace(0.5, 1.5, 4)  # a module-level constant tensor that a module's forward reads


class _Masked(nn.Module):
    def __init__(self, keep_output: bool = False):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.mask = eg.tril(eg.ones(3, 3))  # a plain tensor attribute (no register_buffer), as tutorials write
        self.prior = eg.distributions.Normal(eg.zeros(3), eg.ones(3), validate_args=False)  # held by the module
        self.keep_output = keep_output

    def forward(self, x):
        out = self.lin(x * SCALE) @ self.mask
        if self.keep_output:
            self.last = out.detach()  # kept for a plot: a replay would not set it
        return out - self.prior.log_prob(out) * 0.1


@pytest.mark.parametrize("keep_output", [False, True])
def test_tensors_a_modules_forward_reads_are_read_live(keep_output):
    """A global tensor the forward reads, a plain tensor attribute and a held distribution's tensors are the plan's
    (they had been 'computed outside the recorded kernels': the step fell back); a tensor attribute the forward
    sets falls back, naming it."""
    def make(m, opt):
        model = _Masked(keep_output)
        model.lin = m  # (the weights _run compares)
        opt = eg.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss
        return step

    _side_by_side(make, "the step sets _Masked.last (a tensor attribute" if keep_output else None)


def test_a_returned_parameter_or_buffer_is_the_live_tensor():
    """A step returning ``bn.running_mean`` or a parameter (for a log) gets that tensor itself in eager mode; a
    replay had returned a copy (a snapshot the next calls did not update)."""
    def make(m, opt):
        bn = nn.BatchNorm1d(3)

        def step(x, y):
            out = bn(m(x))
            loss = F.cross_entropy(out, y)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss, bn.running_mean, m.weight
        make.bn = bn
        return step

    m, opt, x, y = _setup()
    fn = eg.compile(make(m, opt))
    for _ in range(6):
        loss, mean, weight = fn(x, y)
        assert mean is make.bn.running_mean and weight is m.weight
    assert fn.replays >= 2 and fn.fallback_reason is None
