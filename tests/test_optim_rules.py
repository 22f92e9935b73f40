"""Every update rule with every combination of its options (tests/optim_table.py) against its
per-parameter NumPy reference over 200 steps, plus PyTorch's optimizer invariants, convergence on a
quadratic and on Rosenbrock, and exact resume from a state_dict."""
import numpy as np
import pytest

import eigengrad as eg
from optim_table import CASES, OPTIONS, ReferenceOptimizer, case_id, gradient_sequence, make_params, set_grads

RTOL = {np.float32: 2e-5, np.float64: 1e-10}


def _relative_error(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_rule_matches_reference_over_200_steps(case, dtype):
    name, opt = case
    params = make_params(dtype)
    oracle = ReferenceOptimizer(name, [p.detach().numpy().copy() for p in params], **opt)
    optimizer = getattr(eg.optim, name)(params, **opt)
    for grads in gradient_sequence(200, dtype):
        set_grads(params, grads)
        optimizer.step()
        oracle.step(grads)
    for p, q in zip(params, oracle.arrays):
        assert p.dtype == np.dtype(dtype)
        err = _relative_error(p.detach().numpy().astype(np.float64), q.astype(np.float64))
        assert err <= RTOL[dtype], f"relative error {err:.2e}"
    # the parameters moved: the check above compares something
    assert not np.allclose(params[0].detach().numpy(), make_params(dtype)[0].detach().numpy())


def test_flat_buffer_step_is_one_call_per_group(monkeypatch):
    from eigengrad import _kernels
    calls = []
    monkeypatch.setattr(_kernels, "adam_step", lambda *a, **k: calls.append(a[0].size))
    params = make_params(np.float32)
    optimizer = eg.optim.Adam(params, lr=0.1)
    set_grads(params, next(gradient_sequence(1, np.float32)))
    optimizer.step()
    assert calls == [sum(p.detach().numpy().size for p in params)]


# --- PyTorch's optimizer invariants ------------------------------------------------------------------------

# (ASGD shrinks every parameter by 1 - lambd eta at each step, gradient or not, as PyTorch's)
NO_DECAY_NO_MOMENTUM = [(n, o) for n, o in CASES
                        if o.get("weight_decay", 0) == 0 and o.get("momentum", 0) == 0 and n not in ("AdamW", "ASGD")]


@pytest.mark.parametrize("case", NO_DECAY_NO_MOMENTUM, ids=[case_id(c) for c in NO_DECAY_NO_MOMENTUM])
def test_zero_gradients_leave_parameters_unchanged(case):
    name, opt = case
    params = make_params(np.float64)
    before = [p.detach().numpy().copy() for p in params]
    optimizer = getattr(eg.optim, name)(params, **opt)
    for _ in range(3):
        set_grads(params, [np.zeros(p.shape) for p in params])
        optimizer.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.detach().numpy(), b)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_parameters_without_gradient_are_skipped(name):
    params = make_params(np.float64)
    opt = OPTIONS[name][-1]
    optimizer = getattr(eg.optim, name)(params, **opt)
    oracle = ReferenceOptimizer(name, [p.detach().numpy().copy() for p in params], **opt)
    frozen = params[1].detach().numpy().copy()
    for grads in gradient_sequence(5, np.float64):
        grads[1] = None
        set_grads(params, grads)
        optimizer.step()
        oracle.step(grads)
    np.testing.assert_array_equal(params[1].detach().numpy(), frozen)
    # no state, or (Adagrad, which makes its state at construction as PyTorch) a state never stepped
    assert optimizer.state.get(params[1], {}).get("step", 0) == 0
    for p, q in zip(params, oracle.arrays):
        assert _relative_error(p.detach().numpy(), q) <= 1e-10


# (Rprop's step sizes start at lr and are clamped to at least step_sizes[0], so lr = 0 still moves, as PyTorch's)
@pytest.mark.parametrize("name", [n for n in OPTIONS if n != "Rprop"])
def test_group_with_zero_lr_is_untouched(name):
    params = make_params(np.float64)
    opt = {k: v for k, v in OPTIONS[name][0].items() if k != "lr"}
    optimizer = getattr(eg.optim, name)([{"params": params[:2], "lr": 0.0}, {"params": params[2:], "lr": 0.05}],
                                        **opt)
    before = [p.detach().numpy().copy() for p in params]
    for grads in gradient_sequence(5, np.float64):
        set_grads(params, grads)
        optimizer.step()
    for p, b in zip(params[:2], before[:2]):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    for p, b in zip(params[2:], before[2:]):
        assert not np.array_equal(p.detach().numpy(), b)


