"""Upsampling kernels (nearest, nearest-exact, bilinear with and without align_corners, from sizes or
scale factors) against the NumPy reference in float32 and float64: up and down, odd and prime sizes,
outputs of 1, batch 0, strided inputs; and the bindings' checks."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

# (input shape, output size, scales (0: none), mode, align_corners, legacy_nearest)
CASES = [
    ((2, 3, 5, 7), (10, 14), (0, 0), "nearest", False, True),
    ((2, 3, 5, 7), (11, 3), (0, 0), "nearest", False, False),
    ((1, 2, 5, 7), (8, 11), (1.7, 1.6), "nearest", False, True),
    ((1, 2, 5, 7), (8, 11), (1.7, 1.6), "nearest", False, False),
    ((1, 2, 5, 7), (3, 4), (0.6, 0.61), "nearest-exact", False, True),
    ((2, 1, 13, 3), (29, 7), (0, 0), "nearest-exact", False, False),
    ((2, 3, 5, 7), (11, 13), (0, 0), "linear", False, False),
    ((2, 3, 5, 7), (11, 13), (0, 0), "linear", True, False),
    ((2, 3, 5, 7), (8, 16), (1.7, 2.3), "linear", False, False),
    ((2, 3, 5, 7), (3, 2), (0, 0), "linear", False, False),                # downsampling
    ((1, 1, 4, 3), (1, 1), (0, 0), "linear", True, False),                 # one output: scale 0
    ((1, 1, 1, 9), (1, 20), (0, 2.25), "linear", False, False),            # height 1: the 1-D linear mode
    ((0, 3, 4, 4), (8, 8), (0, 0), "linear", False, False),                # no image
    ((3, 4, 17, 19), (34, 38), (2, 2), "nearest", False, True),
    ((1, 2, 31, 5), (71, 5), (2.3, 1.1), "nearest", False, False),
]


def ids(case):
    shape, size, scales, mode, ac, legacy = case
    return (f"{'x'.join(map(str, shape))}-to{size[0]}x{size[1]}-s{scales[0]}_{scales[1]}-{mode}{'-ac' if ac else ''}"
            f"{'-legacy' if legacy else ''}")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_upsample_matches_reference(rng, dtype, case):
    shape, size, scales, mode, ac, legacy = case
    x = rng.standard_normal(shape).astype(dtype)
    y = K.upsample_forward(x, size, mode, scales, ac, legacy)
    x_ref = x.astype(np.float64) if mode == "linear" else x  # nearest: the dtype picks the general rule's arithmetic
    assert_close(y, ref.upsample_forward(x_ref, size, mode, scales, ac, legacy), dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    gi = K.upsample_backward(g, shape, mode, scales, ac, legacy)
    assert_close(gi, ref.upsample_backward(g, shape, mode, scales, ac, legacy), dtype)


def test_the_two_nearest_rules_differ_where_pytorch_s_do():
    # output 69 of 31 -> 71 by 2.3 in float64: 69 * (1 / 2.3) is 30 - 1e-15 in double and rounds to 30 as a
    # float (the general rule); the legacy rule's float product 29.999998 floors to 29
    x = np.arange(31.0).reshape(1, 1, 1, 31)
    general = K.upsample_forward(x, (1, 71), "nearest", (0, 2.3), False, False)[0, 0, 0]
    legacy = K.upsample_forward(x, (1, 71), "nearest", (0, 2.3), False, True)[0, 0, 0]
    assert general[69] == 30 and legacy[69] == 29
    # a scale factor that keeps the size (5 * 1.1 -> 5): legacy copies, the general rule scales by 1 / 1.1
    y = np.arange(5.0).reshape(1, 1, 1, 5)
    assert K.upsample_forward(y, (1, 5), "nearest", (0, 1.1), False, True)[0, 0, 0, 4] == 4
    assert K.upsample_forward(y, (1, 5), "nearest", (0, 1.1), False, False)[0, 0, 0, 4] == 3
    # and each backward adds into the sources its own forward read
    g = np.ones((1, 1, 1, 71))
    np.testing.assert_array_equal(K.upsample_backward(g, x.shape, "nearest", (0, 2.3), False, False)[0, 0, 0],
                                  np.bincount(general.astype(int), minlength=31))


def test_strided_input(rng, dtype):
    x = np.asfortranarray(rng.standard_normal((2, 3, 5, 6)).astype(dtype))
    y = K.upsample_forward(x, (9, 7), "linear", (0, 0), True, False)
    assert_close(y, ref.upsample_forward(np.ascontiguousarray(x).astype(np.float64), (9, 7), "linear", (0, 0), True),
                 dtype)


def test_binding_checks(rng):
    x = rng.standard_normal((2, 4, 5))
    with pytest.raises(ValueError, match="mode: expected 'nearest', 'nearest-exact' or 'linear', got 'cubic'"):
        _C.upsample_forward(x, np.empty((2, 8, 10)), "cubic", 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="align_corners: only meaningful with mode 'linear'"):
        _C.upsample_forward(x, np.empty((2, 8, 10)), "nearest", 0.0, 0.0, True, False)
    with pytest.raises(ValueError, match="scale_h: expected a finite scale factor"):
        _C.upsample_forward(x, np.empty((2, 8, 10)), "linear", -1.0, 0.0, False, False)
    with pytest.raises(ValueError, match="input and output sizes should be greater than 0"):
        _C.upsample_forward(x, np.empty((2, 0, 10)), "linear", 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="out: expected 2 planes, got 3"):
        _C.upsample_forward(x, np.empty((3, 8, 10)), "linear", 0.0, 0.0, False, False)
    with pytest.raises(TypeError, match="out: expected dtype float64"):
        _C.upsample_forward(x, np.empty((2, 8, 10), np.float32), "linear", 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="out: must not share memory with input"):
        _C.upsample_forward(x, x, "nearest", 0.0, 0.0, False, False)
