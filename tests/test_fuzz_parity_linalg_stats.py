"""Regression tests of the differences a differential fuzz against PyTorch 2.13 found in products, torch.linalg,
special functions and statistics. Each test states the case, asserts the literal values (or the exception
class) PyTorch gives, so it checks something without torch, and compares with torch where it is importable."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError


def _torch():
    return pytest.importorskip("torch", reason="compares with PyTorch when it is installed")


def _np(t):
    return np.asarray(t.detach().numpy())


def _raises_like_torch(fn, expected, torch_expected=None):
    """fn(L) raises ``expected`` for eigengrad; with torch installed, torch raises ``torch_expected`` (by default
    RuntimeError for eigengrad's RuntimeError family), and eigengrad's error is an instance of torch's class."""
    with pytest.raises(expected) as info:
        fn(eg)
    try:
        import torch
    except ImportError:
        return
    torch_class = torch_expected or (RuntimeError if issubclass(expected, RuntimeError) else expected)
    with pytest.raises(torch_class):
        fn(torch)
    assert isinstance(info.value, torch_class)


# --- products -------------------------------------------------------------------------------------------

def test_tensordot_over_an_empty_contracted_dim_is_zeros():
    """tensordot of (2, 0) and (0, 3) over the empty dim: zeros (2, 3); the free sizes were reshaped as -1,
    which is ambiguous for 0 elements."""
    def f(L):
        return L.tensordot(L.ones(2, 0, dtype=L.float64), L.ones(0, 3, dtype=L.float64), dims=1)

    out = f(eg)
    assert out.shape == (2, 3) and np.array_equal(_np(out), np.zeros((2, 3)))
    assert eg.tensordot(eg.ones(3, 0), eg.ones(3, 0, 4), dims=([0, 1], [0, 1])).shape == (4,)
    torch = _torch()
    assert np.array_equal(_np(out), f(torch).numpy())


@pytest.mark.parametrize("name", ["addmm", "addbmm", "addmv", "addr", "baddbmm"])
def test_beta_zero_gives_input_a_zero_gradient(name):
    """addmm(input, m1, m2, beta=0): the result ignores input, but its gradient is beta * grad = zeros (it was
    None); a NaN in input still does not propagate."""
    def f(L):
        rng = np.random.default_rng(0)
        args = {"addmm": ((2, 3), (2, 4), (4, 3)), "addbmm": ((2, 3), (5, 2, 4), (5, 4, 3)),
                "addmv": ((2,), (2, 4), (4,)), "addr": ((2, 3), (2,), (3,)),
                "baddbmm": ((5, 2, 3), (5, 2, 4), (5, 4, 3))}[name]
        ts = [L.tensor(rng.standard_normal(s), requires_grad=True) for s in args]
        with L.no_grad():
            ts[0][(0,) * ts[0].ndim] = float("nan")
        out = getattr(L, name)(*ts, beta=0, alpha=2)
        out.sum().backward()
        return out, ts

    out, ts = f(eg)
    assert not np.isnan(_np(out)).any()
    assert ts[0].grad is not None and np.array_equal(_np(ts[0].grad), np.zeros(ts[0].shape))
    torch = _torch()
    t_out, t_ts = f(torch)
    np.testing.assert_allclose(_np(out), t_out.detach().numpy(), rtol=1e-12)
    for a, b in zip(ts, t_ts):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-14)


# --- linalg.solve -----------------------------------------------------------------------------------------

