"""Parity of eigengrad.optim.lr_scheduler with torch.optim.lr_scheduler: the same optimizer groups, the
same scheduler arguments (fixed cases and seeded random ones), 300 steps, the same learning rates (and
momenta) to 1e-12 relative. Runs only where PyTorch is installed."""
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: the parity checks with torch.optim.lr_scheduler run only where it is")

import eigengrad as eg  # noqa: E402
from eigengrad.optim import lr_scheduler as egs  # noqa: E402

tls = torch.optim.lr_scheduler
STEPS = 300
LRS = {1: [0.1], 3: [0.1, 0.03, 0.5]}


# --- optimizers with the same groups ---------------------------------------------------------------
def eg_sgd(lrs, momentum=0.0):
    params = [eg.zeros(2, requires_grad=True) for _ in lrs]
    sum((p * p).sum() for p in params).backward()  # gradients, so that opt.step() does a real update
    return eg.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0], momentum=momentum)


def torch_sgd(lrs, momentum=0.0):
    params = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in lrs]
    for p in params:
        p.grad = torch.zeros_like(p)
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0], momentum=momentum)


class BetasOptimizer(eg.optim.Optimizer):
    """An Adam-like optimizer for the schedulers' purposes: param groups with ``betas``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999)):
        super().__init__(params, dict(lr=lr, betas=betas))


def eg_adam(lrs):
    return BetasOptimizer([{"params": [eg.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], betas=(0.9, 0.99))


def torch_adam(lrs):
    return torch.optim.Adam([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs],
                            betas=(0.9, 0.99))


# --- running a schedule ----------------------------------------------------------------------------
def trace(opt, sched, metrics=None, steps=STEPS, step_optimizer=True):
    """Group lrs, momenta/beta1 and get_last_lr() after construction and after each of ``steps`` steps."""
    def snapshot():
        row = [g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
        for g in opt.param_groups:
            if "betas" in g:
                row.append(g["betas"][0])
            elif "momentum" in g:
                row.append(g["momentum"])
        return row

    rows = [snapshot()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's step-order and deprecation warnings
        for t in range(steps):
            if step_optimizer:
                opt.step()
            sched.step() if metrics is None else sched.step(metrics[t])
            rows.append(snapshot())
    return np.array(rows, dtype=np.float64)


def assert_parity(build, lrs=LRS[1], momentum=0.0, metrics=None, adam=False, steps=STEPS):
    """``build(lib, opt)`` makes the scheduler from ``lib`` (eigengrad's or torch's module)."""
    if adam:
        eg_opt, t_opt = eg_adam(lrs), torch_adam(lrs)
    else:
        eg_opt, t_opt = eg_sgd(lrs, momentum), torch_sgd(lrs, momentum)
    ours = trace(eg_opt, build(egs, eg_opt), metrics, steps, step_optimizer=not adam)
    theirs = trace(t_opt, build(tls, t_opt), metrics, steps, step_optimizer=not adam)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300)
    return ours


def scheduler(name, **kwargs):
    return lambda lib, opt: getattr(lib, name)(opt, **kwargs)


# --- fixed cases -----------------------------------------------------------------------------------
def lam_inverse(t):
    return 1.0 / (1.0 + 0.05 * t)


def lam_wiggle(t):
    return 0.99 + 0.003 * (t % 7)


FIXED = [
    ("StepLR", dict(step_size=30)), ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[30, 80, 80, 200])), ("MultiStepLR", dict(milestones=[5, 1, 299], gamma=0.7)),
    ("ConstantLR", dict()), ("ConstantLR", dict(factor=0.25, total_iters=40)), ("ConstantLR", dict(total_iters=0)),
    ("LinearLR", dict()), ("LinearLR", dict(start_factor=0.01, total_iters=100)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=250)),
    ("ExponentialLR", dict(gamma=0.98)), ("ExponentialLR", dict(gamma=1.01)),
    ("PolynomialLR", dict()), ("PolynomialLR", dict(total_iters=200, power=0.9)),
    ("PolynomialLR", dict(total_iters=400, power=2.0)),
    ("CosineAnnealingLR", dict(T_max=50)), ("CosineAnnealingLR", dict(T_max=37, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=300, eta_min=0.01)), ("CosineAnnealingLR", dict(T_max=1)),
    ("CosineAnnealingWarmRestarts", dict(T_0=10)), ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=1e-3)),
    ("CosineAnnealingWarmRestarts", dict(T_0=1, T_mult=3)),
    ("LambdaLR", dict(lr_lambda=lam_inverse)), ("MultiplicativeLR", dict(lr_lambda=lam_wiggle)),
]


@pytest.mark.parametrize("name,kwargs", FIXED, ids=[f"{n}-{k}" for n, k in FIXED])
@pytest.mark.parametrize("groups", [1, 3])
def test_fixed_cases_match_torch(name, kwargs, groups):
    assert_parity(scheduler(name, **kwargs), LRS[groups])


def test_lambda_per_group_matches_torch():
    lams = [lam_inverse, lambda t: 0.97 ** t, lambda t: 1.0 if t < 100 else 0.1]
    assert_parity(scheduler("LambdaLR", lr_lambda=lams), LRS[3])


# --- seeded random cases ---------------------------------------------------------------------------
def random_case(name, rng):
    """Arguments for ``name`` drawn from ``rng`` over the ranges users pick."""
    u, i = rng.uniform, lambda lo, hi: int(rng.integers(lo, hi + 1))
    if name == "StepLR":
        return dict(step_size=i(1, 60), gamma=u(0.05, 1.2))
    if name == "MultiStepLR":
        return dict(milestones=[i(0, 320) for _ in range(i(0, 6))], gamma=u(0.05, 1.0))
    if name == "ConstantLR":
        return dict(factor=u(0.01, 1.0), total_iters=i(0, 320))
    if name == "LinearLR":
        return dict(start_factor=u(0.01, 1.0), end_factor=u(0.0, 1.0), total_iters=i(1, 320))
    if name == "ExponentialLR":
        return dict(gamma=u(0.9, 1.02))
    if name == "PolynomialLR":
        return dict(total_iters=i(1, 400), power=u(0.1, 3.0))
    if name == "CosineAnnealingLR":
        return dict(T_max=i(1, 150), eta_min=u(0, 0.02) if rng.random() < 0.6 else 0.0)
    if name == "CosineAnnealingWarmRestarts":
        return dict(T_0=i(1, 60), T_mult=i(1, 3), eta_min=u(0, 0.01))
    raise KeyError(name)


RANDOM_NAMES = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
                "CosineAnnealingLR", "CosineAnnealingWarmRestarts"]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_random_cases_match_torch(name, seed):
    rng = np.random.default_rng([seed, RANDOM_NAMES.index(name)])
    assert_parity(scheduler(name, **random_case(name, rng)), LRS[1 + 2 * (seed % 2)])


# --- cyclical schedules and momentum ---------------------------------------------------------------
def random_cyclic(rng, groups):
    lo = [float(rng.uniform(1e-4, 0.05)) for _ in range(groups)]
    kwargs = dict(base_lr=lo if groups > 1 else lo[0], max_lr=[v * rng.uniform(2, 20) for v in lo],
                  step_size_up=int(rng.integers(1, 60)), mode=str(rng.choice(["triangular", "triangular2", "exp_range"])),
                  gamma=float(rng.uniform(0.98, 1.0)), cycle_momentum=bool(rng.random() < 0.7))
    if rng.random() < 0.5:
        kwargs["step_size_down"] = int(rng.integers(1, 60))
    if kwargs["cycle_momentum"]:
        kwargs.update(base_momentum=float(rng.uniform(0.5, 0.85)), max_momentum=float(rng.uniform(0.86, 0.99)))
    return kwargs


@pytest.mark.parametrize("seed", range(12))
def test_cyclic_random_cases_match_torch(seed):
    rng = np.random.default_rng([seed, 100])
    groups = 1 + 2 * (seed % 2)
    assert_parity(scheduler("CyclicLR", **random_cyclic(rng, groups)), LRS[groups], momentum=0.9)


def half_cycle(x):
    return 0.5 ** x


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_custom_scale_fn_matches_torch(scale_mode):
    fn = half_cycle if scale_mode == "cycle" else (lambda t: 1.0 / (1.0 + 0.01 * t))
    assert_parity(scheduler("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=13, scale_fn=fn,
                            scale_mode=scale_mode), momentum=0.9)


def test_cyclic_defaults_and_betas_match_torch():
    assert_parity(scheduler("CyclicLR", base_lr=0.001, max_lr=0.1, step_size_up=20), momentum=0.9)
    out = assert_parity(scheduler("CyclicLR", base_lr=[0.001, 0.002, 0.003], max_lr=0.1, step_size_up=25),
                        LRS[3], adam=True)
    assert out[:, -1].min() == pytest.approx(0.8) and out[:, -1].max() == pytest.approx(0.9)


def random_one_cycle(rng, groups):
    total = int(rng.integers(STEPS, 2 * STEPS))
    kwargs = dict(max_lr=[float(rng.uniform(0.01, 1.0)) for _ in range(groups)] if groups > 1 else float(rng.uniform(0.01, 1)),
                  pct_start=float(rng.uniform(0.05, 0.9)), anneal_strategy=str(rng.choice(["cos", "linear"])),
                  div_factor=float(rng.uniform(2, 50)), final_div_factor=float(rng.uniform(10, 1e5)),
                  three_phase=bool(rng.random() < 0.4), cycle_momentum=bool(rng.random() < 0.7),
                  base_momentum=float(rng.uniform(0.5, 0.85)), max_momentum=float(rng.uniform(0.86, 0.99)))
    if rng.random() < 0.5:
        kwargs["total_steps"] = total
    else:
        kwargs.update(epochs=int(rng.integers(STEPS // 10, STEPS // 5)), steps_per_epoch=10)
    return kwargs


@pytest.mark.parametrize("seed", range(12))
def test_one_cycle_random_cases_match_torch(seed):
    rng = np.random.default_rng([seed, 200])
    groups = 1 + 2 * (seed % 2)
    assert_parity(scheduler("OneCycleLR", **random_one_cycle(rng, groups)), LRS[groups], momentum=0.9)


def test_one_cycle_exactly_total_steps_and_betas_match_torch():
    assert_parity(scheduler("OneCycleLR", max_lr=0.5, total_steps=STEPS), momentum=0.9)
    assert_parity(scheduler("OneCycleLR", max_lr=0.5, total_steps=STEPS, three_phase=True), LRS[3], adam=True)


def test_one_cycle_stepping_past_total_raises_like_torch():
    def steps_until_error(lib, opt):
        sched = lib.OneCycleLR(opt, max_lr=0.1, total_steps=10)
        for n in range(1, 20):
            try:
                opt.step()
                sched.step()
            except ValueError as err:
                return n, str(err)
        return None

    ours, theirs = steps_until_error(egs, eg_sgd([0.1], 0.9)), steps_until_error(tls, torch_sgd([0.1], 0.9))
    assert ours == theirs and ours[0] == 11


# --- ReduceLROnPlateau -----------------------------------------------------------------------------
def metric_sequence(rng, mode, steps=STEPS):
    """A noisy loss curve with long plateaus, so reductions, cooldowns and thresholds all occur."""
    t = np.arange(steps)
    base = 1.0 / (1.0 + t / 40.0) + 0.02 * np.floor(t / 60.0) * (t % 60 > 30)
    values = base + rng.normal(0, 0.01, steps) + rng.choice([0, 0.05], steps, p=[0.9, 0.1])
    return list(-values if mode == "max" else values)


@pytest.mark.parametrize("seed", range(16))
def test_plateau_random_cases_match_torch(seed):
    rng = np.random.default_rng([seed, 300])
    groups = 1 + 2 * (seed % 2)
    mode = str(rng.choice(["min", "max"]))
    min_lr = [float(rng.uniform(0, 1e-3)) for _ in range(groups)] if rng.random() < 0.5 else float(rng.uniform(0, 1e-3))
    kwargs = dict(mode=mode, factor=float(rng.uniform(0.1, 0.9)), patience=int(rng.integers(0, 12)),
                  threshold=float(rng.choice([0.0, 1e-4, 1e-2])), threshold_mode=str(rng.choice(["rel", "abs"])),
                  cooldown=int(rng.integers(0, 6)), min_lr=min_lr, eps=float(rng.choice([1e-8, 1e-3])))
    out = assert_parity(scheduler("ReduceLROnPlateau", **kwargs), LRS[groups], metrics=metric_sequence(rng, mode))
    assert out[-1, 0] < out[0, 0] or kwargs["patience"] > 0  # a reduction happened (checks the metric is useful)


# --- composites ------------------------------------------------------------------------------------
def warmup_cosine(lib, opt):
    return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=10),
                                  lib.CosineAnnealingLR(opt, T_max=100, eta_min=1e-4)], milestones=[10])


def three_phases(lib, opt):
    return lib.SequentialLR(opt, [lib.ConstantLR(opt, factor=0.5, total_iters=5), lib.ExponentialLR(opt, gamma=0.99),
                                  lib.StepLR(opt, step_size=20, gamma=0.5)], milestones=[20, 150])


def chained(lib, opt):
    return lib.ChainedScheduler([lib.ConstantLR(opt, factor=0.1, total_iters=2), lib.ExponentialLR(opt, gamma=0.99),
                                 lib.MultiStepLR(opt, milestones=[50, 120], gamma=0.5)])


def chained_cosine(lib, opt):
    return lib.ChainedScheduler([lib.LinearLR(opt, start_factor=0.2, total_iters=20),
                                 lib.CosineAnnealingLR(opt, T_max=60, eta_min=0.0)], optimizer=opt)


@pytest.mark.parametrize("build", [warmup_cosine, three_phases, chained, chained_cosine])
@pytest.mark.parametrize("groups", [1, 3])
def test_composites_match_torch(build, groups):
    assert_parity(build, LRS[groups])


def test_closed_form_step_epoch_matches_torch():
    """The deprecated step(epoch) uses the closed form, as torch's."""
    for name, kwargs in [("StepLR", dict(step_size=3)), ("ExponentialLR", dict(gamma=0.9)),
                         ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)), ("PolynomialLR", dict(total_iters=8)),
                         ("LinearLR", dict()), ("MultiStepLR", dict(milestones=[2, 5, 5]))]:
        out = []
        for lib, opt in [(egs, eg_sgd(LRS[3])), (tls, torch_sgd(LRS[3]))]:
            sched = getattr(lib, name)(opt, **kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append([(sched.step(e), sched.get_last_lr())[1] for e in [3, 7, 1, 12, 0, 5]])
        np.testing.assert_allclose(out[0], out[1], rtol=1e-12, err_msg=name)


def test_warm_restarts_fractional_epochs_match_torch():
    epochs = [e + k / 7 for e in range(40) for k in range(7)]
    out = []
    for lib, opt in [(egs, eg_sgd(LRS[1])), (tls, torch_sgd(LRS[1]))]:
        sched = lib.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
        out.append([(sched.step(e), sched.get_last_lr()[0])[1] for e in epochs])
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


def test_warm_restarts_restart_where_torch_log_misplaces_it():
    """At epoch 121 with T_0=1, T_mult=3 a period starts (1 + 3 + 9 + 27 + 81 = 121): the rate is the
    base rate. torch's float log puts the epoch at the end of the previous period (rate eta_min)."""
    opt = eg_sgd([0.1])
    sched = egs.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3)
    sched.step(121)
    assert sched.get_last_lr() == [0.1] and sched.T_i == 243 and sched.T_cur == 0
    assert math.isclose(sum(3 ** k for k in range(5)), 121)


