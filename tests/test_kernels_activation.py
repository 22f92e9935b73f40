"""Activation kernels (relu, sigmoid, tanh; forward and backward from the saved output) against the
NumPy reference in eigengrad.reference, plus the argument checks of the bindings."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

KINDS = ["relu", "sigmoid", "tanh"]
REF_FORWARD = {"relu": ref.relu_forward, "sigmoid": ref.sigmoid_forward, "tanh": ref.tanh_forward}
REF_BACKWARD = {"relu": ref.relu_backward, "sigmoid": ref.sigmoid_backward, "tanh": ref.tanh_backward}
SHAPES = [(0,), (1,), (7,), (13, 31), (1000, 257), (3, 0, 5)]
SHAPE_IDS = ["0", "1", "7", "13x31", "1000x257", "3x0x5"]


def expected_forward(kind, x):
    """The reference on the float64 values of x (the oracle), cast back to x's dtype."""
    with np.errstate(over="ignore"):
        return REF_FORWARD[kind](x.astype(np.float64)).astype(x.dtype)


def expected_backward(kind, g, y):
    return REF_BACKWARD[kind](g.astype(np.float64), y.astype(np.float64)).astype(y.dtype)


def check_forward(kind, actual, x):
    assert actual.dtype == x.dtype and actual.shape == x.shape
    exp = expected_forward(kind, x)
    if kind == "relu":
        np.testing.assert_array_equal(actual, exp)  # exact
    else:
        assert_close(actual, exp, x.dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_forward_matches_reference(rng, dtype, kind, shape):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    y = _kernels.activation_forward(kind, x)
    check_forward(kind, y, x)
    # the reference evaluated in the input's own dtype agrees at the same tolerance
    with np.errstate(over="ignore"):
        assert_close(y, REF_FORWARD[kind](x), dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_backward_matches_reference(rng, dtype, kind, shape):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    y = expected_forward(kind, x)
    g = rng.standard_normal(shape).astype(dtype)
    gx = _kernels.activation_backward(kind, g, y)
    assert gx.dtype == np.dtype(dtype) and gx.shape == shape
    exp = expected_backward(kind, g, y)
    if kind == "relu":
        np.testing.assert_array_equal(gx, exp)
    else:
        assert_close(gx, exp, dtype, scale=max(float(np.max(np.abs(g), initial=0)), 1e-30))
    assert_close(gx, REF_BACKWARD[kind](g, y), dtype, scale=max(float(np.max(np.abs(g), initial=0)), 1e-30))


def test_relu_backward_at_zero_and_negative_zero(dtype):
    # The derivative is taken as [y > 0]: 0 at y == 0 and y == -0.
    y = np.array([0.0, -0.0, 1e-30, -1.0, 2.0], dtype)
    g = np.array([5.0, 6.0, 7.0, 8.0, 9.0], dtype)
    np.testing.assert_array_equal(_kernels.activation_backward("relu", g, y), [0, 0, 7, 0, 9])
    x = np.array([-0.0, 0.0, -1e-30, 3.5], dtype)
    np.testing.assert_array_equal(_kernels.activation_forward("relu", x), [0, 0, 0, 3.5])


EXTREMES = [-1e3, -100.0, -50.0, -20.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 20.0, 50.0, 100.0, 1e3]


@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_large_magnitudes_saturate(dtype, kind):
    x = np.array(EXTREMES, dtype)
    y = _kernels.activation_forward(kind, x)
    assert np.all(np.isfinite(y)), y
    check_forward(kind, y, x)
    assert np.all(np.diff(y.astype(np.float64)) >= 0), "must be monotone"
    big = np.abs(x) >= 50
    if kind == "sigmoid":
        assert np.all((y >= 0) & (y <= 1))
        np.testing.assert_array_equal(y[(x >= 50)], 1)
        assert np.all(y[x <= -50] <= 1e-21)
        # float32 SIMD exp clamps its argument near -88.7, giving ~2.9e-39 rather than 0 for very negative x
        assert y[x == -1e3][0] <= (4e-39 if dtype == np.float32 else 0.0)
        assert y[x == 0][0] == 0.5
    else:
        assert np.all((y >= -1) & (y <= 1))
        np.testing.assert_array_equal(y[big], np.sign(x[big]))
        assert y[x == 0][0] == 0
        # tanh is odd
        np.testing.assert_array_equal(y, -y[::-1])
    # and the backward at saturation is 0 (not NaN)
    gx = _kernels.activation_backward(kind, np.ones_like(y), y)
    assert np.all(np.isfinite(gx))
    np.testing.assert_array_equal(gx[big & (x > 0)], 0)


@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_wide_range_of_inputs(rng, dtype, kind):
    x = rng.uniform(-1e3, 1e3, 100_003).astype(dtype)
    x[::7] = rng.uniform(-30, 30, x[::7].size)
    y = _kernels.activation_forward(kind, x)
    assert np.all(np.isfinite(y))
    check_forward(kind, y, x)


@pytest.mark.parametrize("kind", KINDS)
def test_non_contiguous_and_fortran_inputs(rng, dtype, kind):
    base = (rng.standard_normal((40, 90)) * 3).astype(dtype)
    views = {
        "strided": base[::2, ::3],
        "fortran": np.asfortranarray(base[:13, :31]),
        "transposed": base.T,
        "negative_stride": base[::-1, ::-2],
    }
    for name, x in views.items():
        assert not x.flags.c_contiguous, name
        before = base.copy()
        y = _kernels.activation_forward(kind, x)
        np.testing.assert_array_equal(base, before)  # input untouched
        assert y.shape == x.shape
        # Bitwise equality is not asserted for sigmoid: Eigen's scalar (peel/tail) and SIMD logistic differ
        # in the last bits of the far negative tail, so the result depends on the buffers' alignment.
        same = np.testing.assert_array_equal if kind != "sigmoid" else (lambda a, b, err_msg: assert_close(a, b, dtype))
        same(y, _kernels.activation_forward(kind, np.ascontiguousarray(x)), err_msg=name)
        check_forward(kind, y, x)
        g = rng.standard_normal(x.shape).astype(dtype).T.copy().T  # Fortran-ordered grad
        y_f = y.T.copy().T  # Fortran-ordered saved output
        assert y_f.flags.f_contiguous and not y_f.flags.c_contiguous
        gx = _kernels.activation_backward(kind, g, y_f)
        assert gx.flags.c_contiguous
        np.testing.assert_array_equal(gx, _kernels.activation_backward(kind, np.ascontiguousarray(g), y), err_msg=name)


# --- binding (_C) behaviour and checks ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_in_place_forward_and_backward(rng, dtype, kind):
    x = (rng.standard_normal((37, 41)) * 3).astype(dtype)
    orig = x.copy()
    assert getattr(_C, f"{kind}_forward")(x, x) is None
    check_forward(kind, x, orig)
    y = x.copy()
    g = rng.standard_normal(x.shape).astype(dtype)
    g_orig = g.copy()
    getattr(_C, f"{kind}_backward")(g, y, g)  # grad_in may be grad_out
    np.testing.assert_array_equal(g, _kernels.activation_backward(kind, g_orig, y))


@pytest.mark.parametrize("kind", KINDS)
def test_partial_overlap_rejected(dtype, kind):
    buf = np.linspace(-2, 2, 20).astype(dtype)
    before = buf.copy()
    fwd, bwd = getattr(_C, f"{kind}_forward"), getattr(_C, f"{kind}_backward")
    with pytest.raises(ValueError, match=r"^out: must be x itself or not overlap"):
        fwd(buf[:16], buf[4:])
    with pytest.raises(ValueError, match=r"^out:"):
        fwd(buf[4:], buf[:16])
    other = np.full(16, 0.5, dtype)
    with pytest.raises(ValueError, match=r"^grad_in: must be grad_out itself"):
        bwd(buf[:16], other, buf[2:18])
    with pytest.raises(ValueError, match=r"^grad_in: must be y itself"):
        bwd(other, buf[:16], buf[2:18])
    np.testing.assert_array_equal(buf, before)
    # disjoint halves of one buffer are fine
    fwd(buf[:10], buf[10:])
    check_forward(kind, buf[10:], before[:10])


@pytest.mark.parametrize("kind", KINDS)
def test_read_only_out_rejected(dtype, kind):
    x = np.ones(5, dtype)
    out = np.zeros(5, dtype)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: expected a writeable"):
        getattr(_C, f"{kind}_forward")(x, out)
    with pytest.raises(ValueError, match=r"^grad_in: expected a writeable"):
        getattr(_C, f"{kind}_backward")(x, x, out)
    np.testing.assert_array_equal(out, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_non_contiguous_out_rejected(dtype, kind):
    x = np.ones(5, dtype)
    buf = np.zeros(10, dtype)
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        getattr(_C, f"{kind}_forward")(x, buf[::2])
    with pytest.raises(ValueError, match=r"^x: expected a C-contiguous"):
        getattr(_C, f"{kind}_forward")(buf[::2], x.copy())
    with pytest.raises(ValueError, match=r"^grad_in: expected a C-contiguous"):
        getattr(_C, f"{kind}_backward")(x, x, buf[::2])
    np.testing.assert_array_equal(buf, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_mismatch_rejected(kind):
    g32, y64 = np.ones(4, np.float32), np.full(4, 0.5)
    bwd, fwd = getattr(_C, f"{kind}_backward"), getattr(_C, f"{kind}_forward")
    with pytest.raises(TypeError, match=r"^y: expected dtype float32 \(the dtype of grad_out\), got float64"):
        bwd(g32, y64, np.empty(4, np.float32))
    with pytest.raises(TypeError, match=r"^y: expected dtype float64"):
        bwd(g32.astype(np.float64), y64.astype(np.float32), np.empty(4))
    with pytest.raises(TypeError, match=r"^grad_in: expected dtype float32"):
        bwd(g32, y64.astype(np.float32), np.empty(4))
    with pytest.raises(TypeError, match=r"^out: expected dtype float64"):
        fwd(y64, np.empty(4, np.float32))
    for bad in (np.int64, np.float16, np.complex128):
        with pytest.raises(TypeError, match=r"^x: expected a float32 or float64"):
            fwd(np.ones(4, bad), np.empty(4, bad))
        with pytest.raises(TypeError, match=r"^grad_out:"):
            bwd(np.ones(4, bad), y64, np.empty(4))
    with pytest.raises(TypeError, match=r"^input:"):
        _kernels.activation_forward(kind, np.ones(4, np.int32))


@pytest.mark.parametrize("kind", KINDS)
def test_shape_mismatch_rejected(dtype, kind):
    x = np.ones((3, 4), dtype)
    fwd, bwd = getattr(_C, f"{kind}_forward"), getattr(_C, f"{kind}_backward")
    with pytest.raises(ValueError, match=r"^out: expected shape \(3, 4\)"):
        fwd(x, np.empty((4, 3), dtype))
    with pytest.raises(ValueError, match=r"^out: expected shape \(3, 4\)"):
        fwd(x, np.empty(12, dtype))
    with pytest.raises(ValueError, match=r"^y: expected shape \(3, 4\)"):
        bwd(x, np.ones((3, 5), dtype), np.empty((3, 4), dtype))
    with pytest.raises(ValueError, match=r"^grad_in: expected shape \(3, 4\)"):
        bwd(x, x.copy(), np.empty((3, 4, 1), dtype))
    with pytest.raises(ValueError):
        _kernels.activation_backward(kind, x, np.ones((4, 3), dtype))
