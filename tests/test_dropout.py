"""Dropout, Dropout2d, AlphaDropout: kernels against eigengrad.reference.dropout (the same Philox draw),
binding checks, the acceptance statistics, thread independence, forward mask == backward mask,
gradcheck with a fixed mask, and mc_dropout_predict."""
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

SHAPES = [(0,), (1,), (3,), (7,), (13, 31), (1000, 257), (3, 0, 5), (65537,)]
SHAPE_IDS = ["0", "1", "3", "7", "13x31", "1000x257", "3x0x5", "65537"]
ALPHA = 1.7580993408473766


def alpha_coefs(p):
    a = 1.0 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    return a, ALPHA * a * p, -(ALPHA * a) + ALPHA * a * p


# --- kernels vs reference ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_kernel_matches_reference(rng, dtype, shape, p):
    x = rng.standard_normal(shape).astype(dtype)
    thr, scale, seed, offset = K.keep_threshold(p), 1 / (1 - p), 12345678901, 17
    y, mask = K.dropout(x, seed, offset, thr, scale)
    y_ref, mask_ref = ref.dropout_forward(x, seed, offset, thr, scale)
    np.testing.assert_array_equal(mask, mask_ref)
    assert y.dtype == np.dtype(dtype) and y.shape == shape
    assert_close(y, y_ref, dtype)
    np.testing.assert_array_equal(y, y_ref)  # one multiplication by the same scale: exact
    g = rng.standard_normal(shape).astype(dtype)
    gx = K.masked_scale(g.reshape(-1, 1), mask, scale, dtype).reshape(shape)
    np.testing.assert_array_equal(gx, ref.dropout_backward(g, mask, scale))
    if x.size > 1000:
        assert abs(mask.mean() - (1 - p)) < 0.05


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_alpha_dropout_kernel_matches_reference(rng, dtype, shape):
    p = 0.2
    x = rng.standard_normal(shape).astype(dtype)
    a, bk, bd = alpha_coefs(p)
    y, mask = K.alpha_dropout(x, 3, 99, K.keep_threshold(p), a, bk, bd)
    y_ref, mask_ref = ref.alpha_dropout_forward(x, 3, 99, K.keep_threshold(p), a, bk, bd)
    np.testing.assert_array_equal(mask, mask_ref)
    assert_close(y, y_ref, dtype)
    y64, _ = ref.alpha_dropout_forward(x.astype(np.float64), 3, 99, K.keep_threshold(p), a, bk, bd)
    assert_close(y, y64, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    gx = K.masked_scale(g.reshape(-1, 1), mask, a, dtype).reshape(shape)
    assert_close(gx, ref.alpha_dropout_backward(g, mask, a), dtype)


@pytest.mark.parametrize("rows_inner", [(0, 5), (1, 1), (7, 3), (13, 784), (2048, 1), (3, 0)])
def test_feature_dropout_kernel_matches_reference(rng, dtype, rows_inner):
    x = rng.standard_normal(rows_inner).astype(dtype)
    thr = K.keep_threshold(0.5)
    y, mask = K.feature_dropout(x, 5, 1000, thr, 2.0)
    y_ref, mask_ref = ref.feature_dropout_forward(x, 5, 1000, thr, 2.0)
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)
    g = rng.standard_normal(rows_inner).astype(dtype)
    np.testing.assert_array_equal(K.masked_scale(g, mask, 2.0, dtype), ref.feature_dropout_backward(g, mask, 2.0))


