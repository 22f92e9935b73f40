"""Tensor: creation, memory sharing, arithmetic against NumPy, reductions, shapes, indexing, grad mode."""
import operator

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close


# --- creation and memory --------------------------------------------------------------------------

def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0, 3.0])
    t = eg.tensor(a)
    a[0] = 100.0
    assert t.numpy()[0] == 1.0
    t.numpy()[1] = -5.0
    assert a[1] == 2.0
    src = eg.tensor([1.0, 2.0])
    copy = eg.tensor(src)
    src.numpy()[0] = 9.0
    assert copy.tolist() == [1.0, 2.0]


def test_tensor_dtype_inference():
    assert eg.tensor([1.5, 2.0]).dtype == np.float32
    assert eg.tensor(2.5).dtype == np.float32
    assert eg.tensor([[1, 2], [3, 4]]).dtype == np.int64
    assert eg.tensor(7).dtype == np.int64
    assert eg.tensor([1, 2.5]).dtype == np.float32  # mixed int/float: float
    assert eg.tensor([True, False]).dtype == np.bool_
    for dt in (np.float64, np.float32, np.int32, np.uint8):
        assert eg.tensor(np.zeros(3, dtype=dt)).dtype == dt
    assert eg.tensor([1, 2], dtype=eg.float64).dtype == np.float64
    assert eg.tensor(np.arange(3), dtype=eg.float32).tolist() == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(eg.tensor([[1.5, 2.0]]).numpy(), np.array([[1.5, 2.0]], dtype=np.float32))


def test_tensor_constructor_and_as_tensor_convert_dtype():
    a = np.arange(6.0).reshape(2, 3)
    t = eg.Tensor(a, dtype=eg.float32)
    assert t.dtype == np.float32 and t.numpy().tolist() == a.tolist()
    s = eg.as_tensor(a, dtype=eg.float32)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s.numpy(), a.astype(np.float32))
    shared = eg.as_tensor(a)
    a[0, 0] = 42.0
    assert shared.numpy()[0, 0] == 42.0  # same dtype: no copy


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = eg.from_numpy(a)
    assert t.dtype == np.float64
    a[0, 1] = 10.0
    assert t.numpy()[0, 1] == 10.0
    t.numpy()[1, 2] = -3.0
    assert a[1, 2] == -3.0
    with eg.no_grad():
        t.zero_()
    assert not a.any()
    with pytest.raises(TypeError):
        eg.from_numpy([1.0, 2.0])


def test_from_numpy_non_contiguous():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    view = base[::2, 1::2]  # (2, 3), strided
    assert not view.flags.c_contiguous
    t = eg.from_numpy(view)
    assert t.shape == (2, 3)
    base[2, 3] = 99.0  # is view[1, 1]
    assert t.numpy()[1, 1] == 99.0
    t.numpy()[0, 2] = -1.0  # is base[0, 5]
    assert base[0, 5] == -1.0
    # ops on the strided tensor see the right values
    np.testing.assert_array_equal((t * 2).numpy(), view * 2)
    np.testing.assert_array_equal((t @ eg.ones(3, 2)).numpy(), view @ np.ones((3, 2), dtype=np.float32))
    np.testing.assert_array_equal(t.relu().numpy(), np.maximum(view, 0))
    tt = eg.from_numpy(base.T)
    np.testing.assert_array_equal(tt.sum(0).numpy(), base.T.sum(0))


def test_numpy_is_zero_copy_and_detach_shares_memory():
    t = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert t.detach().numpy() is t.detach().numpy()
    arr = t.detach().numpy()
    arr[0] = 5.0
    assert t.tolist()[0] == 5.0
    d = t.detach()
    assert not d.requires_grad and d.grad is None and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.detach().numpy(), t.detach().numpy())
    d.numpy()[2] = -7.0
    assert t.tolist() == [5.0, 2.0, -7.0]
    y = (t * 2).detach()
    assert not y.requires_grad and y.is_leaf
    assert np.shares_memory(t.data.numpy(), t.numpy(force=True)) and not t.data.requires_grad


def test_properties_and_item():
    t = eg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == eg.float32 and t.size() == (2, 3) and t.size(1) == 3
    s = t.sum()
    assert isinstance(s.item(), float) and s.item() == 21.0
    assert eg.tensor([3]).item() == 3 and isinstance(eg.tensor([3]).item(), int)
    assert float(eg.tensor(2.5)) == 2.5 and int(eg.tensor(4)) == 4
    with pytest.raises(ValueError):
        t.item()
    with pytest.raises(RuntimeError):
        bool(t)
    with pytest.raises(TypeError):
        len(eg.tensor(1.0))


