"""Normalisation kernels (batch, layer, group, local response norm; forward and backward) against the
NumPy reference, run in float64 on the same inputs; plus zero-size inputs, strided inputs, numerical
robustness, thread-count determinism and the argument checks of the bindings."""
import numpy as np
import pytest

import eigengrad
from conftest import assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

EPS = 1e-5
ALL = (True, True, True)


def f64(*arrays):
    return tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in arrays)


def params(rng, c, dtype, affine=True):
    if not affine:
        return None, None
    return (rng.uniform(0.5, 1.5, c).astype(dtype), rng.standard_normal(c).astype(dtype))


def grad_scale(g, weight, invstd):
    """What dx is relative to: |dy| * |w| * invstd (dx can be ~0 by cancellation, e.g. with two values)."""
    w = 1.0 if weight is None else float(np.max(np.abs(weight)))
    return max(float(np.max(np.abs(g), initial=0)) * w * float(np.max(invstd, initial=0)), 1e-30)


# --- batch norm -------------------------------------------------------------------------------------

BN_SHAPES = [
    (2, 3), (2, 7), (13, 31), (5, 1031), (300, 300), (1000, 5), (7, 16),  # (N, C): s == 1, blocks and pieces
    (2, 5, 7), (3, 17, 29), (70, 3, 1000),  # (N, C, L)
    (2, 3, 5, 7), (4, 16, 9, 11), (2, 2, 200, 201),  # (N, C, H, W); the last has spans > 2^15 values
]


def bn_case(rng, shape, dtype, offset=0.5, spread=2.0):
    x = (rng.standard_normal(shape) * spread + offset).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return x, g


