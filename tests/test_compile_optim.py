"""eg.compile with every optimizer and every learning-rate scheduler: 50 compiled steps of the MLP
(BatchNorm, ReLU, dropout, label smoothing) equal 50 eager ones bit for bit, the schedulers stepping
between calls (they change lr, and CyclicLR/OneCycleLR momentum or betas, which every replay reads)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler as S
from compile_cases import batches, mlp, same, state_arrays, step_of

OPTIMIZERS = {
    "sgd": lambda p: eg.optim.SGD(p, lr=0.05),
    "sgd_nesterov": lambda p: eg.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adam": lambda p: eg.optim.Adam(p, lr=1e-3),
    "adam_amsgrad": lambda p: eg.optim.Adam(p, lr=1e-3, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda p: eg.optim.AdamW(p, lr=1e-3, weight_decay=1e-2),
    "nadam": lambda p: eg.optim.NAdam(p, lr=1e-3),
    "adamax": lambda p: eg.optim.Adamax(p, lr=1e-3),
    "radam": lambda p: eg.optim.RAdam(p, lr=1e-3),
    "adagrad": lambda p: eg.optim.Adagrad(p, lr=1e-2),
    "rmsprop": lambda p: eg.optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True),
    "adadelta": lambda p: eg.optim.Adadelta(p, lr=1.0),
}

SCHEDULERS = {
    "lambda": lambda o: S.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "multiplicative": lambda o: S.MultiplicativeLR(o, lambda e: 0.97),
    "step": lambda o: S.StepLR(o, step_size=7, gamma=0.5),
    "multistep": lambda o: S.MultiStepLR(o, milestones=[10, 30], gamma=0.3),
    "constant": lambda o: S.ConstantLR(o, factor=0.5, total_iters=9),
    "linear": lambda o: S.LinearLR(o, start_factor=0.2, total_iters=20),
    "exponential": lambda o: S.ExponentialLR(o, gamma=0.95),
    "polynomial": lambda o: S.PolynomialLR(o, total_iters=40, power=2.0),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=25),
    "cosine_restarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=8, T_mult=2),
    "cyclic": lambda o: S.CyclicLR(o, base_lr=1e-4, max_lr=1e-2, step_size_up=6),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=1e-2, total_steps=60),
    "sequential": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                               S.ExponentialLR(o, gamma=0.9)], milestones=[5]),
    "chained": lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                             S.ExponentialLR(o, gamma=0.97)]),
    "plateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1),
}


def _train(make_opt, make_sched, compiled: bool, clip=None, steps: int = 50):
    model = mlp(0)
    opt = make_opt(model.parameters())
    sched = make_sched(opt) if make_sched is not None else None
    step = step_of(model, opt, nn.CrossEntropyLoss(label_smoothing=0.1), clip)
    fn = eg.compile(step) if compiled else step
    losses, lrs = [], []
    for x, y in batches(steps):
        loss = fn(x, y).detach().numpy().copy()
        losses.append(loss)
        lrs.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
        if isinstance(sched, S.ReduceLROnPlateau):
            sched.step(float(loss))  # the metric read outside the step
        elif sched is not None:
            sched.step()
    return losses + state_arrays(model, opt), lrs, fn


def _check(make_opt, make_sched, clip=None):
    want, want_lrs, _ = _train(make_opt, make_sched, False, clip)
    got, got_lrs, fn = _train(make_opt, make_sched, True, clip)
    assert fn.fallback_reason is None
    assert fn.replays == 46  # calls 1-3 trace, call 4 replays and is checked against eager mode
    assert got_lrs == want_lrs
    same(got, want)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_compiled_equals_eager(name):
    _check(OPTIMIZERS[name], None)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_scheduler_compiled_equals_eager(name):
    # SGD with momentum, so that CyclicLR and OneCycleLR change a momentum that each replay must read
    _check(lambda p: eg.optim.SGD(p, lr=0.01, momentum=0.9), SCHEDULERS[name])


def test_onecycle_cycles_adam_betas_read_at_every_replay():
    _check(OPTIMIZERS["adamw"], lambda o: S.OneCycleLR(o, max_lr=1e-2, total_steps=60))


@pytest.mark.parametrize("clip", ["norm", "norm_inf", "value"])
def test_clipping_compiled_equals_eager(clip):
    def make(p):
        return eg.optim.Adam(p, lr=1e-2)

    if clip == "value":
        def step_clip(model):
            nn.utils.clip_grad_value_(model.parameters(), 0.01)
    else:
        norm_type = math.inf if clip == "norm_inf" else 2.0

        def step_clip(model):
            nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=norm_type)

    runs = []
    for compiled in (False, True):
        model = mlp(0)
        opt = make(model.parameters())
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            step_clip(model)
            opt.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = [fn(x, y).detach().numpy().copy() for x, y in batches(50)]
        if compiled:
            assert fn.fallback_reason is None and fn.replays == 46
        runs.append(losses + state_arrays(model, opt))
    same(runs[0], runs[1])
    assert runs[0][0] != runs[0][49]  # (training moved the loss)


@pytest.mark.parametrize("where", ["outside", "outside_zeros", "end", "none"])
def test_zero_grad_anywhere_compiled_equals_eager(where):
    # The optimizer's step is a Python op of the plan: at a replay it must find the .grad attributes that
    # eager mode's backward set, also when the caller cleared them before the call (opt.zero_grad() outside
    # the step, a common loop) or the step clears them after its update (found by the replay's bitwise
    # check, which made the step run eagerly from then on)
    runs = []
    for compiled in (False, True):
        model = mlp(0)
        opt = eg.optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = nn.CrossEntropyLoss()

        def step(x, y):
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if where == "end":
                opt.zero_grad()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = []
        for x, y in batches(20):
            if where == "outside":
                opt.zero_grad()
            elif where == "outside_zeros":
                opt.zero_grad(set_to_none=False)
            losses.append(fn(x, y).detach().numpy().copy())
        if compiled:
            assert fn.fallback_reason is None
            assert fn.replays >= 16
        runs.append(losses + state_arrays(model, opt) + [np.array([p.grad is None for p in model.parameters()])])
    same(runs[0], runs[1])
    assert runs[0][0] != runs[0][19]


def _train_sched_inside(make_sched, compiled: bool, steps: int = 30):
    model = mlp(0)
    opt = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = make_sched(opt)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if isinstance(sched, S.ReduceLROnPlateau):
            sched.step(loss)  # a tensor: read into Python
        else:
            sched.step()
        return loss

    fn = eg.compile(step) if compiled else step
    assert type(sched).__name__ in repr(sched)  # (ChainedScheduler's repr raised: it has no last_epoch)
    losses, lrs = [], []
    for x, y in batches(steps):
        losses.append(fn(x, y).detach().numpy().copy())
        lrs.append([(g["lr"], g.get("momentum")) for g in opt.param_groups])
    return losses + state_arrays(model, opt), lrs, (getattr(sched, "last_epoch", None), sched.get_last_lr()), fn


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_stepped_inside_the_step_compiled_equals_eager(name):
    # scheduler.step() inside the compiled function is a plan step, as the optimizer's: it advances at every
    # replay (it was frozen at the trace: every replay kept the last traced rate, silently)
    want, want_lrs, want_epoch, _ = _train_sched_inside(SCHEDULERS[name], False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got, got_lrs, got_epoch, fn = _train_sched_inside(SCHEDULERS[name], True)
    if name == "plateau":
        assert fn.fallback_reason.startswith("ReduceLROnPlateau.step() got a tensor (its value is read into Python) (at ")
        assert len([w for w in caught if "eg.compile" in str(w.message)]) == 1
    else:
        assert fn.fallback_reason is None and fn.replays == 26
    assert got_lrs == want_lrs and got_epoch == want_epoch
    same(got, want)
    assert len({lr for row in want_lrs for lr, _ in row}) > 1  # (the schedule moved the rate)