def test_requires_grad_only_on_float_dtypes():
    for dt in (eg.float32, eg.float64):
        assert eg.tensor([1.0], dtype=dt, requires_grad=True).requires_grad
        assert eg.zeros(2, dtype=dt).requires_grad_().requires_grad
    with pytest.raises(TypeError):
        eg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        eg.tensor([1, 2]).requires_grad_()
    with pytest.raises(TypeError):
        eg.tensor([True]).requires_grad_(True)
    with pytest.raises(TypeError):
        eg.zeros(2, dtype=eg.int32, requires_grad=True)
    assert not eg.tensor([1.0]).requires_grad
    y = eg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)


def test_factories():
    assert eg.zeros(2, 3).dtype == np.float32 and not eg.zeros(2, 3).numpy().any()
    np.testing.assert_array_equal(eg.ones((2, 2), dtype=eg.float64).numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(eg.full((2,), 3.5).numpy(), [3.5, 3.5])
    np.testing.assert_array_equal(eg.arange(4).numpy(), [0, 1, 2, 3])
    assert eg.arange(4).dtype == np.int64 and eg.arange(0.0, 1.0, 0.5).dtype == np.float32
    x = eg.tensor([[1.0, 2.0]], dtype=eg.float64)
    assert eg.zeros_like(x).dtype == np.float64 and eg.ones_like(x).tolist() == [[1.0, 1.0]]


# --- arithmetic -----------------------------------------------------------------------------------

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("op", BINARY, ids=["add", "sub", "mul", "div"])
@pytest.mark.parametrize("sa,sb", [((3, 1, 4), (2, 4)), ((2, 3), (3,)), ((4,), ()), ((2, 1), (1, 5))])
def test_binary_broadcasting_matches_numpy(op, sa, sb, dtype, rng):
    a = rng.uniform(0.5, 2.0, sa).astype(dtype)
    b = rng.uniform(0.5, 2.0, sb).astype(dtype)
    out = op(eg.tensor(a), eg.tensor(b))
    assert isinstance(out, eg.Tensor) and out.dtype == dtype
    assert_close(out.numpy(), op(a, b), dtype)


def test_pow_forms_match_numpy(dtype, rng):
    a = rng.uniform(0.5, 2.0, (3, 1, 4)).astype(dtype)
    b = rng.uniform(-1.0, 2.0, (2, 4)).astype(dtype)
    ta, tb = eg.tensor(a), eg.tensor(b)
    assert_close((ta ** 2).numpy(), a ** 2, dtype)
    assert_close((ta ** 0.5).numpy(), np.sqrt(a), dtype)
    assert_close((ta ** -1).numpy(), 1 / a, dtype)
    assert_close((2 ** tb).numpy(), 2.0 ** b, dtype)
    assert_close((ta ** tb).numpy(), a ** b, dtype)
    assert (2 ** tb).dtype == dtype and (ta ** 2).dtype == dtype and (ta ** tb).dtype == dtype
    assert_close(ta.pow(3).numpy(), a ** 3, dtype)


def test_reflected_operators(dtype):
    x = eg.tensor(np.array([1.0, 2.0, 4.0], dtype=dtype))
    for out, expected in [
        (2 - x, [1.0, 0.0, -2.0]), (2 / x, [2.0, 1.0, 0.5]), (2 ** x, [2.0, 4.0, 16.0]),
        (3 + x, [4.0, 5.0, 7.0]), (3 * x, [3.0, 6.0, 12.0]), (-x, [-1.0, -2.0, -4.0]),
    ]:
        assert isinstance(out, eg.Tensor) and out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    arr = np.array([10.0, 20.0, 30.0], dtype=dtype)
    for out, expected in [(arr + x, arr + x.numpy()), (arr - x, arr - x.numpy()), (arr * x, arr * x.numpy()),
                          (arr / x, arr / x.numpy())]:
        assert isinstance(out, eg.Tensor), type(out)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert isinstance(np.float64(2.0) * x, eg.Tensor)
    assert (+x) is x


def test_python_scalars_preserve_float32():
    x = eg.tensor([1.0, 2.0])  # float32
    for out in (x + 1, x + 1.5, x * 2.0, x / 3, 1.5 - x, 2.0 / x, x ** 2.0, 2.0 ** x, -x, x.mean(), x.sum(), x.exp()):
        assert out.dtype == np.float32, out
    assert (eg.tensor([1, 2]) + 1).dtype == np.int64
    assert (x + np.ones(2, dtype=np.float64)).dtype == np.float64  # arrays promote as NumPy does


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5))])
def test_matmul_matches_numpy(sa, sb, dtype, rng):
    a = rng.standard_normal(sa).astype(dtype)
    b = rng.standard_normal(sb).astype(dtype)
    out = eg.tensor(a) @ eg.tensor(b)
    assert out.dtype == dtype
    assert_close(out.numpy(), a @ b, dtype)
    assert_close(eg.tensor(a).matmul(eg.tensor(b)).numpy(), np.matmul(a, b), dtype)


