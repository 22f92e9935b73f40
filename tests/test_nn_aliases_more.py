"""PyTorch's deprecated and legacy nn names: nn.init's names without the underscore, nn.CrossMapLRN2d,
nn.NLLLoss2d, nn.Container, nn.UninitializedParameter / UninitializedBuffer; side by side with PyTorch."""
import warnings

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="the legacy names are checked against PyTorch")

_INIT_CASES = [
    ("uniform", (2.0, 3.0), (4, 5)), ("normal", (0.0, 1.0), (4, 5)), ("constant", (0.25,), (4, 5)),
    ("eye", (), (3, 4)), ("dirac", (), (4, 2, 3, 3)), ("xavier_uniform", (), (4, 5)), ("xavier_normal", (), (4, 5)),
    ("kaiming_uniform", (), (4, 5)), ("kaiming_normal", (), (4, 5)), ("orthogonal", (), (4, 5)),
    ("sparse", (0.5,), (4, 5)),
]


@pytest.mark.parametrize("name,args,shape", _INIT_CASES, ids=[c[0] for c in _INIT_CASES])
def test_init_deprecated_names(name, args, shape):
    assert hasattr(torch.nn.init, name)
    old = getattr(eg.nn.init, name)
    new = getattr(eg.nn.init, name + "_")
    assert old.__name__ == getattr(torch.nn.init, name).__name__ == name
    msg = f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
    t = eg.empty(*shape)
    eg.manual_seed(5)
    with pytest.warns(FutureWarning) as rec:
        out = old(t, *args)
    assert [str(w.message) for w in rec] == [msg]
    assert rec[0].filename == __file__  # stacklevel 2: the caller's line
    assert out is t
    ref = eg.empty(*shape)
    eg.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new(ref, *args)
    np.testing.assert_array_equal(t.numpy(), ref.numpy())
    with pytest.warns(FutureWarning) as rec_t:
        getattr(torch.nn.init, name)(torch.empty(*shape), *args)
    assert [str(w.message) for w in rec_t] == [msg]


def test_init_eye_dirac_values_match_torch():
    for shape in ((3, 4), (5, 2), (3, 3)):
        np.testing.assert_array_equal(eg.nn.init.eye_(eg.empty(*shape)).numpy(),
                                      torch.nn.init.eye_(torch.empty(*shape)).numpy())
    for shape, groups in (((4, 2, 3), 1), ((4, 2, 3, 3), 2), ((6, 3, 1, 3, 3), 3), ((2, 5, 3, 3), 1)):
        np.testing.assert_array_equal(eg.nn.init.dirac_(eg.empty(*shape), groups).numpy(),
                                      torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())


def _window_reference(x, size, alpha, beta, k):
    """PyTorch's CrossMapLRN2d recurrence, written out channel by channel in NumPy."""
    c = x.shape[1]
    sq = x * x
    pre_pad = int((size - 1) / 2 + 1)
    scale = np.zeros_like(x)
    for j in range(min(pre_pad, c)):
        scale[:, 0] += sq[:, j]
    for ch in range(1, c):
        scale[:, ch] = scale[:, ch - 1]
        if ch < c - pre_pad + 1:
            scale[:, ch] += sq[:, ch + pre_pad - 1]
        if ch > pre_pad:
            scale[:, ch] -= sq[:, ch - pre_pad]
    return x * (scale * (alpha / size) + k) ** -beta


