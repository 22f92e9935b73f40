"""Learning-rate schedules without PyTorch: the pure functions against formulas and hand-computed values,
the schedulers against the pure functions, exact state_dict round trips, ReduceLROnPlateau composed
with other schedules, and argument errors. (Parity with torch: test_lr_scheduler_torch.py.)"""
import math
import pickle

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.optim import lr_scheduler as S
from eigengrad.optim import schedules as F

LRS = [0.1, 0.03, 0.5]


def make_sgd(lrs=LRS, momentum=0.9):
    params = [eg.zeros(2, requires_grad=True) for _ in lrs]
    sum((p * p).sum() for p in params).backward()
    return eg.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0], momentum=momentum)


class NoMomentum(eg.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))


class Betas(eg.optim.Optimizer):
    def __init__(self, params, lr=0.1, betas=(0.9, 0.999)):
        super().__init__(params, dict(lr=lr, betas=betas))


def run(opt, sched, steps, metrics=None):
    """Group lrs after construction and after each step (optimizer.step() first, as it should be)."""
    rows = [[g["lr"] for g in opt.param_groups]]
    for t in range(steps):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[t])
        rows.append([g["lr"] for g in opt.param_groups])
    return rows


# --- pure functions --------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [0, 1, 2, 7, 100, 299])
def test_inverse_time_and_natural_exp_formulas(t):
    assert F.inverse_time_lr(t, 0.2, gamma=0.5) == pytest.approx(0.2 / (1 + 0.5 * t), rel=1e-15)
    assert F.natural_exp_lr(t, 0.2, k=0.03) == pytest.approx(0.2 * math.exp(-0.03 * t), rel=1e-15)


def test_inverse_time_and_natural_exp_hand_values():
    assert [F.inverse_time_lr(t, 1.0, gamma=1.0) for t in range(4)] == [1.0, 0.5, 1 / 3, 0.25]
    assert F.inverse_time_lr(10, 0.1, gamma=0.1) == pytest.approx(0.05, rel=1e-15)
    assert F.natural_exp_lr(0, 0.3, k=2.0) == 0.3
    assert F.natural_exp_lr(50, 0.1, k=math.log(2) / 50) == pytest.approx(0.05, rel=1e-14)  # half-life 50
    assert F.natural_exp_lr(7, 0.1, k=0.0) == 0.1


def test_spot_values_of_the_decays():
    assert [F.step_lr(t, 1.0, step_size=3, gamma=0.5) for t in (0, 2, 3, 5, 6, 9)] == [1, 1, 0.5, 0.5, 0.25, 0.125]
    assert [F.multistep_lr(t, 1.0, [2, 5, 5], 0.1) for t in (0, 1, 2, 4, 5, 9)] == pytest.approx([1, 1, .1, .1, 1e-3, 1e-3])
    assert [F.constant_lr(t, 0.3, factor=0.5, total_iters=2) for t in (0, 1, 2, 3)] == pytest.approx([.15, .15, .3, .3])
    assert [F.linear_lr(t, 1.0, 0.25, 1.0, 3) for t in (0, 1, 2, 3, 10)] == pytest.approx([.25, .5, .75, 1, 1])
    assert F.exponential_lr(3, 2.0, 0.5) == 0.25
    assert [F.polynomial_lr(t, 1.0, 4, 2.0) for t in (0, 2, 3, 4, 9)] == pytest.approx([1, .25, .0625, 0, 0])


def test_cosine_spot_values():
    assert F.cosine_annealing_lr(0, 0.1, T_max=50, eta_min=0.01) == pytest.approx(0.1)
    assert F.cosine_annealing_lr(25, 0.1, T_max=50, eta_min=0.01) == pytest.approx((0.1 + 0.01) / 2, rel=1e-14)
    assert F.cosine_annealing_lr(50, 0.1, T_max=50, eta_min=0.01) == pytest.approx(0.01, rel=1e-14)
    # SGDR, T_0=2, T_mult=2: periods [0, 2), [2, 6), [6, 14): restarts at 2, 6, 14
    lr = [F.cosine_warm_restarts_lr(t, 1.0, T_0=2, T_mult=2) for t in range(15)]
    assert [lr[t] for t in (0, 2, 6, 14)] == [1.0, 1.0, 1.0, 1.0]
    assert lr[1] == pytest.approx(0.5) and lr[4] == pytest.approx(0.5) and lr[10] == pytest.approx(0.5)
    assert F.cosine_warm_restarts_lr(3.5, 1.0, T_0=3) == pytest.approx((1 + math.cos(math.pi / 6)) / 2)


