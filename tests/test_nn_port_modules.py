"""The nn layers, losses, containers and utilities added for porting, as modules, side by side with PyTorch
2.13: outputs, gradients, state_dicts loaded both ways, extra_repr, in-place forms, random modes and
error messages. (The functional forms are in test_nn_port_parity.py.)"""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn as nn
import eigengrad.nn.functional as F
from torch_parity import make_assert_rel

torch = pytest.importorskip("torch", reason="the module parity tests compare with PyTorch")
assert_rel = make_assert_rel({np.float64: 1e-10, np.float32: 1e-5})


def _pair(a: np.ndarray, grad: bool = True):
    e = eg.tensor(a)
    t = torch.tensor(a)
    if grad:
        e.requires_grad_()
        t.requires_grad_()
    return e, t


def _load_torch_into_eg(t_mod, e_mod) -> None:
    sd = {k: eg.tensor(v.detach().numpy().copy()) for k, v in t_mod.state_dict().items()}
    e_mod.load_state_dict(sd)


def _load_eg_into_torch(e_mod, t_mod) -> None:
    t_mod.load_state_dict({k: torch.tensor(v.numpy().copy()) for k, v in e_mod.state_dict().items()})


def _same_state(e_mod, t_mod) -> None:
    es, ts = e_mod.state_dict(), t_mod.state_dict()
    assert list(es) == list(ts)
    for k in es:
        assert tuple(es[k].shape) == tuple(ts[k].shape), k
        np.testing.assert_array_equal(es[k].numpy(), ts[k].detach().numpy(), err_msg=k)


ACTIVATION_MODULES = [
    ("SiLU", (), {}), ("Mish", (), {}), ("ReLU6", (), {}), ("Hardtanh", (-0.5, 0.8), {}), ("Hardswish", (), {}),
    ("Hardsigmoid", (), {}), ("LogSigmoid", (), {}), ("Softmin", (1,), {}), ("Softsign", (), {}),
    ("Tanhshrink", (), {}), ("Threshold", (0.2, -1.0), {}), ("GLU", (1,), {}), ("CELU", (0.6,), {}),
    ("Hardshrink", (0.3,), {}), ("Softshrink", (0.2,), {}), ("Softmax2d", (), {}),
    ("RReLU", (0.1, 0.4), {}), ("SiLU", (), {"inplace": True}), ("Hardtanh", (), {"inplace": True}),
]


