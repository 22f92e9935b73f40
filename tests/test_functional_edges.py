"""What a differential fuzzer of nn.functional against PyTorch found: empty batches, integer inputs PyTorch's CPU
kernels take, a loss's dtype and shape, an exception class. Each as PyTorch has it; the random comparisons with
PyTorch skip without it."""
import random
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F

try:
    import torch
except ImportError:  # the side-by-side checks skip; the rest run
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed; these tests compare eigengrad with it side by side "
                          "(pip install torch==2.13.0)")


# --- max_unpool ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_of_an_empty_batch(n):
    x = eg.zeros((0, 3) + (4,) * n)
    y, idx = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n](x, 2, return_indices=True)
    out = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[n](y, idx, 2)
    assert tuple(out.shape) == (0, 3) + (4,) * n


def test_max_unpool_bad_index_is_a_runtime_error():
    """PyTorch raises RuntimeError; an ``except RuntimeError`` must catch eigengrad's (an IndexError too)."""
    x = eg.arange(13.0).reshape(1, 1, 13)
    y, idx = F.max_pool1d(x, 4, stride=3, padding=1, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index: 11"):
        F.max_unpool1d(y, idx, 4, stride=3, padding=1)
    with pytest.raises(IndexError):
        F.max_unpool1d(y, idx, 4, stride=3, padding=1)


# --- MultiheadAttention ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("add_bias_kv", [False, True])
def test_multihead_attention_of_an_empty_batch(batch_first, add_bias_kv):
    m = eg.nn.MultiheadAttention(4, 2, batch_first=batch_first, add_bias_kv=add_bias_kv)
    x = eg.zeros((0, 3, 4) if batch_first else (3, 0, 4), requires_grad=True)
    out, w = m(x, x, x)
    assert tuple(out.shape) == tuple(x.shape)
    assert tuple(w.shape) == (0, 3, 4 if add_bias_kv else 3)
    out.sum().backward()
    assert tuple(x.grad.shape) == tuple(x.shape)


def test_multihead_attention_bias_kv_gradient_sums_over_the_batch():
    """bias_k/bias_v appended to every batch entry's keys/values (now an expand, before a concatenation of
    copies): the gradient is the sum of the per-entry ones."""
    eg.manual_seed(0)
    m = eg.nn.MultiheadAttention(4, 2, add_bias_kv=True)
    x = eg.randn(3, 2, 4)
    m(x, x, x)[0].sum().backward()
    both = m.bias_k.grad.numpy().copy()
    per_entry = np.zeros_like(both)
    for b in range(2):
        m.zero_grad()
        m(x[:, b:b + 1], x[:, b:b + 1], x[:, b:b + 1])[0].sum().backward()
        per_entry += m.bias_k.grad.numpy()
    np.testing.assert_allclose(both, per_entry, rtol=1e-5, atol=1e-7)
    assert np.abs(both).max() > 0


# --- losses ----------------------------------------------------------------------------------------------------

def test_soft_margin_loss_keeps_the_input_dtype():
    """PyTorch writes -input * target into a tensor of the input's dtype and shape."""
    x = eg.tensor([0.5, -1.0, 2.0])
    y = eg.tensor([1.0, -1.0, 1.0], dtype=eg.float64)
    for reduction in ("none", "mean", "sum"):
        out = F.soft_margin_loss(x, y, reduction=reduction)
        assert out.dtype == eg.float32
    expected = np.log1p(np.exp(-np.array([0.5, 1.0, 2.0])))
    np.testing.assert_allclose(F.soft_margin_loss(x, y, reduction="none").numpy(), expected, rtol=1e-6)
    assert F.soft_margin_loss(y, x).dtype == eg.float64
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        F.soft_margin_loss(x, y.reshape(1, 3))


def test_multi_margin_loss_of_one_sample_has_the_target_shape():
    x = eg.tensor([0.1, 0.2, 0.4, 0.8])
    for target, shape in ((eg.tensor([3]), (1,)), (eg.tensor(3), ())):
        out = F.multi_margin_loss(x, target, reduction="none")
        assert tuple(out.shape) == shape
        # sum over i != 3 of max(0, 1 - 0.8 + x_i) / 4
        np.testing.assert_allclose(out.numpy().reshape(-1), [(0.3 + 0.4 + 0.6) / 4], rtol=1e-6)


# --- integer inputs PyTorch's CPU kernels take -------------------------------------------------------------------

def test_nearest_resize_of_a_uint8_mask():
    m = eg.tensor([[[[0, 255], [7, 1]]]], dtype=eg.uint8)
    out = F.interpolate(m, scale_factor=2, mode="nearest")
    assert out.dtype == eg.uint8
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0, 0, 255, 255], [0, 0, 255, 255], [7, 7, 1, 1], [7, 7, 1, 1]])
    np.testing.assert_array_equal(F.interpolate(m[:, :, 0], size=3).numpy(), [[[0, 0, 255]]])
    np.testing.assert_array_equal(eg.nn.Upsample(scale_factor=2)(m).numpy(), out.numpy())
    with pytest.raises(TypeError):  # PyTorch: bilinear of uint8 has its own rounding; refused here
        F.interpolate(m, scale_factor=2, mode="bilinear")
    with pytest.raises(TypeError):  # PyTorch refuses int64 for nearest too
        F.interpolate(m.long(), scale_factor=2)


