"""Normalisation layers and their functional forms: gradcheck (float64) of every layer in training and
eval mode with respect to input, weight and bias; BatchNorm's running statistics, modes, buffers and
errors; LayerNorm, GroupNorm, LocalResponseNorm options and errors; weight_norm; forward hooks."""
import copy

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd import gradcheck


def t64(rng, *shape, offset=0.0, requires_grad=True):
    return eg.tensor(rng.standard_normal(shape) + offset, requires_grad=requires_grad)


# --- gradcheck --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4), (2, 3, 2, 3)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_gradcheck(rng, shape, training):
    c = shape[1]
    x = t64(rng, *shape, offset=0.3)
    w = eg.tensor(rng.uniform(0.5, 1.5, c), requires_grad=True)
    b = t64(rng, c)
    rm, rv = eg.tensor(rng.standard_normal(c)), eg.tensor(rng.uniform(0.5, 2, c))
    if training:  # batch statistics; no running statistics, so every evaluation is the same function
        assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    else:
        assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b))


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (3, 3, 2)), (nn.BatchNorm2d, (2, 3, 2, 2))])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_module_gradcheck(rng, cls, shape, training):
    m = cls(3).double()
    m.weight._data[...] = rng.uniform(0.5, 1.5, 3)
    m.bias._data[...] = rng.standard_normal(3)
    m.running_mean._data[...] = rng.standard_normal(3)
    m.running_var._data[...] = rng.uniform(0.5, 2, 3)
    m.train(training)
    x = t64(rng, *shape)
    # in training every call also updates the running statistics, which the output does not read
    assert gradcheck(lambda x, w, b: m(x), (x, m.weight, m.bias))


@pytest.mark.parametrize("shape,ns", [((3, 4), (4,)), ((2, 3, 4), (4,)), ((2, 3, 2), (3, 2))])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_gradcheck(rng, shape, ns, affine):
    x = t64(rng, *shape, offset=0.5)
    w = eg.tensor(rng.uniform(0.5, 1.5, ns), requires_grad=True) if affine != "none" else None
    b = t64(rng, *ns) if affine == "both" else None
    inputs = tuple(t for t in (x, w, b) if t is not None)

    def fn(*args):
        it = iter(args[1:])
        return F.layer_norm(args[0], ns, next(it) if w is not None else None, next(it) if b is not None else None)
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("shape,groups", [((2, 4, 3), 2), ((3, 6), 3), ((2, 4, 2, 2), 1), ((2, 4, 2), 4)])
def test_group_norm_gradcheck(rng, shape, groups):
    c = shape[1]
    x = t64(rng, *shape, offset=-0.2)
    w = eg.tensor(rng.uniform(0.5, 1.5, c), requires_grad=True)
    b = t64(rng, c)
    assert gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), (x, w, b))
    m = nn.GroupNorm(groups, c).double()
    assert gradcheck(lambda x, w, b: m(x), (x, m.weight, m.bias))


@pytest.mark.parametrize("shape,size", [((2, 5, 3), 3), ((1, 4, 2, 2), 2), ((2, 3, 2), 5), ((2, 4, 1), 1)])
def test_local_response_norm_gradcheck(rng, shape, size):
    x = t64(rng, *shape)
    assert gradcheck(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.2), (x,))
    assert gradcheck(lambda x: nn.LocalResponseNorm(size, alpha=2.0, beta=0.4, k=0.7)(x), (x,))


# --- BatchNorm: running statistics, modes, buffers ---------------------------------------------------

def test_batch_norm_buffers_and_state_dict_keys():
    m = nn.BatchNorm1d(4)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert m.num_batches_tracked.dtype == np.int64 and m.num_batches_tracked.shape == ()
    np.testing.assert_array_equal(m.weight.detach().numpy(), 1)
    np.testing.assert_array_equal(m.bias.detach().numpy(), 0)
    np.testing.assert_array_equal(m.running_var.numpy(), 1)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert list(nn.BatchNorm2d(3, affine=False).state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm2d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert list(nn.BatchNorm1d(3, bias=False).state_dict()) == ["weight", "running_mean", "running_var",
                                                                "num_batches_tracked"]
    assert repr(nn.BatchNorm1d(3)) == ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                                       "track_running_stats=True)")


def test_batch_norm_running_statistics_follow_the_formula(rng):
    m = nn.BatchNorm1d(3, momentum=0.2).double()
    mean, var = np.zeros(3), np.ones(3)
    for step in range(1, 6):
        x = rng.standard_normal((7, 3, 4)) * 2 + 1
        m(eg.tensor(x))
        xs = x.transpose(1, 0, 2).reshape(3, -1)
        mean = 0.8 * mean + 0.2 * xs.mean(axis=1)
        var = 0.8 * var + 0.2 * xs.var(axis=1, ddof=1)
        assert int(m.num_batches_tracked.item()) == step
    np.testing.assert_allclose(m.running_mean.numpy(), mean, rtol=1e-13)
    np.testing.assert_allclose(m.running_var.numpy(), var, rtol=1e-13)


