"""nn.Conv2d, the pooling layers and their functional forms: values against the NumPy reference,
gradcheck in float64 (conv, every padding mode, every pooling), PyTorch's initialisation bounds, argument
forms ('same', 'valid', tuples, unbatched input) and the errors that name the bad argument."""
import math

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck
from eigengrad.nn._functional_conv import conv_padding


def t(rng, *shape, dtype=np.float64, grad=True):
    return eg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


# --- values and gradients through the layers ---------------------------------------------------------

@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (2, 1), (2, 1), 1), (1, "same", 1, 2), (1, "same", 2, 1), (1, "valid", 1, 4),
    (3, 2, 1, 4),
])
def test_conv2d_layer_matches_reference(rng, dtype, stride, padding, dilation, groups):
    m = nn.Conv2d(4, 8, (3, 2), stride=stride, padding=padding, dilation=dilation, groups=groups, dtype=dtype)
    x = t(rng, 3, 4, 11, 10, dtype=dtype)
    y = m(x)
    s = m.stride
    pad = conv_padding(padding, m.kernel_size, s, m.dilation)
    opts = (s, pad, m.dilation, groups)
    x64, w64, b64 = (a.detach().numpy().astype(np.float64) for a in (x, m.weight, m.bias))
    assert_close(y.detach().numpy(), ref.conv2d_forward(x64, w64, b64, *opts), dtype)
    if padding == "same":
        assert y.shape[2:] == x.shape[2:]
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(eg.from_numpy(g))
    ri, rw, rb = ref.conv2d_backward(g.astype(np.float64), x64, w64, *opts)
    assert_close(x.grad.numpy(), ri, dtype)
    assert_close(m.weight.grad.numpy(), rw, dtype)
    assert_close(m.bias.grad.numpy(), rb, dtype)


def test_conv2d_gradcheck(rng):
    x, w, b = t(rng, 2, 4, 6, 5), t(rng, 6, 2, 3, 2), t(rng, 6)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), (x, w, b))
    assert gradcheck(lambda x, w: F.conv2d(x, w, None, padding="same"), (t(rng, 1, 2, 5, 4), t(rng, 3, 2, 2, 3)))


def test_direct_conv2d_gradcheck(rng):
    # 8 channels each way: the direct kernel (conv_direct.cpp) computes all three gradients in float64
    x, w, b = t(rng, 2, 8, 5, 4), t(rng, 8, 8, 3, 3), t(rng, 8)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1), dilation=(1, 2)), (x, w, b))
    assert gradcheck(lambda x, w: F.conv2d(x, w, None, stride=2, padding=1), (t(rng, 1, 8, 6, 5), w))


def test_depthwise_conv2d_gradcheck(rng):
    x, w, b = t(rng, 2, 3, 5, 5), t(rng, 6, 1, 3, 3), t(rng, 6)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=3), (x, w, b))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes(rng, mode):
    m = nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode, dtype=np.float64)
    x = t(rng, 2, 2, 5, 4)
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    xp = np.pad(x.detach().numpy(), ((0, 0), (0, 0), (2, 2), (1, 1)), mode=numpy_mode)
    expected = ref.conv2d_forward(xp, m.weight.detach().numpy(), m.bias.detach().numpy(), (1, 1), (0, 0, 0, 0), (1, 1),
                                  1)
    assert_close(m(x).detach().numpy(), expected, np.float64)
    assert gradcheck(lambda x: m(x), (x,))


def test_conv2d_unbatched_input(rng):
    m = nn.Conv2d(3, 4, 3, padding=1, dtype=np.float64)
    x = t(rng, 3, 6, 6)
    y = m(x)
    assert y.shape == (4, 6, 6)
    np.testing.assert_array_equal(y.detach().numpy(), m(x.unsqueeze(0)).detach().numpy()[0])


def test_conv2d_zero_batch(rng):
    m = nn.Conv2d(3, 4, 3, dtype=np.float64)
    x = eg.tensor(np.zeros((0, 3, 6, 6)), requires_grad=True)
    y = m(x)
    assert y.shape == (0, 4, 4, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 6, 6)
    np.testing.assert_array_equal(m.weight.grad.numpy(), 0)
    np.testing.assert_array_equal(m.bias.grad.numpy(), 0)


