"""Results are bitwise identical on 1, 2 or 3 threads (the chunking depends only on the problem size),
and the thread-count setters validate their argument.

The outputs are preallocated once and reused for every thread count: Eigen evaluates the unaligned head
and tail of a buffer with scalar code and the rest with SIMD code, and for exp-based functions (sigmoid,
the softmax in cross-entropy) the two may differ in the last bit, so results can depend on the
alignment of a freshly allocated output. Reusing the buffers isolates the thread count.
"""
import numpy as np
import pytest

import eigengrad
from eigengrad import _kernels
from eigengrad._kernels import _C

THREADS = (1, 2, 3)
HAS_OPENMP = eigengrad.get_config()["openmp"]


def effective(t: int) -> int:
    """The thread count kernels report after set_num_threads(t): t, or 1 in a build without OpenMP."""
    return t if HAS_OPENMP else 1


def on_each_thread_count(fn):
    """fn() run with 1, 2 and 3 threads; returns the list of results (copies)."""
    results = []
    for t in THREADS:
        eigengrad.set_num_threads(t)
        assert eigengrad.get_num_threads() == effective(t)
        r = fn()
        results.append(tuple(np.array(x, copy=True) for x in r) if isinstance(r, tuple) else np.array(r, copy=True))
    return results


def assert_bitwise_equal(results):
    first = results[0]
    for t, r in zip(THREADS[1:], results[1:]):
        a_list = first if isinstance(first, tuple) else (first,)
        b_list = r if isinstance(r, tuple) else (r,)
        for a, b in zip(a_list, b_list):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tobytes() == b.tobytes(), f"{t} threads differ from 1 thread"


@pytest.mark.parametrize("m,k,n", [(1024, 784, 512), (1031, 300, 64), (1031, 257, 10)],
                         ids=["large", "narrow", "ten"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)], ids=["NN", "TN", "NT"])
def test_gemm_deterministic(restore_threads, rng, dtype, trans_a, trans_b, m, k, n):
    """(narrow: two column panels, where a transposed A is read in place instead of packed; ten: NT in dot
    form, split by rows between the threads, the others computed as C^T)"""
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    out0 = rng.standard_normal((m, n)).astype(dtype)

    c = np.empty((m, n), dtype)
    acc = np.empty((m, n), dtype)

    def run():
        _kernels.gemm(a, b, bias=bias, trans_a=trans_a, trans_b=trans_b, out=c)
        acc[...] = out0
        _kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b, out=acc, accumulate=True)
        return c, acc

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    # and the result is right
    c = results[0][0].astype(np.float64)
    exp = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64) + bias
    assert np.max(np.abs(c - exp)) <= (1e-4 if dtype == np.float32 else 1e-10) * np.max(np.abs(exp))


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh"])
def test_activations_deterministic(restore_threads, rng, dtype, kind):
    x = (rng.standard_normal(1_000_000) * 5).astype(dtype)
    g = rng.standard_normal(1_000_000).astype(dtype)

    y = np.empty_like(x)
    gx = np.empty_like(x)
    fwd, bwd = getattr(_C, f"{kind}_forward"), getattr(_C, f"{kind}_backward")

    def run():
        fwd(x, y)
        bwd(g, y, gx)
        return y, gx

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    assert np.all(np.isfinite(results[0][0]))


def test_squared_error_sum_deterministic(restore_threads, rng, dtype):
    n = 1_000_003
    x = rng.standard_normal(n).astype(dtype)
    y = (rng.standard_normal(n) * 1e3).astype(dtype)  # wide range: summation order shows in the last bits
    results = on_each_thread_count(lambda: np.float64(_kernels.squared_error_sum(x, y)))
    assert_bitwise_equal(results)
    exp = float(np.sum((x.astype(np.float64) - y.astype(np.float64)) ** 2))
    assert abs(float(results[0]) - exp) <= 1e-12 * exp
    out, gx = np.empty_like(x), np.empty_like(x)

    def run():
        _C.squared_error(x, y, out)
        _C.squared_error_backward(x, y, x, 2.0, gx)
        return out, gx

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)