@pytest.mark.parametrize("shape", BN_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batch_norm_train_matches_reference(rng, dtype, shape):
    x, g = bn_case(rng, shape, dtype)
    c = shape[1]
    w, b = params(rng, c, dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm_k, rv_k = rm.copy(), rv.copy()
    rm_r, rv_r = f64(rm, rv)
    y, mean, invstd = _kernels.batch_norm_forward(x, w, b, rm_k, rv_k, True, 0.1, EPS)
    y_r, mean_r, invstd_r = ref.batch_norm_forward(*f64(x, w, b), rm_r, rv_r, True, 0.1, EPS)
    assert y.dtype == dtype and y.shape == shape and mean.dtype == invstd.dtype == np.float64
    assert_close(mean, mean_r, np.float64, scale=max(float(np.max(np.abs(x))), 1.0))  # stats in double
    assert_close(invstd, invstd_r, np.float64)
    assert_close(y, y_r, dtype)
    assert_close(rm_k, rm_r, dtype)
    assert_close(rv_k, rv_r, dtype)
    gi, gw, gb = _kernels.batch_norm_backward(g, x, mean, invstd, w, True)
    gi_r, gw_r, gb_r = ref.batch_norm_backward(*f64(g, x), mean_r, invstd_r, f64(w)[0], True)
    assert_close(gi, gi_r, dtype, scale=grad_scale(g, w, invstd))
    assert_close(gw, gw_r, dtype)
    assert_close(gb, gb_r, dtype)


@pytest.mark.parametrize("shape", [(2, 3), (13, 31), (3, 17, 29), (4, 16, 9, 11)], ids=lambda s: "x".join(map(str, s)))
def test_batch_norm_eval_matches_reference(rng, dtype, shape):
    x, g = bn_case(rng, shape, dtype)
    c = shape[1]
    w, b = params(rng, c, dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    before = rm.copy(), rv.copy()
    y, mean, invstd = _kernels.batch_norm_forward(x, w, b, rm, rv, False, 0.1, EPS)
    y_r, mean_r, invstd_r = ref.batch_norm_forward(*f64(x, w, b, rm, rv), False, 0.1, EPS)
    np.testing.assert_array_equal(rm, before[0])  # eval never touches the running statistics
    np.testing.assert_array_equal(rv, before[1])
    np.testing.assert_array_equal(mean, rm.astype(np.float64))
    assert_close(y, y_r, dtype)
    gi, gw, gb = _kernels.batch_norm_backward(g, x, mean, invstd, w, False)
    gi_r, gw_r, gb_r = ref.batch_norm_backward(*f64(g, x), mean_r, invstd_r, f64(w)[0], False)
    assert_close(gi, gi_r, dtype)
    assert_close(gw, gw_r, dtype)
    assert_close(gb, gb_r, dtype)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_without_affine_and_partial_grads(rng, dtype, training):
    x, g = bn_case(rng, (6, 5, 4), dtype)
    rm, rv = np.zeros(5, dtype), np.ones(5, dtype)
    y, mean, invstd = _kernels.batch_norm_forward(x, None, None, rm, rv, training, 0.1, EPS)
    y_r, mean_r, invstd_r = ref.batch_norm_forward(*f64(x), None, None, *f64(np.zeros(5), np.ones(5)), training, 0.1, EPS)
    assert_close(y, y_r, dtype)
    gi, gw, gb = _kernels.batch_norm_backward(g, x, mean, invstd, None, training)
    gi_r, gw_r, gb_r = ref.batch_norm_backward(*f64(g, x), mean_r, invstd_r, None, training)
    assert_close(gi, gi_r, dtype, scale=grad_scale(g, None, invstd))
    assert_close(gw, gw_r, dtype)
    assert_close(gb, gb_r, dtype)
    for grads in [(True, False, False), (False, True, False), (False, False, True), (False, True, True)]:
        out = _kernels.batch_norm_backward(g, x, mean, invstd, None, training, grads=grads)
        for got, want, expected in zip(out, (gi, gw, gb), grads):
            assert (got is None) == (not expected)
            if expected:
                np.testing.assert_array_equal(got, want)


def test_batch_norm_no_running_stats_in_training(rng, dtype):
    x, _ = bn_case(rng, (9, 4), dtype)
    y, mean, invstd = _kernels.batch_norm_forward(x, None, None, None, None, True, 0.1, EPS)
    y_r, _, _ = ref.batch_norm_forward(*f64(x), None, None, None, None, True, 0.1, EPS)
    assert_close(y, y_r, dtype)


def test_batch_norm_strided_input(rng, dtype):
    base = rng.standard_normal((20, 12, 9)).astype(dtype)
    x = base[::2, 1::2].transpose(0, 1, 2)  # (10, 6, 9), strided
    g = rng.standard_normal((9, 6, 10)).astype(dtype).transpose(2, 1, 0)  # a transposed gradient
    assert not x.flags.c_contiguous and not g.flags.c_contiguous
    w, b = params(rng, 6, dtype)
    y, mean, invstd = _kernels.batch_norm_forward(x, w, b, None, None, True, 0.1, EPS)
    y_c, mean_c, invstd_c = _kernels.batch_norm_forward(np.ascontiguousarray(x), w, b, None, None, True, 0.1, EPS)
    np.testing.assert_array_equal(y, y_c)
    gi = _kernels.batch_norm_backward(g, x, mean, invstd, w, True)[0]
    gi_c = _kernels.batch_norm_backward(np.ascontiguousarray(g), np.ascontiguousarray(x), mean_c, invstd_c, w, True)[0]
    np.testing.assert_array_equal(gi, gi_c)


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0), (0, 2, 3, 3)], ids=lambda s: "x".join(map(str, s)))
def test_batch_norm_zero_size_batch(dtype, shape):
    """PyTorch allows an empty batch: the output is empty, the running statistics stay as they are and
    the parameter gradients are zero."""
    x = np.zeros(shape, dtype)
    c = shape[1]
    w, b = np.ones(c, dtype), np.zeros(c, dtype)
    rm, rv = np.full(c, 0.5, dtype), np.full(c, 2.0, dtype)
    y, mean, invstd = _kernels.batch_norm_forward(x, w, b, rm, rv, True, 0.1, EPS)
    assert y.shape == shape
    np.testing.assert_array_equal(rm, 0.5)
    np.testing.assert_array_equal(rv, 2.0)
    gi, gw, gb = _kernels.batch_norm_backward(np.zeros(shape, dtype), x, mean, invstd, w, True)
    assert gi.shape == shape
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)


def test_batch_norm_zero_channels(dtype):
    x = np.zeros((4, 0), dtype)
    y, mean, invstd = _kernels.batch_norm_forward(x, None, None, np.zeros(0, dtype), np.zeros(0, dtype), True, 0.1, EPS)
    assert y.shape == (4, 0) and mean.shape == (0,)


