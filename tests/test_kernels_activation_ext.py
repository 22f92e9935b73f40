"""LeakyReLU, ELU, SELU, GELU (erf and tanh), Softplus, PReLU and Maxout kernels against
eigengrad.reference (float64 oracle), binding checks, gradcheck in float64, and the modules."""
import math

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad._kernels import _C
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd import gradcheck

SHAPES = [(0,), (1,), (7,), (13, 31), (1000, 257), (3, 0, 5)]
SHAPE_IDS = ["0", "1", "7", "13x31", "1000x257", "3x0x5"]
SA, SS = ref.activation.SELU_ALPHA, ref.activation.SELU_SCALE

# name -> (kernel kind, kernel params, reference forward, reference backward)
CASES = {
    "leaky_relu": ("leaky_relu", (0.01,), lambda x: ref.leaky_relu_forward(x, 0.01),
                   lambda g, x: ref.leaky_relu_backward(g, x, 0.01)),
    "leaky_relu_0.2": ("leaky_relu", (0.2,), lambda x: ref.leaky_relu_forward(x, 0.2),
                       lambda g, x: ref.leaky_relu_backward(g, x, 0.2)),
    "elu": ("elu", (1.0, 1.0, 1.0), ref.elu_forward, ref.elu_backward),
    "elu_0.5": ("elu", (0.5, 1.0, 1.0), lambda x: ref.elu_forward(x, 0.5), lambda g, x: ref.elu_backward(g, x, 0.5)),
    "selu": ("elu", (SA, SS, 1.0), ref.selu_forward, ref.selu_backward),
    "gelu": ("gelu", (False,), ref.gelu_forward, ref.gelu_backward),
    "gelu_tanh": ("gelu", (True,), lambda x: ref.gelu_forward(x, "tanh"), lambda g, x: ref.gelu_backward(g, x, "tanh")),
    "softplus": ("softplus", (1.0, 20.0), ref.softplus_forward, ref.softplus_backward),
    "softplus_b2_t5": ("softplus", (2.0, 5.0), lambda x: ref.softplus_forward(x, 2.0, 5.0),
                       lambda g, x: ref.softplus_backward(g, x, 2.0, 5.0)),
}


def f64(a):
    return a.astype(np.float64)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("name", list(CASES))
def test_forward_and_backward_match_reference(rng, dtype, name, shape):
    kind, params, fwd, bwd = CASES[name]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = K.unary_forward(kind, x, *params)
    assert y.dtype == np.dtype(dtype) and y.shape == shape
    assert_close(y, fwd(f64(x)), dtype)
    gx = K.unary_backward(kind, g, x, *params)
    assert gx.dtype == np.dtype(dtype) and gx.shape == shape
    assert_close(gx, bwd(f64(g), f64(x)), dtype, scale=max(float(np.max(np.abs(g), initial=0)), 1e-30))


@pytest.mark.parametrize("name", list(CASES))
def test_wide_range_and_special_points(dtype, name):
    kind, params, fwd, bwd = CASES[name]
    x = np.concatenate([np.linspace(-60, 60, 4001), [-1e3, -1e-8, -0.0, 0.0, 1e-8, 19.99, 20.0, 20.01, 1e3]])
    x = x.astype(dtype)
    y = K.unary_forward(kind, x, *params)
    assert np.all(np.isfinite(y))
    exp = fwd(f64(x))
    # elementwise relative, not only relative to the largest value
    err = np.abs(f64(y) - exp) / np.maximum(np.abs(exp), 1e-3 if dtype == np.float32 else 1e-10)
    assert err.max() <= (2e-5 if dtype == np.float32 else 1e-12), (x[err.argmax()], y[err.argmax()], exp[err.argmax()])
    gx = K.unary_backward(kind, np.ones_like(x), x, *params)
    assert np.all(np.isfinite(gx))
    assert_close(gx, bwd(np.ones_like(exp), f64(x)), dtype)


@pytest.mark.parametrize("name", list(CASES))
def test_non_contiguous_inputs_and_in_place(rng, dtype, name):
    kind, params, fwd, bwd = CASES[name]
    base = (rng.standard_normal((40, 90)) * 3).astype(dtype)
    for x in (base[::2, ::3], base.T, np.asfortranarray(base[:13, :31]), base[::-1, ::-2]):
        y = K.unary_forward(kind, x, *params)
        np.testing.assert_array_equal(y, K.unary_forward(kind, np.ascontiguousarray(x), *params))
        g = rng.standard_normal(x.shape).astype(dtype).T.copy().T
        np.testing.assert_array_equal(K.unary_backward(kind, g, x, *params),
                                      K.unary_backward(kind, np.ascontiguousarray(g), np.ascontiguousarray(x), *params))
    x = base.copy()
    expect = K.unary_forward(kind, x, *params)
    getattr(_C, f"{kind}_forward")(x, x, *params)
    np.testing.assert_array_equal(x, expect)