def test_solve_broadcast_batch_gradient_has_the_input_shape():
    """solve(A (2, 2), B (2, 2, 1)): A broadcasts over B's batch; A's gradient is summed back to (2, 2) (it
    came back (2, 2, 2) and the engine raised)."""
    def f(L):
        A = L.tensor([[2., 0.], [0., 4.]], dtype=L.float64, requires_grad=True)
        B = L.tensor([[[2.], [4.]], [[4.], [8.]]], dtype=L.float64, requires_grad=True)
        X = L.linalg.solve(A, B)
        X.sum().backward()
        return X, A.grad, B.grad

    X, ga, gb = f(eg)
    assert X.shape == (2, 2, 1)
    np.testing.assert_allclose(_np(X).ravel(), [1., 1., 2., 2.])
    np.testing.assert_allclose(_np(ga).ravel(), [-1.5, -1.5, -0.75, -0.75])
    np.testing.assert_allclose(_np(gb).ravel(), [0.5, 0.25, 0.5, 0.25])
    torch = _torch()
    for a, b in zip((X, ga, gb), f(torch)):
        np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape, left", [
    ((5, 5), (3, 6, 1), True),       # B's rows are not A's size
    ((3, 2, 2), (3,), True),         # a vector of the wrong size
    ((0, 0), (1,), True),
    ((2, 3, 3), (4, 3, 1), True),    # batches that do not broadcast
    ((1, 3, 3), (1, 3), False),      # a vector right-hand side with left=False
    ((3, 3), (3, 2), False),         # X A = B needs B's columns to be A's size
])
def test_solve_bad_shapes_raise_runtime_error(a_shape, b_shape, left):
    """Incompatible A and B raise PyTorch's RuntimeError (NumPy's ValueError escaped before; a vector B with
    left=False was accepted)."""
    def f(L):
        A = L.tensor(np.eye(a_shape[-1]) + np.zeros(a_shape))
        return L.linalg.solve(A, L.ones(*b_shape, dtype=L.float64), left=left)

    _raises_like_torch(f, ArgumentError)


def test_solve_ex_bad_shapes_raise_runtime_error():
    _raises_like_torch(lambda L: L.linalg.solve_ex(L.eye(3, dtype=L.float64), L.ones(4, dtype=L.float64)),
                       ArgumentError)


# --- norms ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda L: L.linalg.matrix_norm(L.ones(3, 5, dtype=L.int64), 1),          # integer input
    lambda L: L.linalg.norm(L.ones(5, 2, dtype=L.int64), float("inf")),
    lambda L: L.linalg.norm(L.ones((), dtype=L.float64), -2, (0, 1)),       # 0-d: ZeroDivisionError before
    lambda L: L.linalg.norm(L.ones((), dtype=L.float64), 0.5),              # ord without dim on a 0-d tensor
    lambda L: L.linalg.norm(L.ones(2, 2, 2, dtype=L.float64), 2),           # ... on a 3-d one
    lambda L: L.norm(L.ones((), dtype=L.float32), "nuc"),
    lambda L: L.norm(L.ones(5, dtype=L.float64), "nuc", (0, 1)),            # IndexError before
    lambda L: L.norm(L.ones(1, 0, 2), "nuc", -1),                           # TypeError before
    lambda L: L.norm(L.ones(3, 4, 5), "nuc"),                               # 'nuc' over all 3 dims
    lambda L: L.norm(L.ones(1, 2, 2), "fro", (0, 1, 2)),
    lambda L: L.linalg.matrix_norm(L.ones(3, 3), 3),                        # no such order
    lambda L: L.linalg.vector_norm(L.ones(3, dtype=L.int64), dtype=L.float64),
    lambda L: L.linalg.vector_norm(L.ones(3, dtype=L.float64), dtype=L.float32),  # a narrowing dtype
    lambda L: L.linalg.vector_norm(L.ones(2, 3, 0), -1),                    # a negative order on empty
    lambda L: L.linalg.vector_norm(L.ones(0, 3, 5), -2, dim=0),
])
def test_norm_invalid_arguments_raise_runtime_error(call):
    _raises_like_torch(call, RuntimeError)


@pytest.mark.parametrize("ord, expected", [(1, 0.0), (2, 0.0), ("nuc", 0.0), (math.inf, 0.0), (-math.inf, 0.0)])
def test_matrix_norm_of_an_empty_matrix(ord, expected):
    """matrix_norm of a 3 x 0 matrix: 0 for the orders whose reduction is a max (amax raised before)."""
    out = eg.linalg.matrix_norm(eg.ones(3, 0, dtype=eg.float64), ord)
    assert out.shape == () and float(out) == expected
    torch = _torch()
    assert float(torch.linalg.matrix_norm(torch.ones(3, 0, dtype=torch.float64), ord)) == expected


@pytest.mark.parametrize("ord", [-1, -2])
def test_matrix_norm_min_of_an_empty_matrix_raises_index_error(ord):
    _raises_like_torch(lambda L: L.linalg.matrix_norm(L.ones(3, 0), ord), IndexError, IndexError)


