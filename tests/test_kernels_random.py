"""Counter-based random numbers: _C.philox4x32 against the NumPy reference and the published
Philox4x32-10 known-answer tests of Random123 (kat_vectors), and the fills built on it (uniform, normal,
randperm) against eigengrad.reference.random, plus statistical sanity checks."""
import math

import numpy as np
import pytest

from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

SEEDS = [0, 1, 42, 2**32 - 1, 2**32, 0x299F31D0A4093822, 2**63 + 12345, 2**64 - 1]


def words_to_u64(lo_word, hi_word):
    return (hi_word << 32) | lo_word


# Random123 kat_vectors, "philox4x32 10": counter words c0..c3, key words k0 k1 -> output words.
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,expected", KAT, ids=["zeros", "ones", "pi"])
def test_philox_known_answers(ctr, key, expected):
    # binding: ctr_lo = words 0, 1 (word 0 in the low 32 bits), ctr_hi = words 2, 3; seed = key words 0, 1
    ctr_lo, ctr_hi = words_to_u64(ctr[0], ctr[1]), words_to_u64(ctr[2], ctr[3])
    seed = words_to_u64(key[0], key[1])
    assert _C.philox4x32(ctr_lo, ctr_hi, seed) == expected
    got_ref = ref.philox4x32(np.array([ctr_lo], np.uint64), ctr_hi, seed)
    assert tuple(int(w[0]) for w in got_ref) == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_philox_matches_reference(seed):
    rng = np.random.default_rng(seed % 2**32)
    ctr_lo = np.concatenate([
        np.array([0, 1, 2, 2**32 - 1, 2**32, 2**63, 2**64 - 1], np.uint64),
        rng.integers(0, 2**64, 50, dtype=np.uint64),
    ])
    for ctr_hi in (0, 1, 2**32 + 7, 2**64 - 1):
        expected = ref.philox4x32(ctr_lo, ctr_hi, seed)
        for i, lo in enumerate(ctr_lo):
            got = _C.philox4x32(int(lo), ctr_hi, seed)
            assert got == tuple(int(w[i]) for w in expected), (seed, int(lo), ctr_hi)
            assert all(isinstance(w, int) and 0 <= w < 2**32 for w in got)


def test_philox_is_a_function_of_counter_and_key():
    a = _C.philox4x32(5, 0, 7)
    assert _C.philox4x32(5, 0, 7) == a
    assert _C.philox4x32(6, 0, 7) != a
    assert _C.philox4x32(5, 1, 7) != a
    assert _C.philox4x32(5, 0, 8) != a
    assert _C.philox4x32(5, 0, 7 + 2**32) != a  # the high key word matters


def test_philox_rejects_out_of_range_integers():
    with pytest.raises(TypeError):
        _C.philox4x32(-1, 0, 0)
    with pytest.raises(TypeError):
        _C.philox4x32(0, 0, 2**64)


# --- uniform ------------------------------------------------------------------------------------------

FILL_CASES = [  # (n, seed, offset)
    (0, 0, 0),
    (1, 0, 0),
    (7, 42, 3),
    (100003, 2**63 + 12345, 2**40),  # several chunks of the parallel loop
    (1000, 2**64 - 1, 2**64 - 500),  # the counter wraps around 2**64
]
FILL_IDS = ["n0", "n1", "n7", "n100003", "wrap"]


def _uniform(n, dtype, seed, offset, low, high):
    out = np.empty(n, dtype)
    _kernels.uniform_fill(out, seed, offset, low, high)
    return out


def _normal(n, dtype, seed, offset, mean, std):
    out = np.empty(n, dtype)
    _kernels.normal_fill(out, seed, offset, mean, std)
    return out


@pytest.mark.parametrize("n,seed,offset", FILL_CASES, ids=FILL_IDS)
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-2.0, 3.0), (-0.3, 1.7), (5.0, 5.0)])
def test_uniform_matches_reference(dtype, n, seed, offset, low, high):
    got = _uniform(n, dtype, seed, offset, low, high)
    exp = ref.uniform_fill(n, dtype, seed, offset, low, high)
    assert got.dtype == exp.dtype == np.dtype(dtype)
    if dtype == np.float32:
        np.testing.assert_array_equal(got, exp)  # bitwise
    else:
        # one rounding of low + (high - low) * u, which may be fused (FMA) or not
        np.testing.assert_allclose(got, exp, rtol=0, atol=2 * np.finfo(np.float64).eps * max(abs(low), abs(high)))
    if n:
        assert np.all(got >= dtype(low))
        assert np.all(got < dtype(high)) if high > low else np.all(got == dtype(low))


