"""Parity with PyTorch for interpolate / Upsample (nearest, nearest-exact, linear, bilinear with and
without align_corners, area; size or scale_factor, recompute_scale_factor; 1-D and 2-D, up and down,
odd sizes, batch 1, outputs on both of PyTorch's nearest paths), UpsamplingNearest2d,
UpsamplingBilinear2d, PixelShuffle and PixelUnshuffle: outputs and input gradients, float64 to 1e-10,
float32 to 1e-5.

Nearest gradients are compared with the adjoint of PyTorch's forward (its source of every output, read
off an index-coded input): PyTorch's CPU backward always uses its legacy indices while its forward uses
its general ones for large outputs, so in the last bit of a few coordinates its gradient is not its
output's. Where the two agree (nearly always) the test also compares with PyTorch's gradient."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from eigengrad import nn  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
assert_rel = make_assert_rel(TOL)
TF = torch.nn.functional
DTYPES = pytest.mark.parametrize("dt", [np.float64, np.float32], ids=["float64", "float32"])


def choice(r, options):
    return options[int(r.integers(len(options)))]


def draw(r, seed):
    """(input shape, interpolate's keyword arguments) for seed."""
    dims = 1 + seed % 2
    mode = choice(r, ["nearest", "nearest-exact", "linear" if dims == 1 else "bilinear", "area"]
                  + ([] if dims == 1 else ["bicubic"]))
    spatial = tuple(int(r.integers(1, 14)) for _ in range(dims))
    kw = dict(mode=mode)
    if mode in ("linear", "bilinear", "bicubic"):
        kw["align_corners"] = choice(r, [None, False, True])
    big = r.random() < 0.25  # PyTorch's general nearest path (oh + ow > 128)
    if r.random() < 0.5:
        kw["size"] = tuple(int(r.integers(60, 90)) if big else int(r.integers(1, 30)) for _ in range(dims))
        if dims == 1 and r.random() < 0.5:
            kw["size"] = kw["size"][0]
    else:
        factors = [0.37, 0.5, 0.7, 1.0, 1.1, 1.3, 1.7, 2.0, 2.3, 2.9, 3.0]
        kw["scale_factor"] = tuple(choice(r, factors) * (6 if big else 1) for _ in range(dims))
        if r.random() < 0.3:
            kw["scale_factor"] = kw["scale_factor"][0]
        kw["recompute_scale_factor"] = choice(r, [None, False, True])
        scales = kw["scale_factor"] if isinstance(kw["scale_factor"], tuple) else (kw["scale_factor"],) * dims
        spatial = tuple(max(n, math.ceil(1 / s)) for n, s in zip(spatial, scales))  # a non-empty output
    shape = choice(r, [(1, 1), (2, 3), (1, 4)]) + spatial
    return shape, kw


def nearest_adjoint(x_shape, dt, kw, dy):
    """The gradient PyTorch's forward implies: dy added at the source of every output."""
    n, c = x_shape[:2]
    size = math.prod(x_shape[2:])
    code = torch.arange(size, dtype={np.float64: torch.float64, np.float32: torch.float32}[dt])
    src = TF.interpolate(code.reshape((1, 1) + x_shape[2:]).expand(x_shape).contiguous(), **kw)
    src = src.reshape(n * c, -1).numpy().astype(np.int64)
    g = np.zeros((n * c, size), dt)
    np.add.at(g, (np.arange(n * c)[:, None], src), dy.reshape(n * c, -1))
    return g.reshape(x_shape)


@DTYPES
@pytest.mark.parametrize("seed", range(80))
def test_interpolate_random_options_match_torch(dt, seed):
    r = np.random.default_rng(seed)
    shape, kw = draw(r, seed)
    x = r.standard_normal(shape).astype(dt)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ty = TF.interpolate(tx, **kw)
    ey = F.interpolate(ex, **kw)
    what = f"{shape} {kw}"
    assert_rel(ey, ty, dt, "output " + what)
    dy = r.standard_normal(tuple(ty.shape)).astype(dt)
    ey.backward(eg.from_numpy(dy))
    ty.backward(torch.from_numpy(dy))
    if kw["mode"].startswith("nearest"):
        adjoint = nearest_adjoint(shape, dt, kw, dy)
        assert_rel(ex.grad, adjoint, dt, "input grad (the adjoint of torch's forward) " + what)
        if np.array_equal(adjoint, tx.grad.numpy()):
            assert_rel(ex.grad, tx.grad, dt, "input grad " + what)
    else:
        assert_rel(ex.grad, tx.grad, dt, "input grad " + what)


@DTYPES
@pytest.mark.parametrize("seed", range(24))
def test_trilinear_random_options_match_torch(dt, seed):
    """mode='trilinear' on 5-D input (sizes or scale factors, align_corners None/False/True, recomputed scales):
    outputs and input gradients against PyTorch's."""
    r = np.random.default_rng(1000 + seed)
    shape = (int(r.integers(1, 3)), int(r.integers(1, 3))) + tuple(int(r.integers(1, 7)) for _ in range(3))
    kw = dict(mode="trilinear", align_corners=choice(r, [None, False, True]))
    if seed % 2:
        kw["size"] = tuple(int(r.integers(1, 10)) for _ in range(3))
    else:
        kw["scale_factor"] = tuple(choice(r, [0.7, 1.0, 1.5, 2.0, 2.6]) for _ in range(3))
        kw["recompute_scale_factor"] = choice(r, [None, False, True])
        shape = shape[:2] + tuple(max(n, 2) for n in shape[2:])  # a non-empty output at the scale 0.7
    x = r.standard_normal(shape).astype(dt)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ty, ey = TF.interpolate(tx, **kw), F.interpolate(ex, **kw)
    what = f"{shape} {kw}"
    assert_rel(ey, ty, dt, "output " + what)
    dy = r.standard_normal(tuple(ty.shape)).astype(dt)
    ey.backward(eg.from_numpy(dy))
    ty.backward(torch.from_numpy(dy))
    assert_rel(ex.grad, tx.grad, dt, "input grad " + what)


def interpolate_both(x, dt, kw, r):
    """(eigengrad input, its output, torch input, torch output) of interpolate, and backward of one random dy."""
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ty, ey = TF.interpolate(tx, **kw), F.interpolate(ex, **kw)
    dy = r.standard_normal(tuple(ty.shape)).astype(dt)
    ey.backward(eg.from_numpy(dy))
    ty.backward(torch.from_numpy(dy))
    return ex, ey, tx, ty, dy


@DTYPES
@pytest.mark.parametrize("seed", range(60))
def test_antialias_random_options_match_torch(dt, seed):
    """antialias=True (bilinear, bicubic, lanczos on 4-D input; up and down, sizes or scale factors,
    align_corners): outputs and input gradients against PyTorch's.

    PyTorch's anti-aliased forward is wrong when the output width is 1 (every output row repeats the first:
    its gradient, the same weights' adjoint, is right); there the output is compared with PyTorch's on the
    transposed input."""
    r = np.random.default_rng(2000 + seed)
    mode = ("bilinear", "bicubic", "lanczos")[seed % 3]
    shape = (int(r.integers(1, 3)), int(r.integers(1, 3)), int(r.integers(1, 40)), int(r.integers(1, 40)))
    kw = dict(mode=mode, antialias=True)
    if mode != "lanczos" and r.random() < 0.3:
        kw["align_corners"] = bool(r.integers(2))
    if seed % 2:
        kw["size"] = (int(r.integers(1, 50)), int(r.integers(1, 50)))
    else:
        kw["scale_factor"] = tuple(choice(r, [0.13, 0.3, 0.37, 0.5, 0.7, 1.0, 1.3, 2.0, 2.7]) for _ in range(2))
        kw["recompute_scale_factor"] = choice(r, [None, False, True])
        shape = shape[:2] + tuple(max(n, math.ceil(1 / s)) for n, s in zip(shape[2:], kw["scale_factor"]))
    x = r.standard_normal(shape).astype(dt)
    ex, ey, tx, ty, dy = interpolate_both(x, dt, kw, r)
    what = f"{shape} {kw}"
    want = ty.detach().numpy()
    if ey.shape[-1] == 1 and ey.shape[-2] > 1:
        tkw = {k: (v[::-1] if isinstance(v, tuple) else v) for k, v in kw.items()}
        want = TF.interpolate(torch.tensor(x).mT, **tkw).mT.numpy()
    elif ey.shape[-1] == 1:  # a 1 x 1 output: the input weighted by PyTorch's gradient's weights (dx = dy w)
        want = (x * tx.grad.numpy()).sum((2, 3), keepdims=True) / dy
    assert_rel(ey, want, dt, "output " + what)
    assert_rel(ex.grad, tx.grad, dt, "input grad " + what)


def test_torch_antialias_forward_is_wrong_for_width_one_outputs():
    # why the test above compares width-1 outputs with the transposed call: PyTorch repeats its first row
    x = torch.arange(25.0, dtype=torch.float64).view(1, 1, 25, 1)
    y = TF.interpolate(x, size=(9, 1), mode="bilinear", antialias=True)
    assert torch.all(y == y[0, 0, 0, 0])
    want = TF.interpolate(x.mT, size=(1, 9), mode="bilinear", antialias=True).mT
    assert want[0, 0, -1, 0] > 20  # the last rows average the last inputs
    np.testing.assert_allclose(F.interpolate(eg.tensor(x.numpy()), size=(9, 1), mode="bilinear",
                                             antialias=True).numpy(), want.numpy(), rtol=1e-12)


@DTYPES
@pytest.mark.parametrize("seed", range(30))
def test_nearest_and_area_on_5d_match_torch(dt, seed):
    """nearest, nearest-exact and area on (N, C, D, H, W): outputs against PyTorch's, gradients against the
    adjoint of its forward (nearest: PyTorch's backward takes its legacy indices, see above) or its own (area)."""
    r = np.random.default_rng(3000 + seed)
    mode = ("nearest", "nearest-exact", "area")[seed % 3]
    shape = (int(r.integers(1, 3)), int(r.integers(1, 3))) + tuple(int(r.integers(1, 12)) for _ in range(3))
    kw = dict(mode=mode)
    if seed % 2 or mode == "area":
        kw["size"] = tuple(int(r.integers(1, 30)) for _ in range(3))
    else:
        kw["scale_factor"] = tuple(choice(r, [0.37, 0.5, 0.7, 1.0, 1.3, 2.0, 2.7, 3.0]) for _ in range(3))
        kw["recompute_scale_factor"] = choice(r, [None, False, True])
        shape = shape[:2] + tuple(max(n, math.ceil(1 / s)) for n, s in zip(shape[2:], kw["scale_factor"]))
    x = r.standard_normal(shape).astype(dt)
    ex, ey, tx, ty, dy = interpolate_both(x, dt, kw, r)
    what = f"{shape} {kw}"
    assert_rel(ey, ty, dt, "output " + what)
    want = nearest_adjoint(shape, dt, kw, dy) if mode != "area" else tx.grad
    assert_rel(ex.grad, want, dt, "input grad " + what)


@pytest.mark.parametrize("mode, ndim", [("bicubic", 3), ("trilinear", 4), ("bilinear", 5)])
def test_modes_on_the_wrong_rank_raise_as_torch(mode, ndim):
    """A mode given input of another rank: refused by both; eigengrad's error is a ValueError naming the input
    (bad input, its rule), PyTorch's is its own exception type with the same message."""
    x = np.ones((1, 1) + (3,) * (ndim - 2))
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.tensor(x), scale_factor=2, mode=mode)
    with pytest.raises(ValueError, match=f"input: Got {ndim}D input, but {mode} mode needs"):
        F.interpolate(eg.tensor(x), scale_factor=2, mode=mode)


