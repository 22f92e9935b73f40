"""Regressions from differential fuzzing against PyTorch 2.13 (Conv2d/pooling/pad/fold and the activations):
second derivatives at the kinks (ELU/SELU/CELU at 0, Softplus at the threshold, PReLU at 0), in-place Mish,
the exception types of too-small inputs (PyTorch's RuntimeError), reflect/replicate padding to an empty
output, and avg_pool2d's negative ``divisor_override``. Each test asserts literal values, and compares with
torch (float64, 1e-10) when it is importable."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn

try:
    import torch
    TF = torch.nn.functional
except ImportError:  # the literal checks still run
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is needed for the parity half of this check")


def _second(fn, x, **kw):
    """(f'(x), d/dx sum f'(x)) with eigengrad, x a float64 array."""
    e = eg.tensor(x, requires_grad=True)
    g, = eg.autograd.grad(fn(e, **kw).sum(), e, create_graph=True)
    g2, = eg.autograd.grad(g.sum(), e)
    return g.detach().numpy(), g2.detach().numpy()


def _second_torch(fn, x, **kw):
    t = torch.tensor(x, requires_grad=True)
    g, = torch.autograd.grad(fn(t, **kw).sum(), t, create_graph=True)
    g2, = torch.autograd.grad(g.sum(), t)
    return g.detach().numpy(), g2.numpy()


def _close(a, b, tol=1e-10):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= tol * max(np.max(np.abs(b)), 1.0), (a, b)


X_KINK = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])

# the second derivative at x = 0 is 0 (PyTorch's elu_double_backward masks x < 0); it was alpha*scale*s^2
ELU_CASES = [("elu", {"alpha": 1.0}, [np.exp(-2.0), np.exp(-0.5), 0.0, 0.0, 0.0]),
             ("celu", {"alpha": 2.0}, [np.exp(-1.0) / 2, np.exp(-0.25) / 2, 0.0, 0.0, 0.0]),
             ("selu", {}, [1.0507009873554805 * 1.6732632423543772 * np.exp(-2.0),
                           1.0507009873554805 * 1.6732632423543772 * np.exp(-0.5), 0.0, 0.0, 0.0])]


@pytest.mark.parametrize("name,kw,expected", ELU_CASES, ids=[c[0] for c in ELU_CASES])
def test_elu_family_second_derivative_is_zero_at_zero(name, kw, expected):
    g, g2 = _second(getattr(F, name), X_KINK, **kw)
    _close(g2, expected)
    if torch is not None:
        tg, tg2 = _second_torch(getattr(TF, name), X_KINK, **kw)
        _close(g, tg)
        _close(g2, tg2)


@pytest.mark.parametrize("beta,threshold", [(1.0, 1.0), (2.0, 1.0), (-1.0, 2.0)])
def test_softplus_second_derivative_is_zero_at_the_threshold(beta, threshold):
    """beta x == threshold: f' = sigmoid (the kernel's > threshold test), but f'' = 0 (PyTorch's x < threshold)."""
    x = np.array([-0.5, 0.0, threshold / beta, 3.0 * threshold / abs(beta)])
    g, g2 = _second(F.softplus, x, beta=beta, threshold=threshold)
    s = 1 / (1 + np.exp(-threshold))
    assert g[2] == pytest.approx(s, rel=1e-14) and g2[2] == 0.0
    s0 = 1 / (1 + np.exp(0.5 * beta))
    assert g2[0] == pytest.approx(beta * s0 * (1 - s0), rel=1e-12)
    if torch is not None:
        tg, tg2 = _second_torch(TF.softplus, x, beta=beta, threshold=threshold)
        _close(g, tg)
        _close(g2, tg2)


def test_prelu_second_order_excludes_zero_inputs():
    """d(dx . h)/dw sums g h over x < 0 only (x = 0 takes the slope w in dx, as a constant): -1, not 5."""
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    g, h = np.array([[1.0, 2, 3, 4, 5]]), np.array([[1.0, -1, 2, -2, 3]])

    def run(lib, fn):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(np.array([0.3]), requires_grad=True)
        gx, gw = lib.autograd.grad(fn(xt, wt), [xt, wt], lib.tensor(g), create_graph=True)
        d_x, d_w = lib.autograd.grad((gx * lib.tensor(h)).sum() + 3 * gw.sum(), [xt, wt])
        return [np.asarray(v.detach().numpy() if hasattr(v, "detach") else v.numpy()) for v in (gx, gw, d_x, d_w)]

    gx, gw, d_x, d_w = run(eg, F.prelu)
    _close(gx, [[0.3, 0.6, 0.9, 4.0, 5.0]])
    _close(gw, [-3.0])
    _close(d_w, [-1.0])  # g h over x < 0: 1 * 1 + 2 * (-1)
    _close(d_x, [[3.0, 6.0, 0.0, 0.0, 0.0]])  # 3 g over x < 0 (from dw = sum g x)
    if torch is not None:
        for a, b in zip((gx, gw, d_x, d_w), run(torch, TF.prelu)):
            _close(a, b)


def test_mish_inplace_backward():
    """Mish(inplace=True) on a non-leaf: the backward used to fail autograd's version check."""
    x = np.array([-1.0, 0.5, 2.0, -40.0])
    e = eg.tensor(x, requires_grad=True)
    y = nn.Mish(inplace=True)(e * 1.0)
    y.sum().backward()
    e2 = eg.tensor(x, requires_grad=True)
    F.mish(e2).sum().backward()
    _close(y.detach().numpy(), F.mish(eg.tensor(x)).detach().numpy())
    _close(e.grad.numpy(), e2.grad.numpy())
    assert e.grad.numpy()[0] == pytest.approx(0.05921676, abs=1e-7)
    plain = eg.tensor(x.copy())
    F.mish(plain, inplace=True)  # no autograd: written in place
    _close(plain.detach().numpy(), y.detach().numpy())
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        ty = torch.nn.Mish(inplace=True)(t * 1.0)
        ty.sum().backward()
        _close(y.detach().numpy(), ty.detach().numpy())
        _close(e.grad.numpy()[:3], t.grad.numpy()[:3])


TOO_SMALL = [
    ("conv2d", lambda lib: lib.nn.functional.conv2d(lib.zeros(1, 1, 2, 7), lib.zeros(1, 1, 3, 3))),
    ("conv2d-reflect", lambda lib: lib.nn.Conv2d(1, 1, 3, padding=1, dilation=2, padding_mode="reflect")(
        lib.zeros(1, 1, 2, 7))),
    ("max_pool2d", lambda lib: lib.nn.functional.max_pool2d(lib.zeros(1, 1, 2, 7), 3)),
    ("avg_pool2d", lambda lib: lib.nn.functional.avg_pool2d(lib.zeros(1, 1, 2, 7), 3)),
    ("lp_pool2d", lambda lib: lib.nn.functional.lp_pool2d(lib.zeros(1, 1, 2, 7), 2.0, 3)),
    ("pad-replicate", lambda lib: lib.nn.functional.pad(lib.zeros(2, 1), (1, -2), mode="replicate")),
    ("pad-reflect", lambda lib: lib.nn.functional.pad(lib.zeros(1, 3, 2), (-1, -1), mode="reflect")),
    ("pad-replicate-2d", lambda lib: lib.nn.functional.pad(lib.zeros(1, 2, 3), (-2, -1, -1, -1), mode="replicate")),
]


@pytest.mark.parametrize("name,call", TOO_SMALL, ids=[c[0] for c in TOO_SMALL])
def test_too_small_input_raises_runtime_error(name, call):
    """PyTorch raises RuntimeError; eigengrad raised ValueError (conv/pool geometry) or returned an empty
    tensor (reflect/replicate padding to a size-0 output). Now ArgumentError: a RuntimeError and a ValueError."""
    with pytest.raises(RuntimeError, match="too small|larger than|does not fit") as info:
        call(eg)
    assert isinstance(info.value, ValueError)
    if torch is not None:
        with pytest.raises(RuntimeError):
            call(torch)


def test_replicate_pad_to_one_empty_dim_is_allowed():
    """PyTorch only rejects 2-D replicate padding when every padded dim's output is empty."""
    x = np.arange(6.0).reshape(1, 2, 3)
    y = F.pad(eg.tensor(x), (1, -1, -1, -1), mode="replicate")
    assert y.shape == (1, 0, 3)
    y = F.pad(eg.tensor(x), (1, -1, 0, 0), mode="replicate")
    _close(y.numpy(), [[[0.0, 0.0, 1.0], [3.0, 3.0, 4.0]]])


def test_avg_pool2d_negative_divisor_override():
    """PyTorch divides by a negative divisor_override (only 0 is rejected); eigengrad rejected any d < 0."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    e = eg.tensor(x, requires_grad=True)
    y = nn.AvgPool2d(2, divisor_override=-2)(e)
    _close(y.detach().numpy(), [[[[-5.0, -9.0], [-21.0, -25.0]]]])
    y.backward(eg.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])))
    _close(e.grad.numpy()[0, 0, :2, :2], [[-0.5, -0.5], [-0.5, -0.5]])
    _close(e.grad.numpy()[0, 0, 2:, 2:], [[-2.0, -2.0], [-2.0, -2.0]])
    with pytest.raises(RuntimeError, match="not zero"):
        F.avg_pool2d(eg.tensor(x), 2, divisor_override=0)
    with pytest.raises(TypeError, match="must be int"):
        F.avg_pool2d(eg.tensor(x), 2, divisor_override=2.5)
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        ty = torch.nn.AvgPool2d(2, divisor_override=-2)(t)
        ty.backward(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64))
        _close(y.detach().numpy(), ty.detach().numpy())
        _close(e.grad.numpy(), t.grad.numpy())


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_random_conv2d_configs_match_torch():
    """A few dozen random Conv2d configurations (strides, paddings incl. 'same'/'valid', padding modes,
    dilations, groups, no bias, unbatched input): outputs and the input, weight and bias gradients."""
    rng = np.random.default_rng(8)

    def ri(a, b):
        return int(rng.integers(a, b + 1))

    done = 0
    while done < 30:
        g = int(rng.choice([1, 2, 3]))
        cin, cout = g * ri(1, 2), g * ri(1, 2)
        k = (ri(1, 3), ri(1, 3))
        p = rng.choice(["same", "valid", "int"])
        p = ri(0, 2) if p == "int" else str(p)
        s = 1 if p == "same" else (ri(1, 2), ri(1, 3))
        kw = dict(stride=s, padding=p, dilation=(ri(1, 2), ri(1, 2)), groups=g, bias=bool(rng.random() < 0.7),
                  padding_mode=str(rng.choice(["zeros", "reflect", "replicate", "circular"])))
        shape = (cin, ri(3, 7), ri(3, 7)) if rng.random() < 0.3 else (ri(1, 2), cin, ri(3, 7), ri(3, 7))
        x = rng.standard_normal(shape)
        tm = torch.nn.Conv2d(cin, cout, k, **kw).double()
        t = torch.tensor(x, requires_grad=True)
        try:
            ty = tm(t)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                em = nn.Conv2d(cin, cout, k, dtype=eg.float64, **kw)
                em(eg.tensor(x))
            continue
        em = nn.Conv2d(cin, cout, k, dtype=eg.float64, **kw)
        em.load_state_dict({n: eg.tensor(v.detach().numpy().copy()) for n, v in tm.state_dict().items()})
        e = eg.tensor(x, requires_grad=True)
        ey = em(e)
        up = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(up))
        ey.backward(eg.tensor(up))
        _close(ey.detach().numpy(), ty.detach().numpy())
        _close(e.grad.numpy(), t.grad.numpy())
        _close(em.weight.grad.numpy(), tm.weight.grad.numpy())
        if kw["bias"]:
            _close(em.bias.grad.numpy(), tm.bias.grad.numpy())
        done += 1


def test_celu_with_a_nan_alpha_keeps_the_non_negative_side():
    """torch 2.13: F.celu(tensor([-1., 0., 2., -0.]), nan) is tensor([nan, 0., 2., -0.])."""
    y = F.celu(eg.tensor([-1.0, 0.0, 2.0, -0.0]), float("nan")).numpy()
    assert np.isnan(y[0]) and y[1:].tolist() == [0.0, 2.0, 0.0] and np.signbit(y[3])
