"""nn.FractionalMaxPool2d/3d and F.fractional_max_pool2d/3d: the windows, values, indices and gradients of
PyTorch's kernels for the same samples, its checks and messages, the generator's draws, gradcheck, and a
compiled step."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad.nn import _functional_fractional as FF


def _loop_reference(x, samples, kernel, out):
    """PyTorch's CPU kernel, loop for loop (aten/src/ATen/native/FractionalMaxPool2d.cpp, 3d.cpp): per plane,
    the window starts from generate_intervals in the input's dtype, then the first max (a NaN: the last)."""
    dt = x.dtype.type
    dims = len(kernel)
    order = (1, 0) if dims == 2 else (0, 1, 2)  # the sample each dim takes

    def starts(u, size, o, k):
        seq = [size - k] * o
        if o > 1:
            alpha = dt(size - k) / dt(o - 1)
            for i in range(o - 1):
                seq[i] = int(dt(dt(i) + u) * alpha) - int(dt(u * alpha))
        return seq

    n, c, size = x.shape[0], x.shape[1], x.shape[2:]
    y = np.empty((n, c) + tuple(out), x.dtype)
    idx = np.empty((n, c) + tuple(out), np.int64)
    for b in range(n):
        for p in range(c):
            seqs = [starts(samples[b, p, order[d]], size[d], out[d], kernel[d]) for d in range(dims)]
            for o in np.ndindex(*out):
                best, best_i = -np.inf, None
                for w in np.ndindex(*kernel):
                    pos = tuple(seqs[d][o[d]] + w[d] for d in range(dims))
                    v = x[(b, p) + pos]
                    flat = int(np.ravel_multi_index(pos, size))
                    if best_i is None:
                        best_i = flat
                    if v > best or np.isnan(v):
                        best, best_i = v, flat
                y[(b, p) + o], idx[(b, p) + o] = best, best_i
    return y, idx


def _case(rng, dims, dtype):
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    size = tuple(int(s) for s in rng.integers(2, 9, dims))
    kernel = tuple(int(rng.integers(1, s + (1 if dims == 2 else 0))) for s in size)
    out = tuple(int(rng.integers(1, s - k + (2 if dims == 2 else 1))) for s, k in zip(size, kernel))
    x = rng.standard_normal((n, c) + size).astype(dtype)
    x[x > 1.5] = np.nan
    x[x < -1.2] = np.round(x[x < -1.2])  # (ties)
    samples = rng.random((n, c, dims)).astype(dtype)
    return x, samples, kernel, out


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_the_kernels_loops(dims, dtype):
    rng = np.random.default_rng(dims)
    fn = F.fractional_max_pool2d if dims == 2 else F.fractional_max_pool3d
    for _ in range(25):
        x, samples, kernel, out = _case(rng, dims, dtype)
        y, idx = fn(eg.tensor(x), kernel, output_size=out, return_indices=True, _random_samples=eg.tensor(samples))
        want_y, want_idx = _loop_reference(x, samples, kernel, out)
        np.testing.assert_array_equal(y.numpy(), want_y)
        np.testing.assert_array_equal(idx.numpy(), want_idx)
        assert y.dtype == x.dtype and idx.dtype == np.int64


def test_intervals_end_on_the_last_window():
    s = np.array([0.0, 0.3, 0.999], np.float32)
    starts = FF.intervals(s, 10, 4, 3)
    np.testing.assert_array_equal(starts[:, -1], 7)
    assert (np.diff(starts, axis=-1) >= 1).all() and (starts >= 0).all()
    np.testing.assert_array_equal(FF.intervals(s, 5, 1, 2), [[3]] * 3)


@pytest.mark.parametrize("dims", [2, 3])
def test_values_indices_and_gradients_match_torch(dims):
    torch = pytest.importorskip("torch", reason="compares with PyTorch's fractional max pooling")
    rng = np.random.default_rng(10 + dims)
    tfn = torch.nn.functional.fractional_max_pool2d if dims == 2 else torch.nn.functional.fractional_max_pool3d
    efn = F.fractional_max_pool2d if dims == 2 else F.fractional_max_pool3d
    for trial in range(40):
        x, samples, kernel, out = _case(rng, dims, [np.float32, np.float64][trial % 2])
        tx = torch.tensor(x, requires_grad=True)
        ty, ti = tfn(tx, kernel, output_size=out, return_indices=True, _random_samples=torch.tensor(samples))
        g = rng.standard_normal(ty.shape).astype(x.dtype)
        ty.backward(torch.tensor(g))
        ex = eg.tensor(x, requires_grad=True)
        ey, ei = efn(ex, kernel, output_size=out, return_indices=True, _random_samples=eg.tensor(samples))
        ey.backward(eg.tensor(g))
        np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_gradcheck():
    rng = np.random.default_rng(3)
    x = eg.tensor(rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0, requires_grad=True)
    samples = eg.tensor(rng.random((2, 2, 2)))
    assert eg.autograd.gradcheck(lambda t: F.fractional_max_pool2d(t, 2, output_size=(4, 3), _random_samples=samples),
                                 (x,))
    x3 = eg.tensor(rng.permutation(1 * 2 * 5 * 4 * 6).reshape(1, 2, 5, 4, 6) / 10.0, requires_grad=True)
    s3 = eg.tensor(rng.random((1, 2, 3)))
    assert eg.autograd.gradcheck(lambda t: F.fractional_max_pool3d(t, 2, output_ratio=0.6, _random_samples=s3), (x3,))