@pytest.mark.parametrize("shape", [(4096, 3), (64, 3, 512)], ids=["NxC", "NxCxL"])
def test_batch_norm_statistics_survive_a_large_mean(rng, shape):
    """float32 data of mean 1e4 and std 1 (|mean|/std = 1e4), the first value an outlier: the variance
    (two passes per piece in double) keeps float64-reference accuracy; a one-pass sum of squares in
    float would lose every digit of it."""
    x = (rng.standard_normal(shape) + 1e4).astype(np.float32)
    x.reshape(-1)[0] = 1e6
    _, mean, invstd = _kernels.batch_norm_forward(x, None, None, None, None, True, 0.1, 0.0)
    x64 = x.astype(np.float64)
    axes = (0, 2) if x.ndim == 3 else (0,)
    np.testing.assert_allclose(mean, x64.mean(axis=axes), rtol=1e-14)
    np.testing.assert_allclose(1 / invstd ** 2, x64.var(axis=axes), rtol=1e-11)


def test_batch_norm_output_keeps_float32_precision_with_large_mean(rng):
    """The mean enters the output as (x - hi) - lo: float32 outputs stay accurate when |mean| >> std."""
    x = (rng.standard_normal((256, 8)) * 0.01 + 3e3).astype(np.float32)
    y, _, _ = _kernels.batch_norm_forward(x, None, None, None, None, True, 0.1, 0.0)
    y_r, _, _ = ref.batch_norm_forward(x.astype(np.float64), None, None, None, None, True, 0.1, 0.0)
    np.testing.assert_allclose(y, y_r, atol=2e-3)  # |y| ~ 3; x has 1e-2 ulp-relative resolution here


# --- layer norm -------------------------------------------------------------------------------------

LN_SHAPES = [((1, 1), 1), ((3, 7), 1), ((128, 512), 1), ((5, 40000), 1), ((2, 3, 4, 5), 2), ((2, 3, 4), 3),
             ((300, 17), 1)]


@pytest.mark.parametrize("shape,k", LN_SHAPES, ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v))
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_matches_reference(rng, dtype, shape, k, affine):
    x, g = bn_case(rng, shape, dtype)
    pshape = shape[len(shape) - k:]
    w = rng.uniform(0.5, 1.5, pshape).astype(dtype) if affine != "none" else None
    b = rng.standard_normal(pshape).astype(dtype) if affine == "both" else None
    y, mean, rstd = _kernels.layer_norm_forward(x, k, w, b, EPS)
    y_r, mean_r, rstd_r = ref.layer_norm_forward(*f64(x), k, *f64(w, b), EPS)
    assert y.shape == shape and mean.shape == (int(np.prod(shape[:len(shape) - k])),)
    assert_close(mean, mean_r, np.float64, scale=max(float(np.max(np.abs(x))), 1.0))
    assert_close(rstd, rstd_r, np.float64)
    assert_close(y, y_r, dtype)
    grads = (True, w is not None, b is not None)
    gi, gw, gb = _kernels.layer_norm_backward(g, x, mean, rstd, k, w, grads=grads)
    gi_r, gw_r, gb_r = ref.layer_norm_backward(*f64(g, x), mean_r, rstd_r, k, f64(w)[0], grads=grads)
    assert_close(gi, gi_r, dtype, scale=grad_scale(g, w, rstd))
    for got, want in ((gw, gw_r), (gb, gb_r)):
        assert (got is None) == (want is None)
        if got is not None:
            assert got.shape == pshape
            assert_close(got, want, dtype)


def test_layer_norm_zero_rows(dtype):
    x = np.zeros((0, 3, 4), dtype)
    w = np.ones(4, dtype)
    y, mean, rstd = _kernels.layer_norm_forward(x, 1, w, w, EPS)
    assert y.shape == x.shape and mean.shape == (0,)
    gi, gw, gb = _kernels.layer_norm_backward(x, x, mean, rstd, 1, w)
    assert gi.shape == x.shape
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)


def test_layer_norm_strided_input(rng, dtype):
    x = rng.standard_normal((16, 10)).astype(dtype).T  # (10, 16), Fortran order
    y = _kernels.layer_norm_forward(x, 1, None, None, EPS)[0]
    np.testing.assert_array_equal(y, _kernels.layer_norm_forward(np.ascontiguousarray(x), 1, None, None, EPS)[0])


# --- group norm -------------------------------------------------------------------------------------

GN_CASES = [((2, 6, 5), 3), ((3, 4), 2), ((2, 32, 7, 7), 8), ((4, 6, 3), 1), ((2, 6, 3), 6), ((1, 4, 40000), 2)]


