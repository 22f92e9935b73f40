"""Regression tests for what porting tests/ported/vqvae_codebook.py, nerf_lite.py, siren_fit.py, neural_ca.py,
mixture_density.py and swa_batchnorm.py found (session 2026-12-06, helper i4). The six programs ran unchanged;
checking the APIs they use side by side with PyTorch found:

- ``MixtureSameFamily.support`` was the components' support itself (``Real()``); PyTorch wraps it in
  ``constraints.MixtureSameFamilyConstraint`` (its repr, what validation errors quote, and a check on a value
  of the mixture's own shape, without the component dim), which did not exist.
- ``torch.bincount`` on a float (or half) tensor named the dtype ``'float32'`` in its NotImplementedError:
  tensor_ops/counting.py had its own dtype-name table without the floating dtypes; PyTorch says ``'Float'``
  (counting.py now uses autograd/inplace.py's table, as the other tensor_ops modules do).
- ``SWALR``'s errors differed from PyTorch's: ``anneal_strategy must by one of`` (a typo) and the swa_lr
  length message.
- ``SWALR.state_dict()`` held ``anneal_func`` (a function) instead of PyTorch's ``_anneal_strategy`` name, so a
  checkpoint with an SWA scheduler in it was written as a pickle that ``torch.load`` (weights_only=True by
  default) refused; ``anneal_func`` now follows the saved strategy.
- ``nn.init.uniform_(w, a, b)`` / ``Tensor.uniform_`` with a > b (SIREN's hand-written bounds) raised the
  kernel's ``low/high: expected low <= high, got 1.000000, 0.000000``; PyTorch's RuntimeError reads
  ``uniform_ expects to return a [from, to) range, but found from=1 > to=0``.
- Pooling with too much padding (NCA's alive mask is ``max_pool2d(x, 3, 1, 1)``; probing its neighbours)
  raised ``padding: expected at most half the kernel size (2, 2), got (2, 2)`` from the bindings; PyTorch
  names the failing dim (rows first): ``pad should be at most half of effective kernel size, but got pad=2,
  kernel_size=2 and dilation=1``, and max_pool2d with a dilation that hides it, and max_pool1d, have their own.
- ``nn.init.calculate_gain('linear')`` (and the conv names, 'sigmoid') returned 1.0; PyTorch returns the int 1
  (a printed gain reads ``1``).
"""
import io

import pytest

import eigengrad as eg
from eigengrad import distributions as D
from eigengrad.distributions import constraints
from eigengrad.optim.swa_utils import SWALR


# ------------------------------------------------------------- MixtureSameFamily's support
def _mixture():
    return D.MixtureSameFamily(D.Categorical(logits=eg.zeros(2, 3)),
                               D.Independent(D.Normal(eg.zeros(2, 3, 2), eg.ones(2, 3, 2)), 1))


def test_mixture_support_is_a_mixture_same_family_constraint():
    s = _mixture().support
    assert isinstance(s, constraints.MixtureSameFamilyConstraint)
    assert repr(s) == "MixtureSameFamilyConstraint(IndependentConstraint(Real(), 1))"
    assert s.event_dim == 1 and s.is_discrete is False
    ok = s.check(eg.tensor([[0.0, float("nan")], [1.0, 2.0]]))
    assert [bool(v) for v in ok] == [False, True]
    assert tuple(s.check(eg.zeros(5, 2, 2)).shape) == (5, 2)


def test_mixture_support_checks_a_scalar_family_elementwise_and_validates_log_prob():
    m = D.MixtureSameFamily(D.Categorical(logits=eg.zeros(3)), D.Gamma(eg.ones(3), eg.ones(3)))
    assert repr(m.support) == "MixtureSameFamilyConstraint(GreaterThanEq(lower_bound=0.0))"
    assert [bool(v) for v in m.support.check(eg.tensor([-1.0, 2.0]))] == [False, True]
    with pytest.raises(ValueError, match=r"within the support \(MixtureSameFamilyConstraint"):
        _mixture().log_prob(eg.tensor([[0.0, float("nan")], [1.0, 2.0]]))
    assert _mixture().log_prob(eg.zeros(2, 2)).shape == (2,)  # a valid value still scores


