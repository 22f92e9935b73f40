"""Eager differences from PyTorch that a randomized side-by-side sweep (42,000 calls) found, each fixed: values
asserted against exact references (NumPy in float64, or hand-computed), PyTorch's own where it is installed."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import gradcheck, gradgradcheck

F = eg.nn.functional
try:
    import torch
except ImportError:  # the values below are checked without it; PyTorch only adds a side-by-side check
    torch = None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hypot_neither_overflows_nor_underflows(dtype):
    """sqrt(a^2 + b^2) had overflowed to inf at float32 hypot(1e30, 0.5) and underflowed to 0 at 1e-30."""
    big, small = (1e30, 1e-30) if dtype == np.float32 else (1e200, 1e-200)
    a = np.array([big, small, 3.0, 0.0, -big], dtype)
    b = np.array([0.5, small, 4.0, 0.0, big], dtype)
    got = eg.hypot(eg.tensor(a), eg.tensor(b)).numpy()
    np.testing.assert_array_equal(got, np.hypot(a, b))
    assert np.isfinite(got).all() and got[1] > 0
    x = eg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    y = eg.tensor(np.random.default_rng(1).standard_normal(4), requires_grad=True)
    assert gradcheck(eg.hypot, (x, y)) and gradgradcheck(eg.hypot, (x, y))


@pytest.mark.parametrize("offset, dims", [(0, (-2, -1)), (2, (0, 2)), (-1, (-1, 0))])
def test_diag_embed_keeps_nan_and_inf_on_the_diagonal(offset, dims):
    """It had been a product with an identity, so 0 * inf spread NaN over the whole matrix."""
    x = np.array([[1.0, np.nan, 3.0], [np.inf, -2.0, 0.5]])
    n = 3 + abs(offset)
    want = np.zeros((2, n, n))
    for i in range(3):
        want[:, i + max(-offset, 0), i + max(offset, 0)] = x[:, i]
    want = np.moveaxis(want, (-2, -1), dims)
    np.testing.assert_array_equal(eg.diag_embed(eg.tensor(x), offset, *dims).numpy(), want)
    np.testing.assert_array_equal(eg.diagflat(eg.tensor([1.0, np.nan, 3.0])).numpy(),
                                  [[1.0, 0, 0], [0, np.nan, 0], [0, 0, 3.0]])
    t = eg.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(lambda v: eg.diag_embed(v, offset, *dims), (t,))
    assert gradgradcheck(lambda v: eg.diag_embed(v, offset, *dims), (t,))


def test_svd_of_a_matrix_with_inf_returns_nan_at_once():
    """LAPACK's gesdd never returned on this float32 matrix (svdvals, matrix_norm(ord=2), pinv, cond hung)."""
    code = ("import numpy as np, eigengrad as eg\n"
            "a = np.array([[np.inf, 0.1, 0.2], [1e30, 0.44, 1.16], [0.39, -0.77, -0.25], [-2.05, 0.66, -0.94]],"
            " dtype=np.float32).T\n"
            "b = np.stack([a, np.ones_like(a)])\n"
            "s = eg.linalg.svdvals(eg.tensor(b)).numpy()\n"
            "assert np.isnan(s[0]).all() and np.isfinite(s[1]).all(), s\n"
            "assert np.isnan(eg.linalg.matrix_norm(eg.tensor(a), ord=2).item())\n"
            "u, s, vh = eg.linalg.svd(eg.tensor(b))\n"
            "assert np.isnan(u.numpy()[0]).all() and np.isfinite(u.numpy()[1]).all()\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_threshold_and_shrink_functions_keep_nan():
    """A NaN input had been replaced by the fill value or 0; PyTorch keeps it (with gradient 1), and the
    middle of softshrink is x * 0, a zero of x's sign."""
    xs = [np.nan, -0.3, 0.3, 0.0, -0.0, np.inf, -np.inf, 0.5, -0.5, 0.7, -0.7]
    x = eg.tensor(xs, dtype=eg.float64, requires_grad=True)
    cases = {
        "threshold": (F.threshold(x, 0.1, 7.0), [np.nan, 7, .3, 7, 7, np.inf, 7, .5, 7, .7, 7], [1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0]),
        "hardshrink": (F.hardshrink(x, 0.5), [np.nan, 0, 0, 0, 0, np.inf, -np.inf, 0, 0, .7, -.7], [1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]),
        "softshrink": (F.softshrink(x, 0.5), [np.nan, -0.0, 0, 0, -0.0, np.inf, -np.inf, 0, -0.0, .2, -.2],
                       [1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]),
    }
    for name, (y, want, grad) in cases.items():
        np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-12, err_msg=name)
        assert np.signbit(y.detach().numpy()).tolist() == np.signbit(np.array(want, float)).tolist(), name
        x.grad = None
        y.sum().backward()
        assert x.grad.tolist() == grad, name