@pytest.mark.parametrize("name,args,kwargs", ACTIVATION_MODULES, ids=[f"{n}{k}" for n, _, k in ACTIVATION_MODULES])
def test_activation_modules_match_torch(name, args, kwargs):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 3, 2)) * 2
    e_mod, t_mod = getattr(nn, name)(*args, **kwargs).eval(), getattr(torch.nn, name)(*args, **kwargs).eval()
    assert repr(e_mod) == repr(t_mod)
    ex, tx = _pair(a)
    if kwargs.get("inplace"):  # in place on a non-leaf, as in a network
        e_in, t_in = ex * 1.0, tx * 1.0
    else:
        e_in, t_in = ex, tx
    e_out, t_out = e_mod(e_in), t_mod(t_in)
    assert_rel(e_out, t_out, np.float64, name)
    if kwargs.get("inplace"):
        assert e_out is e_in
        assert_rel(e_in, t_in, np.float64, "input written in place")
    w = rng.standard_normal(tuple(t_out.shape))
    (e_out * eg.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    if name in ("Hardsigmoid", "CELU"):  # PyTorch's gradients round (test_hardsigmoid_celu_gradients)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-8)
    else:
        assert_rel(ex.grad, tx.grad, np.float64, f"{name} gradient", scale=1.0)


INPLACE_FORMS = [
    ("relu_", ()), ("elu_", (0.7,)), ("leaky_relu_", (0.2,)), ("selu_", ()), ("hardtanh_", (-0.4, 0.9)),
    ("threshold_", (0.1, 3.0)), ("celu_", (1.3,)),
]


@pytest.mark.parametrize("name,args", INPLACE_FORMS, ids=[n for n, _ in INPLACE_FORMS])
def test_inplace_forms_write_into_the_input_and_differentiate(name, args):
    a = np.random.default_rng(4).standard_normal((3, 5))
    ex, tx = _pair(a)
    e_mid, t_mid = ex * 2.0, tx * 2.0
    e_out, t_out = getattr(F, name)(e_mid, *args), getattr(torch.nn.functional, name)(t_mid, *args)
    assert e_out is e_mid
    assert_rel(e_mid, t_mid, np.float64, name)
    (e_out ** 2).sum().backward()
    (t_out ** 2).sum().backward()
    if name == "celu_":  # PyTorch's celu gradient rounds (test_hardsigmoid_celu_gradients)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-12)
    else:
        assert_rel(ex.grad, tx.grad, np.float64, f"{name} gradient")
    leaf = eg.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(leaf, *args)


def test_inplace_module_keyword_on_old_activations():
    """ReLU/LeakyReLU/ELU/SELU(inplace=True) write into their input as PyTorch's do."""
    for mod in (nn.ReLU(inplace=True), nn.LeakyReLU(0.1, inplace=True), nn.ELU(inplace=True), nn.SELU(inplace=True)):
        x = eg.tensor(np.linspace(-2, 2, 7))
        before = x.numpy().copy()
        out = mod(x)
        assert out is x
        ref = type(mod).__name__
        t = getattr(torch.nn, ref)(*([0.1] if ref == "LeakyReLU" else []))(torch.tensor(before))
        assert_rel(x, t, np.float64, ref)


def test_hardsigmoid_celu_gradients():
    """Exact gradients where PyTorch rounds (hardsigmoid multiplies by 1/6 in float32; celu's elu backward
    with an input scale is ~1e-9 off): analytic values, gradcheck and gradgradcheck."""
    a = np.array([-4.0, -2.9, -0.3, 0.5, 2.7, 3.5])
    x = eg.tensor(a, requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(np.abs(a) < 3, 1 / 6, 0.0), rtol=1e-15)
    x = eg.tensor(a, requires_grad=True)
    F.celu(x, 0.7).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(a > 0, 1.0, np.exp(a / 0.7)), rtol=1e-14)
    assert eg.autograd.gradcheck(lambda t: F.celu(t, 0.7), (eg.tensor(a[2:4], requires_grad=True),))
    assert eg.autograd.gradgradcheck(lambda t: F.celu(t, 0.7), (eg.tensor(a[2:4], requires_grad=True),))


def test_zero_dim_activation_second_order():
    """tanh/sigmoid of a 0-d tensor differentiate twice (the double backward may hand the kernel a NumPy scalar)."""
    for f in ("tanh", "sigmoid"):
        x = eg.tensor(0.3, dtype=eg.float64, requires_grad=True)
        assert eg.autograd.gradgradcheck(lambda t, _f=f: getattr(t, _f)(), (x,))
        x = eg.tensor(0.3, dtype=eg.float64, requires_grad=True)
        (g,) = eg.autograd.grad(F.mish(x), x, create_graph=True)
        (h,) = eg.autograd.grad(g, x)
        xt = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        (gt,) = torch.autograd.grad(torch.nn.functional.mish(xt), xt, create_graph=True)
        (ht,) = torch.autograd.grad(gt, xt)
        assert_rel(h, ht, np.float64, "mish second derivative")


