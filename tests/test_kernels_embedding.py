"""Embedding kernels (lookup, scatter-add gradient, max_norm renormalisation, EmbeddingBag) against the
NumPy reference in float32 and float64: int64 and int32 indices, odd and prime sizes, one index, no
index, strided inputs, padding rows, repeated rows, empty bags; and the bindings' checks (out-of-range
indices raise IndexError naming the index, its position and the range; bad bags ValueError; in-place
buffers refused, not copied)."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

INDEX_DTYPES = [np.int64, np.int32]


@pytest.fixture(params=INDEX_DTYPES, ids=["int64", "int32"])
def itype(request):
    return request.param


# (num, dim, index shape)
LOOKUPS = [(10, 4, (3, 5)), (1, 1, (1,)), (13, 7, (0,)), (97, 31, (2, 3, 11)), (5, 3, ()), (1009, 64, (513,)),
           (7, 1, (40,))]


@pytest.mark.parametrize("num,dim,shape", LOOKUPS, ids=lambda v: str(v).replace(" ", ""))
@pytest.mark.parametrize("padding_idx,freq", [(-1, False), (2, False), (-1, True), (0, True)])
def test_embedding_matches_reference(rng, dtype, itype, num, dim, shape, padding_idx, freq):
    padding_idx = min(padding_idx, num - 1)
    weight = rng.standard_normal((num, dim)).astype(dtype)
    idx = rng.integers(0, num, shape).astype(itype)
    y = K.embedding_forward(weight, idx)
    np.testing.assert_array_equal(y, ref.embedding_forward(weight, idx))  # a gather is exact
    g = rng.standard_normal(y.shape).astype(dtype)
    gw = K.embedding_backward(g, idx, num, padding_idx, freq)
    assert_close(gw, ref.embedding_backward(g.astype(np.float64), idx, num, padding_idx, freq), dtype)
    if padding_idx >= 0:
        assert not np.any(gw[padding_idx])


def test_embedding_repeated_rows_sum_in_position_order(rng):
    # every contribution to row 3 in float32: the sum must be the left-to-right sum of positions 0, 1, 2, ...
    g = np.array([[1e8], [1.0], [-1e8], [1.0]], np.float32)
    gw = K.embedding_backward(g, np.array([3, 3, 3, 3]), 5, -1, False)
    expected = np.float32(np.float32(np.float32(1e8) + np.float32(1.0)) - np.float32(1e8)) + np.float32(1.0)
    assert gw[3, 0] == expected and not np.any(gw[[0, 1, 2, 4]])


def test_embedding_strided_inputs(rng, dtype):
    weight = np.asfortranarray(rng.standard_normal((11, 6)).astype(dtype))
    idx = rng.integers(0, 11, (8, 6))[:, ::2]  # strided views: copied on the way in, never wrong
    y = K.embedding_forward(weight, idx)
    np.testing.assert_array_equal(y, weight[idx])
    g = rng.standard_normal((8, 3, 12)).astype(dtype)[..., ::2]
    assert_close(K.embedding_backward(g, idx, 11, -1, False), ref.embedding_backward(g, idx, 11, -1, False), dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, np.inf, -np.inf, 0.0, 0.5])
def test_embedding_renorm_matches_reference(rng, dtype, itype, norm_type):
    weight = (rng.standard_normal((17, 9)) * 2).astype(dtype)
    weight[4, :3] = 0  # zeros for the 0-"norm"
    idx = rng.integers(0, 17, 25).astype(itype)
    idx[:3] = 4
    max_norm = {0.0: 5.0, -np.inf: 0.1}.get(norm_type, 1.3)
    mine, theirs = weight.copy(), weight.copy()
    K.embedding_renorm(mine, idx, max_norm, norm_type)
    ref.embedding_renorm(theirs, idx, max_norm, norm_type)
    assert_close(mine, theirs, dtype)
    untouched = np.setdiff1d(np.arange(17), idx)
    np.testing.assert_array_equal(mine[untouched], weight[untouched])
    assert not np.array_equal(mine, weight)


# (num, dim, n, offsets (starts of the bags), include_last_offset)
BAGS = [
    (10, 4, 12, [0, 3, 3, 7, 11], False),       # an empty bag, a bag of one
    (10, 4, 12, [0, 5, 9], True),               # the last offset ends the last bag; positions 9.. in no bag
    (1, 1, 1, [0], False),
    (23, 17, 0, [0, 0], False),                 # no index: empty bags
    (97, 33, 300, list(range(0, 300, 7)), False),
    (5, 3, 6, [0], True),                       # include_last_offset with one offset: no bag
]


def _starts(offsets, n, include_last):
    off = np.array(offsets, np.int64)
    return off if include_last else np.append(off, n)


@pytest.mark.parametrize("num,dim,n,offsets,last", BAGS, ids=lambda v: str(v).replace(" ", "")[:20])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [-1, 0])
def test_embedding_bag_matches_reference(rng, dtype, itype, num, dim, n, offsets, last, mode, padding_idx):
    weight = rng.standard_normal((num, dim)).astype(dtype)
    idx = rng.integers(0, num, n).astype(itype)
    starts = _starts(offsets, n, last)
    psw = rng.standard_normal(n).astype(dtype) if mode == "sum" else None
    out, size, at = K.embedding_bag_forward(weight, idx, starts, psw, mode, padding_idx)
    r_out, r_size, r_at = ref.embedding_bag_forward(weight.astype(np.float64), idx, starts,
                                                    None if psw is None else psw.astype(np.float64), mode, padding_idx)
    assert_close(out, r_out, dtype)
    np.testing.assert_array_equal(size, r_size)
    if mode == "max":
        np.testing.assert_array_equal(at, r_at)
    g = rng.standard_normal(out.shape).astype(dtype)
    for freq in ([False] if mode == "max" else [False, True]):
        gw = K.embedding_bag_backward(g, idx, starts, psw, size, at, num, mode, padding_idx, freq)
        r_gw = ref.embedding_bag_backward(g.astype(np.float64), idx, starts, None if psw is None else psw.astype(np.float64),
                                          r_size, r_at, num, mode, padding_idx, freq)
        assert_close(gw, r_gw, dtype)
    if psw is not None:
        gp = K.embedding_bag_per_sample_weights_backward(g, weight, idx, starts, padding_idx)
        assert_close(gp, ref.embedding_bag_per_sample_weights_backward(g, weight, idx, starts, padding_idx), dtype)


def test_embedding_bag_max_rule():
    # the first row of a bag initialises, only a strictly larger value replaces; NaN stays only when first
    w = np.array([[1.0, np.nan], [1.0, 5.0], [2.0, 7.0]])
    out, size, at = K.embedding_bag_forward(w, np.array([0, 1, 2, 1, 0]), np.array([0, 2, 5]), None, "max", -1)
    np.testing.assert_array_equal(at, [[0, 0], [2, 2]])
    assert np.isnan(out[0, 1]) and out[0, 0] == 1.0 and np.array_equal(out[1], [2.0, 7.0])


# --- the bindings' checks --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad,pos", [(10, 2), (-1, 0), (None, 1)])
def test_out_of_range_index_is_an_index_error(rng, itype, bad, pos):
    bad = int(np.iinfo(itype).max) if bad is None else bad
    weight = rng.standard_normal((10, 3))
    idx = np.array([1, 2, 3], itype)
    idx[pos] = bad
    msg = rf"indices: index {bad} at position {pos} is out of range: expected 0 <= index < 10"
    with pytest.raises(IndexError, match=msg):
        K.embedding_forward(weight, idx)
    with pytest.raises(IndexError, match=msg):
        K.embedding_backward(np.zeros((3, 3)), idx, 10, -1, False)
    with pytest.raises(IndexError, match=msg):
        K.embedding_renorm(weight, idx, 1.0, 2.0)
    with pytest.raises(IndexError, match=msg):
        K.embedding_bag_forward(weight, idx, np.array([0, 3]), None, "sum", -1)


@pytest.mark.parametrize("dt", [np.int16, np.uint8, np.float32, np.uint64])
def test_index_dtype_is_checked(rng, dt):
    with pytest.raises(TypeError, match=r"indices: expected an int64 or int32 array, got dtype"):
        K.embedding_forward(rng.standard_normal((4, 2)), np.array([1, 2], dt))


@pytest.mark.parametrize("starts,msg", [
    ([1, 3], r"offsets\[0\] >= 0|non-decreasing"), ([0, 4, 2], "non-decreasing"), ([0, 9], "past the 6 indices"),
    ([], "at least one"), ([-1, 2], r"offsets\[0\] >= 0"),
])
def test_bag_boundaries_are_checked(rng, starts, msg):
    weight = rng.standard_normal((4, 2))
    if starts == [1, 3]:  # a positive start is allowed by the kernel (positions before it are in no bag)
        out, _, _ = K.embedding_bag_forward(weight, np.zeros(6, np.int64), np.array(starts), None, "sum", -1)
        np.testing.assert_array_equal(out, 2 * weight[[0]])
        return
    with pytest.raises(ValueError, match=msg):
        K.embedding_bag_forward(weight, np.zeros(6, np.int64), np.array(starts, np.int64), None, "sum", -1)


def test_in_place_renorm_of_a_strided_weight_and_what_it_refuses(rng):
    weight = rng.standard_normal((6, 4))
    fortran, want = np.asfortranarray(weight), weight.copy()
    K.embedding_renorm(fortran, np.array([1]), 0.1, 2.0)  # (through a contiguous copy, written back)
    K.embedding_renorm(want, np.array([1]), 0.1, 2.0)
    np.testing.assert_array_equal(fortran, want)
    assert np.linalg.norm(want[1]) == pytest.approx(0.1, rel=1e-6) and (want[0] == weight[0]).all()
    ro = weight.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="weight: expected a writeable array"):
        K.embedding_renorm(ro, np.array([1]), 0.1, 2.0)
    with pytest.raises(ValueError, match="max_norm"):
        K.embedding_renorm(weight, np.array([1]), -1.0, 2.0)


def test_binding_shape_and_mode_checks(rng):
    weight = rng.standard_normal((6, 4))
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 4\)"):
        _C.embedding_forward(weight, np.array([1, 2]), np.empty((2, 3)))
    with pytest.raises(ValueError, match="weight: expected a 2-D array"):
        _C.embedding_forward(weight[0], np.array([1, 2]), np.empty((2, 4)))
    with pytest.raises(ValueError, match="mode: expected 0"):
        _C.embedding_bag_forward(weight, np.array([1]), np.array([0, 1]), None, np.empty((1, 4)),
                                 np.empty(1, np.int64), None, 3, -1)
    with pytest.raises(ValueError, match="per_sample_weights: only supported with mode 'sum'"):
        _C.embedding_bag_forward(weight, np.array([1]), np.array([0, 1]), np.ones(1), np.empty((1, 4)),
                                 np.empty(1, np.int64), None, 1, -1)
    with pytest.raises(IndexError, match="max_indices: expected values in"):
        _C.embedding_bag_backward(np.ones((1, 4)), np.array([1]), np.array([0, 1]), None, np.ones(1, np.int64),
                                  np.full((1, 4), 6, np.int64), np.empty((6, 4)), 2, -1, False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_the_first_index_out_of_range_is_named_over_a_large_array(dtype):
    """The range check (index.hpp's first_bad_index, shared with gather, scatter and the max pool) scans in
    chunks on the threads: the first bad position is named, whichever chunk a later bad one falls in."""
    w = np.ones((5, 3), np.float32)
    for bad in (5, -1, np.iinfo(dtype).max, np.iinfo(dtype).min):
        idx = np.zeros(70000, dtype)
        idx[40000], idx[60000] = bad, 7
        with pytest.raises(IndexError, match=f"index {bad} at position 40000 is out of range"):
            K.embedding_forward(w, idx)
    assert K.embedding_forward(w, np.array([4, 0], dtype)).tolist() == [[1.0] * 3] * 2
