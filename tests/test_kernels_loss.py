"""Loss kernels (softmax cross-entropy forward/backward, squared error) against the NumPy reference,
plus the argument checks of the bindings."""
import numpy as np
import pytest

from conftest import RTOL, assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref


def ce_case(rng, n, c, dtype, spread=3.0):
    logits = (rng.standard_normal((n, c)) * spread).astype(dtype)
    target = rng.integers(0, max(c, 1), n).astype(np.int64)
    return logits, target


def ce_expected(logits, target, ignore_index=-100):
    """The reference in float64 on the same logits."""
    return ref.softmax_cross_entropy_forward(logits.astype(np.float64), target, ignore_index)


def check_ce_forward(logits, target, ignore_index=-100):
    dtype = logits.dtype
    loss, lse = _kernels.softmax_cross_entropy(logits, target, ignore_index)
    assert loss.dtype == dtype and lse.dtype == dtype
    assert loss.shape == lse.shape == (logits.shape[0],)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(lse))
    exp_loss, exp_lse = ce_expected(logits, target, ignore_index)
    assert_close(lse, exp_lse, dtype)
    # loss = lse - x_t cancels: its error is relative to the size of lse and x_t, not of the loss.
    scale = max(float(np.max(np.abs(exp_lse), initial=0)), float(np.max(np.abs(logits), initial=0)), 1e-30)
    assert_close(loss, exp_loss, dtype, scale=scale)
    ignored = target == ignore_index
    assert np.all(loss[ignored] == 0)
    return loss, lse


def check_ce_backward(logits, target, lse, scale, ignore_index=-100):
    dtype = logits.dtype
    grad = _kernels.softmax_cross_entropy_backward(logits, target, lse, scale, ignore_index)
    assert grad.dtype == dtype and grad.shape == logits.shape
    assert np.all(np.isfinite(grad))
    exp = ref.softmax_cross_entropy_backward(logits.astype(np.float64), target, lse.astype(np.float64),
                                             scale.astype(np.float64), ignore_index)
    assert_close(grad, exp, dtype, scale=max(float(np.max(np.abs(scale), initial=0)), 1e-30))
    ignored = target == ignore_index
    assert np.all(grad[ignored] == 0)
    if logits.shape[1]:
        # each kept row is scale * (softmax - onehot): it sums to 0
        sums = grad[~ignored].astype(np.float64).sum(axis=1)
        np.testing.assert_allclose(sums, 0, atol=10 * RTOL[np.dtype(dtype).type] * max(logits.shape[1], 1)
                                   * max(float(np.max(np.abs(scale), initial=0)), 1e-30))
    return grad


CE_SHAPES = [(1, 1), (1, 10), (7, 1), (7, 13), (31, 97), (97, 7), (300, 10), (5, 1031)]


@pytest.mark.parametrize("n,c", CE_SHAPES, ids=[f"{n}x{c}" for n, c in CE_SHAPES])
def test_softmax_ce_matches_reference(rng, dtype, n, c):
    logits, target = ce_case(rng, n, c, dtype)
    loss, lse = check_ce_forward(logits, target)
    assert np.all(loss >= -RTOL[np.dtype(dtype).type] * 10 * np.abs(lse).max())  # loss >= 0 up to rounding
    scale = rng.uniform(0.1, 2.0, n).astype(dtype)
    check_ce_backward(logits, target, lse, scale)
    # the reference run in the input dtype agrees too
    r_loss, r_lse = ref.softmax_cross_entropy_forward(logits, target)
    assert_close(lse, r_lse, dtype)



# Rows of up to 64 classes are computed in groups of 256 // c rows (cpp/src/loss.cpp, group_rows); 65 and
# more one at a time. A row alone is a group of one (whose backward is the one-row code).
GROUP_SHAPES = [(61, 1), (61, 3), (61, 10), (61, 64), (61, 65), (300, 10)]