def test_squeeze_with_no_dims_squeezes_nothing():
    x = eg.zeros(1, 2, 1)
    assert eg.squeeze(x, ()).shape == (1, 2, 1) and x.squeeze([]).shape == (1, 2, 1)
    assert x.squeeze().shape == (2,) and x.squeeze((0, 2)).shape == (2,)
    y = eg.zeros(1, 2, 1)
    y.squeeze_(())
    assert y.shape == (1, 2, 1)


def test_strided_weights_and_running_statistics_are_accepted():
    """A class weight made by expand (ValueError: unable to avoid copy), a strided pos_weight, running statistics
    that are strided views (updated in place through the view, as PyTorch's) and a strided embedding weight
    renormalised in place."""
    rng = np.random.default_rng(0)
    p, t = eg.tensor(rng.uniform(0.1, 0.9, (4, 3))), eg.tensor(rng.integers(0, 2, (4, 3)).astype(float))
    w = eg.tensor(rng.uniform(0.5, 2, (1, 3)))
    assert F.binary_cross_entropy(p, t, weight=w.expand(4, 3)).item() == pytest.approx(
        F.binary_cross_entropy(p, t, weight=w.expand(4, 3).contiguous()).item(), rel=1e-15)
    pw = eg.tensor(rng.uniform(0.5, 2, 6))
    assert F.binary_cross_entropy_with_logits(p, t, pos_weight=pw[::2]).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(p, t, pos_weight=pw[::2].contiguous()).item(), rel=1e-15)
    x = eg.tensor(rng.standard_normal((5, 3)))
    rm, rv = eg.zeros(6, dtype=eg.float64), eg.ones(6, dtype=eg.float64)
    F.batch_norm(x, rm[::2], rv[::2], training=True, momentum=0.1)
    np.testing.assert_allclose(rm.numpy()[::2], 0.1 * x.numpy().mean(0), rtol=1e-12)
    assert (rm.numpy()[1::2] == 0).all() and (rv.numpy()[1::2] == 1).all()
    weight = eg.tensor(rng.standard_normal((5, 6)) * 3)
    out = F.embedding(eg.tensor([0, 1]), weight[:, ::2], max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(weight.numpy()[:2, ::2], axis=1), 1.0, rtol=1e-6)  # renormed in place


@pytest.mark.parametrize("name", ["gt_", "lt_", "ge_", "le_", "eq_", "ne_", "logical_and_", "logical_or_",
                                  "logical_xor_", "logical_not_", "heaviside_", "nextafter_", "copysign_"])
def test_in_place_comparisons_under_autograd(name):
    """They had raised AttributeError ('NoneType' object has no attribute 'saved') when self or other required
    grad: the result has no history, so the tensor's new value now has a zero gradient, as PyTorch's; heaviside_'s
    backward raises PyTorch's error and nextafter_'s passes the gradient where the value moved."""
    w = eg.tensor([0.3, -2.0, 1.5], requires_grad=True)
    other = eg.tensor([-1.0, 2.0, 1.5], requires_grad=name == "copysign_")
    x = w * 1
    plain = getattr(eg.tensor([0.3, -2.0, 1.5]), name)(*(() if name == "logical_not_" else (other.detach(),)))
    got = getattr(x, name)(*(() if name == "logical_not_" else (other,)))
    assert got is x and x.tolist() == plain.tolist() and x.requires_grad
    if name == "heaviside_":
        with pytest.raises(RuntimeError, match="derivative for aten::heaviside"):
            (x * w).sum().backward()
        return
    (x * w).sum().backward()
    want = plain.numpy()  # d(x * w)/dw with x constant in w
    if name == "nextafter_":  # x = nextafter(w, other): dx/dw = 1 where w != other
        want = want + np.where(w.detach().numpy() != other.numpy(), w.detach().numpy(), 0)
    if name == "copysign_":  # x = |w| sign(other): d(x * w)/dw = x + w sign(w) sign(other)
        want = want + np.abs(w.detach().numpy()) * np.sign(other.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-6)
    if other.requires_grad:
        assert other.grad.tolist() == [0.0] * 3