@pytest.mark.parametrize("shape,groups", GN_CASES, ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v))
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_group_norm_matches_reference(rng, dtype, shape, groups, affine):
    x, g = bn_case(rng, shape, dtype)
    w, b = params(rng, shape[1], dtype, affine)
    y, mean, rstd = _kernels.group_norm_forward(x, groups, w, b, EPS)
    y_r, mean_r, rstd_r = ref.group_norm_forward(*f64(x), groups, *f64(w, b), EPS)
    assert mean.shape == (shape[0] * groups,)
    assert_close(mean, mean_r, np.float64, scale=max(float(np.max(np.abs(x))), 1.0))
    assert_close(rstd, rstd_r, np.float64)
    assert_close(y, y_r, dtype)
    grads = (True, affine, affine)
    gi, gw, gb = _kernels.group_norm_backward(g, x, mean, rstd, groups, w, grads=grads)
    gi_r, gw_r, gb_r = ref.group_norm_backward(*f64(g, x), mean_r, rstd_r, groups, f64(w)[0], grads=grads)
    assert_close(gi, gi_r, dtype, scale=grad_scale(g, w, rstd))
    if affine:
        assert_close(gw, gw_r, dtype)
        assert_close(gb, gb_r, dtype)


def test_group_norm_zero_size(dtype):
    for shape in [(0, 4), (2, 4, 0)]:
        x = np.zeros(shape, dtype)
        w = np.ones(4, dtype)
        y, mean, rstd = _kernels.group_norm_forward(x, 2, w, w, EPS)
        assert y.shape == shape
        gi, gw, gb = _kernels.group_norm_backward(x, x, mean, rstd, 2, w)
        assert gi.shape == shape
        np.testing.assert_array_equal(gw, 0)


def test_group_norm_with_one_group_per_channel_is_instance_norm(rng):
    x = rng.standard_normal((3, 4, 10))
    y = _kernels.group_norm_forward(x, 4, None, None, 0.0)[0]
    expected = (x - x.mean(axis=2, keepdims=True)) / x.std(axis=2, keepdims=True)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


# --- local response norm ----------------------------------------------------------------------------

LRN_CASES = [((2, 7, 5), 3), ((2, 3, 4, 5), 5), ((1, 6, 2), 1), ((2, 5, 3), 2), ((2, 3, 4), 8), ((3, 16, 6, 6), 4)]


@pytest.mark.parametrize("shape,size", LRN_CASES, ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v))
def test_local_response_norm_matches_reference(rng, dtype, shape, size):
    x, g = bn_case(rng, shape, dtype, offset=0.0)
    alpha, beta, k = 0.3, 0.75, 1.5
    y, div = _kernels.local_response_norm_forward(x, size, alpha, beta, k)
    y_r, div_r = ref.local_response_norm_forward(*f64(x), size, alpha, beta, k)
    assert_close(div, div_r, dtype)
    assert_close(y, y_r, dtype)
    gi = _kernels.local_response_norm_backward(g, x, div, size, alpha, beta)
    gi_r = ref.local_response_norm_backward(*f64(g, x, div), size, alpha, beta)
    assert_close(gi, gi_r, dtype)


def test_local_response_norm_window_by_hand():
    """size 2: channel j's window is channels [j - 1, j] (size // 2 before, (size - 1) // 2 after)."""
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    y, div = _kernels.local_response_norm_forward(x, 2, 1.0, 1.0, 0.0)
    sq = x[0, :, 0] ** 2
    expected_div = np.array([sq[0], sq[0] + sq[1], sq[1] + sq[2], sq[2] + sq[3]]) / 2
    np.testing.assert_allclose(div[0, :, 0], expected_div, rtol=1e-15)
    np.testing.assert_allclose(y[0, :, 0], x[0, :, 0] / expected_div, rtol=1e-15)


# --- determinism and binding checks -----------------------------------------------------------------

def _all_kernels(x, g):
    c = x.shape[1]
    w = np.linspace(0.5, 1.5, c).astype(x.dtype)
    out = []
    y, m, s = _kernels.batch_norm_forward(x, w, w, None, None, True, 0.1, EPS)
    out += [y, m, s, *_kernels.batch_norm_backward(g, x, m, s, w, True)]
    x2, g2 = x.reshape(x.shape[0], -1), g.reshape(g.shape[0], -1)
    y, m, s = _kernels.layer_norm_forward(x2, 1, None, None, EPS)
    out += [y, m, s, _kernels.layer_norm_backward(g2, x2, m, s, 1, None, grads=(True, False, False))[0]]
    y, m, s = _kernels.group_norm_forward(x, 2, w, w, EPS)
    out += [y, m, s, *_kernels.group_norm_backward(g, x, m, s, 2, w)]
    y, d = _kernels.local_response_norm_forward(x, 3, 1e-2, 0.75, 1.0)
    out += [y, _kernels.local_response_norm_backward(g, x, d, 3, 1e-2, 0.75)]
    return out


