"""The 3-D layers (conv3d, max_pool3d, avg_pool3d, adaptive_avg_pool3d, dropout3d and their modules) side by
side with PyTorch 2.13 in float64 (values and gradients to 1e-10 relative, max-pool indices equal) and float32,
gradcheck and gradgradcheck, a state_dict loaded from PyTorch, and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

F = eg.nn.functional

CONV = [dict(stride=(2, 1, 2), padding=1, dilation=(1, 2, 1), groups=2), dict(padding="same", groups=1),
        dict(stride=3, padding=(0, 1, 2)), dict(padding="valid", dilation=2)]
MAX = [dict(kernel_size=2), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0)),
       dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=2, dilation=(2, 1, 1))]
AVG = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, padding=1,
                                                                           ceil_mode=True, count_include_pad=False),
       dict(kernel_size=2, stride=1, divisor_override=3)]
ADAPTIVE = [1, (2, 3, 4), (None, 2, 5), 3]


def _torch():
    return pytest.importorskip("torch", reason="PyTorch parity needs torch")


def _compare(fe, ft, arrays, dtype=np.float64, indices=False):
    torch = _torch()
    rng = np.random.default_rng(7)
    te = [eg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    tt = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    oe, ot = fe(*te), ft(*tt)
    if indices:
        np.testing.assert_array_equal(oe[1].numpy(), ot[1].numpy())
        oe, ot = oe[0], ot[0]
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=rtol, atol=rtol * 10)
    w = rng.standard_normal(tuple(ot.shape)).astype(dtype)
    (oe * eg.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    for a, b in zip(te, tt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=rtol * 10)


def _x(shape=(2, 4, 5, 6, 7)):
    return np.random.default_rng(sum(shape)).standard_normal(shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opts", CONV, ids=str)
def test_conv3d_matches_torch(opts, dtype):
    TF = _torch().nn.functional

    groups = opts.get("groups", 1)
    w, b = np.random.default_rng(1).standard_normal((6, 4 // groups, 3, 2, 3)), np.random.default_rng(2).standard_normal(6)
    _compare(lambda x, w, b: F.conv3d(x, w, b, **opts), lambda x, w, b: TF.conv3d(x, w, b, **opts), [_x(), w, b], dtype)


def test_conv3d_unbatched_matches_torch():
    TF = _torch().nn.functional

    w = np.random.default_rng(1).standard_normal((3, 4, 1, 2, 2))
    _compare(lambda x, w: F.conv3d(x, w), lambda x, w: TF.conv3d(x, w), [_x((4, 3, 5, 5)), w])


@pytest.mark.parametrize("opts", MAX, ids=str)
def test_max_pool3d_matches_torch_with_indices(opts):
    TF = _torch().nn.functional

    _compare(lambda x: F.max_pool3d(x, return_indices=True, **opts),
             lambda x: TF.max_pool3d(x, return_indices=True, **opts), [_x()], indices=True)


@pytest.mark.parametrize("opts", AVG, ids=str)
def test_avg_pool3d_matches_torch(opts):
    TF = _torch().nn.functional

    _compare(lambda x: F.avg_pool3d(x, **opts), lambda x: TF.avg_pool3d(x, **opts), [_x()])


@pytest.mark.parametrize("size", ADAPTIVE, ids=str)
def test_adaptive_avg_pool3d_matches_torch(size):
    TF = _torch().nn.functional

    _compare(lambda x: F.adaptive_avg_pool3d(x, size), lambda x: TF.adaptive_avg_pool3d(x, size), [_x()])


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(3)
    x = eg.tensor(rng.standard_normal((1, 2, 3, 4, 3)), requires_grad=True)
    w = eg.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    for fn, args in [(lambda x, w: F.conv3d(x, w, padding=1, stride=(2, 1, 1)), (x, w)),
                     (lambda x: F.avg_pool3d(x, 2, 1, 1), (x,)), (lambda x: F.max_pool3d(x, 2, 1), (x,)),
                     (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), (x,))]:
        assert eg.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-6, rtol=1e-5)
        assert eg.autograd.gradgradcheck(fn, args, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_loads_a_torch_state_dict(mode):
    torch = _torch()
    torch.manual_seed(0)
    tm = torch.nn.Conv3d(4, 6, 3, padding=1, padding_mode=mode, groups=2).double()
    em = eg.nn.Conv3d(4, 6, 3, padding=1, padding_mode=mode, groups=2, dtype=eg.float64)
    assert {k: tuple(v.shape) for k, v in em.state_dict().items()} == {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    em.load_state_dict({k: eg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = _x()
    np.testing.assert_allclose(em(eg.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    assert repr(em) == repr(tm)


def test_dropout3d_drops_whole_channels():
    eg.manual_seed(0)
    y = eg.nn.Dropout3d(0.5)(eg.ones(4, 8, 2, 3, 3)).numpy().reshape(32, -1)
    assert set(np.unique(y)) <= {0.0, 2.0} and np.all(y.std(1) == 0)  # each channel kept or dropped whole
    assert 4 <= (y[:, 0] == 0).sum() <= 28
    z = eg.ones(8, 2, 3, 3)
    assert eg.nn.Dropout3d(0.5).eval()(z) is z or np.array_equal(eg.nn.Dropout3d(0.5).eval()(z).numpy(), z.numpy())


def test_bad_arguments():
    x = eg.tensor(_x())
    with pytest.raises(ValueError, match="input"):
        F.conv3d(eg.ones(4, 5, 6), eg.ones(2, 4, 1, 1, 1))
    with pytest.raises(ValueError, match="weight"):
        F.conv3d(x, eg.ones(2, 4, 1, 1))
    with pytest.raises(ValueError, match="pad"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(RuntimeError):
        F.conv3d(x, eg.ones(2, 4, 9, 1, 1, dtype=eg.float64))
    with pytest.raises(ValueError, match="dropout3d"):
        F.dropout3d(eg.ones(2, 3, 4))


@pytest.mark.parametrize("opts", MAX, ids=str)
def test_max_pool3d_without_indices_matches_torch(opts):
    TF = _torch().nn.functional
    _compare(lambda x: F.max_pool3d(x, **opts), lambda x: TF.max_pool3d(x, **opts), [_x()])


def test_adaptive_max_pool3d_against_a_loop_and_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 4, 6))
    out, idx = F.adaptive_max_pool3d(eg.tensor(x), (2, 3, 4), return_indices=True)
    d, h, w = x.shape[2:]
    for t in range(2):
        for i in range(3):
            for j in range(4):
                win = x[:, :, t * d // 2:-(-(t + 1) * d // 2), i * h // 3:-(-(i + 1) * h // 3),
                        j * w // 4:-(-(j + 1) * w // 4)]
                np.testing.assert_array_equal(out.numpy()[:, :, t, i, j], win.max(axis=(2, 3, 4)))
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2).reshape(out.shape),
                                  out.numpy())
    assert eg.nn.AdaptiveMaxPool3d((2, None, 1))(eg.ones(1, 1, 4, 3, 2)).shape == (1, 1, 2, 3, 1)
    torch = pytest.importorskip("torch", reason="torch is the reference for the gradients")
    xt, xe = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    theirs, their_idx = torch.nn.functional.adaptive_max_pool3d(xt, (2, 3, 4), return_indices=True)
    ours = F.adaptive_max_pool3d(xe, (2, 3, 4))
    g = rng.standard_normal(tuple(theirs.shape))
    theirs.backward(torch.tensor(g))
    ours.backward(eg.tensor(g))
    np.testing.assert_array_equal(their_idx.numpy(), idx.numpy())
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