def test_module_draws_from_the_generator():
    pool = eg.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7))
    x = eg.randn(2, 3, 20, 11)
    eg.manual_seed(7)
    a = pool(x)
    b = pool(x)
    eg.manual_seed(7)
    np.testing.assert_array_equal(pool(x).numpy(), a.numpy())
    assert a.shape == (2, 3, 10, 7) and not np.array_equal(a.numpy(), b.numpy())
    eg.manual_seed(7)
    samples = eg.rand(2, 3, 2)  # (the module draws rand(N, C, 2) in the input's dtype)
    fixed = eg.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7), _random_samples=samples)
    np.testing.assert_array_equal(fixed(x).numpy(), a.numpy())
    np.testing.assert_array_equal(fixed(x).numpy(), a.numpy())
    assert repr(pool) == "FractionalMaxPool2d()" and pool.state_dict() == {}
    assert dict(fixed.named_buffers())["_random_samples"] is samples


def test_unbatched_empty_batch_and_return_indices():
    x = eg.randn(3, 9, 8)
    y, idx = eg.nn.FractionalMaxPool2d(2, output_size=4, return_indices=True)(x)
    assert y.shape == (3, 4, 4) and idx.shape == (3, 4, 4)
    np.testing.assert_array_equal(np.take_along_axis(x.numpy().reshape(3, -1), idx.numpy().reshape(3, -1), 1),
                                  y.numpy().reshape(3, -1))
    assert eg.nn.FractionalMaxPool3d(2, output_size=(2, 2, 1))(eg.randn(0, 2, 4, 5, 3)).shape == (0, 2, 2, 2, 1)
    assert F.fractional_max_pool2d(eg.randn(1, 2, 5, 5), 2, output_size=(0, 3)).shape == (1, 2, 0, 3)


ERRORS = [
    (lambda: eg.nn.FractionalMaxPool2d(3), ValueError, "requires specifying either an output size, or a pooling ratio"),
    (lambda: eg.nn.FractionalMaxPool2d(3, output_size=4, output_ratio=0.5), ValueError, "only one of output_size"),
    (lambda: eg.nn.FractionalMaxPool2d(3, output_ratio=1.5), ValueError,
     r"output_ratio must be between 0 and 1 \(got 1.5\)"),
    (lambda: eg.nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 1)), ValueError, "must be between 0 and 1"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3), ValueError, "either an output_size or an output_ratio"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=9), RuntimeError,
     r"fractional_max_pool2d\(\): pool height 3 too large relative to input height 10"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=8), RuntimeError,
     "pool width 3 too large relative to input width 9"),
    (lambda: F.fractional_max_pool3d(eg.randn(1, 1, 5, 6, 7), 1, output_size=(4, 6, 6)), RuntimeError,
     r"fractional_max_pool3d_out\(\): pool height 1 too large relative to input height 6"),
    (lambda: F.fractional_max_pool3d(eg.randn(1, 1, 5, 6, 7), 1, output_size=(5, 2, 2)), RuntimeError,
     "pool time 1 too large relative to input time 5"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), (3, 3, 3), output_size=2), TypeError,
     "kernel_size must either be a single Int or tuple of Ints"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3.0, output_size=2), TypeError, "kernel_size"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2.0), TypeError, "output_size"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=(-1, 2)), ValueError, "output_size"),
    (lambda: F.fractional_max_pool2d(eg.randn(3, 10), 3, output_size=2), RuntimeError, "Expected 3D or 4D tensor"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 0, 9), 3, output_size=2), RuntimeError,
     "Expected input to have non-zero size for non-batch dimensions"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2, _random_samples=eg.rand(2, 3)),
     RuntimeError, "Expect _random_samples to have 3 dimensions, got 2"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2, _random_samples=eg.rand(1, 3, 2)),
     RuntimeError, r"Expect _random_samples.size\(0\) no less then input batch size"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2, _random_samples=eg.rand(2, 4, 2)),
     RuntimeError, r"size\(1\) equals to input channel size"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2, _random_samples=eg.rand(2, 3, 3)),
     RuntimeError, r"size\(2\) equals to 2; got 3"),
    (lambda: F.fractional_max_pool2d(eg.randn(2, 3, 10, 9), 3, output_size=2,
                                     _random_samples=eg.rand(2, 3, 2, dtype=eg.float64)),
     RuntimeError, "the same dtype as input"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_name_the_problem(k):
    call, error, pattern = ERRORS[k]
    with pytest.raises(error, match=pattern):
        call()


def test_compiled_step_equals_eager():
    def run(compiled):
        eg.manual_seed(0)
        model = eg.nn.Sequential(eg.nn.Conv2d(1, 4, 3), eg.nn.FractionalMaxPool2d(2, output_ratio=0.6),
                                 eg.nn.Flatten(), eg.nn.LazyLinear(3))
        x = eg.randn(8, 1, 12, 12)
        model(x)
        opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(inp):
            opt.zero_grad()
            loss = model(inp).square().mean()
            loss.backward()
            opt.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = [float(fn(x).detach().numpy()) for _ in range(6)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()], fn
    eager, compiled = run(False), run(True)
    assert compiled[2].replays >= 2 and compiled[2].fallback_reason is None
    assert eager[0] == compiled[0]
    for a, b in zip(eager[1], compiled[1]):
        np.testing.assert_array_equal(a, b)