def test_conv2d_non_contiguous_input(rng):
    m = nn.Conv2d(3, 4, 3, stride=2, dtype=np.float64)
    base = rng.standard_normal((2, 6, 7, 9))
    x = eg.from_numpy(base[:, ::2])
    assert not x.numpy().flags.c_contiguous
    np.testing.assert_array_equal(m(x).detach().numpy(), m(eg.from_numpy(base[:, ::2].copy())).detach().numpy())


def test_conv2d_initialisation_bounds(rng):
    eg.manual_seed(0)
    m = nn.Conv2d(8, 16, (3, 5), groups=2)
    fan_in = 4 * 3 * 5
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)): gain sqrt(2 / 6), bound gain sqrt(3 / fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.shape == (16, 4, 3, 5) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.3 * bound
    assert nn.Conv2d(2, 2, 1, bias=False).bias is None


def test_conv2d_repr_and_state_dict():
    m = nn.Conv2d(1, 32, 3, padding=1)
    assert repr(m) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert set(m.state_dict()) == {"weight", "bias"}


@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "groups: in_channels \\(3\\) must be divisible"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "groups: out_channels \\(6\\) must be divisible"),
    (lambda: nn.Conv2d(0, 4, 3), ValueError, "in_channels: expected a positive int"),
    (lambda: nn.Conv2d(3, 4, 0), ValueError, "kernel_size: expected values >= 1"),
    (lambda: nn.Conv2d(3, 4, 3.0), TypeError, "kernel_size: expected an int or a pair"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), TypeError, "kernel_size: expected an int or a pair"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "padding: padding='same' is not supported"),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), ValueError, "padding: expected 'same', 'valid'"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, "padding: expected values >= 0"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode: expected one of"),
])
def test_conv2d_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("call,error,match", [
    (lambda x, w: F.conv2d(x[:, :2], w), ValueError, "expected input\\[2, 2, 5, 5\\] to have 3 channels, but got 2"),
    (lambda x, w: F.conv2d(x.reshape(2, -1), w), ValueError, "input: expected a 3-D"),
    (lambda x, w: F.conv2d(x, w.reshape(4, 27)), ValueError, "weight: expected a 4-D"),
    (lambda x, w: F.conv2d(x, w, groups=2), ValueError, "Given groups=2, .* to have 6 channels, but got 3"),
    (lambda x, w: F.conv2d(x, w[:3, :1], groups=2), ValueError, "groups: expected a divisor of out_channels 3"),
    (lambda x, w: F.conv2d(x.detach().numpy(), w), TypeError, "input: expected an eigengrad Tensor"),
    (lambda x, w: F.conv2d(x, eg.tensor(w.detach().numpy().astype(np.float32))), TypeError,
     "weight: expected dtype float64"),
    (lambda x, w: F.conv2d(x, w, eg.tensor(np.zeros(3))), ValueError, "bias: expected shape \\(4,\\)"),
    (lambda x, w: F.conv2d(x[..., :2, :2], w), ValueError, "weight: the \\(dilated\\) kernel \\(3, 3\\) is larger"),
    (lambda x, w: F.conv2d(x, w, dilation=4), ValueError, "weight: the \\(dilated\\) kernel \\(9, 9\\)"),
    (lambda x, w: F.conv2d(eg.tensor(np.zeros((2, 3, 5, 5), np.int32)), w), TypeError, "input: expected a float32"),
])
def test_conv2d_call_errors(rng, call, error, match):
    x, w = t(rng, 2, 3, 5, 5), t(rng, 4, 3, 3, 3)
    with pytest.raises(error, match=match):
        call(x, w)


# --- pooling ----------------------------------------------------------------------------------------

def test_max_pool2d_layer_matches_reference(rng, dtype):
    x = t(rng, 2, 3, 9, 8, dtype=dtype)
    y = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)(x)
    y_r, idx_r = ref.max_pool2d_forward(x.detach().numpy(), (3, 3), (2, 2), (1, 1), (1, 1), True)
    np.testing.assert_array_equal(y.detach().numpy(), y_r)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(eg.from_numpy(g))
    assert_close(x.grad.numpy(), ref.max_pool2d_backward(g, idx_r, x.shape), dtype)
    out, idx = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), idx_r)
    assert not idx.requires_grad and idx.dtype == np.int64


