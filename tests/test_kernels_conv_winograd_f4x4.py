"""Winograd F(4x4, 2x2) (cpp/src/conv_winograd.cpp) for 2 x 2 stride-1 convolutions, and through the input's four
phases (conv_winograd_phases.hpp) for 4 x 4 stride-2 ones and so ConvTranspose2d(kernel 4, stride 2): which
shapes take it, every pass against the NumPy reference in float64 and float32 on random configurations (odd
sizes, batch 0 and 1, every padding up to beyond the kernel, asymmetric, output_padding), strided inputs, the
same bits for any thread count and batch, and how far a non-finite input spreads."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels, reference as R

C = _kernels._C
F32_TOL = 1e-5  # F(4x4, 2x2)'s float32 error, of the output's scale (measured up to 8.5e-6 at 256 channels)


def _algorithms(x, w, padding, stride):
    return C.conv2d_algorithms(x, w, stride, padding, (1, 1), 1)


def test_the_shapes_it_takes():
    f32 = np.float32
    x = np.zeros((2, 32, 14, 14), f32)
    two = _algorithms(x, np.zeros((64, 32, 2, 2), f32), (0, 0, 0, 0), (1, 1))
    assert two["forward"] == two["input_grad"] == "winograd"
    assert two["weight_grad"] != "winograd"  # measured no faster than the direct kernel's
    four = _algorithms(x, np.zeros((64, 32, 4, 4), f32), (1, 1, 1, 1), (2, 2))
    assert four["forward"] == four["input_grad"] == "winograd" and four["weight_grad"] != "winograd"
    # the weight gradient by point pays with 128+ phase channels on each side, 256+ on one: 64 -> 128 and up
    wide = np.zeros((2, 64, 14, 14), f32)
    assert _algorithms(wide, np.zeros((128, 64, 4, 4), f32), (1, 1, 1, 1), (2, 2))["weight_grad"] == "winograd"
    assert _algorithms(wide[:, :32].copy(), np.zeros((256, 32, 4, 4), f32), (1, 1, 1, 1), (2, 2))["weight_grad"] \
        == "winograd"
    assert _algorithms(wide, np.zeros((64, 64, 4, 4), f32), (1, 1, 1, 1), (2, 2))["weight_grad"] != "winograd"
    assert _algorithms(wide[:, :32].copy(), np.zeros((128, 32, 4, 4), f32), (1, 1, 1, 1), (2, 2))["weight_grad"] \
        != "winograd"
    # its phases have 4 c channels: 8 input channels are enough, 4 are not
    assert _algorithms(x[:, :8].copy(), np.zeros((64, 8, 4, 4), f32), (1, 1, 1, 1), (2, 2))["forward"] == "winograd"
    assert _algorithms(x[:, :4].copy(), np.zeros((64, 4, 4, 4), f32), (1, 1, 1, 1), (2, 2))["forward"] != "winograd"
    # other strides, kernels and dilations are not taken
    assert _algorithms(x, np.zeros((64, 32, 4, 4), f32), (1, 1, 1, 1), (1, 1))["forward"] != "winograd"
    assert _algorithms(x, np.zeros((64, 32, 2, 2), f32), (0, 0, 0, 0), (2, 2))["forward"] != "winograd"
    assert _algorithms(x, np.zeros((64, 32, 4, 4), f32), (1, 1, 1, 1), (3, 3))["forward"] != "winograd"
    assert C.conv2d_algorithms(x, np.zeros((64, 32, 4, 4), f32), (2, 2), (1, 1, 1, 1), (2, 2), 1)["forward"] \
        != "winograd"
    assert _algorithms(x, np.zeros((16, 32, 2, 2), f32), (0, 0, 0, 0), (1, 1))["forward"] != "winograd"


def _random_case(rng, stride2):
    n = int(rng.integers(0, 4))
    c = int(rng.integers(8, 20)) if stride2 else int(rng.integers(32, 50))
    o = int(rng.integers(32, 50))
    h, w = int(rng.integers(2, 18)), int(rng.integers(2, 18))
    pad = tuple(int(v) for v in rng.integers(0, 5 if stride2 else 3, 4))
    k, s = (4, 2) if stride2 else (2, 1)
    oh = (h + pad[0] + pad[1] - k) // s + 1
    ow = (w + pad[2] + pad[3] - k) // s + 1
    if oh < 2 or ow < 2:  # at least a 2 x 2 output
        pad = (3, 3, 3, 3)
    return n, c, o, h, w, pad, k, s


def _check(got, want, tol):
    assert got.shape == want.shape
    if got.size and np.abs(want).max() > 0:
        assert np.abs(got - want).max() <= tol * np.abs(want).max()


def _check_passes(op, x, wt, b, opts, rng, tol):
    """``op`` (conv2d or conv_transpose2d): the forward and every gradient against the reference's in float64, the
    output gradient drawn from ``rng``; returns the output."""
    wide = [None if a is None else a.astype(np.float64) for a in (x, wt, b)]
    y = getattr(_kernels, f"{op}_forward")(x, wt, b, *opts)
    _check(y, getattr(R, f"{op}_forward")(*wide, *opts), tol)
    dy = rng.standard_normal(y.shape).astype(x.dtype)
    got = getattr(_kernels, f"{op}_backward")(dy, x, wt, *opts)
    want = getattr(R, f"{op}_backward")(dy.astype(np.float64), *wide[:2], *opts)
    assert len(got) == len(want) == 3
    for g, r in zip(got, want):
        _check(g, r, tol)
    return y


@pytest.mark.parametrize("seed", range(16))
def test_random_configurations_match_the_reference(seed):
    rng = np.random.default_rng(300 + seed)
    n, c, o, h, w, pad, k, s = _random_case(rng, stride2=seed % 2 == 0)
    dtype = np.float64 if seed % 4 < 2 else np.float32
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype) if seed % 3 else None
    opts = ((s, s), pad, (1, 1), 1)
    algorithms = _algorithms(x, wt, pad, (s, s))
    assert algorithms["forward"] == algorithms["input_grad"] == "winograd"
    _check_passes("conv2d", x, wt, bias, opts, rng, 1e-12 if dtype == np.float64 else F32_TOL)


@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose2d_kernel_4_stride_2_matches_the_reference(seed):
    """ConvTranspose2d(k=4, s=2)'s forward is the 4 x 4 stride-2 convolution's input gradient, its input gradient
    that convolution's forward: both go through the phases (output_padding adds rows no window reaches)."""
    rng = np.random.default_rng(400 + seed)
    n, ci, co = int(rng.integers(0, 4)), int(rng.integers(32, 48)), int(rng.integers(8, 40))
    h, w = int(rng.integers(2, 12)), int(rng.integers(2, 12))
    pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    out_pad = (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
    dtype = np.float64 if seed % 2 else np.float32
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = (rng.standard_normal((ci, co, 4, 4)) / np.sqrt(ci * 4)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    opts = ((2, 2), pad, out_pad, (1, 1), 1)
    y = _check_passes("conv_transpose2d", x, wt, b, opts, rng, 1e-12 if dtype == np.float64 else F32_TOL)
    # the convolution whose adjoint it is maps y-shaped planes to x-shaped ones
    conv = _algorithms(np.zeros(y.shape, dtype), wt, (pad[0], pad[0], pad[1], pad[1]), (2, 2))
    assert conv["forward"] == conv["input_grad"] == "winograd"


@pytest.mark.parametrize("seed", range(6))
def test_the_weight_gradient_by_point_matches_the_reference(seed):
    rng = np.random.default_rng(500 + seed)
    n, c, o = int(rng.integers(0, 4)), int(rng.integers(64, 72)), int(rng.integers(128, 136))
    h, w = int(rng.integers(4, 15)), int(rng.integers(4, 15))
    pad = tuple(int(v) for v in rng.integers(0, 4, 4))
    dtype = np.float64 if seed % 2 else np.float32
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((o, c, 4, 4)) / np.sqrt(c * 16)).astype(dtype)
    opts = ((2, 2), pad, (1, 1), 1)
    assert _algorithms(x, wt, pad, (2, 2))["weight_grad"] == "winograd"
    y = _kernels.conv2d_forward(x, wt, None, *opts)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dw = _kernels.conv2d_backward(dy, x, wt, *opts, grads=(False, True, False))[1]
    want = R.conv2d_backward(dy.astype(np.float64), x.astype(np.float64), wt.astype(np.float64), *opts,
                             grads=(False, True, False))[1]
    if n == 0:
        assert not dw.any()
    _check(dw, want, 1e-12 if dtype == np.float64 else F32_TOL)


def test_the_weight_gradient_by_point_adds_groups_of_images_in_order():
    """More images than one 32 MB group: the groups' sums add up (and an image's place in them does not
    depend on the thread count)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((60, 64, 32, 32)).astype(np.float32)
    wt = (rng.standard_normal((128, 64, 4, 4)) / 32).astype(np.float32)
    opts = ((2, 2), (1, 1, 1, 1), (1, 1), 1)
    dy = rng.standard_normal((60, 128, 16, 16)).astype(np.float32)
    want = R.conv2d_backward(dy.astype(np.float64), x.astype(np.float64), wt.astype(np.float64), *opts,
                             grads=(False, True, False))[1]
    bits = []
    before = eg.get_num_threads()
    try:
        for threads in (1, 2):
            eg.set_num_threads(threads)
            dw = _kernels.conv2d_backward(dy, x, wt, *opts, grads=(False, True, False))[1]
            _check(dw, want, F32_TOL)
            bits.append(dw.tobytes())
    finally:
        eg.set_num_threads(before)
    assert bits[0] == bits[1]


@pytest.mark.parametrize("padding, output_padding", [(0, 1), (1, 1), (0, 0), (2, 1)])
def test_conv_transpose2d_adds_its_bias_to_every_output_element(padding, output_padding):
    """The bias is added as the phases are scattered into the output, including the rows and columns that
    output_padding adds (no window reaches them: they are the bias alone)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 32, 5, 6))
    wt = rng.standard_normal((32, 16, 4, 4)) / 16
    b = rng.standard_normal(16)
    opts = ((2, 2), (padding, padding), (output_padding, output_padding), (1, 1), 1)
    y = _kernels.conv_transpose2d_forward(x, wt, b, *opts)
    conv = _algorithms(np.zeros(y.shape), wt, (padding,) * 4, (2, 2))
    assert conv["input_grad"] == "winograd"
    np.testing.assert_allclose(y, R.conv_transpose2d_forward(x, wt, b, *opts), rtol=1e-12, atol=1e-12)
    no_bias = _kernels.conv_transpose2d_forward(x, wt, None, *opts)
    np.testing.assert_allclose(y - no_bias, np.broadcast_to(b[None, :, None, None], y.shape), rtol=1e-12, atol=1e-12)


