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


def test_promotion_before_scaling_and_in_float_composites():
    f64 = eg.float64
    # alpha * other is computed in the promoted dtype: a float32 0-d other of a float64 difference
    r = eg.sub(eg.tensor([1.21827161], dtype=f64), eg.tensor(0.7452099), alpha=3)
    assert r.dtype == f64 and r.item() == 1.21827161 - 3 * float(np.float32(0.7452099))
    assert eg.add(eg.tensor(0.5, dtype=f64), eg.tensor([1, 2]), alpha=0.5).dtype == f64
    assert eg.add(eg.tensor([1], dtype=eg.int32), eg.tensor([True]), alpha=3).dtype == eg.int32
    assert eg.add(eg.tensor([True]), eg.tensor([True]), alpha=3).tolist() == [True]
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point number"):
        eg.add(eg.tensor([1, 2]), eg.tensor([1, 1]), alpha=0.5)
    # float composites promote both operands first (PyTorch's result_type), integers to the default float
    assert eg.copysign(eg.tensor([2], dtype=eg.int32), eg.tensor([-1.0], dtype=f64)).dtype == f64
    assert eg.logaddexp(eg.tensor(0.5, dtype=f64), eg.tensor([[1, 2]], dtype=eg.int32)).dtype == f64
    assert eg.xlogy(eg.tensor([2.0]), eg.tensor(3.0, dtype=f64)).dtype == eg.float32
    assert eg.hypot(eg.tensor([0.0, 3.0]), eg.tensor([19, 4], dtype=eg.uint8)).tolist() == [19.0, 5.0]
    assert eg.logaddexp2(eg.tensor([2], dtype=eg.int32), eg.tensor([0.0], dtype=f64)).item() == np.log2(5.0)
    np.testing.assert_allclose(eg.xlogy(2.0, eg.tensor([3.0])).numpy(), [2 * np.log(3.0)], rtol=1e-6)


def test_int32_indices_uint8_condition_and_nextafter():
    x = eg.arange(6.0).view(2, 3)
    i = eg.tensor([[0, 2], [1, 0]], dtype=eg.int32)  # PyTorch 2.x takes int32 indices
    assert x.gather(1, i).tolist() == [[0.0, 2.0], [4.0, 3.0]]
    assert eg.zeros(2, 3).scatter_add(1, i, eg.ones(2, 2)).tolist() == [[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    with pytest.raises(TypeError, match=r"^gather\(\): Expected dtype int32/int64 for index$"):
        x.gather(1, i.float())
    with pytest.warns(UserWarning, match="uint8 condition tensor"):
        picked = eg.where(eg.tensor([1, 0], dtype=eg.uint8), eg.ones(2), eg.zeros(2))
    assert picked.tolist() == [1.0, 0.0]
    assert (eg.nextafter(eg.tensor([1.0]), eg.tensor([2.0])) - 1).item() == float(np.finfo(np.float32).eps)


def test_nuclear_norm_negative_take_along_dim_and_degenerate_shapes():
    m = eg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=eg.float64)
    nuclear = np.linalg.norm(m.numpy(), "nuc")
    assert eg.norm(m, p="nuc").item() == pytest.approx(nuclear)
    np.testing.assert_allclose(eg.stack([m, m]).norm(p="nuc", dim=(1, 2)).numpy(), [nuclear, nuclear])
    assert eg.take_along_dim(m, eg.tensor([[-1], [0]]), 1).tolist() == [[2.0], [3.0]]
    with pytest.raises(RuntimeError, match="out of bounds"):
        eg.take_along_dim(m, eg.tensor([[-3], [0]]), 1)
    assert eg.chain_matmul(m).tolist() == m.tolist()
    assert eg.movedim(eg.tensor(1.0), 0, 0).shape == () and eg.movedim(eg.tensor(1.0), -1, 0).shape == ()


def test_unique_keeps_every_nan():
    nan = float("nan")
    values, inverse, counts = eg.unique(eg.tensor([nan, nan, 1.0]), return_inverse=True, return_counts=True)
    assert values.numpy()[0] == 1.0 and np.isnan(values.numpy()[1:]).all() and values.shape == (3,)
    assert inverse.tolist() == [1, 2, 0] and counts.tolist() == [1, 1, 1]


def test_operands_that_do_not_broadcast_raise_pytorchs_runtime_error():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) at "
                                           r"non-singleton dimension 0"):
        eg.ones(3) + eg.ones(4)
    with pytest.raises(ValueError):  # also a ValueError naming the sizes (eigengrad's rule for bad input)
        eg.ones(2, 3) * eg.ones(4, 3)