def test_batch_norm_momentum_none_is_the_cumulative_average(rng):
    m = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.standard_normal((5, 2)) * 3 + 2 for _ in range(6)]
    for x in batches:
        m(eg.tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-13)
    np.testing.assert_allclose(m.running_var.numpy(), np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               rtol=1e-13)


def test_batch_norm_eval_uses_the_running_statistics(rng):
    m = nn.BatchNorm2d(3).double()
    for _ in range(3):
        m(t64(rng, 4, 3, 2, 2, offset=1.0, requires_grad=False))
    m.eval()
    snapshot = m.running_mean.numpy().copy(), int(m.num_batches_tracked.item())
    x = rng.standard_normal((2, 3, 2, 2))
    y = m(eg.tensor(x)).detach().numpy()
    rm, rv = m.running_mean.numpy()[:, None, None], m.running_var.numpy()[:, None, None]
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(m.running_mean.numpy(), snapshot[0])  # eval does not update
    assert int(m.num_batches_tracked.item()) == snapshot[1]
    m(eg.tensor(rng.standard_normal((1, 3, 1, 1))))  # a single value per channel is fine in eval mode


def test_batch_norm_without_running_stats_always_uses_the_batch(rng):
    m = nn.BatchNorm1d(3, track_running_stats=False).double().eval()
    x = rng.standard_normal((6, 3)) + 4
    y = m(eg.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)
    assert m.running_mean is None and m.num_batches_tracked is None


def test_batch_norm_affine_false_and_reset(rng):
    m = nn.BatchNorm1d(3, affine=False).double()
    assert m.weight is None and m.bias is None and list(m.parameters()) == []
    m(eg.tensor(rng.standard_normal((4, 3))))
    m.reset_running_stats()
    np.testing.assert_array_equal(m.running_mean.numpy(), 0)
    np.testing.assert_array_equal(m.running_var.numpy(), 1)
    assert int(m.num_batches_tracked.item()) == 0


