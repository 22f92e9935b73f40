"""The fused SGD step (eigengrad._kernels.sgd_step / _C.sgd_step) against eigengrad.reference.sgd_step,
both updating param and momentum_buffer in place, plus the argument checks of the binding."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.1, maximize=True),
    dict(lr=0.1, maximize=True, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.1),
    dict(lr=0.05, momentum=0.9, dampening=1.0),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
    dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=1e-3, maximize=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True, weight_decay=0.01),
    dict(lr=1e-3, momentum=0.99, dampening=0.3, weight_decay=0.5),
    dict(lr=0.0, momentum=0.9),
]


def _id(opt):
    return "-".join(f"{k}={v}" for k, v in opt.items())


@pytest.mark.parametrize("n", [0, 1, 7, 100003])
@pytest.mark.parametrize("opt", OPTIONS, ids=[_id(o) for o in OPTIONS])
def test_sgd_matches_reference_over_steps(rng, dtype, opt, n):
    param = rng.standard_normal(n).astype(dtype)
    param0, p_ref = param.copy(), param.copy()
    uses_momentum = opt.get("momentum", 0.0) != 0
    buf = np.full(n, np.nan, dtype) if uses_momentum else None  # first_step must overwrite it
    b_ref = np.zeros(n, dtype) if uses_momentum else None
    for step in range(4):
        grad = rng.standard_normal(n).astype(dtype)
        grad_copy = grad.copy()
        first = step == 0
        _kernels.sgd_step(param, grad, buf, first_step=first, **opt)
        ref.sgd_step(p_ref, grad.copy(), b_ref, first_step=first, **opt)
        np.testing.assert_array_equal(grad, grad_copy)  # grad is read only
        assert param.dtype == np.dtype(dtype)
        assert_close(param, p_ref, dtype)
        if uses_momentum:
            assert np.all(np.isfinite(buf))
            assert_close(buf, b_ref, dtype)
    if n:
        # the steps did something (and lr = 0 did nothing to param)
        assert np.array_equal(param, param0) == (opt["lr"] == 0)


def test_sgd_plain_step_exact_values(dtype):
    p = np.array([1.0, -2.0, 0.5], dtype)
    g = np.array([0.5, 0.25, -1.0], dtype)
    _kernels.sgd_step(p, g, None, lr=0.5)
    np.testing.assert_array_equal(p, np.array([0.75, -2.125, 1.0], dtype))
    _kernels.sgd_step(p, g, None, lr=0.5, maximize=True)
    np.testing.assert_array_equal(p, np.array([1.0, -2.0, 0.5], dtype))


def test_sgd_momentum_exact_values(dtype):
    # Two steps of momentum 0.5, dampening 0.5, lr 1 on a constant gradient of 1, worked by hand:
    # step 1: buf = g = 1, p = 0 - 1 = -1; step 2: buf = 0.5 * 1 + 0.5 * 1 = 1, p = -2.
    p, g, buf = np.zeros(3, dtype), np.ones(3, dtype), np.zeros(3, dtype)
    _kernels.sgd_step(p, g, buf, lr=1.0, momentum=0.5, dampening=0.5, first_step=True)
    np.testing.assert_array_equal(buf, 1)
    np.testing.assert_array_equal(p, -1)
    _kernels.sgd_step(p, g, buf, lr=1.0, momentum=0.5, dampening=0.5, first_step=False)
    np.testing.assert_array_equal(buf, 1)
    np.testing.assert_array_equal(p, -2)
    # Nesterov: step uses g + momentum * buf = 1 + 0.5 * 1 = 1.5
    _kernels.sgd_step(p, g, buf, lr=1.0, momentum=0.5, dampening=0.5, nesterov=True, first_step=False)
    np.testing.assert_array_equal(p, -3.5)
    # weight decay 0.5 on p = -3.5: g = 1 - 1.75 = -0.75; buf = 0.5 * 1 + 0.5 * (-0.75) = 0.125
    _kernels.sgd_step(p, g, buf, lr=1.0, momentum=0.5, dampening=0.5, weight_decay=0.5, first_step=False)
    np.testing.assert_array_equal(buf, 0.125)
    np.testing.assert_array_equal(p, -3.625)


def test_sgd_lr_zero_updates_only_buffer(rng, dtype):
    p = rng.standard_normal(10).astype(dtype)
    p0 = p.copy()
    g = rng.standard_normal(10).astype(dtype)
    buf = np.zeros(10, dtype)
    _kernels.sgd_step(p, g, buf, lr=0.0, momentum=0.9)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(buf, g)


def test_sgd_buffer_ignored_without_momentum(rng, dtype):
    p = rng.standard_normal(10).astype(dtype)
    g = rng.standard_normal(10).astype(dtype)
    buf = np.full(10, 7.0, dtype)
    buf_ro = buf.copy()
    buf_ro.flags.writeable = False
    expected = p - dtype(0.1) * g
    _kernels.sgd_step(p, g, buf_ro, lr=0.1)  # momentum 0: the buffer is neither read nor written
    np.testing.assert_array_equal(buf_ro, 7.0)
    assert_close(p, expected, dtype)


def test_sgd_strided_grad_is_fine(rng, dtype):
    # grad is only read: the adapter may copy it
    p = rng.standard_normal(50).astype(dtype)
    p_ref = p.copy()
    big = rng.standard_normal(150).astype(dtype)
    _kernels.sgd_step(p, big[::3], None, lr=0.2, weight_decay=0.1)
    ref.sgd_step(p_ref, big[::3].copy(), None, lr=0.2, weight_decay=0.1)
    assert_close(p, p_ref, dtype)


def test_sgd_multidimensional_param(rng, dtype):
    p = rng.standard_normal((13, 31)).astype(dtype)
    p_ref = p.copy()
    g = rng.standard_normal((13, 31)).astype(dtype)
    buf = np.zeros_like(p)
    b_ref = np.zeros_like(p)
    for first in (True, False):
        _kernels.sgd_step(p, g, buf, lr=0.1, momentum=0.9, nesterov=True, first_step=first)
        ref.sgd_step(p_ref, g, b_ref, lr=0.1, momentum=0.9, nesterov=True, first_step=first)
    assert_close(p, p_ref, dtype)
    assert_close(buf, b_ref, dtype)


# --- binding checks: in-place buffers are never silently copied --------------------------------------

def test_read_only_param_rejected(dtype):
    p = np.ones(5, dtype)
    p.flags.writeable = False
    with pytest.raises(ValueError, match=r"^param: expected a writeable"):
        _kernels.sgd_step(p, np.ones(5, dtype), None, lr=0.1)
    np.testing.assert_array_equal(p, 1)


@pytest.mark.parametrize("layout", ["strided", "fortran", "reversed"])
def test_non_contiguous_param_rejected(dtype, layout):
    base = np.ones((6, 8), dtype)
    if layout == "strided":
        p = base[:, ::2]
    elif layout == "fortran":
        base = np.asfortranarray(base)
        p = base
    else:
        p = base[::-1]
    g = np.ones(p.shape, dtype)
    with pytest.raises(ValueError, match=r"^param: expected a C-contiguous"):
        _kernels.sgd_step(p, g, None, lr=0.1)
    with pytest.raises(ValueError, match=r"^param: expected a C-contiguous"):
        _C.sgd_step(p, g, None, lr=0.1)
    np.testing.assert_array_equal(base, 1)  # neither updated in place nor through a copy


def test_non_contiguous_or_read_only_buffer_rejected(dtype):
    p = np.ones(4, dtype)
    g = np.ones(4, dtype)
    big = np.zeros(8, dtype)
    with pytest.raises(ValueError, match=r"^momentum_buffer: expected a C-contiguous"):
        _kernels.sgd_step(p, g, big[::2], lr=0.1, momentum=0.9)
    ro = np.zeros(4, dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^momentum_buffer: expected a writeable"):
        _kernels.sgd_step(p, g, ro, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p, 1)
    np.testing.assert_array_equal(big, 0)


def test_momentum_without_buffer_rejected(dtype):
    p = np.ones(4, dtype)
    with pytest.raises(TypeError, match=r"^momentum_buffer: expected a float array like param .*got NoneType"):
        _kernels.sgd_step(p, np.ones(4, dtype), None, lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match=r"^momentum_buffer: .*got list"):
        _C.sgd_step(p, np.ones(4, dtype), [0.0] * 4, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p, 1)


def test_dtype_mismatch_rejected():
    p32, p64 = np.ones(4, np.float32), np.ones(4, np.float64)
    with pytest.raises(TypeError, match=r"^grad: expected dtype float32 \(the dtype of param\), got float64"):
        _kernels.sgd_step(p32, np.ones(4, np.float64), None, lr=0.1)
    with pytest.raises(TypeError, match=r"^grad: expected dtype float64"):
        _kernels.sgd_step(p64, np.ones(4, np.float32), None, lr=0.1)
    with pytest.raises(TypeError, match=r"^momentum_buffer: expected dtype float32"):
        _kernels.sgd_step(p32, np.ones(4, np.float32), np.zeros(4, np.float64), lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match=r"^param: expected a float32 or float64"):
        _kernels.sgd_step(np.ones(4, np.int64), np.ones(4, np.int64), None, lr=0.1)
    with pytest.raises(TypeError, match=r"^param: expected a float32 or float64"):
        _kernels.sgd_step(np.ones(4, np.float16), np.ones(4, np.float16), None, lr=0.1)
    np.testing.assert_array_equal(p32, 1)
    np.testing.assert_array_equal(p64, 1)


def test_shape_mismatch_and_overlap_rejected(dtype):
    p = np.ones(4, dtype)
    with pytest.raises(ValueError, match=r"^grad: expected shape \(4,\)"):
        _kernels.sgd_step(p, np.ones(5, dtype), None, lr=0.1)
    with pytest.raises(ValueError, match=r"^momentum_buffer: expected shape \(4,\)"):
        _kernels.sgd_step(p, np.ones(4, dtype), np.zeros((2, 2), dtype), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"^param: must not share memory with grad"):
        _kernels.sgd_step(p, p, None, lr=0.1)
    with pytest.raises(ValueError, match=r"^momentum_buffer: must not share memory with param"):
        _kernels.sgd_step(p, np.ones(4, dtype), p, lr=0.1, momentum=0.9)
    g = np.ones(4, dtype)
    with pytest.raises(ValueError, match=r"^momentum_buffer: must not share memory with grad"):
        _kernels.sgd_step(p, g, g, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p, 1)
    np.testing.assert_array_equal(g, 1)


def test_lr_is_keyword_only_and_required():
    p = np.ones(4)
    with pytest.raises(TypeError):
        _C.sgd_step(p, np.ones(4), None, 0.1)
    with pytest.raises(TypeError):
        _C.sgd_step(p, np.ones(4), None)
    np.testing.assert_array_equal(p, 1)