@pytest.mark.parametrize("a, b, want", [
    ((2, 36, 3, 12), (2, 3, 12, 1), "a (36) must match the size of tensor b (3) at non-singleton dimension 1"),
    ((2, 36, 3, 12), (5, 12, 1), "a (36) must match the size of tensor b (5) at non-singleton dimension 1"),
    ((4, 3, 5), (2, 5, 6), "a (4) must match the size of tensor b (2) at non-singleton dimension 0"),
])
def test_a_batched_matmul_names_the_batch_dim_that_does_not_broadcast(a, b, want):
    """PyTorch's message (checked with torch 2.13): the message had compared the matrix dims too and named
    those."""
    with pytest.raises(RuntimeError) as caught:
        eg.matmul(eg.zeros(*a), eg.zeros(*b))
    assert str(caught.value) == "The size of tensor " + want


def test_sign_of_nan_is_zero_as_pytorch():
    nan = float("nan")
    x = eg.tensor([nan, 1.0, -2.0, 0.0], dtype=eg.float64, requires_grad=True)
    assert eg.sign(x).tolist() == [0.0, 1.0, -1.0, 0.0] and eg.sgn(eg.tensor([nan])).tolist() == [0.0]
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, -1.0, 0.0]  # PyTorch's abs gradient at NaN is 0 (its sign)


def test_a_nan_maximum_takes_the_gradient():
    nan = float("nan")
    x = eg.tensor([nan, 1.0, nan], dtype=eg.float64, requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]  # PyTorch's max(): shared by the NaNs (it was 0 everywhere)
    y = eg.tensor([[nan, 1.0], [2.0, 3.0]], dtype=eg.float64, requires_grad=True)
    eg.amax(y, 1).sum().backward()
    assert y.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_general_eigendecomposition_with_real_eigenvalues():
    a = eg.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=eg.float64)
    np.testing.assert_allclose(np.sort(eg.linalg.eigvals(a).real.numpy()), [2.0, 3.0])  # `.real` as PyTorch's
    values, vectors = eg.linalg.eig(a)
    np.testing.assert_allclose(a.numpy() @ vectors.numpy(), vectors.numpy() * values.numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="complex eigenvalues"):
        eg.linalg.eigvals(eg.tensor([[-0.1, 2.0], [-2.0, -0.1]]))
    with pytest.raises(RuntimeError, match="gradient of a general eigendecomposition"):
        eg.linalg.eig(eg.ones(2, 2, requires_grad=True))
    assert eg.real(eg.ones(2)).tolist() == [1.0, 1.0] and eg.ones(2).real.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        eg.ones(2).imag


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "logcumsumexp"])
def test_float32_scans_carry_double_and_round_once(op):
    """PyTorch's CPU scans carry the running value in double for float32 and round each output once; a float32
    scan (NumPy's) drifted with the length (3e-5 relative at 10**6 elements for cumsum). Equal to the double scan
    rounded, bit for bit, and to PyTorch's when it is installed; the gradient of cumsum likewise."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 20_000)).astype(np.float32)
    if op == "cumprod":
        x = (1.0 + 1e-4 * x).astype(np.float32)
    scan = {"cumsum": np.cumsum, "cumprod": np.cumprod, "logcumsumexp": np.logaddexp.accumulate}[op]
    want = scan(x.astype(np.float64), axis=1).astype(np.float32)
    got = getattr(eg, op)(eg.tensor(x), 1).numpy()
    np.testing.assert_array_equal(got, want)
    t = eg.tensor(x, requires_grad=True)
    g = rng.standard_normal(x.shape).astype(np.float32)
    if op == "cumsum":
        eg.cumsum(t, 1).backward(eg.tensor(g))
        np.testing.assert_array_equal(t.grad.numpy(), np.cumsum(g[:, ::-1].astype(np.float64), 1)[:, ::-1]
                                      .astype(np.float32))
    try:
        import torch
    except ImportError:
        return
    np.testing.assert_array_equal(got, getattr(torch, op)(torch.from_numpy(x), 1).numpy())