def test_results_do_not_depend_on_alignment_or_threads(rng, dtype, restore_threads):
    buf = (rng.standard_normal(70_001) * 4).astype(dtype)
    for name, (kind, params, _, _) in CASES.items():
        a = K.unary_forward(kind, buf[1:], *params)
        b = K.unary_forward(kind, buf[:-1].copy() * 0 + buf[1:], *params)  # a fresh (aligned) buffer
        np.testing.assert_array_equal(a, b, err_msg=name)
        eg.set_num_threads(1)
        c = K.unary_forward(kind, buf[1:], *params)
        eg.set_num_threads(2)
        np.testing.assert_array_equal(a, c, err_msg=name)


def test_binding_checks():
    x = np.ones(4, np.float32)
    with pytest.raises(TypeError, match=r"^out: expected dtype float32"):
        _C.gelu_forward(x, np.empty(4), False)
    with pytest.raises(TypeError, match=r"^x: expected dtype float64 \(the dtype of grad_out\)"):
        _C.elu_backward(np.ones(4), x, np.empty(4), 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"^grad_in: must be grad_out itself"):
        buf = np.zeros(8)
        _C.softplus_backward(buf[:4], np.ones(4), buf[2:6], 1.0, 20.0)
    with pytest.raises(ValueError, match=r"^weight: expected 1 or 3 elements"):
        _C.prelu_forward(np.ones((2, 3, 4)), np.ones(2), np.empty((2, 3, 4)))
    with pytest.raises(ValueError, match=r"^idx: expected piece indices in \[0, 3\), got 3"):
        _C.maxout_backward(np.ones(2), np.array([0, 3]), np.empty((2, 3)))
    with pytest.raises(ValueError, match=r"^z: expected at least one piece"):
        _C.maxout_forward(np.ones((2, 0)), np.empty(2), np.empty(2, np.int64))


# --- PReLU -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,nw", [((5, 7), 7), ((5, 7), 1), ((4, 3, 5, 6), 3), ((4, 3, 5, 6), 1), ((13,), 1),
                                      ((0, 3, 2), 3), ((128, 512), 512), ((3, 64, 9, 9), 64)])
def test_prelu_kernel_matches_reference(rng, dtype, shape, nw):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-0.5, 0.5, nw).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    from eigengrad.autograd.ops_activation import _as3d
    s3 = _as3d(shape, nw == 1)
    y = K.prelu_forward(x.reshape(s3), w).reshape(shape)
    assert_close(y, ref.prelu_forward(f64(x), f64(w)), dtype)
    gx, gw = K.prelu_backward(g.reshape(s3), x.reshape(s3), w)
    gx_ref, gw_ref = ref.prelu_backward(f64(g), f64(x), f64(w))
    assert_close(gx.reshape(shape), gx_ref, dtype)
    assert_close(gw, gw_ref, dtype)


def test_prelu_weight_gradient_is_thread_independent(rng, restore_threads):
    x = rng.standard_normal((64, 3, 40, 40)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out = []
    for threads in (1, 2):
        eg.set_num_threads(threads)
        for nw, s3 in ((1, (1, 1, x.size)), (3, (64, 3, 1600))):
            out.append(K.prelu_backward(g.reshape(s3), x.reshape(s3), np.full(nw, 0.25, np.float32))[1])
    for a, b in zip(out[:2], out[2:]):
        np.testing.assert_array_equal(a, b)


def test_prelu_module():
    m = nn.PReLU(3)
    assert m.weight.shape == (3,) and m.weight.dtype == np.float32
    np.testing.assert_array_equal(m.weight.detach().numpy(), 0.25)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    x = eg.tensor(np.array([[[-2.0]], [[1.0]], [[-4.0]]]).reshape(1, 3, 1), dtype=eg.float32)
    y = m(x)
    np.testing.assert_array_equal(y.detach().numpy().ravel(), [-0.5, 1.0, -1.0])
    y.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy(), [-2.0, 0.0, -4.0])
    with pytest.raises(ValueError, match=r"^weight: expected 1 element or one per channel \(3"):
        nn.PReLU(4)(x)
    with pytest.raises(ValueError, match=r"^num_parameters"):
        nn.PReLU(0)