# --- torch.svd --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("some", [True, False])
def test_svd_without_uv_returns_square_zero_matrices(some):
    """torch.svd(A (3, 1), compute_uv=False): U is a 3 x 3 and V a 1 x 1 zero matrix, whatever ``some``."""
    U, S, V = eg.svd(eg.tensor([[3.], [0.], [4.]]), some=some, compute_uv=False)
    assert U.shape == (3, 3) and V.shape == (1, 1) and S.shape == (1,)
    assert not _np(U).any() and not _np(V).any()
    np.testing.assert_allclose(_np(S), [5.0], rtol=1e-6)
    torch = _torch()
    tU, tS, tV = torch.svd(torch.tensor([[3.], [0.], [4.]]), some=some, compute_uv=False)
    assert tuple(tU.shape) == U.shape and tuple(tV.shape) == V.shape


# --- special functions -----------------------------------------------------------------------------------

def test_logit_with_eps_above_one_half_clamps_as_pytorch():
    """logit(x, eps=0.6): PyTorch's x < eps ? eps : (x > 1 - eps ? 1 - eps : x), so x < 0.6 gives logit(0.6);
    a clamp gave logit(0.4) everywhere. The gradient is 0 where clamped, NaN at NaN."""
    def f(L):
        x = L.tensor([-5., 0.3, 0.5, 0.55, 5., float("nan")], dtype=L.float64, requires_grad=True)
        y = L.logit(x, 0.6)
        y.sum().backward()
        return y, x.grad

    y, g = f(eg)
    v = math.log(0.6 / 0.4)
    np.testing.assert_allclose(_np(y), [v, v, v, v, -v, np.nan], rtol=1e-12)
    np.testing.assert_array_equal(_np(g), [0, 0, 0, 0, 0, np.nan])
    x = eg.tensor([0., 0.3, 1.], dtype=eg.float64, requires_grad=True)
    eg.logit(x, 0.3).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [0, 1 / 0.21, 0], rtol=1e-12)
    torch = _torch()
    ty, tg = f(torch)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(_np(g), tg.numpy())


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_x_times_log_of_inf_at_zero_is_zero(name):
    """xlogy(0, inf) = 0 (only a NaN y propagates at x = 0); it was 0 * inf = NaN."""
    def f(L):
        fn = L.xlogy if name == "xlogy" else L.special.xlog1py
        return fn(L.tensor([0., 0., 0., 1.]), L.tensor([math.inf, math.nan, 2., math.inf]))

    out = _np(f(eg))
    assert out[0] == 0 and np.isnan(out[1]) and out[2] == 0 and out[3] == math.inf
    torch = _torch()
    np.testing.assert_array_equal(out, f(torch).numpy())


@pytest.mark.parametrize("call", [
    lambda L: L.special.log_softmax(L.ones(3, dtype=L.int64), 0),
    lambda L: L.special.softmax(L.ones(2, 2, dtype=L.int64), 1),
    lambda L: L.linalg.eigh(L.ones(3, 3, dtype=L.int64)),
    lambda L: L.linalg.eigvalsh(L.ones(2, 2, dtype=L.int64)),
    lambda L: L.histc(L.ones(3, dtype=L.int64)),
    lambda L: L.bincount(L.tensor([1., 2.])),
    lambda L: L.bincount(L.tensor([True, False])),
])
def test_no_kernel_for_the_dtype_is_not_implemented_error(call):
    """PyTorch has no kernel for these dtypes: NotImplementedError (eigengrad's DtypeNotSupportedError, also its
    TypeError and PyTorch's RuntimeError family)."""
    _raises_like_torch(call, DtypeNotSupportedError, NotImplementedError)