def test_torch_nearest_backward_is_not_always_its_forwards_adjoint():
    # why the test above compares with the adjoint: PyTorch's general forward rule reads input 30 for output
    # 69 of 31 -> 71 at scale 2.3 in float64, its backward sends that output's gradient to input 29
    x = torch.zeros(1, 1, 1, 31, dtype=torch.float64, requires_grad=True)
    y = TF.interpolate(x, scale_factor=(1.0, 2.3), mode="nearest")
    dy = torch.zeros_like(y)
    dy[0, 0, 0, 69] = 1
    y.backward(dy)
    assert y.shape[-1] == 71 and x.grad[0, 0, 0, 29] == 1  # torch's backward: 29
    src = TF.interpolate(torch.arange(31.0, dtype=torch.float64).view(1, 1, 1, 31), scale_factor=(1.0, 2.3),
                         mode="nearest")
    assert src[0, 0, 0, 69] == 29  # small output (1 + 71 <= 128): the legacy rule, consistent
    big = TF.interpolate(torch.arange(31.0, dtype=torch.float64).view(1, 1, 1, 31).expand(1, 1, 70, 31),
                         scale_factor=(1.0, 2.3), mode="nearest")
    assert big[0, 0, 0, 69] == 30  # large output (70 + 71 > 128): the general rule reads 30
    ex = eg.tensor(np.zeros((1, 1, 70, 31)), requires_grad=True)
    ey = F.interpolate(ex, scale_factor=(1.0, 2.3), mode="nearest")
    g = np.zeros(ey.shape)
    g[0, 0, 0, 69] = 1
    ey.backward(eg.from_numpy(g))
    assert ex.grad.numpy()[0, 0, 0, 30] == 1  # eigengrad: the source its forward read


