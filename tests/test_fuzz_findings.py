"""What the long fuzz runs found (tests/fuzz), each fixed at its depth and pinned here, side by side with
PyTorch 2.13 where it has the feature."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import reference as R
from eigengrad._kernels import _C
from forked import run_forked


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")


def test_nan_input_gives_nan_statistics(dtype):
    """The variance was clamped with std::max(0.0, m2), which turns NaN into 0: a NaN sample gave a finite
    rstd, and training batch norm then updated running_var as if the batch were clean."""
    x = np.arange(12, dtype=dtype).reshape(2, 3, 2)
    x[0, 1, 0] = np.nan
    _, mean, rstd = eg._kernels.group_norm_forward(x, 1, None, None, 1e-5)
    assert np.isnan(mean[0]) and np.isnan(rstd[0]) and np.isfinite(rstd[1])
    _, _, rstd = eg._kernels.layer_norm_forward(x.reshape(2, 6), 1, None, None, 1e-5)
    assert np.isnan(rstd[0]) and np.isfinite(rstd[1])
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    F.batch_norm(eg.from_numpy(x), eg.from_numpy(rm), eg.from_numpy(rv), training=True)
    assert np.isnan(rv[1]) and np.isnan(rm[1]) and np.all(np.isfinite(rv[[0, 2]]))


def test_nan_statistics_match_torch():
    torch = _torch()
    x = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    x[0, 1, 0] = np.nan
    rm, rv = np.zeros(3), np.ones(3)
    F.batch_norm(eg.from_numpy(x), eg.from_numpy(rm), eg.from_numpy(rv), training=True)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    torch.nn.functional.batch_norm(torch.from_numpy(x), trm, trv, training=True)
    np.testing.assert_array_equal(np.isnan(rv), np.isnan(trv.numpy()))
    np.testing.assert_allclose(rv[[0, 2]], trv.numpy()[[0, 2]], rtol=1e-12)


def test_weighted_cross_entropy_gradient_reads_only_the_target_weight_without_smoothing():
    """With label_smoothing 0 the backward added eps/C * sum(w) = 0 * NaN: a NaN weight of another class
    made every gradient NaN (the forward already read w[t] only, as PyTorch)."""
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    logits = np.random.default_rng(0).standard_normal((4, 3))
    target, weight = np.array([0, 1, 0, 1]), np.array([1.0, 2.0, np.nan])
    x = eg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, eg.tensor(target), weight=eg.tensor(weight), reduction="sum")
    loss.backward()
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(target), weight=torch.tensor(weight), reduction="sum")
    tloss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_relu_backward_of_a_nan_gradient_at_a_clipped_input_is_zero_as_torch():
    torch = _torch()
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    torch.relu(x).backward(torch.tensor([float("nan")] * 2))
    y, g, out = np.array([0.0, 2.0]), np.full(2, np.nan), np.empty(2)
    _C.relu_backward(g, y, out)
    np.testing.assert_array_equal(out, x.grad.numpy())
    np.testing.assert_array_equal(R.relu_backward(g, y), x.grad.numpy())


def test_inf_norm_with_a_nan_is_nan_as_torch():
    torch = _torch()
    grads = [np.array([2.5]), np.array([np.nan, 1.0])]
    assert np.isnan(_C.grad_norm(grads, float("inf"))) and np.isnan(R.grad_norm(grads, float("inf")))
    assert torch.isnan(torch.nn.utils.get_total_norm([torch.from_numpy(g) for g in grads], float("inf")))


def test_softplus_with_a_nan_threshold_takes_the_log1p_branch_as_torch():
    torch = _torch()
    x = np.array([-2.0, 0.5, 30.0])
    expected = torch.nn.functional.softplus(torch.from_numpy(x), 1.0, float("nan")).numpy()
    np.testing.assert_allclose(F.softplus(eg.tensor(x), threshold=float("nan")).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(R.softplus_forward(x, 1.0, float("nan")), expected, rtol=1e-12)


def test_amin_of_unsigned_ints_and_softmax_of_ints():
    """amin was -amax(-x), which wraps for uint8; softmax of an int tensor subtracted its max in ints."""
    a = np.array([[0, 5], [3, 1]], np.uint8)
    np.testing.assert_array_equal(eg.amin(eg.tensor(a), 0).numpy(), [0, 1])
    assert eg.amin(eg.tensor(a)).item() == 0
    with pytest.raises(TypeError, match=r"^log_softmax: expected a float32 or float64 tensor, got dtype uint8$"):
        eg.log_softmax(eg.tensor(a), 0)
    with pytest.raises(TypeError, match=r"^softmax: expected a float32 or float64 tensor, got dtype int64$"):
        eg.softmax(eg.tensor([1, 2]), 0)


def test_empty_batch_gradients_are_zero_sums():
    """An empty batch: the parameter gradients are empty sums (0), the input gradient is empty."""
    x, dy = np.zeros((0, 3, 4)), np.zeros((0, 3, 4))
    gin, gw, gb = eg._kernels.batch_norm_backward(dy, x, np.zeros(3), np.ones(3), np.ones(3), True)
    assert gin.shape == (0, 3, 4) and np.all(gw == 0) and np.all(gb == 0)
    gin, gw, gb = eg._kernels.conv2d_backward(np.zeros((0, 2, 3, 3)), np.zeros((0, 1, 5, 5)), np.ones((2, 1, 3, 3)),
                                              (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert gin.shape == (0, 1, 5, 5) and np.all(gw == 0) and np.all(gb == 0)


def test_embedding_renorm_inf_norm_keeps_a_nan_row_as_torch():
    """The inf-norm took std::max, which drops a NaN: a row holding a NaN was scaled where PyTorch's norm is
    NaN and leaves the row alone."""
    torch = _torch()
    w = np.array([[3.0, np.nan], [3.0, 4.0], [0.5, 0.1]])
    tw = torch.from_numpy(w.copy())
    torch.embedding_renorm_(tw, torch.tensor([0, 1, 2]), 1.0, float("inf"))
    ours, ref = w.copy(), w.copy()
    _C.embedding_renorm(ours, np.array([0, 1, 2]), 1.0, float("inf"))
    R.embedding_renorm(ref, np.array([0, 1, 2]), 1.0, float("inf"))
    np.testing.assert_array_equal(ours, tw.numpy())
    np.testing.assert_array_equal(ref, tw.numpy())
    assert ours[0, 0] == 3.0 and ours[1, 1] < 1.0


@pytest.mark.parametrize("mode,legacy", [("nearest", True), ("nearest", False), ("nearest-exact", False),
                                         ("linear", False)])
def test_upsample_with_a_tiny_scale_factor_reads_the_last_index(mode, legacy):
    """1 / scale overflowed to inf and the source index became INT64_MIN (a read far before the input, a
    crash); a coordinate past the input is now its last index, in the kernel and the reference."""
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)

    def call():
        out = np.empty((2, 5, 6), np.float32)
        _C.upsample_forward(x, out, mode, 1e-300, 5e-324, False, legacy)
        return out

    outcome = run_forked(call)
    assert outcome.kind == "returned", outcome
    with np.errstate(over="ignore", invalid="ignore"):  # (1 / scale overflows, inf * 0)
        expected = R.upsample_forward(x[None], (5, 6), mode, (1e-300, 5e-324), False, legacy)[0]
    np.testing.assert_array_equal(outcome.value, expected)
    np.testing.assert_array_equal(outcome.value[:, 1:, 1:], np.broadcast_to(x[:, 2:, 3:], (2, 4, 5)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nan_in", ["exp_avg_sq", "max_exp_avg_sq"])
def test_amsgrad_max_propagates_a_nan_as_torch_maximum(dtype, nan_in):
    """Adam's AMSGrad max kept the old max when this step's second moment was NaN (a NaN beta2 or gradient);
    torch.maximum, and so torch.optim.Adam(amsgrad=True), gives NaN from either side."""
    state = {"exp_avg_sq": np.array([0.5, 0.25], dtype), "max_exp_avg_sq": np.array([0.75, 0.125], dtype)}
    state[nan_in][0] = np.nan
    args = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                amsgrad=True, maximize=False, step=3)
    ours = {k: v.copy() for k, v in state.items()}
    ref = {k: v.copy() for k, v in state.items()}
    p, g = np.array([1.0, -2.0], dtype), np.array([0.5, 0.25], dtype)
    p_ref = p.copy()
    _C.adam_step(p, g, np.zeros(2, dtype), ours["exp_avg_sq"], ours["max_exp_avg_sq"], **args)
    R.adam_step(p_ref, g, np.zeros(2, dtype), ref["exp_avg_sq"], ref["max_exp_avg_sq"], **args)
    assert np.isnan(ours["max_exp_avg_sq"][0]) and np.isnan(p[0]) and np.isfinite(p[1])
    np.testing.assert_array_equal(ours["max_exp_avg_sq"], ref["max_exp_avg_sq"])
    np.testing.assert_array_equal(p, p_ref)
    torch = _torch()
    assert torch.isnan(torch.maximum(torch.tensor([np.nan]), torch.tensor([1.0])))
    assert torch.isnan(torch.maximum(torch.tensor([1.0]), torch.tensor([np.nan])))