def test_cyclic_spot_values():
    tri = [F.cyclic_lr(t, 0.1, 1.0, step_size_up=4) for t in range(17)]
    assert tri[4] == pytest.approx(1.0) and tri[12] == pytest.approx(1.0) and max(tri) == pytest.approx(1.0)
    assert tri[0] == tri[8] == tri[16] == pytest.approx(0.1)
    assert tri[2] == pytest.approx(0.55)
    tri2 = [F.cyclic_lr(t, 0.0, 1.0, step_size_up=2, step_size_down=3, mode="triangular2") for t in (2, 7, 12)]
    assert tri2 == pytest.approx([1.0, 0.5, 0.25])  # peaks halve each cycle of 5 steps
    assert F.cyclic_lr(2, 0.0, 1.0, step_size_up=2, mode="exp_range", gamma=0.9) == pytest.approx(0.81)
    assert F.cyclic_momentum(4, 0.8, 0.9, step_size_up=4) == pytest.approx(0.8)
    assert F.cyclic_momentum(0, 0.8, 0.9, step_size_up=4) == pytest.approx(0.9)


def test_one_cycle_spot_values():
    kw = dict(max_lr=1.0, total_steps=100, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    assert F.one_cycle_lr(0, **kw) == pytest.approx(0.1)
    assert F.one_cycle_lr(24, **kw) == pytest.approx(1.0)  # end of warm-up: pct_start*total - 1
    assert F.one_cycle_lr(99, **kw) == pytest.approx(0.001)  # max / div / final_div at the last step
    assert F.one_cycle_lr(12, **kw, anneal_strategy="linear") == pytest.approx(0.1 + 0.9 * 12 / 24)
    three = dict(kw, three_phase=True)
    assert F.one_cycle_lr(48, **three) == pytest.approx(0.1) and F.one_cycle_lr(99, **three) == pytest.approx(0.001)
    assert F.one_cycle_momentum(24, 100, 0.85, 0.95, pct_start=0.25) == pytest.approx(0.85)
    assert F.one_cycle_momentum(99, 100, 0.85, 0.95, pct_start=0.25) == pytest.approx(0.95)


# --- schedulers equal the pure functions -----------------------------------------------------------
CLOSED_FORM = [  # closed form in the scheduler too: exactly equal
    (lambda o: S.LambdaLR(o, lambda t: 0.9 ** t), lambda t, b: b * 0.9 ** t),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=1e-3),
     lambda t, b: F.cosine_warm_restarts_lr(t, b, 7, 2, 1e-3)),
    (lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=9, step_size_down=4, mode="exp_range", gamma=0.99),
     lambda t, b: F.cyclic_lr(t, 0.01, 0.2, 9, 4, "exp_range", 0.99)),
    (lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=150, three_phase=True),
     lambda t, b: F.one_cycle_lr(t, 0.3, 150, three_phase=True)),
]
CHAINABLE = [  # recursive in the scheduler (as torch): equal to rounding
    (lambda o: S.StepLR(o, step_size=13, gamma=0.7), lambda t, b: F.step_lr(t, b, 13, 0.7)),
    (lambda o: S.MultiStepLR(o, [10, 40, 40, 90], 0.5), lambda t, b: F.multistep_lr(t, b, [10, 40, 40, 90], 0.5)),
    (lambda o: S.ConstantLR(o, factor=0.2, total_iters=17), lambda t, b: F.constant_lr(t, b, 0.2, 17)),
    (lambda o: S.LinearLR(o, start_factor=0.05, end_factor=0.8, total_iters=60),
     lambda t, b: F.linear_lr(t, b, 0.05, 0.8, 60)),
    (lambda o: S.ExponentialLR(o, gamma=0.97), lambda t, b: F.exponential_lr(t, b, 0.97)),
    (lambda o: S.InverseTimeLR(o, gamma=0.3), lambda t, b: F.inverse_time_lr(t, b, 0.3)),
    (lambda o: S.NaturalExpLR(o, k=0.02), lambda t, b: F.natural_exp_lr(t, b, 0.02)),
    (lambda o: S.PolynomialLR(o, total_iters=120, power=1.7), lambda t, b: F.polynomial_lr(t, b, 120, 1.7)),
    (lambda o: S.CosineAnnealingLR(o, T_max=45, eta_min=0.002), lambda t, b: F.cosine_annealing_lr(t, b, 45, 0.002)),
]


