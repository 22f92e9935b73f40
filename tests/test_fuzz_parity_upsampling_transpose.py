"""Regressions from differential fuzzing of the transposed convolutions (nn.ConvTranspose1d/2d,
F.conv_transpose1d/2d), interpolate / nn.Upsample / UpsamplingNearest2d / UpsamplingBilinear2d and
pixel_shuffle / pixel_unshuffle against PyTorch 2.13 on random configurations (float64 outputs and
gradients to 1e-10) and on invalid arguments (the same exception type as PyTorch, never a silent answer).

Every test states its case, asserts literal values where that is easy (so it checks something without
PyTorch) and compares with PyTorch when it is importable."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
import eigengrad.nn.functional as F


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is needed for the parity half of this test")


# ---------------------------------------------------------------------------------------------------------
# transposed convolutions


def test_conv_transpose_output_size_takes_integer_likes_and_refuses_floats():
    """ConvTranspose1d(1, 1, 2, stride=2), weight [1, 10], x = [1, 2, 3]: sizes 6 .. 7 are valid. A NumPy
    int output_size is an int (7: one zero of output_padding at the end); 6.5 used to be truncated to 6
    silently, PyTorch raises a TypeError (a float output_padding), as does a list of lists or a string."""
    m = nn.ConvTranspose1d(1, 1, 2, stride=2, bias=False, dtype=eg.float64)
    m.load_state_dict({"weight": np.array([[[1.0, 10.0]]])})
    x = eg.tensor(np.array([[[1.0, 2.0, 3.0]]]))
    np.testing.assert_array_equal(m(x, output_size=(np.int64(7),)).detach().numpy(), [[[1, 10, 2, 20, 3, 30, 0]]])
    np.testing.assert_array_equal(m(x, output_size=[6]).detach().numpy(), [[[1, 10, 2, 20, 3, 30]]])
    for bad in [(6.5,), (7.0,), [[7]], "ab"]:
        with pytest.raises(TypeError, match="output_size: expected a sequence of ints"):
            m(x, output_size=bad)
    torch = _torch()
    tm = torch.nn.ConvTranspose1d(1, 1, 2, stride=2, bias=False).double()
    with pytest.raises(TypeError):
        tm(torch.tensor(x.numpy()), output_size=(6.5,))


def test_conv_transpose_empty_weight_raises_runtime_error():
    """A weight with no output channels per group, no input channels or a zero kernel size: PyTorch raises
    a RuntimeError; eigengrad returned an empty (or channel-less) output, or a plain ValueError from the
    kernel for a zero kernel size."""
    cases = [(2, (1, 4, 3, 3), (4, 0, 3, 3)), (2, (1, 0, 3, 3), (0, 2, 3, 3)), (2, (1, 4, 3, 3), (4, 2, 0, 3)),
             (1, (1, 4, 3), (4, 0, 3)), (1, (1, 0, 3), (0, 2, 3)), (1, (1, 4, 3), (4, 2, 0))]
    for dims, xs, ws in cases:
        fn = F.conv_transpose1d if dims == 1 else F.conv_transpose2d
        with pytest.raises(RuntimeError, match="weight: expected a non-empty weight"):
            fn(eg.tensor(np.ones(xs)), eg.tensor(np.ones(ws)))
    # a non-empty weight still works: 1 x 1 kernel, stride 2 spreads the input with zeros between
    y = F.conv_transpose1d(eg.tensor(np.array([[[1.0, 2.0]]])), eg.tensor(np.array([[[3.0]]])), stride=2)
    np.testing.assert_array_equal(y.numpy(), [[[3, 0, 6]]])
    torch = _torch()
    for dims, xs, ws in cases:
        fn = torch.nn.functional.conv_transpose1d if dims == 1 else torch.nn.functional.conv_transpose2d
        with pytest.raises(RuntimeError):
            fn(torch.ones(xs, dtype=torch.float64), torch.ones(ws, dtype=torch.float64))


def test_conv_transpose_option_of_the_wrong_length_or_type():
    """F.conv_transpose2d with stride=(1, 2, 3) (and conv_transpose1d with a pair): PyTorch's RuntimeError,
    eigengrad raised a bare TypeError; padding='same': PyTorch's TypeError, eigengrad a ValueError. Now
    ArgumentTypeError, which is both a RuntimeError and a TypeError."""
    x, w = eg.tensor(np.ones((1, 4, 3, 3))), eg.tensor(np.ones((4, 2, 3, 3)))
    x1, w1 = eg.tensor(np.ones((1, 4, 3))), eg.tensor(np.ones((4, 2, 3)))
    for call in (lambda: F.conv_transpose2d(x, w, stride=(1, 2, 3)),
                 lambda: F.conv_transpose2d(x, w, output_padding=[0]),
                 lambda: F.conv_transpose1d(x1, w1, dilation=(2, 2))):
        with pytest.raises(RuntimeError, match="expected an int or a list of"):
            call()
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError, match="padding: a transposed convolution takes an int or a tuple of ints"):
        F.conv_transpose2d(x, w, padding="same")
    # the same options of the right length, all ones, stride (1, 2): 4 channels times the taps that reach an
    # output (rows: 3 at row 2; columns 2 u + a: 2 at column 2, 1 at column 3)
    y = F.conv_transpose2d(x, w, stride=(1, 2))
    assert y.shape == (1, 2, 5, 7)
    assert (y.numpy()[0, 1, 2, 2], y.numpy()[0, 1, 2, 3], y.numpy()[0, 0, 0, 0]) == (4 * 3 * 2, 4 * 3 * 1, 4)
    torch = _torch()
    tx, tw = torch.ones(1, 4, 3, 3, dtype=torch.float64), torch.ones(4, 2, 3, 3, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose2d(tx, tw, stride=(1, 2, 3))
    with pytest.raises(TypeError):
        torch.nn.functional.conv_transpose2d(tx, tw, padding="same")
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.conv_transpose2d(tx, tw, stride=(1, 2)).numpy())


def test_conv_transpose_double_backward_with_output_padding_at_least_the_stride():
    """output_padding >= stride (allowed when < dilation): the convolution that is the input gradient
    overhangs the input, and create_graph gradients could not be differentiated again (a RuntimeError;
    PyTorch differentiates them). conv_transpose1d of x = [1, 2] with w = [[[3]]], stride 1, dilation 2,
    output_padding 1 is [3, 6, 0]; for L = sum(y^2): dL/dx = 2 w^2 x = [18, 36], and s = sum(dL/dx) has
    ds/dw = 4 w sum(x) = 36, ds/dx = 2 w^2 = [18, 18]."""
    x = eg.tensor(np.array([[[1.0, 2.0]]]), requires_grad=True)
    w = eg.tensor(np.array([[[3.0]]]), requires_grad=True)
    y = F.conv_transpose1d(x, w, stride=1, output_padding=1, dilation=2)
    np.testing.assert_array_equal(y.detach().numpy(), [[[3, 6, 0]]])
    (gx,) = eg.autograd.grad((y * y).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), [[[18, 36]]])
    dx, dw = eg.autograd.grad(gx.sum(), [x, w])
    np.testing.assert_array_equal(dw.numpy(), [[[36]]])
    np.testing.assert_array_equal(dx.numpy(), [[[18, 18]]])
    torch = _torch()
    r = np.random.default_rng(5)
    xs, ws, v = r.standard_normal((2, 4, 3, 5)), r.standard_normal((4, 1, 2, 3)), r.standard_normal((2, 4, 3, 5))
    opts = dict(stride=(1, 2), padding=(0, 1), output_padding=(1, 1), groups=2, dilation=(2, 2))
    grads = []
    for lib, fn in ((eg, F.conv_transpose2d), (torch, torch.nn.functional.conv_transpose2d)):
        tx, tw = lib.tensor(xs, requires_grad=True), lib.tensor(ws, requires_grad=True)
        out = fn(tx, tw, **opts)
        gx, gw = lib.autograd.grad((out * out).sum(), [tx, tw], create_graph=True)
        grads.append([a.detach().numpy() for a in lib.autograd.grad((gx * lib.tensor(v)).sum() + (gw * gw).sum(),
                                                                       [tx, tw])])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max())


@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose2d_random_configs_match_torch(seed):
    """A slice of the fuzzing: ConvTranspose2d with random non-square kernel / stride / dilation, padding,
    groups, bias on or off, output_size (so output_padding), on a transposed (non-contiguous) view, batch 1
    or unbatched; output, input, weight and bias gradients to 1e-10 (float64)."""
    torch = _torch()
    r = np.random.default_rng(seed)
    g = int(r.choice([1, 2, 3]))
    ci, co = g * int(r.integers(1, 3)), g * int(r.integers(1, 3))
    k, s, d = [tuple(int(v) for v in r.integers(1, hi, 2)) for hi in (5, 4, 3)]
    p = tuple(int(v) for v in r.integers(0, 2, 2))
    spatial = (int(r.choice([1, 3, 5])), int(r.choice([2, 7])))
    mins = [(n - 1) * si - 2 * pi + di * (ki - 1) + 1 for n, si, pi, di, ki in zip(spatial, s, p, d, k)]
    if min(mins) < 1:  # padding too large for this draw: none
        p = (0, 0)
        mins = [(n - 1) * si + di * (ki - 1) + 1 for n, si, di, ki in zip(spatial, s, d, k)]
    cfg = dict(kernel_size=k, stride=s, padding=p, groups=g, bias=bool(seed % 2), dilation=d)
    tm = torch.nn.ConvTranspose2d(ci, co, **cfg).double()
    em = nn.ConvTranspose2d(ci, co, **cfg, dtype=eg.float64)
    em.load_state_dict({key: v.detach().numpy().copy() for key, v in tm.state_dict().items()})
    shape = ((1,) if seed % 3 else ()) + (ci,) + spatial[::-1]
    x = r.standard_normal(shape)
    out_size = tuple(m + int(r.integers(0, si)) for m, si in zip(mins, s))
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = em(ex.transpose(-1, -2), output_size=out_size), tm(tx.transpose(-1, -2), output_size=out_size)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=0,
                               atol=1e-10 * max(1, ty.abs().max().item()))
    gy = r.standard_normal(tuple(ty.shape))
    ey.backward(eg.tensor(gy))
    ty.backward(torch.tensor(gy))
    pairs = [(ex.grad, tx.grad), (em.weight.grad, tm.weight.grad)] + \
        ([(em.bias.grad, tm.bias.grad)] if cfg["bias"] else [])
    for a, b in pairs:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-10 * max(1, b.abs().max().item()))


# ---------------------------------------------------------------------------------------------------------
# interpolate / Upsample


@pytest.mark.parametrize("shape, kw", [((1, 1, 4), dict(mode="bilinear", scale_factor=2)),
                                       ((1, 1, 4), dict(mode="bicubic", size=3)),
                                       ((1, 1, 2, 3, 4), dict(mode="bilinear", size=4)),
                                       ((1, 1, 2, 3), dict(mode="trilinear", size=4)),
                                       ((2, 3), dict(mode="nearest", size=3)),
                                       ((1, 1, 1, 1, 2, 3), dict(mode="nearest", scale_factor=2)),
                                       ((1, 1, 2, 3), dict(mode="foo", size=3))])
def test_interpolate_rank_and_mode_errors_are_not_implemented_errors(shape, kw):
    """A mode on input of a rank it does not take, input of a rank interpolate does not take, or an
    unknown mode: PyTorch raises NotImplementedError, eigengrad raised only its ValueError (which it still
    is, PyTorch's type where it checks the size first)."""
    x = eg.tensor(np.ones(shape))
    with pytest.raises(NotImplementedError):
        F.interpolate(x, **kw)
    with pytest.raises(ValueError):
        F.interpolate(x, **kw)
    if kw["mode"] == "bilinear" and len(shape) == 3:
        with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D input"):
            nn.UpsamplingBilinear2d(scale_factor=2)(x)
    torch = _torch()
    with pytest.raises(NotImplementedError):
        torch.nn.functional.interpolate(torch.ones(shape), **kw)


def test_lanczos_refuses_align_corners():
    """interpolate(mode='lanczos', antialias=True, align_corners=True): PyTorch raises a ValueError,
    eigengrad resampled silently; align_corners=False still resamples."""
    x = eg.tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    with pytest.raises(ValueError, match="Lanczos mode does not support align_corners=True"):
        F.interpolate(x, size=4, mode="lanczos", antialias=True, align_corners=True)
    y = F.interpolate(x, size=(2, 3), mode="lanczos", antialias=True, align_corners=False)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-12)  # same size: the identity
    torch = _torch()
    with pytest.raises(ValueError):
        torch.nn.functional.interpolate(torch.tensor(x.numpy()), size=4, mode="lanczos", antialias=True,
                                        align_corners=True)


