"""Convolution and pooling kernels (forward and backward) against the NumPy reference, run in float64 on
the same inputs: strides, paddings (asymmetric too), dilations, groups (depthwise), odd and prime
sizes, batch 1 and 0, strided inputs; thread-count determinism; the bindings' argument checks."""
import numpy as np
import pytest

import eigengrad
from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad._kernels import _C
from eigengrad import reference as ref

# (n, c, h, w, o, kh, kw, stride, padding (top, bottom, left, right), dilation, groups)
CONV_CASES = [
    (2, 3, 7, 6, 4, 3, 2, (1, 1), (1, 1, 0, 0), (1, 1), 1),
    (3, 4, 11, 9, 6, 3, 3, (2, 1), (2, 2, 1, 1), (1, 2), 2),
    (1, 4, 5, 5, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 4),        # depthwise
    (2, 6, 13, 13, 12, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 6),     # depthwise, 2 outputs per channel
    (5, 2, 8, 8, 3, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),        # 1x1
    (3, 6, 13, 13, 8, 5, 5, (3, 2), (2, 2, 2, 2), (2, 1), 2),
    (20, 3, 9, 9, 4, 3, 3, (1, 1), (1, 2, 0, 1), (1, 1), 1),       # asymmetric padding
    (23, 8, 15, 15, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),     # 3 chunks of images, the last one short
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),        # everything 1
    (2, 1, 7, 1, 5, 3, 1, (2, 1), (0, 0, 0, 0), (1, 1), 1),        # width 1
    (3, 5, 17, 11, 7, 7, 5, (1, 3), (3, 3, 0, 0), (1, 1), 1),      # primes, kernel of the input's width
    (2, 3, 12, 12, 4, 3, 3, (5, 5), (0, 0, 0, 0), (3, 3), 1),      # stride larger than the kernel
    (1, 32, 14, 14, 64, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),    # the CNN's second block, batch 1
    (4, 16, 9, 9, 8, 3, 3, (1, 1), (4, 4, 4, 4), (1, 1), 1),       # padding larger than the kernel
    # enough channels for the direct kernel (conv_direct.cpp): 12+ output channels per group in float32,
    # 6+ in float64; the input gradient too with 14+ (7+) input channels per group and stride 1
    (3, 5, 9, 11, 24, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),      # 1.5 channel panels, a short last tile
    (2, 16, 10, 7, 12, 3, 3, (2, 1), (1, 0, 2, 1), (1, 2), 1),     # strided, asymmetric, dilated
    (2, 32, 8, 8, 32, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 2),      # groups, dilation 2
    (1, 16, 5, 5, 16, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1),      # one output position
    (2, 16, 6, 6, 16, 1, 1, (1, 1), (1, 1, 1, 1), (1, 1), 1),      # 1x1 padded: dx crops dy
    (71, 16, 14, 14, 16, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),   # 15 weight-gradient chunks, the last short
    (2, 32, 9, 9, 48, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),      # groups of 16 in, 24 out
    (2, 16, 9, 8, 16, 1, 1, (2, 2), (0, 0, 0, 0), (1, 1), 1),      # 1x1 stride 2 (a downsample)
    (1, 16, 3, 1, 16, 1, 1, (5, 5), (0, 0, 3, 0), (1, 1), 1),      # the only output reads padding
    (2, 14, 13, 3, 28, 3, 3, (1, 1), (3, 0, 1, 2), (1, 1), 1),     # primes, padding larger below than above
    # the strided input gradient as one direct pass per phase of dx (2+ taps per phase on strided axes)
    (2, 16, 13, 11, 8, 4, 4, (2, 2), (1, 1, 1, 1), (1, 1), 1),     # odd sizes: phases of 7 and 6 rows
    (3, 32, 9, 10, 16, 4, 3, (2, 1), (2, 1, 0, 1), (1, 2), 2),     # stride along one axis, dilation along the other
    (1, 16, 17, 14, 12, 6, 6, (3, 3), (2, 2, 2, 2), (1, 1), 1),    # stride 3: three phases per axis
    # the AVX-512 tiles (float32, output channels per group a multiple of 32): 10 x 32 where it leaves fewer
    # rows of the last tile empty than 8 x 32 (49 and 30 positions), 8 x 32 else (88 positions, 72 depths)
    (2, 8, 7, 7, 64, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),       # 49 positions: a last tile of 9 rows
    (3, 24, 9, 11, 96, 2, 3, (1, 1), (0, 1, 1, 0), (1, 1), 3),     # groups of 32 out, 8 in: depth 48
    (2, 64, 5, 6, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),      # dx with 64 channels: 30 positions
    (2, 32, 14, 13, 64, 4, 4, (2, 2), (1, 1, 1, 1), (1, 1), 1),    # strided dx on 64 channels: phases of 7 x 7, 7 x 6
]