@pytest.mark.parametrize("case", range(len(CLOSED_FORM) + len(CHAINABLE)))
def test_schedulers_equal_pure_functions(case):
    exact = case < len(CLOSED_FORM)
    build, fn = (CLOSED_FORM + CHAINABLE)[case]
    lrs = [0.1] if "CyclicLR" in str(build.__code__.co_names) else LRS
    opt = make_sgd(lrs)
    rows = run(opt, build(opt), 140)
    expected = [[fn(t, b) for b in lrs] for t in range(141)]
    if exact:
        assert rows == expected
    else:
        np.testing.assert_allclose(rows, expected, rtol=1e-12, atol=1e-15)


def test_cyclic_and_one_cycle_drive_momentum_and_betas():
    opt = make_sgd([0.1])
    sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=5)
    for t in range(1, 12):
        sched.step()
        assert opt.param_groups[0]["momentum"] == F.cyclic_momentum(t, 0.8, 0.9, step_size_up=5)
    opt = Betas([eg.zeros(2, requires_grad=True)], betas=(0.9, 0.99))
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    for t in range(1, 20):
        sched.step()
        assert opt.param_groups[0]["betas"] == (F.one_cycle_momentum(t, 20), 0.99)


def test_one_cycle_raises_after_total_steps():
    opt = make_sgd([0.1])
    sched = S.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=3)
    for _ in range(6):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 7 times. The specified number of total steps is 6"):
        sched.step()


# --- ReduceLROnPlateau: alone and composed ---------------------------------------------------------
def test_plateau_alone_reduces_after_patience_with_cooldown_and_min_lr():
    opt = make_sgd([1.0])
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = run(opt, sched, 12, metrics=[1.0] * 12)  # never improves after the first
    # bad epochs 1,2 tolerated, 3 reduces; cooldown swallows one; then every 3rd step; floor at 0.2
    assert [r[0] for r in lrs] == [1, 1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .25, .2]


def test_plateau_times_cosine_in_a_chain():
    opt = make_sgd(LRS)
    cosine = S.CosineAnnealingLR(opt, T_max=40, eta_min=0.001)
    plateau = S.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    sched = S.ChainedScheduler([cosine, plateau])
    metrics = [1.0 / (1 + t) for t in range(10)] + [0.5] * 30  # improves for 10 steps, then flat
    rows = run(opt, sched, 40, metrics)
    # best at step 10; bad steps 11..14 exceed patience 3 at the 4th; then every 4th step
    halvings = [0] * 13 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [6] * 4 + [7] * 3
    for t in range(1, 41):
        expected = [F.cosine_annealing_lr(t, b, 40, 0.001) * 0.5 ** halvings[t - 1] for b in LRS]
        np.testing.assert_allclose(rows[t], expected, rtol=1e-12, err_msg=f"step {t}")
    assert plateau.scales == [0.5 ** 7] * 3


def test_plateau_factor_does_not_go_below_min_lr_nor_raise_the_schedule():
    opt = make_sgd([1.0])
    sched = S.ChainedScheduler([S.ExponentialLR(opt, gamma=0.5), S.ReduceLROnPlateau(opt, factor=0.1, patience=0,
                                                                                      min_lr=0.2)])
    rows = run(opt, sched, 4, metrics=[1.0] * 4)
    # schedule 0.5, 0.25, 0.125, 0.0625; the plateau factor floors at 0.2 but leaves the schedule's own
    # rate below 0.2 alone
    assert [r[0] for r in rows] == [1.0, 0.5, 0.2, 0.125, 0.0625]


def test_plateau_on_a_closed_form_schedule_keeps_the_schedule_shape():
    opt = make_sgd([0.1])
    cyc = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=5)
    sched = S.ChainedScheduler([S.ReduceLROnPlateau(opt, factor=0.5, patience=0, eps=0), cyc])  # position does not matter
    rows = run(opt, sched, 30, metrics=[1.0] + [2.0] * 29)
    for t in range(1, 31):
        assert rows[t][0] == pytest.approx(F.cyclic_lr(t, 0.01, 0.1, 5) * 0.5 ** (t - 1), rel=1e-14)


