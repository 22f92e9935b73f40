"""The hook-based ``nn.utils.spectral_norm`` / ``remove_spectral_norm`` (PyTorch's legacy form): its
state_dict keys, the power iteration in training mode only, the normalised weight (its largest singular
value is 1 once the iteration has converged), gradients, removal, and float64 parity with torch over
training and eval steps from a state_dict loaded both ways."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


def test_keys_shapes_and_normalisation():
    eg.manual_seed(0)
    conv = nn.utils.spectral_norm(nn.Conv2d(3, 4, 3), n_power_iterations=30)
    assert sorted(conv.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in conv.named_parameters()] == ["bias", "weight_orig"]
    assert conv.weight_u.shape == (4,) and conv.weight_v.shape == (27,)
    conv(eg.randn(1, 3, 5, 5))
    w = conv.weight.detach().numpy().reshape(4, -1)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[0], 1.0, rtol=1e-4)
    t = nn.utils.spectral_norm(nn.ConvTranspose2d(3, 4, 3))  # dim 1: the output channels
    assert t.weight_u.shape == (4,) and t.weight_v.shape == (27,)


def test_power_iteration_runs_in_training_mode_only():
    lin = nn.utils.spectral_norm(nn.Linear(5, 3))
    x = eg.randn(2, 5)
    u0 = lin.weight_u.numpy().copy()
    lin.eval()
    lin(x)
    np.testing.assert_array_equal(lin.weight_u.numpy(), u0)
    lin.train()
    lin(x)
    assert not np.array_equal(lin.weight_u.numpy(), u0)


def test_gradients_reach_weight_orig_and_remove_keeps_the_normalised_weight():
    lin = nn.utils.spectral_norm(nn.Linear(4, 3, dtype=eg.float64))
    lin(eg.randn(2, 4, dtype=eg.float64)).sum().backward()
    assert lin.weight_orig.grad is not None and np.abs(lin.weight_orig.grad.numpy()).sum() > 0
    lin.eval()
    w = lin(eg.eye(4, dtype=eg.float64)).detach().numpy() - lin.bias.detach().numpy()
    nn.utils.remove_spectral_norm(lin)
    assert sorted(lin.state_dict()) == ["bias", "weight"] and isinstance(lin.weight, nn.Parameter)
    np.testing.assert_allclose(lin.weight.detach().numpy().T, w, rtol=1e-12)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(lin)


def test_errors():
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter named 'kernel'"):
        nn.utils.spectral_norm(nn.Linear(2, 2), name="kernel")
    lin = nn.utils.spectral_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(lin)


@pytest.mark.parametrize("make", [lambda L: L.nn.Linear(5, 7), lambda L: L.nn.Conv2d(2, 3, 3),
                                  lambda L: L.nn.ConvTranspose2d(2, 3, 3)])
def test_matches_torch(make):
    torch = pytest.importorskip("torch", reason="PyTorch's spectral_norm is the reference")
    torch.manual_seed(0)
    tm = torch.nn.utils.spectral_norm(make(torch).double(), n_power_iterations=2)
    em = nn.utils.spectral_norm(make(eg).double(), n_power_iterations=2)
    em.load_state_dict({k: eg.tensor(v.numpy().copy()) for k, v in tm.state_dict().items()})
    shape = (3, 5) if isinstance(em, nn.Linear) else (2, 2, 5, 5)
    rng = np.random.default_rng(1)
    for mode in ("train", "train", "eval", "train"):
        getattr(tm, mode)()
        getattr(em, mode)()
        x = rng.standard_normal(shape)
        ty, ey = tm(torch.tensor(x)), em(eg.tensor(x))
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(em.weight_u.numpy(), tm.weight_u.numpy(), rtol=1e-10, atol=1e-12)
    ty.square().sum().backward()
    ey.square().sum().backward()
    np.testing.assert_allclose(em.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy(), rtol=1e-9, atol=1e-12)
    back = make(torch).double()
    back = torch.nn.utils.spectral_norm(back, n_power_iterations=2)
    back.load_state_dict({k: torch.tensor(v.numpy().copy()) for k, v in em.state_dict().items()})
    back.eval()
    em.eval()
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), em(eg.tensor(x)).detach().numpy(), rtol=1e-10)
