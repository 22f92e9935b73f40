"""The F(2x2, 3x3) Winograd convolution (cpp/src/conv_winograd.cpp): which shapes take it, its forward and
input gradient against the NumPy reference in float64 and float32 (odd sizes, primes, every padding up
to beyond the kernel, batch 1 and 0, strided inputs), the float32 error against the direct kernel's, and
the same bits for any thread count."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels, reference as R

C = _kernels._C


def _algorithms(x, w, padding, stride=(1, 1), dilation=(1, 1), groups=1):
    return C.conv2d_algorithms(x, w, stride, padding, dilation, groups)


def _case(rng, n, c, o, h, w, dtype):
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return x, wt, b


def test_the_shapes_it_takes():
    f32, f64 = np.float32, np.float64
    x, w = np.zeros((2, 32, 14, 14), f32), np.zeros((64, 32, 3, 3), f32)
    assert _algorithms(x, w, (1, 1, 1, 1)) == {"forward": "winograd", "input_grad": "winograd",
                                               "weight_grad": "winograd"}
    assert _algorithms(x.astype(f64), w.astype(f64), (0, 0, 0, 0))["forward"] == "winograd"
    # stride, dilation, groups, another kernel size, too few channels on either side: not F(2x2, 3x3)
    assert _algorithms(x, w, (1, 1, 1, 1), stride=(2, 2))["forward"] != "winograd"
    assert _algorithms(x, w, (2, 2, 2, 2), dilation=(2, 2))["forward"] != "winograd"
    assert _algorithms(x, np.zeros((64, 16, 3, 3), f32), (1, 1, 1, 1), groups=2)["forward"] != "winograd"
    assert _algorithms(x, np.zeros((64, 32, 5, 5), f32), (2, 2, 2, 2))["forward"] != "winograd"
    assert _algorithms(x[:, :16].copy(), np.zeros((64, 16, 3, 3), f32), (1, 1, 1, 1))["forward"] != "winograd"
    narrow = _algorithms(x, np.zeros((16, 32, 3, 3), f32), (1, 1, 1, 1))
    assert narrow["forward"] != "winograd" and narrow["input_grad"] != "winograd"
    # a 1-wide output has no 2 x 2 tile
    assert _algorithms(np.zeros((1, 32, 3, 3), f32), w, (0, 0, 0, 0))["forward"] != "winograd"
    # an image whose scratch would pass 16 MB is left to the direct kernel
    assert _algorithms(np.zeros((1, 64, 224, 224), f32), np.zeros((64, 64, 3, 3), f32), (1, 1, 1, 1))["forward"] \
        != "winograd"


SHAPES = [  # n, c, o, h, w, padding (top, bottom, left, right)
    (2, 32, 64, 14, 14, (1, 1, 1, 1)),
    (1, 32, 32, 4, 4, (0, 0, 0, 0)),  # one tile
    (3, 37, 41, 7, 9, (1, 1, 1, 1)),  # primes, odd output: a cropped edge tile
    (2, 33, 32, 5, 6, (0, 0, 0, 0)),
    (1, 32, 35, 6, 11, (2, 2, 2, 2)),
    (2, 32, 32, 4, 5, (3, 3, 3, 3)),  # padding beyond the kernel: the input gradient's own padding is negative
    (1, 32, 48, 8, 8, (0, 2, 1, 0)),  # asymmetric
    (5, 64, 32, 13, 13, (1, 1, 1, 1)),  # chunks of several images
    (0, 32, 32, 5, 5, (1, 1, 1, 1)),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_and_gradients_match_the_reference_in_float64(shape):
    n, c, o, h, w, pad = shape
    rng = np.random.default_rng(sum(shape[:5]))
    x, wt, b = _case(rng, n, c, o, h, w, np.float64)
    assert _algorithms(x, wt, pad)["forward"] == "winograd"
    opts = ((1, 1), pad, (1, 1), 1)
    y = _kernels.conv2d_forward(x, wt, b, *opts)
    ref = R.conv2d_forward(x, wt, b, *opts)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = _kernels.conv2d_backward(dy, x, wt, *opts)
    rdx, rdw, rdb = R.conv2d_backward(dy, x, wt, *opts)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES[:-1], ids=str)
def test_float32_error_stays_near_the_direct_sums(shape):
    """Against the float64 reference: within a small multiple of float32's rounding of the output's scale."""
    n, c, o, h, w, pad = shape
    rng = np.random.default_rng(7 + sum(shape[:5]))
    x, wt, b = _case(rng, n, c, o, h, w, np.float64)
    opts = ((1, 1), pad, (1, 1), 1)
    ref = R.conv2d_forward(x, wt, b, *opts)
    y = _kernels.conv2d_forward(x.astype(np.float32), wt.astype(np.float32), b.astype(np.float32), *opts)
    assert np.abs(y - ref).max() <= 2e-6 * np.abs(ref).max()
    dy = rng.standard_normal(ref.shape)
    rdx, rdw, _ = R.conv2d_backward(dy, x, wt, *opts)
    dx, dw, _ = _kernels.conv2d_backward(dy.astype(np.float32), x.astype(np.float32), wt.astype(np.float32), *opts)
    assert np.abs(dx - rdx).max() <= 2e-6 * np.abs(rdx).max()
    if n:
        assert np.abs(dw - rdw).max() <= 2e-6 * np.abs(rdw).max()


def test_strided_inputs_are_read_as_their_values():
    rng = np.random.default_rng(3)
    big = rng.standard_normal((2, 64, 10, 12)).astype(np.float32)
    x = big[:, ::2, :, 1:-1]  # channels and columns strided
    wt = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    y = _kernels.conv2d_forward(x, wt, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    ref = R.conv2d_forward(x.astype(np.float64), wt.astype(np.float64), None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert np.abs(y - ref).max() <= 2e-6 * np.abs(ref).max()


def test_one_and_two_threads_give_the_same_bits():
    rng = np.random.default_rng(4)
    x, wt, b = _case(rng, 9, 32, 64, 14, 14, np.float32)
    dy = rng.standard_normal((9, 64, 14, 14)).astype(np.float32)
    results = []
    before = eg.get_num_threads()
    try:
        for threads in (1, 2, 1):
            eg.set_num_threads(threads)
            y = _kernels.conv2d_forward(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
            dx, dw, db = _kernels.conv2d_backward(dy, x, wt, (1, 1), (1, 1, 1, 1), (1, 1), 1)
            results.append(y.tobytes() + dx.tobytes() + dw.tobytes() + db.tobytes())
    finally:
        eg.set_num_threads(before)
    assert results[0] == results[1] == results[2]


def test_the_batch_does_not_change_an_image_s_bits():
    """Each image's outputs are the same bits alone as in a batch (chunks of images are independent)."""
    rng = np.random.default_rng(5)
    x, wt, b = _case(rng, 7, 32, 32, 9, 9, np.float32)
    whole = _kernels.conv2d_forward(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    for i in (0, 3, 6):
        one = _kernels.conv2d_forward(x[i:i + 1], wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        assert one.tobytes() == whole[i:i + 1].tobytes()


@pytest.mark.parametrize("where", [(2, 3), (0, 0), (5, 5), (3, 2), (4, 1)])
def test_a_nonfinite_input_reaches_exactly_the_outputs_whose_window_holds_it(where):
    """The transforms mix a tile's 4 x 4 patch, but each output row and column of a tile only takes the patch
    rows and columns of its own window, so an inf or NaN spreads to the outputs the direct sums reach, no
    further (an inf may come out as NaN where the sums have +inf and -inf terms)."""
    rng = np.random.default_rng(6)
    for bad_value in (np.inf, np.nan):
        x, wt, b = _case(rng, 1, 32, 32, 6, 6, np.float64)
        x[0, 5, where[0], where[1]] = bad_value
        y = _kernels.conv2d_forward(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        ref = R.conv2d_forward(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        bad = ~np.isfinite(ref)
        assert 0 < bad.sum() < bad.size
        assert np.array_equal(~np.isfinite(y), bad)
        np.testing.assert_allclose(y[~bad], ref[~bad], rtol=1e-12, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dy[0, 3, where[0], where[1]] = bad_value
        dx = _kernels.conv2d_backward(dy, x, wt, (1, 1), (1, 1, 1, 1), (1, 1), 1, grads=(True, False, False))[0]
        rdx = R.conv2d_backward(dy, x, wt, (1, 1), (1, 1, 1, 1), (1, 1), 1, grads=(True, False, False))[0]
        assert np.array_equal(~np.isfinite(dx), ~np.isfinite(rdx))


@pytest.mark.parametrize("seed", range(12))
def test_random_configurations_match_the_reference(seed):
    rng = np.random.default_rng(100 + seed)
    n, c, o = int(rng.integers(0, 4)), int(rng.integers(32, 70)), int(rng.integers(32, 70))
    h, w = int(rng.integers(1, 17)), int(rng.integers(1, 17))
    pad = tuple(int(v) for v in rng.integers(0, 4, 4))
    if h + pad[0] + pad[1] < 4 or w + pad[2] + pad[3] < 4:  # a 2 x 2 output at least
        pad = (2, 2, 2, 2)
    dtype = np.float64 if seed % 2 else np.float32
    x, wt, b = _case(rng, n, c, o, h, w, dtype)
    bias = b if seed % 3 else None
    opts = ((1, 1), pad, (1, 1), 1)
    assert _algorithms(x, wt, pad)["forward"] == "winograd"
    y = _kernels.conv2d_forward(x, wt, bias, *opts)
    ref = R.conv2d_forward(x.astype(np.float64), wt.astype(np.float64), None if bias is None else
                           bias.astype(np.float64), *opts)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    scale = max(np.abs(ref).max(), 1e-30) if ref.size else 1.0
    assert y.shape == ref.shape and (not y.size or np.abs(y - ref).max() <= tol * scale)
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = _kernels.conv2d_backward(dy, x, wt, *opts)
    want = R.conv2d_backward(dy.astype(np.float64), x.astype(np.float64), wt.astype(np.float64), *opts)
    for g, r in zip(got, want):
        assert g.shape == r.shape
        if g.size and np.abs(r).max() > 0:
            assert np.abs(g - r).max() <= tol * np.abs(r).max()