def test_mixture_same_family_constraint_needs_a_constraint():
    with pytest.raises(AssertionError, match="base_constraint must be a Constraint, got int"):
        constraints.MixtureSameFamilyConstraint(3)
    assert constraints.MixtureSameFamilyConstraint(constraints.nonnegative_integer).is_discrete is True


# ------------------------------------------------------------- bincount's dtype names
@pytest.mark.parametrize("dtype, name", [(eg.float32, "Float"), (eg.float64, "Double"), (eg.float16, "Half"),
                                         (eg.bool, "Bool")])
def test_bincount_names_the_dtype_as_pytorch(dtype, name):
    with pytest.raises(NotImplementedError) as info:
        eg.bincount(eg.zeros(2, dtype=dtype))
    assert str(info.value) == f"\"bincount_cpu\" not implemented for '{name}'"


def test_bincount_still_counts():
    assert eg.bincount(eg.tensor([0, 2, 2, 5]), minlength=8).tolist() == [1, 0, 2, 0, 0, 1, 0, 0]
    assert eg.bincount(eg.tensor([0, 2, 2]), weights=eg.tensor([0.5, 1.0, 2.0])).tolist() == [0.5, 0.0, 3.0]


# ------------------------------------------------------------- SWALR's messages and schedule
def _opt(groups=1):
    return eg.optim.SGD([{"params": [eg.nn.Parameter(eg.zeros(1))]} for _ in range(groups)], lr=0.1)


def test_swalr_errors_are_pytorchs():
    with pytest.raises(ValueError) as info:
        SWALR(_opt(), swa_lr=0.05, anneal_strategy="foo")
    assert str(info.value) == "anneal_strategy must be one of 'cos' or 'linear', instead got foo"
    with pytest.raises(ValueError) as info:
        SWALR(_opt(), swa_lr=[0.05, 0.1])
    assert str(info.value) == ("swa_lr must have the same length as optimizer.param_groups. swa_lr has 2 values, "
                               "param_groups has 1.")


def test_swalr_linear_schedule_values():
    opt = _opt()
    s = SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear")
    lrs = []
    for _ in range(5):
        opt.step()
        s.step()
        lrs.append(round(opt.param_groups[0]["lr"], 6))
    assert lrs == pytest.approx([0.083333, 0.066667, 0.05, 0.05, 0.05], abs=1e-6)  # PyTorch 2.13's


