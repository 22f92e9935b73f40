"""Batched augmentation: kernels against eigengrad.reference.augment, the transforms' geometry and
statistics, reproducibility by seed on any thread count, errors."""
import numpy as np
import pytest

import eigengrad as eg
from conftest import assert_close
from eigengrad import _kernels
from eigengrad.data import transforms as T
from eigengrad.reference import augment as ref

SHAPES = [(0, 1, 5, 5), (1, 1, 1, 1), (3, 1, 7, 11), (2, 3, 13, 5), (5, 2, 28, 28)]


def _images(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("horizontal", [True, False])
def test_flip_kernel_matches_reference(rng, dtype, shape, horizontal):
    x = _images(rng, shape, dtype)
    which = rng.random(shape[0]) < 0.5
    np.testing.assert_array_equal(_kernels.flip_images(x, which, horizontal), ref.flip_images(x, which, horizontal))


def _random_maps(rng, n, h, w):
    return T.inverse_maps(h, w, rng.uniform(-180, 180, n), rng.uniform(-3, 3, n), rng.uniform(-3, 3, n),
                          rng.uniform(0.5, 2, n))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill", [0.0, -1.5])
def test_affine_warp_kernel_matches_reference(rng, dtype, shape, interpolation, fill):
    x = _images(rng, shape, dtype)
    maps = _random_maps(rng, shape[0], shape[2], shape[3])
    got = _kernels.affine_warp(x, maps, interpolation, fill)
    assert got.dtype == dtype
    assert_close(got, ref.affine_warp(x, maps, interpolation, fill), dtype)


@pytest.mark.parametrize("shape", SHAPES[1:])
def test_erase_and_normalize_kernels_match_reference(rng, dtype, shape):
    n, c, h, w = shape
    x = _images(rng, shape, dtype)
    boxes = np.stack([rng.integers(-2, h, n), rng.integers(-2, w, n), rng.integers(0, h + 3, n),
                      rng.integers(0, w + 3, n)], axis=1)
    a, b = x.copy(), x.copy()
    _kernels.erase_boxes(a, boxes, 2.5)
    ref.erase_boxes(b, boxes, 2.5)
    np.testing.assert_array_equal(a, b)
    mean, std = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    assert_close(_kernels.normalize_channels(x, mean, std), ref.normalize_channels(x, mean, std), dtype)


def test_kernels_reject_bad_buffers():
    x = np.zeros((2, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"^images: expected a C-contiguous"):
        _kernels.affine_warp(x[..., ::2], np.zeros((2, 6)), "bilinear", 0.0)
    with pytest.raises(ValueError, match=r"^maps: expected shape \(2, 6\)"):
        _kernels.affine_warp(x, np.zeros((3, 6)), "bilinear", 0.0)
    with pytest.raises(ValueError, match=r"^interpolation: expected 'bilinear' or 'nearest', got 'cubic'"):
        _kernels.affine_warp(x, np.zeros((2, 6)), "cubic", 0.0)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^images: expected a writeable"):
        _kernels.erase_boxes(ro, np.zeros((2, 4), np.int64), 0.0)
    with pytest.raises(TypeError, match=r"^images: expected a float32 or float64"):
        _kernels.flip_images(np.zeros((2, 1, 4, 4), np.uint8), np.ones(2), True)


# --- the transforms ------------------------------------------------------------------------------------------

def test_a_flip_applied_twice_is_the_identity(rng):
    x = _images(rng, (6, 2, 5, 7), np.float32)
    for flip in (T.RandomHorizontalFlip(p=1.0), T.RandomVerticalFlip(p=1.0)):
        np.testing.assert_array_equal(flip(flip(x)), x)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(x), x[..., ::-1, :])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)


def test_rotation_and_translation_by_zero_are_the_identity(rng):
    x = _images(rng, (4, 3, 10, 7), np.float64)
    for t in (T.RandomRotation(0), T.RandomTranslation(0), T.RandomScale((1, 1)), T.RandomAffine()):
        np.testing.assert_array_equal(t(x), x)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotation_by_90_degrees_is_rot90_away_from_the_borders(rng, interpolation):
    x = _images(rng, (3, 2, 12, 12), np.float32)
    r = T.RandomRotation((90, 90), interpolation=interpolation)(x)
    np.testing.assert_allclose(r[..., 1:-1, 1:-1], np.rot90(x, axes=(2, 3))[..., 1:-1, 1:-1], atol=1e-5)
    r180 = T.RandomRotation((180, 180))(x)
    np.testing.assert_allclose(r180[..., 1:-1, 1:-1], x[..., ::-1, ::-1][..., 1:-1, 1:-1], atol=1e-5)


def test_integer_translation_shifts_pixels_and_fills(rng):
    x = _images(rng, (2, 1, 6, 8), np.float64)
    t = T.RandomTranslation((2, 2), fill=9.0)
    t._uniform = lambda n, lo, hi: np.full(n, hi)  # shift by exactly (+2, +2)
    y = t(x)
    np.testing.assert_array_equal(y[..., 2:, 2:], x[..., :-2, :-2])
    assert np.all(y[..., :2, :] == 9.0) and np.all(y[..., :, :2] == 9.0)


def test_same_seed_same_batch_on_any_number_of_threads(rng, restore_threads):
    x = _images(rng, (16, 3, 28, 28), np.float32)

    def pipeline():
        g = eg.Generator(123)
        return T.Compose([T.RandomHorizontalFlip(generator=g), T.RandomAffine(15, (0.1, 0.1), (0.9, 1.1), generator=g),
                          T.GaussianNoise(0.1, generator=g), T.RandomErasing(generator=g)])(x)
    eg.set_num_threads(1)
    one = pipeline()
    eg.set_num_threads(2)
    two = pipeline()
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, x)


def test_noise_and_erasing_statistics(rng):
    x = np.zeros((64, 1, 32, 32), np.float64)
    noisy = T.GaussianNoise(0.3, generator=eg.Generator(1))(x)
    assert abs(noisy.std() - 0.3) < 0.01 and abs(noisy.mean()) < 0.01
    erased = T.RandomErasing(p=1.0, scale=(0.1, 0.2), ratio=(1, 1), value=1.0, generator=eg.Generator(2))(x)
    frac = erased.reshape(64, -1).mean(axis=1)
    assert np.all((frac > 0.07) & (frac < 0.25))  # area fraction in scale (rounding of the box sides)
    kept = T.RandomErasing(p=0.0, value=1.0)(x)
    np.testing.assert_array_equal(kept, x)


def test_normalize_tensor_and_3d_input(rng):
    x = eg.tensor(_images(rng, (5, 8, 8), np.float32))  # (N, H, W): one channel
    y = T.Normalize(0.5, 2.0)(x)
    assert isinstance(y, eg.Tensor) and y.shape == (5, 8, 8)
    np.testing.assert_allclose(y.numpy(), (x.numpy() - 0.5) / 2.0, rtol=1e-6)


def test_transform_errors():
    with pytest.raises(TypeError, match=r"^images: expected float32 or float64 pixels, got uint8"):
        T.RandomHorizontalFlip()(np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"^images: expected a batch of shape"):
        T.RandomHorizontalFlip()(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match=r"^p: "):
        T.RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match=r"^degrees: "):
        T.RandomRotation(-5)
    with pytest.raises(ValueError, match=r"^scale: "):
        T.RandomScale((0, 1))
    with pytest.raises(ValueError, match=r"^std: "):
        T.Normalize(0.0, 0.0)