@pytest.mark.parametrize("shape", [(257, 600), (96, 8, 700)], ids=["NxC", "NxCxL"])
def test_norm_kernels_bitwise_identical_on_any_thread_count(restore_threads, rng, dtype, shape):
    x, g = bn_case(rng, shape, dtype)
    results = []
    for t in (1, 2, 3):
        eigengrad.set_num_threads(t)
        results.append(_all_kernels(x, g))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


def test_batch_norm_binding_checks():
    x = np.zeros((4, 3, 1), np.float32)
    y, sm, si = np.empty_like(x), np.empty(3), np.empty(3)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    call = _C.batch_norm_forward
    with pytest.raises(TypeError, match="weight: expected dtype float32"):
        call(x, np.ones(3), None, rm, rv, y, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\)"):
        call(x, np.ones(4, np.float32), None, rm, rv, y, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="running_var: expected a writeable array"):
        ro = rv.copy()
        ro.flags.writeable = False
        call(x, None, None, rm, ro, y, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="running_mean: expected a C-contiguous"):
        call(x, None, None, np.zeros(6, np.float32)[::2], rv, y, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="both or neither"):
        call(x, None, None, rm, None, y, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="required in evaluation mode"):
        call(x, None, None, None, None, y, sm, si, False, 0.1, EPS)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        one = np.zeros((1, 3, 1), np.float32)
        call(one, None, None, rm, rv, np.empty_like(one), sm, si, True, 0.1, EPS)
    with pytest.raises(TypeError, match="save_mean: expected a float64 array"):
        call(x, None, None, rm, rv, y, np.empty(3, np.float32), si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="out: must not share memory with input"):
        call(x, None, None, rm, rv, x, sm, si, True, 0.1, EPS)
    with pytest.raises(ValueError, match="input: expected a 3-D array"):
        call(x[..., 0], None, None, rm, rv, y[..., 0], sm, si, True, 0.1, EPS)
    with pytest.raises(TypeError, match="input: expected a float32 or float64 array"):
        call(x.astype(np.int32), None, None, rm, rv, y, sm, si, True, 0.1, EPS)


def test_norm_backward_binding_checks():
    x = np.zeros((4, 6, 2))
    m, s = np.zeros(6), np.ones(6)
    with pytest.raises(ValueError, match=r"grad_out: expected shape \(4, 6, 2\)"):
        _C.batch_norm_backward(np.zeros((4, 6, 3)), x, m, s, None, np.empty_like(x), None, None, True)
    with pytest.raises(ValueError, match=r"grad_weight: expected shape \(6,\)"):
        _C.batch_norm_backward(x, x, m, s, None, None, np.empty(5), None, True)
    with pytest.raises(ValueError, match="num_groups: expected a positive divisor of the 6 channels, got 4"):
        _C.group_norm_forward(x, None, None, np.empty_like(x), np.empty(16), np.empty(16), EPS, 4)
    with pytest.raises(ValueError, match="num_groups: expected a positive int"):
        _C.group_norm_forward(x, None, None, np.empty_like(x), np.empty(0), np.empty(0), EPS, 0)
    with pytest.raises(ValueError, match=r"mean: expected shape \(4,\)"):
        _C.layer_norm_forward(x[:, :, 0].copy(), None, None, np.empty((4, 6)), np.empty(3), np.empty(4), EPS)
    with pytest.raises(ValueError, match="size: expected a positive window size"):
        _C.local_response_norm_forward(x, np.empty_like(x), np.empty_like(x), 0, 1e-4, 0.75, 1.0)


@pytest.mark.parametrize("shape", [(37, 54), (6, 6, 37)], ids=["NxC", "NxCxL"])
def test_norm_kernels_do_not_depend_on_alignment(rng, dtype, shape):
    """Inputs placed at every element offset (every alignment modulo 64 bytes) give the same bits."""
    x, g = bn_case(rng, shape, dtype)
    reference_bits = None
    for offset in range(9):
        placed = []
        for a in (x, g):
            buf = np.empty(a.size + 16, dtype)
            view = buf[offset:offset + a.size].reshape(a.shape)
            view[...] = a
            placed.append(view)
        bits = [r.tobytes() for r in _all_kernels(*placed)]
        if reference_bits is None:
            reference_bits = bits
        assert bits == reference_bits, f"offset {offset} differs"