@pytest.mark.parametrize("mode, shape", [("nearest", (1, 0, 2)), ("nearest-exact", (2, 0, 2, 2)),
                                         ("linear", (1, 0, 3)), ("bilinear", (1, 0, 2, 2)),
                                         ("bicubic", (0, 0, 2, 2))])
def test_interpolate_without_channels_raises_except_area(mode, shape):
    """Input with 0 channels: PyTorch's upsampling kernels raise a RuntimeError ("Non-empty 4D data tensor
    expected"); eigengrad returned an empty tensor. Mode 'area' (adaptive pooling) takes it in both, and
    0 batch with channels is fine in both."""
    with pytest.raises(RuntimeError, match="Non-empty .* data tensor expected"):
        F.interpolate(eg.tensor(np.ones(shape)), size=3, mode=mode)
    assert F.interpolate(eg.tensor(np.ones(shape)), size=3, mode="area").shape == shape[:2] + (3,) * (len(shape) - 2)
    y = F.interpolate(eg.tensor(np.ones((0, 2) + shape[2:])), size=3, mode=mode)
    assert y.shape == (0, 2) + (3,) * (len(shape) - 2)
    torch = _torch()
    with pytest.raises(RuntimeError):
        torch.nn.functional.interpolate(torch.ones(shape), size=3, mode=mode)