def test_rrelu_training_draws_slopes_from_eigengrads_generator():
    a = np.linspace(-3, 3, 2000)
    eg.manual_seed(7)
    x = eg.tensor(a, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = y.detach().numpy()[a < 0] / a[a < 0]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.04
    np.testing.assert_array_equal(y.detach().numpy()[a >= 0], a[a >= 0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[a < 0], slopes, rtol=1e-12)
    eg.manual_seed(7)
    np.testing.assert_array_equal(F.rrelu(eg.tensor(a), 0.1, 0.3, training=True).detach().numpy(), y.detach().numpy())
    m = nn.RReLU(0.1, 0.3)
    assert not np.array_equal(m(eg.tensor(a)).numpy(), m.eval()(eg.tensor(a)).numpy())
    np.testing.assert_allclose(m(eg.tensor(a)).numpy(), np.where(a >= 0, a, 0.2 * a), rtol=1e-15)


def test_gumbel_softmax_soft_hard_and_straight_through():
    logits = eg.tensor(np.random.default_rng(5).standard_normal((6, 5)), requires_grad=True)
    eg.manual_seed(11)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().numpy().sum(1), 1.0, rtol=1e-12)
    eg.manual_seed(11)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    np.testing.assert_array_equal(hard.detach().numpy(), np.eye(5)[soft.detach().numpy().argmax(1)])
    w = eg.tensor(np.random.default_rng(6).standard_normal((6, 5)))
    (g_hard,) = eg.autograd.grad((hard * w).sum(), logits)
    (g_soft,) = eg.autograd.grad((soft * w).sum(), logits)
    np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-12)
    eg.manual_seed(12)
    assert not np.array_equal(F.gumbel_softmax(logits, tau=0.5).detach().numpy(), soft.detach().numpy())


def test_softmin_implicit_dim_warns_and_picks_pytorchs_dim():
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        e = F.softmin(eg.tensor(a))
    with pytest.warns(UserWarning):
        t = torch.nn.functional.softmin(torch.tensor(a))
    assert_rel(e, t, np.float64, "softmin dim=None")


ERRORS = [
    (lambda L, x: L.nn.functional.hardtanh(x, 2.0, 1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda L, x: L.nn.functional.celu(x, 0.0), RuntimeError, "alpha cannot be 0 for CELU"),
    (lambda L, x: L.nn.functional.rrelu(x, 0.5, 0.1), RuntimeError, "Lower bound should be less than or equal"),
    (lambda L, x: L.nn.functional.glu(x[0, 0]), RuntimeError, "glu does not support scalars"),
    (lambda L, x: L.nn.functional.glu(x, 0), RuntimeError, "Halving dimension must be even"),
    (lambda L, x: L.nn.functional.pdist(x, -1.0), RuntimeError, "pdist only supports non-negative p values"),
    (lambda L, x: L.nn.functional.softshrink(x, -1.0), RuntimeError, r"lambda must be in range \[0, 1.79769e\+308\] for input dtype Double, but found -1"),
    (lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1, 2]), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    (lambda L, x: L.nn.functional.gaussian_nll_loss(x, x, -x.abs()), ValueError, "var has negative entry"),
    (lambda L, x: L.nn.functional.gaussian_nll_loss(x, x, x.abs()[:2]), ValueError, "var is of incorrect size"),
    (lambda L, x: L.nn.functional.triplet_margin_loss(x, x, x[0]), RuntimeError,
     "expected to have the same number of dimensions"),
    (lambda L, x: L.nn.functional.triplet_margin_loss(x, x, x, margin=-1.0), ValueError,
     "margin must be greater than 0"),
    (lambda L, x: L.nn.functional.margin_ranking_loss(x, x, x[0]), RuntimeError,
     "All input tensors should have same dimension"),
    (lambda L, x: L.nn.functional.cosine_embedding_loss(x, x, x), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda L, x: L.nn.functional.poisson_nll_loss(x, x, reduction="avg"), ValueError,
     "avg is not a valid value for reduction"),
    (lambda L, x: L.nn.functional.rms_norm(x, (5,)), RuntimeError, r"Given normalized_shape=\[5\]"),
    (lambda L, x: L.nn.functional.instance_norm(x), ValueError, "Expected more than 1 spatial element"),
    (lambda L, x: L.nn.functional.fold(x.reshape(1, 1, 3, 3), 3, 2), RuntimeError, "Expected 2D or 3D"),
    (lambda L, x: L.nn.TripletMarginLoss(margin=0.0), ValueError, "expected margin to be greater than 0"),
    (lambda L, x: L.nn.Softmax2d()(x), ValueError, "Softmax2d: expected input to be 3D or 4D, got 2D instead"),
    (lambda L, x: L.nn.utils.rnn.pad_sequence([x], padding_side="middle"), RuntimeError,
     "Expected padding_side to be one of left or right"),
    (lambda L, x: L.nn.utils.rnn.pack_padded_sequence(x, [1, 3, 2]), RuntimeError,
     "must be sorted in decreasing order"),
    (lambda L, x: L.nn.utils.rnn.pack_padded_sequence(x, [3, 0, 0]), RuntimeError,
     "Length of all samples has to be greater than 0"),
]


