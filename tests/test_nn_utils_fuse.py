"""nn.utils.fuse_conv_bn_eval / fuse_conv_bn_weights / fuse_linear_bn_eval / fuse_linear_bn_weights, skip_init and
the conv weight memory-format helpers, side by side with PyTorch."""
import warnings

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="the fusion helpers are checked against PyTorch")


def _copy_params(t_mod, e_mod):
    for (tn, tp), (en, ep) in zip(t_mod.named_parameters(), e_mod.named_parameters()):
        assert tn == en
        ep._data[...] = tp.detach().numpy()


def _bn_pair(cls_t, cls_e, c, rng, affine=True):
    bt, be = cls_t(c, affine=affine).double(), cls_e(c, affine=affine).double()
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    bt.running_mean.copy_(torch.tensor(rm)), bt.running_var.copy_(torch.tensor(rv))
    be.running_mean._data[...] = rm
    be.running_var._data[...] = rv
    if affine:
        w, b = rng.standard_normal(c), rng.standard_normal(c)
        with torch.no_grad():
            bt.weight.copy_(torch.tensor(w)), bt.bias.copy_(torch.tensor(b))
        be.weight._data[...] = w
        be.bias._data[...] = b
    bt.eps = be.eps = 1e-3
    return bt.eval(), be.eval()