def test_softmax_cross_entropy_deterministic(restore_threads, rng, dtype):
    n, c = 4099, 10  # several row chunks
    logits = (rng.standard_normal((n, c)) * 4).astype(dtype)
    target = rng.integers(0, c, n).astype(np.int64)
    target[::17] = -100
    scale = np.full(n, 1.0 / n, dtype)

    loss, lse, grad = np.empty(n, dtype), np.empty(n, dtype), np.empty((n, c), dtype)

    def run():
        _C.softmax_cross_entropy_forward(logits, target, loss, lse, -100)
        _C.softmax_cross_entropy_backward(logits, target, lse, scale, grad, -100)
        return loss, lse, grad

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    assert np.all(results[0][0][::17] == 0)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)], ids=["plain", "mom", "nesterov"])
def test_sgd_deterministic(restore_threads, rng, dtype, momentum, nesterov):
    n = 1_000_000
    p0 = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(2)]

    p = np.empty(n, dtype)
    buf = np.empty(n, dtype) if momentum else None

    def run():
        p[...] = p0
        for i, g in enumerate(grads):
            _kernels.sgd_step(p, g, buf, lr=0.01, momentum=momentum, nesterov=nesterov, weight_decay=1e-4,
                              first_step=i == 0)
        return (p, buf) if momentum else p

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    assert not np.array_equal(results[0][0] if momentum else results[0], p0)


def test_random_fills_deterministic(restore_threads, dtype):
    n = 1_000_003

    u = np.empty(n, dtype)
    z = np.empty(n, dtype)

    def run():
        _kernels.uniform_fill(u, 2**63 + 9, 123, -1.0, 1.0)
        _kernels.normal_fill(z, 2**63 + 9, 123, 0.0, 1.0)
        return u, z

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    u, z = results[0]
    assert u.min() >= -1 and u.max() < 1 and abs(float(z.mean())) < 0.01


# --- the setters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("lk", [280, 120], ids=["key_blocks", "kept_weights"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_attention_deterministic(restore_threads, rng, dtype, causal, lk):
    # several heads and query/key blocks, grouped-query heads, a float mask and dropout; keys of one block
    # go through the kept weights
    b, hq, hk, lq, e = 2, 4, 2, 300, 16
    q = rng.standard_normal((b, hq, lq, e)).astype(dtype)
    k = rng.standard_normal((b, hk, lk, e)).astype(dtype)
    v = rng.standard_normal((b, hk, lk, e)).astype(dtype)
    mask = np.broadcast_to(rng.standard_normal((b, 1, 1, lk)).astype(dtype), (b, hq, lq, lk)) if not causal else None
    g = rng.standard_normal((b, hq, lq, e)).astype(dtype)
    dropout = (3, 17, _kernels.keep_threshold(0.2), 1.25)

    def run():
        weights = _kernels.attention_weights_buffer(q, k, causal)
        assert (weights is not None) == (lk <= 128)
        out, lse = _kernels.attention_forward(q, k, v, mask, 0.25, causal, dropout, weights)
        grads = _kernels.attention_backward(q, k, v, out, lse, g, mask, 0.25, causal, dropout, mask is not None,
                                            weights)
        return (out, lse) + tuple(a for a in grads if a is not None) + (() if weights is None else (weights,))

    assert_bitwise_equal(on_each_thread_count(run))


def test_get_num_threads_is_positive():
    n = eigengrad.get_num_threads()
    assert isinstance(n, int) and n >= 1
    assert _C.get_num_threads() == n


def test_set_num_threads_round_trip(restore_threads):
    for t in (1, 3, 2):
        eigengrad.set_num_threads(t)
        assert eigengrad.get_num_threads() == effective(t)
        assert eigengrad.get_config()["threads"] == effective(t)
    eigengrad.set_num_threads(np.int64(2))  # any integer type
    assert eigengrad.get_num_threads() == effective(2)


@pytest.mark.parametrize("bad", [0, -1, -(2**31)])
def test_set_num_threads_rejects_non_positive(restore_threads, bad):
    eigengrad.set_num_threads(2)
    with pytest.raises(ValueError, match=r"^n: expected a thread count >= 1"):
        eigengrad.set_num_threads(bad)
    assert eigengrad.get_num_threads() == effective(2)  # unchanged


@pytest.mark.parametrize("bad", ["2", 2.0, None, [2]])
def test_set_num_threads_rejects_non_integers(restore_threads, bad):
    eigengrad.set_num_threads(3)
    with pytest.raises(TypeError, match=r"^n: expected an int"):
        eigengrad.set_num_threads(bad)
    assert eigengrad.get_num_threads() == effective(3)


