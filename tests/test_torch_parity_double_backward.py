"""Double backward recipes against PyTorch 2.13 in float64, to 1e-10 relative: a WGAN-GP gradient penalty
on an MLP critic, and Hessian-vector products on MLPs (grad of (grad . v))."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn as nn
import eigengrad.nn.functional as F
from torch_parity import make_assert_rel

torch = pytest.importorskip("torch", reason="PyTorch parity needs torch")
assert_rel = make_assert_rel({np.float64: 1e-10})


def _copy_to_torch(model, tmodel) -> None:
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
            assert name == tname and p.shape == tuple(tp.shape)
            tp.copy_(torch.from_numpy(p.detach().numpy()))


def _norm2(g, torch_side: bool):
    """The per-row 2-norm, as the recipe writes it (``grad.norm(2, dim=1)``) when the Tensor has ``norm``."""
    if torch_side or hasattr(g, "norm"):
        return g.norm(2, dim=1)
    return (g * g).sum(1).sqrt()


def _wgan_gp(lib, nnlib, model, real, fake, alpha, torch_side):
    interp = (alpha * real + (1 - alpha) * fake)
    interp.requires_grad_(True)
    scores = model(interp)
    (grad,) = lib.autograd.grad(scores, interp, grad_outputs=lib.ones_like(scores), create_graph=True)
    penalty = ((_norm2(grad, torch_side) - 1) ** 2).mean()
    loss = model(fake).mean() - model(real).mean() + 10 * penalty
    loss.backward()
    return loss, penalty


def critic(lib):
    nnlib = lib.nn
    return nnlib.Sequential(nnlib.Linear(5, 16), nnlib.LeakyReLU(0.2), nnlib.Linear(16, 16), nnlib.ReLU(),
                            nnlib.Linear(16, 8), nnlib.Tanh(), nnlib.Linear(8, 1))


def test_wgan_gp_gradient_penalty_matches_pytorch():
    eg.manual_seed(0)
    model = critic(eg).double()
    tmodel = critic(torch).double()
    _copy_to_torch(model, tmodel)
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((6, 5)), rng.standard_normal((6, 5)) * 2 + 0.5
    alpha = rng.uniform(size=(6, 1))
    loss, gp = _wgan_gp(eg, nn, model, eg.tensor(real), eg.tensor(fake), eg.tensor(alpha), False)
    tloss, tgp = _wgan_gp(torch, torch.nn, tmodel, torch.tensor(real), torch.tensor(fake), torch.tensor(alpha), True)
    assert_rel(gp, tgp, np.float64, "penalty")
    assert_rel(loss, tloss, np.float64, "loss")
    assert gp.item() > 1e-3  # the penalty is not trivially zero
    for (name, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
        assert_rel(p.grad, tp.grad, np.float64, f"critic {name}.grad")


def mlp(lib, norm: bool):
    nnlib = lib.nn
    if norm:
        return nnlib.Sequential(nnlib.Linear(6, 12), nnlib.LayerNorm(12), nnlib.GELU(), nnlib.Linear(12, 10),
                                nnlib.Softplus(), nnlib.Linear(10, 4))
    return nnlib.Sequential(nnlib.Linear(6, 12), nnlib.Tanh(), nnlib.Linear(12, 10), nnlib.Sigmoid(),
                            nnlib.Linear(10, 4))


def _hvp(lib, model, x, target, vs, wrt_input: bool):
    params = list(model.parameters())
    inputs = params + ([x] if wrt_input else [])
    loss = lib.nn.functional.cross_entropy(model(x), target)
    grads = lib.autograd.grad(loss, inputs, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    return loss, grads, lib.autograd.grad(dot, inputs)


@pytest.mark.parametrize("norm", [False, True], ids=["tanh-sigmoid", "layernorm-gelu-softplus"])
@pytest.mark.parametrize("wrt_input", [False, True], ids=["params", "params-and-input"])
def test_hessian_vector_product_on_an_mlp_matches_pytorch(norm, wrt_input):
    eg.manual_seed(1)
    model = mlp(eg, norm).double()
    tmodel = mlp(torch, norm).double()
    _copy_to_torch(model, tmodel)
    rng = np.random.default_rng(1)
    xv, tv = rng.standard_normal((7, 6)), rng.integers(0, 4, 7)
    shapes = [p.shape for p in model.parameters()] + ([xv.shape] if wrt_input else [])
    vs = [rng.standard_normal(s) for s in shapes]
    x, tx = eg.tensor(xv, requires_grad=wrt_input), torch.tensor(xv, requires_grad=wrt_input)
    loss, grads, hv = _hvp(eg, model, x, eg.tensor(tv), [eg.tensor(v) for v in vs], wrt_input)
    tloss, tgrads, thv = _hvp(torch, tmodel, tx, torch.tensor(tv), [torch.tensor(v) for v in vs], wrt_input)
    assert_rel(loss, tloss, np.float64, "loss")
    for k, (g, tg, h, th) in enumerate(zip(grads, tgrads, hv, thv)):
        assert_rel(g, tg, np.float64, f"gradient {k}")
        assert_rel(h, th, np.float64, f"Hessian-vector product {k}")
    # the HVP is a real second derivative: it is linear in v and not the gradient itself
    assert max(float(np.abs(h.numpy()).max()) for h in hv) > 1e-3


def test_hessian_of_a_small_function_matches_finite_differences_of_the_gradient():
    rng = np.random.default_rng(2)
    w = eg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = eg.tensor(rng.standard_normal((5, 3)))

    def loss_grad(wv):
        wt = eg.tensor(wv, requires_grad=True)
        (g,) = eg.autograd.grad(F.softplus(x @ wt).sum() + (wt ** 4).sum(), wt)
        return g.numpy()

    (g,) = eg.autograd.grad(F.softplus(x @ w).sum() + (w ** 4).sum(), w, create_graph=True)
    v = rng.standard_normal(w.shape)
    (hv,) = eg.autograd.grad(g, w, eg.tensor(v))
    eps = 1e-6
    numeric = (loss_grad(w.detach().numpy() + eps * v) - loss_grad(w.detach().numpy() - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-7, atol=1e-8)