def test_plateau_stepped_beside_a_chainable_scheduler_matches_torch():
    """torch users combine them by stepping both on one optimizer; alone-mode keeps that working."""
    rng = np.random.default_rng(7)
    metrics = metric_sequence(rng, "min")
    out = []
    for lib, opt in [(egs, eg_sgd(LRS[3], 0.9)), (tls, torch_sgd(LRS[3], 0.9))]:
        exp, plateau = lib.ExponentialLR(opt, gamma=0.995), lib.ReduceLROnPlateau(opt, factor=0.3, patience=4)
        rows = []
        for t in range(STEPS):
            opt.step()
            exp.step()
            plateau.step(metrics[t])
            rows.append([g["lr"] for g in opt.param_groups])
        out.append(rows)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)
    assert out[0][-1][0] < 0.1 * 0.995 ** STEPS * 0.3  # the plateau did reduce


def test_plateau_in_a_chain_changes_nothing_while_the_metric_improves():
    """eigengrad's chain with a ReduceLROnPlateau equals torch's chain without it until a plateau."""
    improving = [1.0 / (1 + t) for t in range(STEPS)]

    def ours(lib, opt):
        return lib.ChainedScheduler([lib.LinearLR(opt, start_factor=0.2, total_iters=20),
                                     lib.CosineAnnealingLR(opt, T_max=60), lib.ReduceLROnPlateau(opt)])

    eg_opt, t_opt = eg_sgd(LRS[3]), torch_sgd(LRS[3])
    mine = trace(eg_opt, ours(egs, eg_opt), improving)
    theirs = trace(t_opt, chained_cosine(tls, t_opt))
    assert mine.tolist() == theirs.tolist()


