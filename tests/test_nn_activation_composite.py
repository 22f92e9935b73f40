"""The activations composed of tensor ops (SiLU, Mish, ReLU6, Hardtanh, Hardsigmoid, Hardswish, Softsign,
LogSigmoid, Softmin, Tanhshrink, Threshold, GLU, CELU, Softshrink, Hardshrink), the distances (normalize,
cosine_similarity, pairwise_distance, triplet and margin-ranking losses) and the containers (ModuleDict,
ParameterList, ParameterDict), side by side with torch 2.13; float64
gradcheck to second order for the smooth activations."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad.autograd.gradcheck import gradcheck, gradgradcheck

ACTIVATIONS = [("SiLU", ()), ("Mish", ()), ("ReLU6", ()), ("Hardtanh", (-2.0, 3.0)), ("Hardsigmoid", ()),
               ("Hardswish", ()), ("Softsign", ()), ("LogSigmoid", ()), ("Softmin", (1,)), ("Tanhshrink", ()),
               ("Threshold", (0.5, -2.0)), ("GLU", ()), ("CELU", (0.7,)), ("Softshrink", (0.8,)),
               ("Hardshrink", (0.8,))]


@pytest.mark.parametrize("name, args", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_layers_match_torch(name, args):
    torch = pytest.importorskip("torch", reason="PyTorch's layers are the reference")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)) * 4
    t, e = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    yt, ye = getattr(torch.nn, name)(*args)(t), getattr(eg.nn, name)(*args)(e)
    g = rng.standard_normal(tuple(yt.shape))
    (yt * torch.tensor(g)).sum().backward()
    (ye * eg.tensor(g)).sum().backward()
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-12)  # torch: 1/6 in float, CELU from its output
    assert repr(getattr(eg.nn, name)(*args)).startswith(name + "(")


@pytest.mark.parametrize("fn", [F.silu, F.mish, F.softsign, F.logsigmoid, F.tanhshrink, F.glu,
                                lambda x: F.celu(x, 0.7), lambda x: F.softmin(x, 1), lambda x: F.normalize(x)])
def test_smooth_activations_gradcheck_to_second_order(fn):
    x = eg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_distances_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's functions are the reference")
    rng = np.random.default_rng(2)
    x1, x2, x3 = (rng.standard_normal((5, 4)) for _ in range(3))
    for ours, theirs in [
        (lambda a, b, c: F.cosine_similarity(a, b), lambda a, b, c: torch.nn.functional.cosine_similarity(a, b)),
        (lambda a, b, c: F.pairwise_distance(a, b, p=3.0), lambda a, b, c: torch.nn.functional.pairwise_distance(a, b, p=3.0)),
        (lambda a, b, c: F.normalize(a, p=1.0, dim=0), lambda a, b, c: torch.nn.functional.normalize(a, p=1.0, dim=0)),
        (lambda a, b, c: F.triplet_margin_loss(a, b, c, swap=True),
         lambda a, b, c: torch.nn.functional.triplet_margin_loss(a, b, c, swap=True)),
        (lambda a, b, c: F.margin_ranking_loss(a[:, 0], b[:, 0], c[:, 0].sign(), margin=0.2, reduction="sum"),
         lambda a, b, c: torch.nn.functional.margin_ranking_loss(a[:, 0], b[:, 0], c[:, 0].sign(), margin=0.2,
                                                                 reduction="sum")),
    ]:
        ts = [torch.tensor(x, requires_grad=True) for x in (x1, x2, x3)]
        es = [eg.tensor(x, requires_grad=True) for x in (x1, x2, x3)]
        yt, ye = theirs(*ts), ours(*es)
        yt.sum().backward()
        ye.sum().backward()
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
        for a, b in zip(es, ts):
            assert (a.grad is None) == (b.grad is None)
            if b.grad is not None:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(eg.zeros(2, 3))
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(eg.zeros(2), 1.0, -1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'alpha'"):
        eg.nn.SiLU(alpha=1.0)
    with pytest.raises(ValueError, match="reduction: expected one of"):  # the argument named, as eigengrad's losses
        F.margin_ranking_loss(eg.zeros(2), eg.zeros(2), eg.ones(2), reduction="avg")


def test_containers_register_as_torchs():
    torch = pytest.importorskip("torch", reason="PyTorch's containers are the reference")
    keys = {}
    for lib in (eg, torch):
        nn = lib.nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.heads = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Linear(2, 1)})
                self.ps = nn.ParameterList([nn.Parameter(lib.zeros(2)), lib.ones(3)])
                self.pd = nn.ParameterDict({"scale": nn.Parameter(lib.ones(1))})
                self.layers = nn.ModuleList([nn.ReLU()])
                self.layers.extend([nn.Tanh(), nn.Linear(1, 1)])
                self.layers.insert(0, nn.Identity())
                del self.layers[1]

        m = M()
        keys[lib.__name__] = (sorted(m.state_dict()), [type(x).__name__ for x in m.layers],
                              len(list(m.parameters())), "a" in m.heads, list(m.heads.keys()))
    assert keys["eigengrad"] == keys["torch"]
    x = eg.ones(3, requires_grad=True)
    y = eg.clone(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))


def test_unflatten_batchnorm3d_and_parameter_vectors_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's layers are the reference")
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 2, 3))
    np.testing.assert_array_equal(eg.nn.Unflatten(1, (2, 6))(eg.tensor(x.reshape(2, 12, 6))).numpy(),
                                  torch.nn.Unflatten(1, (2, 6))(torch.tensor(x.reshape(2, 12, 6))).numpy())
    ours, theirs = eg.nn.BatchNorm3d(3).double(), torch.nn.BatchNorm3d(3).double()
    np.testing.assert_allclose(ours(eg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    net = eg.nn.Sequential(eg.nn.Linear(3, 2), eg.nn.Linear(2, 1))
    vec = eg.nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (11,)
    eg.nn.utils.vector_to_parameters(vec * 2, net.parameters())
    np.testing.assert_allclose(eg.nn.utils.parameters_to_vector(net.parameters()).detach().numpy(),
                               2 * vec.detach().numpy())
    with pytest.raises(ValueError, match="11 elements"):
        eg.nn.utils.vector_to_parameters(eg.zeros(3), net.parameters())


KINK_POINTS = np.array([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 0.8, -0.8, 2.0, -2.0, 20.0, -20.0, 1e-300])
KINKED = [("relu", {}), ("relu6", {}), ("leaky_relu", {"negative_slope": 0.1}), ("elu", {}), ("selu", {}),
          ("celu", {"alpha": 0.7}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}),
          ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 1.0}), ("logsigmoid", {}), ("hardtanh", {}),
          ("hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("hardsigmoid", {}), ("hardswish", {}),
          ("softsign", {}), ("tanhshrink", {}), ("softshrink", {"lambd": 0.5}), ("hardshrink", {"lambd": 0.5}),
          ("threshold", {"threshold": 0.5, "value": -2.0})]


@pytest.mark.parametrize("name, kw", KINKED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(KINKED)])
def test_activation_gradients_at_kinks_and_thresholds_match_torch(name, kw):
    """At 0 and at each threshold (where a composite of clamp, abs or where can pick the wrong one-sided
    derivative, as logsigmoid's min(x, 0) - log1p(exp(-|x|)) once gave 1 at 0 for sigmoid(0) = 1/2)."""
    torch = pytest.importorskip("torch", reason="PyTorch's functions are the reference")
    t, e = torch.tensor(KINK_POINTS, requires_grad=True), eg.tensor(KINK_POINTS, requires_grad=True)
    yt, ye = getattr(torch.nn.functional, name)(t, **kw), getattr(F, name)(e, **kw)
    yt.sum().backward()
    ye.sum().backward()
    # torch's own rounding: 1/6 and CELU's alpha in float (~3e-8; 5e-7 at exp(-20 / 0.7)), GELU's far tail flushed to 0
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-60)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-60,
                               err_msg=f"{name} gradient at {KINK_POINTS}")
