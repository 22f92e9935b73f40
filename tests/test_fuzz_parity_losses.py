"""Regression tests for the loss differences found by differential fuzzing against PyTorch 2.13 (float64,
random configurations). Each test states the case, asserts literal values / exception types (so it checks
something without PyTorch), and compares with PyTorch when it is importable."""
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is needed for the parity half of this test")


# --- binary_cross_entropy: a 0-d input with a 0-d weight ---------------------------------------------------
# PyTorch returns a 0-d loss for reduction='none'; eigengrad returned shape (1,) (np.ascontiguousarray made the
# 0-d weight 1-d) and its backward then failed ("gradient of shape (1,) for input 0, which has shape ()").

@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_zero_dim_input_with_zero_dim_weight(reduction):
    x = eg.tensor(np.array(0.3), requires_grad=True)
    loss = F.binary_cross_entropy(x, eg.tensor(np.array(1.0)), weight=eg.tensor(np.array(2.0)), reduction=reduction)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), -2.0 * np.log(0.3), rtol=1e-14)
    loss.backward()
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad.item(), -2.0 / 0.3, rtol=1e-12)
    torch = _torch()
    xt = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(1.0, dtype=torch.float64),
                                                  weight=torch.tensor(2.0, dtype=torch.float64), reduction=reduction)
    lt.backward()
    assert tuple(lt.shape) == loss.shape
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.item(), xt.grad.item(), rtol=1e-12)


# --- cross_entropy with probability targets: the gradient of a weight that requires grad ---------------------
# PyTorch differentiates the class weight there (its probability-target path is composite); eigengrad took the
# weight as a constant, so weight.grad stayed None.

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_weight_gradient(reduction, smoothing):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 2))
    p = rng.random((3, 4, 2))
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2.0, 4)
    xe, we = eg.tensor(x, requires_grad=True), eg.tensor(w, requires_grad=True)
    out = F.cross_entropy(xe, eg.tensor(p), we, reduction=reduction, label_smoothing=smoothing)
    out.sum().backward()
    assert we.grad is not None
    # d/dw_c of sum_i -w_c q_ic log softmax(x_i)_c, q the smoothed target
    q = p * (1 - smoothing) + smoothing / 4
    lsm = x - np.log(np.exp(x).sum(1, keepdims=True))
    expected = -(q * lsm).sum(axis=(0, 2))
    if reduction == "mean":
        expected /= 6
    np.testing.assert_allclose(we.grad.numpy(), expected, rtol=1e-12)
    torch = _torch()
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(p), wt, reduction=reduction,
                                      label_smoothing=smoothing).sum().backward()
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-10)


# --- kl_div(reduction='mean') warns, as PyTorch does ---------------------------------------------------------

def test_kl_div_mean_warns_like_pytorch():
    x, t = eg.tensor(np.log(np.full((2, 3), 1 / 3))), eg.tensor(np.full((2, 3), 1 / 3))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        out = F.kl_div(x, t)
    assert abs(out.item()) < 1e-15
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, t, reduction="batchmean")
        F.kl_div(x, t, reduction="sum")
    torch = _torch()
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        torch.nn.functional.kl_div(torch.tensor(x.numpy()), torch.tensor(t.numpy()))


# --- out-of-range class indices: PyTorch's IndexError -------------------------------------------------------
# PyTorch raises IndexError ("Target 3 is out of bounds."); eigengrad raised a plain ValueError.

@pytest.mark.parametrize("fn", ["cross_entropy", "cross_entropy_smoothed", "nll_loss"])
@pytest.mark.parametrize("bad", [3, -2])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 3, 2)], ids=str)
def test_out_of_range_class_index_raises_index_error(fn, bad, shape):
    x = eg.tensor(np.zeros(shape))
    t = np.zeros(() if len(shape) == 1 else (shape[0],) + shape[2:], np.int64)
    t.flat[-1] = bad
    call = {"cross_entropy": lambda: F.cross_entropy(x, t),
            "cross_entropy_smoothed": lambda: F.cross_entropy(x, t, label_smoothing=0.1),
            "nll_loss": lambda: F.nll_loss(x, t)}[fn]
    with pytest.raises(IndexError, match=f"class index {bad}"):
        call()
    with pytest.raises(ValueError):  # still a ValueError, as before
        call()
    torch = _torch()
    tfn = {"cross_entropy": torch.nn.functional.cross_entropy, "nll_loss": torch.nn.functional.nll_loss,
           "cross_entropy_smoothed": lambda a, b: torch.nn.functional.cross_entropy(a, b, label_smoothing=0.1)}[fn]
    with pytest.raises(IndexError):
        tfn(torch.zeros(shape, dtype=torch.float64), torch.from_numpy(t))


