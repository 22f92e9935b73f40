"""Transposed-convolution and adaptive max pooling kernels against the NumPy reference (an independent
scatter formulation) in float32 and float64: strides, paddings, output_padding (also >= the stride when
smaller than the dilation), dilations, groups, the direct kernel's shapes, odd and prime sizes, batch 1 and
0, strided inputs; and the bindings' argument checks."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

# (n, ci, h, w, co, kh, kw, stride, padding, output_padding, dilation, groups)
CASES = [
    (2, 3, 5, 4, 4, 3, 3, (1, 1), (0, 0), (0, 0), (1, 1), 1),
    (2, 4, 5, 7, 6, 3, 2, (2, 1), (1, 0), (1, 0), (1, 2), 2),
    (1, 6, 4, 4, 6, 3, 3, (2, 2), (1, 1), (1, 1), (1, 1), 6),        # depthwise, batch 1
    (3, 5, 7, 3, 2, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 1),        # the DCGAN kernel
    (2, 4, 3, 3, 4, 3, 3, (2, 2), (0, 0), (2, 2), (3, 3), 1),        # output_padding >= stride (< dilation)
    (2, 3, 4, 4, 3, 3, 3, (3, 3), (4, 4), (2, 2), (1, 1), 1),        # padding larger than the kernel
    (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0), (0, 0), (1, 1), 1),        # everything 1
    (2, 7, 1, 13, 5, 1, 5, (1, 3), (0, 2), (0, 1), (1, 1), 1),       # height 1: the 1-D layers' shape
    (0, 3, 4, 4, 2, 3, 3, (2, 2), (1, 1), (1, 1), (1, 1), 1),        # no image
    (2, 32, 7, 7, 16, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 1),      # direct kernel for dx (conv forward)
    (2, 16, 6, 5, 32, 3, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1),      # direct kernel for y (stride 1)
    (3, 64, 5, 5, 32, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 2),      # groups on the direct path
    (5, 13, 11, 9, 7, 5, 3, (3, 2), (2, 1), (2, 1), (1, 2), 1),      # primes
    (3, 64, 7, 7, 32, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 1),      # the AVX-512 tiles (float32): 32 and 64 channels
]


def ids(case):
    n, ci, h, w, co, kh, kw, s, p, op, d, g = case
    return f"{n}x{ci}x{h}x{w}-o{co}-k{kh}{kw}-s{s[0]}{s[1]}-p{p[0]}{p[1]}-op{op[0]}{op[1]}-d{d[0]}{d[1]}-g{g}"


def inputs(rng, case, dtype):
    n, ci, h, w, co, kh, kw, s, p, op, d, g = case
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = rng.standard_normal((ci, co // g, kh, kw)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    oh, ow = K.conv_transpose2d_output_size(h, w, kh, kw, s, p, op, d)
    dy = rng.standard_normal((n, co, oh, ow)).astype(dtype)
    return x, wt, b, dy, (s, p, op, d, g)


def f64(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_conv_transpose2d_matches_reference(rng, dtype, case):
    x, wt, b, dy, opts = inputs(rng, case, dtype)
    y = K.conv_transpose2d_forward(x, wt, b, *opts)
    assert y.dtype == dtype
    assert_close(y, ref.conv_transpose2d_forward(*f64(x, wt, b), *opts), dtype)
    gi, gw, gb = K.conv_transpose2d_backward(dy, x, wt, *opts)
    ri, rw, rb = ref.conv_transpose2d_backward(*f64(dy, x, wt), *opts)
    assert_close(gi, ri, dtype)
    assert_close(gw, rw, dtype)
    assert_close(gb, rb, dtype)


def test_conv_transpose2d_gradients_on_request_and_strided_inputs(rng, dtype):
    x, wt, b, dy, opts = inputs(rng, CASES[1], dtype)
    xs = np.asfortranarray(x)
    dys = np.repeat(dy, 2, axis=3)[..., ::2]
    gi, gw, gb = K.conv_transpose2d_backward(dys, xs, wt, *opts, grads=(False, True, False))
    assert gi is None and gb is None
    assert_close(gw, ref.conv_transpose2d_backward(*f64(dy, x, wt), *opts)[1], dtype)
    assert_close(K.conv_transpose2d_forward(xs, wt, None, *opts), ref.conv_transpose2d_forward(*f64(x, wt), None, *opts),
                 dtype)


def test_output_padding_rows_get_only_the_bias(rng):
    x = rng.standard_normal((1, 2, 3, 3))
    wt = rng.standard_normal((2, 1, 1, 1))
    b = np.array([0.25])
    y = K.conv_transpose2d_forward(x, wt, b, (2, 2), (0, 0), (1, 1), (1, 1), 1)
    assert y.shape == (1, 1, 6, 6)
    np.testing.assert_array_equal(y[0, 0, 5], np.full(6, 0.25))
    np.testing.assert_array_equal(y[0, 0, 1::2, :], np.full((3, 6), 0.25))


@pytest.mark.parametrize("bad,msg", [
    (dict(output_padding=(2, 0)), "output_padding: expected values smaller than either stride"),
    (dict(groups=3), "groups: expected a divisor of the input channels 4"),
    (dict(padding=(3, 3)), r"input: the output size \(-3, -3\) of the transposed convolution of a \(2, 2\) plane is too small"),
    (dict(stride=(0, 1)), r"stride: expected values in \[1, 2147483647\], got \(0, 1\)"),
])
def test_binding_checks(rng, bad, msg):
    x, wt = rng.standard_normal((1, 4, 2, 2)), rng.standard_normal((4, 2, 1, 1))
    opts = dict(stride=(2, 2), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1)
    opts.update(bad)
    with pytest.raises(ValueError, match=msg):
        _C.conv_transpose2d_forward(x, wt, None, np.empty((1, 2, 3, 3)), **opts)
    with pytest.raises(ValueError, match=r"weight: expected 4 input channels \(dim 0\)"):
        _C.conv_transpose2d_forward(x, wt[:3], None, np.empty((1, 2, 3, 3)), (1, 1), (0, 0), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"out: expected shape \(1, 2, 2, 2\)"):
        _C.conv_transpose2d_forward(x, wt, None, np.empty((1, 2, 3, 3)), (1, 1), (0, 0), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"input: expected non-empty planes \(only the batch or the channels may be 0\)"):
        _C.conv_transpose2d_forward(x[:, :, :0], wt, None, np.empty((1, 2, 1, 2)), (1, 1), (0, 0), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"stride: expected values in \[1, 2147483647\], got \(9223372036854775807, 1\)"):
        _C.conv_transpose2d_forward(x, wt, None, np.empty((1, 2, 1, 2)), (2**63 - 1, 1), (0, 0), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"stride: the transposed convolution of a \(2147483649, 2\) plane with stride "
                                         r"\(1073741824, 1\) has an output of more than 2\^48 positions"):
        _C.conv_transpose2d_forward(np.zeros((0, 4, 2**31 + 1, 2)), wt, None, np.empty((0, 2, 1, 2)), (2**30, 1),
                                    (0, 0), (0, 0), (1, 1), 1)  # (h - 1) s is bounded before any sum
    with pytest.raises(ValueError, match=r"grad_bias: expected shape \(2,\), got \(4,\)"):
        _C.conv_transpose2d_backward(np.ones((1, 2, 2, 2)), x, wt, None, None, np.empty(4), (1, 1), (0, 0), (0, 0),
                                     (1, 1), 1)


@pytest.mark.parametrize("shape,size", [((2, 3, 9, 8), (3, 4)), ((1, 1, 5, 7), (5, 7)), ((2, 2, 4, 6), (9, 11)),
                                        ((3, 2, 7, 1), (2, 1)), ((0, 2, 4, 4), (2, 2))])
def test_adaptive_max_pool2d_matches_reference(rng, dtype, shape, size):
    x = rng.standard_normal(shape).astype(dtype)
    y, idx = K.adaptive_max_pool2d_forward(x, size)
    ry, ridx = ref.adaptive_max_pool2d_forward(x, size)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(idx, ridx)
    g = rng.standard_normal(y.shape).astype(dtype)
    assert_close(K.max_pool2d_backward(g, idx, shape, dtype), ref.max_pool2d_backward(g, ridx, shape), dtype)


def test_adaptive_max_pool2d_nan_and_infinity_rule():
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [-np.inf, -np.inf, -np.inf, -np.inf]]]])
    y, idx = K.adaptive_max_pool2d_forward(x, (2, 1))
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 3  # the last NaN wins (PyTorch)
    assert y[0, 0, 1, 0] == -np.inf and idx[0, 0, 1, 0] == 4  # all -inf: the first position
