"""max_unpool1d/2d/3d (MaxUnpool*), lp_pool1d/2d/3d (LPPool*), channel_shuffle (ChannelShuffle) and the
max_poolNd_with_indices forms: values against NumPy definitions, gradcheck, errors, and parity with torch
(outputs and input gradients) in float64."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd.gradcheck import gradcheck


def t(a, grad=True):
    return eg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_unpool_puts_each_maximum_back():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 8))
    y, idx = F.max_pool2d(t(x), 2, return_indices=True)
    out = F.max_unpool2d(y, idx, 2).detach().numpy()
    want = np.zeros_like(x)
    blocks = x.reshape(2, 3, 3, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 4, 4)
    arg = blocks.argmax(-1)
    for n, c, i, j in np.ndindex(2, 3, 3, 4):
        r, s = divmod(int(arg[n, c, i, j]), 2)
        want[n, c, 2 * i + r, 2 * j + s] = blocks[n, c, i, j].max()
    np.testing.assert_array_equal(out, want)
    assert np.count_nonzero(out) == 2 * 3 * 12


def test_unpool_sizes_gradcheck_and_errors():
    x = t(np.random.default_rng(1).standard_normal((1, 2, 7)))
    y, idx = F.max_pool1d(x, 2, return_indices=True)
    assert F.max_unpool1d(y, idx, 2).shape == (1, 2, 6)
    assert nn.MaxUnpool1d(2)(y, idx, output_size=(1, 2, 7)).shape == (1, 2, 7)
    assert gradcheck(lambda v: F.max_unpool1d(v, idx, 2, output_size=[7]), (y.detach().requires_grad_(),))
    with pytest.raises(ValueError, match=r'output_size: invalid output_size "\(9,\)" \(dim 0 must be between 4 and 8\)'):
        F.max_unpool1d(y, idx, 2, output_size=[9])
    with pytest.raises(IndexError, match="Found an invalid max index: 99"):
        F.max_unpool1d(y, eg.tensor(np.full((1, 2, 3), 99)), 2)
    with pytest.raises(ValueError, match="indices: expected the shape of input"):
        F.max_unpool1d(y, eg.tensor(np.zeros((1, 2, 2), np.int64)), 2)


def test_lp_pool_is_the_power_mean_times_the_window():
    x = np.abs(np.random.default_rng(2).standard_normal((2, 3, 4, 6))) + 0.1
    for p in (1.0, 2.0, 3.0):
        got = F.lp_pool2d(t(x, False), p, 2).numpy()
        want = (x ** p).reshape(2, 3, 2, 2, 3, 2).sum((3, 5)) ** (1 / p)
        np.testing.assert_allclose(got, want, rtol=1e-13)
    assert gradcheck(lambda v: F.lp_pool1d(v, 2.0, 3, stride=2), (t(np.abs(x[0]) + 0.5),))
    assert nn.LPPool3d(2, 2)(t(x[None], False)).shape == (1, 2, 1, 2, 3)


def test_channel_shuffle_moves_channel_i_k_plus_j_to_j_g_plus_i():
    x = np.arange(2 * 6 * 2, dtype=np.float64).reshape(2, 6, 2)
    out = F.channel_shuffle(t(x, False), 2).numpy()
    np.testing.assert_array_equal(out[:, [0, 1, 2, 3, 4, 5]], x[:, [0, 3, 1, 4, 2, 5]])
    assert np.array_equal(nn.ChannelShuffle(3)(t(x, False)).numpy()[:, 1], x[:, 2])
    with pytest.raises(ValueError, match="Number of channels must be divisible by groups"):
        F.channel_shuffle(t(x, False), 4)
    with pytest.raises(ValueError, match="input with > 2 dims"):
        F.channel_shuffle(t(x[0], False), 2)


CASES = {
    "unpool2d": lambda m, x: m.nn.functional.max_unpool2d(*m.nn.functional.max_pool2d(x, 2, return_indices=True), 2,
                                                          output_size=(8, 9)),
    "unpool2d-stride-pad": lambda m, x: m.nn.MaxUnpool2d(3, 2, 1)(
        *m.nn.functional.max_pool2d(x, 3, stride=2, padding=1, return_indices=True), output_size=x.shape),
    "unpool3d": lambda m, x: m.nn.functional.max_unpool3d(
        *m.nn.functional.max_pool3d(x.reshape(2, 3, 2, 4, 9), 2, return_indices=True), 2, output_size=(2, 4, 9)),
    "lp2d": lambda m, x: m.nn.functional.lp_pool2d(x.abs() + 0.1, 3.5, (2, 3), stride=(2, 2), ceil_mode=True),
    "lp1d": lambda m, x: m.nn.LPPool1d(2.0, 3)(x.reshape(2, 3, 72).abs() + 0.1),
    "shuffle": lambda m, x: m.nn.ChannelShuffle(3)(x.reshape(2, 6, 4, 9)),
    "with-indices": lambda m, x: m.nn.functional.max_pool2d_with_indices(x, 2)[0],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 9))
    g = None
    out = []
    for lib in (torch, eg):
        xt = lib.tensor(x, requires_grad=True)
        y = CASES[name](lib, xt)
        g = np.random.default_rng(4).standard_normal(tuple(y.shape)) if g is None else g
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), xt.grad.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12, atol=1e-14)