@pytest.mark.parametrize("n,c", GROUP_SHAPES, ids=[f"{n}x{c}" for n, c in GROUP_SHAPES])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted-smoothed"])
def test_softmax_ce_rows_do_not_depend_on_the_rows_beside_them(rng, dtype, n, c, weighted):
    """Each row's loss, log-sum-exp and gradient have the bits the row gives alone, whatever group it
    falls in; ignored rows (every 7th) give zeros even with a NaN scale."""
    logits, target = ce_case(rng, n, c, dtype)
    target[::7] = -100
    scale = rng.uniform(0.1, 2.0, n).astype(dtype)
    scale[::7] = np.nan
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    if weighted:
        def fwd(x, t):
            return _kernels.weighted_softmax_cross_entropy(x, t, w, 0.1, -100)

        def bwd(x, t, lse, s):
            return _kernels.weighted_softmax_cross_entropy_backward(x, t, w, 0.1, lse, s, -100)
    else:
        def fwd(x, t):
            return _kernels.softmax_cross_entropy(x, t, -100)

        def bwd(x, t, lse, s):
            return _kernels.softmax_cross_entropy_backward(x, t, lse, s, -100)
    loss, lse = fwd(logits, target)
    grad = bwd(logits, target, lse, scale)
    assert np.all(grad[::7] == 0) and np.all(np.isfinite(grad))
    for i in range(n):
        row = slice(i, i + 1)
        loss_i, lse_i = fwd(logits[row], target[row])
        assert loss_i.tobytes() == loss[row].tobytes() and lse_i.tobytes() == lse[row].tobytes(), i
        assert bwd(logits[row], target[row], lse[row], scale[row]).tobytes() == grad[row].tobytes(), i

def test_softmax_ce_single_class(dtype, rng):
    logits = (rng.standard_normal((9, 1)) * 100).astype(dtype)
    target = np.zeros(9, np.int64)
    loss, lse = _kernels.softmax_cross_entropy(logits, target, -100)
    np.testing.assert_array_equal(lse, logits[:, 0])
    np.testing.assert_array_equal(loss, 0)
    grad = _kernels.softmax_cross_entropy_backward(logits, target, lse, np.ones(9, dtype), -100)
    np.testing.assert_array_equal(grad, 0)


@pytest.mark.parametrize("c", [0, 1, 5])
def test_softmax_ce_no_rows(dtype, c):
    logits = np.empty((0, c), dtype)
    target = np.empty(0, np.int64)
    loss, lse = _kernels.softmax_cross_entropy(logits, target, -100)
    assert loss.shape == lse.shape == (0,)
    assert loss.dtype == lse.dtype == np.dtype(dtype)
    grad = _kernels.softmax_cross_entropy_backward(logits, target, lse, np.empty(0, dtype), -100)
    assert grad.shape == (0, c)


def test_softmax_ce_huge_logits(dtype, rng):
    n, c = 64, 11
    logits = (rng.standard_normal((n, c)) * 1e4).astype(dtype)
    logits[0] = 1e4  # all equal and huge: lse = 1e4 + log(c)
    logits[1] = -1e4
    logits[2, :] = -1e4
    logits[2, 3] = 1e4  # one dominant class
    target = rng.integers(0, c, n).astype(np.int64)
    target[2] = 3
    target[3] = -100
    loss, lse = check_ce_forward(logits, target)
    tol = RTOL[np.dtype(dtype).type] * 1e4
    np.testing.assert_allclose(lse[0], 1e4 + np.log(c), rtol=0, atol=tol)
    np.testing.assert_allclose(lse[1], -1e4 + np.log(c), rtol=0, atol=tol)
    np.testing.assert_allclose(loss[0], np.log(c), rtol=0, atol=tol)
    assert lse[2] == logits[2, 3] and loss[2] == 0  # exp(-2e4) vanishes
    scale = np.full(n, 1.0 / n, dtype)
    grad = check_ce_backward(logits, target, lse, scale)
    # exp(-2e4) is 0; Eigen's SIMD exp clamps its argument and may leave a subnormal instead
    assert np.all(np.abs(grad[2]) < 1e-300 if dtype == np.float64 else np.abs(grad[2]) < 1e-37)
    np.testing.assert_allclose(grad[0], (1.0 / c - (np.arange(c) == target[0])) / n, rtol=0,
                               atol=10 * RTOL[np.dtype(dtype).type])