@pytest.mark.parametrize("name,kw", [("Upsample", dict(scale_factor=2, mode="nearest")),
                                     ("Upsample", dict(size=(7, 5), mode="bilinear", align_corners=True)),
                                     ("Upsample", dict(scale_factor=(1.5, 0.5), mode="bilinear")),
                                     ("UpsamplingNearest2d", dict(size=9)),
                                     ("UpsamplingBilinear2d", dict(scale_factor=3))])
def test_upsampling_modules_match_torch(rng, name, kw):
    x = rng.standard_normal((2, 3, 4, 6))
    em, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(em) == repr(tm)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = em(ex), tm(tx)
    assert_rel(ey, ty, np.float64, name)
    dy = rng.standard_normal(tuple(ty.shape))
    ey.backward(eg.from_numpy(dy))
    ty.backward(torch.from_numpy(dy))
    assert_rel(ex.grad, tx.grad, np.float64, name)


@DTYPES
@pytest.mark.parametrize("shape,r", [((2, 8, 3, 5), 2), ((1, 9, 4, 4), 3), ((2, 3, 4, 5, 7), 1), ((4, 3, 2), 1)])
def test_pixel_shuffle_round_trip_matches_torch(rng, dt, shape, r):
    x = rng.standard_normal(shape).astype(dt)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = nn.PixelShuffle(r)(ex), torch.nn.PixelShuffle(r)(tx)
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    back_e, back_t = nn.PixelUnshuffle(r)(ey), torch.nn.PixelUnshuffle(r)(ty)
    np.testing.assert_array_equal(back_e.detach().numpy(), x)
    np.testing.assert_array_equal(back_t.detach().numpy(), x)
    dy = rng.standard_normal(tuple(ty.shape)).astype(dt)
    ey.backward(eg.from_numpy(dy))
    ty.backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_errors_where_torch_errors(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    cases = [  # (arguments, PyTorch's error, eigengrad's error)
        (dict(size=3, scale_factor=2), ValueError, ValueError),
        (dict(), ValueError, ValueError),
        (dict(size=(2, 3, 4)), ValueError, ValueError),
        (dict(scale_factor=2, mode="nearest", align_corners=True), ValueError, ValueError),
        (dict(size=4, recompute_scale_factor=True), ValueError, ValueError),
        # a mode on input of the wrong rank: PyTorch's own exception type for it; eigengrad's ValueError
        (dict(scale_factor=2, mode="linear"), NotImplementedError, ValueError),
    ]
    for kw, theirs, ours in cases:
        with pytest.raises(theirs):
            TF.interpolate(torch.from_numpy(x), **kw)
        with pytest.raises(ours):
            F.interpolate(eg.from_numpy(x), **kw)
    for fn in ("pixel_shuffle", "pixel_unshuffle"):
        with pytest.raises(RuntimeError):
            getattr(TF, fn)(torch.from_numpy(x[:, :, :3]), 3)
        with pytest.raises(ValueError):
            getattr(F, fn)(eg.from_numpy(x[:, :, :3]), 3)


def test_nearest_forward_takes_pytorchs_legacy_indices_for_small_outputs():
    """PyTorch's CPU nearest forward uses its legacy index rule when oh + ow <= 128; the forward passed the
    rule to the backward only, and 30 of 2,960 random small draws differed from PyTorch's outputs."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(600):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        size = tuple(int(v) for v in rng.integers(1, 64, 2)) if rng.random() < 0.5 else None
        sf = None if size else float(rng.choice([0.3, 0.7, 1.3, 1.7, 2.5, 3.1, 0.51]))
        x = rng.standard_normal((1, 2, h, w))
        try:
            want = TF.interpolate(torch.from_numpy(x), size=size, scale_factor=sf, mode="nearest").numpy()
        except RuntimeError:  # an empty output: both refuse it
            continue
        got = F.interpolate(eg.from_numpy(x), size=size, scale_factor=sf, mode="nearest").numpy()
        np.testing.assert_array_equal(got, want, err_msg=f"input {h}x{w}, size {size}, scale {sf}")
        checked += 1
    assert checked > 500
