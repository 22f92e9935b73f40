"""eigengrad.autograd.gradient_relative_error on a whole model: small for a right backward, large for a wrong one."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd import GradientCheckResult, gradient_relative_error
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import unbroadcast

NAMES = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def mlp():
    eg.manual_seed(7)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    rng = np.random.default_rng(3)
    x = eg.tensor(rng.standard_normal((8, 4)))
    target = eg.tensor(rng.integers(0, 3, 8))
    return model, x, target


def loss_fn(model, x, target):
    return lambda: F.cross_entropy(model(x), target)


class ScaledWeightGradLinear(Primitive):
    """y = x W^T + b with a bug: the weight gradient is scaled by 1.1."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        return g @ w, 1.1 * (g.T @ x), g.sum(0)


class BiasGradBugLinear(ScaledWeightGradLinear):
    """y = x W^T + b with a bug: the bias gradient is taken from the first row only (no sum over the batch)."""

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        return g @ w, g.T @ x, g[0].copy()


class CorrectLinear(ScaledWeightGradLinear):
    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        return g @ w, g.T @ x, unbroadcast(g, (w.shape[0],))


def patch(layer, fn_class):
    layer.forward = lambda inp: fn_class.apply(inp, layer.weight, layer.bias)


@pytest.mark.parametrize("how", ["named_parameters", "module", "dict"])
def test_correct_mlp_has_tiny_error(how):
    model, x, target = mlp()
    params = {"named_parameters": lambda: model.named_parameters(), "module": lambda: model,
              "dict": lambda: dict(model.named_parameters())}[how]()
    err = gradient_relative_error(loss_fn(model, x, target), params, eps=1e-7)
    assert isinstance(err, GradientCheckResult) and isinstance(err, float)
    assert 0 <= err < 1e-7, repr(err)
    assert list(err.per_parameter) == NAMES
    assert all(0 <= v < 1e-7 for v in err.per_parameter.values()), err.per_parameter
    assert err.worst in NAMES and err.per_parameter[err.worst] == max(err.per_parameter.values())
    assert err.relative_error == float(err)
    assert "GradientCheckResult" in repr(err) and err.worst in repr(err)


def test_correct_custom_function_has_tiny_error():
    model, x, target = mlp()
    patch(model[2], CorrectLinear)
    err = gradient_relative_error(loss_fn(model, x, target), model.named_parameters(), eps=1e-7)
    assert err < 1e-7, repr(err)


def test_wrong_weight_gradient_is_detected_and_named():
    model, x, target = mlp()
    patch(model[2], ScaledWeightGradLinear)
    err = gradient_relative_error(loss_fn(model, x, target), model.named_parameters(), eps=1e-7)
    assert err > 1e-3, repr(err)
    assert err.worst == "2.weight"
    np.testing.assert_allclose(err.per_parameter["2.weight"], 0.1 / 2.1, rtol=1e-4)  # ||0.1 g|| / (||g|| + ||1.1 g||)
    for name in ("0.weight", "0.bias", "2.bias", "4.weight", "4.bias"):
        # the layers before it receive the right gradient: only 2.weight is wrong
        assert err.per_parameter[name] < 1e-7, (name, err.per_parameter)


def test_wrong_bias_gradient_is_detected_and_named():
    model, x, target = mlp()
    patch(model[2], BiasGradBugLinear)
    err = gradient_relative_error(loss_fn(model, x, target), model, eps=1e-7)
    assert err > 1e-3, repr(err)
    assert err.worst == "2.bias"
    assert err.per_parameter["2.bias"] > 1e-2
    assert err.per_parameter["2.weight"] < 1e-7


def test_list_of_tensors_gets_positional_names():
    rng = np.random.default_rng(5)
    w = eg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = eg.tensor(rng.standard_normal(3), requires_grad=True)
    x = eg.tensor(rng.standard_normal((6, 4)))
    y = eg.tensor(rng.standard_normal((6, 3)))
    err = gradient_relative_error(lambda: F.mse_loss(F.linear(x, w, b).sigmoid(), y), [w, b], eps=1e-7)
    assert list(err.per_parameter) == ["param0", "param1"]
    assert err < 1e-7

    def wrong():
        return F.mse_loss(BiasGradBugLinear.apply(x, w, b).sigmoid(), y)

    bad = gradient_relative_error(wrong, [w, b], eps=1e-7)
    assert bad > 1e-3 and bad.worst == "param1"


def test_grads_and_values_are_restored():
    model, x, target = mlp()
    params = list(model.parameters())
    before = [p.detach().numpy().copy() for p in params]
    arrays = [p.detach().numpy() for p in params]
    sentinel = eg.full(params[0].shape, 42.0, dtype=eg.float64)
    params[0].grad = sentinel
    gradient_relative_error(loss_fn(model, x, target), model, eps=1e-7)
    assert params[0].grad is sentinel and np.all(sentinel.numpy() == 42.0)
    assert all(p.grad is None for p in params[1:])
    for p, arr, b in zip(params, arrays, before):
        assert p.detach().numpy() is arr  # the same array, bitwise restored
        np.testing.assert_array_equal(p.detach().numpy(), b)
    # and the model still trains normally afterwards
    loss = loss_fn(model, x, target)()
    loss.backward()
    assert params[1].grad is not None and np.abs(params[1].grad.numpy()).sum() > 0


def test_non_contiguous_parameter_is_restored():
    base = np.random.default_rng(9).standard_normal((4, 6))
    w = eg.from_numpy(base[:, ::2]).requires_grad_()
    x = eg.tensor(np.random.default_rng(10).standard_normal((5, 3)))
    err = gradient_relative_error(lambda: (x @ w.T).tanh().sum(), [w])
    assert err < 1e-7
    assert np.shares_memory(w.detach().numpy(), base)


def test_errors():
    w = eg.tensor([1.0, 2.0], dtype=eg.float64, requires_grad=True)
    with pytest.raises(ValueError):
        gradient_relative_error(lambda: w * 2, [w])
    with pytest.raises(ValueError):
        gradient_relative_error(lambda: (w * 2).sum(), [])
    assert w.grad is None
