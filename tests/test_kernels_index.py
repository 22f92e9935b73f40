"""gather, scatter (assign, add, multiply, amax, amin), index_select and index_add kernels against
eigengrad.reference: float32/float64/int64/int32/bool and other element sizes, odd shapes, index smaller than
the array outside the dim, repeated indices (accumulated in index order: bitwise the reference's order),
zero-size, strided inputs, and the bindings' checks (an index out of range never reaches the kernel)."""
import numpy as np
import pytest

from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._errors import ArgumentError
from eigengrad._kernels import _C

DTYPES_ALL = [np.float32, np.float64, np.int64, np.int32, np.int16, np.uint8, np.bool_]
SHAPES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 5), 1), ((2, 3, 5), 2), ((4, 1, 7), 0), ((1, 97, 3), 1),
          ((2, 1030, 3), 2), ((64, 5000), 1)]


def _values(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _index(rng, shape, dim, smaller=True):
    ishape = tuple(int(rng.integers(1, s + 1)) if (k != dim and smaller) else s for k, s in enumerate(shape))
    ishape = ishape[:dim] + (int(rng.integers(1, 2 * shape[dim] + 1)),) + ishape[dim + 1:]
    return rng.integers(0, shape[dim], ishape)


@pytest.mark.parametrize("dtype", DTYPES_ALL)
@pytest.mark.parametrize("shape,dim", SHAPES)
def test_gather_and_index_select_match_reference(rng, dtype, shape, dim):
    x = _values(rng, shape, dtype)
    idx = _index(rng, shape, dim)
    np.testing.assert_array_equal(K.gather(x, dim, idx), ref.gather(x, dim, idx))
    sel = rng.integers(0, shape[dim], 7)
    np.testing.assert_array_equal(K.index_select(x, dim, sel), ref.index_select(x, dim, sel))
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    np.testing.assert_array_equal(K.gather(strided, dim, idx), ref.gather(x, dim, idx))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("shape,dim", SHAPES[:7])
@pytest.mark.parametrize("reduce", ["assign", "add", "multiply", "amax", "amin"])
def test_scatter_matches_reference_bitwise(rng, dtype, shape, dim, reduce):
    out = _values(rng, shape, dtype)
    idx = _index(rng, shape, dim)
    src = _values(rng, tuple(s + 1 for s in idx.shape), dtype)  # larger than index: its corner is used
    if reduce == "multiply" and np.dtype(dtype).kind == "f":
        src = (0.5 + np.abs(src)).astype(dtype)
    got = K.scatter_(out.copy(), dim, idx, src, reduce)
    np.testing.assert_array_equal(got, ref.scatter_(out.copy(), dim, idx, src, reduce))


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.int16])
def test_scatter_assign_of_small_dtypes(rng, dtype):
    out = _values(rng, (4, 6), dtype)
    idx = np.array([[0, 5, 2], [1, 1, 3]])
    src = _values(rng, (2, 3), dtype)
    np.testing.assert_array_equal(K.scatter_(out.copy(), 1, idx, src), ref.scatter_(out.copy(), 1, idx, src))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("shape,dim", SHAPES)
def test_index_add_matches_reference_bitwise(rng, dtype, shape, dim):
    out = _values(rng, shape, dtype)
    idx = rng.integers(0, shape[dim], 9)
    src_shape = shape[:dim] + (9,) + shape[dim + 1:]
    src = _values(rng, src_shape, dtype)
    np.testing.assert_array_equal(K.index_add_(out.copy(), dim, idx, src), ref.index_add_(out.copy(), dim, idx, src))
    alpha = 2 if np.dtype(dtype).kind in "iu" else 0.75  # alpha * src + out may be one FMA: to rounding
    got, want = K.index_add_(out.copy(), dim, idx, src, alpha), ref.index_add_(out.copy(), dim, idx, src, alpha)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(got, want, rtol=0, atol=8 * np.finfo(dtype).eps * max(np.abs(want).max(), 1))
    else:
        np.testing.assert_array_equal(got, want)


def test_zero_size_and_empty_index():
    x = np.zeros((0, 3))
    assert K.gather(x, 0, np.zeros((0, 3), np.int64)).shape == (0, 3)
    assert K.index_select(np.ones((3, 0)), 0, np.array([1, 2])).shape == (2, 0)
    assert K.index_select(np.ones((3, 2)), 0, np.zeros(0, np.int64)).shape == (0, 2)
    out = np.ones((3, 2))
    np.testing.assert_array_equal(K.scatter_(out, 0, np.zeros((0, 2), np.int64), np.zeros((0, 2)), "add"), 1)
    np.testing.assert_array_equal(K.index_add_(out, 1, np.zeros(0, np.int64), np.zeros((3, 0))), 1)


def test_out_of_range_indices_are_refused_before_the_kernel():
    x = np.arange(12.0).reshape(3, 4)
    for bad in (4, -1, 2 ** 62):
        with pytest.raises(IndexError, match=f"index: index {bad} is out of bounds for size 4"):
            _C.gather(x[:1].reshape(1, 4, 1), np.array([[[0], [bad]]]), np.empty((1, 2, 1)))
        # gather and scatter raise PyTorch's RuntimeError and message (also at a compiled step's replay,
        # which calls these functions without the frontend around them)
        with pytest.raises(ArgumentError, match=f"^index {bad} is out of bounds for dimension 1 with size 4$"):
            K.gather(x, 1, np.array([[0, bad]]))
        with pytest.raises(ArgumentError, match=f"^index {bad} is out of bounds for dimension 1 with size 4$"):
            K.scatter_(x.copy(), 1, np.array([[bad]]), np.ones((1, 1)), "add")
        with pytest.raises(IndexError, match="out of bounds"):
            K.index_select(x, 1, np.array([bad]))
        with pytest.raises(IndexError, match="out of bounds"):
            K.index_add_(x.copy(), 1, np.array([bad]), np.ones((3, 1)))


def test_binding_checks():
    x = np.ones((2, 3, 4))
    idx = np.zeros((2, 1, 4), np.int64)
    with pytest.raises(TypeError, match="index: expected an int64 array"):
        _C.gather(x, idx.astype(np.int32), np.empty((2, 1, 4)))
    with pytest.raises(ValueError, match="index: expected shape"):
        _C.gather(x, np.zeros((2, 1, 3), np.int64), np.empty((2, 1, 4)))
    with pytest.raises(TypeError, match="out: expected dtype float64"):
        _C.gather(x, idx, np.empty((2, 1, 4), np.float32))
    with pytest.raises(ValueError, match="reduce: expected"):
        _C.scatter(x.copy(), idx, np.ones((2, 1, 4)), "mean")
    with pytest.raises(TypeError, match="out: expected a float32, float64, int64 or int32"):
        _C.scatter(np.ones((2, 3, 4), np.uint8), idx, np.ones((2, 1, 4), np.uint8), "add")
    ro = x.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        _C.scatter(ro, idx, np.ones((2, 1, 4)), "add")
    with pytest.raises(ValueError, match="out: expected a writeable C-contiguous array"):
        K.scatter_(np.ones((4, 3)).T, 0, np.zeros((1, 4), np.int64), np.ones((1, 4)), "add")
    with pytest.raises(ValueError, match="overlap|share"):
        buf = np.ones(24)
        _C.scatter(buf.reshape(2, 3, 4), idx, buf[:8].reshape(2, 1, 4), "add")