def test_mask_is_the_philox_draw():
    """Element i is word i % 4 of block offset + i // 4: checked against the scalar Philox of _C."""
    seed, offset = 2**64 - 5, 2**40 + 3
    mask = K.bernoulli_mask(10, seed, offset, 2**31)
    for i in range(10):
        word = _C.philox4x32(offset + i // 4, 0, seed)[i % 4]
        assert mask[i] == (word < 2**31)


def test_non_contiguous_input(rng, dtype):
    base = rng.standard_normal((40, 90)).astype(dtype)
    for x in (base[::2, ::3], base.T, np.asfortranarray(base[:13, :31])):
        y, m = K.dropout(x, 1, 2, K.keep_threshold(0.3), 1 / 0.7)
        y2, m2 = K.dropout(np.ascontiguousarray(x), 1, 2, K.keep_threshold(0.3), 1 / 0.7)
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(m, m2)
        t = eg.from_numpy(x).requires_grad_()
        out = F.dropout(t, 0.3, generator=eg.Generator(4))
        out.backward(eg.ones_like(out))
        expect = ref.dropout_forward(np.ascontiguousarray(x), 4, 0, K.keep_threshold(0.3), 1 / 0.7)[0]
        np.testing.assert_array_equal(out.detach().numpy(), expect)
        assert_close(t.grad.numpy(), np.where(expect != 0, 1 / 0.7, 0), dtype)


def test_threshold_extremes(dtype):
    x = np.ones(1000, dtype)
    y, m = K.dropout(x, 1, 0, 2**32, 1.0)
    assert m.all() and (y == 1).all()
    y, m = K.dropout(x, 1, 0, 0, 0.0)
    assert not m.any() and (y == 0).all()


# --- binding checks --------------------------------------------------------------------------------

def test_binding_checks():
    x = np.ones(8, np.float32)
    out, mask = np.empty_like(x), np.empty(8, np.uint8)
    with pytest.raises(ValueError, match=r"^threshold: expected 0 <= threshold <= 2\*\*32"):
        _C.dropout_forward(x, out, mask, 0, 0, 2**32 + 1, 1.0)
    with pytest.raises(TypeError, match=r"^mask: expected a uint8 array, got dtype bool"):
        _C.dropout_forward(x, out, np.empty(8, bool), 0, 0, 5, 1.0)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(8,\), got \(7,\)"):
        _C.dropout_forward(x, out, np.empty(7, np.uint8), 0, 0, 5, 1.0)
    with pytest.raises(TypeError, match=r"^out: expected dtype float32"):
        _C.dropout_forward(x, np.empty(8), mask, 0, 0, 5, 1.0)
    ro = np.empty(8, np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^mask: expected a writeable"):
        _C.dropout_forward(x, out, ro, 0, 0, 5, 1.0)
    with pytest.raises(ValueError, match=r"^out: expected a C-contiguous"):
        _C.dropout_forward(x, np.empty(16, np.float32)[::2], mask, 0, 0, 5, 1.0)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(2,\)"):
        _C.masked_scale(np.ones((2, 4)), np.ones(3, np.uint8), np.empty((2, 4)), 1.0)
    with pytest.raises(ValueError, match=r"^x: expected a 2-D array"):
        _C.feature_dropout_forward(x, out, mask, 0, 0, 5, 1.0)
    # in place is allowed
    x2 = np.arange(8, dtype=np.float64)
    _C.dropout_forward(x2, x2, mask, 0, 0, 2**32, 2.0)
    np.testing.assert_array_equal(x2, 2 * np.arange(8))


# --- functional and modules: semantics ---------------------------------------------------------------

@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_p_out_of_range(p):
    x = eg.ones(3)
    for fn in (F.dropout, F.dropout2d, F.alpha_dropout):
        with pytest.raises(ValueError, match=r"^p: dropout probability has to be between 0 and 1"):
            fn(eg.ones(2, 3, 4, 1) if fn is F.dropout2d else x, p)
    for cls in (nn.Dropout, nn.Dropout2d, nn.AlphaDropout):
        with pytest.raises(ValueError, match=r"^p:"):
            cls(p)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_eval_is_identity(p, dtype):
    x = eg.tensor(np.random.default_rng(0).standard_normal((5, 6, 2, 2)).astype(dtype))
    for m in (nn.Dropout(p), nn.Dropout2d(p), nn.AlphaDropout(p)):
        m.eval()
        np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    for fn in (F.dropout, F.dropout2d, F.alpha_dropout):
        np.testing.assert_array_equal(fn(x, p, training=False).numpy(), x.numpy())


def test_p_zero_is_identity_and_p_one_zeros():
    x = eg.tensor(np.random.default_rng(0).standard_normal((4, 3, 2, 2)), requires_grad=True)
    for fn in (F.dropout, F.dropout2d):
        np.testing.assert_array_equal(fn(x, 0.0).detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(F.alpha_dropout(x, 0.0, training=True).detach().numpy(), x.detach().numpy())
    for fn, kw in ((F.dropout, {}), (F.dropout2d, {}), (F.alpha_dropout, {"training": True})):
        y = fn(x, 1.0, **kw)
        np.testing.assert_array_equal(y.detach().numpy(), 0)
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), 0)
        x.grad = None


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8, 0.95])
def test_kept_fraction_within_three_standard_errors(p):
    n = 10**6
    eg.manual_seed(2024)
    y = F.dropout(eg.ones(n), p).numpy()
    kept = np.count_nonzero(y)
    se = math.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) <= 3 * se, (kept, n * (1 - p), se)
    np.testing.assert_allclose(y[y != 0], np.float32(1 / (1 - p)), rtol=1e-7)
    # the mean is preserved (inverted dropout): E[y] = 1, sd of the mean sqrt(p / (1-p) / n)
    assert abs(y.astype(np.float64).mean() - 1) <= 4 * math.sqrt(p / (1 - p) / n)


