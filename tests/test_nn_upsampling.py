"""Upsample / interpolate, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle, PixelUnshuffle:
values against the NumPy reference, gradcheck in float64 for every mode, the output-size rules, and the
errors that name the argument (ValueError for a bad input, a mode given input of the wrong rank included)."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck


def t(rng, *shape, dtype=np.float64):
    return eg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


@pytest.mark.parametrize("kw,size,scales,mode,ac", [
    (dict(scale_factor=2), (10, 14), (2.0, 2.0), "nearest", False),
    (dict(size=(7, 4), mode="nearest-exact"), (7, 4), (0, 0), "nearest-exact", False),
    (dict(scale_factor=(1.5, 0.6), mode="bilinear"), (7, 4), (1.5, 0.6), "linear", False),
    (dict(scale_factor=(1.5, 0.6), mode="bilinear", recompute_scale_factor=True), (7, 4), (0, 0), "linear", False),
    (dict(size=9, mode="bilinear", align_corners=True), (9, 9), (0, 0), "linear", True),
])
def test_interpolate_matches_reference(rng, dtype, kw, size, scales, mode, ac):
    x = t(rng, 2, 3, 5, 7, dtype=dtype)
    y = F.interpolate(x, **kw)
    assert y.shape == (2, 3) + size
    x_ref = x.detach().numpy().astype(np.float64) if mode == "linear" else x.detach().numpy()
    assert_close(y.detach().numpy(), ref.upsample_forward(x_ref, size, mode, scales, ac, legacy_nearest=True), dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(eg.from_numpy(g))
    assert_close(x.grad.numpy(), ref.upsample_backward(g, x.shape, mode, scales, ac, legacy_nearest=True), dtype)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(4, 7), mode="nearest-exact"),
                                dict(scale_factor=1.7, mode="bilinear"), dict(size=(2, 6), mode="bilinear",
                                                                                align_corners=True),
                                dict(size=(2, 3), mode="area")])
def test_interpolate_gradcheck_2d(rng, kw):
    assert gradcheck(lambda x: F.interpolate(x, **kw), (t(rng, 1, 2, 3, 4),))


@pytest.mark.parametrize("kw", [dict(scale_factor=2.5, mode="linear"), dict(size=7, mode="linear", align_corners=True),
                                dict(size=3, mode="nearest"), dict(scale_factor=0.7, mode="nearest-exact"),
                                dict(size=2, mode="area")])
def test_interpolate_gradcheck_1d(rng, kw):
    assert gradcheck(lambda x: F.interpolate(x, **kw), (t(rng, 2, 2, 5),))


@pytest.mark.parametrize("kw", [dict(size=(2, 3), mode="bilinear", antialias=True),
                                dict(scale_factor=(0.5, 1.5), mode="bicubic", antialias=True),
                                dict(size=(3, 2), mode="lanczos", antialias=True),
                                dict(size=(2, 2), mode="bilinear", antialias=True, align_corners=True)])
def test_interpolate_antialias_gradcheck_and_gradgradcheck(rng, kw):
    from eigengrad.autograd.gradcheck import gradgradcheck
    x = t(rng, 1, 2, 5, 4)
    assert gradcheck(lambda x: F.interpolate(x, **kw), (x,))
    assert gradgradcheck(lambda x: F.interpolate(x, **kw), (x,))


@pytest.mark.parametrize("kw", [dict(scale_factor=(2, 1.5, 0.7), mode="nearest"),
                                dict(size=(3, 2, 5), mode="nearest-exact"), dict(size=(2, 3, 1), mode="area")])
def test_interpolate_gradcheck_3d(rng, kw):
    assert gradcheck(lambda x: F.interpolate(x, **kw), (t(rng, 1, 2, 3, 4, 3),))


def aa_reference(x, out, kind):
    """Anti-aliased resampling of the last axis by its definition (Pillow's resample, PyTorch's antialias):
    output i centres at c = s (i + 0.5), s = in / out; the filter stretched by max(s, 1) covers the inputs j
    with |j + 0.5 - c| < support, its weights normalised. One output at a time, in plain Python."""
    n = x.shape[-1]
    s = n / out
    stretch = max(s, 1.0)
    taps = {"linear": 1.0, "cubic": 2.0}[kind] * stretch

    def f(v):
        v = abs(v)
        if kind == "linear":
            return max(0.0, 1.0 - v)
        a = -0.5
        return ((a + 2) * v - (a + 3)) * v * v + 1 if v < 1 else (((a * v - 5 * a) * v + 8 * a) * v - 4 * a if v < 2 else 0.0)

    y = np.zeros(x.shape[:-1] + (out,))
    for i in range(out):
        c = s * (i + 0.5)
        lo, hi = max(int(c - taps + 0.5), 0), min(int(c + taps + 0.5), n)
        w = np.array([f((j + 0.5 - c) / stretch) for j in range(lo, hi)])
        y[..., i] = x[..., lo:hi] @ (w / w.sum())
    return y


@pytest.mark.parametrize("mode,kind", [("bilinear", "linear"), ("bicubic", "cubic")])
@pytest.mark.parametrize("hw,size", [((9, 17), (4, 5)), ((6, 5), (13, 2)), ((1, 7), (1, 3)), ((31, 3), (7, 3))])
def test_interpolate_antialias_matches_its_definition(rng, dtype, mode, kind, hw, size):
    x = rng.standard_normal((2, 3) + hw)
    y = F.interpolate(eg.tensor(x.astype(dtype)), size=size, mode=mode, antialias=True)
    want = aa_reference(aa_reference(x, size[1], kind).swapaxes(-1, -2), size[0], kind).swapaxes(-1, -2)
    assert y.dtype == eg.tensor(x.astype(dtype)).dtype
    assert_close(y.numpy(), want, dtype)


def test_antialias_halving_is_the_1_3_3_1_triangle(rng):
    x = rng.standard_normal((1, 1, 1, 16))
    y = F.interpolate(eg.tensor(x), size=(1, 8), mode="bilinear", antialias=True).numpy()[0, 0, 0]
    v = x[0, 0, 0]
    np.testing.assert_allclose(y[1:-1], [(v[2 * i - 1] + 3 * v[2 * i] + 3 * v[2 * i + 1] + v[2 * i + 2]) / 8
                                         for i in range(1, 7)], rtol=1e-13)
    np.testing.assert_allclose(y[0], (3 * v[0] + 3 * v[1] + v[2]) / 7, rtol=1e-13)  # renormalised at the border


def test_nearest_on_5d_repeats_each_voxel(rng):
    x = t(rng, 2, 3, 2, 3, 4)
    y = F.interpolate(x, scale_factor=2)
    want = np.repeat(np.repeat(np.repeat(x.detach().numpy(), 2, axis=2), 2, axis=3), 2, axis=4)
    np.testing.assert_array_equal(y.detach().numpy(), want)
    y.backward(eg.ones(y.shape))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 8.0))
    np.testing.assert_allclose(F.interpolate(x, size=(1, 1, 1), mode="area").detach().numpy()[..., 0, 0, 0],
                               x.detach().numpy().mean((2, 3, 4)), rtol=1e-13)


def test_upsampling_layers(rng):
    x = t(rng, 1, 2, 3, 3)
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(scale_factor=2)(x).detach().numpy(),
                                  np.repeat(np.repeat(x.detach().numpy(), 2, axis=2), 2, axis=3))
    y = nn.UpsamplingBilinear2d(size=(5, 5))(x).detach().numpy()
    np.testing.assert_allclose(y[..., ::2, ::2], x.detach().numpy(), rtol=1e-15)  # aligned corners: every other output
    assert repr(nn.Upsample(scale_factor=2, mode="bilinear")) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.UpsamplingNearest2d(size=(4, 4))) == "UpsamplingNearest2d(size=(4, 4), mode='nearest')"


def test_pixel_shuffle_is_the_sub_pixel_rearrangement(rng):
    x = t(rng, 2, 12, 3, 5)
    y = F.pixel_shuffle(x, 2)
    assert y.shape == (2, 3, 6, 10)
    # y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w]
    for i in range(2):
        for j in range(2):
            np.testing.assert_array_equal(y.detach().numpy()[:, :, i::2, j::2], x.detach().numpy()[:, i * 2 + j::4])
    np.testing.assert_array_equal(F.pixel_unshuffle(y, 2).detach().numpy(), x.detach().numpy())
    assert gradcheck(lambda x: F.pixel_shuffle(x, 2), (t(rng, 1, 4, 2, 3),))
    assert gradcheck(lambda x: nn.PixelUnshuffle(3)(x), (t(rng, 2, 1, 3, 6),))
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"


def test_errors_name_the_argument(rng):
    x = t(rng, 1, 2, 4, 4)
    with pytest.raises(ValueError, match="size: only one of size or scale_factor should be defined"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="size: either size or scale_factor should be defined"):
        F.interpolate(x)
    with pytest.raises(ValueError, match=r"size: input and size must have the same number of spatial dimensions"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(TypeError, match="size: expected ints or a tuple of them"):
        F.interpolate(x, size=2.5)
    with pytest.raises(ValueError, match="scale_factor: expected positive finite scale factors"):
        F.interpolate(x, scale_factor=-2)
    with pytest.raises(ValueError, match="size: input and output sizes should be greater than 0"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(ValueError, match="align_corners: option can only be set with the interpolating modes"):
        F.interpolate(x, scale_factor=2, align_corners=False)
    with pytest.raises(ValueError, match="recompute_scale_factor: is not meaningful with an explicit size"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(ValueError, match="mode: expected one of"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    # PyTorch's rules: lanczos only with antialias=True, antialias only for bilinear/bicubic/lanczos on 4-D input
    with pytest.raises(ValueError, match="mode: Lanczos mode requires antialias=True"):
        F.interpolate(x, scale_factor=2, mode="lanczos")
    with pytest.raises(ValueError, match="input: Got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match=r"antialias: Anti-alias option is restricted .* \(got mode 'nearest', 4-D"):
        F.interpolate(x, scale_factor=2, mode="nearest", antialias=True)
    with pytest.raises(ValueError, match=r"antialias: .* requires a 4-D tensor as input \(got mode 'trilinear', 5-D"):
        F.interpolate(t(rng, 1, 1, 2, 2, 2), scale_factor=2, mode="trilinear", antialias=True)
    with pytest.raises(ValueError, match=r"input: interpolate takes 3-D .* got shape \(1, 1, 2, 2, 2, 2\)"):
        F.interpolate(t(rng, 1, 1, 2, 2, 2, 2), scale_factor=2)
    with pytest.raises(ValueError, match=r"upscale_factor: expected a positive int of at most 2\*\*31, got 0"):
        nn.PixelShuffle(0)
    with pytest.raises(ValueError, match="input: pixel_shuffle expects its channel dimension to be divisible"):
        F.pixel_shuffle(x, 2)
    with pytest.raises(ValueError, match="input: pixel_unshuffle expects height and width divisible"):
        F.pixel_unshuffle(x, 3)
    with pytest.raises(ValueError, match="input: pixel_shuffle expects .* at least 3 dimensions"):
        F.pixel_shuffle(t(rng, 4, 4), 2)


def test_deprecated_forms_warn_and_interpolate(rng):
    x = t(rng, 1, 1, 2, 2)
    with pytest.warns(UserWarning, match="upsample is deprecated"):
        y = F.upsample(x, scale_factor=2)
    np.testing.assert_array_equal(y.detach().numpy(), F.interpolate(x, scale_factor=2).detach().numpy())
    with pytest.warns(UserWarning, match="upsample_bilinear is deprecated"):
        z = F.upsample_bilinear(x, size=3)
    np.testing.assert_array_equal(z.detach().numpy(),
                                  F.interpolate(x, size=3, mode="bilinear", align_corners=True).detach().numpy())
    with pytest.warns(UserWarning, match="upsample_nearest is deprecated"):
        F.upsample_nearest(x, size=3)


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="nearest"), dict(size=(4, 9, 7), mode="nearest-exact"),
                                dict(size=(2, 2, 3), mode="area")])
def test_5d_interpolate_compiles_and_replays_eagers_bits(kw):
    import warnings
    runs = []
    for compiled in (False, True):
        eg.manual_seed(0)
        conv = nn.Conv3d(2, 2, 3, padding=1)
        opt = eg.optim.SGD(conv.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = conv(F.interpolate(x, **kw)).square().mean()
            loss.backward()
            opt.step()
            return loss
        fn = eg.compile(step) if compiled else step
        x = eg.tensor(np.random.default_rng(1).standard_normal((2, 2, 3, 4, 5)).astype(np.float32))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback to eager mode warns
            runs.append([fn(x).item() for _ in range(4)] + [conv.weight.detach().numpy().copy()])
    assert runs[0][:4] == runs[1][:4] and runs[0][3] < runs[0][0]
    np.testing.assert_array_equal(runs[0][4], runs[1][4])


def test_separable_modes_copy_an_axis_whose_size_is_kept():
    # PyTorch's trilinear and anti-aliased kernels leave an axis alone when its output size equals its input
    # size, whatever the scale factor (bicubic without antialias resamples it)
    x = eg.tensor(np.arange(3.0).reshape(1, 1, 3, 1, 1))
    out = eg.nn.functional.interpolate(x, scale_factor=(1.3, 1, 1), mode="trilinear")
    np.testing.assert_array_equal(out.numpy().ravel(), [0.0, 1.0, 2.0])
    img = eg.tensor(np.repeat(np.arange(3.0).reshape(1, 1, 3, 1), 2, axis=3))
    out = eg.nn.functional.interpolate(img, scale_factor=(1.3, 2), mode="bilinear", antialias=True)
    assert out.shape == (1, 1, 3, 4)
    np.testing.assert_allclose(out.numpy()[0, 0, :, 0], [0.0, 1.0, 2.0], atol=1e-6)