def test_cumprod_gradient_by_formula():
    """PyTorch's reversed_cumsum(g * y) / x where no element is 0 (the products had been composed one by one: 0.7 s
    for 4 x 5000), the composition where one is; both twice differentiable."""
    rng = np.random.default_rng(0)
    x = eg.tensor(rng.uniform(0.5, 1.5, (3, 7)), requires_grad=True)
    assert gradcheck(lambda v: eg.cumprod(v, 1), (x,)) and gradgradcheck(lambda v: eg.cumprod(v, 1), (x,))
    z = eg.tensor(np.array([[1.5, 0.0, 2.0, 0.5], [0.5, 2.0, 0.0, 0.0]]), requires_grad=True)
    assert gradcheck(lambda v: eg.cumprod(v, 1), (z,))
    long = eg.tensor(rng.uniform(0.999, 1.001, (4, 5000)).astype(np.float32), requires_grad=True)
    y = eg.cumprod(long, 1)
    g = rng.standard_normal((4, 5000)).astype(np.float32)
    y.backward(eg.tensor(g))
    y64 = np.cumprod(long.detach().numpy().astype(np.float64), 1)
    want = np.flip(np.cumsum(np.flip(g * y64, 1), 1), 1) / long.detach().numpy()
    np.testing.assert_allclose(long.grad.numpy(), want, rtol=0, atol=1e-5 * np.abs(want).max())
    if torch is not None:
        t = torch.from_numpy(long.detach().numpy()).requires_grad_()
        torch.cumprod(t, 1).backward(torch.from_numpy(g))
        np.testing.assert_array_equal(y.detach().numpy(), torch.cumprod(t, 1).detach().numpy())
        np.testing.assert_array_equal(long.grad.numpy(), t.grad.numpy())


def test_functional_activations_take_integer_tensors():
    """F.relu keeps an integer dtype, F.sigmoid and F.tanh give the default float, as torch's (they had raised
    TypeError: expected a float32 or float64 tensor)."""
    x = eg.tensor([-2, 3, 9])
    assert F.relu(x).dtype == eg.int64 and F.relu(x).tolist() == [0, 3, 9]
    assert F.sigmoid(x).dtype == eg.float32 and F.tanh(x).dtype == eg.float32
    np.testing.assert_allclose(F.sigmoid(x).numpy(), 1 / (1 + np.exp(-np.array([-2.0, 3, 9]))), rtol=1e-6)
    np.testing.assert_allclose(F.tanh(x).numpy(), np.tanh([-2.0, 3, 9]), rtol=1e-6)
    y = eg.tensor([-2, 3])
    F.relu(y, inplace=True)
    assert y.tolist() == [0, 3]


def test_zero_size_inputs_give_empty_or_identity_results():
    """Each had raised an internal error (a reshape with -1 over no elements, an argmax or amin of nothing)."""
    got = eg.searchsorted(eg.zeros(2, 0), eg.ones(2, 3))  # (an empty sequence: every value goes at 0)
    assert got.dtype == eg.int64 and got.tolist() == [[0, 0, 0], [0, 0, 0]]
    got = eg.searchsorted(eg.arange(6.0).reshape(2, 3), eg.ones(2, 0), right=True)
    assert got.shape == (2, 0)
    assert eg.searchsorted(eg.tensor([[1.0, 3.0], [0.0, 5.0]]), eg.tensor([[2.0], [6.0]])).tolist() == [[1], [2]]
    for shape in [(2, 0, 0), (0, 3, 3), (2, 0, 3), (2, 3, 0)]:
        lu, piv, info = eg.linalg.lu_factor_ex(eg.zeros(*shape))
        k = min(shape[-2:])
        assert lu.shape == shape and piv.shape == shape[:-2] + (k,) and info.tolist() == [0] * shape[0]
        p, low, up = eg.lu_unpack(lu, piv)
        assert p.shape == shape[:-2] + (shape[-2],) * 2 and low.shape == shape[:-1] + (k,)
    for p in [None, 2, -2, "fro", "nuc", 1, -1, float("inf")]:
        got = eg.linalg.cond(eg.zeros(2, 0, 0, dtype=eg.float64), p=p)
        assert got.dtype == eg.float64 and got.tolist() == [0.0, 0.0], p
    assert eg.linalg.cond(eg.zeros(0, 3)).item() == 0.0
    folded = F.fold(eg.zeros(0, 4, 9), (5, 6), kernel_size=1, stride=2)
    assert folded.shape == (0, 4, 5, 6)
    x = eg.zeros(3, 0, requires_grad=True)
    for p in [0.0, 1.0, 2.0, float("inf")]:
        d = F.pdist(x, p=p)
        assert d.tolist() == [0.0, 0.0, 0.0], p
    d.sum().backward()
    assert x.grad.shape == (3, 0)