def test_matmul_errors():
    with pytest.raises(TypeError):
        eg.ones(2, 3) @ eg.ones(3, 2, dtype=eg.float64)
    with pytest.raises(TypeError):
        eg.ones(2, 3, dtype=eg.float64) @ eg.ones(3, dtype=eg.float32)
    with pytest.raises(ValueError):
        eg.ones(2, 3) @ eg.ones(2, 3)
    with pytest.raises(ValueError):
        eg.tensor(2.0) @ eg.ones(2)


def test_comparisons():
    a = eg.tensor([1.0, 2.0, 3.0])
    b = eg.tensor([3.0, 2.0, 1.0])
    for op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
        out = op(a, b)
        assert out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), op(a.numpy(), b.numpy()))
        np.testing.assert_array_equal(op(a, 2.0).numpy(), op(a.numpy(), 2.0))
    assert (eg.tensor([1.0], requires_grad=True) > 0).grad_fn is None


# --- reductions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_amax_match_numpy(dim, keepdim, dtype, rng):
    a = rng.standard_normal((3, 4, 5)).astype(dtype)
    t = eg.tensor(a)
    axis = dim
    assert_close(t.sum(dim, keepdim).numpy(), np.sum(a, axis=axis, keepdims=keepdim), dtype)
    assert_close(t.mean(dim, keepdim).numpy(), np.mean(a, axis=axis, keepdims=keepdim), dtype)
    assert_close(t.amax(dim, keepdim).numpy(), np.amax(a, axis=axis, keepdims=keepdim), dtype)
    assert_close(t.amin(dim, keepdim).numpy(), np.amin(a, axis=axis, keepdims=keepdim), dtype)
    assert t.sum(dim, keepdim).dtype == dtype and t.mean(dim, keepdim).dtype == dtype


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices(dim, keepdim, rng):
    a = rng.standard_normal((3, 4, 5))
    t = eg.tensor(a)
    res = t.max(dim, keepdim)
    values, indices = res
    assert isinstance(res, eg.MaxResult) and res.values is values and res.indices is indices
    np.testing.assert_array_equal(values.numpy(), np.max(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), np.argmax(a, axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64
    vmin, imin = t.min(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(vmin.numpy(), np.min(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(imin.numpy(), np.argmin(a, axis=dim, keepdims=keepdim))


def test_full_max_min_argmax():
    a = np.array([[1.0, 5.0, -2.0], [7.0, 0.0, 3.0]])
    t = eg.tensor(a)
    assert t.max().item() == 7.0 and t.min().item() == -2.0
    assert t.argmax().item() == 3 and t.argmin().item() == 2
    np.testing.assert_array_equal(t.argmax(1).numpy(), [1, 0])
    np.testing.assert_array_equal(t.argmax(0, keepdim=True).numpy(), [[1, 0, 1]])
    assert t.argmax(1).dtype == np.int64
    assert t.sum(axis=1).tolist() == [4.0, 10.0]


# --- shapes ---------------------------------------------------------------------------------------

def test_reshape_view_flatten_unsqueeze_squeeze(rng):
    a = rng.standard_normal((2, 3, 4))
    t = eg.tensor(a)
    np.testing.assert_array_equal(t.reshape(6, 4).numpy(), a.reshape(6, 4))
    np.testing.assert_array_equal(t.reshape((4, -1)).numpy(), a.reshape(4, -1))
    np.testing.assert_array_equal(t.view(-1).numpy(), a.reshape(-1))
    np.testing.assert_array_equal(t.flatten().numpy(), a.reshape(-1))
    np.testing.assert_array_equal(t.flatten(1).numpy(), a.reshape(2, 12))
    np.testing.assert_array_equal(t.flatten(0, 1).numpy(), a.reshape(6, 4))
    assert t.unsqueeze(0).shape == (1, 2, 3, 4) and t.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert t.unsqueeze(1).shape == (2, 1, 3, 4)
    u = eg.tensor(a.reshape(1, 2, 1, 12))
    assert u.squeeze().shape == (2, 12) and u.squeeze(0).shape == (2, 1, 12) and u.squeeze(2).shape == (1, 2, 12)
    assert u.squeeze(1).shape == (1, 2, 1, 12)  # not size 1: unchanged, as torch
    np.testing.assert_array_equal(u.squeeze().numpy(), a.reshape(2, 12))


def test_transpose_permute_T(rng):
    a = rng.standard_normal((2, 3, 4))
    t = eg.tensor(a)
    np.testing.assert_array_equal(t.transpose(0, 2).numpy(), np.swapaxes(a, 0, 2))
    np.testing.assert_array_equal(t.transpose(-1, -2).numpy(), np.swapaxes(a, -1, -2))
    np.testing.assert_array_equal(t.permute(2, 0, 1).numpy(), np.transpose(a, (2, 0, 1)))
    np.testing.assert_array_equal(t.permute((1, 2, 0)).numpy(), np.transpose(a, (1, 2, 0)))
    np.testing.assert_array_equal(t.T.numpy(), a.T)
    m = eg.tensor(a[0])
    np.testing.assert_array_equal(m.t().numpy(), a[0].T)
    with pytest.raises(ValueError):
        t.t()


@pytest.mark.parametrize("index", [
    1, -1, slice(1, 3), slice(None, None, 2), slice(0, None, 3), (slice(None), 2), (-1, slice(1, None, 2)),
    (None, 0), (Ellipsis, 1), (0, Ellipsis, None), np.array([2, 0, 2]), [0, 0, 1], (slice(None), [3, 1]),
    (np.array([0, 2]), np.array([1, 3])),
], ids=lambda i: repr(i))
def test_indexing_matches_numpy(index, rng):
    a = rng.standard_normal((3, 4, 5))
    np.testing.assert_array_equal(eg.tensor(a)[index].numpy(), a[index])


def test_boolean_mask_indexing(rng):
    a = rng.standard_normal((3, 4))
    t = eg.tensor(a)
    mask = a > 0
    np.testing.assert_array_equal(t[mask].numpy(), a[mask])
    np.testing.assert_array_equal(t[t > 0].numpy(), a[mask])
    rows = np.array([True, False, True])
    np.testing.assert_array_equal(t[rows].numpy(), a[rows])
    np.testing.assert_array_equal(t[eg.tensor([2, 0])].numpy(), a[[2, 0]])
    assert [r.tolist() for r in eg.tensor(a[:2])] == a[:2].tolist()


# --- elementwise math and activations -------------------------------------------------------------

def test_unary_math_matches_numpy(dtype, rng):
    a = rng.uniform(0.1, 3.0, (4, 5)).astype(dtype)
    s = rng.standard_normal((4, 5)).astype(dtype) * 3
    t, ts = eg.tensor(a), eg.tensor(s)
    assert_close(t.exp().numpy(), np.exp(a), dtype)
    assert_close(t.log().numpy(), np.log(a), dtype)
    assert_close(t.sqrt().numpy(), np.sqrt(a), dtype)
    assert_close(ts.abs().numpy(), np.abs(s), dtype)
    assert_close(ts.relu().numpy(), np.maximum(s, 0), dtype)
    assert_close(ts.sigmoid().numpy(), 1 / (1 + np.exp(-s.astype(np.float64))), dtype)
    assert_close(ts.tanh().numpy(), np.tanh(s), dtype)
    assert_close(F.relu(ts).numpy(), np.maximum(s, 0), dtype)
    assert_close(F.sigmoid(ts).numpy(), 1 / (1 + np.exp(-s.astype(np.float64))), dtype)
    assert_close(F.tanh(ts).numpy(), np.tanh(s), dtype)
    assert_close(ts.maximum(t).numpy(), np.maximum(s, a), dtype)
    for out in (t.exp(), t.log(), t.sqrt(), ts.abs(), ts.relu(), ts.sigmoid(), ts.tanh()):
        assert out.dtype == dtype


def test_sigmoid_tanh_saturate_without_overflow():
    x = eg.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=eg.float64)
    np.testing.assert_allclose(x.sigmoid().numpy(), [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(x.tanh().numpy(), [-1.0, -1.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_match_numpy(dim, dtype, rng):
    a = (rng.standard_normal((3, 4, 5)) * 4).astype(dtype)
    a64 = a.astype(np.float64)
    e = np.exp(a64 - a64.max(dim, keepdims=True))
    ref = e / e.sum(dim, keepdims=True)
    t = eg.tensor(a)
    assert_close(t.softmax(dim).numpy(), ref, dtype)
    assert_close(F.softmax(t, dim).numpy(), ref, dtype)
    assert_close(t.log_softmax(dim).numpy(), np.log(ref), dtype)
    assert_close(F.log_softmax(t, dim).numpy(), np.log(ref), dtype)
    assert t.softmax(dim).dtype == dtype


def test_softmax_large_logits_stable():
    t = eg.tensor([[1000.0, 1000.0, -1000.0]], dtype=eg.float64)
    np.testing.assert_allclose(t.softmax(1).numpy(), [[0.5, 0.5, 0.0]], atol=1e-300)
    np.testing.assert_allclose(t.log_softmax(1).numpy()[0, :2], [-np.log(2)] * 2, rtol=1e-12)


# --- grad mode ------------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = eg.tensor([1.0, 2.0], requires_grad=True)
    with eg.no_grad():
        assert not eg.is_grad_enabled()
        y = x * 2 + 1
        z = (x @ x).exp()
    assert eg.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.grad_fn is None and t.is_leaf
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0])
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = eg.tensor([1.0, 2.0], requires_grad=True)

    @eg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad and eg.is_grad_enabled()
    with eg.no_grad():
        with eg.enable_grad():
            assert eg.is_grad_enabled()
            y = x * 3
        assert not eg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with eg.no_grad():
            1 / 0
    assert eg.is_grad_enabled()


def test_set_grad_enabled():
    x = eg.tensor([1.0], requires_grad=True)
    try:
        eg.set_grad_enabled(False)
        assert not eg.is_grad_enabled()
        assert not (x * 2).requires_grad
        eg.set_grad_enabled(True)
        assert eg.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        eg.set_grad_enabled(True)


# --- dtype conversion and repr --------------------------------------------------------------------

def test_to_and_casts():
    x = eg.tensor([1.5, 2.5])
    assert x.to(eg.float32) is x
    d = x.double()
    assert d.dtype == np.float64 and d.tolist() == [1.5, 2.5]
    assert x.long().dtype == np.int64 and x.long().tolist() == [1, 2]
    assert d.float().dtype == np.float32


def test_repr():
    assert repr(eg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(eg.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=eigengrad.float64" in repr(eg.tensor([1.0], dtype=eg.float64))
    assert "requires_grad=True" in repr(eg.tensor([1.0], requires_grad=True))
    r = repr(eg.tensor([1.0], requires_grad=True) * 2)
    assert r.startswith("tensor([2.]") and "grad_fn=<MulBackward0>" in r
    assert "..." in repr(eg.zeros(5000))


def test_format_of_a_0d_tensor_is_its_numbers():
    """'{:+.2f}'.format(w) and f'{loss:.4f}' on 0-d tensors, as pytorch/examples' regression prints."""
    assert "{:+.2f}".format(eg.tensor(2.5)) == "+2.50"
    assert f"{eg.tensor(3, dtype=eg.int64):>4d}" == "   3"
    assert f"{eg.tensor([1.0, 2.0])}" == repr(eg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        f"{eg.tensor([1.0, 2.0]):.2f}"  # as PyTorch: only a 0-d tensor takes a format spec


def test_adjoint_and_mH_are_the_last_two_dims_swapped_as_views():
    """For real tensors PyTorch's adjoint()/mH are mT (a view); below 2-D its messages (PyTorch 2.13's)."""
    x = eg.arange(24.0).reshape(2, 3, 4)
    for y in (x.adjoint(), eg.adjoint(x), x.mH):
        assert y.shape == (2, 4, 3) and np.array_equal(y.numpy(), np.swapaxes(x.numpy(), -1, -2))
    x.adjoint()[0, 1, 2] = -1.0  # a view: the write reaches x
    assert float(x[0, 2, 1]) == -1.0
    with pytest.raises(RuntimeError, match=r"^tensor.adjoint\(\) is only supported on matrices or batches of "
                                           r"matrices. Got 1-D tensor.$"):
        eg.ones(3).adjoint()
    with pytest.raises(RuntimeError, match=r"^tensor.mH is only supported on matrices or batches of matrices. "
                                           r"Got 1-D tensor.$"):
        eg.ones(3).mH