def test_binding_set_num_threads_checks(restore_threads):
    with pytest.raises(ValueError, match=r"^n: expected a thread count"):
        _C.set_num_threads(-1)
    with pytest.raises(TypeError):
        _C.set_num_threads("2")


# --- the layers of issue 18: embeddings, transposed convolution, upsampling -----------------------------

def test_embedding_deterministic(restore_threads, rng, dtype):
    num, dim, n = 3001, 40, 20000  # rows repeated ~30 times, several row tasks per thread
    idx = rng.integers(0, 600, n)
    g = (rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-3, 4, (n, 1))).astype(dtype)  # order shows
    w = rng.standard_normal((num, dim)).astype(dtype)

    def run():
        renormed = w.copy()
        _kernels.embedding_renorm(renormed, idx, 1.0, 3.0)
        return (_kernels.embedding_backward(g, idx, num, 5, False), _kernels.embedding_backward(g, idx, num, -1, True),
                renormed)

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    assert not np.any(results[0][0][5]) and np.any(results[0][0][4])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_deterministic(restore_threads, rng, dtype, mode):
    num, dim, n = 2003, 33, 30000
    idx = rng.integers(0, 500, n)
    starts = np.append(np.sort(rng.integers(0, n, 3000)), n).astype(np.int64)
    starts[0] = 0
    w = rng.standard_normal((num, dim)).astype(dtype)
    psw = rng.standard_normal(n).astype(dtype) if mode == "sum" else None

    def run():
        out, size, at = _kernels.embedding_bag_forward(w, idx, starts, psw, mode, 7)
        g = (out * 10.0 ** (np.arange(out.shape[0]) % 7 - 3)[:, None]).astype(dtype)
        gw = _kernels.embedding_bag_backward(g, idx, starts, psw, size, at, num, mode, 7, mode != "max")
        extra = (_kernels.embedding_bag_per_sample_weights_backward(g, w, idx, starts, 7),) if psw is not None else ()
        return (out, gw) + extra

    results = on_each_thread_count(run)
    assert_bitwise_equal(results)
    assert np.any(results[0][1])


@pytest.mark.parametrize("case", [
    (16, 64, 14, 14, 32, 4, (2, 2), (1, 1), (0, 0), 1),   # the DCGAN-like layer (direct dx, lowering y)
    (9, 6, 7, 5, 10, 3, (3, 2), (1, 0), (2, 1), 2),       # the lowering for everything
    (5, 64, 7, 7, 32, 4, (2, 2), (1, 1), (0, 0), 1),      # 7 -> 14: the AVX-512 10-row tiles (float32)
], ids=["dcgan", "lowering", "7to14"])
def test_conv_transpose2d_deterministic(restore_threads, rng, dtype, case):
    n, ci, h, w, co, k, s, p, op, g = case
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = (rng.standard_normal((ci, co // g, k, k)) * 0.1).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    opts = (s, p, op, (1, 1), g)

    def run():
        y = _kernels.conv_transpose2d_forward(x, wt, b, *opts)
        return (y,) + _kernels.conv_transpose2d_backward(y * 0.5, x, wt, *opts)

    assert_bitwise_equal(on_each_thread_count(run))


@pytest.mark.parametrize("mode,size,scales,ac", [("linear", (37, 61), (0, 0), False), ("linear", (30, 30), (2.0, 2.0), True),
                                                  ("nearest", (41, 13), (0, 0), False),
                                                  ("nearest-exact", (29, 45), (1.9, 3.1), False)])
def test_upsample_deterministic(restore_threads, rng, dtype, mode, size, scales, ac):
    x = rng.standard_normal((7, 9, 15, 15)).astype(dtype)
    g = (rng.standard_normal((7, 9) + size) * 10.0 ** rng.integers(-3, 4, size)).astype(dtype)

    def run():
        return (_kernels.upsample_forward(x, size, mode, scales, ac),
                _kernels.upsample_backward(g, x.shape, mode, scales, ac))

    assert_bitwise_equal(on_each_thread_count(run))


def test_adaptive_max_pool2d_deterministic(restore_threads, rng, dtype):
    x = rng.standard_normal((32, 16, 23, 19)).astype(dtype)

    def run():
        y, idx = _kernels.adaptive_max_pool2d_forward(x, (5, 7))
        return y, idx, _kernels.max_pool2d_backward(y, idx, x.shape, dtype)

    assert_bitwise_equal(on_each_thread_count(run))