def test_a_view_shows_a_write_through_another_view_at_once():
    """x = b[1:]; x[1, idx] = v (v requires grad): x, and every other view of b, requires grad and has a history at
    once, as PyTorch's; they had caught up only when the next op used them."""
    libs = [eg] + ([torch] if torch is not None else [])
    for lib in libs:
        b = lib.zeros(3, 4)
        x, y = b[1:], b[0]
        v = lib.tensor(2.0, requires_grad=True)
        x[1, lib.tensor([0])] = v  # (an integer then an index tensor: written through a temporary view of x)
        for t in (x, y, b):
            assert (t.requires_grad, t.grad_fn is not None, t.is_leaf) == (True, True, False), lib.__name__
        (x[1, 0] * 3 + y.sum()).backward()
        assert v.grad.item() == 3.0
        e = lib.zeros(0)[::2]
        e[0:2:2] = v
        assert e.requires_grad and e.grad_fn is not None
        with pytest.raises(RuntimeError):  # (a view's flag is not the user's to set)
            x.requires_grad = False


def test_integer_activations_keep_their_dtype():
    """F.hardtanh / relu6 / threshold of an integer tensor: the bounds cast to its dtype, the result integer (they
    had promoted to float32); an unsigned one with negative limits and a bool one are refused, as PyTorch's."""
    x = eg.tensor([-3, 0, 1, 2, 9])
    for got, want in [(F.hardtanh(x, -1.5, 1.5), [-1, 0, 1, 1, 1]), (F.relu6(x), [0, 0, 1, 2, 6]),
                      (F.threshold(x, 1.5, 2.7), [2, 2, 2, 2, 9]), (F.threshold(x, 1, -2.5), [-2, -2, -2, 2, 9])]:
        assert got.dtype == eg.int64 and got.tolist() == want
    assert F.hardtanh(x.to(eg.int32)).dtype == eg.int32
    y = x.clone()
    F.threshold_(y, 1, 7)
    assert y.tolist() == [7, 7, 7, 2, 9]
    with pytest.raises(RuntimeError, match="unsigned type with negative limits"):
        F.hardtanh(x.to(eg.uint8))
    with pytest.raises(TypeError, match="Bool inputs not supported for hardtanh"):
        F.hardtanh(x > 0)
    assert F.relu6(eg.tensor([-1.0, 7.0])).tolist() == [0.0, 6.0]


def test_result_dtypes_follow_pytorchs_promotion():
    a, b, c = eg.tensor([1, 2, 3]), eg.tensor([4, 5, -6]), eg.tensor([7, 8, 9])
    got = eg.addcmul(a, b, c, value=2.7)  # (the value cast to int64: 2)
    assert got.dtype == eg.int64 and got.tolist() == [57, 82, -105]
    assert eg.addcmul(a, b, c, value=0.5).tolist() == [1, 2, 3]
    assert eg.addcmul(a.float(), b, c, value=0.5).tolist() == [15.0, 22.0, -24.0]
    i32 = eg.tensor([4, 9], dtype=eg.int32)
    assert eg.gcd(eg.tensor(6), i32).dtype == eg.int32 and eg.gcd(eg.tensor(6), i32).tolist() == [2, 3]
    assert eg.lcm(eg.tensor([6]), i32).dtype == eg.int64
    with pytest.raises(NotImplementedError, match="'Bool'"):
        eg.gcd(eg.tensor([True]), eg.tensor([False]))
    m = eg.ones(2, 2, 3, dtype=eg.int32)
    assert eg.addbmm(eg.zeros(2, 2, dtype=eg.int32), m, m.mT).dtype == eg.int32
    assert eg.vander(i32).dtype == eg.int64 and eg.vander(i32).tolist() == [[4, 1], [9, 1]]
    assert eg.block_diag(eg.tensor(1.0), eg.tensor(2.0, dtype=eg.float64)).dtype == eg.float64
    got = eg.ldexp(i32, eg.tensor(3.0, dtype=eg.float64))
    assert got.dtype == eg.float64 and got.tolist() == [32.0, 72.0]
    assert eg.ldexp(i32, i32).dtype == eg.float32
    got = eg.nextafter(eg.tensor([1.0, 2.0]), eg.tensor([2.0, 1.0], dtype=eg.float64))
    assert got.dtype == eg.float64 and got.tolist() == [np.nextafter(1.0, 2.0), np.nextafter(2.0, 1.0)]
    got = eg.nextafter(eg.tensor([1.0, 2.0]), eg.tensor(3))
    assert got.dtype == eg.float32 and got.numpy().tolist() == np.nextafter(np.float32([1, 2]), np.float32(3)).tolist()


