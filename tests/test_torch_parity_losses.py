"""Parity with PyTorch for every loss, every reduction and option, in float64 to 1e-10 relative on the
outputs and on the gradients of every differentiable input (modules and functional forms)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from eigengrad import nn  # noqa: E402

TOL = 1e-10
REDUCTIONS = ("mean", "sum", "none")


def rel_err(actual, expected) -> float:
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    if e.size == 0:
        return 0.0
    if np.all(np.isnan(e)):
        assert np.all(np.isnan(a))
        return 0.0
    scale = float(np.max(np.abs(e)))
    if scale < 1e-14:  # an exact zero (e.g. the gradient of a single class): allow rounding-level values
        return float(np.max(np.abs(a))) * 1e-4
    return float(np.max(np.abs(a - e))) / scale


def compare(eg_fn, torch_fn, grads: dict, consts: dict, seed=0):
    """Run both on the same float64 arrays; ``grads`` are differentiated, ``consts`` are not. Checks the
    output and the gradient of every ``grads`` input (for 'none' outputs: with a random upstream gradient)."""
    rng = np.random.default_rng(seed)
    e_in = {k: eg.tensor(v, requires_grad=True) for k, v in grads.items()}
    t_in = {k: torch.tensor(v, requires_grad=True) for k, v in grads.items()}
    e_c = {k: (v if v is None or v.dtype.kind in "iu" else eg.tensor(v)) for k, v in consts.items()}
    e_c = {k: (v if v is None or isinstance(v, eg.Tensor) else v) for k, v in e_c.items()}
    t_c = {k: (None if v is None else torch.from_numpy(np.asarray(v))) for k, v in consts.items()}
    e_out, t_out = eg_fn(**e_in, **e_c), torch_fn(**t_in, **t_c)
    assert rel_err(e_out.detach().numpy(), t_out.detach().numpy()) <= TOL, "output"
    up = rng.standard_normal(t_out.shape)
    e_out.backward(eg.tensor(up))
    t_out.backward(torch.from_numpy(up))
    for k in grads:
        assert e_in[k].grad is not None, f"no gradient for {k}"
        err = rel_err(e_in[k].grad.numpy(), t_in[k].grad.numpy())
        assert err <= TOL, f"gradient of {k}: relative error {err:.3e}"
    return e_out, t_out


# --- cross-entropy ------------------------------------------------------------------------------------

CE_SHAPES = [(1, 1), (7, 5), (13, 31), (3, 4, 5), (2, 3, 4, 5), (0, 4)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2, 1.0])
def test_cross_entropy_index_targets(reduction, shape, weighted, smoothing):
    rng = np.random.default_rng(sum(shape) + 7 * weighted)
    x = rng.standard_normal(shape) * 3
    c = shape[1]
    t = rng.integers(0, c, (shape[0],) + shape[2:]).astype(np.int64)
    if t.size > 2:
        t.flat[1] = -100
        t.flat[-1] = 2 % c if c > 2 else 0
    w = rng.uniform(0.2, 2.0, c) if weighted else None
    compare(lambda x, t, w: F.cross_entropy(x, t, w, reduction=reduction, label_smoothing=smoothing),
            lambda x, t, w: torch.nn.functional.cross_entropy(x, t, w, reduction=reduction, label_smoothing=smoothing),
            {"x": x}, {"t": t, "w": w})


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_module_with_ignore_index(reduction):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((11, 6))
    t = rng.integers(0, 6, 11)
    t[[0, 4]] = 3
    w = rng.uniform(0.5, 1.5, 6)
    compare(lambda x, t, w: nn.CrossEntropyLoss(w, ignore_index=3, reduction=reduction, label_smoothing=0.1)(x, t),
            lambda x, t, w: torch.nn.CrossEntropyLoss(w, ignore_index=3, reduction=reduction,
                                                      label_smoothing=0.1)(x, t),
            {"x": x}, {"t": t, "w": w})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5), (6,)], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(reduction, shape, weighted, smoothing):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    dim = 1 if len(shape) > 1 else 0
    p = np.exp(rng.standard_normal(shape))
    p /= p.sum(axis=dim, keepdims=True)
    w = rng.uniform(0.2, 2.0, shape[dim]) if weighted else None
    compare(lambda x, p, w: F.cross_entropy(x, p, w, reduction=reduction, label_smoothing=smoothing),
            lambda x, p, w: torch.nn.functional.cross_entropy(x, p, w, reduction=reduction, label_smoothing=smoothing),
            {"x": x, "p": p}, {"w": w})


def test_cross_entropy_all_ignored_mean_is_nan():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    w = np.ones(4)
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": w}):
        e = F.cross_entropy(eg.tensor(x), t, **{k: (eg.tensor(v) if k == "weight" else v) for k, v in kw.items()})
        tt = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t),
                                               **{k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()})
        assert np.isnan(e.item()) and np.isnan(tt.item())


# --- NLL --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1, 1), (9, 4), (17, 3), (3, 4, 5), (0, 3)], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_nll_loss(reduction, shape, weighted):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    c = shape[1]
    t = rng.integers(0, c, (shape[0],) + shape[2:]).astype(np.int64)
    if t.size > 1:
        t.flat[0] = 1 % c if c > 1 else 0
    w = rng.uniform(0.2, 2.0, c) if weighted else None
    compare(lambda x, t, w: nn.NLLLoss(w, ignore_index=1, reduction=reduction)(x, t),
            lambda x, t, w: torch.nn.NLLLoss(w, ignore_index=1, reduction=reduction)(x, t),
            {"x": x}, {"t": t, "w": w})


# --- binary cross-entropy ------------------------------------------------------------------------------

BCE_SHAPES = [(1,), (7,), (13, 5), (3, 4, 5), (0, 3)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", BCE_SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_bce(reduction, shape, weighted):
    rng = np.random.default_rng(13)
    x = rng.uniform(0.02, 0.98, shape)
    y = rng.uniform(0, 1, shape)
    w = rng.uniform(0.2, 2.0, shape[-1:]) if weighted else None
    compare(lambda x, y, w: nn.BCELoss(w, reduction=reduction)(x, y),
            lambda x, y, w: torch.nn.BCELoss(w, reduction=reduction)(x, y),
            {"x": x, "y": y}, {"w": w})


def test_bce_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    e = F.binary_cross_entropy(eg.tensor(x), eg.tensor(y), reduction="none").numpy()
    t = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(e, t, rtol=1e-12)
    assert e[0] == 100.0 and e[1] == 100.0


BCE_WEIGHTINGS = [(shape, kind) for shape in BCE_SHAPES for kind in (None, "last", "full", "middle")
                  if kind != "middle" or len(shape) == 3]  # a per-channel weight needs a channel dimension


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,weight_kind", BCE_WEIGHTINGS, ids=str)
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["no-pos-weight", "pos-weight"])
def test_bce_with_logits(reduction, shape, weight_kind, pos_weighted):
    rng = np.random.default_rng(17)
    x = rng.standard_normal(shape) * 5
    y = rng.uniform(0, 1, shape)
    w = {None: None, "last": rng.uniform(0.2, 2.0, shape[-1:]), "full": rng.uniform(0.2, 2.0, shape),
         "middle": rng.uniform(0.2, 2.0, (shape[1], 1)) if len(shape) == 3 else None}[weight_kind]
    pw = rng.uniform(0.5, 3.0, shape[-1:]) if pos_weighted else None
    compare(lambda x, y, w, pw: nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw)(x, y),
            lambda x, y, w, pw: torch.nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw)(x, y),
            {"x": x, "y": y}, {"w": w, "pw": pw})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight,weight", [((1,), None), ((), (1,)), ((1, 1, 1), ()), ((1,), (1, 1))], ids=str)
def test_bce_with_logits_one_value_weights_broadcast(reduction, pos_weight, weight):
    # a U-Net's BCEWithLogitsLoss(pos_weight=torch.tensor([3.0])) on (N, 1, H, W) logits: one value for all
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 1, 4, 5)) * 3, (rng.uniform(0, 1, (2, 1, 4, 5)) > 0.5).astype(np.float64)
    compare(lambda x, y, w, pw: nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw)(x, y),
            lambda x, y, w, pw: torch.nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw)(x, y),
            {"x": x, "y": y}, {"w": None if weight is None else np.full(weight, 0.7),
                               "pw": np.full(pos_weight, 3.0)})


def test_bce_with_logits_extreme_logits_finite():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    compare(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum"),
            lambda x, y: torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="sum"),
            {"x": x, "y": y}, {})
    out = F.binary_cross_entropy_with_logits(eg.tensor(x), eg.tensor(y), reduction="none").numpy()
    assert np.all(np.isfinite(out))


# --- regression losses ---------------------------------------------------------------------------------

REG_SHAPES = [(1,), (7,), (13, 5), (2, 3, 4), (0,)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", REG_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["mse", "l1", "huber", "huber-0.3", "smooth_l1", "smooth_l1-2.5", "smooth_l1-0"])
def test_regression_losses(reduction, shape, name):
    rng = np.random.default_rng(19)
    x = rng.standard_normal(shape) * 2
    y = rng.standard_normal(shape) * 2
    kind, _, p = name.partition("-")
    make = {
        "mse": (lambda m: m.MSELoss(reduction=reduction)),
        "l1": (lambda m: m.L1Loss(reduction=reduction)),
        "huber": (lambda m: m.HuberLoss(reduction=reduction, delta=float(p or 1.0))),
        "smooth_l1": (lambda m: m.SmoothL1Loss(reduction=reduction, beta=float(p or 1.0))),
    }[kind]
    compare(lambda x, y: make(nn)(x, y), lambda x, y: make(torch.nn)(x, y), {"x": x, "y": y}, {})


# --- KL divergence ---------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")  # torch's own notice
@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (3, 4, 5), (0, 3)], ids=str)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, shape, log_target):
    rng = np.random.default_rng(23)
    x = np.log(rng.uniform(0.05, 1.0, shape))
    t = rng.uniform(0.05, 1.0, shape)
    if log_target:
        t = np.log(t)
    compare(lambda x, t: nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t),
            lambda x, t: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t),
            {"x": x, "t": t}, {})


def test_kl_div_zero_target_contributes_nothing():
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    t = np.array([[0.0, 0.4, 0.6]])
    compare(lambda x: F.kl_div(x, eg.tensor(t), reduction="batchmean"),
            lambda x: torch.nn.functional.kl_div(x, torch.tensor(t), reduction="batchmean"), {"x": x}, {})


# --- distillation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (3.0, 1.0)])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 2)], ids=str)
def test_distillation_loss_matches_hinton_formula_in_torch(temperature, alpha, shape):
    rng = np.random.default_rng(29)
    s = rng.standard_normal(shape) * 2
    te = rng.standard_normal(shape) * 2
    labels = rng.integers(0, shape[1], (shape[0],) + shape[2:])

    def torch_fn(s, te, labels):
        T = temperature
        soft = torch.nn.functional.kl_div(torch.log_softmax(s / T, 1), torch.softmax(te.detach() / T, 1),
                                          reduction="batchmean")
        return alpha * T * T * soft + (1 - alpha) * torch.nn.functional.cross_entropy(s, labels)

    e_out, _ = compare(lambda s, te, labels: nn.DistillationLoss(temperature, alpha)(s, eg.tensor(te), labels),
                       lambda s, te, labels: torch_fn(s, te, labels), {"s": s}, {"te": te, "labels": labels})
    # the teacher gets no gradient even when it requires one
    teacher = eg.tensor(te, requires_grad=True)
    student = eg.tensor(s, requires_grad=True)
    nn.DistillationLoss(temperature, alpha)(student, teacher, labels).backward()
    assert teacher.grad is None and student.grad is not None