def test_max_pool_of_integers_beyond_float_precision():
    """2**60 and 2**60 + 1 are one float64; the pooled values and indices must still tell them apart."""
    big = 2**60
    x = eg.tensor([[[[big, big + 1], [big - 1, big]]]], dtype=eg.int64)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.dtype == eg.int64 and int(y.reshape(-1)[0]) == big + 1 and int(idx.reshape(-1)[0]) == 1
    y3 = F.max_pool3d(x.unsqueeze(2), (1, 2, 2))
    assert int(y3.reshape(-1)[0]) == big + 1
    # the first maximum wins among equal values, as for floats
    t = eg.tensor([[[[3, 5], [5, 1]]]], dtype=eg.int16)
    assert int(F.max_pool2d(t, 2, return_indices=True)[1].reshape(-1)[0]) == 1
    assert eg.nn.MaxPool2d(2)(t).dtype == eg.int16
    with pytest.raises(TypeError):
        F.max_pool2d(t.bool(), 2)  # PyTorch has no bool max pooling


@needs_torch
def test_nearest_uint8_matches_pytorch():
    rng = random.Random(0)
    for trial in range(300):
        nd = rng.choice([1, 2, 3])
        shape = [rng.randint(1, 2), rng.randint(1, 3)] + [rng.randint(1, 40 if nd < 3 else 9) for _ in range(nd)]
        x = np.random.RandomState(trial).randint(0, 256, shape).astype(np.uint8)
        mode = rng.choice(["nearest", "nearest-exact"])
        if rng.random() < 0.5:
            kw = {"size": [rng.randint(1, 150 if nd < 3 else 20) for _ in range(nd)]}
        else:
            kw = {"scale_factor": rng.choice([0.5, 1.5, 2, 2.3, 1 / 3, 3.7, 0.77])}
            if rng.random() < 0.3:
                kw["recompute_scale_factor"] = True
        try:
            want = torch.nn.functional.interpolate(torch.from_numpy(x), mode=mode, **kw).numpy()
        except RuntimeError:  # an empty output size: PyTorch's error, and eigengrad's
            with pytest.raises(RuntimeError):
                F.interpolate(eg.from_numpy(x), mode=mode, **kw)
            continue
        got = F.interpolate(eg.from_numpy(x), mode=mode, **kw).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape, (shape, mode, kw)
        np.testing.assert_array_equal(got, want, err_msg=f"{shape} {mode} {kw}")


@needs_torch
def test_integer_max_pool_matches_pytorch():
    rng = random.Random(1)
    checked = 0
    for trial in range(400):
        nd = rng.choice([2, 3])
        dt = rng.choice([np.uint8, np.int8, np.int16, np.int32, np.int64])
        shape = [rng.randint(0, 2), rng.randint(1, 3)] + [rng.randint(1, 9) for _ in range(nd)]
        st = np.random.RandomState(trial)
        if dt == np.int64 and rng.random() < 0.5:
            x = (st.randint(-5, 5, shape) + 2**60).astype(np.int64)
        elif dt == np.int32 and rng.random() < 0.5:  # the whole range (pooled as float64 values, exact)
            x = st.randint(-2**31, 2**31 - 1, shape, dtype=np.int64).astype(np.int32)
        else:
            x = st.randint(max(np.iinfo(dt).min, -100), min(np.iinfo(dt).max, 100), shape).astype(dt)
        k = rng.randint(1, 3)
        kw = dict(kernel_size=k, stride=rng.choice([None, 1, 2]), padding=rng.randint(0, k // 2),
                  dilation=rng.randint(1, 2), ceil_mode=rng.random() < 0.3)
        f_eg, f_t = (F.max_pool2d, torch.nn.functional.max_pool2d) if nd == 2 else \
            (F.max_pool3d, torch.nn.functional.max_pool3d)
        try:
            y, idx = f_eg(eg.from_numpy(x.copy()), **kw, return_indices=True)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                f_t(torch.from_numpy(x.copy()), **kw)
            continue
        if (idx.numpy() < 0).any():
            continue  # a window wholly in the padding: PyTorch's index is out of range there
        ty, tidx = f_t(torch.from_numpy(x.copy()), **kw, return_indices=True)
        assert y.dtype == ty.numpy().dtype
        np.testing.assert_array_equal(y.numpy(), ty.numpy(), err_msg=f"{shape} {dt} {kw}")
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy(), err_msg=f"{shape} {dt} {kw}")
        checked += 1
    assert checked > 250


