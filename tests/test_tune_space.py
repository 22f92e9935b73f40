"""Search spaces sample on the right scales; grids and narrowing stay on each dimension's scale."""

import numpy as np
import pytest

from eigengrad import tune


def test_log_uniform_puts_equal_shares_in_each_decade():
    rng = np.random.default_rng(0)
    x = np.array([tune.LogUniform(1e-4, 1e-1).sample(rng) for _ in range(10_000)])
    shares = np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0] / len(x)
    np.testing.assert_allclose(shares, 1 / 3, atol=0.02)  # three decades, a third each
    assert x.min() >= 1e-4 and x.max() <= 1e-1


def test_one_minus_log_uniform_puts_half_above_0_99():
    rng = np.random.default_rng(1)
    x = np.array([tune.OneMinusLogUniform(0.9, 0.999).sample(rng) for _ in range(10_000)])
    assert abs((x > 0.99).mean() - 0.5) < 0.02 and x.min() >= 0.9 and x.max() <= 0.999


def test_uniform_int_and_choice_are_uniform():
    rng = np.random.default_rng(2)
    u = np.array([tune.Uniform(-1, 3).sample(rng) for _ in range(10_000)])
    assert abs(u.mean() - 1.0) < 0.05 and u.min() >= -1 and u.max() <= 3
    counts = np.bincount([tune.IntUniform(2, 5).sample(rng) for _ in range(8000)], minlength=6)[2:]
    np.testing.assert_allclose(counts / 8000, 0.25, atol=0.02)
    picks = [tune.Choice(["a", "b"]).sample(rng) for _ in range(4000)]
    assert abs(picks.count("a") / 4000 - 0.5) < 0.03


def test_grids_are_even_on_each_scale_with_exact_ends():
    assert tune.LogUniform(1e-3, 1.0).grid(4) == pytest.approx([1e-3, 1e-2, 1e-1, 1.0], rel=1e-12)
    assert tune.LogUniform(1e-3, 1.0).grid(4)[0] == 1e-3
    assert tune.OneMinusLogUniform(0.9, 0.999).grid(3) == pytest.approx([0.9, 0.99, 0.999], rel=1e-12)
    assert tune.Uniform(0, 1).grid(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tune.IntUniform(8, 512, log=True).grid(4) == [8, 31, 125, 512]
    assert tune.Choice([1, 2, 3]).grid(99) == [1, 2, 3]


@pytest.mark.parametrize("dim,value", [
    (tune.LogUniform(1e-5, 1.0), 3e-3), (tune.OneMinusLogUniform(0.5, 0.9999), 0.99), (tune.Uniform(-2, 2), 0.5),
])
def test_unit_map_round_trips_and_narrowing_keeps_the_scale(dim, value):
    u = dim.to_unit(value)
    assert 0 < u < 1 and dim.from_unit(u) == pytest.approx(value, rel=1e-12)
    narrow = dim.narrowed(u - 0.1, u + 0.1)
    assert type(narrow) is type(dim) and narrow.low < value < narrow.high
    assert narrow.to_unit(value) == pytest.approx(0.5, abs=1e-9)  # centred on its own scale


@pytest.mark.parametrize("make,match", [
    (lambda: tune.LogUniform(0, 1), "low"), (lambda: tune.Uniform(2, 1), "low < high"),
    (lambda: tune.OneMinusLogUniform(0.9, 1.0), "high < 1"), (lambda: tune.IntUniform(1.5, 3), "ints"),
    (lambda: tune.Choice([]), "at least one"), (lambda: tune.sample([1], np.random.default_rng()), "space"),
])
def test_bad_dimensions_are_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_sample_keeps_constants_and_order():
    cfg = tune.sample({"lr": tune.LogUniform(1e-3, 1e-1), "epochs": 5, "act": tune.Choice(["relu"])},
                      np.random.default_rng(0))
    assert list(cfg) == ["lr", "epochs", "act"] and cfg["epochs"] == 5 and cfg["act"] == "relu"
    assert 1e-3 <= cfg["lr"] <= 1e-1
