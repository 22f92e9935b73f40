"""Parity with PyTorch for the 1-D layers and the transposed convolutions on random configurations of
their options (drawn per seed: odd sizes, batch 1 and unbatched input, groups, dilation, every padding
form and mode, output_padding, output_size, ceil_mode, return_indices): outputs, indices and every
gradient, float64 to 1e-10 and float32 to 1e-5; PyTorch's weight shapes and initialisation bounds; and
state_dicts loaded both ways."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from eigengrad import nn  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
assert_rel = make_assert_rel(TOL)
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
SEEDS = range(30)
DTYPES = pytest.mark.parametrize("dt", [np.float64, np.float32], ids=["float64", "float32"])


def choice(r, options):
    return options[int(r.integers(len(options)))]


def same_weights(em, tm):
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})


def compare(em, tm, x, dt, what, call=lambda m, x: m(x)):
    """Output(s) and the gradients of the input and of every parameter; x is a NumPy array."""
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = call(em, ex), call(tm, tx)
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(ey[1].numpy(), ty[1].numpy(), err_msg=f"indices {what}")
        ey, ty = ey[0], ty[0]
    assert_rel(ey, ty, dt, f"output {what}")
    g = np.random.default_rng(0).standard_normal(tuple(ty.shape)).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, f"input grad {what}")
    for name, p in tm.named_parameters():
        assert_rel(getattr(em, name).grad, p.grad, dt, f"{name} grad {what}")


def batch_shape(r, channels, *spatial):
    return choice(r, [(1, channels), (3, channels), (channels,)]) + spatial


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@DTYPES
@pytest.mark.parametrize("seed", SEEDS)
def test_conv1d_random_options_match_torch(dt, seed):
    r = np.random.default_rng(seed)
    groups = choice(r, [1, 1, 2, 3])
    cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 4))
    k, d = int(r.integers(1, 6)), choice(r, [1, 1, 2, 3])
    mode = choice(r, ["zeros", "zeros", "reflect", "replicate", "circular"])
    padding = choice(r, [0, 1, 2, "same", "valid"])
    stride = 1 if padding == "same" else choice(r, [1, 2, 3])
    length = d * (k - 1) + int(r.integers(3, 12))  # reflect/circular need the padding within the input
    opts = dict(stride=stride, padding=padding, dilation=d, groups=groups, bias=bool(r.random() < 0.7),
                padding_mode=mode)
    em, tm = nn.Conv1d(cin, cout, k, **opts, dtype=dt), torch.nn.Conv1d(cin, cout, k, **opts, dtype=TORCH_DTYPE[dt])
    same_weights(em, tm)
    x = r.standard_normal(batch_shape(r, cin, length)).astype(dt)
    compare(em, tm, x, dt, f"Conv1d({cin}, {cout}, {k}, {opts}) on {x.shape}")


def draw_transposed(r, dims):
    groups = choice(r, [1, 1, 2, 3])
    cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 4))
    k = tuple(int(r.integers(1, 5)) for _ in range(dims))
    s = tuple(choice(r, [1, 2, 3]) for _ in range(dims))
    d = tuple(choice(r, [1, 1, 2]) for _ in range(dims))
    p = tuple(int(r.integers(0, 3)) for _ in range(dims))
    op = tuple(int(r.integers(0, max(si, di))) for si, di in zip(s, d))
    size = tuple(int(r.integers(1, 6)) for _ in range(dims))
    # keep the output non-empty
    p = tuple(min(pi, ((n - 1) * si + di * (ki - 1) + oi) // 2) for pi, n, si, di, ki, oi in zip(p, size, s, d, k, op))
    opts = dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d, bias=bool(r.random() < 0.7))
    return cin, cout, k, opts, size


@DTYPES
@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose_random_options_match_torch(dt, dims, seed):
    r = np.random.default_rng(100 + seed)
    cin, cout, k, opts, size = draw_transposed(r, dims)
    name = f"ConvTranspose{dims}d"
    em = getattr(nn, name)(cin, cout, k, **opts, dtype=dt)
    tm = getattr(torch.nn, name)(cin, cout, k, **opts, dtype=TORCH_DTYPE[dt])
    assert em.weight.shape == tuple(tm.weight.shape) == (cin, cout // opts["groups"]) + k
    same_weights(em, tm)
    x = r.standard_normal(batch_shape(r, cin, *size)).astype(dt)
    compare(em, tm, x, dt, f"{name}({cin}, {cout}, {k}, {opts}) on {x.shape}")


@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose_output_size_matches_torch(seed):
    r = np.random.default_rng(200 + seed)
    dims = 1 + seed % 2
    cin, cout, k, opts, size = draw_transposed(r, dims)
    opts["output_padding"] = 0
    name = f"ConvTranspose{dims}d"
    em, tm = getattr(nn, name)(cin, cout, k, **opts, dtype=np.float64), getattr(torch.nn, name)(cin, cout, k, **opts,
                                                                                                 dtype=torch.float64)
    same_weights(em, tm)
    x = r.standard_normal((2, cin) + size)
    base = tm(torch.from_numpy(x)).shape[2:]
    want = tuple(b + int(r.integers(0, s)) for b, s in zip(base, opts["stride"]))
    for out_size in (want, (2, cout) + want):
        compare(em, tm, x, np.float64, f"output_size={out_size}", call=lambda m, x: m(x, output_size=out_size))
    too_big = tuple(b + s for b, s in zip(base, opts["stride"]))
    with pytest.raises(ValueError):
        tm(torch.from_numpy(x), output_size=too_big)
    with pytest.raises(ValueError, match="output_size: requested an output size of"):
        em(eg.from_numpy(x), output_size=too_big)


@DTYPES
@pytest.mark.parametrize("seed", SEEDS)
def test_pool1d_random_options_match_torch(dt, seed):
    r = np.random.default_rng(300 + seed)
    c = int(r.integers(1, 4))
    k = int(r.integers(1, 6))
    length = int(r.integers(k * 2, 20))
    x = r.standard_normal(batch_shape(r, c, length)).astype(dt)
    kind = seed % 4
    if kind == 0:
        opts = dict(kernel_size=k, stride=choice(r, [None, 1, 2, 3]), padding=int(r.integers(0, k // 2 + 1)),
                    dilation=choice(r, [1, 2]), ceil_mode=bool(r.random() < 0.5), return_indices=True)
        em, tm = nn.MaxPool1d(**opts), torch.nn.MaxPool1d(**opts)
    elif kind == 1:
        opts = dict(kernel_size=k, stride=choice(r, [None, 1, 2, 3]), padding=int(r.integers(0, k // 2 + 1)),
                    ceil_mode=bool(r.random() < 0.5), count_include_pad=bool(r.random() < 0.5))
        em, tm = nn.AvgPool1d(**opts), torch.nn.AvgPool1d(**opts)
    elif kind == 2:
        opts = dict(output_size=int(r.integers(1, length + 4)))
        em, tm = nn.AdaptiveAvgPool1d(**opts), torch.nn.AdaptiveAvgPool1d(**opts)
    else:
        opts = dict(output_size=int(r.integers(1, length + 4)), return_indices=True)
        em, tm = nn.AdaptiveMaxPool1d(**opts), torch.nn.AdaptiveMaxPool1d(**opts)
    compare(em, tm, x, dt, f"{type(em).__name__}({opts}) on {x.shape}")


@DTYPES
@pytest.mark.parametrize("seed", range(12))
def test_adaptive_max_pool2d_random_sizes_match_torch(dt, seed):
    r = np.random.default_rng(400 + seed)
    h, w = int(r.integers(1, 12)), int(r.integers(1, 12))
    size = (choice(r, [None, 1, int(r.integers(1, h + 3))]), int(r.integers(1, w + 3)))
    x = r.standard_normal(choice(r, [(1, 2, h, w), (3, 1, h, w), (2, h, w)])).astype(dt)
    em, tm = nn.AdaptiveMaxPool2d(size, return_indices=True), torch.nn.AdaptiveMaxPool2d(size, return_indices=True)
    compare(em, tm, x, dt, f"AdaptiveMaxPool2d({size}) on {x.shape}")


@pytest.mark.parametrize("name,args", [("Conv1d", (4, 6, 3)), ("ConvTranspose1d", (4, 6, 3)),
                                       ("ConvTranspose2d", (4, 6, (3, 2)))])
def test_state_dict_loads_both_ways(rng, name, args):
    kw = dict(stride=2, groups=2)
    tm = getattr(torch.nn, name)(*args, **kw, dtype=torch.float64)
    em = getattr(nn, name)(*args, **kw, dtype=np.float64)
    x = rng.standard_normal((2, 4) + (7,) * (2 if name.endswith("2d") else 1))
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert_rel(em(eg.from_numpy(x)), tm(torch.from_numpy(x)), np.float64, "torch -> eigengrad")
    em2, tm2 = getattr(nn, name)(*args, **kw, dtype=np.float64), getattr(torch.nn, name)(*args, **kw, dtype=torch.float64)
    tm2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em2.state_dict().items()})
    assert list(em2.state_dict()) == list(tm2.state_dict()) == ["weight", "bias"]
    assert_rel(em2(eg.from_numpy(x)), tm2(torch.from_numpy(x)), np.float64, "eigengrad -> torch")


@pytest.mark.parametrize("name,args", [("Conv1d", (32, 48, 5, 1, 0, 1, 2)), ("ConvTranspose1d", (32, 48, 5, 1, 0, 0, 2)),
                                       ("ConvTranspose2d", (64, 32, 4, 2, 1, 0, 2))])
def test_initialisation_bounds_are_torchs(name, args):
    eg.manual_seed(0)
    em, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert em.weight.shape == tuple(tm.weight.shape) and em.bias.shape == tuple(tm.bias.shape)
    fan_in = tm.weight.shape[1] * math.prod(tm.weight.shape[2:])  # torch's fan: weight.size(1) * receptive field
    bound = 1 / math.sqrt(fan_in)
    for p, tp in ((em.weight, tm.weight), (em.bias, tm.bias)):
        assert np.abs(p.detach().numpy()).max() <= bound and np.abs(tp.detach().numpy()).max() <= bound
    a = np.abs(em.weight.detach().numpy())  # 3840 to 16384 values of U[-bound, bound]
    assert a.max() > 0.99 * bound and abs(a.mean() - bound / 2) < 0.05 * bound
