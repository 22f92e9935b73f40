"""Regression tests of the differences a differential fuzz of indexing, views and in-place operations (with
autograd) against PyTorch 2.13 found.

Fuzzed (a script outside the repository, seeded cases, each run on torch and on eigengrad with the same random
decisions; values bitwise or within 1e-12 in float64, dtype, shape, strides of dims longer than 1,
``is_contiguous()``, whether the result shares the input's storage (``untyped_storage().data_ptr()``) and its
``storage_offset()``, error family, and the float64 gradients of a fixed random linear function of the outputs):

- ``__getitem__`` (3,500 cases): ints (negative, out of range), slices (steps, negative bounds, empty, negative
  steps), None, Ellipsis, bool masks of 1 and 2 dims (and of a wrong shape), int tensors, lists and NumPy arrays
  (0-d, 1-d, 2-d, broadcasting, adjacent and separated), 0-d int tensors, Python bools and 0-d bool tensors; on
  contiguous and transposed float64, int64 and bool tensors of 0 to 4 dims (sizes 0 to 4);
- ``__setitem__`` (3,000 cases): the same indices, values a number, a tensor that broadcasts (leading ones, too
  many dims), a 0-d tensor, a tensor of another dtype; gradients w.r.t. the tensor's earlier value and the value;
- index operations (5,000 cases): index_put/index_put_ (accumulate, masks, broadcast indices), index_add_,
  index_copy_, index_fill_, index_reduce_ (all reduces, include_self), index_select, masked_fill_ (number and
  0-d tensor value), masked_scatter_, masked_select, scatter_ (tensor and value, reduce=), scatter_add_,
  scatter_reduce_ (all reduces, include_self), put_ (accumulate), take, take_along_dim, gather; negative, out of
  range and repeated positions, 0-d and empty tensors;
- views then in-place ops (3,000 cases): chains of 1-3 of view, reshape, transpose, swapaxes, permute, expand,
  unsqueeze, squeeze, narrow, unfold, diagonal, as_strided, split/chunk/unbind, select, t, T, mT, movedim,
  flatten, unflatten, view_as, basic getitem, contiguous, detach, on a non-leaf, a leaf, views made under
  no_grad, with a saved tensor of an op of the base or the view; then one or two of 24 in-place ops (add_, mul_,
  copy_, zero_, fill_, clamp_, setitem, exp_, sigmoid_, div_, pow_, addcmul_, masked_fill_, index_add_, lerp_,
  ...) on the view or the base; reading both (values, versions, ``_base``, leaf flags) and backward of a loss
  over the view, the base, an earlier use of the view and the saved output.

14,500 cases in all. Each test below states the case, asserts the literal values PyTorch gives (so it checks
something without torch) and, where torch is importable, compares with it too. Left as they are: negative slice
steps (eigengrad reverses, as NumPy; PyTorch refuses them, and eigengrad's own tests use them), PyTorch's own
limits (scatter/scatter_reduce backward with a src larger than the index), the layout PyTorch's TensorIterator
gives an advanced index of a transposed tensor, in-place ops through overlapping as_strided/unfold windows
(undefined in PyTorch), its refusal to differentiate through an output saved by an op on a view and changed since
(eigengrad keeps a copy and gives the right gradient), and the order of a few checks of 0-d inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg


def _torch():
    return pytest.importorskip("torch", reason="compares with PyTorch when it is installed")


def _libs():
    """eigengrad, then torch when it is installed: the same literal checks run on both."""
    try:
        import torch
    except ImportError:
        return (eg,)
    return (eg, torch)


def _np(t):
    return np.asarray(t.detach().numpy())


def _raises_like_torch(fn, expected, match=None):
    """fn(L) raises ``expected`` (matching ``match``) for eigengrad and, with torch installed, for torch."""
    with pytest.raises(expected, match=match):
        fn(eg)
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(expected, match=match):
        fn(torch)


def _shares(a, b) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


# --- __getitem__ ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda L: L.tensor(1), lambda L: np.array(1), lambda L: L.tensor(-1)])
def test_a_0d_integer_index_selects_a_view(make):
    # x[0-d int tensor] (or 0-d array) is an integer (a view): eigengrad copied it as an advanced index
    for L in _libs():
        x = L.arange(12.0).reshape(3, 4)
        row = x[make(L)]
        assert _shares(row, x) and row.storage_offset() in (4, 8)
        row.add_(100)
        assert x.sum().item() == 66 + 400
        assert x[make(L), 1:].stride() == (1,) and x[:, make(L)].stride() == (4,)


def test_bool_scalar_indices_follow_torch():
    # a Python bool or 0-d bool tensor is a new dim indexed by [0] or [] (an advanced index that broadcasts with
    # the others); eigengrad followed NumPy (shapes, a zero gradient for x[True])
    x = eg.arange(24.0).reshape(2, 3, 4)
    assert x[True].shape == (1, 2, 3, 4) and x[False].shape == (0, 2, 3, 4)
    assert x[:, True, :, [0, 1]].shape == (2, 2, 3)
    assert x[0, :, True, 0:1].shape == (3, 1, 1)
    assert x[[[1], [0]], True, :3, 0].shape == (2, 1, 3)
    assert x[[[1], [0]], True, :3, 0].flatten().tolist() == [12.0, 16.0, 20.0, 0.0, 4.0, 8.0]
    assert x[eg.tensor(False), [0], 1].shape == (0, 4) and x[eg.tensor(True), [[0, 1]], 1].shape == (1, 2, 4)
    with pytest.raises(IndexError, match="shape mismatch"):
        x[eg.tensor(False), [0, 1], 1]  # [0] and [2] broadcast, [] and [2] do not
    leaf = eg.tensor([0.5], dtype=eg.float64, requires_grad=True)
    (g,) = eg.autograd.grad((leaf[True] * 3.0).sum(), [leaf])
    assert g.tolist() == [3.0]  # (eigengrad: 0)
    leaf = eg.arange(6.0, dtype=eg.float64).reshape(2, 3).requires_grad_()
    (g,) = eg.autograd.grad((leaf[True, ..., None] * eg.arange(6.0, dtype=eg.float64).reshape(1, 2, 3, 1)).sum(),
                            [leaf])
    assert g.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    torch = _torch()
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert t[:, True, :, [0, 1]].shape == (2, 2, 3) and t[0, :, True, 0:1].shape == (3, 1, 1)
    assert t[[[1], [0]], True, :3, 0].flatten().tolist() == [12.0, 16.0, 20.0, 0.0, 4.0, 8.0]
    assert tuple(t[torch.tensor(False), [0], 1].shape) == (0, 4)
    assert tuple(t[torch.tensor(True), [[0, 1]], 1].shape) == (1, 2, 4)
    with pytest.raises(IndexError, match="shape mismatch"):
        t[torch.tensor(False), [0, 1], 1]


def test_an_advanced_index_result_is_contiguous():
    # x[:, idx] is a C-contiguous copy in PyTorch (NumPy's result put the indexed dim's layout first, so that
    # .view(-1) failed with "view size is not compatible")
    x = eg.arange(60.0).reshape(3, 4, 5)
    for index in [(slice(None), [0, 1]), (slice(None), slice(None), [0, 1]), (Ellipsis, [[0], [2]]),
                  (slice(None), [[0], [1]], [1, 2])]:
        y = x[index]
        assert y.is_contiguous(), index
        assert y.view(-1).shape == (y.numel(),)
    assert x[:, [0, 1]].stride() == (10, 5, 1) and x[:, :, [0, 1]].stride() == (8, 2, 1)
    assert x[:, [2, 0]].view(-1)[:6].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0, 0.0]


def test_an_empty_selection_checks_no_position():
    # PyTorch reads (and bounds-checks) the positions per element: an empty result is no error; eigengrad raised
    # NumPy's IndexError. Out of bounds otherwise: PyTorch's words ("dimension", not NumPy's "axis").
    x = eg.arange(16.0, dtype=eg.float64).reshape(2, 2, 2, 2).requires_grad_()
    y = x[3::2, [[0]], [2]]
    assert y.shape == (0, 1, 1, 2)
    (g,) = eg.autograd.grad(y.sum(), [x])
    assert _np(g).sum() == 0
    z = eg.zeros(1, 3, 3)
    z[[1], -2:-4, ..., :1] = 5.0  # empty: nothing written, no error
    assert z.sum().item() == 0
    _raises_like_torch(lambda L: L.zeros(3, 4)[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3")
    _raises_like_torch(lambda L: L.zeros(3, 4)[:, 7], IndexError, "out of bounds for dimension 1 with size 4")
    _raises_like_torch(lambda L: L.zeros(3, 4)[1, 2, 3], IndexError, "too many indices for tensor of dimension 2")
    torch = _torch()
    assert tuple(torch.arange(16.0).reshape(2, 2, 2, 2)[3::2, [[0]], [2]].shape) == (0, 1, 1, 2)


# --- __setitem__ --------------------------------------------------------------------------------------------

def test_advanced_setitem_needs_the_value_dtype():
    # index_put_ refuses a tensor of another dtype (eigengrad cast it); one mask with one value is masked_fill_
    # (casts), as are basic indices (copy_) and x[True]
    def advanced(L):
        x = L.zeros(3, dtype=L.float64)
        x[[0, 1]] = L.tensor([1, 2])

    _raises_like_torch(advanced, RuntimeError, "Index put requires the source and destination dtypes match, got "
                                               "Double for the destination and Long for the source.")

    def zero_d(L):
        x = L.zeros(2, 2, dtype=L.int64)
        x[L.tensor([[1], [0]]), [[1], [1]]] = L.tensor(1.5, dtype=L.float64)

    _raises_like_torch(zero_d, RuntimeError, "got Long for the destination and Double for the source")
    for L in _libs():
        x = L.zeros(3, dtype=L.float64)
        x[L.tensor([True, False, True])] = L.tensor(1)
        x[1:2] = L.tensor([2])
        x[True] = L.tensor(0.5, dtype=L.float32)[None]
        assert x.tolist() == [0.5, 0.5, 0.5]
        x[L.tensor([False, True, False])] = L.tensor([7], dtype=L.int64)
        assert x.tolist() == [0.5, 7.0, 0.5]
        y = L.zeros(2, 2, dtype=L.int64)
        y[L.tensor([[False, True], [True, False]])] = L.tensor(2.5, dtype=L.float64)
        assert y.tolist() == [[0, 2], [2, 0]]


def test_setitem_false_writes_nothing():
    # x[False] = v: nothing (PyTorch does not look at v: no gradient, no shape check)
    for L in _libs():
        x = L.zeros(1, 2, dtype=L.float64) * 1
        v = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        x[False] = v
        assert x.tolist() == [[0.0, 0.0]] and x.grad_fn is None


def test_setitem_checks_the_value_shape_before_the_positions():
    # PyTorch: "shape mismatch: value tensor of shape [2] cannot be broadcast to indexing result of shape [1, 3]"
    def write(L):
        x = L.zeros(2, 3, dtype=L.bool)
        x[L.tensor(True), [2], :] = L.tensor([True, False])

    _raises_like_torch(write, RuntimeError, r"shape mismatch: value tensor of shape \[2\] cannot be broadcast")


# --- views and in-place ops -------------------------------------------------------------------------------------

def test_unfold_is_a_view():
    # unfold is a view (as_strided): a write through it reaches the base (eigengrad: a copy, writes lost)
    for L in _libs():
        leaf = L.arange(12.0, dtype=L.float64).reshape(4, 3).requires_grad_()
        x = leaf.t().contiguous() * 1  # (3, 4)
        u = x.unfold(1, 2, 2)
        assert tuple(u.shape) == (3, 2, 2) and u.stride() == (4, 2, 1) and _shares(u, x)
        u.mul_(10)
        assert x[0].tolist() == [0.0, 30.0, 60.0, 90.0]
        w = x.t().unfold(0, 3, 1)  # overlapping windows: (2, 3, 3)
        assert tuple(w.shape) == (2, 3, 3) and w.stride() == (1, 4, 1)
        (g,) = L.autograd.grad((w * L.arange(18.0, dtype=L.float64).reshape(2, 3, 3)).sum(), [leaf])
        assert g.tolist() == [[0.0, 30.0, 60.0], [100.0, 160.0, 220.0], [120.0, 180.0, 240.0],
                              [110.0, 140.0, 170.0]]  # (the windows share rows 1 and 2: their gradients add)
        assert tuple(L.tensor(2.0).unfold(0, 0, 1).shape) == (0,)


def test_fill_through_an_expand_and_writes_through_a_narrowed_expand():
    # fill_/zero_ of an expanded view are allowed (one value for every element), other in-place ops refused; a
    # narrow that leaves no broadcast dim is writeable (eigengrad refused all: its array was read-only)
    for L in _libs():
        x = L.ones(3)
        x.unsqueeze(0).expand(2, 3).fill_(2.0)
        assert x.tolist() == [2.0, 2.0, 2.0]
        x.unsqueeze(0).expand(2, 3).narrow(0, 1, 1).mul_(3.0)
        assert x.tolist() == [6.0, 6.0, 6.0]
        x.unsqueeze(0).expand(2, 3).narrow(0, 1, 0).add_(1.0)  # empty: nothing
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            x.unsqueeze(0).expand(2, 3).add_(1.0)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            x.as_strided((2, 2), (0, 1)).neg_()
        leaf = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = leaf * 1
        v = y.unsqueeze(0).expand(2, 3).narrow(0, 0, 1)
        v.mul_(L.tensor([[2.0, 3.0, 4.0]], dtype=L.float64))
        assert y.tolist() == [2.0, 6.0, 12.0]
        (g,) = L.autograd.grad((y * L.tensor([1.0, 10.0, 100.0], dtype=L.float64)).sum(), [leaf])
        assert g.tolist() == [2.0, 30.0, 400.0]


@pytest.mark.parametrize("split, name", [(lambda x: x.split(2), "Split"), (lambda x: x.chunk(2), "Split"),
                                         (lambda x: x.split([1, 3]), "SplitWithSizes"),
                                         (lambda x: x.unbind(0), "Unbind")])
def test_outputs_of_multi_view_ops_cannot_change_in_place(split, name):
    # PyTorch refuses in-place changes of split/chunk/unbind outputs of a tensor that requires grad (eigengrad
    # allowed them); and a use of one after its base changed
    for L in _libs():
        w = L.ones(4, requires_grad=True)
        x = w * 1
        with pytest.raises(RuntimeError, match=f"Output 0 of {name} is a view and is being modified inplace"):
            split(x)[0].add_(1)
        a = split(x)[0]
        x.add_(1)
        with pytest.raises(RuntimeError, match=f"Output 0 of {name} is a view and its base or another view"):
            a * 2
        pieces = split(L.ones(4))  # not requiring grad: fine, unless an operand does
        pieces[0].add_(1)
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode and is being modified inplace"):
            pieces[0].mul_(w[0])
        b = x.tensor_split(2)[0]  # tensor_split's views may change
        b.mul_(3)
        assert x.tolist()[:2] == [6.0, 6.0]
        with L.no_grad():
            split(x)[0].zero_()  # under no_grad: allowed
        assert x.tolist()[0] == 0.0


def test_a_no_grad_view_of_a_changed_base_is_refused():
    # a view made under no_grad whose base then changed in place (grad mode on): PyTorch refuses its use
    for L in _libs():
        w = L.ones(3, requires_grad=True)
        x = w * 1
        with L.no_grad():
            v = x[0]
        x.add_(1)
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode and its base or another view"):
            v * 2
        with L.no_grad():
            u = x[1:]
        assert (u * 2).tolist() == [4.0, 4.0]  # unchanged since: fine


# --- index operations ---------------------------------------------------------------------------------------

def test_index_put_errors_are_index_errors():
    # PyTorch: IndexError (eigengrad: ArgumentError, NumPy's ValueError)
    _raises_like_torch(lambda L: L.zeros(()).index_put_((L.tensor([0]),), L.tensor(1.0)), IndexError,
                       r"too many indices for tensor of dimension 0 \(got 1\)")
    _raises_like_torch(lambda L: L.zeros(3, 4).index_put_((L.tensor([0, 1]), L.tensor([0, 1, 2])), L.tensor(1.0)),
                       IndexError, r"shape mismatch: indexing tensors could not be broadcast together with shapes "
                                   r"\[2\], \[3\]")


def test_index_copy_and_index_add_count_no_position_from_the_end():
    # index_copy_ refused negative positions in PyTorch (eigengrad wrapped them); index_add_'s out-of-bounds
    # error is PyTorch's RuntimeError (an IndexError too, as before)
    _raises_like_torch(lambda L: L.zeros(3).index_copy_(0, L.tensor([-1]), L.tensor([1.0])), IndexError,
                       r"index_copy_\(\): index -1 is out of bounds for dimension 0 with size 3")
    _raises_like_torch(lambda L: L.zeros(3, 3).index_add_(0, L.tensor([-3]), L.ones(1, 3)), RuntimeError,
                       "index -3 is out of bounds for dimension 0 with size 3")
    with pytest.raises(IndexError):
        eg.zeros(3).index_add_(0, eg.tensor([3]), eg.ones(1))
    _raises_like_torch(lambda L: L.zeros(3, 3).index_reduce_(0, L.tensor([-1]), L.ones(1, 3), "prod"), IndexError,
                       "index out of range in self")


def test_index_add_and_scatters_of_a_0d_tensor():
    # 0-d input: index_add_'s gradient w.r.t. a 0-d source (eigengrad: shape (1,) refused), scatter_ /
    # scatter_add / scatter_reduce_ / index_reduce_ (eigengrad: NumPy errors)
    for L in _libs():
        x = L.tensor(1.5, dtype=L.float64)
        src = L.tensor(2.0, dtype=L.float64, requires_grad=True)
        y = x.clone().index_add_(0, L.tensor([0]), src, alpha=3)
        assert y.item() == 7.5
        (g,) = L.autograd.grad(y, [src])
        assert g.shape == () and g.item() == 3.0
        assert x.clone().scatter_(0, L.tensor(0), L.tensor(2.0, dtype=L.float64)).item() == 2.0
        assert x.clone().scatter_(-1, L.tensor([0]), 7.0).item() == 7.0
        assert x.clone().scatter_add(0, L.tensor([0, 0]), L.tensor([1.0, 2.0], dtype=L.float64)).item() == 4.5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch: "index_reduce() is in beta")
            assert x.clone().index_reduce_(0, L.tensor(0), L.tensor(2.0, dtype=L.float64), "prod").item() == 3.0
        c = L.tensor(5.0, dtype=L.float64, requires_grad=True)
        y = (x * 1).index_copy_(0, L.tensor([0]), c)  # (eigengrad: "too many indices")
        assert y.item() == 5.0 and L.autograd.grad(y, [c])[0].item() == 1.0
        leaf = L.tensor(1.5, dtype=L.float64, requires_grad=True)
        z = (leaf * 1).scatter_reduce_(0, L.tensor(0), L.tensor(4.0, dtype=L.float64), "prod")
        assert z.item() == 6.0
        (g,) = L.autograd.grad(z, [leaf])
        assert g.item() == 4.0


def test_take_along_dim_broadcast_error_and_gather_of_an_empty_index():
    # take_along_dim: PyTorch's RuntimeError for shapes that do not broadcast (eigengrad: NumPy's ValueError);
    # gather with an empty index checks no size (eigengrad refused [1, 2, 0] against [3, 1, 1])
    _raises_like_torch(lambda L: L.take_along_dim(L.zeros(3, 4), L.zeros(4, 2, dtype=L.int64), 1), RuntimeError,
                       r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 0")
    for L in _libs():
        out = L.gather(L.zeros(3, 1, 1), 0, L.zeros(1, 2, 0, dtype=L.int64))
        assert tuple(out.shape) == (1, 2, 0)
