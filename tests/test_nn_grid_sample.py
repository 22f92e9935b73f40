"""affine_grid and grid_sample (spatial transformers) side by side with PyTorch 2.13: float64 values and the
gradients of the input, the grid and theta to 1e-10, float32, gradcheck and gradgradcheck, bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

F = eg.nn.functional
CASES = [(mode, pad, corners) for mode in ("bilinear", "nearest", "bicubic")
         for pad in ("zeros", "border", "reflection") for corners in (False, True)]


def _inputs(seed=0, n=2, c=3, h=5, w=7, ho=4, wo=6):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c, h, w)), rng.uniform(-2.3, 2.3, (n, ho, wo, 2))  # outside: reflected twice


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode,padding_mode,align_corners", CASES)
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch parity needs torch")
    x, g = (a.astype(dtype) for a in _inputs())
    ex, egr = eg.tensor(x, requires_grad=True), eg.tensor(g, requires_grad=True)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    out = F.grid_sample(ex, egr, mode, padding_mode, align_corners)
    tout = torch.nn.functional.grid_sample(tx, tg, mode, padding_mode, align_corners)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=rtol)
    v = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * eg.tensor(v)).sum().backward()
    (tout * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol)
    # nearest: the grid's gradient is zero (it stays in the graph, as PyTorch's)
    np.testing.assert_allclose(egr.grad.numpy(), tg.grad.numpy(), rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_then_sample_matches_torch(align_corners):
    torch = pytest.importorskip("torch", reason="PyTorch parity needs torch")
    rng = np.random.default_rng(2)
    theta = np.array([[1, 0, 0], [0, 1, 0]], np.float64) + 0.2 * rng.standard_normal((3, 2, 3))
    x = rng.standard_normal((3, 2, 6, 5))
    et, tt = eg.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    out = F.grid_sample(eg.tensor(x), F.affine_grid(et, (3, 2, 4, 7), align_corners), align_corners=align_corners)
    tout = torch.nn.functional.grid_sample(torch.tensor(x), torch.nn.functional.affine_grid(
        tt, (3, 2, 4, 7), align_corners), align_corners=align_corners)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(et.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode,padding_mode", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                               ("bicubic", "border"), ("bicubic", "reflection")])
def test_gradcheck_and_gradgradcheck(mode, padding_mode):
    x, g = _inputs(3, n=1, c=2, h=3, w=4, ho=2, wo=3)
    ex, egr = eg.tensor(x, requires_grad=True), eg.tensor(g * 0.5, requires_grad=True)
    fn = lambda a, b: F.grid_sample(a, b, mode, padding_mode, align_corners=False)  # noqa: E731
    assert eg.autograd.gradcheck(fn, (ex, egr), eps=1e-6, atol=1e-6, rtol=1e-5)
    assert eg.autograd.gradgradcheck(fn, (ex, egr), eps=1e-6, atol=1e-5, rtol=1e-4)
    theta = eg.tensor(np.random.default_rng(4).standard_normal((1, 2, 3)), requires_grad=True)
    assert eg.autograd.gradcheck(lambda t: F.affine_grid(t, (1, 1, 3, 2), False), (theta,))


def test_bad_arguments():
    x, g = (eg.tensor(a) for a in _inputs())
    with pytest.raises(RuntimeError, match="mode"):
        F.grid_sample(x, g, mode="area")
    with pytest.raises(RuntimeError, match="padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap")
    with pytest.raises(RuntimeError, match="grid"):
        F.grid_sample(x, g[..., :1])
    with pytest.raises(RuntimeError, match="2x3"):
        F.affine_grid(eg.ones(2, 3, 3, dtype=eg.float64), (2, 1, 4, 4))
    with pytest.raises(RuntimeError, match="4D"):
        F.affine_grid(eg.ones(2, 2, 3, dtype=eg.float64), (2, 1, 4))
