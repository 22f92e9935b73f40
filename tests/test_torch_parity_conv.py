"""Parity with PyTorch for Conv2d (outputs and the input, weight and bias gradients over strides,
paddings incl. 'same' and the padding modes, dilations, groups incl. depthwise, odd sizes, batch 1) and
for max, average and adaptive average pooling (outputs, indices, input gradients). float64 to 1e-10,
float32 to 1e-5 (relative to the largest value)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from eigengrad import nn  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
TF = torch.nn.functional


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


assert_rel = make_assert_rel(TOL)

def pair(rng, shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    return eg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


# (in, out, kernel, stride, padding, dilation, groups, input (n, h, w), padding_mode)
CONV = [
    (3, 8, 3, 1, 1, 1, 1, (2, 9, 9), "zeros"),
    (4, 6, (3, 2), (2, 1), (1, 0), (1, 2), 2, (3, 11, 10), "zeros"),
    (6, 6, 3, 1, 1, 1, 6, (2, 7, 7), "zeros"),            # depthwise
    (3, 12, 5, 2, 2, 1, 3, (1, 13, 11), "zeros"),          # 4 outputs per group, batch 1
    (5, 7, (2, 4), 1, "same", (2, 1), 1, (2, 7, 9), "zeros"),  # asymmetric 'same'
    (2, 3, 3, 3, "valid", 1, 1, (2, 17, 13), "zeros"),
    (1, 32, 3, 1, 1, 1, 1, (4, 28, 28), "zeros"),          # the CNN example's first block
    (32, 64, 3, 1, 1, 1, 1, (2, 14, 14), "zeros"),         # and its second
    (3, 4, 3, 1, 2, 1, 1, (2, 6, 7), "reflect"),
    (3, 4, 3, 2, (1, 2), 1, 1, (2, 6, 7), "replicate"),
    (4, 4, 3, 1, "same", 1, 2, (2, 5, 6), "circular"),
    (2, 2, 1, 1, 0, 1, 1, (1, 1, 1), "zeros"),
    # the direct kernel's shapes (enough channels per group; conv_direct.cpp)
    (16, 24, 3, 2, 1, 1, 1, (3, 9, 10), "zeros"),
    (32, 32, 3, 1, 2, 2, 2, (2, 9, 8), "zeros"),
    (16, 16, 5, 1, "same", 1, 1, (2, 7, 7), "zeros"),
    (16, 12, 1, 1, 1, 1, 1, (2, 5, 6), "zeros"),
    (14, 14, (3, 2), 1, "same", (1, 2), 1, (1, 6, 7), "zeros"),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("case", CONV, ids=lambda c: "-".join(map(str, c)).replace(" ", ""))
def test_conv2d_matches_torch(rng, dt, case):
    cin, cout, k, s, p, d, g, (n, h, w), mode = case
    em = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, padding_mode=mode, dtype=dt)
    tm = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, padding_mode=mode,
                         dtype={np.float32: torch.float32, np.float64: torch.float64}[dt])
    em.load_state_dict({k_: v.detach().numpy().copy() for k_, v in tm.state_dict().items()})
    ex, tx = pair(rng, (n, cin, h, w), dt)
    ey, ty = em(ex), tm(tx)
    assert_rel(ey, ty, dt, "output")
    g_ = rng.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g_))
    ty.backward(torch.from_numpy(g_))
    assert_rel(ex.grad, tx.grad, dt, "input grad")
    assert_rel(em.weight.grad, tm.weight.grad, dt, "weight grad")
    assert_rel(em.bias.grad, tm.bias.grad, dt, "bias grad")


def test_conv2d_functional_without_bias_matches_torch(rng):
    ex, tx = pair(rng, (2, 4, 8, 8), np.float64)
    ew, tw = pair(rng, (6, 2, 3, 3), np.float64)
    ey = F.conv2d(ex, ew, None, stride=2, padding=1, groups=2)
    ty = TF.conv2d(tx, tw, None, stride=2, padding=1, groups=2)
    assert_rel(ey, ty, np.float64, "output")
    ey.sum().backward()
    ty.sum().backward()
    assert_rel(ex.grad, tx.grad, np.float64, "input grad")
    assert_rel(ew.grad, tw.grad, np.float64, "weight grad")


# (kernel, stride, padding, dilation, ceil_mode, input (n, c, h, w))
MAX = [
    (2, None, 0, 1, False, (2, 3, 8, 8)),
    (3, 2, 1, 1, False, (2, 3, 9, 8)),
    (3, 2, 1, 2, True, (2, 3, 11, 10)),
    ((3, 2), (2, 1), (1, 1), (1, 2), True, (1, 2, 7, 7)),
    (2, 2, 0, 1, True, (1, 1, 5, 5)),
]


@pytest.mark.parametrize("case", MAX, ids=lambda c: "-".join(map(str, c)).replace(" ", ""))
def test_max_pool2d_matches_torch(rng, dt, case):
    k, s, p, d, cm, shape = case
    ex, tx = pair(rng, shape, dt)
    ey, eidx = F.max_pool2d(ex, k, s, p, d, cm, return_indices=True)
    ty, tidx = TF.max_pool2d(tx, k, s, p, d, cm, return_indices=True)
    assert_rel(ey, ty, dt, "output")
    np.testing.assert_array_equal(eidx.numpy(), tidx.numpy())
    g = rng.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, "input grad")


# (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, input)
AVG = [
    (2, None, 0, False, True, None, (2, 3, 8, 8)),
    (3, 2, 1, False, True, None, (2, 3, 9, 8)),
    (3, 2, 1, True, False, None, (2, 3, 9, 8)),
    ((3, 2), (2, 1), (1, 1), True, True, None, (1, 2, 7, 6)),
    (3, 1, 1, False, True, 4, (1, 2, 5, 5)),
]


@pytest.mark.parametrize("case", AVG, ids=lambda c: "-".join(map(str, c)).replace(" ", ""))
def test_avg_pool2d_matches_torch(rng, dt, case):
    k, s, p, cm, cip, div, shape = case
    ex, tx = pair(rng, shape, dt)
    ey = F.avg_pool2d(ex, k, s, p, cm, cip, div)
    ty = TF.avg_pool2d(tx, k, s, p, cm, cip, div)
    assert_rel(ey, ty, dt, "output")
    g = rng.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, "input grad")


@pytest.mark.parametrize("size,shape", [((3, 4), (2, 3, 9, 8)), (1, (2, 3, 7, 7)), ((5, None), (1, 2, 7, 6)),
                                        ((9, 11), (1, 1, 4, 6))])
def test_adaptive_avg_pool2d_matches_torch(rng, dt, size, shape):
    ex, tx = pair(rng, shape, dt)
    ey, ty = nn.AdaptiveAvgPool2d(size)(ex), torch.nn.AdaptiveAvgPool2d(size)(tx)
    assert_rel(ey, ty, dt, "output")
    g = rng.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, "input grad")


def test_pooling_refuses_what_torch_refuses(rng):
    ex, tx = pair(rng, (1, 1, 6, 6), np.float64)
    for call in (lambda f, x: f.max_pool2d(x, 2, padding=2), lambda f, x: f.avg_pool2d(x, 3, padding=2),
                 lambda f, x: f.max_pool2d(x, 7)):
        with pytest.raises(RuntimeError):
            call(TF, tx)
        with pytest.raises(ValueError):
            call(F, ex)