INVALID = [
    ("SGD", dict(lr=-0.1), "lr"), ("SGD", dict(lr=0.1, momentum=-1), "momentum"),
    ("Adam", dict(lr=-1e-3), "lr"), ("Adam", dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    ("Adam", dict(betas=(0.9, -0.1)), r"betas\[1\]"), ("Adam", dict(eps=-1e-8), "eps"),
    ("Adam", dict(weight_decay=-0.1), "weight_decay"), ("Adam", dict(betas=0.9), "betas"),
    ("AdamW", dict(lr=float("nan")), "lr"), ("NAdam", dict(momentum_decay=-1.0), "momentum_decay"),
    ("Adagrad", dict(lr_decay=-0.1), "lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("RMSprop", dict(alpha=-0.5), "alpha"), ("RMSprop", dict(momentum=-0.5), "momentum"),
    ("Adadelta", dict(rho=1.5), "rho"), ("Adadelta", dict(lr=-1.0), "lr"),
    ("Adamax", dict(betas=(0.9, 1.0)), r"betas\[1\]"), ("Adamax", dict(eps=-1.0), "eps"),
    ("RAdam", dict(weight_decay=-1.0), "weight_decay"), ("RAdam", dict(lr=-1.0), "lr"),
    ("Adam", dict(capturable=True), "capturable"), ("RMSprop", dict(differentiable=True), "differentiable"),
]


@pytest.mark.parametrize("name,opt,arg", INVALID, ids=[f"{n}-{a}" for n, _, a in INVALID])
def test_invalid_hyperparameters_raise_naming_the_argument(name, opt, arg):
    with pytest.raises(ValueError, match=rf"^{arg}: .*got"):
        getattr(eg.optim, name)(make_params(np.float32), **opt)


# --- state_dict: save after 50 steps, resume, bitwise equal at 100 ------------------------------------------

RESUME = [(n, o) for n, o in CASES if o is OPTIONS[n][0] or o is OPTIONS[n][-1]]


@pytest.mark.parametrize("case", RESUME, ids=[case_id(c) for c in RESUME])
def test_state_dict_resume_is_bitwise_identical(case):
    name, opt = case
    grads = list(gradient_sequence(100, np.float32))
    cls = getattr(eg.optim, name)
    a = make_params(np.float32)
    opt_a = cls(a, **opt)
    for g in grads[:50]:
        set_grads(a, g)
        opt_a.step()
    saved_params = [p.detach().numpy().copy() for p in a]
    saved = opt_a.state_dict()
    for g in grads[50:]:
        set_grads(a, g)
        opt_a.step()
    b = make_params(np.float32, seed=9)
    for p, s in zip(b, saved_params):
        p.detach().numpy()[...] = s
    opt_b = cls(b, **{**opt, "lr": 123.0})  # the loaded state dict restores the group's lr
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == opt["lr"]
    for g in grads[50:]:
        set_grads(b, g)
        opt_b.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # the saved state was a copy: stepping on did not change it
    assert all(np.all(np.isfinite(v)) for s in saved["state"].values() for v in s.values()
               if isinstance(v, np.ndarray))


# --- convergence: every rule finds the minimum of a quadratic and of Rosenbrock ------------------------------
# Settings as one would tune them per problem (torch.optim behaves the same: Adadelta, for one, only
# settles in Rosenbrock's valley with a small lr). Gradients are analytic: this is about the rules.

QUADRATIC = {"SGD": dict(lr=1e-2, momentum=0.9), "Adam": dict(lr=0.1), "AdamW": dict(lr=0.1, weight_decay=0.0),
             "NAdam": dict(lr=0.1), "Adamax": dict(lr=0.1), "RAdam": dict(lr=0.1), "Adagrad": dict(lr=1.0), "RMSprop": dict(lr=1e-2), "Adadelta": dict(lr=1.0),
             "Rprop": dict(lr=1e-2), "ASGD": dict(lr=0.1, lambd=0.0)}
ROSENBROCK = {"SGD": dict(lr=1e-3, momentum=0.9), "Adam": dict(lr=1e-2), "AdamW": dict(lr=1e-2, weight_decay=0.0),
              "NAdam": dict(lr=3e-3), "Adamax": dict(lr=1e-2), "RAdam": dict(lr=3e-3), "Adagrad": dict(lr=1.0), "RMSprop": dict(lr=1e-3, alpha=0.9),
              "Adadelta": dict(lr=1e-2), "Rprop": dict(lr=1e-3, step_sizes=(1e-9, 0.1)), "ASGD": dict(lr=1e-3, lambd=0.0)}
SCALES, TARGET = np.array([1.0, 4.0, 0.25]), np.array([1.0, -2.0, 3.0])


def _quadratic_grad(x):  # of sum(s (x - target)^2)
    return 2 * SCALES * (x - TARGET)


def _rosenbrock_grad(x):  # of (1 - x0)^2 + 100 (x1 - x0^2)^2
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def _minimise(name, opt, grad_fn, x0, steps):
    x = eg.tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    optimizer = getattr(eg.optim, name)([x], **opt)
    for _ in range(steps):
        x.grad = eg.tensor(grad_fn(x.detach().numpy()))
        optimizer.step()
    return x.detach().numpy()


def test_convergence_tables_cover_every_rule():
    assert set(QUADRATIC) == set(ROSENBROCK) == set(OPTIONS) == set(eg.optim.OPTIMIZERS)


@pytest.mark.parametrize("name", list(QUADRATIC))
def test_minimises_a_quadratic(name):
    x = _minimise(name, QUADRATIC[name], _quadratic_grad, [0.0, 0.0, 0.0], 2000)
    np.testing.assert_allclose(x, TARGET, atol=1e-6)


@pytest.mark.parametrize("name", list(ROSENBROCK))
def test_minimises_rosenbrock(name):
    x = _minimise(name, ROSENBROCK[name], _rosenbrock_grad, [-1.2, 1.0], 20000)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-3)


# --- optimizer and scheduler together: save at 50, resume, bitwise equal at 100 ---------------------------

SCHEDULED = [
    ("SGD", dict(lr=0.1, momentum=0.9), "CosineAnnealingLR", dict(T_max=100, eta_min=1e-3)),
    ("AdamW", dict(lr=1e-2), "OneCycleLR", dict(max_lr=3e-2, total_steps=100)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5), "StepLR", dict(step_size=20, gamma=0.5)),
    ("NAdam", dict(lr=1e-2), "CosineAnnealingWarmRestarts", dict(T_0=10, T_mult=2)),
]


