"""Regression tests of the differences a differential fuzz of tensor operations against PyTorch 2.13 found
(reductions, sort/select, indexing, type promotion of binary ops). Each test states the case, asserts the
literal values PyTorch gives (so it checks something without torch) and, where torch is importable, compares
with it too."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad._errors import ArgumentTypeError, DtypeNotSupportedError


def _torch():
    return pytest.importorskip("torch", reason="compares with PyTorch when it is installed")


def _np(t):
    return np.asarray(t.detach().numpy())


def _raises_like_torch(fn, expected, torch_expected=None):
    """fn(L) raises ``expected`` for eigengrad; with torch installed, torch raises ``torch_expected`` (by
    default a superclass of ``expected``: the same RuntimeError family)."""
    with pytest.raises(expected):
        fn(eg)
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(torch_expected or (RuntimeError if issubclass(expected, RuntimeError) else expected)):
        fn(torch)


def _no_kernel_like_torch(fn):
    """fn(L) has no kernel for its dtype: eigengrad's DtypeNotSupportedError (a TypeError, its convention for a
    bad dtype, and a NotImplementedError), PyTorch's NotImplementedError."""
    _raises_like_torch(fn, DtypeNotSupportedError, NotImplementedError)


# --- reductions and selections ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("dim", [0, -1])
def test_quantile_of_a_0d_tensor_along_dim(name, dim):
    # quantile(0-d x, q, dim=0): the value itself, 0-d (eigengrad raised IndexError: tuple index out of range)
    x = eg.tensor(-0.75, dtype=eg.float64)
    out = getattr(eg, name)(x, 0.3, dim, keepdim=True)
    assert out.shape == () and float(out) == -0.75
    outs = getattr(eg, name)(x, eg.tensor([0.1, 0.9], dtype=eg.float64), dim)
    assert outs.shape == (2,) and _np(outs).tolist() == [-0.75, -0.75]
    torch = pytest.importorskip("torch", reason="compares with PyTorch")
    ref = getattr(torch, name)(torch.tensor(-0.75, dtype=torch.float64), 0.3, dim, keepdim=True)
    assert tuple(ref.shape) == out.shape and float(ref) == float(out)


def test_quantile_refuses_empty_input_and_a_q_of_another_dtype():
    # PyTorch: "quantile() input tensor must be non-empty" / "q tensor must be same dtype as the input tensor"
    _raises_like_torch(lambda L: L.quantile(L.zeros(3, 0, dtype=L.float64), 0.5, 1), RuntimeError)
    _raises_like_torch(lambda L: L.quantile(L.tensor([1.0, 2.0]), L.tensor([0.5], dtype=L.float64), 0),
                       RuntimeError)


def test_cumprod_of_an_empty_dim_requiring_grad():
    # cumprod over a dim of size 0 with requires_grad (eigengrad: narrow(d, 0, 1) failed; then no grad_fn)
    x = eg.zeros(1, 0, 3, dtype=eg.float64, requires_grad=True)
    y = eg.cumprod(x, 1)
    assert y.shape == (1, 0, 3) and y.requires_grad
    (g,) = eg.autograd.grad(y.sum(), [x])
    assert g.shape == (1, 0, 3)
    y2 = eg.cumprod(eg.tensor([[2.0, 3.0]], dtype=eg.float64, requires_grad=True), 1)
    assert _np(y2).tolist() == [[2.0, 6.0]]


@pytest.mark.parametrize("ord", [float("inf"), float("-inf")])
def test_inf_vector_norm_over_a_nonempty_dim_of_an_empty_tensor(ord):
    # vector_norm(x of shape (0, 2, 7), inf, dim=1): shape (0, 7) (eigengrad refused all empty tensors)
    x = eg.zeros(0, 2, 7)
    assert eg.linalg.vector_norm(x, ord, 1).shape == (0, 7)
    assert eg.norm(x, p=ord, dim=1, keepdim=True).shape == (0, 1, 7)
    _raises_like_torch(lambda L: L.linalg.vector_norm(L.zeros(0, 2, 7), ord), RuntimeError)  # all dims: refused
    _raises_like_torch(lambda L: L.linalg.vector_norm(L.zeros(0, 2, 7), ord, 0), RuntimeError)