def ids(case):
    n, c, h, w, o, kh, kw, s, p, d, g = case
    return f"{n}x{c}x{h}x{w}-o{o}-k{kh}x{kw}-s{s[0]}{s[1]}-p{''.join(map(str, p))}-d{d[0]}{d[1]}-g{g}"


def conv_inputs(rng, case, dtype):
    n, c, h, w, o, kh, kw, s, p, d, g = case
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // g, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    oh, ow = K.conv2d_output_size(h, w, kh, kw, s, p, d)
    dy = rng.standard_normal((n, o, oh, ow)).astype(dtype)
    return x, wt, b, dy, (s, p, d, g)


def f64(*arrays):
    return tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in arrays)


def dot_scale(a, b, terms):
    """What a sum of `terms` products of a and b is relative to (it can be ~0 by cancellation)."""
    return max(float(np.max(np.abs(a), initial=0)) * float(np.max(np.abs(b), initial=0)) * np.sqrt(max(terms, 1)), 1e-30)


@pytest.mark.parametrize("case", CONV_CASES, ids=ids)
def test_conv2d_forward_matches_reference(rng, dtype, case):
    x, wt, b, _, opts = conv_inputs(rng, case, dtype)
    y = K.conv2d_forward(x, wt, b, *opts)
    y_r = ref.conv2d_forward(*f64(x, wt, b), *opts)
    assert y.dtype == dtype
    k = wt[0].size
    assert_close(y, y_r, dtype, scale=dot_scale(x, wt, k))
    y_nb = K.conv2d_forward(x, wt, None, *opts)  # without the bias
    assert_close(y_nb, ref.conv2d_forward(*f64(x, wt), None, *opts), dtype, scale=dot_scale(x, wt, k))


