"""ConvTranspose3d / F.conv_transpose3d: against a direct NumPy scatter (the definition), gradcheck, the
module's output_size and state_dict, unbatched input, and float64 parity with torch (output and every
gradient) on random strides, paddings, output paddings, dilations and groups."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd.gradcheck import gradcheck


def reference(x, w, b, s, p, op, d, groups):
    """y[i, g og + c, t sD - pD + a dD, ...] += x[i, g cg + q, t, ...] w[g cg + q, c, a, ...]."""
    n, ci, *size = x.shape
    cg, og = ci // groups, w.shape[1]
    k = w.shape[2:]
    full = [(L - 1) * si + di * (ki - 1) + 1 for L, si, di, ki in zip(size, s, d, k)]
    y = np.zeros((n, og * groups, *[f + o for f, o in zip(full, op)]))
    for i, q, t, u, v in np.ndindex(n, ci, *size):
        g = q // cg
        for a, bb, e in np.ndindex(*k):
            y[i, g * og:(g + 1) * og, t * s[0] + a * d[0], u * s[1] + bb * d[1], v * s[2] + e * d[2]] += x[i, q, t, u, v] * w[q, :, a, bb, e]
    out = [f - 2 * pi + o for f, pi, o in zip(full, p, op)]
    y = y[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1], p[2]:p[2] + out[2]]
    return y + b.reshape(1, -1, 1, 1, 1)


@pytest.mark.parametrize("s,p,op,d,groups", [((1, 1, 1), (0, 0, 0), (0, 0, 0), (1, 1, 1), 1),
                                             ((2, 1, 2), (1, 0, 1), (1, 0, 0), (1, 2, 1), 2),
                                             ((3, 2, 1), (0, 1, 0), (2, 1, 0), (2, 1, 1), 1)])
def test_matches_the_definition(s, p, op, d, groups):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 3, 2, 3)), rng.standard_normal((4, 3, 2, 3, 2)), rng.standard_normal(3 * groups)
    w = w[:, :3]
    y = F.conv_transpose3d(eg.tensor(x), eg.tensor(w), eg.tensor(b), s, p, op, groups, d)
    np.testing.assert_allclose(y.numpy(), reference(x, w, b, s, p, op, d, groups), rtol=1e-12, atol=1e-12)


def test_gradcheck_module_and_unbatched():
    rng = np.random.default_rng(1)
    x, w, b = (eg.tensor(rng.standard_normal(sh), requires_grad=True) for sh in ((1, 2, 2, 3, 2), (2, 2, 2, 2, 1), (2,)))
    assert gradcheck(lambda x, w, b: F.conv_transpose3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 0), output_padding=(1, 0, 0)),
                     (x, w, b))
    m = nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1)
    assert m.weight.shape == (4, 2, 3, 3, 3) and sorted(m.state_dict()) == ["bias", "weight"]
    assert m(eg.randn(1, 4, 3, 4, 5), output_size=(6, 8, 10)).shape == (1, 2, 6, 8, 10)
    assert m(eg.randn(4, 3, 4, 5)).shape == (2, 5, 7, 9)
    assert nn.LazyConvTranspose3d(2, 2)(eg.randn(1, 3, 2, 2, 2)).shape == (1, 2, 3, 3, 3)
    with pytest.raises(ValueError, match="output_size: requested an output size"):
        m(eg.randn(1, 4, 3, 4, 5), output_size=(9, 8, 10))


@pytest.mark.parametrize("seed", range(20))
def test_matches_torch(seed):
    torch = pytest.importorskip("torch", reason="PyTorch's conv_transpose3d is the reference")
    r = np.random.default_rng(seed)
    g = int(r.choice([1, 2]))
    ci, co = g * int(r.integers(1, 3)), g * int(r.integers(1, 3))
    k, s, d = (tuple(int(v) for v in r.integers(1, hi, 3)) for hi in (4, 3, 3))
    p = tuple(int(r.integers(0, kk)) for kk in k)
    op = tuple(int(r.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
    x = r.standard_normal((int(r.integers(1, 3)), ci) + tuple(int(v) for v in r.integers(1, 5, 3)))
    w, b = r.standard_normal((ci, co // g) + k), r.standard_normal(co)
    try:
        torch.nn.functional.conv_transpose3d(*(torch.tensor(a) for a in (x, w, b)), s, p, op, g, d)
    except RuntimeError:  # an empty output: PyTorch's float64 kernel refuses it (its float32 one gives the empty
        # output, as eigengrad does for a size of 0); a negative size is refused by both
        sizes = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                 for n, ss, pp, dd, kk, oo in zip(x.shape[2:], s, p, d, k, op)]
        if min(sizes) < 0:
            with pytest.raises(ValueError, match="too small"):
                F.conv_transpose3d(*(eg.tensor(a) for a in (x, w, b)), s, p, op, g, d)
        else:
            y = F.conv_transpose3d(*(eg.tensor(a) for a in (x, w, b)), s, p, op, g, d)
            assert y.shape == (x.shape[0], co, *sizes) and min(sizes) == 0
        return
    out = []
    for lib in (torch, eg):
        ts = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = lib.nn.functional.conv_transpose3d(*ts, s, p, op, g, d)
        y.backward(lib.tensor(np.random.default_rng(9).standard_normal(tuple(y.shape))))
        out.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, e in zip(out[0], out[1]):
        np.testing.assert_allclose(e, a, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(a).max()))