# --- statistics -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_of_a_row_with_nan_passes_the_gradient_to_the_nan(interpolation):
    """quantile of a row with a NaN is NaN, PyTorch's rank is the row's last sorted value (the NaN), so the
    gradient goes there (it was 0); nanquantile of an all-NaN row reads its first."""
    def f(L, name):
        x = L.tensor([[np.nan, 1.0, 3.0], [2., 0., 5.], [np.nan] * 3], dtype=L.float64, requires_grad=True)
        y = getattr(L, name)(x, 0.4, dim=1, interpolation=interpolation)
        (y * L.tensor([1., 2., 3.], dtype=L.float64)).sum().backward()
        return y, x.grad

    y, g = f(eg, "quantile")
    assert np.isnan(_np(y)[0]) and np.isnan(_np(y)[2])
    assert _np(g)[0, 0] == 1.0 and _np(g)[2].sum() == 3.0
    y2, g2 = f(eg, "nanquantile")
    assert np.isnan(_np(y2)[2]) and _np(g2)[2].sum() == 3.0
    torch = _torch()
    for name, (a, b) in (("quantile", (y, g)), ("nanquantile", (y2, g2))):
        ta, tb = f(torch, name)
        np.testing.assert_allclose(_np(a), ta.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(_np(b), tb.numpy(), rtol=1e-12)


def test_cov_dtype_follows_aweights():
    """cov of an int64 or float32 input with float64 aweights is float64 (it was float32)."""
    x = np.array([[1., 2, 4], [0, 1, -1]])
    expected = [[2.409090909090909, -1.409090909090909], [-1.409090909090909, 1.3181818181818181]]
    for dt in ("int64", "float32"):
        out = eg.cov(eg.tensor(x.astype(dt)), aweights=eg.tensor([1., 2., 3.], dtype=eg.float64))
        assert out.dtype == eg.float64
        np.testing.assert_allclose(_np(out), expected, rtol=1e-12)
    assert eg.cov(eg.tensor(x.astype("int64"))).dtype == eg.float32
    torch = _torch()
    t = torch.cov(torch.tensor(x.astype("float32")), aweights=torch.tensor([1., 2., 3.], dtype=torch.float64))
    assert t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {"fweights": ("int64", [0, 0, 0])},     # weights sum to zero
    {"aweights": ("float64", [0., 0., 0.])},
    {"fweights": ("int64", [-1, 1, 1])},   # negative weights
    {"aweights": ("float64", [-1., 1., 1.])},
    {"aweights": ("float64", [1., 1.])},   # not one per observation
])
def test_cov_invalid_weights_raise_runtime_error(kwargs):
    def f(L):
        kw = {k: L.tensor(np.array(v, dtype=d)) for k, (d, v) in kwargs.items()}
        return L.cov(L.tensor([[1., 2., 4.], [0., 1., -1.]]), **kw)

    _raises_like_torch(f, ArgumentError)


def test_cov_float_fweights_raise_type_error():
    _raises_like_torch(lambda L: L.cov(L.ones(2, 3), fweights=L.tensor([1., 1., 1.])), ArgumentTypeError)


@pytest.mark.parametrize("correction, expected", [(3, [[math.inf, -math.inf], [-math.inf, math.inf]]),
                                                  (5, [[math.inf, -math.inf], [-math.inf, math.inf]])])
def test_cov_without_degrees_of_freedom_divides_by_zero(correction, expected):
    """correction >= the number of observations: PyTorch warns and divides by +0 (inf / NaN); correction 5
    divided by -2 before, and a 0-d input gave -0 for NaN."""
    x = [[1., 2., 4.], [0., 1., -1.]]
    with pytest.warns(UserWarning, match="degrees of freedom"):
        out = eg.cov(eg.tensor(x, dtype=eg.float64), correction=correction)
    np.testing.assert_array_equal(_np(out), expected)
    with pytest.warns(UserWarning):
        assert np.isnan(float(eg.cov(eg.tensor(1.0), correction=2)))
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(torch.cov(torch.tensor(x, dtype=torch.float64), correction=correction).numpy(),
                                      expected)


def test_diff_negative_order_raises():
    _raises_like_torch(lambda L: L.diff(L.ones(2, 3), n=-1), ArgumentError)


@pytest.mark.parametrize("dim, keepdim, shape", [(None, False, (0,)), (None, True, (0, 1, 1)), (1, False, (0, 2)),
                                                 (0, True, (0, 1, 3)), (-1, True, (0, 2, 1))])
def test_quantile_of_an_empty_q_is_empty(dim, keepdim, shape):
    """quantile(x (2, 3), q = tensor([])): no quantiles, shaped as they would be (stack raised on no parts)."""
    for name in ("quantile", "nanquantile"):
        out = getattr(eg, name)(eg.ones(2, 3, dtype=eg.float64), eg.tensor([], dtype=eg.float64), dim=dim,
                                keepdim=keepdim)
        assert out.shape == shape and out.dtype == eg.float64
    torch = _torch()
    t = torch.quantile(torch.ones(2, 3, dtype=torch.float64), torch.tensor([], dtype=torch.float64), dim=dim,
                       keepdim=keepdim)
    assert tuple(t.shape) == shape