@pytest.mark.parametrize("shape, kw, out", [((1, 1, 2), dict(scale_factor=0.3), (1, 1, 0)),
                                            ((2, 3, 2, 3), dict(size=(0, 5)), (2, 3, 0, 5)),
                                            ((1, 1, 2, 2), dict(scale_factor=(0.3, 2.0)), (1, 1, 0, 4)),
                                            ((1, 1, 2, 2), dict(scale_factor=0.0), (1, 1, 0, 0)),
                                            ((1, 2, 2, 2, 2), dict(size=0), (1, 2, 0, 0, 0))])
def test_area_to_an_empty_size_gives_an_empty_tensor(shape, kw, out):
    """mode='area' to an output size of 0 (size=0, or floor(in * scale) = 0): PyTorch's adaptive pooling
    returns an empty tensor, eigengrad raised "sizes should be greater than 0". Its gradient is zeros
    (PyTorch's backward raises there). Negative sizes still raise."""
    x = eg.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    y = F.interpolate(x, mode="area", **kw)
    assert y.shape == out and y.detach().numpy().size == 0
    (y.sum() + (x * 2).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 2.0))
    with pytest.raises(RuntimeError, match="sizes should be greater than 0"):
        F.interpolate(x, mode="area", size=-1)
    with pytest.raises(RuntimeError, match="sizes should be greater than 0|positive finite scale factors"):
        F.interpolate(x, mode="nearest", **kw)  # the other modes still refuse an empty output
    torch = _torch()
    assert tuple(torch.nn.functional.interpolate(torch.ones(shape), mode="area", **kw).shape) == out


