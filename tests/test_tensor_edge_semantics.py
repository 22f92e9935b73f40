"""Edge semantics found by a randomized side-by-side sweep against PyTorch (each was a silent difference):
tensor_split with negative indices, xlogy's gradient at x = 0, quantile with a 0-d q and with infinities,
dtype= of the integer reductions, nansum of integers, any/all over dim=(), 0-d cumprod, diff with n=0.
Expected values are PyTorch 2.13's; the random cases run side by side with torch where it is installed."""
import numpy as np
import pytest

import eigengrad as eg


def test_tensor_split_negative_indices_are_python_slices():
    x = eg.arange(4.0)
    assert [t.tolist() for t in eg.tensor_split(x, [1, -1])] == [[0.0], [1.0, 2.0], [3.0]]
    assert [t.tolist() for t in eg.tensor_split(x, [-2, -1, 1])] == [[0.0, 1.0], [2.0], [], [1.0, 2.0, 3.0]]
    assert [t.tolist() for t in eg.hsplit(x, [1, -1])] == [[0.0], [1.0, 2.0], [3.0]]
    assert [t.tolist() for t in eg.tensor_split(eg.arange(5.0), eg.tensor(2))] == [[0.0, 1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0"):
        eg.tensor_split(x, 0)


def test_xlogy_gradient_at_zero_x():
    x = eg.tensor([0.0, 1.0, 0.0, 0.0], dtype=eg.float64, requires_grad=True)
    y = eg.tensor([6.0, 18.0, 0.0, -1.0], dtype=eg.float64, requires_grad=True)
    out = eg.xlogy(x, y)
    out.sum().backward()
    assert out.tolist() == [0.0, np.log(18.0), 0.0, 0.0]
    np.testing.assert_allclose(x.grad.numpy(), [np.log(6.0), np.log(18.0), 0.0, 0.0])  # d/dx = log y at x = 0
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 1 / 18, 0.0, 0.0])
    x1 = eg.tensor([0.0], dtype=eg.float64, requires_grad=True)
    eg.special.xlog1py(x1, eg.tensor([6.0], dtype=eg.float64)).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), [np.log(7.0)])


def test_quantile_zero_d_q_and_infinities():
    v = eg.tensor([1.0, 2.0, 3.0])
    assert eg.quantile(v, eg.tensor(0.5)).shape == () and eg.quantile(v, eg.tensor(0.5)).item() == 2.0
    assert eg.quantile(v, eg.tensor(0.5), dim=0, keepdim=True).shape == (1,)
    inf = float("inf")
    assert eg.quantile(eg.tensor([1.0, 2.0, inf]), 0.5).item() == 2.0
    assert eg.quantile(eg.tensor([1.0, inf]), 1.0, interpolation="higher").item() == inf
    assert eg.quantile(eg.tensor([-inf, 1.0, inf]), 0.5, interpolation="nearest").item() == 1.0
    assert np.isnan(eg.quantile(eg.tensor([1.0, inf]), 0.5).item())  # PyTorch's lerp: inf - inf


def test_integer_reductions_take_dtype():
    x = eg.tensor([1, 2, 3], dtype=eg.int32)
    assert x.sum(dtype=eg.int32).dtype == eg.int32 and x.prod(dtype=eg.int16).dtype == eg.int16
    assert x.cumsum(0, dtype=eg.int32).dtype == eg.int32 and x.cumprod(0, dtype=eg.int16).tolist() == [1, 2, 6]
    assert eg.tensor([200, 100]).sum(dtype=eg.uint8).item() == 44  # wraps in uint8, as PyTorch's
    assert eg.tensor([1, 2, -2]).sum(dtype=eg.bool).item() is True
    total = eg.nansum(x)
    assert total.dtype == eg.int64 and total.item() == 6


def test_shapes_of_degenerate_reductions():
    b = eg.tensor([True, False])
    assert b.any(dim=()).tolist() == [True, False] and b.all(dim=()).tolist() == [True, False]
    assert eg.cumprod(eg.tensor(2.0), 0).shape == ()
    x = eg.tensor([1.0, 2.0])
    assert eg.diff(x, n=0, append=eg.tensor([5.0])) is x


def test_random_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference for the random tensor_split and quantile")
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(0, 7))
        idx = [int(i) for i in rng.integers(-8, 9, int(rng.integers(1, 4)))]
        ours = [t.tolist() for t in eg.tensor_split(eg.arange(float(n)), idx)]
        assert ours == [t.tolist() for t in torch.tensor_split(torch.arange(float(n)), idx)], (n, idx)
    for _ in range(300):
        x = rng.standard_normal((3, int(rng.integers(1, 7))))
        if rng.random() < 0.5:
            x[rng.random(x.shape) < 0.3] = rng.choice([np.inf, -np.inf, np.nan])
        q = rng.random(int(rng.integers(1, 4)))
        if rng.random() < 0.4:
            q = np.round(q * 4) / 4
        how = str(rng.choice(["linear", "lower", "higher", "midpoint", "nearest"]))
        for name in ("quantile", "nanquantile"):
            ours = getattr(eg, name)(eg.tensor(x), eg.tensor(q), dim=1, interpolation=how).numpy()
            theirs = getattr(torch, name)(torch.tensor(x), torch.tensor(q), dim=1, interpolation=how).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True, err_msg=f"{name} {how} {x} {q}")