@pytest.mark.parametrize("ignore_index", [-100, 3, -1, 1000])
def test_softmax_ce_ignore_index(rng, dtype, ignore_index):
    n, c = 50, 7
    logits, target = ce_case(rng, n, c, dtype)
    rows = rng.choice(n, 15, replace=False)
    target[rows] = ignore_index
    if 0 <= ignore_index < c:  # an in-range class used as ignore_index: every row of that class is ignored
        assert np.count_nonzero(target == ignore_index) >= 15
    loss, lse = check_ce_forward(logits, target, ignore_index)
    kept = target != ignore_index
    assert np.all(loss[kept] > 0)  # random logits: no kept row has a zero loss
    # lse is computed for ignored rows too
    assert_close(lse, ce_expected(logits, target, ignore_index)[1], dtype)
    scale = rng.uniform(0.5, 1.5, n).astype(dtype)
    grad = check_ce_backward(logits, target, lse, scale, ignore_index)
    assert np.all(np.abs(grad[kept]).sum(axis=1) > 0)


def test_softmax_ce_ignore_index_only_rows(dtype, rng):
    logits, _ = ce_case(rng, 4, 3, dtype)
    target = np.full(4, -100, np.int64)
    loss, lse = _kernels.softmax_cross_entropy(logits, target, -100)
    np.testing.assert_array_equal(loss, 0)
    grad = _kernels.softmax_cross_entropy_backward(logits, target, lse, np.ones(4, dtype), -100)
    np.testing.assert_array_equal(grad, 0)


def test_softmax_ce_strided_logits(rng, dtype):
    base = (rng.standard_normal((40, 30)) * 3).astype(dtype)
    logits = base[::2, ::3]
    target = rng.integers(0, logits.shape[1], logits.shape[0])
    loss, lse = check_ce_forward(logits, target)
    # Same values in a contiguous copy: same result (to rounding: Eigen's scalar and SIMD exp may differ in
    # the last bit, so the result can depend on the alignment of the buffers)
    loss_c, lse_c = _kernels.softmax_cross_entropy(np.ascontiguousarray(logits), target, -100)
    assert_close(loss, loss_c, dtype, scale=float(np.abs(lse).max()))
    assert_close(lse, lse_c, dtype)
    g = _kernels.softmax_cross_entropy_backward(np.asfortranarray(logits), target, lse, np.ones(20, dtype), -100)
    g_c = _kernels.softmax_cross_entropy_backward(np.ascontiguousarray(logits), target, lse, np.ones(20, dtype), -100)
    assert_close(g, g_c, dtype, scale=1.0)
    check_ce_backward(np.asfortranarray(logits), target, lse, np.ones(20, dtype))


# --- binding checks: targets and dtypes ------------------------------------------------------------

def _ce_bufs(n=5, c=4, dtype=np.float64):
    logits = np.zeros((n, c), dtype)
    return logits, np.zeros(n, dtype), np.zeros(n, dtype)


@pytest.mark.parametrize("bad", [4, 5, -1, -101, 2**40])
def test_target_out_of_range(bad):
    logits, loss, lse = _ce_bufs()
    target = np.array([0, 1, bad, 3, 0], np.int64)
    with pytest.raises(ValueError, match=rf"^target: class index {bad} at position 2 is out of range"):
        _C.softmax_cross_entropy_forward(logits, target, loss, lse, -100)
    with pytest.raises(ValueError, match=r"^target:"):
        _C.softmax_cross_entropy_backward(logits, target, lse, np.ones(5), np.empty((5, 4)), -100)
    with pytest.raises(ValueError, match=r"^target:"):
        _kernels.softmax_cross_entropy(logits, target, -100)


def test_target_out_of_range_with_custom_ignore_index():
    logits, loss, lse = _ce_bufs()
    target = np.array([0, 1, -100, 3, 0], np.int64)
    with pytest.raises(ValueError, match=r"^target: class index -100 .* ignore_index \(7\)"):
        _C.softmax_cross_entropy_forward(logits, target, loss, lse, 7)
    target[2] = 7
    _C.softmax_cross_entropy_forward(logits, target, loss, lse, 7)  # 7 is ignored, not out of range
    assert loss[2] == 0