@pytest.mark.parametrize("call,kind,message", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_errors_are_pytorchs(call, kind, message):
    a = np.random.default_rng(2).standard_normal((3, 3))
    with pytest.raises(kind, match=message):
        call(torch, torch.tensor(a))
    with pytest.raises(kind, match=message):
        call(eg, eg.tensor(a))


# --- layers with parameters: state_dicts both ways --------------------------------------------------------

LAYERS = [
    ("Bilinear", (3, 2, 4), lambda r: (r.standard_normal((5, 3)), r.standard_normal((5, 2)))),
    ("Bilinear", (3, 2, 4, False), lambda r: (r.standard_normal((2, 5, 3)), r.standard_normal((2, 5, 2)))),
    ("InstanceNorm1d", (3,), lambda r: (r.standard_normal((2, 3, 5)),)),
    ("InstanceNorm1d", (3, 1e-3, 0.2, True, True), lambda r: (r.standard_normal((3, 6)),)),
    ("InstanceNorm2d", (2, 1e-5, 0.1, True), lambda r: (r.standard_normal((2, 2, 3, 4)),)),
    ("InstanceNorm2d", (2, 1e-5, None, False, True), lambda r: (r.standard_normal((2, 2, 3, 4)),)),
    ("RMSNorm", (4,), lambda r: (r.standard_normal((3, 4)),)),
    ("RMSNorm", ([2, 3], 1e-4, False), lambda r: (r.standard_normal((3, 2, 3)),)),
    ("CosineSimilarity", (0, 1e-6), lambda r: (r.standard_normal((3, 4)), r.standard_normal((3, 4)))),
    ("PairwiseDistance", (1.5, 1e-4, True), lambda r: (r.standard_normal((3, 4)), r.standard_normal((3, 4)))),
    ("Unflatten", (1, (2, 3)), lambda r: (r.standard_normal((4, 6, 2)),)),
    ("Unfold", ((2, 2), 1, 1, 2), lambda r: (r.standard_normal((2, 3, 5, 4)),)),
    ("Fold", ((4, 3), 2), lambda r: (r.standard_normal((2, 8, 6)),)),
    ("ZeroPad1d", ((1, 2),), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("ZeroPad2d", (2,), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("ConstantPad1d", (2, 1.5), lambda r: (r.standard_normal((2, 4)),)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), lambda r: (r.standard_normal((1, 2, 3, 4)),)),
    ("ReflectionPad1d", (2,), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("ReflectionPad2d", ((1, 2, 2, 1),), lambda r: (r.standard_normal((1, 2, 3, 4)),)),
    ("ReplicationPad1d", ((3, 1),), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("ReplicationPad2d", (2,), lambda r: (r.standard_normal((1, 2, 3, 4)),)),
    ("CircularPad1d", (2,), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("CircularPad2d", ((1, 2, 0, 1),), lambda r: (r.standard_normal((1, 2, 3, 4)),)),
]


@pytest.mark.parametrize("name,args,make", LAYERS, ids=[f"{n}{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_layers_match_torch_with_state_dicts_both_ways(name, args, make):
    rng = np.random.default_rng(8)
    t_mod, e_mod = getattr(torch.nn, name)(*args).double(), getattr(nn, name)(*args, dtype=eg.float64) \
        if name in ("Bilinear", "InstanceNorm1d", "InstanceNorm2d", "RMSNorm") else getattr(nn, name)(*args)
    assert repr(e_mod) == repr(t_mod)
    assert [(k, tuple(v.shape)) for k, v in e_mod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_mod.state_dict().items()]
    for p in t_mod.parameters():  # non-trivial affine parameters
        with torch.no_grad():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    _load_torch_into_eg(t_mod, e_mod)
    for step in range(2):  # training steps update the running statistics alike
        inputs = make(rng)
        pairs = [_pair(a) for a in inputs]
        e_out = e_mod(*[e for e, _ in pairs])
        t_out = t_mod(*[t for _, t in pairs])
        assert_rel(e_out, t_out, np.float64, f"{name} step {step}")
        w = rng.standard_normal(tuple(t_out.shape))
        (e_out * eg.tensor(w)).sum().backward()
        (t_out * torch.tensor(w)).sum().backward()
        for k, ((e, t), a) in enumerate(zip(pairs, inputs)):
            assert_rel(e.grad, t.grad, np.float64, f"{name} input {k} gradient")
        for (n, ep), tp in zip(e_mod.named_parameters(), t_mod.parameters()):
            assert_rel(ep.grad, tp.grad, np.float64, f"{name} {n} gradient")
            ep.grad, tp.grad = None, None
    _same_state_values(e_mod, t_mod)
    e_mod.eval(), t_mod.eval()
    inputs = make(rng)
    assert_rel(e_mod(*[eg.tensor(a) for a in inputs]), t_mod(*[torch.tensor(a) for a in inputs]), np.float64,
               f"{name} eval")
    fresh = getattr(torch.nn, name)(*args).double()
    _load_eg_into_torch(e_mod, fresh)
    _same_state(e_mod, fresh)


def _same_state_values(e_mod, t_mod) -> None:
    for (k, e), (k2, t) in zip(e_mod.state_dict().items(), t_mod.state_dict().items()):
        assert k == k2
        if t.dtype.is_floating_point:
            assert_rel(e, t, np.float64, k)
        else:
            np.testing.assert_array_equal(e.numpy(), t.numpy(), err_msg=k)


def test_bilinear_initialisation_and_dtype():
    eg.manual_seed(0)
    m = nn.Bilinear(16, 3, 200, dtype=eg.float32)
    bound = 1 / np.sqrt(16)
    for p in (m.weight, m.bias):
        a = p.detach().numpy()
        assert p.dtype == eg.float32 and a.min() >= -bound and a.max() <= bound and a.max() > 0.9 * bound
    assert tuple(m.weight.shape) == (200, 16, 3)
    out = m(eg.randn(4, 16), eg.randn(4, 3))
    assert out.dtype == eg.float32 and tuple(out.shape) == (4, 200)


def test_instance_norm_affine_channel_mismatch():
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm1d(4, affine=True)(eg.randn(2, 3, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(eg.randn(2, 3, 5))


def test_lazy_linear_infers_in_features_and_becomes_linear():
    eg.manual_seed(1)
    m = nn.LazyLinear(4)
    assert m.in_features == 0 and m.weight.numel() == 0
    x = eg.randn(3, 7)
    y = m(x)
    assert type(m) is nn.Linear and m.in_features == 7 and tuple(m.weight.shape) == (4, 7)
    np.testing.assert_allclose(y.detach().numpy(),
                               x.detach().numpy() @ m.weight.detach().numpy().T + m.bias.detach().numpy(), rtol=1e-5)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(7)
    t = torch.nn.Linear(7, 4)
    _load_eg_into_torch(m, t)
    assert_rel(t(torch.tensor(x.numpy())).detach().numpy(), y, np.float32)
    assert nn.LazyLinear(2, bias=False)(eg.randn(2, 3)).shape == (2, 2)


# --- losses as modules -------------------------------------------------------------------------------------

def _labels(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


LOSS_MODULES = [
    ("MarginRankingLoss", (0.2,), {"reduction": "sum"}, lambda r: (r.standard_normal(4), r.standard_normal(4),
                                                                   _labels(r, 4))),
    ("HingeEmbeddingLoss", (0.5,), {}, lambda r: (r.standard_normal((3, 2)), _labels(r, (3, 2)))),
    ("SoftMarginLoss", (), {"reduction": "none"}, lambda r: (r.standard_normal((3, 2)), _labels(r, (3, 2)))),
    ("CosineEmbeddingLoss", (0.1,), {}, lambda r: (r.standard_normal((3, 4)), r.standard_normal((3, 4)),
                                                   _labels(r, 3))),
    ("TripletMarginLoss", (0.5, 1.0), {"swap": True}, lambda r: tuple(r.standard_normal((3, 4)) for _ in range(3))),
    ("TripletMarginWithDistanceLoss", (), {"margin": 0.3}, lambda r: tuple(r.standard_normal((3, 4))
                                                                           for _ in range(3))),
    ("PoissonNLLLoss", (False, True), {}, lambda r: (r.uniform(0.5, 2, (3, 2)), r.integers(0, 5, (3, 2)) * 1.0)),
    ("GaussianNLLLoss", (), {"full": True}, lambda r: (r.standard_normal((3, 2)), r.standard_normal((3, 2)),
                                                       r.uniform(0.5, 2, (3, 1)))),
    ("MultiMarginLoss", (2, 0.5), {}, lambda r: (r.standard_normal((4, 3)), r.integers(0, 3, 4))),
    ("MultiLabelMarginLoss", (), {}, lambda r: (r.standard_normal((2, 4)), np.array([[2, 1, -1, 0], [0, 1, 2, 3]]))),
    ("MultiLabelSoftMarginLoss", (), {}, lambda r: (r.standard_normal((3, 4)), (r.random((3, 4)) < .5) * 1.0)),
]


@pytest.mark.parametrize("name,args,kwargs,make", LOSS_MODULES, ids=[n for n, *_ in LOSS_MODULES])
def test_loss_modules_match_torch(name, args, kwargs, make):
    rng = np.random.default_rng(9)
    inputs = make(rng)
    e_mod, t_mod = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    e_in = [eg.tensor(a) for a in inputs]
    t_in = [torch.tensor(a) for a in inputs]
    e_in[0].requires_grad_(), t_in[0].requires_grad_()
    e_out, t_out = e_mod(*e_in), t_mod(*t_in)
    assert_rel(e_out, t_out, np.float64, name)
    e_out.sum().backward(), t_out.sum().backward()
    assert_rel(e_in[0].grad, t_in[0].grad, np.float64, f"{name} gradient")


def test_multi_margin_and_soft_margin_weights_are_buffers():
    w = np.array([0.5, 1.0, 2.0])
    e_mod, t_mod = nn.MultiMarginLoss(weight=eg.tensor(w)), torch.nn.MultiMarginLoss(weight=torch.tensor(w))
    _same_state(e_mod, t_mod)
    e2 = nn.MultiLabelSoftMarginLoss(weight=eg.tensor(w))
    assert list(e2.state_dict()) == list(torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(w)).state_dict())


# --- containers and utilities ------------------------------------------------------------------------------

def _build(L):
    m = L.nn.Module()
    m.blocks = L.nn.ModuleDict({"enc": L.nn.Linear(3, 2), "dec": L.nn.Linear(2, 3)})
    m.blocks["extra"] = L.nn.Linear(1, 1, bias=False)
    m.plist = L.nn.ParameterList([L.nn.Parameter(L.ones(2)), L.zeros(3, 1)])
    m.plist.append(L.nn.Parameter(L.ones(1)))
    m.pdict = L.nn.ParameterDict({"alpha": L.nn.Parameter(L.ones(2, 2))})
    m.pdict["beta"] = L.zeros(4)
    m.pdict.update([("gamma", L.nn.Parameter(L.ones(1)))])
    return m


def test_containers_register_under_pytorchs_names():
    e, t = _build(eg), _build(torch)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    _load_torch_into_eg(t, e)
    _same_state(e, t)
    assert list(e.blocks) == list(t.blocks) == ["enc", "dec", "extra"]
    assert "dec" in e.blocks and len(e.blocks) == 3 and isinstance(e.blocks["enc"], nn.Linear)
    assert isinstance(e.plist[1], nn.Parameter) and len(e.plist) == 3 and e.plist[-1] is e.plist[2]
    assert [tuple(p.shape) for p in e.plist] == [(2,), (3, 1), (1,)]
    assert list(e.pdict.keys()) == ["alpha", "beta", "gamma"] and isinstance(e.pdict["beta"], nn.Parameter)
    popped = e.blocks.pop("extra")
    assert isinstance(popped, nn.Linear) and "extra" not in dict(e.named_modules())
    del e.pdict["beta"]
    assert [n for n, _ in e.named_parameters() if n.startswith("pdict")] == ["pdict.alpha", "pdict.gamma"]
    with pytest.raises(IndexError):
        e.plist[5]
    with pytest.raises(KeyError):
        e.pdict["nope"]
    assert "(1): Parameter containing: [" in repr(e.plist) and "of size 3x1]" in repr(e.plist)


def test_parameters_to_vector_and_back():
    e, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    _load_torch_into_eg(t, e)
    v = nn.utils.parameters_to_vector(e.parameters())
    tv = torch.nn.utils.parameters_to_vector(t.parameters())
    assert_rel(v, tv, np.float32, "vector")
    v.sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy(), np.ones((2, 3), np.float32))
    new = eg.tensor(np.arange(8, dtype=np.float32))
    nn.utils.vector_to_parameters(new, e.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(8.0), t.parameters())
    _same_state(e, t)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters(np.zeros(8), e.parameters())


# --- packed sequences through the recurrent layers ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("sort", [True, False])
def test_recurrent_layers_take_packed_sequences(kind, sort):
    rng = np.random.default_rng(10)
    lengths = [5, 3, 3, 1] if sort else [2, 5, 1, 3]
    seqs = [rng.standard_normal((n, 3)) for n in lengths]
    t_mod = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    e_mod = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=eg.float64)
    _load_torch_into_eg(t_mod, e_mod)
    e_seqs, t_seqs = zip(*[_pair(a) for a in seqs])
    e_packed = nn.utils.rnn.pack_sequence(list(e_seqs), enforce_sorted=sort)
    t_packed = torch.nn.utils.rnn.pack_sequence(list(t_seqs), enforce_sorted=sort)
    np.testing.assert_array_equal(e_packed.batch_sizes.numpy(), t_packed.batch_sizes.numpy())
    h0 = rng.standard_normal((4, 4, 4))
    e_h0, t_h0 = _pair(h0)
    e_hx, t_hx = ((e_h0, e_h0 * 0.5), (t_h0, t_h0 * 0.5)) if kind == "LSTM" else (e_h0, t_h0)
    e_out, e_state = e_mod(e_packed, e_hx)
    t_out, t_state = t_mod(t_packed, t_hx)
    assert isinstance(e_out, nn.utils.rnn.PackedSequence)
    assert_rel(e_out.data, t_out.data, np.float64, f"{kind} packed output")
    e_states = e_state if kind == "LSTM" else (e_state,)
    t_states = t_state if kind == "LSTM" else (t_state,)
    for e, t in zip(e_states, t_states):
        assert_rel(e, t, np.float64, f"{kind} final state")
    e_pad, e_len = nn.utils.rnn.pad_packed_sequence(e_out, batch_first=True)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)
    assert_rel(e_pad, t_pad, np.float64, f"{kind} padded output")
    np.testing.assert_array_equal(e_len.numpy(), t_len.numpy())
    w = rng.standard_normal(tuple(t_pad.shape))
    ((e_pad * eg.tensor(w)).sum() + e_states[0].sum()).backward()
    ((t_pad * torch.tensor(w)).sum() + t_states[0].sum()).backward()
    for k, (e, t) in enumerate(zip(e_seqs, t_seqs)):
        assert_rel(e.grad, t.grad, np.float64, f"{kind} sequence {k} gradient")
    assert_rel(e_h0.grad, t_h0.grad, np.float64, f"{kind} h0 gradient")
    for (n, ep), tp in zip(e_mod.named_parameters(), t_mod.parameters()):
        assert_rel(ep.grad, tp.grad, np.float64, f"{kind} {n} gradient")
