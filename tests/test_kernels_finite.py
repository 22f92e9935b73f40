"""The finiteness scan of anomaly detection (eigengrad._kernels.all_finite) against eigengrad.reference:
every size class, every kind of non-finite value at every awkward position, strided inputs, other
dtypes, thread independence, and the binding's argument checks."""
import numpy as np
import pytest

import eigengrad
from eigengrad import _kernels
from eigengrad import reference as ref
from eigengrad._kernels import _C

CHUNK = 1 << 15  # the kernel's fixed chunk (kFiniteChunk)
SIZES = [0, 1, 2, 7, 31, 97, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 1_000_003]
BAD = [np.nan, np.inf, -np.inf]


def values(rng, n, dtype):
    return (rng.standard_normal(n) * 1e3).astype(dtype)


@pytest.mark.parametrize("n", SIZES)
def test_finite_arrays_are_finite(rng, dtype, n):
    x = values(rng, n, dtype)
    assert _kernels.all_finite(x) is True
    assert ref.all_finite(x) is True


@pytest.mark.parametrize("n", [1, 2, 97, CHUNK + 1, 3 * CHUNK + 5])
@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf"])
def test_one_non_finite_value_anywhere_is_found(rng, dtype, n, bad):
    x = values(rng, n, dtype)
    positions = {0, n - 1, n // 2, min(CHUNK - 1, n - 1), min(CHUNK, n - 1)}
    for i in sorted(positions):
        y = x.copy()
        y[i] = bad
        assert _kernels.all_finite(y) is False, f"missed {bad} at {i} of {n}"
        assert ref.all_finite(y) is False


def test_extreme_finite_values_are_finite(dtype):
    info = np.finfo(dtype)
    x = np.array([info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 0.0, info.eps], dtype=dtype)
    assert _kernels.all_finite(x) is True
    # NaN with any payload and sign is caught (the exponent field alone decides)
    bits = x.view(np.uint32 if dtype == np.float32 else np.uint64).copy()
    top = np.uint32(0xFFC00001) if dtype == np.float32 else np.uint64(0xFFF8000000000001)
    bits[3] = top
    assert _kernels.all_finite(bits.view(dtype)) is False


def test_strided_and_multidimensional_inputs(rng, dtype):
    x = values(rng, 6 * 50, dtype).reshape(6, 50)
    assert _kernels.all_finite(x[:, ::3]) is True
    x[4, 3] = np.inf  # hidden from the strided view, seen in the transpose
    assert _kernels.all_finite(x[:, 1::3]) is True
    assert _kernels.all_finite(x.T) is False
    assert _kernels.all_finite(x[::-1]) is False


def test_other_dtypes():
    assert _kernels.all_finite(np.arange(10)) is True  # integers and bools are always finite
    assert _kernels.all_finite(np.ones(3, dtype=bool)) is True
    assert _kernels.all_finite(np.array([1.0, np.inf], dtype=np.float16)) is False
    assert _kernels.all_finite(np.array([1.0, 2.0], dtype=np.float16)) is True


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_answer_does_not_depend_on_threads(restore_threads, rng, dtype, threads):
    eigengrad.set_num_threads(threads)
    x = values(rng, 1_000_003, dtype)
    assert _kernels.all_finite(x) is True
    for i in (0, CHUNK * 7 + 3, 1_000_002):
        y = x.copy()
        y[i] = np.nan
        assert _kernels.all_finite(y) is False


def test_binding_checks_its_argument():
    with pytest.raises(TypeError, match="x"):
        _C.all_finite(np.arange(4))
    with pytest.raises(ValueError, match="x.*contiguous"):
        _C.all_finite(np.ones((4, 4))[:, ::2])
    with pytest.raises(TypeError):
        _C.all_finite([1.0, 2.0])