@pytest.mark.parametrize("k", [0, 1])
def test_topk_of_a_0d_tensor(k):
    # PyTorch: topk(0-d x, k) for k 0 or 1 gives (x, 0), both 0-d (eigengrad: "shape '[0]' is invalid")
    values, indices = eg.topk(eg.tensor(1.5), k)
    assert values.shape == () and float(values) == 1.5 and indices.shape == () and int(indices) == 0
    with pytest.raises(RuntimeError):
        eg.topk(eg.tensor(1.5), 2)


def test_kthvalue_of_a_0d_tensor_keeps_0d():
    # kthvalue(0-d x, 1, keepdim=True): 0-d results (eigengrad gave shape (1,)); bool 0-d accepted
    v, i = eg.kthvalue(eg.tensor(0.25, dtype=eg.float64), 1, 0, keepdim=True)
    assert v.shape == () and float(v) == 0.25 and i.shape == () and int(i) == 0
    v, i = eg.kthvalue(eg.tensor(False), 1)
    assert v.dtype == eg.bool and not bool(v)
    _raises_like_torch(lambda L: L.kthvalue(L.tensor(1.0), 2), RuntimeError)


def test_kthvalue_of_an_empty_dim_is_an_index_error():
    _raises_like_torch(lambda L: L.kthvalue(L.zeros(0, 3), 1, 0), IndexError)


@pytest.mark.parametrize("fn", [lambda L, x: L.argmax(x), lambda L, x: L.argmin(x, 0),
                                lambda L, x: L.argmax(x, 0, keepdim=True)])
def test_argmax_argmin_refuse_bool(fn):
    # PyTorch: "argmax(): does not support bool input" (eigengrad returned an index)
    _raises_like_torch(lambda L: fn(L, L.tensor([True, False, True])), RuntimeError)


@pytest.mark.parametrize("fn", [lambda L, x: L.median(x), lambda L, x: L.nanmedian(x, 0),
                                lambda L, x: L.kthvalue(x, 1),
                                lambda L, x: L.logcumsumexp(x, 0),
                                lambda L, x: L.logcumsumexp(x.long(), 0)])
def test_selections_without_a_bool_kernel_refuse_bool(fn):
    # PyTorch has no bool (logcumsumexp: no integer) kernel: NotImplementedError (eigengrad returned values)
    _no_kernel_like_torch(lambda L: fn(L, L.tensor([True, False, True])))


def test_topk_refuses_bool():
    # PyTorch: RuntimeError "topk does not support bool dtypes on CPU" (eigengrad returned values)
    _raises_like_torch(lambda L: L.topk(L.tensor([True, False, True]), 1), ArgumentTypeError, RuntimeError)


# --- indexing -------------------------------------------------------------------------------------------------

def test_masked_scatter_into_a_transposed_tensor():
    # masked_scatter of a non-contiguous input (eigengrad: "view size is not compatible ...")
    x = eg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=eg.float64).t()  # [[1, 3], [2, 4]]
    mask = eg.tensor([[True, False], [True, True]])
    out = x.masked_scatter(mask, eg.tensor([10.0, 20.0, 30.0, 40.0], dtype=eg.float64))
    assert _np(out).tolist() == [[10.0, 3.0], [20.0, 30.0]]
    assert _np(x).tolist() == [[1.0, 3.0], [2.0, 4.0]]  # input unchanged
    torch = pytest.importorskip("torch", reason="compares with PyTorch")
    ref = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64).t().masked_scatter(
        torch.tensor([[True, False], [True, True]]), torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64))
    assert ref.tolist() == _np(out).tolist()


@pytest.mark.parametrize("reduce,include_self,expected", [
    ("sum", True, [True, True, False, True]), ("sum", False, [True, True, False, True]),
    ("prod", True, [False, False, False, False]), ("prod", False, [False, True, False, False]),
    ("amax", True, [True, True, False, True]), ("amin", False, [False, True, False, False]),
])
def test_scatter_reduce_of_bool(reduce, include_self, expected):
    # bool scatter_reduce: sum/amax are or, prod/amin and (eigengrad: TypeError from the kernel)
    def run(L):
        x = L.tensor([True, False, False, True])
        return L.scatter_reduce(x, 0, L.tensor([0, 0, 1, 1, 2, 2, 3, 3]),
                                L.tensor([True, False, True, True, False, False, False, True]), reduce,
                                include_self=include_self)

    out = run(eg)
    assert out.dtype == eg.bool and _np(out).tolist() == expected
    try:
        import torch
    except ImportError:
        return
    assert run(torch).tolist() == expected