@pytest.mark.parametrize("case", CONV_CASES, ids=ids)
def test_conv2d_backward_matches_reference(rng, dtype, case):
    x, wt, b, dy, opts = conv_inputs(rng, case, dtype)
    gi, gw, gb = K.conv2d_backward(dy, x, wt, *opts)
    ri, rw, rb = ref.conv2d_backward(*f64(dy, x, wt), *opts)
    n, o = dy.shape[:2]
    assert gi.dtype == gw.dtype == gb.dtype == dtype
    assert_close(gi, ri, dtype, scale=dot_scale(dy, wt, o // opts[3] * wt[0, 0].size))
    assert_close(gw, rw, dtype, scale=dot_scale(dy, x, dy[:, 0].size))
    assert_close(gb, rb, dtype, scale=dot_scale(dy, np.ones(1), dy[:, 0].size))


def test_conv2d_backward_computes_only_what_is_asked(rng):
    x, wt, b, dy, opts = conv_inputs(rng, CONV_CASES[1], np.float64)
    full = K.conv2d_backward(dy, x, wt, *opts)
    for grads in [(True, False, False), (False, True, False), (False, False, True), (False, True, True)]:
        part = K.conv2d_backward(dy, x, wt, *opts, grads=grads)
        for want, got, ref_ in zip(grads, part, full):
            assert (got is None) != want
            if want:
                np.testing.assert_array_equal(got, ref_)


def test_conv2d_zero_batch(dtype):
    x = np.zeros((0, 3, 5, 5), dtype)
    wt = np.ones((4, 3, 3, 3), dtype)
    b = np.arange(4, dtype=dtype)
    y = K.conv2d_forward(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert y.shape == (0, 4, 5, 5)
    gi, gw, gb = K.conv2d_backward(np.zeros((0, 4, 5, 5), dtype), x, wt, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert gi.shape == (0, 3, 5, 5)
    np.testing.assert_array_equal(gw, np.zeros_like(wt))
    np.testing.assert_array_equal(gb, np.zeros(4, dtype))


def test_conv2d_strided_inputs(rng, dtype):
    x, wt, b, dy, opts = conv_inputs(rng, CONV_CASES[0], dtype)
    xs = np.asfortranarray(x)
    big = np.zeros((dy.shape[0], dy.shape[1], dy.shape[2], 2 * dy.shape[3]), dtype)
    big[..., ::2] = dy
    dys = big[..., ::2]
    assert not xs.flags.c_contiguous and not dys.flags.c_contiguous
    np.testing.assert_array_equal(K.conv2d_forward(xs, wt, b, *opts), K.conv2d_forward(x, wt, b, *opts))
    for got, want in zip(K.conv2d_backward(dys, xs, wt, *opts), K.conv2d_backward(dy, x, wt, *opts)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", [
    (37, 8, 15, 15, 16, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),   # the lowering: several chunks of images
    (37, 16, 15, 13, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),  # the direct kernel
    (1, 16, 15, 13, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),   # one image: its positions split between threads
], ids=ids)
def test_conv2d_results_do_not_depend_on_threads(rng, restore_threads, case):
    x, wt, b, dy, opts = conv_inputs(rng, case, np.float32)
    results = []
    for threads in (1, 2, 3):
        eigengrad.set_num_threads(threads)
        results.append((K.conv2d_forward(x, wt, b, *opts),) + K.conv2d_backward(dy, x, wt, *opts))
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


# --- the binding's checks ---------------------------------------------------------------------------

def conv_call(x=None, w=None, b=None, out=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    x = np.zeros((2, 4, 6, 6)) if x is None else x
    w = np.zeros((6, 4, 3, 3)) if w is None else w
    out = np.zeros((2, 6, 4, 4)) if out is None else out
    _C.conv2d_forward(x, w, b, out, stride, padding, dilation, groups)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(x=np.zeros((2, 4, 6))), ValueError, "input: expected a 4-D"),
    (dict(x=np.zeros((2, 4, 6, 6), np.int64)), TypeError, "input: expected a float32 or float64"),
    (dict(w=np.zeros((6, 4, 3, 3), np.float32)), TypeError, "weight: expected dtype float64"),
    (dict(w=np.zeros((6, 3, 3, 3))), ValueError, "input: expected 3 channels"),
    (dict(w=np.zeros((6, 2, 3, 3)), groups=3), ValueError, "groups: expected a divisor"),
    (dict(w=np.zeros((6, 4, 7, 3))), ValueError, "weight: the \\(dilated\\) kernel"),
    (dict(dilation=(4, 1)), ValueError, "weight: the \\(dilated\\) kernel"),
    (dict(stride=(0, 1)), ValueError, r"stride: expected values in \[1, 2147483647\], got \(0, 1\)"),
    (dict(padding=(-1, 0, 0, 0)), ValueError, r"padding: expected values in \[0, 2147483647\], got \(-1, 0, 0, 0\)"),
    (dict(dilation=(2**62, 1)), ValueError, r"dilation: expected values in \[1, 2147483647\], got \(4611686018427387904, 1\)"),
    (dict(padding=(2**62, 2**62, 0, 0)), ValueError, r"padding: expected values in \[0, 2147483647\], got \(4611686018427387904, "),
    (dict(groups=0), ValueError, "groups: expected a positive int"),
    (dict(b=np.zeros(5)), ValueError, "bias: expected shape \\(6,\\)"),
    (dict(out=np.zeros((2, 6, 4, 5))), ValueError, "out: expected shape \\(2, 6, 4, 4\\), got"),
    (dict(out=np.zeros((2, 6, 4, 8))[..., ::2]), ValueError, "out: expected a C-contiguous"),
])
def test_conv2d_binding_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_call(**kwargs)


def test_conv2d_binding_refuses_overlapping_and_read_only_outputs():
    x = np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match="out: must not share memory with input"):
        _C.conv2d_forward(x, np.zeros((1, 1, 1, 1)), None, x, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    out = np.zeros((1, 1, 3, 3))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writeable"):
        _C.conv2d_forward(x, np.zeros((1, 1, 1, 1)), None, out, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    dy, w = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 1, 1))
    with pytest.raises(ValueError, match="grad_in: must not share memory with grad_out"):
        _C.conv2d_backward(dy, x, w, dy, None, None, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="grad_out: expected shape"):
        _C.conv2d_backward(np.zeros((1, 2, 3, 3)), x, w, None, None, None, (1, 1), (0, 0, 0, 0), (1, 1), 1)