def test_strided_inputs_are_read_as_their_values():
    rng = np.random.default_rng(3)
    big = rng.standard_normal((2, 64, 16, 18)).astype(np.float32)
    x = big[:, ::2, :, 1:-1]  # channels and columns strided
    for k, s, pad in ((2, 1, (0, 0, 0, 0)), (4, 2, (1, 1, 1, 1))):
        wt = rng.standard_normal((32, 32, k, k)).astype(np.float32)
        y = _kernels.conv2d_forward(x, wt, None, (s, s), pad, (1, 1), 1)
        ref = R.conv2d_forward(x.astype(np.float64), wt.astype(np.float64), None, (s, s), pad, (1, 1), 1)
        _check(y, ref, F32_TOL)


@pytest.mark.parametrize("k, s", [(2, 1), (4, 2)])
def test_one_and_two_threads_and_any_batch_give_the_same_bits(k, s):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((11, 16, 14, 14)).astype(np.float32)
    wt = rng.standard_normal((48, 16, k, k)).astype(np.float32)
    if k == 2:
        x = np.concatenate([x, x], axis=1)
        wt = np.concatenate([wt, wt], axis=1)
    opts = ((s, s), (1, 1, 1, 1), (1, 1), 1)
    y0 = _kernels.conv2d_forward(x, wt, None, *opts)
    dy = rng.standard_normal(y0.shape).astype(np.float32)
    results = []
    before = eg.get_num_threads()
    try:
        for threads in (1, 2, 1):
            eg.set_num_threads(threads)
            y = _kernels.conv2d_forward(x, wt, None, *opts)
            dx = _kernels.conv2d_backward(dy, x, wt, *opts, grads=(True, False, False))[0]
            results.append(y.tobytes() + dx.tobytes())
    finally:
        eg.set_num_threads(before)
    assert results[0] == results[1] == results[2]
    for i in (0, 5, 10):  # an image alone: the same bits as in the batch
        one = _kernels.conv2d_forward(x[i:i + 1], wt, None, *opts)
        assert one.tobytes() == y0[i:i + 1].tobytes()


