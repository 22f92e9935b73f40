"""LU with partial pivoting: linalg.lu / lu_factor / lu_factor_ex / lu_solve, torch.lu_unpack / lu / lu_solve.
Checked by reconstruction (P L U = A, triangles, a permutation), LAPACK's pivot choice on small cases, solves
against NumPy's, gradcheck and gradgradcheck, bad arguments, and side by side with torch where installed."""
import numpy as np
import pytest

import eigengrad as eg

SHAPES = [(1, 1), (2, 2), (5, 5), (3, 4, 4), (4, 3), (3, 5), (2, 3, 6, 4), (0, 3, 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_factors_reconstruct_the_matrix(shape, dtype):
    a = np.random.default_rng(len(shape) * 7 + shape[-1]).standard_normal(shape).astype(dtype)
    p, low, up = (t.numpy() for t in eg.linalg.lu(eg.tensor(a)))
    m, n = shape[-2:]
    k = min(m, n)
    assert p.shape == shape[:-2] + (m, m) and low.shape == shape[:-2] + (m, k) and up.shape == shape[:-2] + (k, n)
    np.testing.assert_allclose(p @ low @ up, a, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    np.testing.assert_array_equal(np.triu(low, 1), 0)
    np.testing.assert_array_equal(np.diagonal(low, 0, -2, -1), 1)
    np.testing.assert_array_equal(np.tril(up, -1), 0)
    assert np.all(np.abs(low) <= 1 + 1e-6)  # partial pivoting: every multiplier at most 1
    np.testing.assert_array_equal(p.sum(-1), 1)
    lu, piv = eg.linalg.lu_factor(eg.tensor(a))
    assert piv.dtype == eg.int32 and piv.shape == shape[:-2] + (k,)
    p2, l2, u2 = eg.lu_unpack(lu, piv)
    np.testing.assert_array_equal(p2.numpy(), p)
    np.testing.assert_allclose(l2.numpy(), low)
    np.testing.assert_allclose(u2.numpy(), up)


def test_pivots_and_info():
    a = eg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=eg.float64)
    lu, piv = eg.linalg.lu_factor(a)
    assert piv.tolist() == [2, 2]  # row 0 swapped with row 1 (the larger |3|)
    np.testing.assert_allclose(lu.numpy(), [[3.0, 4.0], [1 / 3, 2 - 4 / 3]])
    singular = eg.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=eg.float64)
    assert eg.linalg.lu_factor_ex(singular).info.item() == 2
    with pytest.raises(RuntimeError, match="singular U"):
        eg.linalg.lu_factor_ex(singular, check_errors=True)
    lu_data, pivots, info = eg.lu(a, get_infos=True)
    assert info.item() == 0 and pivots.tolist() == [2, 2]


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_against_numpy(left, adjoint):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((2, 4, 3) if left else (2, 3, 4))
    lu, piv = eg.linalg.lu_factor(eg.tensor(a))
    x = eg.linalg.lu_solve(lu, piv, eg.tensor(b), left=left, adjoint=adjoint).numpy()
    op = np.swapaxes(a, -1, -2) if adjoint else a
    np.testing.assert_allclose(op @ x if left else x @ op, b, atol=1e-12)
    np.testing.assert_allclose(eg.lu_solve(eg.tensor(b), lu, piv).numpy() if left and not adjoint else x, x)


def test_gradients():
    rng = np.random.default_rng(5)
    a = eg.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    b = eg.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)

    def parts(x):
        _, low, up = eg.linalg.lu(x)
        return (low * low.cos()).sum() + (up ** 3).sum()

    assert eg.autograd.gradcheck(parts, (a,))
    assert eg.autograd.gradgradcheck(parts, (a,))

    def solved(x, y):
        return eg.linalg.lu_solve(*eg.linalg.lu_factor(x), y)

    assert eg.autograd.gradcheck(solved, (a, b))
    with pytest.raises(RuntimeError, match="rectangular"):
        eg.linalg.lu(eg.ones(3, 2, dtype=eg.float64, requires_grad=True))
    with eg.no_grad():
        assert eg.linalg.lu(eg.ones(3, 2, dtype=eg.float64, requires_grad=True)).U.shape == (2, 2)


def test_bad_arguments():
    with pytest.raises(RuntimeError, match="without pivoting is not implemented"):
        eg.linalg.lu(eg.ones(2, 2), pivot=False)
    with pytest.raises(RuntimeError, match="pivots: expected values in"):
        eg.lu_unpack(eg.ones(2, 2), eg.tensor([0, 1], dtype=eg.int32))
    with pytest.raises(RuntimeError):
        eg.linalg.lu(eg.ones(3))


def test_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference for the LU factors and gradients")
    rng = np.random.default_rng(9)
    for shape in [(4, 4), (2, 5, 5), (4, 3), (3, 5)]:
        a = rng.standard_normal(shape)
        ours, theirs = eg.linalg.lu_factor(eg.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
        np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
        np.testing.assert_allclose(ours.LU.numpy(), theirs.LU.numpy(), rtol=1e-12, atol=1e-12)
    a, b = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 3))
    grads = []
    for lib in (eg, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        lu, piv = lib.linalg.lu_factor(x)
        _, low, up = lib.linalg.lu(x)
        (lib.linalg.lu_solve(lu, piv, y).sum() + (low * 2).sum() + (up ** 2).sum()).backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    for g1, g2 in zip(*grads):
        np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12)