def test_batch_norm_errors(rng):
    m1, m2 = nn.BatchNorm1d(3), nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input of shape \(N, 3\) or \(N, 3, L\), got 4D"):
        m1(eg.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected .* got 2D input of shape \(2, 4\)"):
        m1(eg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input of shape \(N, 3, H, W\), got 3D"):
        m2(eg.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \(1, 3\)"):
        m1(eg.zeros(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        m2(eg.zeros(1, 3, 1, 1))
    assert int(m1.num_batches_tracked.item()) == 0  # the refused batch is not counted
    with pytest.raises(ValueError, match="num_features: expected a positive int"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(eg.zeros(2, 3), None, None, training=False)
    with pytest.raises(TypeError, match="running_mean: expected dtype float64"):
        F.batch_norm(eg.zeros(2, 3, dtype=eg.float64), eg.zeros(3), eg.ones(3), training=True)


def test_batch_norm_zero_size_batch_in_training():
    m = nn.BatchNorm1d(3)
    x = eg.zeros(0, 3, requires_grad=True)
    y = m(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    np.testing.assert_array_equal(m.weight.grad.numpy(), 0)
    np.testing.assert_array_equal(m.running_mean.numpy(), 0)  # untouched, as in PyTorch
    assert int(m.num_batches_tracked.item()) == 1


def test_batch_norm_float32_module_and_strided_input(rng):
    m = nn.BatchNorm2d(4)
    x = rng.standard_normal((3, 5, 6, 4)).astype(np.float32).transpose(0, 3, 1, 2)  # channels-last memory
    y = m(eg.from_numpy(x))
    assert y.dtype == np.float32
    expected = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_trains_in_a_model(rng):
    """An MLP with BatchNorm1d learns the digits with SGD: the loss goes down, the layer's statistics move."""
    X, yv = eg.datasets.load_digits(return_X_y=True)
    X = (X[:256] / 16).astype(np.float32)
    yv = yv[:256]
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(eg.from_numpy(X)), eg.from_numpy(yv))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    assert int(model[1].num_batches_tracked.item()) == 30
    model.eval()
    acc = (model(eg.from_numpy(X)).argmax(dim=1).numpy() == yv).mean()
    assert acc > 0.9


# --- LayerNorm, GroupNorm, LocalResponseNorm ------------------------------------------------------

def test_layer_norm_module(rng):
    m = nn.LayerNorm((3, 4)).double()
    assert m.normalized_shape == (3, 4) and m.weight.shape == (3, 4)
    assert list(m.state_dict()) == ["weight", "bias"]
    assert repr(m) == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True, bias=True)"
    x = rng.standard_normal((2, 5, 3, 4))
    y = m(eg.tensor(x)).detach().numpy()
    xs = x.reshape(2, 5, 12)
    expected = (xs - xs.mean(-1, keepdims=True)) / np.sqrt(xs.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, expected.reshape(x.shape), rtol=1e-12, atol=1e-13)
    assert nn.LayerNorm(4, bias=False).bias is None
    plain = nn.LayerNorm(4, elementwise_affine=False)
    assert plain.weight is None and list(plain.parameters()) == []
    with pytest.raises(ValueError, match=r"layer_norm: given normalized_shape=\[3, 4\], expected input with shape "
                                         r"\[\*, 3, 4\], got \(2, 4, 3\)"):
        m(eg.zeros(2, 4, 3, dtype=eg.float64))
    with pytest.raises(ValueError, match="weight: expected shape"):
        F.layer_norm(eg.zeros(2, 4), (4,), eg.ones(3))
    assert m(eg.zeros(0, 3, 4, dtype=eg.float64)).shape == (0, 3, 4)


def test_group_norm_module(rng):
    m = nn.GroupNorm(2, 4).double()
    assert repr(m) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert list(m.state_dict()) == ["weight", "bias"]
    x = rng.standard_normal((3, 4, 5))
    y = m(eg.tensor(x)).detach().numpy()
    xg = x.reshape(3, 2, 10)
    expected = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match=r"GroupNorm: expected input of shape \(N, 4, \*\), got \(3, 5\)"):
        m(eg.zeros(3, 5))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(eg.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.group_norm(eg.zeros(4), 2)
    assert m(eg.zeros(0, 4, dtype=eg.float64)).shape == (0, 4)


def test_local_response_norm_module(rng):
    m = nn.LocalResponseNorm(3)
    assert repr(m) == "LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=1.0)"
    with pytest.raises(ValueError, match=r"expected 3D or higher dimensionality input \(got 2 dimensions\)"):
        m(eg.zeros(2, 4))
    empty = eg.zeros(0, 4, 3)
    assert m(empty) is empty  # as PyTorch: an empty input comes back as it is
    with pytest.raises(ValueError, match="size: expected a positive int"):
        nn.LocalResponseNorm(0)


# --- weight_norm ------------------------------------------------------------------------------------

def test_weight_norm_parameters_and_recompute(rng):
    lin = nn.Linear(5, 4).double()
    w0 = lin.weight.detach().numpy().copy()
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):  # PyTorch's deprecation
        m = nn.utils.weight_norm(lin)
    assert m is lin
    assert list(m.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert m.weight_g.shape == (4, 1) and m.weight_v.shape == (4, 5)
    np.testing.assert_allclose(m.weight_g.detach().numpy(), np.linalg.norm(w0, axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_array_equal(m.weight_v.detach().numpy(), w0)
    np.testing.assert_allclose(m.weight.detach().numpy(), w0, rtol=1e-14)
    # the weight follows g and v at every forward
    m.weight_g._data[...] *= 2
    x = eg.tensor(rng.standard_normal((3, 5)))
    np.testing.assert_allclose(m(x).detach().numpy(), x.detach().numpy() @ (2 * w0).T + m.bias.detach().numpy(),
                               rtol=1e-13)


@pytest.mark.parametrize("dim,g_shape", [(0, (4, 1, 1)), (1, (1, 3, 1)), (2, (1, 1, 2)), (-1, ()), (None, ()),
                                         (-2, (1, 3, 1))])
def test_weight_norm_dims(rng, dim, g_shape):
    m = nn.Module()
    v = rng.standard_normal((4, 3, 2))
    m.weight = nn.Parameter(v.copy())
    nn.utils.weight_norm(m, dim=dim)
    assert m.weight_g.shape == g_shape
    if g_shape == ():
        np.testing.assert_allclose(m.weight_g.detach().numpy(), np.linalg.norm(v))
    np.testing.assert_allclose(m.weight.detach().numpy(), v, rtol=1e-14)


def test_weight_norm_gradients_reach_g_and_v(rng):
    m = nn.utils.weight_norm(nn.Linear(3, 2).double())
    x = eg.tensor(rng.standard_normal((4, 3)))
    assert gradcheck(lambda g, v: m(x), (m.weight_g, m.weight_v))
    loss = m(x).sum()
    loss.backward()
    assert m.weight_g.grad is not None and m.weight_v.grad is not None
    # g scales the rows: d loss / d g_i = (v_i / |v_i|) . d loss / d w_i
    v = m.weight_v.detach().numpy()
    dw = np.ones((4, 2)).T @ x.numpy()
    np.testing.assert_allclose(m.weight_g.grad.numpy()[:, 0], (v / np.linalg.norm(v, axis=1, keepdims=True) * dw).sum(1),
                               rtol=1e-12)


def test_remove_weight_norm_and_errors(rng):
    lin = nn.Linear(3, 2).double()
    nn.utils.weight_norm(lin)
    lin.weight_g._data[...] = 3.0
    w = lin.weight_v.detach().numpy() / np.linalg.norm(lin.weight_v.detach().numpy(), axis=1, keepdims=True) * 3
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        nn.utils.weight_norm(lin)
    nn.utils.remove_weight_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]
    assert isinstance(lin.weight, nn.Parameter)
    np.testing.assert_allclose(lin.weight.detach().numpy(), w, rtol=1e-14)
    assert not lin._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(lin)
    with pytest.raises(ValueError, match="has no parameter named 'kernel'"):
        nn.utils.weight_norm(nn.Linear(2, 2), name="kernel")


def test_weight_norm_in_training_and_deepcopy(rng):
    eg.manual_seed(0)
    model = nn.Sequential(nn.utils.weight_norm(nn.Linear(4, 8)), nn.Tanh(), nn.Linear(8, 1)).double()
    opt = eg.optim.SGD(model.parameters(), lr=0.05)
    x, y = eg.tensor(rng.standard_normal((32, 4))), eg.tensor(rng.standard_normal((32, 1)))
    first = F.mse_loss(model(x), y).item()
    for _ in range(50):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    assert F.mse_loss(model(x), y).item() < first
    clone = copy.deepcopy(model)
    np.testing.assert_allclose(clone(x).detach().numpy(), model(x).detach().numpy())


# --- forward hooks ----------------------------------------------------------------------------------

def test_forward_pre_hooks_and_forward_hooks():
    m = nn.Identity()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", args[0].item())))
    h2 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h3 = m.register_forward_hook(lambda mod, args, out: out + 1)
    assert m(eg.tensor(3.0)).item() == 7.0
    assert calls == [("pre", 3.0)]
    h2.remove()
    assert m(eg.tensor(3.0)).item() == 4.0
    h3.remove()
    h1.remove()
    assert m(eg.tensor(3.0)).item() == 3.0 and len(calls) == 2
    first = m.register_forward_pre_hook(lambda mod, args: calls.append("second"))
    m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    m(eg.tensor(1.0))
    assert calls[-2:] == ["first", "second"]
    first.remove()
    with pytest.raises(TypeError, match="hook: expected a callable"):
        m.register_forward_hook(3)
    with m.register_forward_hook(lambda mod, args, out: out * 0) as handle:
        assert m(eg.tensor(5.0)).item() == 0.0
    assert handle.id not in m._forward_hooks


def test_batch_norm_state_survives_save_and_load(tmp_path, rng):
    """num_batches_tracked is a 0-d int64 buffer: it must come back 0-d from eg.save / eg.load."""
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    for _ in range(3):
        model(eg.tensor(rng.standard_normal((5, 3)).astype(np.float32)))
    eg.save(model.state_dict(), tmp_path / "bn.safetensors")
    state = eg.load(tmp_path / "bn.safetensors")
    assert state["1.num_batches_tracked"].shape == () and state["1.num_batches_tracked"].dtype == np.int64
    clone = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    clone.load_state_dict(state)
    assert int(clone[1].num_batches_tracked.item()) == 3
    np.testing.assert_array_equal(clone[1].running_var.numpy(), model[1].running_var.numpy())


@pytest.mark.parametrize("make,shape", [(lambda: nn.LayerNorm(3), (2, 4, 3)), (lambda: nn.GroupNorm(2, 4), (3, 4, 2)),
                                        (lambda: nn.LocalResponseNorm(3, alpha=0.5), (2, 4, 3))],
                         ids=["LayerNorm", "GroupNorm", "LocalResponseNorm"])
def test_other_norm_layers_gradcheck_in_eval_mode(rng, make, shape):
    """LayerNorm, GroupNorm and LocalResponseNorm have no mode-dependent state: eval is the same function."""
    m = make().double()
    params = list(m.parameters())
    for p in params:
        p._data[...] = rng.uniform(0.5, 1.5, p.shape)
    x = t64(rng, *shape)
    m.eval()
    y_eval = m(x).detach().numpy()
    assert gradcheck(lambda x, *ps: m(x), (x, *params))
    m.train()
    np.testing.assert_array_equal(m(x).detach().numpy(), y_eval)