def test_uniform_never_reaches_high_after_rounding():
    # In float32, low + width * u rounds up to high for many u here; those must be folded back to low.
    low, high = 1.0, 1.0 + 2.0**-23  # high is the next float32 after 1
    got = _uniform(10000, np.float32, 3, 0, low, high)
    np.testing.assert_array_equal(got, ref.uniform_fill(10000, np.float32, 3, 0, low, high))
    assert np.all(got == np.float32(1.0))
    low, high = 0.0, 1.0
    got = _uniform(10000, np.float64, 3, 0, low, high)
    assert np.all((got >= 0) & (got < 1))


def test_uniform_offsets_address_one_stream(dtype):
    full = _uniform(2000, dtype, 99, 0, -1.0, 1.0)
    part = _uniform(500, dtype, 99, 1234, -1.0, 1.0)
    np.testing.assert_array_equal(part, full[1234:1734])
    other_seed = _uniform(2000, dtype, 100, 0, -1.0, 1.0)
    assert np.count_nonzero(other_seed == full) < 5


def test_uniform_fills_multidimensional_out_in_place(dtype):
    out = np.zeros((13, 31), dtype)
    assert _C.uniform_fill(out, 5, 9, 0.0, 1.0) is None
    np.testing.assert_array_equal(out.ravel(), _uniform(13 * 31, dtype, 5, 9, 0.0, 1.0))


def test_uniform_statistics(dtype):
    n, low, high = 1_000_000, -1.5, 2.5
    x = _uniform(n, dtype, 2024, 0, low, high).astype(np.float64)
    assert x.min() >= low and x.max() < high
    width = high - low
    mean_se = width / math.sqrt(12 * n)
    assert abs(x.mean() - (low + high) / 2) < 5 * mean_se
    var_se = width**2 * math.sqrt(1 / 180 / n)  # sd of the sample variance of U(0, w): w^2 sqrt(1/180 n)
    assert abs(x.var() - width**2 / 12) < 5 * var_se
    counts = np.histogram(x, bins=20, range=(low, high))[0]
    chi2 = float(((counts - n / 20) ** 2 / (n / 20)).sum())
    assert chi2 < 60  # 19 degrees of freedom; p ~ 4e-6
    assert x.min() < low + 1e-4 * width and x.max() > high - 1e-4 * width


def test_uniform_argument_checks():
    with pytest.raises(ValueError, match=r"^low/high: expected low <= high"):
        _C.uniform_fill(np.empty(3), 0, 0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"^low/high"):
        _C.uniform_fill(np.empty(3), 0, 0, float("nan"), 1.0)
    with pytest.raises(TypeError, match=r"^out: expected a float32 or float64"):
        _C.uniform_fill(np.empty(3, np.int64), 0, 0, 0.0, 1.0)
    big = np.zeros(6)
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        _kernels.uniform_fill(big[::2], 0, 0, 0.0, 1.0)
    np.testing.assert_array_equal(big, 0)
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: expected a writeable"):
        _C.uniform_fill(ro, 0, 0, 0.0, 1.0)
    with pytest.raises(TypeError):
        _C.uniform_fill(np.empty(3), -1, 0, 0.0, 1.0)


# --- normal -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,seed,offset", FILL_CASES, ids=FILL_IDS)
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.5, 2.0), (-3.0, 0.01), (1.0, 0.0)])
def test_normal_matches_reference(dtype, n, seed, offset, mean, std):
    got = _normal(n, dtype, seed, offset, mean, std)
    exp = ref.normal_fill(n, dtype, seed, offset, mean, std)
    assert got.dtype == exp.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(got))
    if dtype == np.float32:
        # the float64 values may differ in the last bits (libm vs NumPy log/cos); after the cast to
        # float32 they agree to one float32 rounding
        np.testing.assert_allclose(got, exp, rtol=2**-23, atol=1e-7 * std)
    else:
        # Box-Muller in float64: a few ulps of the largest |value| (|z| <= ~8.6 from 53-bit uniforms)
        np.testing.assert_allclose(got, exp, rtol=0, atol=8 * np.finfo(np.float64).eps * (abs(mean) + 9 * std))
    if std == 0.0 and n:
        np.testing.assert_array_equal(got, dtype(mean))


