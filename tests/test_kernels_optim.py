"""The fused update-rule kernels (Adam, AdamW, NAdam, Adamax, RAdam, Adagrad, RMSprop, Adadelta) against their NumPy
references in eigengrad.reference, over options, sizes and several steps; plus the binding checks.

Each RULES entry: the kernel and reference names, the state buffers a call takes (as a function of
the options), and whether the call gets the step count (and NAdam's mu_product)."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

RULES = {
    "adam": dict(states=lambda o: ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), step=True, options=[
        dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8),
        dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=True),
        dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1),
        dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=3e-3, beta1=0.3, beta2=0.5, eps=1e-3, weight_decay=0.05, decoupled_weight_decay=True, amsgrad=True,
             maximize=True),
        dict(lr=1e-2, beta1=0.0, beta2=0.0, eps=1e-8, maximize=True),
        dict(lr=0.0, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled_weight_decay=True),
    ]),
    "nadam": dict(states=lambda o: ("exp_avg", "exp_avg_sq"), step=True, mu=True, options=[
        dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3),
        dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.1),
        dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.1,
             decoupled_weight_decay=True),
        dict(lr=1e-2, beta1=0.4, beta2=0.9, eps=1e-4, momentum_decay=1e-2, maximize=True),
    ]),
    "adamax": dict(states=lambda o: ("exp_avg", "exp_inf"), step=True, options=[
        dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8),
        dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1),
        dict(lr=1e-2, beta1=0.4, beta2=0.5, eps=1e-3, maximize=True),
        dict(lr=1e-2, beta1=0.0, beta2=0.0, eps=1e-8),
    ]),
    "radam": dict(states=lambda o: ("exp_avg", "exp_avg_sq"), step=True, options=[
        dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8),
        dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1),
        dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled_weight_decay=True),
        # beta2 0.5: rho_inf = 3, never rectified; beta2 0.9: rectified from step 6
        dict(lr=1e-2, beta1=0.4, beta2=0.5, eps=1e-4, maximize=True),
        dict(lr=1e-2, beta1=0.8, beta2=0.9, eps=1e-6),
    ]),
    "adagrad": dict(states=lambda o: ("state_sum",), step=True, options=[
        dict(lr=1e-2, eps=1e-10),
        dict(lr=1e-1, lr_decay=0.1, eps=1e-10, weight_decay=0.1),
        dict(lr=5e-2, lr_decay=0.01, eps=1e-6, maximize=True),
    ]),
    "rmsprop": dict(states=lambda o: ("square_avg", "grad_avg", "momentum_buffer"), step=False, options=[
        dict(lr=1e-2, alpha=0.99, eps=1e-8),
        dict(lr=1e-2, alpha=0.9, eps=1e-8, centered=True),
        dict(lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.9),
        dict(lr=1e-2, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1),
        dict(lr=1e-2, alpha=0.3, eps=1e-6, centered=True, maximize=True),
    ]),
    "adadelta": dict(states=lambda o: ("square_avg", "acc_delta"), step=False, options=[
        dict(lr=1.0, rho=0.9, eps=1e-6),
        dict(lr=0.5, rho=0.95, eps=1e-6, weight_decay=0.1),
        dict(lr=1.0, rho=0.3, eps=1e-4, maximize=True),
    ]),
}
CASES = [(name, opt) for name, rule in RULES.items() for opt in rule["options"]]


def _id(case):
    name, opt = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in opt.items())


def _step_args(rule, step, mu_product, opt):
    extra = {}
    if rule["step"]:
        extra["step"] = step
    if rule.get("mu"):
        extra["mu_product"] = mu_product
    return extra


def _nadam_mu(opt, step):
    return opt["beta1"] * (1.0 - 0.5 * 0.96 ** (step * opt["momentum_decay"]))


def _run(name, opt, n, dtype, rng, steps=8, shape=None):
    """Steps the kernel and the reference side by side; returns (kernel arrays, reference arrays)."""
    rule = RULES[name]
    shape = shape or (n,)
    param = rng.standard_normal(shape).astype(dtype)
    states = {s: np.zeros(shape, dtype) for s in rule["states"](opt)}
    mine = {"param": param, **states}
    theirs = {k: v.copy() for k, v in mine.items()}
    kernel, reference = getattr(_kernels, name + "_step"), getattr(ref, name + "_step")
    mu_product = 1.0
    for step in range(1, steps + 1):
        grad = rng.standard_normal(shape).astype(dtype)
        grad_copy = grad.copy()
        if rule.get("mu"):
            mu_product *= _nadam_mu(opt, step)
        extra = _step_args(rule, step, mu_product, opt)
        kernel(mine["param"], grad, *(mine[s] for s in rule["states"](opt)), **opt, **extra)
        reference(theirs["param"], grad.copy(), *(theirs[s] for s in rule["states"](opt)), **opt, **extra)
        np.testing.assert_array_equal(grad, grad_copy)  # grad is only read
    return mine, theirs


@pytest.mark.parametrize("n", [0, 1, 7, 257, 100003])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_matches_reference(rng, dtype, case, n):
    name, opt = case
    mine, theirs = _run(name, opt, n, dtype, rng)
    for key in mine:
        assert mine[key].dtype == np.dtype(dtype)
        assert_close(mine[key], theirs[key], dtype)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_moves_parameters_unless_lr_is_zero(rng, case):
    name, opt = case
    rng2 = np.random.default_rng(5)
    p0 = rng2.standard_normal(64)
    mine, _ = _run(name, opt, 64, np.float64, np.random.default_rng(5), steps=3)
    assert np.array_equal(mine["param"], p0) == (opt["lr"] == 0)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_on_multidimensional_param(rng, case):
    name, opt = case
    mine, theirs = _run(name, opt, None, np.float64, rng, steps=3, shape=(13, 31))
    for key in mine:
        assert_close(mine[key], theirs[key], np.float64)


# --- hand-worked values: the formulas themselves, not just kernel == reference --------------------------

def test_adam_first_step_is_lr_times_sign(dtype):
    # After one step m/(1-b1) = g and v/(1-b2) = g^2, so the update is lr * g / (|g| + eps) ~ lr * sign(g).
    p, g = np.zeros(3, dtype), np.array([2.0, -0.5, 1e-3], dtype)
    m, v = np.zeros(3, dtype), np.zeros(3, dtype)
    _kernels.adam_step(p, g, m, v, None, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1)
    np.testing.assert_allclose(p, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-5)


def test_adamw_decays_parameters_even_with_zero_gradient(dtype):
    p, g = np.full(4, 2.0, dtype), np.zeros(4, dtype)
    m, v = np.zeros(4, dtype), np.zeros(4, dtype)
    _kernels.adam_step(p, g, m, v, None, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.5,
                       decoupled_weight_decay=True, step=1)
    np.testing.assert_allclose(p, 2.0 * (1 - 0.1 * 0.5), rtol=1e-6)  # p (1 - lr wd), nothing else


def test_adamax_first_step_by_hand(dtype):
    # m = (1 - b1) g, u = |g| + eps, clr = lr / (1 - b1): the step is lr g / (|g| + eps)
    p, g = np.zeros(3, dtype), np.array([2.0, -0.5, 1e-3], dtype)
    m, u = np.zeros(3, dtype), np.zeros(3, dtype)
    _kernels.adamax_step(p, g, m, u, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1)
    np.testing.assert_allclose(u, np.abs(g) + 1e-8, rtol=1e-6)
    np.testing.assert_allclose(p, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-5)


def test_adamax_infinity_norm_keeps_the_largest_decayed_gradient():
    # |g| = 4 then 1: u = max(0.5 * 4, 1 + 0) = 2
    p, m, u = np.zeros(1), np.zeros(1), np.zeros(1)
    _kernels.adamax_step(p, np.array([4.0]), m, u, lr=0.0, beta1=0.9, beta2=0.5, eps=0.0, step=1)
    _kernels.adamax_step(p, np.array([1.0]), m, u, lr=0.0, beta1=0.9, beta2=0.5, eps=0.0, step=2)
    np.testing.assert_array_equal(u, [2.0])


def test_radam_is_sgd_with_momentum_until_the_variance_is_tractable():
    # beta2 = 0.9: rho_inf = 19, rho_t = 19 - 2 t 0.9^t / (1 - 0.9^t) <= 5 for t <= 5: p -= lr m / (1 - b1^t)
    p, m, v = np.zeros(1), np.zeros(1), np.zeros(1)
    _kernels.radam_step(p, np.array([2.0]), m, v, lr=0.1, beta1=0.5, beta2=0.9, eps=1e-8, step=1)
    np.testing.assert_allclose(p, [-0.1 * 2.0], rtol=1e-15)
    rho = lambda t: 19 - 2 * t * 0.9 ** t / (1 - 0.9 ** t)  # noqa: E731
    assert rho(5) <= 5 < rho(6)


def test_adagrad_two_steps_by_hand(dtype):
    # g = 3 then 4: sums 9 and 25; steps lr g / sqrt(sum): 1 * 3/3 = 1, then lr/(1 + lr_decay) * 4/5.
    p, s = np.zeros(1, dtype), np.zeros(1, dtype)
    _kernels.adagrad_step(p, np.array([3.0], dtype), s, lr=1.0, lr_decay=1.0, eps=0.0, step=1)
    _kernels.adagrad_step(p, np.array([4.0], dtype), s, lr=1.0, lr_decay=1.0, eps=0.0, step=2)
    np.testing.assert_allclose(s, [25.0])
    np.testing.assert_allclose(p, [-1.0 - 0.5 * 0.8], rtol=1e-6)


def test_rmsprop_centered_by_hand(dtype):
    # alpha 0.5, g = 2: v = 0.5 * 4 = 2, ga = 1, avg = sqrt(2 - 1) = 1: p = -lr * 2 / 1.
    p, v, ga = np.zeros(1, dtype), np.zeros(1, dtype), np.zeros(1, dtype)
    _kernels.rmsprop_step(p, np.array([2.0], dtype), v, ga, None, lr=0.25, alpha=0.5, eps=0.0, centered=True)
    np.testing.assert_array_equal(v, [2.0])
    np.testing.assert_array_equal(ga, [1.0])
    np.testing.assert_array_equal(p, [-0.5])


def test_adadelta_first_step_by_hand():
    # rho 0.5, eps 1e-6, g = 1: v = 0.5; delta = sqrt(eps) / sqrt(0.5 + eps); u = 0.5 delta^2.
    p, v, u = np.zeros(1), np.zeros(1), np.zeros(1)
    _kernels.adadelta_step(p, np.ones(1), v, u, lr=1.0, rho=0.5, eps=1e-6)
    delta = np.sqrt(1e-6) / np.sqrt(0.5 + 1e-6)
    np.testing.assert_allclose(p, [-delta], rtol=1e-14)
    np.testing.assert_allclose(u, [0.5 * delta * delta], rtol=1e-14)


# --- binding checks ---------------------------------------------------------------------------------------

ADAM = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1)


def test_missing_state_buffer_is_a_type_error(dtype):
    p, g = np.ones(4, dtype), np.ones(4, dtype)
    with pytest.raises(TypeError, match=r"^exp_avg_sq: expected a float array like param"):
        _kernels.adam_step(p, g, np.zeros(4, dtype), None, None, **ADAM)
    with pytest.raises(TypeError, match=r"^max_exp_avg_sq: expected a float array"):
        _kernels.adam_step(p, g, np.zeros(4, dtype), np.zeros(4, dtype), None, amsgrad=True, **ADAM)
    with pytest.raises(TypeError, match=r"^grad_avg: expected a float array"):
        _kernels.rmsprop_step(p, g, np.zeros(4, dtype), None, None, lr=0.1, alpha=0.9, eps=1e-8, centered=True)
    np.testing.assert_array_equal(p, 1)


def test_state_buffers_checked_for_dtype_shape_layout_and_writeability(dtype):
    p, g = np.ones(4, dtype), np.ones(4, dtype)
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises(TypeError, match=r"^exp_avg: expected dtype"):
        _kernels.adam_step(p, g, np.zeros(4, other), np.zeros(4, dtype), None, **ADAM)
    with pytest.raises(ValueError, match=r"^exp_avg_sq: expected shape \(4,\)"):
        _kernels.adam_step(p, g, np.zeros(4, dtype), np.zeros(5, dtype), None, **ADAM)
    with pytest.raises(ValueError, match=r"^state_sum: expected a C-contiguous"):
        _kernels.adagrad_step(p, g, np.zeros(8, dtype)[::2], lr=0.1, eps=1e-10, step=1)
    ro = np.zeros(4, dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^acc_delta: expected a writeable"):
        _kernels.adadelta_step(p, g, np.zeros(4, dtype), ro, lr=1.0, rho=0.9, eps=1e-6)
    np.testing.assert_array_equal(p, 1)


def test_state_buffers_must_not_share_memory(dtype):
    p, g, m = np.ones(4, dtype), np.ones(4, dtype), np.zeros(4, dtype)
    with pytest.raises(ValueError, match=r"^exp_avg_sq: .*exp_avg"):
        _kernels.adam_step(p, g, m, m, None, **ADAM)
    with pytest.raises(ValueError, match=r"^exp_avg: .*param"):
        _kernels.adam_step(p, g, p, m, None, **ADAM)
    with pytest.raises(ValueError, match=r"^square_avg: .*grad"):
        _C.rmsprop_step(p, g, g, None, None, lr=0.1, alpha=0.9, eps=1e-8)
    np.testing.assert_array_equal(p, 1)


@pytest.mark.parametrize("step", [0, -3])
def test_step_count_is_one_based(dtype, step):
    p, g = np.ones(4, dtype), np.ones(4, dtype)
    with pytest.raises(ValueError, match=r"^step: expected the 1-based count"):
        _kernels.adam_step(p, g, np.zeros(4, dtype), np.zeros(4, dtype), None, **{**ADAM, "step": step})
    with pytest.raises(ValueError, match=r"^step: "):
        _kernels.adagrad_step(p, g, np.zeros(4, dtype), lr=0.1, eps=1e-10, step=step)