def test_det_backward_at_an_exactly_singular_matrix():
    """The gradient of det at an exactly singular matrix: NumPy's inverse raised LinAlgError in backward;
    PyTorch's first-order backward is g det A^-T (a perturbed LU): 0 there, g for a 1 x 1 matrix; the
    invertible matrices of the batch as usual (A^-T det A = [[4, -1], [-2, 1]] for [[1, 2], [1, 4]])."""
    def f(L, a):
        x = L.tensor(a, dtype=L.float64, requires_grad=True)
        (L.linalg.det(x) * 2).sum().backward()
        return x.grad

    cases = [([[[1., 2.], [2., 4.]], [[0., 0.], [0., 0.]], [[1., 2.], [1., 4.]]],
              [[[0., 0.], [0., 0.]], [[0., 0.], [0., 0.]], [[8., -2.], [-4., 2.]]]),
             ([[[0.]], [[3.]]], [[[2.]], [[2.]]])]
    for a, expected in cases:
        np.testing.assert_allclose(_np(f(eg, a)), expected, rtol=1e-12, atol=0)
    torch = _torch()
    for a, expected in cases:
        np.testing.assert_allclose(f(torch, a).numpy(), expected, rtol=1e-12, atol=1e-15)


def test_var_gradient_without_degrees_of_freedom():
    """var with correction >= n: PyTorch's gradient over given dims is 2 / (n - correction) (x - mean), finite
    and negative for correction > n (it was inf); over all elements inf, NaN where x is the mean."""
    def f(L, dim, correction, values):
        x = L.tensor(values, dtype=L.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.var(x, dim=dim, correction=correction).sum().backward()
        return x.grad

    cases = [(1, 5, [[1., 2., 6.]], [[2.0, 1.0, -3.0]]),    # 2 / (3 - 5) (x - 3)
             (1, 3, [[1., 2., 6.]], [[-math.inf, -math.inf, math.inf]]),
             (None, 3, [1., 2., 3.], [math.inf, math.nan, math.inf]),
             (None, 2, [1., 1.], [math.nan, math.nan])]
    for dim, correction, values, expected in cases:
        np.testing.assert_array_equal(_np(f(eg, dim, correction, values)), expected)
    torch = _torch()
    for dim, correction, values, expected in cases:
        np.testing.assert_array_equal(f(torch, dim, correction, values).numpy(), expected)


def test_matrix_power_zero_gives_a_zero_gradient():
    """matrix_power(A, 0) is the identity; PyTorch's A.grad after backward is zeros (it was None)."""
    def f(L):
        A = L.tensor([[[1., 2.], [3., float("nan")]]], dtype=L.float64, requires_grad=True)
        out = L.linalg.matrix_power(A, 0)
        out.sum().backward()
        return out, A.grad

    out, g = f(eg)
    np.testing.assert_array_equal(_np(out), [np.eye(2)])
    assert g is not None and np.array_equal(_np(g), np.zeros((1, 2, 2)))
    torch = _torch()
    t_out, t_g = f(torch)
    np.testing.assert_array_equal(t_out.detach().numpy(), [np.eye(2)])
    np.testing.assert_array_equal(t_g.numpy(), np.zeros((1, 2, 2)))


def test_matrix_power_of_integers_and_n_one_copy():
    """matrix_power of an int64 matrix with n >= 0 is an integer product (it raised; n < 0 needs floats, as
    PyTorch); n = 1 returns a new tensor, so writing to it leaves A alone (it returned A itself)."""
    def f(L):
        A = L.tensor([[1, 2], [3, 4]])
        B = L.linalg.matrix_power(A.double(), 1)
        B[0, 0] = 9.0
        return L.linalg.matrix_power(A, 3), L.linalg.matrix_power(A, 0), A

    cube, eye, A = f(eg)
    assert cube.dtype == eg.int64 and _np(cube).tolist() == [[37, 54], [81, 118]]
    assert _np(eye).tolist() == [[1, 0], [0, 1]] and eye.dtype == eg.int64
    A = eg.tensor([[1., 2.], [3., 4.]])
    B = eg.linalg.matrix_power(A, 1)
    B[0, 0] = 9.0
    assert float(A[0, 0]) == 1.0
    _raises_like_torch(lambda L: L.linalg.matrix_power(L.tensor([[1, 2], [3, 4]]), -1), ArgumentTypeError)
    torch = _torch()
    t_cube, t_eye, _ = f(torch)
    assert t_cube.tolist() == [[37, 54], [81, 118]] and t_eye.tolist() == [[1, 0], [0, 1]]
    A = torch.tensor([[1., 2.], [3., 4.]])
    B = torch.linalg.matrix_power(A, 1)
    B[0, 0] = 9.0
    assert float(A[0, 0]) == 1.0


def test_logcumsumexp_of_a_0d_tensor_checks_dim():
    _raises_like_torch(lambda L: L.logcumsumexp(L.tensor(1.0), 1), IndexError, IndexError)
    assert float(eg.logcumsumexp(eg.tensor(1.0), -1)) == 1.0


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_gradient_of_the_whole_factor(upper):
    """cholesky_solve(B, L): PyTorch's gradient of L is -(dB X^T + X dB^T) L over the whole matrix; it was
    masked to L's triangle (two triangular solves). The value reads the triangle only."""
    low = np.array([[2., 0.], [0.5, 1.5]])
    factor = low.T.copy() if upper else low
    factor_with_junk = factor + (np.array([[0., 7.], [0., 0.]]) if not upper else np.array([[0., 0.], [7., 0.]]))

    def f(L):
        F = L.tensor(factor_with_junk, dtype=L.float64, requires_grad=True)
        B = L.tensor([[1.], [2.]], dtype=L.float64, requires_grad=True)
        X = L.cholesky_solve(B, F, upper=upper)
        X.sum().backward()
        return X, B.grad, F.grad

    X, gb, gf = f(eg)
    A = low @ low.T
    x = np.linalg.solve(A, [[1.], [2.]])
    np.testing.assert_allclose(_np(X), x, rtol=1e-13)
    g_b = np.linalg.solve(A, np.ones((2, 1)))
    np.testing.assert_allclose(_np(gb), g_b, rtol=1e-13)
    common = g_b @ x.T + x @ g_b.T
    expected = -(factor_with_junk @ common if upper else common @ factor_with_junk)
    np.testing.assert_allclose(_np(gf), expected, rtol=1e-13)
    assert _np(gf)[(0, 1) if not upper else (1, 0)] != 0  # the other triangle has its gradient too
    torch = _torch()
    for a, b in zip((X, gb, gf), f(torch)):
        np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=1e-12)


