"""The 1-D layers (Conv1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d, Dropout1d),
AdaptiveMaxPool2d and the transposed convolutions (ConvTranspose1d/2d): values against NumPy references
(a direct 1-D correlation, the scatter reference of the transposed convolution), gradcheck in float64,
zero copies for the height-1 views, unbatched input, output_size, and the errors that name the argument."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck


def t(rng, *shape, dtype=np.float64, grad=True):
    return eg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def conv1d_reference(x, w, b, stride, left, right, dilation, groups):
    """y[i, q, t] = b[q] + sum_{c, e} w[q, c, e] xp[i, g cg + c, t s + e d], written out as loops."""
    n, c, _ = x.shape
    o, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (left, right)))
    out = (xp.shape[2] - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((n, o, out))
    og = o // groups
    for q in range(o):
        g = q // og
        for e in range(k):
            y[:, q] += np.einsum("nct,c->nt", xp[:, g * cg:(g + 1) * cg, e * dilation:e * dilation + stride * (out - 1) + 1:stride],
                                 w[q, :, e])
    return y + (0 if b is None else b[None, :, None])


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (3, 2, 2, 1), (1, "same", 2, 2),
                                                            (1, "valid", 1, 4)])
def test_conv1d_layer_matches_reference(rng, dtype, stride, padding, dilation, groups):
    m = nn.Conv1d(4, 8, 3, stride=stride, padding=padding, dilation=dilation, groups=groups, dtype=dtype)
    x = t(rng, 3, 4, 17, dtype=dtype)
    y = m(x)
    left, right = m._pad
    expected = conv1d_reference(*(a.detach().numpy().astype(np.float64) for a in (x, m.weight, m.bias)), stride, left,
                                right,
                                dilation, groups)
    assert_close(y.detach().numpy(), expected, dtype)
    if padding == "same":
        assert y.shape == (3, 8, 17)
    y.sum().backward()
    assert x.grad.shape == x.shape and m.weight.grad.shape == (8, 4 // groups, 3)


def test_conv1d_gradcheck(rng):
    x, w, b = t(rng, 2, 4, 9), t(rng, 6, 2, 3), t(rng, 6)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2), (x, w, b))
    m = nn.Conv1d(2, 3, 4, padding="same", padding_mode="reflect", dtype=np.float64)
    assert gradcheck(lambda x: m(x), (t(rng, 2, 2, 7),))
    circular = nn.Conv1d(2, 2, 3, padding=2, padding_mode="circular", dtype=np.float64)
    assert gradcheck(lambda x: circular(x), (t(rng, 1, 2, 5),))


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 3), (3, 2, 1, 2, 1), (2, 0, 2, 3, 3),
])
def test_conv_transpose1d_matches_reference(rng, dtype, stride, padding, output_padding, dilation, groups):
    m = nn.ConvTranspose1d(6, 9, 4, stride, padding, output_padding, groups, dilation=dilation, dtype=dtype)
    assert m.weight.shape == (6, 9 // groups, 4)
    x = t(rng, 2, 6, 7, dtype=dtype)
    y = m(x)
    x64, w64, b64 = (a.detach().numpy().astype(np.float64) for a in (x, m.weight, m.bias))
    expected = ref.conv_transpose2d_forward(x64[:, :, None], w64[:, :, None], b64, (1, stride), (0, padding),
                                            (0, output_padding), (1, dilation), groups)[:, :, 0]
    assert_close(y.detach().numpy(), expected, dtype)
    assert y.shape[2] == (7 - 1) * stride - 2 * padding + dilation * 3 + output_padding + 1


def test_conv_transpose_gradcheck(rng):
    x, w, b = t(rng, 2, 4, 3, 4), t(rng, 4, 3, 3, 2), t(rng, 6)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                                        groups=2, dilation=(1, 2)), (x, w, b))
    x1, w1 = t(rng, 1, 3, 5), t(rng, 3, 2, 3)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, None, stride=3, padding=1, output_padding=2), (x1, w1))
    # enough channels for the direct kernel in the input gradient (a stride-2 conv2d forward)
    x2, w2 = t(rng, 1, 8, 3, 3), t(rng, 8, 8, 4, 4)
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1), (x2, w2))


def test_conv_transpose_output_size_and_unbatched_input(rng):
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=np.float64)
    x = t(rng, 3, 4, 5)  # unbatched
    assert m(x).shape == (2, 7, 9)
    y = m(x, output_size=(8, 10))
    assert y.shape == (2, 8, 10)
    # the extra row and column: output_padding
    assert_close(y.detach().numpy()[:, :7, :9], m(x).detach().numpy(), np.float64)
    assert m(x, output_size=[2, 8, 9]).shape == (2, 8, 9)
    with pytest.raises(ValueError, match=r"output_size: requested an output size of \(9, 9\), but valid sizes range "
                                         r"from \(7, 9\) to \(8, 10\)"):
        m(x, output_size=(9, 9))
    with pytest.raises(ValueError, match="output_size: for 3D input, output_size must have 2 or 3 elements"):
        m(x, output_size=(1, 2, 8, 9))
    m1 = nn.ConvTranspose1d(3, 2, 3, stride=3, dtype=np.float64)
    assert m1(t(rng, 3, 4), output_size=[13]).shape == (2, 13)


def test_one_dimensional_pools_match_their_two_dimensional_forms(rng, dtype):
    x = t(rng, 2, 3, 17, dtype=dtype)
    x4 = x.detach().numpy()[:, :, None, :]
    y, idx = F.max_pool1d(x, 4, 3, 2, 2, ceil_mode=True, return_indices=True)
    ry, ridx = ref.max_pool2d_forward(x4, (1, 4), (1, 3), (0, 2), (1, 2), True)
    np.testing.assert_array_equal(y.detach().numpy(), ry[:, :, 0])
    np.testing.assert_array_equal(idx.numpy(), ridx[:, :, 0])
    assert_close(F.avg_pool1d(x, 3, 2, 1, False, False).detach().numpy(),
                 ref.avg_pool2d_forward(x4, (1, 3), (1, 2), (0, 1), False, False)[:, :, 0], dtype)
    assert_close(F.adaptive_avg_pool1d(x, 5).detach().numpy(), ref.adaptive_avg_pool2d_forward(x4, (1, 5))[:, :, 0],
                 dtype)
    ay, aidx = F.adaptive_max_pool1d(x, 6, return_indices=True)
    ry, ridx = ref.adaptive_max_pool2d_forward(x4, (1, 6))
    np.testing.assert_array_equal(ay.detach().numpy(), ry[:, :, 0])
    np.testing.assert_array_equal(aidx.numpy(), ridx[:, :, 0])


def test_pool_gradchecks(rng):
    x = t(rng, 2, 2, 11)
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1, dilation=2, ceil_mode=True), (x,))
    assert gradcheck(lambda x: F.avg_pool1d(x, 4, 3, 2, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool1d(x, 4), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool1d(x, 4), (x,))
    pool = nn.AdaptiveMaxPool2d((3, None))
    assert gradcheck(lambda x: pool(x), (t(rng, 2, 2, 7, 5),))


def test_height_one_views_share_memory(rng, monkeypatch):
    # the 1-D layers hand the 2-D kernels views of their input: (N, C, L) as (N, C, 1, L), no copy
    from eigengrad.autograd import ops_conv
    seen, original = [], ops_conv.MaxPool2d.forward

    def spy(ctx, x4, **kw):
        seen.append(x4)
        return original(ctx, x4, **kw)
    monkeypatch.setattr(ops_conv.MaxPool2d, "forward", staticmethod(spy))
    x = t(rng, 2, 3, 8)
    F.max_pool1d(x, 2)
    assert seen[0].shape == (2, 3, 1, 8) and np.shares_memory(seen[0], x.detach().numpy())


def test_dropout1d_drops_whole_channels(rng):
    x = eg.tensor(rng.standard_normal((4, 50, 9)) + 3.0, requires_grad=True)
    eg.manual_seed(7)
    y = F.dropout1d(x, 0.4)
    kept = np.all(y.detach().numpy() != 0, axis=2)
    assert np.all(kept | np.all(y.detach().numpy() == 0, axis=2))
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / 0.6, rtol=1e-6)
    assert 0.4 < kept.mean() < 0.8
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept[..., None], 1 / 0.6, 0.0) * np.ones(9), rtol=1e-6)
    eg.manual_seed(7)
    np.testing.assert_array_equal(nn.Dropout1d(0.4)(x).detach().numpy(), y.detach().numpy())  # the same draw
    assert nn.Dropout1d(0.4).eval()(x) is x
    assert F.dropout1d(t(rng, 3, 5), 0.5).shape == (3, 5)  # unbatched (C, L)
    with pytest.raises(ValueError, match="input: dropout1d expects a 2-D .* got shape"):
        F.dropout1d(t(rng, 2, 3, 4, 5), 0.5)


def test_errors_name_the_argument(rng):
    x = t(rng, 2, 4, 9)
    with pytest.raises(ValueError, match=r"weight: expected a 3-D tensor \(out_channels, in_channels / groups, kL\)"):
        F.conv1d(x, t(rng, 4, 4, 3, 3))
    with pytest.raises(ValueError, match=r"Given groups=2, .* to have 6 channels, but got 4 channels instead"):
        F.conv1d(x, t(rng, 6, 3, 3), groups=2)
    with pytest.raises(ValueError, match="padding: padding='same' is not supported for strided convolutions"):
        nn.Conv1d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"input: expected a 2-D \(C, L\) or 3-D \(N, C, L\) tensor"):
        F.conv1d(t(rng, 1, 2, 4, 9), t(rng, 4, 4, 3))
    with pytest.raises(ValueError, match="padding_mode: only 'zeros' padding mode is supported for ConvTranspose2d"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(TypeError, match="padding: ConvTranspose1d takes an int or a tuple of ints"):
        nn.ConvTranspose1d(2, 2, 3, padding="same")
    with pytest.raises(ValueError, match=r"output_padding: must be smaller than either stride or dilation"):
        F.conv_transpose2d(t(rng, 1, 2, 3, 3), t(rng, 2, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"weight: expected a 4-D tensor \(in_channels, out_channels / groups, kH, kW\)"):
        F.conv_transpose2d(t(rng, 1, 2, 3, 3), t(rng, 2, 2, 3))
    with pytest.raises(ValueError, match="input: the output size .* is too small"):
        F.conv_transpose2d(t(rng, 1, 2, 1, 1), t(rng, 2, 2, 1, 1), padding=1)
    with pytest.raises(ValueError, match=r"max_pool1d\(\) padding should be at most half of kernel size, but got "
                                         r"padding=2 and kernel_size=3"):
        nn.MaxPool1d(3, padding=2)
    with pytest.raises(TypeError, match="kernel_size: expected an int or a 1-tuple of ints"):
        F.avg_pool1d(x, (2, 2))
    with pytest.raises(ValueError, match="output_size: expected values >= 1"):
        nn.AdaptiveMaxPool1d(0)
    # huge options: an error naming the option (the bindings' bound, 2^31 - 1, PyTorch's C int for pooling),
    # never a wrapped-around size; the largest stride is one window
    with pytest.raises(ValueError,
                       match=r"dilation: expected values in \[1, 2147483647\], got \(1, 4611686018427387904\)"):
        F.max_pool1d(x, 3, dilation=2**62)
    np.testing.assert_array_equal(F.max_pool1d(x, 3, stride=2**31 - 1, ceil_mode=True).detach().numpy(),
                                  x.detach().numpy()[:, :, :3].max(axis=2, keepdims=True))


def test_reprs_are_pytorchs():
    assert repr(nn.Conv1d(3, 6, 3, padding=1)) == "Conv1d(3, 6, kernel_size=(3,), stride=(1,), padding=(1,))"
    assert repr(nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2, bias=False)) == (
        "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=2, bias=False)")
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.MaxPool1d(2)) == "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AdaptiveMaxPool2d((2, None))) == "AdaptiveMaxPool2d(output_size=(2, None))"