def test_swalr_state_dict_saves_the_strategy_and_loads_weights_only():
    opt = _opt()
    s = SWALR(opt, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")
    opt.step()
    s.step()
    sd = s.state_dict()
    assert sd["_anneal_strategy"] == "linear" and "anneal_func" not in sd and "optimizer" not in sd
    buf = io.BytesIO()
    eg.save({"sched": sd}, buf)
    buf.seek(0)
    loaded = eg.load(buf)["sched"]  # weights_only=True
    assert loaded["_step_count"] == 2 and loaded["_last_lr"] == pytest.approx([0.0875])
    opt2 = _opt()
    s2 = SWALR(opt2, swa_lr=0.05, anneal_epochs=4, anneal_strategy="cos")
    s2.load_state_dict(loaded)
    assert s2.anneal_func(0.5) == 0.5  # linear now, as saved
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    lrs = []
    for _ in range(3):
        opt.step(), s.step(), opt2.step(), s2.step()
        lrs.append((round(opt.param_groups[0]["lr"], 6), round(opt2.param_groups[0]["lr"], 6)))
    assert lrs == [(0.075, 0.075), (0.0625, 0.0625), (0.05, 0.05)]  # PyTorch 2.13's values
    assert SWALR(_opt(), swa_lr=0.05).anneal_func(0.5) == pytest.approx(0.5)
    assert SWALR(_opt(), swa_lr=0.05).anneal_func(0.25) == pytest.approx((1 - 0.5 ** 0.5) / 2)


# ------------------------------------------------------------- uniform_'s bound check
@pytest.mark.parametrize("a, b, shown", [(0.5, 0.25, "from=0.5 > to=0.25"), (1, 0, "from=1 > to=0"),
                                         (1e-7, 0.0, "from=1e-07 > to=0"), (3, -2.5, "from=3 > to=-2.5"),
                                         (1e20, 0, "from=1e+20 > to=0")])
def test_uniform_bounds_error_is_pytorchs(a, b, shown):
    message = f"uniform_ expects to return a [from, to) range, but found {shown}"
    for fill in (lambda: eg.empty(2).uniform_(a, b), lambda: eg.nn.init.uniform_(eg.empty(2), a, b),
                 lambda: eg.empty(2, dtype=eg.float64).uniform_(a, b)):
        with pytest.raises(RuntimeError) as info:
            fill()
        assert str(info.value) == message


def test_uniform_still_draws_in_range_and_allows_equal_bounds():
    w = eg.nn.init.uniform_(eg.empty(1000), -0.25, 0.25)
    assert -0.25 <= w.min().item() and w.max().item() < 0.25 and w.std().item() > 0.1
    assert eg.empty(3).uniform_(1.0, 1.0).tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------- pooling's padding check
F = eg.nn.functional
_EFF = "pad should be at most half of effective kernel size, but got pad={}, kernel_size={} and dilation={}"


@pytest.mark.parametrize("call, message", [
    (lambda x: F.max_pool2d(x, 2, 1, 2), _EFF.format(2, 2, 1)),
    (lambda x: F.avg_pool2d(x, 3, 1, 2), _EFF.format(2, 3, 1)),
    (lambda x: F.max_pool2d(x, (2, 2), 1, (2, 3)), _EFF.format(2, 2, 1)),  # rows first
    (lambda x: F.max_pool2d(x, (2, 4), 1, (1, 3)), _EFF.format(3, 4, 1)),
    (lambda x: F.max_pool2d(x, (3, 3), 1, (1, 2), (2, 1)), _EFF.format(2, 3, 1)),
    (lambda x: F.max_pool2d(x, 3, 1, 2, 2), "pad should be smaller than or equal to half of kernel size, but got "
                                            "padW = 2, padH = 2, kW = 3, kH = 3"),
    (lambda x: eg.nn.MaxPool2d(2, 1, 2)(x), _EFF.format(2, 2, 1)),
    (lambda x: F.max_pool1d(x[0], 3, 1, 2), "max_pool1d() padding should be at most half of kernel size, but got "
                                            "padding=2 and kernel_size=3"),
    (lambda x: eg.nn.MaxPool1d(3, padding=2)(x[0]), "max_pool1d() padding should be at most half of kernel size, "
                                                    "but got padding=2 and kernel_size=3"),
    (lambda x: F.avg_pool1d(x[0], 3, 1, 2), _EFF.format(2, 3, 1)),
])
def test_pool_padding_errors_are_pytorchs(call, message):
    with pytest.raises(RuntimeError) as info:
        call(eg.zeros(1, 1, 8, 8))
    assert str(info.value) == message


def test_pool_padding_at_half_still_pools():
    x = eg.arange(16.0).view(1, 1, 4, 4)
    assert F.max_pool2d(x, 3, 1, 1).shape == (1, 1, 4, 4)
    assert F.max_pool2d(x, 3, 1, 1)[0, 0, 0].tolist() == [5.0, 6.0, 7.0, 7.0]
    assert F.avg_pool2d(x, 2, 1, 1).shape == (1, 1, 5, 5)


def test_calculate_gain_of_the_linear_family_is_the_int_one():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                 "sigmoid"):
        gain = eg.nn.init.calculate_gain(name)
        assert gain == 1 and type(gain) is int and repr(gain) == "1"
    assert eg.nn.init.calculate_gain("selu") == 0.75 and eg.nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