@pytest.mark.parametrize("rule,opt,sched,sched_opt", SCHEDULED, ids=[f"{r}+{s}" for r, _, s, _ in SCHEDULED])
def test_optimizer_and_scheduler_resume_bitwise(rule, opt, sched, sched_opt):
    from eigengrad.optim import lr_scheduler
    grads = list(gradient_sequence(100, np.float32))

    def build(params):
        optimizer = getattr(eg.optim, rule)(params, **opt)
        return optimizer, getattr(lr_scheduler, sched)(optimizer, **sched_opt)

    def train(params, optimizer, scheduler, steps):
        for g in steps:
            set_grads(params, g)
            optimizer.step()
            scheduler.step()

    a = make_params(np.float32)
    opt_a, sched_a = build(a)
    train(a, opt_a, sched_a, grads[:50])
    saved = ([p.detach().numpy().copy() for p in a], opt_a.state_dict(), sched_a.state_dict())
    train(a, opt_a, sched_a, grads[50:])

    b = make_params(np.float32, seed=3)
    for p, s in zip(b, saved[0]):
        p.detach().numpy()[...] = s
    opt_b, sched_b = build(b)
    opt_b.load_state_dict(saved[1])
    sched_b.load_state_dict(saved[2])
    train(b, opt_b, sched_b, grads[50:])
    assert sched_b.get_last_lr() == sched_a.get_last_lr()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


# --- constructing optimizers as PyTorch users do -------------------------------------------------------------

@pytest.mark.parametrize("name", list(OPTIONS))
def test_named_parameters_are_accepted_with_their_names(name):
    model = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.Linear(4, 2))
    optimizer = getattr(eg.optim, name)(model.named_parameters())
    assert optimizer.param_groups[0]["param_names"] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert optimizer.param_groups[0]["params"] == list(model.parameters())
    assert optimizer.state_dict()["param_groups"][0]["param_names"][0] == "0.weight"


def test_mixed_named_and_unnamed_parameters_are_rejected():
    a, b = make_params(np.float32)[:2]
    with pytest.raises(ValueError, match=r"^params: expected all parameters as \(name, Tensor\) pairs or none"):
        eg.optim.Adam([("a", a), b])


def test_a_set_of_parameters_is_rejected():
    with pytest.raises(TypeError, match=r"^params: expected an ordered iterable.*got a set"):
        eg.optim.SGD(set(make_params(np.float32)))


def test_defaults_are_pytorchs():
    params = make_params(np.float32)
    expected = {"SGD": 1e-3, "Adam": 1e-3, "AdamW": 1e-3, "NAdam": 2e-3, "Adagrad": 1e-2, "RMSprop": 1e-2,
                "Adadelta": 1.0}
    for name, lr in expected.items():
        group = getattr(eg.optim, name)(params).param_groups[0]
        assert group["lr"] == lr, name
    assert eg.optim.AdamW(params).param_groups[0]["weight_decay"] == 1e-2
    assert eg.optim.Adam(params).param_groups[0]["betas"] == (0.9, 0.999)