# --- pooling ----------------------------------------------------------------------------------------

# (shape, kernel, stride, padding, dilation, ceil_mode)
POOL_CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 9, 8), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((2, 3, 9, 8), (3, 2), (2, 2), (1, 1), (2, 1), True),
    ((1, 2, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((2, 2, 5, 6), (3, 3), (1, 2), (1, 0), (1, 1), False),
    ((3, 1, 13, 11), (5, 3), (3, 2), (2, 1), (1, 2), True),
    ((1, 1, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1), False),
    ((4, 5, 1, 17), (1, 3), (1, 3), (0, 1), (1, 1), True),
    # rows of 8+ inner windows with a column stride of 1 or 2 read with contiguous loads (pool.cpp max_run8):
    # runs of 17 (two groups, the last overlapping), 18 (stride 1), 6 and 4 (one masked run), the plane's last
    # run past its end (gathered), and next to edge windows
    ((2, 3, 37, 35), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 2, 20, 20), (3, 3), (1, 1), (1, 1), (1, 1), False),
    ((3, 2, 13, 13), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 9, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 2, 21, 30), (3, 2), (2, 2), (1, 0), (1, 1), True),
    ((64, 32, 28, 28), (2, 2), (2, 2), (0, 0), (1, 1), False),  # the CNN example's first pool
]


def pool_ids(case):
    shape, k, s, p, d, cm = case
    return f"{'x'.join(map(str, shape))}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-p{p[0]}{p[1]}-d{d[0]}{d[1]}-{'ceil' if cm else 'floor'}"


@pytest.mark.parametrize("case", POOL_CASES, ids=pool_ids)
def test_max_pool2d_matches_reference(rng, dtype, case):
    shape, k, s, p, d, cm = case
    x = rng.standard_normal(shape).astype(dtype)
    x = np.round(x * 2) / 2  # ties: the first tap keeps its index
    x.reshape(-1)[::31] = np.nan  # a NaN takes its window (the last one's index)
    x.reshape(-1)[5::53] = -np.inf
    y, idx = K.max_pool2d_forward(x, k, s, p, d, cm)
    y_r, idx_r = ref.max_pool2d_forward(x.astype(np.float64), k, s, p, d, cm)
    np.testing.assert_array_equal(y, y_r.astype(dtype))
    np.testing.assert_array_equal(idx, idx_r)
    dy = rng.standard_normal(y.shape).astype(dtype)
    gi = K.max_pool2d_backward(dy, idx, shape, dtype)
    assert_close(gi, ref.max_pool2d_backward(dy.astype(np.float64), idx_r, shape), dtype)