@pytest.mark.parametrize("kind", ["conv1d", "conv2d", "conv3d", "convT2d", "conv2d_nobias"])
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval_matches_torch(kind, affine):
    rng = np.random.default_rng(0)
    dims = {"conv1d": 1, "conv2d": 2, "conv3d": 3, "convT2d": 2, "conv2d_nobias": 2}[kind]
    transpose = kind == "convT2d"
    bias = kind != "conv2d_nobias"
    name = f"ConvTranspose{dims}d" if transpose else f"Conv{dims}d"
    ct = getattr(torch.nn, name)(3, 4, 3, bias=bias).double().eval()
    ce = getattr(eg.nn, name)(3, 4, 3, bias=bias).double().eval()
    _copy_params(ct, ce)
    bn_name = f"BatchNorm{max(dims, 1)}d" if dims > 1 else "BatchNorm1d"
    bt, be = _bn_pair(getattr(torch.nn, bn_name), getattr(eg.nn, bn_name), 4, rng, affine)
    ft = torch.nn.utils.fuse_conv_bn_eval(ct, bt, transpose=transpose)
    fe = eg.nn.utils.fuse_conv_bn_eval(ce, be, transpose=transpose)
    assert type(fe) is type(ce) and fe is not ce
    assert isinstance(fe.weight, eg.nn.Parameter) and isinstance(fe.bias, eg.nn.Parameter)
    np.testing.assert_allclose(fe.weight.detach().numpy(), ft.weight.detach().numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(fe.bias.detach().numpy(), ft.bias.detach().numpy(), rtol=0, atol=1e-15)
    x = rng.standard_normal((2, 3) + (6,) * dims)
    with eg.no_grad():
        ref = be(ce(eg.tensor(x))).numpy()
        out = fe(eg.tensor(x)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    # the original conv is untouched
    np.testing.assert_array_equal(ce.weight.detach().numpy(), ct.weight.detach().numpy())


def test_fuse_linear_bn_eval_matches_torch():
    rng = np.random.default_rng(1)
    lt, le = torch.nn.Linear(5, 4).double().eval(), eg.nn.Linear(5, 4).double().eval()
    _copy_params(lt, le)
    bt, be = _bn_pair(torch.nn.BatchNorm1d, eg.nn.BatchNorm1d, 4, rng)
    ft, fe = torch.nn.utils.fuse_linear_bn_eval(lt, bt), eg.nn.utils.fuse_linear_bn_eval(le, be)
    np.testing.assert_allclose(fe.weight.detach().numpy(), ft.weight.detach().numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(fe.bias.detach().numpy(), ft.bias.detach().numpy(), rtol=0, atol=1e-15)
    x = rng.standard_normal((7, 5))
    with eg.no_grad():
        np.testing.assert_allclose(fe(eg.tensor(x)).numpy(), be(le(eg.tensor(x))).numpy(), rtol=1e-12, atol=1e-12)
    # bn with one feature broadcasts over the outputs
    bt1, be1 = _bn_pair(torch.nn.BatchNorm1d, eg.nn.BatchNorm1d, 1, rng)
    ft1, fe1 = torch.nn.utils.fuse_linear_bn_eval(lt, bt1), eg.nn.utils.fuse_linear_bn_eval(le, be1)
    np.testing.assert_allclose(fe1.weight.detach().numpy(), ft1.weight.detach().numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(fe1.bias.detach().numpy(), ft1.bias.detach().numpy(), rtol=0, atol=1e-15)


def test_fuse_weights_functions_and_dtypes():
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal((4, 3, 2, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    gw, gb = rng.standard_normal(4), rng.standard_normal(4)
    t = [torch.tensor(a) for a in (w, b, rm, rv)]
    e = [eg.tensor(a) for a in (w, b, rm, rv)]
    for bn_w, bn_b in ((gw, gb), (None, None)):
        tw = torch.tensor(bn_w) if bn_w is not None else None
        tb = torch.tensor(bn_b) if bn_b is not None else None
        ew = eg.tensor(bn_w) if bn_w is not None else None
        eb = eg.tensor(bn_b) if bn_b is not None else None
        for conv_b in (True, False):
            rt = torch.nn.utils.fuse_conv_bn_weights(t[0], t[1] if conv_b else None, t[2], t[3], 1e-5, tw, tb)
            re = eg.nn.utils.fuse_conv_bn_weights(e[0], e[1] if conv_b else None, e[2], e[3], 1e-5, ew, eb)
            for a, c in zip(re, rt):
                assert isinstance(a, eg.nn.Parameter)
                assert str(a.dtype).split(".")[-1] == str(c.dtype).split(".")[-1]
                assert a.requires_grad == c.requires_grad
                np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-6, atol=1e-6)
    lw = rng.standard_normal((4, 3))
    rt = torch.nn.utils.fuse_linear_bn_weights(torch.tensor(lw), None, t[2], t[3], 1e-5, torch.tensor(gw),
                                               torch.tensor(gb))
    re = eg.nn.utils.fuse_linear_bn_weights(eg.tensor(lw), None, e[2], e[3], 1e-5, eg.tensor(gw), eg.tensor(gb))
    for a, c in zip(re, rt):
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=0, atol=1e-15)


def test_fuse_errors_match_torch():
    ce, be = eg.nn.Conv2d(2, 3, 1), eg.nn.BatchNorm2d(3)
    ct, bt = torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3)
    for fuse_e, fuse_t, a_e, a_t in ((eg.nn.utils.fuse_conv_bn_eval, torch.nn.utils.fuse_conv_bn_eval, ce, ct),):
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            fuse_e(a_e, be)
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            fuse_t(a_t, bt)
    be_ns = eg.nn.BatchNorm2d(3, track_running_stats=False).eval()
    bt_ns = torch.nn.BatchNorm2d(3, track_running_stats=False).eval()
    msg = "bn.running_mean and bn.running_var must not be None"
    with pytest.raises(AssertionError, match=msg):
        torch.nn.utils.fuse_conv_bn_eval(ct.eval(), bt_ns)
    with pytest.raises(AssertionError, match=msg):
        eg.nn.utils.fuse_conv_bn_eval(ce.eval(), be_ns)
    msg = "linear.out_features == bn.num_features or bn.num_features == 1"
    with pytest.raises(AssertionError, match=msg):
        torch.nn.utils.fuse_linear_bn_eval(torch.nn.Linear(2, 3).eval(), torch.nn.BatchNorm1d(2).eval())
    with pytest.raises(AssertionError, match=msg):
        eg.nn.utils.fuse_linear_bn_eval(eg.nn.Linear(2, 3).eval(), eg.nn.BatchNorm1d(2).eval())


def test_fusion_module_names():
    from eigengrad.nn.utils import fusion

    assert fusion.__all__ == ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
                              "fuse_linear_bn_weights"]
    assert eg.nn.utils.fuse_conv_bn_eval is fusion.fuse_conv_bn_eval


def test_skip_init():
    eg.manual_seed(3)
    first = eg.rand(5).numpy()
    eg.manual_seed(3)
    m = eg.nn.utils.skip_init(eg.nn.Linear, 5, 2)
    assert isinstance(m, eg.nn.Linear) and tuple(m.weight.shape) == (2, 5) and tuple(m.bias.shape) == (2,)
    m2 = eg.nn.utils.skip_init(eg.nn.Linear, in_features=6, out_features=1, bias=False)
    assert tuple(m2.weight.shape) == (1, 6) and m2.bias is None
    np.testing.assert_array_equal(eg.rand(5).numpy(), first)  # skip_init drew nothing from the generator
    assert m.weight.requires_grad and isinstance(m.weight, eg.nn.Parameter)
    # errors, as PyTorch
    with pytest.raises(RuntimeError, match="Expected a Module"):
        eg.nn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        torch.nn.utils.skip_init(int)

    class NoDevice(eg.nn.Module):
        def __init__(self, n):
            super().__init__()

    class NoDeviceT(torch.nn.Module):
        def __init__(self, n):
            super().__init__()

    msg = "Module must support a 'device' arg to skip initialization"
    with pytest.raises(RuntimeError, match=msg):
        eg.nn.utils.skip_init(NoDevice, 1)
    with pytest.raises(RuntimeError, match=msg):
        torch.nn.utils.skip_init(NoDeviceT, 1)


@pytest.mark.parametrize("fmt", ["channels_last", "contiguous_format"])
def test_convert_conv2d_weight_memory_format(fmt):
    rng = np.random.default_rng(4)
    model = eg.nn.Sequential(eg.nn.Conv2d(3, 4, 3), eg.nn.ReLU(),
                             eg.nn.Sequential(eg.nn.ConvTranspose2d(4, 2, 2), eg.nn.Conv3d(1, 1, 1)))
    x = eg.tensor(rng.standard_normal((2, 3, 6, 6)), dtype=eg.float32)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    old_w3 = model[2][1].weight._data
    with eg.no_grad():
        ref = model[:2](x).numpy()
    out_model = eg.nn.utils.convert_conv2d_weight_memory_format(model, getattr(eg, fmt))
    assert out_model is model
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), b)
        assert isinstance(p, eg.nn.Parameter) and p.requires_grad
    assert model[2][1].weight._data is old_w3  # Conv3d is not a 2-d convolution: untouched
    assert model[0].weight.is_contiguous()
    with eg.no_grad():
        np.testing.assert_array_equal(model[:2](x).numpy(), ref)
    # PyTorch: the same module back, same values
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    tb = tm[0].weight.detach().clone()
    assert torch.nn.utils.convert_conv2d_weight_memory_format(tm, getattr(torch, fmt)) is tm
    assert torch.equal(tm[0].weight.detach(), tb)


def test_convert_conv3d_weight_memory_format():
    model = eg.nn.Sequential(eg.nn.Conv3d(2, 3, 1), eg.nn.ConvTranspose3d(3, 1, 1), eg.nn.Conv2d(1, 1, 1))
    old = [m.weight._data for m in model]
    vals = [m.weight.detach().numpy().copy() for m in model]
    assert eg.nn.utils.convert_conv3d_weight_memory_format(model, eg.contiguous_format) is model
    assert model[0].weight._data is not old[0] and model[1].weight._data is not old[1]
    assert model[2].weight._data is old[2]
    for m, v in zip(model, vals):
        np.testing.assert_array_equal(m.weight.detach().numpy(), v)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conv = eg.nn.Conv3d(1, 1, 1)
        assert eg.nn.utils.convert_conv3d_weight_memory_format(conv, eg.contiguous_format) is conv
