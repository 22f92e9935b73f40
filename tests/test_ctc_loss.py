"""ctc_loss / nn.CTCLoss: the loss against a brute-force sum over every alignment, gradients by gradcheck
through log_softmax (PyTorch's CTC gradient is Graves' eq. 16, the gradient with respect to the logits under
a log_softmax, so that is where it is a derivative), side by side with torch on random shapes, layouts,
reductions, blanks and impossible targets, in float32 and float64; the errors."""
import itertools
import math

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd.gradcheck import gradcheck


def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def brute_force_nll(lp, target, blank):
    """-log sum over every path of T labels that collapses to target of prod_t p_t(path_t)."""
    t_len, c = lp.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t_len):
        if collapse(path, blank) == list(target):
            total += math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


@pytest.mark.parametrize("seed", range(12))
def test_loss_is_the_sum_over_alignments(seed):
    r = np.random.default_rng(seed)
    t_len, c, blank = int(r.integers(1, 6)), int(r.integers(2, 4)), int(r.integers(0, 2))
    labels = [k for k in range(c) if k != blank]
    target = list(r.choice(labels, int(r.integers(0, 4))))
    x = r.standard_normal((t_len, c))
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    got = F.ctc_loss(eg.tensor(lp[:, None, :]), eg.tensor(np.array([target], dtype=np.int64).reshape(1, -1)),
                     [t_len], [len(target)], blank=blank, reduction="none").numpy()[0]
    want = brute_force_nll(lp, target, blank)
    if math.isinf(want):
        assert math.isinf(got)
    else:
        assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (target, got, want)


def test_gradcheck_through_log_softmax():
    x = eg.tensor(np.random.default_rng(0).standard_normal((6, 2, 4)), requires_grad=True)
    targets = eg.tensor(np.array([[1, 2, 2], [3, 1, 0]]))
    assert gradcheck(lambda x: F.ctc_loss(F.log_softmax(x, 2), targets, [6, 5], [3, 2]), (x,))
    assert gradcheck(lambda x: F.ctc_loss(F.log_softmax(x, 2), targets, [6, 4], [3, 1], blank=3,
                                          reduction="sum"), (x,))


def test_zero_infinity_and_impossible_targets():
    lp = F.log_softmax(eg.tensor(np.zeros((2, 1, 3)), requires_grad=True), 2)
    targets = eg.tensor(np.array([[1, 1, 2]]))  # needs at least 4 frames (a blank between the two 1s)
    assert math.isinf(F.ctc_loss(lp, targets, [2], [3], reduction="sum").item())
    x = eg.tensor(np.zeros((2, 1, 3)), requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(x, 2), targets, [2], [3], zero_infinity=True)
    loss.backward()
    assert loss.item() == 0.0 and np.all(x.grad.numpy() == 0)


def test_module_and_errors():
    loss = nn.CTCLoss(blank=1, zero_infinity=True)
    assert (loss.blank, loss.reduction, loss.zero_infinity) == (1, "mean", True)
    lp = F.log_softmax(eg.randn(5, 2, 4), 2)
    targets = eg.tensor(np.array([[2, 3], [3, 0]]))
    assert np.isfinite(loss(lp, targets, [5, 5], [2, 2]).item())
    with pytest.raises(ValueError, match=r"blank: blank must be in label range \[0, 4\), got 4"):
        F.ctc_loss(lp, targets, [5, 5], [2, 2], blank=4)
    with pytest.raises(ValueError, match="input_lengths: Expected input_lengths to have value at most 5, but got value 6"):
        F.ctc_loss(lp, targets, [6, 5], [2, 2])
    with pytest.raises(ValueError, match="target_lengths: target_lengths must be of size batch_size"):
        F.ctc_loss(lp, targets, [5, 5], [2])
    with pytest.raises(ValueError, match="targets: Expected tensor to have size at least 3 at dimension 1"):
        F.ctc_loss(lp, targets, [5, 5], [3, 2])
    with pytest.raises(IndexError, match="targets: label 7 is out of range for 4 classes"):
        F.ctc_loss(lp, eg.tensor(np.array([[2, 7], [3, 0]])), [5, 5], [2, 2])
    with pytest.raises(TypeError, match="targets: expected integer labels"):
        F.ctc_loss(lp, eg.tensor(np.array([[2.0, 3.0], [3.0, 0.0]])), [5, 5], [2, 2])


@pytest.mark.parametrize("dt", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(40))
def test_matches_torch(dt, seed):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for ctc_loss")
    r = np.random.default_rng(10_000 + seed)
    t_len, n, c, s = int(r.integers(1, 20)), int(r.integers(1, 5)), int(r.integers(2, 7)), int(r.integers(0, 8))
    blank = min(int(r.integers(0, 2)), c - 1)
    reduction, concat = ("mean", "sum", "none")[seed % 3], bool(seed % 2)
    zero_infinity, unbatched = bool(r.integers(2)), seed % 7 == 0
    x = r.standard_normal((t_len, n, c)).astype(dt)
    il, tl = r.integers(max(1, t_len // 2), t_len + 1, n), r.integers(0, s + 1, n)
    tg = r.choice([k for k in range(c) if k != blank], (n, s)) if s else np.zeros((n, 0), np.int64)
    if s >= 2 and r.random() < 0.3:
        tg[:, 1] = tg[:, 0]  # a repeated label
    w = r.standard_normal(() if unbatched else n).astype(dt)
    out = []
    for lib in (torch, eg):
        xt = lib.tensor(x, requires_grad=True)
        lp = lib.nn.functional.log_softmax(xt, 2)
        targets = np.concatenate([tg[i, :tl[i]] for i in range(n)]).astype(np.int64) if concat else tg
        args = (lp[:, 0], lib.tensor(tg[0, :tl[0]]), lib.tensor(il[:1]), lib.tensor(tl[:1])) if unbatched else \
            (lp, lib.tensor(targets), lib.tensor(il), lib.tensor(tl))
        loss = lib.nn.functional.ctc_loss(*args, blank=blank, reduction=reduction, zero_infinity=zero_infinity)
        (loss * (lib.tensor(w) if loss.ndim else 1.0)).sum().backward()
        out.append((loss.detach().numpy(), xt.grad.numpy()))
    (a, ga), (b, gb) = out
    tol = 1e-10 if dt == np.float64 else 1e-4
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    np.testing.assert_allclose(b[np.isfinite(a)], a[np.isfinite(a)], rtol=tol, atol=tol)
    np.testing.assert_array_equal(np.isnan(ga), np.isnan(gb))
    ok = ~np.isnan(ga)
    np.testing.assert_allclose(gb[ok], ga[ok], rtol=tol, atol=tol * max(1.0, np.abs(ga[ok]).max(initial=0)))
