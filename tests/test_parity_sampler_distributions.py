"""PyTorch 2.13 parity of WeightedRandomSampler's checks and of distributions' log_prob dtype. The expected
values and messages were taken from torch 2.13 and are written out, so that these tests run without torch."""
import math
import re

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributions as D
from eigengrad.utils.data import WeightedRandomSampler


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_samples=2, replacement=1), "replacement should be a boolean value, but got replacement=1"),
    (dict(num_samples=True), "num_samples should be a positive integer value, but got num_samples=True"),
    (dict(num_samples=0), "num_samples should be a positive integer value, but got num_samples=0"),
    (dict(num_samples=-1), "num_samples should be a positive integer value, but got num_samples=-1"),
    (dict(num_samples=2.0), "num_samples should be a positive integer value, but got num_samples=2.0"),
])
def test_sampler_bad_arguments_raise_pytorchs_value_error(kwargs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        WeightedRandomSampler([1.0, 2.0], **kwargs)


@pytest.mark.parametrize("weights, shape", [([[1.0, 2.0], [3.0, 4.0]], "(2, 2)"), (3.0, "()")])
def test_sampler_weights_must_be_1d(weights, shape):
    with pytest.raises(ValueError, match=re.escape(f"weights should be a 1d sequence but given weights have shape "
                                                   f"{shape}")):
        WeightedRandomSampler(weights, 2)


def test_sampler_without_replacement_draws_zero_weights_last():
    # torch: [0., 5., 0., 0., 2.], 5 draws -> 1 and 4 first (either order), then the zero-weight indices
    for seed in range(20):
        draws = list(WeightedRandomSampler([0., 5., 0., 0., 2.], 5, replacement=False, generator=eg.Generator(seed)))
        assert sorted(draws[:2]) == [1, 4] and sorted(draws[2:]) == [0, 2, 3]
        assert all(isinstance(i, int) for i in draws)


def test_sampler_more_draws_than_weights_without_replacement():
    sampler = WeightedRandomSampler([1.0, 2.0, 3.0], 5, replacement=False)  # accepted; fails when drawing
    assert len(sampler) == 5
    with pytest.raises(RuntimeError, match=re.escape(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement")):
        list(sampler)


FAST = "probability tensor contains either `inf`, `nan` or element < 0"
NEG = "invalid multinomial distribution (encountering probability entry < 0)"
INF = "invalid multinomial distribution (encountering probability entry = infinity or NaN)"
ZERO = "invalid multinomial distribution (sum of probabilities <= 0)"


@pytest.mark.parametrize("weights, replacement, n, message", [
    ([1.0, -2.0, 3.0], True, 2, NEG), ([1.0, math.nan, 3.0], True, 2, NEG), ([1.0, -math.inf, 3.0], True, 2, NEG),
    ([1.0, math.inf, 3.0], True, 2, INF), ([0.0, 0.0, 0.0], True, 2, ZERO), ([], True, 2, ZERO),
    ([1.0, -2.0, 3.0], True, 1, FAST), ([1.0, math.inf, 3.0], True, 1, FAST), ([0.0, 0.0, 0.0], True, 1, ZERO),
    ([1.0, -2.0, 3.0], False, 2, FAST), ([1.0, math.nan, 3.0], False, 2, FAST), ([1.0, math.inf, 3.0], False, 2, FAST),
    ([0.0, 0.0, 0.0], False, 2, ZERO),
    ([], False, 1, "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
])
def test_sampler_bad_weights_fail_when_drawing_as_torch_multinomial(weights, replacement, n, message):
    sampler = WeightedRandomSampler(weights, n, replacement=replacement)  # PyTorch checks no values here
    with pytest.raises(RuntimeError, match="^" + re.escape(message) + "$"):
        list(sampler)


def test_sampler_weights_are_float64():
    assert WeightedRandomSampler(eg.tensor([1, 2]), 2).weights.dtype == np.float64


def _f64(x):
    return eg.tensor([x], dtype=eg.float64)


@pytest.mark.parametrize("make, value", [
    (lambda: D.Normal(eg.tensor([0.]), eg.tensor([1.])), 0.5),
    (lambda: D.Laplace(eg.tensor([0.]), eg.tensor([1.])), 0.5),
    (lambda: D.Exponential(eg.tensor([1.])), 0.5),
    (lambda: D.Beta(eg.tensor([2.]), eg.tensor([1.])), 0.5),
    (lambda: D.Bernoulli(eg.tensor([0.3])), 1.0),
    (lambda: D.Binomial(3, eg.tensor([0.3])), 1.0),
    (lambda: D.Geometric(eg.tensor([0.3])), 1.0),
    (lambda: D.Poisson(eg.tensor([2.])), 1.0),
    (lambda: D.Cauchy(eg.tensor([0.]), eg.tensor([1.])), 0.5),
    (lambda: D.LogNormal(eg.tensor([0.]), eg.tensor([1.])), 0.5),
    (lambda: D.StudentT(eg.tensor([3.])), 0.5),
])
def test_float64_value_promotes_float32_parameters(make, value):
    assert make().log_prob(_f64(value)).dtype == eg.float64  # torch 2.13: float64


@pytest.mark.parametrize("make, value", [
    (lambda: D.Uniform(eg.tensor([0.]), eg.tensor([1.])), 0.5),
    (lambda: D.Categorical(eg.tensor([0.2, 0.8])), 1.0),
])
def test_float64_value_keeps_float32_where_pytorch_does(make, value):
    assert make().log_prob(_f64(value)).dtype == eg.float32  # torch 2.13: float32 (these cast the value)


def test_promoted_log_prob_is_computed_in_float64():
    lp = D.Normal(eg.tensor([0.]), eg.tensor([1.])).log_prob(_f64(0.25))
    assert lp.tolist() == pytest.approx([-0.9501885332046727], abs=1e-15)  # torch 2.13's float64 value


@pytest.mark.parametrize("value, dtype", [(eg.tensor([1]), eg.float32),
                                          (eg.tensor([0.5], dtype=eg.float16), eg.float32)])
def test_integer_and_narrower_values_take_the_parameters_dtype(value, dtype):
    assert D.Normal(eg.tensor([0.]), eg.tensor([1.])).log_prob(value).dtype == dtype
    assert D.Normal(eg.tensor([0.]), eg.tensor([1.])).cdf(_f64(0.5)).dtype == eg.float64


@pytest.mark.parametrize("make, value", [
    (lambda: D.Gamma(eg.tensor([2.]), eg.tensor([1.])), _f64(0.5)),  # torch casts the value to rate's dtype
    (lambda: D.MultivariateNormal(eg.zeros(2), eg.eye(2)), eg.zeros(2, dtype=eg.float64)),
])
def test_float64_value_keeps_the_parameters_dtype_where_pytorch_casts(make, value):
    assert make().log_prob(value).dtype == eg.float32


NOT_A_TENSOR = "^The value argument to log_prob must be a Tensor$"


@pytest.mark.parametrize("make", [
    lambda: D.Normal(eg.tensor([0.]), eg.tensor([1.])),
    lambda: D.Normal(0., 1.),
    lambda: D.Uniform(eg.tensor([0.]), eg.tensor([1.])),
    lambda: D.Beta(eg.tensor([2.]), eg.tensor([1.])),
    lambda: D.Bernoulli(eg.tensor([0.3])),
    lambda: D.Poisson(eg.tensor([2.])),
    lambda: D.Categorical(eg.tensor([0.2, 0.8])),
    lambda: D.OneHotCategorical(eg.ones(2)),
    lambda: D.MultivariateNormal(eg.zeros(2), eg.eye(2)),
    lambda: D.StudentT(eg.tensor([3.])),
    lambda: D.Independent(D.Normal(eg.zeros(2), eg.ones(2)), 1),
    lambda: D.TransformedDistribution(D.Normal(0., 1.), [D.ExpTransform()]),
    lambda: D.MixtureSameFamily(D.Categorical(eg.ones(2)), D.Normal(eg.zeros(2), eg.ones(2))),
])
def test_validated_log_prob_of_a_number_raises(make):
    with pytest.raises(ValueError, match=NOT_A_TENSOR):
        make().log_prob(0.5)


def test_validated_cdf_of_a_number_raises_with_the_log_prob_message():
    with pytest.raises(ValueError, match=NOT_A_TENSOR):
        D.Normal(eg.tensor([0.]), eg.tensor([1.])).cdf(0.5)


def test_numbers_pass_without_validation_and_in_gamma_log_prob():
    lp = D.Normal(0., 1., validate_args=False).log_prob(0.5)
    assert lp.dtype == eg.float32 and lp.item() == pytest.approx(-1.0439385332046727, abs=1e-6)
    assert D.Gamma(eg.tensor([2.]), eg.tensor([1.])).log_prob(0.5).tolist() == pytest.approx([-1.1931471805599454],
                                                                                             abs=1e-6)


def test_sampler_weights_are_a_tensor_as_pytorch():
    """torch 2.13: WeightedRandomSampler([0.1, 0.9], 3).weights is tensor([0.1000, 0.9000], dtype=torch.float64)."""
    s = WeightedRandomSampler([0.1, 0.9], 3)
    assert isinstance(s.weights, eg.Tensor) and s.weights.dtype == eg.float64
    assert s.weights.tolist() == [0.1, 0.9]
    s.weights = eg.tensor([0.0, 1.0])  # set afterwards, as a script may: the draws follow the new weights
    assert list(s) == [1, 1, 1]