def test_normal_statistics(dtype):
    n, mean, std = 1_000_000, 0.75, 2.5
    x = _normal(n, dtype, 777, 5, mean, std).astype(np.float64)
    assert np.all(np.isfinite(x))
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(x.std() - std) < 5 * std / math.sqrt(2 * n)
    z = (x - mean) / std
    assert abs(np.mean(z**3)) < 5 * math.sqrt(6 / n)  # skewness
    assert abs(np.mean(z**4) - 3) < 5 * math.sqrt(24 / n)  # kurtosis
    # tail mass beyond 2 sigma: 4.55%
    p = 0.0455003
    assert abs(np.mean(np.abs(z) > 2) - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_normal_offsets_address_one_stream(dtype):
    full = _normal(3000, dtype, 11, 0, 0.0, 1.0)
    np.testing.assert_array_equal(_normal(1000, dtype, 11, 1500, 0.0, 1.0), full[1500:2500])


def test_normal_argument_checks():
    with pytest.raises(ValueError, match=r"^std: expected std >= 0"):
        _C.normal_fill(np.empty(3), 0, 0, 0.0, -1.0)
    with pytest.raises(ValueError, match=r"^std"):
        _C.normal_fill(np.empty(3), 0, 0, 0.0, float("nan"))
    with pytest.raises(TypeError, match=r"^out: expected a float32 or float64"):
        _C.normal_fill(np.empty(3, np.float16), 0, 0, 0.0, 1.0)
    big = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        _kernels.normal_fill(big.T, 0, 0, 0.0, 1.0)
    np.testing.assert_array_equal(big, 0)


# --- randperm -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 1000, 4099])
@pytest.mark.parametrize("seed,offset", [(0, 0), (42, 17), (2**63 + 3, 2**62), (2**64 - 1, 2**64 - 2)])
def test_randperm_matches_reference(n, seed, offset):
    got = _kernels.randperm(n, seed, offset)
    assert got.dtype == np.int64 and got.shape == (n,)
    np.testing.assert_array_equal(got, ref.randperm(n, seed, offset))
    np.testing.assert_array_equal(np.sort(got), np.arange(n))  # a permutation


def test_randperm_is_a_permutation_large():
    n = 200_003
    p = _kernels.randperm(n, 5, 0)
    assert np.array_equal(np.sort(p), np.arange(n))
    assert np.count_nonzero(p == np.arange(n)) < 10  # a fixed point is rare (about 1 expected)
    q = _kernels.randperm(n, 6, 0)
    assert not np.array_equal(p, q)


def test_randperm_is_uniform_over_permutations():
    # n = 4: 24 permutations, 4800 draws from disjoint counter ranges (each draw uses n - 1 blocks).
    n, draws = 4, 4800
    counts = {}
    for i in range(draws):
        key = tuple(_kernels.randperm(n, 31337, i * (n - 1)))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 24
    expected = draws / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 60  # 23 degrees of freedom; p ~ 4e-5


def test_randperm_argument_checks():
    with pytest.raises(TypeError, match=r"^out: expected an int64 array"):
        _C.randperm(np.empty(5, np.int32), 0, 0)
    with pytest.raises(TypeError, match=r"^out: expected an int64 array"):
        _C.randperm(np.empty(5, np.float64), 0, 0)
    with pytest.raises(ValueError, match=r"^out: expected a 1-D"):
        _C.randperm(np.empty((2, 3), np.int64), 0, 0)
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        _C.randperm(np.empty(10, np.int64)[::2], 0, 0)
    ro = np.zeros(5, np.int64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: expected a writeable"):
        _C.randperm(ro, 0, 0)
    np.testing.assert_array_equal(ro, 0)