# --- Maxout ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,pieces", [((5, 12), 3), ((1, 1), 1), ((0, 6), 2), ((7, 3, 10), 5), ((128, 1024), 4)])
def test_maxout_kernel_matches_reference(rng, dtype, shape, pieces):
    z = rng.standard_normal(shape).astype(dtype)
    y, idx = K.maxout_forward(z.reshape(-1, pieces))
    y_ref, idx_ref = ref.maxout_forward(z, pieces)
    np.testing.assert_array_equal(y.reshape(y_ref.shape), y_ref)
    np.testing.assert_array_equal(idx.reshape(idx_ref.shape), idx_ref)
    g = rng.standard_normal(y_ref.shape).astype(dtype)
    gz = K.maxout_backward(g.reshape(-1), idx, pieces).reshape(shape)
    np.testing.assert_array_equal(gz, ref.maxout_backward(g, idx_ref, pieces))


def test_maxout_ties_and_nan():
    y, idx = K.maxout_forward(np.array([[1.0, 3.0, 3.0], [np.nan, 5.0, 1.0], [2.0, np.nan, 9.0]]))
    np.testing.assert_array_equal(idx, [1, 0, 1])
    assert y[0] == 3 and np.isnan(y[1]) and np.isnan(y[2])


def test_maxout_module():
    eg.manual_seed(0)
    m = nn.Maxout(10, 4, 3)
    assert m.weight.shape == (12, 10) and m.bias.shape == (12,)
    bound = 1 / math.sqrt(10)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    assert m.weight.detach().numpy().std() > 0.5 * bound / math.sqrt(3)
    x = eg.randn(6, 10)
    z = (x.detach().numpy() @ m.weight.detach().numpy().T + m.bias.detach().numpy()).reshape(6, 4, 3)
    np.testing.assert_allclose(m(x).detach().numpy(), z.max(-1), rtol=1e-6)
    assert "pieces=3" in repr(m)
    with pytest.raises(ValueError, match=r"^pieces: expected an int >= 1"):
        nn.Maxout(3, 2, 0)
    with pytest.raises(ValueError, match=r"^input: the last dim must be a multiple of pieces=4"):
        F.maxout(eg.ones(2, 6), 4)


# --- gradcheck (float64) and the functional / module API -------------------------------------------

FUNCS = {
    "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
    "elu": lambda t: F.elu(t, 0.7),
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "softplus": F.softplus,
    "softplus_beta": lambda t: F.softplus(t, beta=3.0, threshold=2.0),
    "maxout": lambda t: F.maxout(t, 3),
}


@pytest.mark.parametrize("name", list(FUNCS))
def test_gradcheck(name):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6)) * 2
    x[np.abs(x) < 0.05] += 0.2  # away from the kinks
    if name == "softplus_beta":
        x[np.abs(3 * x - 2) < 0.05] += 0.1
    assert gradcheck(FUNCS[name], (eg.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("nw", [1, 3])
def test_prelu_gradcheck(nw):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4))
    x[np.abs(x) < 0.05] += 0.2
    w = eg.tensor(rng.uniform(0.1, 0.4, nw), requires_grad=True)
    assert gradcheck(F.prelu, (eg.tensor(x, requires_grad=True), w))


def test_maxout_module_gradcheck():
    eg.manual_seed(1)
    m = nn.Maxout(5, 2, 3).double()
    x = eg.tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    assert gradcheck(lambda t, w, b: F.maxout(F.linear(t, w, b), 3), (x, m.weight, m.bias))


def test_modules_and_defaults():
    x = eg.tensor(np.linspace(-3, 3, 13))
    cases = [
        (nn.LeakyReLU(), ref.leaky_relu_forward(x.numpy(), 0.01)),
        (nn.LeakyReLU(0.2, inplace=True), ref.leaky_relu_forward(x.numpy(), 0.2)),
        (nn.ELU(), ref.elu_forward(x.numpy())),
        (nn.ELU(alpha=2.0), ref.elu_forward(x.numpy(), 2.0)),
        (nn.SELU(), ref.selu_forward(x.numpy())),
        (nn.GELU(), ref.gelu_forward(x.numpy())),
        (nn.GELU("tanh"), ref.gelu_forward(x.numpy(), "tanh")),
        (nn.Softplus(), ref.softplus_forward(x.numpy())),
        (nn.Softplus(beta=2, threshold=3), ref.softplus_forward(x.numpy(), 2.0, 3.0)),
    ]
    for m, expected in cases:  # a copy each: inplace=True writes into its input, as PyTorch's
        assert_close(m(x.clone()).numpy(), expected, np.float64)
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    with pytest.raises(ValueError, match=r"^approximate: expected 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match=r"^approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match=r"^input: expected an eigengrad Tensor"):
        F.elu(np.ones(3))
    from eigengrad.nn.modules.activation import GELU
    assert GELU is nn.GELU


def test_selu_constants_and_fixed_point():
    x = eg.tensor(np.random.default_rng(0).standard_normal(10**6))
    y = F.selu(x).numpy()
    assert abs(y.mean()) < 5e-3 and abs(y.var() - 1) < 5e-3