@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[4] == (1, 1)], ids=pool_ids)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 3])
def test_avg_pool2d_matches_reference(rng, dtype, case, count_include_pad, divisor_override):
    shape, k, s, p, _, cm = case
    x = rng.standard_normal(shape).astype(dtype)
    opts = (k, s, p, cm, count_include_pad, divisor_override)
    y = K.avg_pool2d_forward(x, *opts)
    assert_close(y, ref.avg_pool2d_forward(x.astype(np.float64), *opts), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_close(K.avg_pool2d_backward(dy, shape, *opts),
                 ref.avg_pool2d_backward(dy.astype(np.float64), shape, *opts), dtype)


@pytest.mark.parametrize("shape,size", [((2, 3, 9, 8), (3, 4)), ((2, 3, 9, 8), (1, 1)), ((1, 2, 7, 5), (7, 5)),
                                        ((2, 1, 5, 5), (3, 3)), ((1, 1, 4, 6), (9, 11)), ((0, 3, 4, 4), (2, 2))])
def test_adaptive_avg_pool2d_matches_reference(rng, dtype, shape, size):
    x = rng.standard_normal(shape).astype(dtype)
    y = K.adaptive_avg_pool2d_forward(x, size)
    assert y.shape == shape[:2] + size
    assert_close(y, ref.adaptive_avg_pool2d_forward(x.astype(np.float64), size), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_close(K.adaptive_avg_pool2d_backward(dy, shape),
                 ref.adaptive_avg_pool2d_backward(dy.astype(np.float64), shape), dtype)


def test_max_pool2d_padding_is_minus_infinity(dtype):
    x = -np.arange(1, 10, dtype=dtype).reshape(1, 1, 3, 3) * 100  # all negative: zero padding would win
    y, idx = K.max_pool2d_forward(x, (3, 3), (1, 1), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(y[0, 0], [[-100, -100, -200], [-100, -100, -200], [-400, -400, -500]])
    np.testing.assert_array_equal(idx[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])


def test_max_pool2d_propagates_nan():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    y, idx = K.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 1


def test_pooling_zero_batch_and_strided(rng, dtype):
    y, idx = K.max_pool2d_forward(np.zeros((0, 3, 4, 4), dtype), (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert y.shape == idx.shape == (0, 3, 2, 2)
    x = rng.standard_normal((2, 3, 6, 10)).astype(dtype)[..., ::2]
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(K.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0), False, True),
                                  K.avg_pool2d_forward(x.copy(), (2, 2), (2, 2), (0, 0), False, True))


@pytest.mark.parametrize("call,error,match", [
    (lambda: _C.max_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2), np.int64), (0, 2),
                                   (2, 2), (0, 0), (1, 1), False), ValueError, r"kernel_size: expected values in \[1, 2147483647\], got \(0, 2\)"),
    (lambda: _C.max_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2), np.int64), (2, 2),
                                   (2, 2), (2, 0), (1, 1), False), ValueError, "padding: expected at most half the kernel size"),
    (lambda: _C.max_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), (2, 2),
                                   (2, 2), (0, 0), (1, 1), False), TypeError, "indices: expected an int64"),
    (lambda: _C.max_pool2d_forward(np.zeros((2, 2, 2)), np.zeros((2, 1, 1)), np.zeros((2, 1, 1), np.int64), (3, 3),
                                   (1, 1), (0, 0), (1, 1), False), ValueError, "kernel_size: the window"),
    (lambda: _C.max_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((2, 3, 3)), np.zeros((2, 2, 2), np.int64), (2, 2),
                                   (2, 2), (0, 0), (1, 1), False), ValueError, "out: expected shape"),
    (lambda: _C.max_pool2d_backward(np.zeros((1, 1, 1)), np.array([[[16]]]), np.zeros((1, 4, 4))), ValueError,
     "indices: expected values in \\[-1, 16\\)"),
    (lambda: _C.avg_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((2, 2, 2), np.float32), (2, 2), (2, 2), (0, 0),
                                   False, True, 0), TypeError, "out: expected dtype float64"),
    (lambda: _C.adaptive_avg_pool2d_forward(np.zeros((2, 4, 4)), np.zeros((3, 2, 2))), ValueError,
     "out: expected 2 planes"),
])
def test_pool_binding_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pool_output_size_is_pytorchs():
    # ceil mode drops a window that would start in the right padding
    assert K.pool2d_output_size(5, 2, 1, 2, 1, True) == 3
    assert K.pool2d_output_size(5, 2, 0, 2, 1, True) == 3
    assert K.pool2d_output_size(5, 2, 0, 2, 1, False) == 2
    assert K.pool2d_output_size(28, 2, 0, 2, 1, False) == 14
