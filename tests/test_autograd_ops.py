"""Every differentiable primitive against central finite differences (eigengrad.autograd.gradcheck), in float64."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad.autograd import GradcheckError, gradcheck
from eigengrad.autograd.function import Primitive

SEED = 20240611


def leaf(shape, lo=-1.0, hi=1.0, seed=0, away_from_zero=0.0):
    """A float64 leaf with U[lo, hi) values (|v| >= away_from_zero when given)."""
    r = np.random.default_rng(SEED + seed)
    a = r.uniform(lo, hi, shape)
    if away_from_zero:
        a = np.where(np.abs(a) < away_from_zero, np.copysign(away_from_zero, a) + a, a)
    return eg.tensor(a, dtype=eg.float64, requires_grad=True)


def distinct(shape, seed=0):
    """Values with gaps >= 0.05 between any two (no ties: max/amax stay differentiable)."""
    r = np.random.default_rng(SEED + seed)
    n = int(np.prod(shape))
    vals = (r.permutation(n) * 0.05 - n * 0.025).reshape(shape)
    return eg.tensor(vals, dtype=eg.float64, requires_grad=True)


def check(fn, *inputs):
    assert gradcheck(fn, inputs)


BROADCAST_SHAPES = [((3, 1, 4), (2, 4)), ((2, 1), (1, 3)), ((4,), ()), ((2, 3), (2, 3))]


# --- broadcasting arithmetic ----------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
def test_add_sub_mul(sa, sb):
    a, b = leaf(sa, seed=1), leaf(sb, seed=2)
    check(lambda x, y: x + y, a, b)
    check(lambda x, y: x - y, a, b)
    check(lambda x, y: x * y, a, b)


@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
def test_div(sa, sb):
    a, b = leaf(sa, seed=1), leaf(sb, 0.5, 2.0, seed=2)
    check(lambda x, y: x / y, a, b)
    b_neg = leaf(sb, seed=3, away_from_zero=0.5)
    check(lambda x, y: x / y, a, b_neg)


@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
def test_pow_both_arguments(sa, sb):
    a, b = leaf(sa, 0.5, 2.0, seed=1), leaf(sb, -1.5, 2.5, seed=2)
    check(lambda x, y: x ** y, a, b)


def test_pow_scalar_forms():
    a = leaf((3, 4), 0.5, 2.0, seed=4)
    check(lambda x: x ** 3, a)
    check(lambda x: x ** 0.5, a)
    check(lambda x: x ** -2, a)
    check(lambda x: 2.5 ** x, a)
    check(lambda x: x.pow(2) * 3, a)


def test_pow_zero_cases_have_finite_gradients():
    # x ** 0 is constant (gradient 0 even at x = 0); 0 ** y for y >= 0 has d/dy = 0, as in PyTorch
    x = eg.tensor([0.0, 1.5], dtype=eg.float64, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    base = eg.tensor([0.0, 0.0, 2.0], dtype=eg.float64, requires_grad=True)
    expo = eg.tensor([2.0, 0.0, 3.0], dtype=eg.float64, requires_grad=True)
    (base ** expo).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), [0.0, 0.0, 12.0], rtol=1e-15)
    np.testing.assert_allclose(expo.grad.numpy(), [0.0, 0.0, 8 * np.log(2.0)], rtol=1e-15)


@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES[:3])
def test_maximum(sa, sb):
    a, b = leaf(sa, seed=5), leaf(sb, seed=6)
    assert np.min(np.abs(np.subtract(a.detach().numpy(), b.detach().numpy()))) > 1e-3  # away from ties
    check(lambda x, y: x.maximum(y), a, b)
    check(lambda x: x.maximum(0.0), leaf((3, 4), seed=7, away_from_zero=0.1))


def test_maximum_tie_splits_gradient():
    a = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = eg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])


# --- unary ----------------------------------------------------------------------------------------

def test_neg_exp_log_sqrt_abs():
    x = leaf((3, 1, 4), seed=8)
    check(lambda t: -t, x)
    check(lambda t: t.neg() * 2, x)
    check(lambda t: t.exp(), x)
    pos = leaf((2, 5), 0.2, 3.0, seed=9)
    check(lambda t: t.log(), pos)
    check(lambda t: t.sqrt(), pos)
    check(lambda t: t.abs(), leaf((2, 5), -2.0, 2.0, seed=10, away_from_zero=0.1))


def test_activations():
    x = leaf((4, 6), -3.0, 3.0, seed=11, away_from_zero=0.05)
    check(lambda t: t.relu(), x)
    check(lambda t: F.relu(t), x)
    check(lambda t: t.sigmoid(), x)
    check(lambda t: F.sigmoid(t), x)
    check(lambda t: t.tanh(), x)
    check(lambda t: F.tanh(t), x)
    # gradients on a non-contiguous input
    check(lambda t: t.T.tanh() * t.T.sigmoid(), x)


def test_relu_gradient_at_zero_is_zero():
    x = eg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


# --- reductions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(dim, keepdim):
    x = leaf((3, 2, 4), seed=12)
    check(lambda t: t.sum(dim, keepdim), x)
    check(lambda t: t.mean(dim, keepdim), x)
    # a non-trivial upstream gradient through the reduction
    check(lambda t: t.sum(dim, keepdim).exp(), x)


@pytest.mark.parametrize("dim", [None, 0, 2, (1, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin(dim, keepdim):
    x = distinct((3, 2, 4), seed=13)
    check(lambda t: t.amax(dim, keepdim) * 1.5, x)
    check(lambda t: t.amin(dim, keepdim).exp(), x)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim_values(dim, keepdim):
    x = distinct((3, 4, 2), seed=14)
    check(lambda t: t.max(dim, keepdim).values.exp(), x)
    check(lambda t: t.min(dim, keepdim)[0] * 2, x)
    check(lambda t: t.max() + t.min(), x)


# --- shape and indexing ---------------------------------------------------------------------------

def test_reshape_permute_transpose():
    x = leaf((2, 3, 4), seed=15)
    w = leaf((2, 3, 4), seed=16)
    check(lambda t: t.reshape(6, 4) * w.detach().reshape(6, 4), x)
    check(lambda t: t.view(-1).exp(), x)
    check(lambda t: t.flatten(1).unsqueeze(0).squeeze(0) * 2, x)
    check(lambda t: t.permute(2, 0, 1) * w.detach().permute(2, 0, 1), x)
    check(lambda t: t.transpose(0, 2).exp(), x)
    check(lambda t: t.transpose(-1, -2).reshape(-1) * t.T.reshape(-1), x)


@pytest.mark.parametrize("index", [
    1, -1, slice(1, None), slice(None, None, 2), (slice(None), slice(1, None, 2)), (Ellipsis, 0), (None, 1, 2),
    (0, slice(1, 3), None),
], ids=repr)
def test_getitem_basic(index):
    check(lambda t: t[index].exp(), leaf((3, 4, 2), seed=17))


def test_getitem_integer_arrays_accumulate_repeats():
    x = leaf((4, 3), seed=18)
    check(lambda t: t[np.array([0, 2, 0, 0, 3])], x)
    check(lambda t: t[[1, 1], [2, 2]], x)
    check(lambda t: t[:, np.array([2, 2, 0])] * 3, x)
    check(lambda t: t[eg.tensor([3, 3, 1])].sum(0), x)
    y = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 0.0, 1.0])


def test_getitem_boolean_masks():
    x = leaf((4, 3), seed=19)
    mask = x.detach().numpy() > 0
    assert mask.any() and not mask.all()
    check(lambda t: t[mask] * 2, x)
    check(lambda t: t[np.array([True, False, True, True])].exp(), x)
    check(lambda t: t[t.detach() > 0].sum(), x)
    y = eg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (y[y > 0] * 5).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [5.0, 0.0, 5.0])


# --- matrix products ------------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)),
                                   ((3, 4), (2, 4, 5)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))],
                         ids=lambda s: "x".join(map(str, s)))
def test_matmul(sa, sb):
    check(lambda a, b: a @ b, leaf(sa, seed=20), leaf(sb, seed=21))


def test_matmul_with_constant_operand_and_transposed_views():
    a, b = leaf((3, 4), seed=22), leaf((5, 4), seed=23)
    check(lambda x: x @ b.detach().T, a)
    check(lambda y: a.detach() @ y.T, b)
    check(lambda x, y: (x.T.T @ y.T).exp(), a, b)
    check(lambda x: x.matmul(np.ones((4, 2))), a)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear(bias, shape):
    x, w = leaf(shape, seed=24), leaf((3, 4), seed=25)
    if bias:
        check(lambda i, ww, b: F.linear(i, ww, b).tanh(), x, w, leaf((3,), seed=26))
    else:
        check(lambda i, ww: F.linear(i, ww).tanh(), x, w)


def test_linear_matches_definition():
    x, w, b = leaf((5, 4), seed=27), leaf((3, 4), seed=28), leaf((3,), seed=29)
    np.testing.assert_allclose(F.linear(x, w, b).detach().numpy(),
                               x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy(), rtol=1e-12)
    out3 = F.linear(leaf((2, 5, 4), seed=30), w, b)
    assert out3.shape == (2, 5, 3)


# --- losses ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_2d(reduction, ignore):
    logits = leaf((6, 4), -2.0, 2.0, seed=31)
    target = np.array([0, 3, 1, 1, 2, 0])
    kwargs = {"reduction": reduction}
    if ignore:
        target = np.array([0, -100, 1, 1, -100, 0])
    check(lambda x: F.cross_entropy(x, target, **kwargs), logits)
    if ignore:
        out = F.cross_entropy(logits, target, reduction="none")
        assert out.detach().numpy()[1] == 0 and out.detach().numpy()[4] == 0
        out.sum().backward()
        assert not logits.grad.numpy()[[1, 4]].any()


def test_cross_entropy_custom_ignore_index_mean_divides_by_kept_rows():
    logits = leaf((5, 3), -2.0, 2.0, seed=32)
    target = np.array([2, 1, 0, 2, 2])
    check(lambda x: F.cross_entropy(x, target, ignore_index=2), logits)
    x = logits.detach().numpy()
    lse = np.log(np.exp(x).sum(1))
    rows = lse - x[np.arange(5), target]
    np.testing.assert_allclose(F.cross_entropy(logits, target, ignore_index=2).item(), rows[[1, 2]].mean(), rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(logits, target, reduction="sum", ignore_index=2).item(),
                               rows[[1, 2]].sum(), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_3d(reduction):
    logits = leaf((2, 4, 3), -2.0, 2.0, seed=33)  # (N, C, d)
    target = np.array([[0, 3, 1], [2, -100, 3]])
    check(lambda x: F.cross_entropy(x, target, reduction=reduction), logits)
    out = F.cross_entropy(logits, target, reduction="none")
    assert out.shape == (2, 3)
    x = logits.detach().numpy()
    lse = np.log(np.exp(x).sum(1))
    n, d = np.meshgrid(np.arange(2), np.arange(3), indexing="ij")
    ref = np.where(target == -100, 0.0, lse - x[n, np.where(target < 0, 0, target), d])
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12)


def test_cross_entropy_1d_input_scalar_target():
    logits = leaf((5,), seed=34)
    check(lambda x: F.cross_entropy(x, np.array(3)), logits)
    assert F.cross_entropy(logits, np.array(3)).shape == ()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    x, y = leaf((3, 4), seed=35), leaf((3, 4), seed=36)
    check(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)
    check(lambda b: F.mse_loss(x.detach(), b, reduction=reduction), y)  # gradient w.r.t. target alone
    check(lambda a: F.mse_loss(a, y.detach().numpy(), reduction=reduction), x)  # array target
    d = x.detach().numpy() - y.detach().numpy()
    ref = {"mean": np.mean(d * d), "sum": np.sum(d * d), "none": d * d}[reduction]
    np.testing.assert_allclose(F.mse_loss(x, y, reduction=reduction).detach().numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax(dim):
    x = leaf((3, 4, 2), -3.0, 3.0, seed=37)
    w = leaf((3, 4, 2), seed=38).detach()
    check(lambda t: t.softmax(dim) * w, x)
    check(lambda t: F.softmax(t, dim), x)
    check(lambda t: t.log_softmax(dim) * w, x)
    check(lambda t: F.log_softmax(t, dim), x)


def test_cast_float32_to_float64():
    # dyadic values and step: x +- eps is exact in float32, so the check is exact despite the float32 input
    x = eg.tensor(np.arange(-6, 6).reshape(3, 4) / 8.0, dtype=eg.float32, requires_grad=True)
    w = eg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=eg.float64)

    def fn(t):
        y = t.to(eg.float64)
        assert y.dtype == np.float64
        return y * y * w

    with pytest.warns(UserWarning, match="float64"):
        assert gradcheck(fn, (x,), eps=2.0 ** -10)
    x.grad = None
    fn(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * x.detach().numpy() * w.detach().numpy(), rtol=1e-6)
    assert x.to(eg.float32) is x
    assert x.double().grad_fn is not None and x.detach().double().grad_fn is None


# --- gradcheck catches a wrong backward -----------------------------------------------------------

class WrongSquare(Primitive):
    """x ** 2 with the factor 2 of the gradient forgotten."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return (g * x,)