def test_integer_max_pool_and_uint8_resize_compile():
    """The ranks and the picks are steps of the plan: a compiled call pools each call's values."""
    @eg.compile
    def f(x, m):
        return F.max_pool2d(x, 2) + 1, F.interpolate(m, scale_factor=2)

    for seed in range(3):
        rng = np.random.RandomState(seed)
        x = eg.from_numpy(rng.randint(0, 100, (1, 1, 4, 4)))
        m = eg.from_numpy(rng.randint(0, 256, (1, 2, 3, 3)).astype(np.uint8))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (a fallback to eager mode warns)
            got = f(x, m)
        np.testing.assert_array_equal(got[0].numpy(), F.max_pool2d(x, 2).numpy() + 1)
        np.testing.assert_array_equal(got[1].numpy(), m.numpy().repeat(2, axis=2).repeat(2, axis=3))


# --- grid_sample / affine_grid on volumes ----------------------------------------------------------------------

def test_affine_grid_3d_identity_samples_the_volume_back():
    x = eg.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 4, 5, 6)))
    theta = eg.from_numpy(np.tile(np.eye(3, 4), (2, 1, 1)))
    for corners in (True, False):
        grid = F.affine_grid(theta, (2, 3, 4, 5, 6), align_corners=corners)
        assert tuple(grid.shape) == (2, 4, 5, 6, 3)
        for mode in ("bilinear", "nearest"):
            out = F.grid_sample(x, grid, mode=mode, align_corners=corners)
            np.testing.assert_allclose(out.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)
    # (x, y, z) order: x runs along the width, z along the depth
    g = F.affine_grid(theta[:1], (1, 1, 2, 3, 4), align_corners=True).numpy()
    np.testing.assert_allclose(g[0, 0, 0, :, 0], [-1, -1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(g[0, :, 0, 0, 2], [-1, 1])


def test_grid_sample_3d_trilinear_midpoint_is_the_mean_of_eight_corners():
    v = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    out = F.grid_sample(eg.from_numpy(v), eg.zeros(1, 1, 1, 1, 3, dtype=eg.float64), align_corners=True)
    assert float(out.reshape(())) == pytest.approx(3.5)
    # one corner: (x, y, z) = (1, -1, -1) is v[0, 0, 0, 0, 1]
    corner = eg.tensor([[[[[1.0, -1.0, -1.0]]]]], dtype=eg.float64)
    assert float(F.grid_sample(eg.from_numpy(v), corner, align_corners=True).reshape(())) == 1.0


def test_grid_sample_3d_checks():
    x = eg.zeros(1, 2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(x, eg.zeros(1, 2, 2, 2, 3), mode="bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match="size 3 in last dimension"):
        F.grid_sample(x, eg.zeros(1, 2, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.grid_sample(x, eg.zeros(1, 2, 2, 3), align_corners=False)
    with pytest.raises(RuntimeError, match="Nx3x4"):
        F.affine_grid(eg.zeros(1, 2, 3), (1, 2, 3, 4, 5), align_corners=False)
    with pytest.raises(NotImplementedError, match="4D and 5D sizes"):
        F.affine_grid(eg.zeros(1, 3, 4), (1, 2, 3, 4, 5, 6), align_corners=False)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_3d_gradcheck(padding_mode):
    rng = np.random.default_rng(1)
    x = eg.tensor(rng.standard_normal((1, 2, 3, 3, 4)), requires_grad=True)
    # positions away from the integer lattice (the bilinear weights' kinks) and inside [-1.3, 1.3]
    grid = eg.tensor(rng.uniform(-1.3, 1.3, (1, 2, 2, 2, 3)), requires_grad=True)
    assert eg.autograd.gradcheck(lambda a, g: F.grid_sample(a, g, padding_mode=padding_mode, align_corners=False),
                                 (x, grid))


@needs_torch
def test_grid_sample_and_affine_grid_3d_match_pytorch():
    rng = random.Random(0)
    for trial in range(150):
        dt = rng.choice([np.float32, np.float64])
        n, c = rng.randint(1, 2), rng.randint(1, 3)
        sp, osp = [rng.randint(1, 5) for _ in range(3)], [rng.randint(1, 4) for _ in range(3)]
        st = np.random.RandomState(trial)
        x = st.standard_normal([n, c] + sp).astype(dt)
        mode, pm = rng.choice(["bilinear", "nearest"]), rng.choice(["zeros", "border", "reflection"])
        corners, affine = rng.random() < 0.5, rng.random() < 0.4
        theta = (st.standard_normal((n, 3, 4)) * 0.5).astype(dt)
        g = (st.rand(n, *osp, 3) * 2.6 - 1.3).astype(dt)
        got = []
        for lib in (torch, eg):
            xs = lib.tensor(x, requires_grad=True)
            leaf = lib.tensor(theta if affine else g, requires_grad=True)
            grid = lib.nn.functional.affine_grid(leaf, [n, c] + osp, align_corners=corners) if affine else leaf
            out = lib.nn.functional.grid_sample(xs, grid, mode=mode, padding_mode=pm, align_corners=corners)
            w = lib.tensor(np.random.RandomState(1).standard_normal(tuple(out.shape)).astype(dt))
            (out * w).sum().backward()
            got.append([out.detach().numpy(), xs.grad.numpy(), leaf.grad.numpy()])
        tol = 1e-4 if dt == np.float32 else 1e-10
        for a, b in zip(*got):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol, err_msg=f"{sp} {osp} {mode} {pm} {corners} {affine}")