def test_scatter_reduce_mean_of_bool_is_refused():
    _no_kernel_like_torch(lambda L: L.scatter_reduce(L.tensor([True]), 0, L.tensor([0]), L.tensor([True]), "mean"))


# --- binary ops: promotion and refusals ------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [lambda L, x, y: x % y, lambda L, x, y: L.remainder(x, y),
                                lambda L, x, y: L.fmod(x, y), lambda L, x, y: x.clone().remainder_(y),
                                lambda L, x, y: L.fmod(x, 0), lambda L, x, y: 7 % y])
def test_integer_modulo_by_zero_raises(fn):
    # PyTorch: RuntimeError "ZeroDivisionError" (eigengrad returned 0 silently)
    _raises_like_torch(lambda L: fn(L, L.tensor([5, -5]), L.tensor([0, 2])), RuntimeError)


def test_integer_modulo_by_zero_of_nothing_is_empty():
    out = eg.zeros(0, dtype=eg.int64) % 0
    assert out.shape == (0,) and out.dtype == eg.int64
    assert _np(eg.fmod(eg.tensor([5, -5]), 3)).tolist() == [2, -2]
    assert _np(eg.tensor([5, -5]) % 3).tolist() == [2, 1]


@pytest.mark.parametrize("fn", [lambda L, b: L.remainder(b, b), lambda L, b: L.fmod(b, True),
                                lambda L, b: b.div(b, rounding_mode="floor"),
                                lambda L, b: b.div(b, rounding_mode="trunc")])
def test_bool_integer_division_is_not_implemented(fn):
    # PyTorch: '"remainder_cpu" not implemented for 'Bool'' (eigengrad gave int8)
    _no_kernel_like_torch(lambda L: fn(L, L.tensor([True, False])))


def test_rounded_division_by_a_python_bool_stays_integer():
    # int64 tensor / True with rounding_mode='trunc': int64 (eigengrad gave float64)
    out = eg.tensor([4, -4]).div(True, rounding_mode="trunc")
    assert out.dtype == eg.int64 and _np(out).tolist() == [4, -4]
    out = eg.tensor([4, -4]).div(True, rounding_mode="floor")
    assert out.dtype == eg.int64 and _np(out).tolist() == [4, -4]


def test_subtracting_a_bool_is_refused_with_alpha_and_in_place():
    # sub(x, True, alpha=2) and x.sub_(bool tensor): PyTorch refuses (eigengrad computed x - 2 / x - 1)
    _raises_like_torch(lambda L: L.sub(L.tensor([1.5]), True, alpha=2), RuntimeError)
    _raises_like_torch(lambda L: L.tensor(1.5).sub_(L.tensor(True)), RuntimeError)
    _raises_like_torch(lambda L: L.tensor([1.5]).__isub__(L.tensor([True])), RuntimeError)
    assert _np(eg.sub(eg.tensor([1.5]), 1, alpha=2)).tolist() == [-0.5]


def test_square_of_bool_is_int64():
    # PyTorch: square(bool) is pow(bool, 2), int64 (eigengrad kept bool)
    out = eg.square(eg.tensor([True, False]))
    assert out.dtype == eg.int64 and _np(out).tolist() == [1, 0]


def test_bool_power():
    # bool tensor ** Python bool stays bool (eigengrad gave int8); a bool tensor exponent is refused
    b = eg.tensor([True, False])
    out = b ** True
    assert out.dtype == eg.bool and _np(out).tolist() == [True, False]
    assert _np(b ** False).tolist() == [True, True]
    assert (b ** 2).dtype == eg.int64
    _no_kernel_like_torch(lambda L: L.tensor([True, False]) ** L.tensor([True, False]))
    _no_kernel_like_torch(lambda L: True ** L.tensor([True, False]))


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round"])
def test_rounding_bool_is_not_implemented(name):
    # PyTorch: '"floor_vml_cpu" not implemented for 'Bool'' (eigengrad: bool, or float16 for round)
    _no_kernel_like_torch(lambda L: getattr(L, name)(L.tensor([True, False])))
    assert getattr(eg, name)(eg.tensor([3, -2])).dtype == eg.int64


def test_frac_of_integers_is_not_implemented():
    _no_kernel_like_torch(lambda L: L.frac(L.tensor([3, -2])))
    assert _np(eg.frac(eg.tensor([1.25, -1.5]))).tolist() == [0.25, -0.5]