@pytest.mark.parametrize("k, s", [(2, 1), (4, 2)])
def test_a_nonfinite_input_spreads_within_its_tiles_only(k, s):
    """Unlike F(2x2, 3x3), F(4x4, 2x2)'s transforms mix the whole 5 x 5 patch into every output of a tile, so an
    inf or NaN input reaches the outputs of each 4 x 4 tile whose patch holds it (as NaN where the direct sums
    are finite); every output further away is exact."""
    rng = np.random.default_rng(6)
    c = 32 if k == 2 else 8
    for bad_value in (np.inf, np.nan):
        x = rng.standard_normal((1, c, 16, 16))
        wt = rng.standard_normal((32, c, k, k)) / np.sqrt(c * k * k)
        opts = ((s, s), (1, 1, 1, 1), (1, 1), 1)
        x[0, 3, 7, 8] = bad_value
        y = _kernels.conv2d_forward(x, wt, None, *opts)
        ref = R.conv2d_forward(x, wt, None, *opts)
        bad, near = ~np.isfinite(ref), np.zeros(ref.shape, bool)
        u, v = (7 + 1) // s, (8 + 1) // s  # the output at the bad input (padding 1)
        near[..., max(0, u - 5):u + 6, max(0, v - 5):v + 6] = True
        assert bad.any() and np.all(~np.isfinite(y[bad]))
        assert np.all(np.isfinite(y[~near]))
        np.testing.assert_allclose(y[~near], ref[~near], rtol=1e-12, atol=1e-12)