def test_cholesky_solve_broadcasts_batches_with_gradients_in_input_shapes():
    def f(L):
        F = L.tensor(np.eye(2) * 2.0, requires_grad=True)
        B = L.tensor(np.ones((3, 2, 1)), requires_grad=True)
        L.cholesky_solve(B, F).sum().backward()
        return F.grad, B.grad

    gf, gb = f(eg)
    assert gf.shape == (2, 2) and gb.shape == (3, 2, 1)
    np.testing.assert_allclose(_np(gb), np.full((3, 2, 1), 0.25))
    np.testing.assert_allclose(_np(gf), [[-0.75, -0.75], [-0.75, -0.75]])  # 3 batches of -0.25
    torch = _torch()
    tf, tb = f(torch)
    np.testing.assert_allclose(_np(gf), tf.numpy(), rtol=1e-13)


def test_matrix_rank_older_tol_argument():
    """linalg.matrix_rank(A, tol) (PyTorch's older overload, tol also positional, with hermitian): atol = tol,
    rtol = 0 (it raised TypeError)."""
    def f(L):
        A = L.tensor(np.diag([3., 1., 0.2, 0.]))
        return [int(L.linalg.matrix_rank(A, tol=0.5)), int(L.linalg.matrix_rank(A, 0.1)),
                int(L.linalg.matrix_rank(A, 0.5, True))]

    assert f(eg) == [2, 3, 2]
    torch = _torch()
    assert f(torch) == [2, 3, 2]