def test_avg_and_adaptive_pool_layers_match_reference(rng, dtype):
    x = t(rng, 2, 3, 9, 8, dtype=dtype)
    y = nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False)(x)
    assert_close(y.detach().numpy(), ref.avg_pool2d_forward(x.detach().numpy(), (3, 2), (2, 1), (1, 1), False, False),
                 dtype)
    y = nn.AdaptiveAvgPool2d((4, None))(x)
    assert y.shape == (2, 3, 4, 8)
    assert_close(y.detach().numpy(), ref.adaptive_avg_pool2d_forward(x.detach().numpy(), (4, 8)), dtype)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, (3, 2), stride=1, padding=(1, 0), divisor_override=5),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.adaptive_avg_pool2d(x, 4),
], ids=["max", "max-options", "avg", "avg-options", "avg-divisor", "adaptive", "adaptive-up"])
def test_pooling_gradcheck(rng, fn):
    x = eg.tensor(rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0, requires_grad=True)  # no ties
    assert gradcheck(fn, (x,))


def test_pooling_unbatched_and_zero_batch(rng):
    x = t(rng, 3, 6, 6)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).detach().numpy(),
                                  F.max_pool2d(x.unsqueeze(0), 2).detach().numpy()[0])
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.shape == idx.shape == (3, 3, 3)
    z = eg.tensor(np.zeros((0, 3, 6, 6)), requires_grad=True)
    out = F.avg_pool2d(z, 2)
    assert out.shape == (0, 3, 3, 3)
    out.sum().backward()
    assert z.grad.shape == (0, 3, 6, 6)


@pytest.mark.parametrize("call,error,match", [
    (lambda x: F.max_pool2d(x, 2, padding=2), ValueError, "pad should be at most half of effective kernel size, but "
                                                           "got pad=2, kernel_size=2 and dilation=1"),
    (lambda x: F.max_pool2d(x, 0), ValueError, "kernel_size: expected values in \\[1, 2147483647\\], got 0"),
    (lambda x: F.max_pool2d(x, 7), ValueError, "kernel_size: the window \\(7, 7\\)"),
    (lambda x: F.max_pool2d(x, 2, stride=0), ValueError, "stride: expected values in \\[1, 2147483647\\], got 0"),
    (lambda x: F.max_pool2d(x, "2"), TypeError, "kernel_size: expected an int or a pair"),
    (lambda x: F.avg_pool2d(x.reshape(6, 6), 2), ValueError, "input: expected a 3-D"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override: expected a non-zero int"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError, "output_size: expected positive sizes"),
    (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), TypeError, "output_size: expected an int or a pair"),
    (lambda x: nn.MaxPool2d(3, padding=2), ValueError, "pad should be at most half of effective kernel size"),
])
def test_pooling_errors(rng, call, error, match):
    with pytest.raises(error, match=match):
        call(t(rng, 1, 6, 6))


def test_cnn_block_trains(rng):
    """A small CNN (conv, batch norm, ReLU, pooling, linear) fits a fixed batch: the pieces compose."""
    eg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 3))
    x = eg.from_numpy(rng.standard_normal((12, 1, 8, 8)).astype(np.float32))
    y = np.arange(12) % 3
    opt = eg.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.conv2d(lib.ones(3, 5, 5), lib.ones(4, 2, 3, 3)),
    lambda lib: lib.nn.functional.conv_transpose2d(lib.ones(1, 3, 5, 5), lib.ones(4, 2, 3, 3)),
    lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 5), lib.ones(4, 2, 3), groups=2),
    lambda lib: lib.nn.functional.conv_transpose1d(lib.ones(3, 5), lib.ones(4, 2, 3)),
], ids=["conv2d-unbatched", "conv_transpose2d", "conv1d-groups", "conv_transpose1d-unbatched"])
def test_channel_mismatch_message_is_torch_s(call):
    torch = pytest.importorskip("torch", reason="PyTorch's message is the reference")
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(eg)
    assert str(ours.value) == str(theirs.value)