@pytest.mark.parametrize("bad", [np.int32, np.uint64, np.float64, np.float32])
def test_target_wrong_dtype(bad):
    logits, loss, lse = _ce_bufs()
    target = np.zeros(5, bad)
    with pytest.raises(TypeError, match=r"^target: expected an int64 array"):
        _C.softmax_cross_entropy_forward(logits, target, loss, lse, -100)
    with pytest.raises(TypeError, match=r"^target: expected an int64 array"):
        _C.softmax_cross_entropy_backward(logits, target, lse, np.ones(5), np.empty((5, 4)), -100)


def test_ce_binding_shape_and_dtype_checks():
    logits, loss, lse = _ce_bufs()
    t = np.zeros(5, np.int64)
    with pytest.raises(ValueError, match=r"^target: expected shape \(5,\)"):
        _C.softmax_cross_entropy_forward(logits, np.zeros(4, np.int64), loss, lse, -100)
    with pytest.raises(ValueError, match=r"^target: expected a C-contiguous"):
        _C.softmax_cross_entropy_forward(logits, np.zeros(10, np.int64)[::2], loss, lse, -100)
    with pytest.raises(ValueError, match=r"^logits: expected a 2-D"):
        _C.softmax_cross_entropy_forward(np.zeros(5), t, loss, lse, -100)
    with pytest.raises(ValueError, match=r"^logits: expected at least one class"):
        _C.softmax_cross_entropy_forward(np.zeros((5, 0)), t, loss, lse, -100)
    with pytest.raises(TypeError, match=r"^logits: expected a float32 or float64"):
        _C.softmax_cross_entropy_forward(np.zeros((5, 4), np.int64), t, loss, lse, -100)
    with pytest.raises(TypeError, match=r"^loss: expected dtype float64"):
        _C.softmax_cross_entropy_forward(logits, t, loss.astype(np.float32), lse, -100)
    with pytest.raises(ValueError, match=r"^lse: expected shape \(5,\)"):
        _C.softmax_cross_entropy_forward(logits, t, loss, np.zeros(4), -100)
    with pytest.raises(ValueError, match=r"^lse: must not share memory with loss"):
        _C.softmax_cross_entropy_forward(logits, t, lse, lse, -100)
    ro = np.zeros(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^lse: expected a writeable"):
        _C.softmax_cross_entropy_forward(logits, t, loss, ro, -100)
    with pytest.raises(ValueError, match=r"^scale: expected shape \(5,\)"):
        _C.softmax_cross_entropy_backward(logits, t, lse, np.ones(3), np.empty((5, 4)), -100)
    with pytest.raises(TypeError, match=r"^lse: expected dtype float64"):
        _C.softmax_cross_entropy_backward(logits, t, lse.astype(np.float32), np.ones(5), np.empty((5, 4)), -100)
    with pytest.raises(ValueError, match=r"^grad_logits: expected shape \(5, 4\)"):
        _C.softmax_cross_entropy_backward(logits, t, lse, np.ones(5), np.empty((4, 5)), -100)
    with pytest.raises(ValueError, match=r"^grad_logits: must not share memory with logits"):
        _C.softmax_cross_entropy_backward(logits, t, lse, np.ones(5), logits, -100)


# --- squared error ----------------------------------------------------------------------------------

SE_SHAPES = [(0,), (1,), (7,), (13, 31), (1000, 257), (3, 0, 5)]
SE_IDS = ["0", "1", "7", "13x31", "1000x257", "3x0x5"]


@pytest.mark.parametrize("shape", SE_SHAPES, ids=SE_IDS)
def test_squared_error_sum(rng, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    s = _kernels.squared_error_sum(x, y)
    assert isinstance(s, float)
    exp = ref.squared_error_sum(x, y)
    if x.size == 0:
        assert s == 0.0
    else:
        # accumulated in float64 for both dtypes: the float64 tolerance applies
        assert abs(s - exp) <= RTOL[np.float64] * exp
        assert s > 0


def test_squared_error_sum_is_accumulated_in_double():
    # One chunk of float32 data: 1e8 + 32767 * 1. Summed in float32 the ones would vanish (the spacing of
    # float32 near 1e8 is 8); the kernel squares and sums in float64, which is exact here.
    n = 32768
    x = np.ones(n, np.float32)
    x[0] = 1e4
    y = np.zeros(n, np.float32)
    assert _kernels.squared_error_sum(x, y) == 1e8 + (n - 1)
    assert _kernels.squared_error_sum(y, x) == 1e8 + (n - 1)
    # and the difference is taken in float64 too: (1 + 2**-20) - 1 squared is 2**-40, exactly
    assert _kernels.squared_error_sum(np.full(3, 1 + 2**-20, np.float32), np.ones(3, np.float32)) == 3 * 2.0**-40


@pytest.mark.parametrize("shape", SE_SHAPES, ids=SE_IDS)
def test_squared_error_elementwise(rng, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    out = _kernels.squared_error(x, y)
    assert out.dtype == np.dtype(dtype) and out.shape == shape
    assert_close(out, ref.squared_error(x, y), dtype)
    assert_close(out, ref.squared_error(x.astype(np.float64), y.astype(np.float64)), dtype)


@pytest.mark.parametrize("shape", SE_SHAPES, ids=SE_IDS)
@pytest.mark.parametrize("with_grad", [False, True], ids=["nograd", "grad"])
def test_squared_error_backward(rng, dtype, shape, with_grad):
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype) if with_grad else None
    coef = 2.0 / max(x.size, 1)
    gx = _kernels.squared_error_backward(x, y, g, coef)
    assert gx.dtype == np.dtype(dtype) and gx.shape == shape
    assert_close(gx, ref.squared_error_backward(x, y, g, coef), dtype)
    g64 = None if g is None else g.astype(np.float64)
    assert_close(gx, ref.squared_error_backward(x.astype(np.float64), y.astype(np.float64), g64, coef), dtype)


def test_squared_error_strided_inputs(rng, dtype):
    base_x = rng.standard_normal((30, 40)).astype(dtype)
    base_y = rng.standard_normal((40, 30)).astype(dtype)
    x, y = base_x[::3, ::2], base_y.T[::3, ::2]
    assert_close(_kernels.squared_error(x, y), ref.squared_error(x, y), dtype)
    assert abs(_kernels.squared_error_sum(x, y) - ref.squared_error_sum(x, y)) <= 1e-12 * ref.squared_error_sum(x, y)
    g = np.asfortranarray(base_y[::2, ::3].T)
    assert g.shape == x.shape and not g.flags.c_contiguous
    assert_close(_kernels.squared_error_backward(x, y, g, 0.5), ref.squared_error_backward(x, y, g, 0.5), dtype)


def test_squared_error_binding_checks():
    x, y = np.ones(6), np.zeros(6)
    with pytest.raises(TypeError, match=r"^target: expected dtype float64"):
        _C.squared_error_sum(x, y.astype(np.float32))
    with pytest.raises(ValueError, match=r"^target: expected shape \(6,\)"):
        _C.squared_error_sum(x, np.zeros(5))
    with pytest.raises(TypeError, match=r"^input: expected a float32 or float64"):
        _C.squared_error_sum(x.astype(np.int64), y.astype(np.int64))
    with pytest.raises(ValueError, match=r"^out: expected a writeable"):
        ro = np.zeros(6)
        ro.flags.writeable = False
        _C.squared_error(x, y, ro)
    buf = np.arange(10.0)
    with pytest.raises(ValueError, match=r"^out: must be input itself or not overlap"):
        _C.squared_error(buf[:6], y, buf[2:8])
    out = x.copy()
    _C.squared_error(out, y, out)  # in place is allowed
    np.testing.assert_array_equal(out, 1)
    with pytest.raises(TypeError, match=r"^grad_out: expected dtype float64"):
        _C.squared_error_backward(x, y, np.ones(6, np.float32), 2.0, np.empty(6))
    with pytest.raises(ValueError, match=r"^grad_out: expected shape \(6,\)"):
        _C.squared_error_backward(x, y, np.ones(5), 2.0, np.empty(6))
    with pytest.raises(TypeError, match=r"^grad_out"):
        _C.squared_error_backward(x, y, [1.0] * 6, 2.0, np.empty(6))
    with pytest.raises(ValueError, match=r"^grad_in: must be grad_out itself or not overlap"):
        _C.squared_error_backward(x, y, buf[1:7], 2.0, buf[3:9])
    with pytest.raises(ValueError, match=r"^grad_in: expected shape \(6,\)"):
        _C.squared_error_backward(x, y, None, 2.0, np.empty(7))
