"""Losses: the new kernels (weighted / label-smoothed softmax cross-entropy, BCE with logits) against the
NumPy reference, gradcheck of every loss and reduction in float64, known values, and argument errors."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import _kernels, nn
from eigengrad._kernels import _C
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck

REDUCTIONS = ("mean", "sum", "none")
CE_SHAPES = [(1, 1), (1, 10), (7, 1), (7, 13), (31, 97), (97, 7), (300, 10), (5, 1031), (0, 5)]


# --- weighted / label-smoothed cross-entropy kernel -------------------------------------------------

@pytest.mark.parametrize("n,c", CE_SHAPES, ids=[f"{n}x{c}" for n, c in CE_SHAPES])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
def test_weighted_ce_kernel_matches_reference(rng, dtype, n, c, weighted, eps):
    x = (rng.standard_normal((n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, n).astype(np.int64)
    if n > 2:
        t[1] = -100
    w = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    loss, lse = _kernels.weighted_softmax_cross_entropy(x, t, w, eps, -100)
    w64 = None if w is None else w.astype(np.float64)
    e_loss, e_lse = ref.weighted_softmax_cross_entropy_forward(x.astype(np.float64), t, w64, eps)
    assert loss.dtype == dtype and loss.shape == (n,)
    assert_close(lse, e_lse, dtype)
    scale = max(float(np.max(np.abs(e_lse), initial=0)), float(np.max(np.abs(x), initial=0)), 1e-30) * 2
    assert_close(loss, e_loss, dtype, scale=scale * (1 if w is None else float(w.max())))
    if n > 2:
        assert loss[1] == 0
    s = rng.uniform(0.1, 2.0, n).astype(dtype)
    g = _kernels.weighted_softmax_cross_entropy_backward(x, t, w, eps, lse, s, -100)
    e_g = ref.weighted_softmax_cross_entropy_backward(x.astype(np.float64), t, w64, eps, lse.astype(np.float64),
                                                      s.astype(np.float64))
    assert_close(g, e_g, dtype, scale=2.0 * (1 if w is None else float(w.sum())))
    if n > 2:
        assert np.all(g[1] == 0)


def test_weighted_ce_kernel_no_weight_no_smoothing_equals_plain_kernel(rng, dtype):
    x = rng.standard_normal((37, 11)).astype(dtype)
    t = rng.integers(0, 11, 37)
    a, _ = _kernels.weighted_softmax_cross_entropy(x, t, None, 0.0, -100)
    b, _ = _kernels.softmax_cross_entropy(x, t, -100)
    assert_close(a, b, dtype)


def test_weighted_ce_kernel_non_contiguous_input(rng, dtype):
    big = rng.standard_normal((20, 14)).astype(dtype)
    x = big[::2, ::2]
    t = rng.integers(0, 7, 10)
    w = rng.uniform(0.5, 1.5, 14).astype(dtype)[::2]
    loss, _ = _kernels.weighted_softmax_cross_entropy(x, t, w, 0.2, -100)
    e, _ = ref.weighted_softmax_cross_entropy_forward(x.astype(np.float64), t, w.astype(np.float64), 0.2)
    assert_close(loss, e, dtype, scale=10.0)


def test_weighted_ce_binding_errors():
    x = np.zeros((3, 4))
    t = np.zeros(3, np.int64)
    out = np.empty(3)
    with pytest.raises(ValueError, match="weight"):
        _C.weighted_softmax_cross_entropy_forward(x, t, np.ones(5), 0.0, out, np.empty(3))
    with pytest.raises(TypeError, match="weight"):
        _C.weighted_softmax_cross_entropy_forward(x, t, np.ones(4, np.float32), 0.0, out, np.empty(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        _C.weighted_softmax_cross_entropy_forward(x, t, None, 1.5, out, np.empty(3))
    with pytest.raises(ValueError, match="target"):
        _C.weighted_softmax_cross_entropy_forward(x, np.array([0, 4, 0]), None, 0.0, out, np.empty(3))
    with pytest.raises(ValueError, match="grad_logits"):
        _C.weighted_softmax_cross_entropy_backward(x, t, None, 0.0, np.zeros(3), np.ones(3), np.empty((3, 5)))


# --- BCE with logits kernel ---------------------------------------------------------------------------

BCE_SHAPES = [(1,), (7,), (13, 5), (97, 31), (3, 4, 5), (70000,), (0,), (0, 3)]


@pytest.mark.parametrize("shape", BCE_SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["plain", "pos-weight"])
def test_bce_with_logits_kernel_matches_reference(rng, dtype, shape, weighted, pos_weighted):
    x = (rng.standard_normal(shape) * 6).astype(dtype)
    y = rng.uniform(0, 1, shape).astype(dtype)
    w = rng.uniform(0.2, 2.0, shape[-1:]).astype(dtype) if weighted else None
    pw = rng.uniform(0.5, 3.0, shape[-1:]).astype(dtype) if pos_weighted else None
    total, loss = _kernels.bce_with_logits(x, y, w, pw, True)
    up = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    e_total, e_loss = ref.bce_with_logits_forward(up(x), up(y), up(w), up(pw))
    assert loss.dtype == dtype and loss.shape == x.shape
    assert_close(loss, e_loss, dtype, scale=max(float(np.max(np.abs(x), initial=0)), 1.0) * 6)
    assert_close(total, e_total, dtype, scale=max(float(np.sum(np.abs(e_loss))), 1.0))
    total2, none = _kernels.bce_with_logits(x, y, w, pw, False)
    assert none is None and total2 == total
    gy = rng.standard_normal(shape).astype(dtype)
    for grad_out, coef in ((None, 0.3), (gy, 1.0)):
        g = _kernels.bce_with_logits_backward(x, y, w, pw, grad_out, coef)
        e = ref.bce_with_logits_backward(up(x), up(y), up(w), up(pw), up(grad_out), coef)
        assert_close(g, e, dtype, scale=max(float(np.max(np.abs(e), initial=0)), 1e-3))


def test_bce_with_logits_kernel_non_contiguous(rng, dtype):
    x = (rng.standard_normal((30, 8)) * 4).astype(dtype).T
    y = rng.uniform(0, 1, (30, 8)).astype(dtype).T
    total, loss = _kernels.bce_with_logits(x, y, None, None, True)
    e_total, e_loss = ref.bce_with_logits_forward(x.astype(np.float64), y.astype(np.float64))
    assert_close(loss, e_loss, dtype, scale=10.0)


def test_bce_with_logits_kernel_extremes(dtype):
    x = np.array([-1e4, -100, -30, 0, 30, 100, 1e4], dtype)
    y = np.array([1, 0, 1, 0.5, 0, 1, 0], dtype)
    _, loss = _kernels.bce_with_logits(x, y, None, None, True)
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss[[0, 6]], 1e4, rtol=1e-6)
    g = _kernels.bce_with_logits_backward(x, y, None, None, None, 1.0)
    np.testing.assert_allclose(g, [-1, 0, -1, 0, 1, 0, 1], atol=1e-6)


def test_bce_with_logits_kernel_thread_independent(rng, restore_threads):
    x = rng.standard_normal(300_001)
    y = rng.uniform(0, 1, 300_001)
    eg.set_num_threads(1)
    one = _kernels.bce_with_logits(x, y, None, None, False)[0]
    eg.set_num_threads(2)
    assert _kernels.bce_with_logits(x, y, None, None, False)[0] == one


def test_bce_with_logits_binding_errors():
    x, y = np.zeros((3, 4)), np.zeros((3, 4))
    with pytest.raises(ValueError, match="pos_weight.*trailing"):
        _C.bce_with_logits_forward(x, y, None, np.ones(3), None)
    with pytest.raises(ValueError, match="weight.*trailing"):
        _C.bce_with_logits_forward(x, y, np.ones((2, 4)), None, None)
    with pytest.raises(ValueError, match="target"):
        _C.bce_with_logits_forward(x, np.zeros((3, 5)), None, None, None)
    with pytest.raises(TypeError, match="loss"):
        _C.bce_with_logits_forward(x, y, None, None, np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match="grad_in"):
        _C.bce_with_logits_backward(x, y, None, None, None, 1.0, np.empty((3, 3)))


# --- gradcheck of every loss and reduction (float64) ----------------------------------------------------

def _t(a, grad=False):
    return eg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.25}, {"weight": True},
                                     {"weight": True, "label_smoothing": 0.1, "ignore_index": 2}],
                         ids=["plain", "smoothing", "weight", "weight+smoothing+ignore"])
def test_gradcheck_cross_entropy(rng, reduction, options):
    x = _t(rng.standard_normal((5, 4)), True)
    t = np.array([0, 2, 3, 1, 2])
    opts = dict(options)
    if opts.get("weight"):
        opts["weight"] = _t(rng.uniform(0.5, 2, 4))
    gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction, **opts), x)
    x3 = _t(rng.standard_normal((2, 4, 3)), True)
    gradcheck(lambda x: F.cross_entropy(x, np.array([[0, 1, 3], [2, 2, 0]]), reduction=reduction, **opts), x3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_cross_entropy_probabilities_with_weight_and_smoothing(rng, reduction):
    x = _t(rng.standard_normal((4, 3)), True)
    p = rng.uniform(0.1, 1, (4, 3))
    p = _t(p / p.sum(1, keepdims=True), True)
    w = _t([0.5, 1.0, 2.0])
    gradcheck(lambda x, p: F.cross_entropy(x, p, w, reduction=reduction, label_smoothing=0.2), (x, p))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck_nll(rng, reduction, weighted):
    x = _t(rng.standard_normal((6, 4)), True)
    w = _t(rng.uniform(0.5, 2, 4)) if weighted else None
    gradcheck(lambda x: F.nll_loss(x, np.array([0, 1, 3, -100, 2, 2]), w, reduction=reduction), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_bce(rng, reduction):
    x = _t(rng.uniform(0.1, 0.9, (4, 3)), True)
    y = _t(rng.uniform(0, 1, (4, 3)), True)
    w = _t(rng.uniform(0.5, 2, 3))
    gradcheck(lambda x, y: F.binary_cross_entropy(x, y, w, reduction=reduction), (x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_gradcheck_bce_with_logits(rng, reduction, weighted, pos_weighted):
    x = _t(rng.standard_normal((4, 3)) * 3, True)
    y = _t(rng.uniform(0, 1, (4, 3)), True)
    w = _t(rng.uniform(0.5, 2, (4, 3))) if weighted else None
    pw = _t(rng.uniform(0.5, 3, 3)) if pos_weighted else None
    gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw), (x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn", [F.l1_loss, F.huber_loss, F.smooth_l1_loss, F.mse_loss,
                                lambda x, y, reduction: F.huber_loss(x, y, reduction=reduction, delta=0.3),
                                lambda x, y, reduction: F.smooth_l1_loss(x, y, reduction=reduction, beta=2.0)],
                         ids=["l1", "huber", "smooth_l1", "mse", "huber-0.3", "smooth_l1-2"])
def test_gradcheck_regression(rng, reduction, fn):
    # differences kept away from the kinks (0, +-delta, +-beta), where finite differences straddle them
    d = rng.uniform(0.05, 3, (4, 5)) * rng.choice([-1, 1], (4, 5))
    d[np.abs(np.abs(d) - 1) < 0.05] += 0.2
    d[np.abs(np.abs(d) - 0.3) < 0.05] += 0.2
    d[np.abs(np.abs(d) - 2) < 0.05] += 0.2
    y = rng.standard_normal((4, 5))
    x, yt = _t(y + d, True), _t(y, True)
    gradcheck(lambda x, y: fn(x, y, reduction=reduction), (x, yt))


@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("log_target", [False, True])
def test_gradcheck_kl_div(rng, reduction, log_target):
    x = _t(np.log(rng.uniform(0.1, 1, (3, 4))), True)
    t = rng.uniform(0.1, 1, (3, 4))
    t = _t(np.log(t) if log_target else t, True)
    gradcheck(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), (x, t))


@pytest.mark.parametrize("reduction", ("mean", "sum"))
def test_gradcheck_distillation(rng, reduction):
    s = _t(rng.standard_normal((4, 5)), True)
    te = _t(rng.standard_normal((4, 5)))
    gradcheck(lambda s: F.distillation_loss(s, te, np.array([0, 4, 2, 1]), temperature=3.0, alpha=0.7,
                                            reduction=reduction), s)


# --- values and semantics -------------------------------------------------------------------------------

def test_cross_entropy_weighted_mean_by_hand():
    x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])
    t = np.array([0, 2, 1])
    w = np.array([1.0, 2.0, 3.0])
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    nll = -logp[np.arange(3), t] * w[t]
    got = F.cross_entropy(_t(x), t, _t(w)).item()
    np.testing.assert_allclose(got, nll.sum() / w[t].sum(), rtol=1e-13)
    eps = 0.3
    smooth = -(logp * w).sum(1)
    expected = ((1 - eps) * nll + eps / 3 * smooth).sum() / w[t].sum()
    np.testing.assert_allclose(F.cross_entropy(_t(x), t, _t(w), label_smoothing=eps).item(), expected, rtol=1e-13)


def test_kl_div_batchmean_is_true_kl():
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    q = np.array([[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]])
    kl = (p * np.log(p / q)).sum(1).mean()
    np.testing.assert_allclose(F.kl_div(_t(np.log(q)), _t(p), reduction="batchmean").item(), kl, rtol=1e-13)
    np.testing.assert_allclose(F.kl_div(_t(np.log(q)), _t(p)).item(), kl * 2 / 6, rtol=1e-13)  # 'mean': all elements
    np.testing.assert_allclose(F.kl_div(_t(np.log(q)), _t(np.log(p)), reduction="batchmean", log_target=True).item(),
                               kl, rtol=1e-13)


def test_distillation_formula_by_hand():
    rng = np.random.default_rng(0)
    s, te = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    T, alpha = 3.0, 0.8

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p_t, p_s = softmax(te / T), softmax(s / T)
    kl = (p_t * np.log(p_t / p_s)).sum() / 6
    ce = -np.log(softmax(s)[np.arange(6), labels]).mean()
    got = nn.DistillationLoss(temperature=T, alpha=alpha)(_t(s), _t(te), labels).item()
    np.testing.assert_allclose(got, alpha * T * T * kl + (1 - alpha) * ce, rtol=1e-12)


def test_bce_with_logits_equals_bce_of_sigmoid(rng):
    x = rng.standard_normal((5, 3))
    y = rng.uniform(0, 1, (5, 3))
    a = F.binary_cross_entropy_with_logits(_t(x), _t(y)).item()
    b = F.binary_cross_entropy(_t(1 / (1 + np.exp(-x))), _t(y)).item()
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_float32_losses_run_in_float32(rng):
    x = eg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    y = eg.tensor(rng.uniform(0, 1, (4, 3)).astype(np.float32))
    t = np.array([0, 1, 2, 0])
    for out in (F.binary_cross_entropy_with_logits(x, y), F.l1_loss(x, y), F.huber_loss(x, y),
                F.cross_entropy(x, t, label_smoothing=0.1), F.nll_loss(x, t), F.kl_div(x, y)):
        assert out.dtype == np.float32
        out.backward()
        assert x.grad.dtype == np.float32
        x.grad = None


def test_loss_modules_register_weights_as_buffers():
    w = eg.tensor([1.0, 2.0, 3.0])
    m = nn.CrossEntropyLoss(w, label_smoothing=0.1)
    assert list(m.state_dict()) == ["weight"]
    b = nn.BCEWithLogitsLoss(pos_weight=eg.tensor([2.0]))
    assert list(b.state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss()"  # (PyTorch's losses print no options)


# --- errors -----------------------------------------------------------------------------------------------

def test_loss_argument_errors():
    x = eg.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="weight.*4 class weights"):
        F.cross_entropy(x, np.array([0, 1, 2]), eg.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(ValueError, match="target.*shape"):
        F.nll_loss(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        F.nll_loss(x, np.array([0, 1, 4]))
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="target.*shape"):
        F.l1_loss(x, eg.tensor(np.zeros((3, 5))))
    # a target of another float dtype promotes (PyTorch's mse/l1/smooth_l1; its huber raises, ours promotes)
    assert F.huber_loss(x, eg.tensor(np.zeros((3, 4), np.float32))).dtype == x.dtype
    with pytest.raises(TypeError, match="input"):
        F.l1_loss(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(eg.tensor(np.array([0.5, 1.5])), eg.tensor(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=eg.tensor(np.ones(5)))
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="temperature"):
        F.distillation_loss(x, x, np.array([0, 1, 2]), temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        nn.DistillationLoss(alpha=1.5)
    # PyTorch's positional order: the second parameter is the deprecated size_average (-100 is true: 'mean')
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.CrossEntropyLoss(None, -100).reduction == "mean"