def test_ignored_out_of_range_index_is_not_an_error():
    x = eg.tensor(np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]]))
    out = F.cross_entropy(x, np.array([1, -100]))
    np.testing.assert_allclose(out.item(), np.log(np.exp([1.0, 2.0, 0.5]).sum()) - 2.0, rtol=1e-14)
    assert np.isnan(F.cross_entropy(x, np.array([-100, -100])).item())  # all ignored: 0 / 0, as PyTorch


# --- multi_margin_loss with a weight of the wrong size ------------------------------------------------------
# PyTorch raises "inconsistent weight size, expected 3 but got [4]"; eigengrad silently used weight[:3].

def test_multi_margin_loss_weight_size_mismatch_raises():
    x = eg.tensor(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="inconsistent weight size, expected 3"):
        F.multi_margin_loss(x, np.array([0, 1]), weight=eg.tensor(np.ones(4)))
    # the right size still works: margin 1 on the two other classes, / C
    out = F.multi_margin_loss(x, np.array([0, 1]), weight=eg.tensor(np.array([2.0, 1.0, 1.0])))
    np.testing.assert_allclose(out.item(), (2.0 * 2 / 3 + 1.0 * 2 / 3) / 2, rtol=1e-14)
    torch = _torch()
    with pytest.raises(RuntimeError):
        torch.nn.functional.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0, 1]), weight=torch.ones(4))


# --- exception types where PyTorch raises RuntimeError ------------------------------------------------------
# eigengrad raised NumPy's ValueError (broadcast messages) or a plain TypeError / ValueError; now errors that are
# RuntimeError and ValueError/TypeError at once (ArgumentError / ArgumentTypeError).

def test_error_types_match_pytorch_runtime_error():
    x = eg.tensor(np.zeros((2, 3)))
    cases = [
        lambda: F.hinge_embedding_loss(x, eg.tensor(np.ones((3, 2)))),                       # no broadcast
        lambda: F.cosine_embedding_loss(x, x, eg.tensor(np.ones(3))),                        # target size
        lambda: F.binary_cross_entropy(eg.tensor(np.full((2, 3), 1.5)), eg.tensor(np.ones((2, 3)))),  # not in [0, 1]
        lambda: F.binary_cross_entropy(eg.tensor(np.full((2, 3), 0.5)),
                                       eg.tensor(np.ones((2, 3), np.float32))),             # target dtype
        lambda: F.cross_entropy(x, np.array([0.0, 1.0])),                                    # float indices
        lambda: F.nll_loss(x, np.array([True, False])),
        lambda: F.multi_margin_loss(x, np.array([0.0, 1.0])),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(RuntimeError):
            case()
    with pytest.raises(ValueError, match="must match the size"):
        cases[0]()
    with pytest.raises(TypeError):
        cases[4]()
    torch = _torch()
    xt = torch.zeros(2, 3, dtype=torch.float64)
    for case in [lambda: torch.nn.functional.hinge_embedding_loss(xt, torch.ones(3, 2, dtype=torch.float64)),
                 lambda: torch.nn.functional.cosine_embedding_loss(xt, xt, torch.ones(3, dtype=torch.float64)),
                 lambda: torch.nn.functional.binary_cross_entropy(torch.full((2, 3), 1.5, dtype=torch.float64),
                                                                  torch.ones(2, 3, dtype=torch.float64)),
                 lambda: torch.nn.functional.cross_entropy(xt, torch.tensor([0.0, 1.0], dtype=torch.float64))]:
        with pytest.raises(RuntimeError):
            case()