class RightSquare(WrongSquare):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return (2 * g * x,)


class WrongBroadcastMul(Primitive):
    """a * b whose gradient for b forgets to sum over the broadcast axis (returns a slice instead)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return g * b, (g * a)[:1]


def test_gradcheck_detects_wrong_backward():
    x = leaf((3, 2), 0.5, 1.5, seed=39)
    assert gradcheck(RightSquare.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    a, b = leaf((3, 2), seed=40), leaf((1, 2), seed=41)
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(WrongBroadcastMul.apply, (a, b))
    assert x.grad is None  # gradcheck restores the inputs' grad


def test_gradcheck_restores_grad_and_data():
    x = leaf((2, 3), seed=42)
    x.grad = eg.ones(2, 3, dtype=eg.float64)
    before = x.detach().numpy().copy()
    assert gradcheck(lambda t: (t * t).sum(), (x,))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(x.detach().numpy(), before)
    with pytest.raises(ValueError):
        gradcheck(lambda t: t * 2, (x.detach(),))


# --- empty batches --------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_linear_zero_rows(bias):
    w = leaf((3, 4), seed=43)
    b = leaf((3,), seed=44) if bias else None
    x = eg.zeros(0, 4, dtype=eg.float64, requires_grad=True)
    out = F.linear(x, w, b)
    assert out.shape == (0, 3) and out.dtype == np.float64
    out.sum().backward()
    assert x.grad.shape == (0, 4)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((3, 4)))
    if bias:
        np.testing.assert_array_equal(b.grad.numpy(), np.zeros(3))
    # the same through the nn.Linear layer, float32
    layer = eg.nn.Linear(4, 2)
    y = layer(eg.zeros(0, 4))
    assert y.shape == (0, 2)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.zeros((2, 4), dtype=np.float32))
    np.testing.assert_array_equal(layer.bias.grad.numpy(), np.zeros(2, dtype=np.float32))


def test_cross_entropy_zero_rows():
    logits = eg.zeros(0, 5, dtype=eg.float64, requires_grad=True)
    target = np.zeros(0, dtype=np.int64)
    loss = F.cross_entropy(logits, target, reduction="sum")
    assert loss.shape == () and loss.item() == 0.0
    loss.backward()
    assert logits.grad.shape == (0, 5)
    assert F.cross_entropy(logits, target, reduction="none").shape == (0,)
    assert np.isnan(F.cross_entropy(logits, target).item())  # mean over no rows: nan, as PyTorch