def test_outputs_of_inputs_that_require_grad_require_grad():
    """nextafter (its gradient passes to input where it moves, other's is zero), heaviside (backward raises PyTorch's
    error), an empty quantile and the median of nothing are in the input's graph, as PyTorch's."""
    x = eg.tensor([0.5, 0.0, -1.0], requires_grad=True)
    o = eg.tensor([5.0, 1.0, 2.0], requires_grad=True)
    eg.nextafter(x, o).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0] and o.grad.tolist() == [0.0, 0.0, 0.0]
    x.grad = None
    eg.nextafter(x, eg.tensor([0.5, 1.0, -1.0])).sum().backward()  # (PyTorch's: 0 where input == other)
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    xd = eg.tensor([[0.5, 0.0, -1.0]], dtype=eg.float64, requires_grad=True)
    od = eg.tensor([[5.0], [-3.0]], dtype=eg.float64, requires_grad=True)  # (no tie: there the gradient is 0)
    assert gradcheck(eg.nextafter, (xd, od)) and gradgradcheck(eg.nextafter, (xd, od))
    h = eg.heaviside(x, eg.tensor(1.0))
    assert h.requires_grad and h.tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        h.sum().backward()
    q = eg.quantile(x, eg.tensor([]))
    assert q.requires_grad and q.shape == (0,)
    e = eg.zeros(0, requires_grad=True)
    m = eg.median(e)
    assert m.requires_grad and np.isnan(m.item())
    m.backward()
    assert e.grad.shape == (0,)


def test_broadcast_errors_are_pytorchs_runtime_error():
    a, b = eg.ones(2, 3), eg.ones(4)
    for f in (eg.eq, eg.lt, eg.logical_and, eg.fmax, eg.xlogy, eg.isclose):
        with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
            f(a, b)
    with pytest.raises(ValueError):  # (and NumPy's class, for code written for eigengrad)
        eg.bitwise_and(eg.ones(2, 3, dtype=eg.int64), eg.ones(4, dtype=eg.int64))


def test_addmm_with_alpha_zero_ignores_the_product():
    """PyTorch skips the product when alpha is 0: an inf in mat1 does not give NaN; mat1's gradient is zeros."""
    m = eg.tensor([[np.inf, 1.0], [1.0, 2.0]], requires_grad=True)
    i = eg.ones(2, 2, requires_grad=True)
    y = eg.addmm(i, m, eg.ones(2, 2), alpha=0, beta=2.0)
    y.sum().backward()
    assert y.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert m.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]] and i.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert eg.addmv(eg.ones(2), m.detach(), eg.ones(2), alpha=0).tolist() == [1.0, 1.0]


def test_3d_max_pooling_picks_pytorchs_element():
    """Ties: the first maximum in (depth, row, column) order (adaptive_max_pool3d had taken a later depth's); NaN:
    the last NaN, PyTorch's update val > max || isnan(val) (max_pool3d had taken the first). The index and the
    gradient follow the element."""
    x = np.zeros((1, 1, 2, 2, 2), np.float32)
    x[0, 0, 0, 1, 1] = x[0, 0, 1, 0, 0] = 2.0  # flat 3 and 4
    t = eg.tensor(x, requires_grad=True)
    v, i = F.adaptive_max_pool3d(t, 1, return_indices=True)
    v.sum().backward()
    assert i.flatten().tolist() == [3] and np.flatnonzero(t.grad.numpy()).tolist() == [3]
    n = np.zeros((1, 1, 2, 2, 2), np.float32)
    n.reshape(-1)[[1, 7]] = np.nan
    v, i = F.max_pool3d(eg.tensor(n), 2, return_indices=True)
    assert i.flatten().tolist() == [7] and np.isnan(v.item())
    v, i = F.adaptive_max_pool3d(eg.tensor(n), 1, return_indices=True)
    assert i.flatten().tolist() == [7]
    if torch is None:
        return
    rng = np.random.default_rng(0)
    for trial in range(40):  # integer values: many ties; some NaN
        a = rng.integers(-2, 3, (2, 2, 4, 5, 3)).astype(np.float32)
        if trial % 3 == 0:
            a.reshape(-1)[rng.integers(0, a.size, 3)] = np.nan
        for f in (lambda L, u: L.nn.functional.max_pool3d(u, 2, 1, 1, return_indices=True),
                  lambda L, u: L.nn.functional.adaptive_max_pool3d(u, (3, 2, 2), return_indices=True)):
            (vt, it), (ve, ie) = f(torch, torch.tensor(a)), f(eg, eg.tensor(a))
            np.testing.assert_array_equal(ve.numpy(), vt.numpy())
            np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_compiled_3d_max_pooling_replays():
    """max_pool3d had fallen back (its depth choice was NumPy outside the trace): it replays, choosing again at
    every call, bit for bit as eager mode."""
    import copy

    rng = np.random.default_rng(0)
    model = eg.nn.Sequential(eg.nn.Conv3d(1, 2, 1), eg.nn.MaxPool3d(2))
    twin = copy.deepcopy(model)
    runs = []
    for m in (model, twin):
        opt = eg.optim.SGD(m.parameters(), lr=0.1)

        def step(x, m=m, opt=opt):
            opt.zero_grad()
            out, idx = F.max_pool3d(m[0](x), 2, return_indices=True)
            loss = out.sum() + idx.float().mean() * 0
            loss.backward()
            opt.step()
            return loss
        runs.append(eg.compile(step) if m is model else step)
    xs = [eg.tensor(rng.standard_normal((2, 1, 4, 4, 4)).astype(np.float32)) for _ in range(8)]
    got = [runs[0](x).item() for x in xs]
    assert runs[0].fallback_reason is None and runs[0].replays >= 2
    assert got == [runs[1](x).item() for x in xs]
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), twin[0].weight.detach().numpy())


