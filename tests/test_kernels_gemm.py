"""GEMM kernel (eigengrad._kernels.gemm / _C.gemm) against the NumPy reference.

The oracle is ``eigengrad.reference.gemm`` evaluated in float64 on the same (possibly float32) inputs.
float64 results must agree to 1e-12 relative to max|expected|. float32 results are compared with the
error relative to max(|op(a)| @ |op(b)| + |bias| [+ |out|]), the natural scale of the rounding error of
a length-k float32 dot product, at the float32 tolerance 1e-5.
"""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

TRANS = [(False, False), (False, True), (True, False), (True, True)]
TRANS_IDS = ["NN", "NT", "TN", "TT"]


def operands(rng, m, n, k, trans_a, trans_b, dtype):
    """a stored (m, k) or (k, m), b stored (k, n) or (n, k), bias (n,), values in [-1, 1)."""
    a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(dtype)
    bias = rng.uniform(-1, 1, n).astype(dtype)
    return a, b, bias


def expected_and_scale(a, b, bias, trans_a, trans_b, out0=None):
    """The float64 reference result and the error scale for float32 comparisons."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bias64 = None if bias is None else bias.astype(np.float64)
    exp = ref.gemm(a64, b64, bias64, trans_a, trans_b)
    mag = ref.gemm(np.abs(a64), np.abs(b64), None if bias is None else np.abs(bias64), trans_a, trans_b)
    if out0 is not None:
        exp = exp + out0.astype(np.float64)
        mag = mag + np.abs(out0.astype(np.float64))
    scale = max(float(mag.max()), 1e-30) if mag.size else 1.0
    return exp, scale


def check_gemm(actual, a, b, bias, trans_a, trans_b, dtype, out0=None):
    assert actual.dtype == np.dtype(dtype)
    exp, scale = expected_and_scale(a, b, bias, trans_a, trans_b, out0)
    assert np.all(np.isfinite(actual))
    if np.dtype(dtype) == np.float64:
        assert_close(actual, exp, dtype)  # relative to max|expected|
    else:
        assert_close(actual, exp, dtype, scale=scale)


SHAPES = [  # (m, n, k)
    (1, 1, 1),
    (1, 7, 13),
    (13, 1, 7),
    (7, 13, 1),
    (7, 13, 31),
    (31, 97, 13),
    (97, 31, 97),
    (128, 256, 64),  # exactly one tile
    (129, 257, 13),  # one past the tile sizes in both directions
    (300, 129, 257),
    (257, 300, 5),
    # few rows of A (B read in place, not packed, when it is row-major), with partial last panels of
    # B and of A's rows, and several k-blocks
    (4, 17, 3),
    (9, 33, 260),
    (45, 77, 300),
    (48, 100, 520),
    # few columns (at most two panels): with trans_a, A is read in place, not packed (attention's dv, dk),
    # with partial last tiles of A's rows and several k-blocks
    (257, 64, 300),
    (13, 64, 257),
    (300, 33, 520),
    # at most 16 columns and k >= 16 n: NT is computed in dot form (lanes along k): k at that bound and one
    # below it (packed), k one past a multiple of the vector; rows not a multiple of the register block;
    # 16 columns, the widest it takes; several threads' chunks of rows (2mnk above the threads' threshold)
    (5, 3, 48),
    (5, 3, 47),
    (6, 1, 17),
    (37, 16, 300),
    (53, 11, 1041),
    (1000, 10, 257),
]


@pytest.mark.parametrize("m,n,k", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("with_bias", [False, True], ids=["nobias", "bias"])
def test_gemm_matches_reference(rng, dtype, m, n, k, trans_a, trans_b, with_bias):
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias = bias if with_bias else None
    c = _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b)
    assert c.shape == (m, n)
    check_gemm(c, a, b, bias, trans_a, trans_b, dtype)


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_large(rng, dtype, trans_a, trans_b):
    # A Linear layer on MNIST-sized inputs: many tiles, k large.
    m, n, k = 512, 300, 784
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    c = _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b)
    check_gemm(c, a, b, bias, trans_a, trans_b, dtype)


def test_gemm_float32_large_k_vs_float64_reference(rng):
    # Large k in float32: compare against float64 with the error relative to max(|a| @ |b|).
    a = rng.standard_normal((64, 4099)).astype(np.float32)
    b = rng.standard_normal((4099, 33)).astype(np.float32)
    c = _kernels.gemm(a, b)
    check_gemm(c, a, b, None, False, False, np.float32)


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 31), (40, 70, 300), (129, 257, 37)],
                         ids=["1x1x1", "7x13x31", "40x70x300", "129x257x37"])
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("with_bias", [False, True], ids=["nobias", "bias"])
def test_gemm_accumulate(rng, dtype, m, n, k, trans_a, trans_b, with_bias):
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias = bias if with_bias else None
    out0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
    out = out0.copy()
    res = _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b, out=out, accumulate=True)
    assert res is out
    check_gemm(out, a, b, bias, trans_a, trans_b, dtype, out0=out0)
    # A second accumulation adds the product again.
    _C.gemm(a, b, out, bias, trans_a, trans_b, True)
    exp, scale = expected_and_scale(a, b, bias, trans_a, trans_b)
    full = out0.astype(np.float64) + 2 * exp
    assert_close(out, full, dtype, scale=None if np.dtype(dtype) == np.float64 else 2 * scale + 1)


def test_gemm_overwrites_out_without_accumulate(rng, dtype):
    a, b, bias = operands(rng, 31, 13, 7, False, False, dtype)
    out = np.full((31, 13), np.nan, dtype=dtype)
    res = _kernels.gemm(a, b, out=out)
    assert res is out
    check_gemm(out, a, b, None, False, False, dtype)
    out[...] = 1e6
    _kernels.gemm(a, b, bias=bias, out=out)
    check_gemm(out, a, b, bias, False, False, dtype)


# --- zero sizes -----------------------------------------------------------------------------------

ZERO_SHAPES = [(0, 5, 3), (4, 0, 3), (0, 0, 3), (4, 5, 0), (0, 5, 0), (4, 0, 0), (0, 0, 0), (300, 257, 0)]


@pytest.mark.parametrize("m,n,k", ZERO_SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in ZERO_SHAPES])
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("with_bias", [False, True], ids=["nobias", "bias"])
def test_gemm_zero_size(rng, dtype, m, n, k, trans_a, trans_b, with_bias):
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    bias = bias if with_bias else None
    out = np.full((m, n), np.nan, dtype=dtype)  # must be overwritten: k = 0 gives bias or zeros
    _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b, out=out)
    expected = np.zeros((m, n), dtype) + (bias if bias is not None else 0)
    np.testing.assert_array_equal(out, expected)
    # accumulate with k = 0 adds only the bias
    out0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
    out = out0.copy()
    _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b, out=out, accumulate=True)
    if k == 0:
        np.testing.assert_array_equal(out, out0 + (bias if bias is not None else 0))
    else:
        check_gemm(out, a, b, bias, trans_a, trans_b, dtype, out0=out0)


# --- layouts: strided and Fortran-ordered inputs ---------------------------------------------------

@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_strided_inputs(rng, dtype, trans_a, trans_b):
    m, n, k = 37, 129, 61
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    big_a = rng.uniform(-1, 1, (a.shape[0] * 2, a.shape[1] * 3)).astype(dtype)
    big_b = rng.uniform(-1, 1, (b.shape[0] * 3, b.shape[1] * 2)).astype(dtype)
    big_bias = rng.uniform(-1, 1, 2 * n).astype(dtype)
    sa, sb, sbias = big_a[::2, ::3], big_b[::3, ::2], big_bias[::2]
    assert not sa.flags.c_contiguous and not sa.flags.f_contiguous
    c = _kernels.gemm(sa, sb, bias=sbias, trans_a=trans_a, trans_b=trans_b)
    c_ref = _kernels.gemm(np.ascontiguousarray(sa), np.ascontiguousarray(sb), bias=np.ascontiguousarray(sbias),
                          trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_array_equal(c, c_ref)
    check_gemm(c, sa, sb, sbias, trans_a, trans_b, dtype)
    # inputs are left alone
    assert np.shares_memory(sa, big_a)


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("layout", ["fortran_a", "fortran_b", "fortran_both", "T_views"])
def test_gemm_fortran_inputs(rng, dtype, trans_a, trans_b, layout):
    m, n, k = 130, 259, 33
    a, b, bias = operands(rng, m, n, k, trans_a, trans_b, dtype)
    c_contig = _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b)
    if layout == "fortran_a":
        fa, fb = np.asfortranarray(a), b
    elif layout == "fortran_b":
        fa, fb = a, np.asfortranarray(b)
    elif layout == "fortran_both":
        fa, fb = np.asfortranarray(a), np.asfortranarray(b)
    else:  # transposed views of C-contiguous transposes: same values, Fortran order
        fa, fb = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    np.testing.assert_array_equal(fa, a)
    np.testing.assert_array_equal(fb, b)
    assert (not fa.flags.c_contiguous) or (not fb.flags.c_contiguous)
    c = _kernels.gemm(fa, fb, bias=bias, trans_a=trans_a, trans_b=trans_b)
    check_gemm(c, a, b, bias, trans_a, trans_b, dtype)
    assert_close(c, c_contig, dtype, scale=expected_and_scale(a, b, bias, trans_a, trans_b)[1])


def test_gemm_transposed_view_equals_trans_flag(rng, dtype):
    a = rng.uniform(-1, 1, (97, 31)).astype(dtype)
    b = rng.uniform(-1, 1, (97, 13)).astype(dtype)
    c_view = _kernels.gemm(a.T, b)  # a.T is an F-ordered view
    c_flag = _kernels.gemm(a, b, trans_a=True)
    np.testing.assert_array_equal(c_view, c_flag)
    check_gemm(c_view, a, b, None, True, False, dtype)


# --- adapter (_kernels.gemm) argument checks --------------------------------------------------------

def test_adapter_rejects_non_float_and_mixed(rng):
    a = rng.uniform(-1, 1, (3, 4))
    with pytest.raises(TypeError, match="^a:"):
        _kernels.gemm(a.astype(np.int64), a.T.copy())
    with pytest.raises(TypeError, match="^b:"):
        _kernels.gemm(a.astype(np.float32), a.T.copy())
    with pytest.raises(TypeError, match="^bias:"):
        _kernels.gemm(a, a.T.copy(), bias=np.zeros(3, np.float32))


# --- binding (_C.gemm) argument checks ----------------------------------------------------------------

def _args(dtype=np.float64, m=3, n=5, k=4):
    a = np.ones((m, k), dtype)
    b = np.ones((k, n), dtype)
    out = np.zeros((m, n), dtype)
    return a, b, out


@pytest.mark.parametrize("bad", [np.int64, np.int32, np.float16], ids=["int64", "int32", "float16"])
def test_binding_wrong_dtype(bad):
    a, b, out = _args()
    with pytest.raises(TypeError, match=r"^a: expected a float32 or float64"):
        _C.gemm(a.astype(bad), b, out)
    with pytest.raises(TypeError, match=r"^b:"):
        _C.gemm(a, b.astype(bad), out)
    with pytest.raises(TypeError, match=r"^out:"):
        _C.gemm(a, b, out.astype(bad))
    with pytest.raises(TypeError, match=r"^bias:"):
        _C.gemm(a, b, out, np.zeros(5, bad))
    np.testing.assert_array_equal(out, 0)  # nothing written


def test_binding_mixed_float_dtypes():
    a, b, out = _args(np.float32)
    with pytest.raises(TypeError, match=r"^b: expected dtype float32"):
        _C.gemm(a, b.astype(np.float64), out)
    with pytest.raises(TypeError, match=r"^out: expected dtype float32"):
        _C.gemm(a, b, out.astype(np.float64))
    with pytest.raises(TypeError, match=r"^bias: expected dtype float32"):
        _C.gemm(a, b, out, np.zeros(5, np.float64))
    a64, b64, out64 = _args(np.float64)
    with pytest.raises(TypeError, match=r"^b: expected dtype float64"):
        _C.gemm(a64, b64.astype(np.float32), out64)


def test_binding_non_contiguous_out():
    a, b, _ = _args()
    big = np.zeros((3, 10))
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        _C.gemm(a, b, big[:, ::2])
    np.testing.assert_array_equal(big, 0)
    with pytest.raises(ValueError, match=r"^out:"):
        _C.gemm(a, b, np.asfortranarray(np.zeros((3, 5))))


def test_binding_non_contiguous_inputs():
    a, b, out = _args()
    with pytest.raises(ValueError, match=r"^a: expected a C-contiguous"):
        _C.gemm(np.ones((3, 8))[:, ::2], b, out)
    with pytest.raises(ValueError, match=r"^b: expected a C-contiguous"):
        _C.gemm(a, np.ones((8, 5))[::2], out)
    with pytest.raises(ValueError, match=r"^bias: expected a C-contiguous"):
        _C.gemm(a, b, out, np.ones(10)[::2])


def test_binding_read_only_out():
    a, b, out = _args()
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: expected a writeable"):
        _C.gemm(a, b, out)
    np.testing.assert_array_equal(out, 0)


@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (3, 5, 1), (15,)])
def test_binding_wrong_out_shape(shape):
    a, b, _ = _args()
    with pytest.raises(ValueError, match=r"^out: expected shape \(3, 5\)"):
        _C.gemm(a, b, np.zeros(shape))


def test_binding_wrong_out_shape_with_transposes():
    a = np.ones((4, 3))  # op(a) = a.T: (3, 4)
    b = np.ones((5, 4))  # op(b) = b.T: (4, 5)
    _C.gemm(a, b, np.zeros((3, 5)), None, True, True)
    with pytest.raises(ValueError, match=r"^out: expected shape \(3, 5\)"):
        _C.gemm(a, b, np.zeros((4, 5)), None, True, True)


def test_binding_inner_dimension_mismatch():
    a = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"inner dimensions differ"):
        _C.gemm(a, np.ones((5, 5)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"inner dimensions differ"):
        _C.gemm(a, np.ones((4, 5)), np.zeros((4, 5)), None, True, False)  # op(a) is (4, 3)
    with pytest.raises(ValueError, match=r"inner dimensions differ"):
        _C.gemm(a, np.ones((4, 5)), np.zeros((3, 4)), None, False, True)  # op(b) is (5, 4)
    with pytest.raises(ValueError):
        _kernels.gemm(a, np.ones((5, 5)))


def test_binding_wrong_ndim():
    with pytest.raises(ValueError, match=r"^a: expected a 2-D array"):
        _C.gemm(np.ones(4), np.ones((4, 5)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"^b: expected a 2-D array"):
        _C.gemm(np.ones((3, 4)), np.ones((4, 5, 1)), np.zeros((3, 5)))


def test_binding_out_overlapping_inputs():
    n = 6
    a = np.ones((n, n))
    b = np.ones((n, n))
    with pytest.raises(ValueError, match=r"^out: must not share memory with a"):
        _C.gemm(a, b, a)
    with pytest.raises(ValueError, match=r"^out: must not share memory with b"):
        _C.gemm(a, b, b)
    # partial overlap through views of one buffer
    buf = np.ones(2 * n * n)
    a_view = buf[: n * n].reshape(n, n)
    out_view = buf[n * n - n:2 * n * n - n].reshape(n, n)
    with pytest.raises(ValueError, match=r"^out: must not share memory with a"):
        _C.gemm(a_view, b, out_view)
    bias_buf = np.zeros(n * n + n)
    out_b = bias_buf[:n * n].reshape(n, n)
    with pytest.raises(ValueError, match=r"^out: must not share memory with bias"):
        _C.gemm(a, b, out_b, bias_buf[n * n - 1:n * n - 1 + n])
    np.testing.assert_array_equal(buf, 1)
    # adjacent but not overlapping is fine
    out_ok = buf[n * n:].reshape(n, n)
    _C.gemm(a_view, b, out_ok)
    np.testing.assert_array_equal(out_ok, n)


@pytest.mark.parametrize("shape", [(4,), (6,), (1, 5), (5, 1)])
def test_binding_bias_wrong_shape(shape):
    a, b, out = _args()
    with pytest.raises(ValueError, match=r"^bias: expected shape \(5,\)"):
        _C.gemm(a, b, out, np.zeros(shape))


def test_binding_bias_not_an_array():
    a, b, out = _args()
    with pytest.raises(TypeError, match=r"bias"):
        _C.gemm(a, b, out, [0.0] * 5)


def test_binding_writes_result_in_place(rng, dtype):
    a, b, bias = operands(rng, 7, 13, 31, False, True, dtype)
    out = np.empty((7, 13), dtype)
    assert _C.gemm(a, b, out, bias, False, True, False) is None
    check_gemm(out, a, b, bias, False, True, dtype)