@pytest.mark.parametrize("channels,size", [(1, 1), (3, 5), (6, 4), (7, 3), (9, 5), (10, 2), (12, 7), (8, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_map_lrn2d_forward_matches_torch(channels, size, dtype):
    rng = np.random.default_rng(channels * 10 + size)
    x = rng.standard_normal((2, channels, 3, 4)).astype(dtype)
    args = (size, 0.3, 0.75, 2.0)
    ref = torch.nn.CrossMapLRN2d(*args)(torch.tensor(x)).numpy()
    out = eg.nn.CrossMapLRN2d(*args)(eg.tensor(x))
    assert str(out.dtype).endswith(dtype)
    tol = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(out.numpy(), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(out.numpy(), _window_reference(x.astype(np.float64), *args), rtol=tol, atol=tol)


def test_cross_map_lrn2d_defaults_repr_errors_and_grad():
    m, mt = eg.nn.CrossMapLRN2d(5), torch.nn.CrossMapLRN2d(5)
    assert (m.size, m.alpha, m.beta, m.k) == (mt.size, mt.alpha, mt.beta, mt.k) == (5, 1e-4, 0.75, 1)
    assert repr(m) == repr(mt) == "CrossMapLRN2d(5, alpha=0.0001, beta=0.75, k=1)"
    assert list(m.parameters()) == []
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead."):
        m(eg.ones(2, 3, 4))
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead."):
        mt(torch.ones(2, 3, 4))
    # the gradient is that of the forward (checked against torch's autograd of the same window sums)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 9, 2, 3))
    g = rng.standard_normal(x.shape)
    xe = eg.tensor(x, requires_grad=True)
    eg.nn.CrossMapLRN2d(5, 0.5, 0.75, 1.5)(xe).backward(eg.tensor(g))
    from eigengrad.nn.modules.normalization import _cross_map_window

    xt = torch.tensor(x, requires_grad=True)
    sums = torch.einsum("cd,ndhw->nchw", torch.tensor(_cross_map_window(9, 5)), xt * xt)
    (xt * (sums * (0.5 / 5) + 1.5) ** -0.75).backward(torch.tensor(g))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_nll_loss_2d():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4, 5))
    target = rng.integers(0, 3, (2, 4, 5))
    target[0, 0, 0] = -100
    w = rng.uniform(0.5, 2.0, 3)
    msg = ("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
           "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.")
    for reduction in ("mean", "sum", "none"):
        with pytest.warns(FutureWarning) as rec:
            le = eg.nn.NLLLoss2d(weight=eg.tensor(w), reduction=reduction)
        assert [str(r.message) for r in rec] == [msg] and rec[0].filename == __file__
        with pytest.warns(FutureWarning) as rec_t:
            lt = torch.nn.NLLLoss2d(weight=torch.tensor(w), reduction=reduction)
        assert [str(r.message) for r in rec_t] == [msg]
        assert isinstance(le, eg.nn.NLLLoss) and le.ignore_index == lt.ignore_index == -100
        out = le(eg.tensor(x), eg.tensor(target)).numpy()
        ref = lt(torch.tensor(x), torch.tensor(target)).numpy()
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert repr(le) == "NLLLoss2d()"


def test_container():
    msg = ("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
           "Subclass that instead.")
    with pytest.warns(FutureWarning) as rec:
        c = eg.nn.Container(fc=eg.nn.Linear(2, 3), act=eg.nn.ReLU())
    assert [str(r.message) for r in rec] == [msg] and rec[0].filename == __file__
    with pytest.warns(FutureWarning) as rec_t:
        ct = torch.nn.Container(fc=torch.nn.Linear(2, 3), act=torch.nn.ReLU())
    assert [str(r.message) for r in rec_t] == [msg]
    assert isinstance(c, eg.nn.Module) and [n for n, _ in c.named_children()] == ["fc", "act"]
    assert repr(c) == repr(ct)
    assert [n for n, _ in c.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.warns(FutureWarning) as rec:  # subclassing warns once, at the class statement
        class Sub(eg.nn.Container):
            pass
    assert [str(r.message) for r in rec] == [msg]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sub(a=eg.nn.ReLU())  # a subclass's instances do not warn again (PyTorch's @deprecated)


def test_uninitialized_parameter_and_buffer():
    assert eg.nn.UninitializedParameter is eg.nn.parameter.UninitializedParameter
    assert eg.nn.UninitializedBuffer is eg.nn.parameter.UninitializedBuffer
    assert hasattr(torch.nn, "UninitializedParameter") and hasattr(torch.nn, "UninitializedBuffer")
    for lazy in (eg.nn.LazyLinear(3), eg.nn.LazyConv2d(4, 3), eg.nn.LazyBatchNorm1d()):
        assert isinstance(lazy.weight, eg.nn.UninitializedParameter)
    bn = eg.nn.LazyBatchNorm2d()
    assert isinstance(bn.running_mean, eg.nn.UninitializedBuffer)
    lin = eg.nn.LazyLinear(3)
    lin(eg.ones(2, 5))
    assert not isinstance(lin.weight, eg.nn.UninitializedParameter) and tuple(lin.weight.shape) == (3, 5)
    p = eg.nn.UninitializedParameter()
    assert isinstance(p, eg.nn.Parameter) and p.requires_grad