def test_out_of_another_shape_is_resized_with_pytorchs_warning():
    """A resize can hide a wrong ``out=`` (PyTorch warns, and will refuse it); an empty out is resized quietly."""
    out = eg.zeros(2)
    with pytest.warns(UserWarning, match=r"had shape \[2\], which does not match the required output shape \[3\]"):
        eg.add(eg.ones(3), eg.ones(3), out=out)
    assert out.tolist() == [2.0, 2.0, 2.0]
    empty = eg.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eg.mul(eg.ones(2, 2), 3.0, out=empty)
    assert empty.tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_cosine_similarity_gradient_below_eps_is_the_norms_own():
    """PyTorch clamps the norms at eps under no_grad: the value uses eps, the gradient the unclamped norm's (it had
    differentiated through the clamp, as if the norm were the constant eps)."""
    a = np.array([[1.0, -2.0, 2.0]])
    b = np.array([[0.4149, -0.0594, -0.0014]])  # ||b|| = 0.42 < eps
    A, B = eg.tensor(a, requires_grad=True), eg.tensor(b, requires_grad=True)
    y = F.cosine_similarity(A, B, dim=1, eps=0.5)
    y.sum().backward()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    np.testing.assert_allclose(y.item(), (a @ b.T).item() / (na * 0.5), rtol=1e-12)
    want_b = a / (na * 0.5) - (a @ b.T) / (na * 0.25) * b / nb  # d/db of a.b / (na * nb_clamped), nb' = b / ||b||
    np.testing.assert_allclose(B.grad.numpy(), want_b, rtol=1e-10)
    if torch is not None:
        At, Bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        torch.nn.functional.cosine_similarity(At, Bt, dim=1, eps=0.5).sum().backward()
        np.testing.assert_allclose(B.grad.numpy(), Bt.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(A.grad.numpy(), At.grad.numpy(), rtol=1e-12)


def test_multi_margin_loss_with_an_infinite_target_logit():
    """The target's own term was a product with 0: inf - inf gave NaN; PyTorch's loss is 0 there."""
    x = eg.tensor([[np.inf, 1.0, 0.5], [0.2, 0.1, 3.0]], requires_grad=True)
    loss = F.multi_margin_loss(x, eg.tensor([0, 1]), reduction="none")
    assert loss.tolist()[0] == 0.0 and loss.tolist()[1] == pytest.approx((1.1 + 0.0 + 3.9) / 3)
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_compiled_multi_margin_loss_reads_each_calls_targets():
    """Its mask of the other classes is a NumPy step: a compiled step computes it from each call's targets."""
    import copy

    rng = np.random.default_rng(0)
    models = [eg.nn.Linear(4, 3)]
    models.append(copy.deepcopy(models[0]))
    steps = []
    for m in models:
        opt = eg.optim.SGD(m.parameters(), lr=0.1)

        def step(x, y, m=m, opt=opt):
            opt.zero_grad()
            loss = F.multi_margin_loss(m(x), y)
            loss.backward()
            opt.step()
            return loss
        steps.append(step)
    compiled = eg.compile(steps[0])
    batches = [(eg.tensor(rng.standard_normal((5, 4)).astype(np.float32)), eg.tensor(rng.integers(0, 3, 5)))
               for _ in range(8)]
    got = [compiled(x, y).item() for x, y in batches]
    assert compiled.fallback_reason is None and compiled.replays >= 2
    assert got == [steps[1](x, y).item() for x, y in batches]
    np.testing.assert_array_equal(models[0].weight.detach().numpy(), models[1].weight.detach().numpy())


def test_exception_classes_are_pytorchs():
    """Each raised another class than PyTorch's (an IndexError, a plain TypeError or ValueError): code written for
    PyTorch catches RuntimeError / NotImplementedError; the classes stay ValueError / TypeError too."""
    with pytest.raises(RuntimeError, match="tensor has no dimensions"):
        eg.unflatten(eg.tensor(1.0), 0, (1,))
    with pytest.raises(RuntimeError, match=r"Input must be >= 2-d\."):
        eg.fliplr(eg.ones(3))
    with pytest.raises(RuntimeError, match=r"Input must be >= 1-d\."):
        eg.flipud(eg.tensor(1.0))
    with pytest.raises(NotImplementedError, match="expected a float32 or float64 tensor, got dtype int64") as info:
        F.leaky_relu(eg.tensor([1, 2]))
    assert isinstance(info.value, TypeError) and isinstance(info.value, RuntimeError)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        F.instance_norm(eg.ones(2, 3, 4), running_mean=eg.zeros(1).expand(3), running_var=eg.ones(3),
                        use_input_stats=True)


def test_linear_interpolation_of_an_infinite_value_in_1d():
    """1-D linear upsampling had a row term of weight 0 (planes of height 1): 0 * inf gave NaN next to an inf;
    PyTorch's 1-D kernel has no such term."""
    x = eg.tensor(np.array([[[1.0, np.inf, 2.0, 3.0]]], np.float32))
    got = F.interpolate(x, scale_factor=2, mode="linear").numpy().ravel()
    assert np.isnan(got[0]) and got[1:5].tolist() == [np.inf] * 4 and got[5:].tolist() == [2.25, 2.75, 3.0]
    if torch is None:
        return
    rng = np.random.default_rng(0)
    # finite values: the same bits as PyTorch's, whose kernels fuse their multiply-adds as eigengrad's do from the
    # avx2 level up; at the baseline level (no FMA) within the rounding of the source position (up to the input's
    # length) times a difference of two values, and of the multiply-add
    fused = eg.backends.cpu.get_cpu_capability() != "baseline"
    for trial in range(60):
        a = rng.standard_normal((2, 3, int(rng.integers(1, 9)))).astype(np.float32)
        kw = dict(size=int(rng.integers(1, 20)), mode="linear", align_corners=bool(trial % 2))
        want = torch.nn.functional.interpolate(torch.tensor(a), **kw).numpy()
        got = F.interpolate(eg.tensor(a), **kw).numpy()
        if fused:
            np.testing.assert_array_equal(got, want)
        else:
            bound = 2 * np.finfo(np.float32).eps * np.abs(a).max() * (a.shape[-1] + 1)
            np.testing.assert_allclose(got, want, rtol=0, atol=bound)


def test_layer_argument_errors_are_pytorchs_runtime_error():
    """A forward's check of a shape or dtype raised a plain ValueError or TypeError; PyTorch raises RuntimeError
    (NotImplementedError for an unsupported dtype). They are both classes now."""
    lin = eg.nn.Linear(3, 4)
    with pytest.raises(RuntimeError, match=r"does not match weight of shape \(4, 3\)") as info:
        lin(eg.ones(2, 4))
    assert isinstance(info.value, ValueError)
    with pytest.raises(RuntimeError, match="expected dtype float64") as info:
        lin(eg.ones(2, 3, dtype=eg.float64))
    assert isinstance(info.value, TypeError)
    with pytest.raises(RuntimeError, match="expected dtype float64"):
        eg.nn.PReLU()(eg.ones(2, dtype=eg.float64))
    with pytest.raises(NotImplementedError, match="input: expected a float32 or float64 tensor, got dtype int64"):
        F.max_pool1d(eg.ones(1, 1, 4, dtype=eg.int64), 2)
    with pytest.raises(RuntimeError, match="integer class indices"):
        F.multilabel_margin_loss(eg.ones(2, 3), eg.zeros(2, 3))


def test_cross_entropy_probability_targets_of_another_float_dtype_promote():
    """float32 logits and float64 probabilities give a float64 loss, log_softmax taken in float32 (PyTorch's);
    it had raised TypeError."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    p = rng.dirichlet(np.ones(4), 3)
    logits = eg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, eg.tensor(p), label_smoothing=0.1)
    loss.backward()
    log_softmax = (x - x.max(1, keepdims=True)) - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))
    want = -((p * 0.9 + 0.1 / 4) * log_softmax.astype(np.float32).astype(np.float64)).sum(1).mean()
    assert loss.dtype == eg.float64 and logits.grad.dtype == eg.float32
    assert loss.item() == pytest.approx(want, rel=1e-6)


def test_transposed_convolution_with_an_output_size_of_zero_is_empty():
    """PyTorch (float32) returns the empty output, the input and weight getting zero gradients; it had raised."""
    for dims, module in [(1, eg.nn.ConvTranspose1d(3, 4, 2, padding=1)), (2, eg.nn.ConvTranspose2d(2, 4, (2, 1),
                         padding=(1, 0), groups=2)), (3, eg.nn.ConvTranspose3d(1, 2, 2, padding=1))]:
        x = eg.ones(2, module.in_channels, *([1] * dims), requires_grad=True)
        y = module(x)
        assert y.shape[:2] == (2, module.out_channels) and 0 in y.shape
        y.sum().backward()
        assert x.grad.shape == x.shape and not x.grad.numpy().any()
        assert module.weight.grad.shape == module.weight.shape and not module.weight.grad.numpy().any()
    with pytest.raises(RuntimeError, match="too small"):  # (a negative size stays an error)
        F.conv_transpose2d(eg.ones(1, 2, 1, 1), eg.ones(2, 2, 1, 1), padding=1)


def test_3d_pooling_refuses_a_window_that_does_not_fit():
    """It had returned a zero-size output where PyTorch (and the 2-D pools) raise."""
    x = eg.ones(3, 1, 1, 7)
    for layer in (eg.nn.MaxPool3d(kernel_size=(3, 1, 3), stride=(3, 3, 1)),
                  eg.nn.AvgPool3d(kernel_size=(3, 1, 3), stride=(3, 3, 1))):
        with pytest.raises(RuntimeError, match=r"does not fit the input volume \(1, 1, 7\): output \(0, 1, 5\)"):
            layer(x)
    assert eg.nn.MaxPool3d(1)(x).shape == (3, 1, 1, 7)


def test_pixel_shuffle_of_integers_and_embeddings_padding_idx_assertion():
    """pixel_shuffle is a rearrangement: integer tensors keep their dtype (it had refused them); an out-of-range
    padding_idx is PyTorch's AssertionError (and still a ValueError)."""
    x = eg.arange(16).reshape(1, 4, 2, 2)
    y = F.pixel_shuffle(x, 2)
    assert y.dtype == eg.int64 and y.tolist() == [[[[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]]]]
    assert F.pixel_unshuffle(y, 2).equal(x)
    with pytest.raises(AssertionError, match="padding_idx: must be within num_embeddings") as info:
        eg.nn.Embedding(5, 3, padding_idx=10)
    assert isinstance(info.value, ValueError)


def test_avg_pool3d_needs_the_unpadded_input_to_hold_the_window():
    # PyTorch's avg_pool3d checks the input before padding (max_pool3d does not): a window of 3 rows over 1
    # row padded to 3 is refused there
    pool = eg.nn.AvgPool3d((1, 3, 1), stride=(3, 1, 3), padding=(0, 1, 0))
    with pytest.raises(RuntimeError, match=r"input image \(T: 1 H: 1 W: 5\) smaller than kernel size \(kT: 1 kH: 3 "
                                           r"kW: 1\)"):
        pool(eg.ones(1, 1, 1, 5))
    out = eg.nn.functional.avg_pool3d(eg.ones(1, 1, 3, 3, 3), 3, stride=1, padding=1)
    assert out.shape == (1, 1, 3, 3, 3) and float(out[0, 0, 1, 1, 1]) == 1.0
    assert eg.nn.MaxPool3d((1, 3, 1), stride=1, padding=(0, 1, 0))(eg.ones(1, 1, 1, 5)).shape == (1, 1, 1, 5)


def test_a_transposed_convolution_refuses_padding_same_with_a_type_error():
    with pytest.raises(TypeError, match="padding: ConvTranspose2d takes an int or a tuple of ints, got 'same'"):
        eg.nn.ConvTranspose2d(3, 4, 3, padding="same")


def test_bce_target_gradient_is_minus_logit_unclamped():
    # PyTorch's binary_cross_entropy_target_backward: -logit(x), +inf at x = 0 and -inf at x = 1 (the forward's
    # clamp of the logs at -100 does not reach it); eigengrad gave the clamped +-100
    x = eg.tensor([0.0, 0.3, 1.0, 0.9], dtype=eg.float64, requires_grad=True)
    y = eg.tensor([1.0, 0.5, 0.0, 0.2], dtype=eg.float64, requires_grad=True)
    eg.nn.BCELoss(reduction="sum")(x, y).backward()
    want = [np.inf, -np.log(0.3 / 0.7), -np.inf, -np.log(0.9 / 0.1)]
    np.testing.assert_allclose(y.grad.numpy(), want, rtol=1e-15)
    xs = eg.tensor([0.2, 0.6], dtype=eg.float64, requires_grad=True)
    ys = eg.tensor([0.3, 0.9], dtype=eg.float64, requires_grad=True)
    f = lambda a, b: eg.nn.functional.binary_cross_entropy(a, b)  # noqa: E731
    assert gradcheck(f, (xs, ys)) and gradgradcheck(f, (xs, ys))
