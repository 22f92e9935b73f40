"""Kernel results depend only on values and sizes, never on where the buffers sit in memory.

(Eigen peels unaligned heads into scalar code whose exp/tanh differ in the last bits from the SIMD
code; the kernels evaluate through aligned blocks and sum in a fixed order to avoid it.)
"""
import numpy as np
import pytest

from eigengrad import _kernels as K

OFFSETS = range(0, 9)  # element offsets: every alignment modulo 32/64 bytes for float32 and float64


def placed(values: np.ndarray, offset: int) -> np.ndarray:
    """A C-contiguous copy of ``values`` starting ``offset`` elements into a fresh buffer."""
    buf = np.empty(values.size + 16, dtype=values.dtype)
    view = buf[offset:offset + values.size].reshape(values.shape)
    view[...] = values
    return view


def same_everywhere(fn, *arrays):
    """fn gives bitwise-identical results (an array or a tuple of arrays) at every offset."""
    results = [fn(*(placed(a, off) for a in arrays)) for off in OFFSETS]
    for r in results[1:]:
        expected = results[0] if isinstance(results[0], tuple) else (results[0],)
        got = r if isinstance(r, tuple) else (r,)
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh"])
def test_activations(kind, dtype, rng):
    x = (rng.standard_normal(100_003) * 5).astype(dtype)
    same_everywhere(lambda a: K.activation_forward(kind, a), x)
    y = K.activation_forward(kind, x)
    same_everywhere(lambda g, out: K.activation_backward(kind, g, out), rng.standard_normal(100_003).astype(dtype), y)


def test_softmax_cross_entropy(dtype, rng):
    logits = (rng.standard_normal((67, 13)) * 4).astype(dtype)
    target = rng.integers(0, 13, 67)
    same_everywhere(lambda a: K.softmax_cross_entropy(a, target, -100), logits)
    _, lse = K.softmax_cross_entropy(logits, target, -100)
    scale = np.full(67, 1 / 67, dtype=dtype)
    same_everywhere(lambda a: K.softmax_cross_entropy_backward(a, target, lse, scale, -100), logits)


def test_squared_error_sum(dtype, rng):
    x, y = rng.standard_normal((2, 100_003)).astype(dtype)
    same_everywhere(lambda a, b: np.float64(K.squared_error_sum(a, b)), x, y)


@pytest.mark.parametrize("shape", [(1, 7, 5), (33, 17, 129), (3, 300, 2)])
def test_gemm(shape, dtype, rng):
    m, n, k = shape
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    same_everywhere(lambda p, q, r: K.gemm(p, q, bias=r, trans_b=True), a, b, bias)
