"""InstanceNorm1d/2d/3d and F.instance_norm side by side with torch 2.13: outputs and input gradients
with and without affine parameters, running statistics when tracked (updated in training, used in eval),
unbatched input, state_dict keys; float64 gradcheck."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad.autograd.gradcheck import gradcheck

CASES = [("InstanceNorm1d", (3, 4, 7)), ("InstanceNorm2d", (2, 4, 5, 6)), ("InstanceNorm3d", (2, 4, 3, 2, 3)),
         ("InstanceNorm2d", (4, 5, 6))]


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("affine, track", [(False, False), (True, False), (True, True), (False, True)])
def test_instance_norm_matches_torch(cls, shape, affine, track):
    torch = pytest.importorskip("torch", reason="PyTorch's InstanceNorm is the reference")
    rng = np.random.default_rng(0)
    tm = getattr(torch.nn, cls)(4, affine=affine, track_running_stats=track).double()
    em = getattr(eg.nn, cls)(4, affine=affine, track_running_stats=track).double()
    assert sorted(em.state_dict()) == sorted(tm.state_dict())
    if affine:
        w, b = rng.standard_normal(4), rng.standard_normal(4)
        tm.load_state_dict({**tm.state_dict(), "weight": torch.tensor(w), "bias": torch.tensor(b)})
        em.weight._data[...], em.bias._data[...] = w, b
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    xt, xe = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    yt, ye = tm(xt), em(xe)
    (yt * torch.tensor(g)).sum().backward()
    (ye * eg.tensor(g)).sum().backward()
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    if track:
        np.testing.assert_allclose(em.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(em.running_var.numpy(), tm.running_var.numpy(), rtol=1e-12)
        tm.eval(), em.eval()
        np.testing.assert_allclose(em(eg.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-9)


def test_instance_norm_gradcheck_and_errors():
    x = eg.tensor(np.random.default_rng(1).standard_normal((2, 3, 5)), requires_grad=True)
    w = eg.tensor(np.random.default_rng(2).standard_normal(3), requires_grad=True)
    assert gradcheck(lambda a, b: F.instance_norm(a, weight=b), (x, w))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        F.instance_norm(eg.zeros(2, 3, 1))
    with pytest.raises(ValueError, match="expected 3D or 4D input \\(got 2D input\\)"):
        eg.nn.InstanceNorm2d(3)(eg.zeros(2, 3))