def test_scale_factor_may_be_a_bool():
    """scale_factor=True is PyTorch's 1.0 (it passes a double), and (True, 2) nearest doubles the width
    only; eigengrad raised a TypeError. A size of True still is a TypeError in both."""
    x = eg.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=(True, 2), mode="nearest").numpy(),
                                  [[[[1, 1, 2, 2], [3, 3, 4, 4]]]])
    np.testing.assert_array_equal(nn.Upsample(scale_factor=True)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=True, mode="area").numpy(), x.numpy())
    with pytest.raises(RuntimeError, match="positive finite scale factors"):
        F.interpolate(x, scale_factor=False, mode="nearest")  # PyTorch: a RuntimeError (output size 0)
    with pytest.raises(TypeError):
        F.interpolate(x, size=True)
    torch = _torch()
    tx = torch.tensor(x.numpy())
    np.testing.assert_array_equal(torch.nn.functional.interpolate(tx, scale_factor=(True, 2)).numpy(),
                                  F.interpolate(x, scale_factor=(True, 2)).numpy())


# ---------------------------------------------------------------------------------------------------------
# pixel shuffle


@pytest.mark.parametrize("factor", [2.0, True, "2", None])
def test_shuffle_factor_of_the_wrong_type_is_a_type_error(factor):
    """pixel_shuffle / pixel_unshuffle with a float, bool, str or None factor: PyTorch's TypeError, eigengrad
    raised a ValueError (now ArgumentTypeError, a TypeError and a RuntimeError); modules check in the
    constructor. Non-positive ints stay RuntimeError / ValueError in both."""
    x = eg.tensor(np.arange(16.0).reshape(1, 4, 2, 2))
    for call in (lambda: F.pixel_shuffle(x, factor), lambda: F.pixel_unshuffle(x, factor),
                 lambda: nn.PixelShuffle(factor), lambda: nn.PixelUnshuffle(factor)):
        with pytest.raises(TypeError, match="scale_factor: expected a positive int"):
            call()
    with pytest.raises(RuntimeError, match="upscale_factor: expected a positive int"):
        F.pixel_shuffle(x, 0)
    np.testing.assert_array_equal(F.pixel_shuffle(x, 2).numpy()[0, 0],
                                  [[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]])
    torch = _torch()
    for fn in (torch.nn.functional.pixel_shuffle, torch.nn.functional.pixel_unshuffle):
        with pytest.raises(TypeError):
            fn(torch.tensor(x.numpy()), factor)