def test_plateau_as_a_phase_after_warmup():
    opt = make_sgd([0.1])
    sched = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=5),
                                 S.ReduceLROnPlateau(opt, factor=0.5, patience=1)], milestones=[5])
    rows = run(opt, sched, 12, metrics=[1.0] * 12)
    assert [r[0] for r in rows] == pytest.approx([0.01, 0.028, 0.046, 0.064, 0.082,  # warm-up
                                                  0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125], rel=1e-12)


def test_chain_with_plateau_needs_the_metric():
    opt = make_sgd([0.1])
    sched = S.ChainedScheduler([S.ExponentialLR(opt, 0.9), S.ReduceLROnPlateau(opt)])
    with pytest.raises(TypeError, match="metrics"):
        sched.step()


# --- state_dict round trips -------------------------------------------------------------------------
class Warmup:
    """A picklable lr_lambda with state (its __dict__ is saved, as torch)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, t):
        self.calls += 1
        return min(1.0, (t + 1) / self.n) * (1 + 1e-3 * (self.calls % 3))


def cyc_scale(x):
    return 1 / (1 + 0.1 * x)


ROUND_TRIP = {
    "LambdaLR": lambda o: S.LambdaLR(o, [Warmup(5), lambda t: 0.9 ** t, Warmup(9)]),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lambda t: 0.95),
    "StepLR": lambda o: S.StepLR(o, 7), "MultiStepLR": lambda o: S.MultiStepLR(o, [10, 30, 30]),
    "ConstantLR": lambda o: S.ConstantLR(o, total_iters=50), "LinearLR": lambda o: S.LinearLR(o, total_iters=60),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.97), "InverseTimeLR": lambda o: S.InverseTimeLR(o, 0.1),
    "NaturalExpLR": lambda o: S.NaturalExpLR(o, 0.05), "PolynomialLR": lambda o: S.PolynomialLR(o, 70, 2.0),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 30, 1e-3),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2),
    "CyclicLR": lambda o: S.CyclicLR(o, 0.01, [0.1, 0.2, 0.3], 6, mode="triangular2"),
    "CyclicLR-scale_fn": lambda o: S.CyclicLR(o, 0.01, 0.1, 6, scale_fn=cyc_scale, scale_mode="iterations"),
    "OneCycleLR": lambda o: S.OneCycleLR(o, 0.5, total_steps=80, three_phase=True),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=10), S.CosineAnnealingLR(o, 50),
                                                 S.ReduceLROnPlateau(o, patience=1)], milestones=[10, 50]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([S.CosineAnnealingLR(o, 30), S.ExponentialLR(o, 0.99),
                                                      S.ReduceLROnPlateau(o, factor=0.5, patience=2)]),
}
METRICS = [1.0 / (1 + t % 13) for t in range(80)]


def _contains_optimizer(obj):
    if isinstance(obj, eg.optim.Optimizer):
        return True
    if isinstance(obj, dict):
        return any(_contains_optimizer(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_contains_optimizer(v) for v in obj)
    return False


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_round_trip_is_exact(name):
    build, k, n = ROUND_TRIP[name], 37, 80
    needs_metric = "Plateau" in name or name in ("SequentialLR", "ChainedScheduler")
    metrics = METRICS if needs_metric else None
    opt = make_sgd()
    uninterrupted = run(opt, build(opt), n, metrics)

    opt = make_sgd()
    sched = build(opt)
    first = run(opt, sched, k, metrics)
    saved_opt, saved = pickle.dumps(opt.state_dict()), pickle.dumps(sched.state_dict())
    assert not _contains_optimizer(sched.state_dict())
    run(opt, sched, 5, metrics)  # stepping on must not change what was saved

    opt = make_sgd()
    sched = build(opt)
    opt.load_state_dict(pickle.loads(saved_opt))
    sched.load_state_dict(pickle.loads(saved))
    resumed = run(opt, sched, n - k, metrics[k:] if metrics else None)
    assert first[:-1] + resumed == uninterrupted


def test_lambda_state_dict_skips_functions_and_keeps_callable_objects():
    opt = make_sgd()
    sched = S.LambdaLR(opt, [Warmup(5), lambda t: 1.0, Warmup(3)])
    state = sched.state_dict()
    assert state["lr_lambdas"][1] is None and state["lr_lambdas"][0] == {"n": 5, "calls": 1}


# --- argument errors --------------------------------------------------------------------------------
BAD = [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size.*positive integer.*got 0"),
    (lambda o: S.StepLR(o, step_size=2.5), TypeError, "step_size.*got 2.5"),
    (lambda o: S.StepLR(o, step_size=3, gamma=0), ValueError, "gamma.*> 0.*got 0"),
    (lambda o: S.ExponentialLR(o, gamma=-0.5), ValueError, "gamma.*got -0.5"),
    (lambda o: S.MultiStepLR(o, [3, -1]), ValueError, "milestones.*got -1"),
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, r"factor.*\[0.0, 1.0\].*got 1.5"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "start_factor.*got 0"),
    (lambda o: S.LinearLR(o, total_iters=-1), ValueError, "total_iters.*got -1"),  # 0 is allowed, as PyTorch
    (lambda o: S.InverseTimeLR(o, gamma=-1), ValueError, "gamma.*got -1"),
    (lambda o: S.NaturalExpLR(o, k="fast"), TypeError, "k.*'fast'"),
    (lambda o: S.PolynomialLR(o, total_iters=-2), ValueError, "total_iters.*got -2"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max.*> 0.*got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0.*got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0), ValueError, "T_mult.*got 0"),
    (lambda o: S.LambdaLR(o, [lambda t: 1.0] * 2), ValueError, "lr_lambda.*3 functions.*got 2"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, "lr_lambda.*callable.*float"),
    (lambda o: S.CyclicLR(o, base_lr=[0.1, 0.2], max_lr=1.0), ValueError, "base_lr.*3 values.*got 2"),
    (lambda o: S.CyclicLR(o, base_lr=0.1, max_lr=[1.0] * 4), ValueError, "max_lr.*3 values.*got 4"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, mode="square"), ValueError, "mode.*'triangular'.*got 'square'"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, step_size_up=0), ValueError, "step_size_up.*got 0"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps.*epochs.*steps_per_epoch"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=3), ValueError, "total_steps.*steps_per_epoch=None"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=-5), ValueError, "total_steps.*got -5"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.2), ValueError, "pct_start.*got 1.2"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy.*'cos', 'linear'.*got 'exp'"),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError, "max_lr.*3 values.*got 1"),
    (lambda o: S.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode.*'min', 'max'.*got 'lowest'"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, r"factor.*\[0.0, 1.0\).*got 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode.*got 'pct'"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.0]), ValueError, "min_lr.*3 values.*got 1"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), ValueError, "patience.*got -1"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[]), ValueError,
     "milestones.*1 milestones.*got 0"),
    (lambda o: S.ChainedScheduler([]), ValueError, "schedulers.*at least one"),
    (lambda o: S.StepLR("sgd", 3), TypeError, "optimizer.*Optimizer.*got str"),
]


@pytest.mark.parametrize("build,error,message", BAD, ids=[m.split(".")[0] for _, _, m in BAD])
def test_bad_arguments_name_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build(make_sgd())


def test_cycle_momentum_needs_momentum_or_betas():
    opt = NoMomentum([eg.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum.*neither 'momentum' nor 'betas'"):
        S.CyclicLR(opt, 0.01, 0.1)
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.OneCycleLR(opt, 0.1, total_steps=10)
    S.OneCycleLR(opt, 0.1, total_steps=10, cycle_momentum=False)  # fine without


def test_pure_functions_check_arguments():
    with pytest.raises(ValueError, match="step.*>= 0.*got -1"):
        F.exponential_lr(-1, 0.1, 0.9)
    with pytest.raises(ValueError, match="T_max.*got -3"):
        F.cosine_annealing_lr(1, 0.1, T_max=-3)
    with pytest.raises(ValueError, match="mode.*got 'sine'"):
        F.cyclic_lr(1, 0.1, 1.0, mode="sine")


def test_reachable_from_the_package():
    assert eg.optim.lr_scheduler.CosineAnnealingLR is S.CosineAnnealingLR
    assert set(S.__all__) >= {"LRScheduler", "ReduceLROnPlateau", "OneCycleLR", "InverseTimeLR", "NaturalExpLR"}


def test_import_eigengrad_does_not_load_the_schedulers():
    import subprocess
    import sys
    code = "import sys, eigengrad; print('eigengrad.optim.lr_scheduler' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