RESUME = [("StepLR", dict(step_size=5)), ("CosineAnnealingLR", dict(T_max=20, eta_min=0.01)),
          ("ExponentialLR", dict(gamma=0.9)), ("LinearLR", dict()), ("PolynomialLR", dict(total_iters=30)),
          ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)), ("OneCycleLR", dict(max_lr=0.3, total_steps=100)),
          ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=7))]


@pytest.mark.parametrize("name,kwargs", RESUME, ids=[n for n, _ in RESUME])
def test_constructing_with_last_epoch_matches_torch(name, kwargs):
    """Built with last_epoch=12 on groups that already hold initial_lr (and the cyclic bounds)."""
    extra = {"OneCycleLR": dict(max_lr=0.3, min_lr=1e-6, max_momentum=0.95, base_momentum=0.85),
             "CyclicLR": dict(max_momentum=0.9, base_momentum=0.8)}.get(name, {})

    def build(lib, opt):
        for g in opt.param_groups:
            g.update(initial_lr=g["lr"], **extra)
        return getattr(lib, name)(opt, last_epoch=12, **kwargs)

    assert_parity(build, [0.1, 0.2], momentum=0.9, steps=40)


def test_resuming_without_initial_lr_raises_like_torch():
    with pytest.raises(KeyError, match="initial_lr"):
        egs.StepLR(eg_sgd([0.1]), step_size=3, last_epoch=4)


def test_steplr_takes_a_whole_float_step_size_as_the_text_tutorial_writes():
    """``StepLR(optimizer, 1.0, gamma=0.1)`` (PyTorch's text classification tutorial) decays as step_size=1."""
    lrs = {}
    for lib, sched in (("eg", egs), ("torch", torch.optim.lr_scheduler)):
        mod = eg if lib == "eg" else torch
        opt = mod.optim.SGD([mod.zeros(1, requires_grad=True)], lr=5.0)
        s = sched.StepLR(opt, 1.0, gamma=0.1)
        out = []
        for _ in range(3):
            opt.step()
            s.step()
            out.append(opt.param_groups[0]["lr"])
        lrs[lib] = out
    np.testing.assert_allclose(lrs["eg"], lrs["torch"])
    with pytest.raises(TypeError, match="step_size"):
        egs.StepLR(eg.optim.SGD([eg.zeros(1, requires_grad=True)], lr=1.0), 1.5)