def test_same_seed_same_mask_on_one_and_two_threads(restore_threads):
    x = eg.ones(10**6 + 3, dtype=eg.float64)
    masks = []
    for threads in (1, 2):
        eg.set_num_threads(threads)
        masks.append(F.dropout(x, 0.4, generator=eg.Generator(77)).numpy())
        eg.set_num_threads(threads)
        eg.manual_seed(5)
        masks.append(F.dropout2d(eg.ones(64, 512, 1, 3), 0.4).numpy())
        masks.append(F.alpha_dropout(x, 0.4, training=True, generator=eg.Generator(78)).numpy())
    for a, b in zip(masks[:3], masks[3:]):
        np.testing.assert_array_equal(a, b)
    assert 0.55 < np.mean(masks[0] != 0) < 0.65


def test_seed_repeats_and_the_generator_advances():
    x = eg.ones(1001)
    g = eg.Generator(3)
    a = F.dropout(x, 0.5, generator=g).numpy()
    assert g._offset == 1001
    b = F.dropout(x, 0.5, generator=g).numpy()
    assert g._offset == 2002
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=eg.Generator(3)).numpy(), a)
    eg.manual_seed(11)
    c = nn.Dropout(0.5)(x).numpy()
    eg.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).numpy(), c)


@pytest.mark.parametrize("kind", ["dropout", "dropout2d", "alpha_dropout"])
def test_forward_mask_is_backward_mask(kind, dtype):
    rng = np.random.default_rng(3)
    x = eg.tensor(rng.standard_normal((8, 16, 5, 3)).astype(dtype), requires_grad=True)
    p = 0.4
    if kind == "dropout":
        y = F.dropout(x, p)
        kept = y.detach().numpy() != 0
        coef = 1 / (1 - p)
    elif kind == "dropout2d":
        y = F.dropout2d(x, p)
        kept = y.detach().numpy() != 0
        coef = 1 / (1 - p)
    else:
        y = F.alpha_dropout(x, p, training=True)
        a, bk, bd = alpha_coefs(p)
        kept = y.detach().numpy() != np.asarray(bd, dtype)
        coef = a
    eg.manual_seed(999)  # the backward must not draw again
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(eg.tensor(g))
    assert 0.45 < kept.mean() < 0.75
    assert_close(x.grad.numpy(), np.where(kept, g * coef, 0), dtype)
    np.testing.assert_array_equal(x.grad.numpy() == 0, ~kept)


@pytest.mark.parametrize("shape", [(4, 6, 5, 7), (6, 5, 7), (2, 3, 1, 1), (0, 3, 2, 2), (40, 5), (2, 3, 2, 2, 3)])
@pytest.mark.filterwarnings("ignore:dropout2d")
def test_dropout2d_zeroes_whole_channels(shape):
    """A channel is (n, c) of dims 0 and 1, everything after it its features (PyTorch's rule for any rank)."""
    x = eg.tensor(np.random.default_rng(1).uniform(1, 2, shape))
    y = F.dropout2d(x, 0.5).numpy()
    planes = y.reshape(shape[0] * shape[1], int(np.prod(shape[2:])))
    zero = (planes == 0).all(axis=1)
    assert np.all(zero | (planes != 0).all(axis=1)), "a channel was partly zeroed"
    np.testing.assert_allclose(planes[~zero], 2 * x.numpy().reshape(planes.shape)[~zero], rtol=1e-15)
    if planes.shape[0] >= 20:
        assert 0 < zero.sum() < planes.shape[0]