def test_isclose_refuses_mixed_dtypes():
    # PyTorch: "Float did not match Double" (eigengrad compared)
    _raises_like_torch(lambda L: L.isclose(L.tensor([1.0]), L.tensor([1.0], dtype=L.float64)), RuntimeError)
    _raises_like_torch(lambda L: L.isclose(L.tensor([1.0]), L.tensor([True])), RuntimeError)
    assert _np(eg.isclose(eg.tensor([1.0, 2.0]), eg.tensor([1.0, 2.1]))).tolist() == [True, False]


def test_integer_floor_division_by_zero_of_nothing_is_empty():
    # int64 tensor of shape (1, 2, 0) // 0: an empty int64 tensor (eigengrad raised ZeroDivisionError)
    out = eg.zeros(1, 2, 0, dtype=eg.int64) // 0
    assert out.shape == (1, 2, 0) and out.dtype == eg.int64
    _raises_like_torch(lambda L: L.tensor([3]) // 0, RuntimeError)
    assert _np(eg.tensor([7, -7]) // 2).tolist() == [3, -4]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e30])
def test_masked_fill_of_an_integer_tensor_refuses_what_does_not_fit(value):
    # masked_fill(int64, mask, nan): PyTorch "value cannot be converted to type int64_t without overflow"
    # (eigengrad wrote -9223372036854775808)
    _raises_like_torch(lambda L: L.tensor([1, 2]).masked_fill(L.tensor([True, False]), value), RuntimeError)
    _raises_like_torch(lambda L: L.tensor([1, 2]).masked_fill_(L.tensor([True, False]),
                                                              L.tensor(value, dtype=L.float64)), RuntimeError)
    assert _np(eg.tensor([1, 2]).masked_fill(eg.tensor([True, False]), 2.5)).tolist() == [2, 2]


# --- indexing ---------------------------------------------------------------------------------------------------

def test_index_put_accumulate_with_an_empty_trailing_dim():
    # index_put(x of shape (1, 0, 7), (tensor([0]),), 1.0, accumulate=True): x unchanged, shape (1, 0, 7)
    # (eigengrad: "cannot reshape tensor of 0 elements into shape [-1, 0, 7]")
    out = eg.zeros(1, 0, 7).index_put((eg.tensor([0]),), eg.tensor(1.0), accumulate=True)
    assert out.shape == (1, 0, 7)
    out = eg.zeros(3, 2).index_put((eg.tensor([0, 0, 2]),), eg.tensor(1.0), accumulate=True)
    assert _np(out).tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]


def test_setitem_that_cannot_broadcast_is_a_runtime_error():
    # y[:, -1] = values of shape (5,) for y of shape (5, 1, 1): PyTorch RuntimeError (eigengrad ValueError)
    def run(L):
        y = L.zeros(5, 1, 1)
        y[:, -1] = L.ones(5)

    def run_strided(L):
        y = L.zeros(1, 5, 1).transpose(0, 1).clone()
        y[:, -1] = L.ones(5)

    _raises_like_torch(run, RuntimeError)
    _raises_like_torch(run_strided, RuntimeError)


def test_histc_of_a_nonfinite_range_is_a_runtime_error():
    # histc([nan]): PyTorch "torch.histc: range of [nan, nan] is not finite" (eigengrad: NumPy's ValueError)
    _raises_like_torch(lambda L: L.histc(L.tensor([float("nan")]), 4), RuntimeError)
    _raises_like_torch(lambda L: L.histc(L.tensor([1.0, float("inf")]), 4), RuntimeError)
    assert _np(eg.histc(eg.tensor([1.0, 2.0]), 4)).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_trace_of_bool_is_not_implemented():
    # trace(bool matrix): PyTorch '"trace" not implemented for 'Bool'' (eigengrad summed to int64)
    _no_kernel_like_torch(lambda L: L.trace(L.tensor([[True, False], [False, True]])))
    assert int(eg.trace(eg.tensor([[1, 2], [3, 4]]))) == 5


def test_flatten_of_a_0d_tensor_checks_its_dims():
    """torch 2.13: zeros(()).flatten() and .flatten(-1, 0) are shape (1,); .flatten(0, 1) raises IndexError
    'Dimension out of range (expected to be in range of [-1, 0], but got 1)' (eigengrad returned shape (1,))."""
    x = eg.tensor(3.0)
    assert x.flatten().tolist() == [3.0] and x.flatten(-1, 0).tolist() == [3.0]
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        x.flatten(0, 1)
    with pytest.raises(IndexError):
        eg.nn.Flatten(0, 1)(x)