@pytest.mark.parametrize("shape,warnings_expected", [((4, 5), 1), ((2, 3, 4), 1), ((2, 3, 4, 5), 0),
                                                     ((2, 3, 4, 5, 6), 1)])
def test_dropout2d_warns_and_runs_for_other_ranks_as_torch(shape, warnings_expected):
    """PyTorch 2.13 warns for input that is not 4-D (3-D: a different warning) and runs, also in eval mode and in
    the module; fewer than 2 dims is its RuntimeError."""
    import warnings

    for call in (lambda x: F.dropout2d(x, 0.5), lambda x: F.dropout2d(x, 0.5, training=False),
                 lambda x: nn.Dropout2d(0.5)(x)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = call(eg.ones(*shape))
        assert y.shape == shape
        assert len(caught) == warnings_expected, [str(w.message) for w in caught]
        for w in caught:
            assert issubclass(w.category, UserWarning)
            assert str(w.message).startswith("dropout2d: Received a ")
    for shape in ((5,), ()):
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions in the input"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                F.dropout2d(eg.ones(*shape), 0.5)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (2, 3, 4, 5, 6)])
def test_dropout2d_leniency_matches_torch(shape):
    """Side by side with PyTorch 2.13: the same warnings (category and text) for the same input, the same kept
    groups (the elements of one (n, c) channel are kept or dropped together), the same scale of the kept."""
    import warnings

    torch = pytest.importorskip("torch", reason="compares Dropout2d's warnings with PyTorch's")
    x = np.random.default_rng(3).uniform(1, 2, shape)
    outs = {}
    for name, lib, layer in (("eg", eg, nn.Dropout2d(0.5)), ("torch", torch, torch.nn.Dropout2d(0.5))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = layer(lib.tensor(x))
        outs[name] = (np.asarray(y.detach().numpy() if name == "torch" else y.numpy()),
                      [(w.category, str(w.message)) for w in caught])
    (y_eg, w_eg), (y_t, w_t) = outs["eg"], outs["torch"]
    assert w_eg == w_t
    for y in (y_eg, y_t):
        planes = y.reshape(shape[0] * shape[1], -1)
        zero = (planes == 0).all(axis=1)
        assert np.all(zero | (planes != 0).all(axis=1))
        np.testing.assert_allclose(planes[~zero], 2 * x.reshape(planes.shape)[~zero], rtol=1e-15)


def test_alpha_dropout_keeps_mean_and_variance():
    eg.manual_seed(0)
    x = eg.tensor(np.random.default_rng(0).standard_normal(10**6))
    for p in (0.05, 0.2, 0.5):
        y = F.alpha_dropout(x, p, training=True).numpy()
        assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01, (p, y.mean(), y.var())


def test_dropout_gradcheck_with_fixed_mask():
    rng = np.random.default_rng(0)
    x = eg.tensor(rng.standard_normal((5, 7)), requires_grad=True)
    x4 = eg.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    assert gradcheck(lambda t: F.dropout(t, 0.4, generator=eg.Generator(7)), (x,))
    assert gradcheck(lambda t: F.alpha_dropout(t, 0.4, training=True, generator=eg.Generator(7)), (x,))
    assert gradcheck(lambda t: F.dropout2d(t, 0.4, generator=eg.Generator(8)), (x4,))
    assert gradcheck(lambda t: F.dropout(t * t, 0.5, generator=eg.Generator(9)).sum(), (x,))


def test_float32_mask_and_dtype_preserved():
    x = eg.ones(5, 5)
    for y in (F.dropout(x), F.alpha_dropout(x, training=True), F.dropout2d(eg.ones(2, 5, 5, 1))):
        assert y.dtype == np.float32
    with pytest.raises(TypeError, match=r"^input: expected a float32 or float64"):
        F.dropout(eg.tensor(np.arange(4)), 0.5)


def test_repr():
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"


# --- MC dropout --------------------------------------------------------------------------------------

class ModeProbe(nn.Module):
    """Records its own training flag at each forward."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


def test_mc_dropout_predict_variance_and_modes():
    eg.manual_seed(0)
    probe = ModeProbe()
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), probe, nn.Linear(32, 3))
    x = eg.tensor(np.random.default_rng(0).standard_normal((10, 6)).astype(np.float32))
    model.train()
    model[4].eval()  # a mixed state must come back as it was
    before = [m.training for m in model.modules()]
    mean, var = nn.mc_dropout_predict(model, x, 30)
    assert [m.training for m in model.modules()] == before
    assert probe.seen == [False] * 30  # the other modules ran in eval mode
    assert mean.shape == (10, 3) and var.shape == (10, 3) and var.dtype == np.float32
    assert (var.numpy() > 0).all()
    # the mean and variance are those of the samples: repeat the draws by hand
    eg.manual_seed(0)
    m2 = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), nn.Identity(), nn.Linear(32, 3))
    m2.load_state_dict({k: v.numpy() for k, v in model.state_dict().items()})
    eg.manual_seed(42)
    mean, var = nn.mc_dropout_predict(model, x, 30)
    eg.manual_seed(42)
    samples = np.stack([m2(x).detach().numpy().astype(np.float64) for _ in range(30)])
    np.testing.assert_allclose(mean.numpy(), samples.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.numpy(), samples.var(0), rtol=1e-4, atol=1e-6)


def test_mc_dropout_predict_without_dropout_has_zero_variance():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    x = eg.randn(3, 4)
    mean, var = nn.mc_dropout_predict(model, x, 5)
    np.testing.assert_array_equal(var.numpy(), 0)
    model.eval()
    np.testing.assert_array_equal(mean.detach().numpy(), model(x).detach().numpy())
    assert model.training is False
    with_p0 = nn.Sequential(nn.Linear(4, 5), nn.Dropout(0.0), nn.Linear(5, 2))
    np.testing.assert_array_equal(nn.mc_dropout_predict(with_p0, x, 4)[1].numpy(), 0)


def test_mc_dropout_predict_restores_modes_on_error_and_checks_arguments():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Dropout(0.5), Boom())
    model.eval()
    with pytest.raises(RuntimeError, match="boom"):
        nn.mc_dropout_predict(model, eg.ones(2), 3)
    assert all(not m.training for m in model.modules())
    with pytest.raises(ValueError, match=r"^n_samples: expected a positive int, got 0"):
        nn.mc_dropout_predict(model, eg.ones(2), 0)
    with pytest.raises(TypeError, match=r"^model:"):
        nn.mc_dropout_predict(lambda x: x, eg.ones(2), 3)


def test_mc_dropout_predict_does_not_record_a_graph():
    model = nn.Sequential(nn.Linear(3, 4), nn.AlphaDropout(0.3), nn.Dropout2d(0.0) if False else nn.Identity())
    mean, var = nn.mc_dropout_predict(model, eg.randn(5, 3), 4)
    assert not mean.requires_grad and mean.grad_fn is None
    assert (var.numpy() > 0).any()


@pytest.mark.parametrize("offset", [2**32 - 5, 2**33 - 100, 2**64 - 300])
def test_counter_carry_across_32_bits(offset):
    """The vectorised Philox builds eight counters at once: a carry into the high word must be exact."""
    n = 1203
    np.testing.assert_array_equal(K.bernoulli_mask(n, 9, offset, 2**31),
                                  ref.bernoulli_mask(n, 9, offset, 2**31))


def test_feature_alpha_dropout_keeps_or_saturates_whole_channels():
    rs = np.random.RandomState(0)
    x = eg.tensor(rs.randn(400, 6, 5), requires_grad=True)
    layer = eg.nn.FeatureAlphaDropout(0.3)
    y = layer(x)
    y.sum().backward()
    p, alpha = 0.3, 1.7580993408473766
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = (x.grad.numpy() != 0)
    assert np.all(keep == keep[:, :, :1])  # one draw per channel
    assert abs(1 - keep[:, :, 0].mean() - p) < 0.03
    expect = np.where(keep, x.detach().numpy() * a + alpha * a * p, -alpha * a + alpha * a * p)
    np.testing.assert_allclose(y.detach().numpy(), expect, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, a, 0.0), rtol=1e-12)
    layer.eval()
    assert layer(x) is x
    assert F.feature_alpha_dropout(x, 1.0, True).abs().sum().item() == 0.0
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(eg.ones(3), 0.5, True)
