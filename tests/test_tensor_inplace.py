"""In-place tensor operations: values, dtype and shape rules, the leaf/view rules, autograd through them
(gradcheck in float64), views and CopySlices, version counters, ``.data``, and the acceptance check that
training the digits MLP by hand with ``p -= lr * p.grad`` under no_grad equals eg.optim.SGD.
PyTorch side-by-side checks are in test_torch_parity_inplace.py."""
import copy

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd import gradcheck
from inplace_cases import chain

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
MODIFIED = "modified by an inplace operation"


def arr(*values, dtype=np.float32):
    return np.array(values, dtype=dtype)


# --- values and the rules of types and shapes -------------------------------------------------------

@pytest.mark.parametrize("op, expected", [("__iadd__", [3, 4, 5]), ("__isub__", [-1, 0, 1]),
                                          ("__imul__", [2, 4, 6]), ("__itruediv__", [0.5, 1, 1.5])])
def test_augmented_assignment_updates_in_place(op, expected):
    x = eg.tensor([1.0, 2.0, 3.0])
    memory = x.numpy()
    result = getattr(x, op)(2)
    assert result is x and x.numpy() is memory
    np.testing.assert_array_equal(memory, arr(*expected))
    assert x._version == 1


def test_methods_with_alpha_broadcast_and_tensor_operands():
    x = eg.ones(2, 3)
    x.add_(eg.tensor([1.0, 2.0, 3.0]), alpha=2)
    np.testing.assert_array_equal(x.numpy(), [[3, 5, 7]] * 2)
    x.sub_(eg.tensor([[1.0], [2.0]]), alpha=0.5)
    np.testing.assert_array_equal(x.numpy(), [[2.5, 4.5, 6.5], [2, 4, 6]])
    x.mul_(np.float64(2)).div_(eg.tensor([2.0, 4.0, 8.0]))
    np.testing.assert_allclose(x.numpy(), [[2.5, 2.25, 1.625], [2, 2, 1.5]])
    assert x.dtype == eg.float32 and x._version == 4


def test_integer_tensors_follow_pytorch_casting():
    i = eg.tensor([1, 2, 3])
    i += 2
    i *= eg.tensor([2, 2, 2])
    np.testing.assert_array_equal(i.numpy(), [6, 8, 10])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i /= 2
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        b = eg.tensor([True, False])
        b += 1
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        i.add_(i, alpha=0.5)
    np.testing.assert_array_equal(i.numpy(), [6, 8, 10])  # nothing changed by the refused ops
    f = eg.zeros(3)
    f += eg.tensor([1, 2, 3])  # an integer operand into a float tensor is fine
    f += eg.tensor([0.5, 0.5, 0.5], dtype=eg.float64)  # so is a wider float
    np.testing.assert_array_equal(f.numpy(), arr(1.5, 2.5, 3.5))


def test_shapes_must_broadcast_to_the_tensor():
    x = eg.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        x += eg.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\) at "
                                           r"non-singleton dimension 0"):
        x.mul_(eg.ones(4))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(2\) must match .* \(3\)"):
        eg.zeros(2, 3).copy_(eg.ones(3, 3))


def test_read_only_memory_is_refused():
    a = np.ones(3, dtype=np.float32)
    a.flags.writeable = False
    x = eg.from_numpy(a)
    for change in (lambda: x.add_(1), lambda: x.__setitem__(0, 2.0), lambda: x.zero_(), lambda: x.copy_(x)):
        with pytest.raises(ValueError, match="read-only"):
            change()


def test_zero_fill_copy_clamp():
    x = eg.tensor([-2.0, 0.5, 3.0])
    assert x.clamp_(-1, 1) is x
    np.testing.assert_array_equal(x.numpy(), arr(-1, 0.5, 1))
    x.clamp_(min=0.7)
    np.testing.assert_array_equal(x.numpy(), arr(0.7, 0.7, 1))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clamp_()
    x.fill_(2.5).zero_()
    np.testing.assert_array_equal(x.numpy(), arr(0, 0, 0))
    i = eg.tensor([1, 2])
    i.fill_(2.7)  # fill_ casts, as PyTorch
    np.testing.assert_array_equal(i.numpy(), [2, 2])
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        x.fill_(eg.ones(2))
    x.copy_(np.array([1, 2, 3]))  # any array, cast
    np.testing.assert_array_equal(x.numpy(), arr(1, 2, 3))
    x.copy_(eg.tensor(5.0, dtype=eg.float64))  # broadcast
    np.testing.assert_array_equal(x.numpy(), arr(5, 5, 5))
    nan = eg.tensor([np.nan, 1.0])
    nan.clamp_(0, 0.5)
    assert np.isnan(nan.numpy()[0]) and nan.numpy()[1] == 0.5  # NaN stays NaN


@pytest.mark.parametrize("index, value", [
    (1, 7.0), (slice(0, 4, 2), eg.tensor([8.0, 9.0, 10.0])), ((Ellipsis, 1), 3.0), (([0, 2],), np.array([[1.0], [2.0]])),
    (eg.tensor([True, False, True, False]), 0.0), ((slice(None), [0, 1]), [[1.0, 2.0]]),
])
def test_setitem_matches_numpy(rng, index, value):
    data = rng.standard_normal((4, 3)).astype(np.float32)
    x = eg.from_numpy(data.copy())
    x[index] = value
    expected = data.copy()
    np_index = index.numpy() if isinstance(index, eg.Tensor) else index
    expected[np_index] = value.numpy() if isinstance(value, eg.Tensor) else value
    np.testing.assert_array_equal(x.numpy(), expected)
    assert x._version == 1


def test_setitem_shape_error_names_the_sizes():
    x = eg.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(3\) must match the existing size \(4\)"):
        x[0] = eg.ones(4)
    with pytest.raises(IndexError):
        x[5] = 1.0


# --- the rules of autograd --------------------------------------------------------------------------

def test_leaf_that_requires_grad_cannot_change_in_place_outside_no_grad():
    w = eg.ones(3, requires_grad=True)
    for change in (lambda: w.add_(1), lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.copy_(eg.zeros(3)),
                   lambda: w.clamp_(0, 1), lambda: w.__setitem__([0], 2.0)):
        with pytest.raises(RuntimeError, match=LEAF):
            change()
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        w[0] = 2.0  # basic indexing writes through a view, as in PyTorch
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        w[:2].mul_(2)
    np.testing.assert_array_equal(w.detach().numpy(), arr(1, 1, 1))
    with eg.no_grad():
        w -= 0.5
        w[0] = 2.0
    np.testing.assert_array_equal(w.detach().numpy(), arr(2, 0.5, 0.5))
    assert w.is_leaf and w.requires_grad and w._version == 2


def test_view_made_under_no_grad_cannot_be_recorded():
    x = eg.ones(3, requires_grad=True)
    a = x * 2
    with eg.no_grad():
        v = a[:2]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(2)
    with eg.no_grad():
        v.mul_(2)  # both in no_grad: allowed, not recorded
    np.testing.assert_array_equal(a.detach().numpy(), arr(4, 4, 2))


def test_inplace_on_non_leaf_records_a_node():
    x = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y += 2
    y.mul_(x)  # y = (x + 2) x: the old value of y is needed and kept
    assert not y.is_leaf and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * x.detach().numpy() + 2)


def test_inplace_with_an_operand_that_requires_grad_makes_the_tensor_require_grad():
    a = eg.arange(3.0)
    b = eg.tensor([1.0, -1.0, 2.0], requires_grad=True)
    c = a * 1
    c.mul_(b)
    assert c.requires_grad and not c.is_leaf
    c.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), a.numpy())


def test_gradcheck_through_every_inplace_op(rng):
    x = eg.tensor(rng.uniform(-1, 1, (3, 4)), requires_grad=True)
    w = eg.tensor(rng.uniform(-1, 1, 4), requires_grad=True)
    assert gradcheck(chain, (x, w))


def test_gradcheck_of_setitem_with_broadcast(rng):
    def f(x, v):
        y = x * 1
        y[:, [3, 0, 2]] = v  # v (3,) broadcast over the rows
        y[y > 0.5] = 0.5  # a boolean mask
        return y * y
    x = eg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = eg.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(f, (x, v))


def test_gradcheck_of_copy_and_fill_from_tensors(rng):
    def f(x, s, c):
        y = x * 2
        y[0].copy_(s)  # s (3,) into a row, through a view
        y[1].fill_(c)
        return y.exp()
    x = eg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    s = eg.tensor(rng.standard_normal(3), requires_grad=True)
    c = eg.tensor(0.3, dtype=eg.float64, requires_grad=True)
    assert gradcheck(f, (x, s, c))


def test_view_history_is_refreshed_after_its_base_changes():
    x = eg.ones(3, requires_grad=True)
    a = x * 2
    v = a[:2]
    a.mul_(3)  # v's values are 6 now: its gradient goes through the multiplication
    (v * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), arr(6, 6, 0))


def test_inplace_on_a_view_of_a_constant_tensor():
    b = eg.zeros(3)
    w = eg.ones(2, requires_grad=True)
    b[:2].copy_(w * 5)
    assert b.requires_grad and b._base is None
    (b * eg.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), arr(0, 5))


def test_retain_grad_follows_the_latest_version():
    x = eg.ones(3, requires_grad=True)
    w = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1
    a.retain_grad()
    a.mul_(2)
    a.mul_(w)  # keeps a copy of a's old value for w's gradient
    a.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), arr(1, 1, 1))
    np.testing.assert_array_equal(x.grad.numpy(), arr(2, 4, 6))
    np.testing.assert_array_equal(w.grad.numpy(), arr(2, 2, 2))


# --- versions ---------------------------------------------------------------------------------------

def test_version_is_shared_by_views_and_detach_not_by_data():
    x = eg.zeros(2, 3)
    v, t, d, data = x[0], x.T, x.detach(), x.data
    assert v._base is x and t._base is x and d._base is None
    v += 1
    assert x._version == v._version == t._version == d._version == 1
    data.add_(1)
    assert x._version == 1 and data._version == 1
    np.testing.assert_array_equal(x.numpy(), [[2, 2, 2], [1, 1, 1]])


def test_modifying_a_saved_tensor_fails_backward_with_pytorchs_message():
    x = eg.ones(3, requires_grad=True)
    y = x.exp()  # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient computation has been modified "
                                           r"by an inplace operation: \[float32 tensor \[3\]\], which is output 0 of "
                                           r"Exp, is at version 1; expected version 0 instead"):
        y.sum().backward()


def test_modifying_a_saved_leaf_fails_and_an_unsaved_one_does_not():
    w = eg.ones(3, requires_grad=True)
    y = (w * w).sum()
    with eg.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=r"\[float32 tensor \[3\]\] is at version 1; expected version 0"):
        y.backward()
    z = (w + 1).sum()  # an addition saves nothing
    with eg.no_grad():
        w.mul_(2)
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), arr(1, 1, 1))


def test_change_through_detach_or_a_view_is_seen_through_data_is_not():
    for change, fails in ((lambda w: w.detach().mul_(2), True), (lambda w: w.data.mul_(2), False)):
        w = eg.ones(3, requires_grad=True)
        y = (w * w).sum()
        change(w)
        if fails:
            with pytest.raises(RuntimeError, match=MODIFIED):
                y.backward()
        else:
            y.backward()  # .data changes are not tracked (PyTorch's semantics): uses the new values
            np.testing.assert_array_equal(w.grad.numpy(), arr(4, 4, 4))


def test_optimizer_step_before_backward_is_an_error():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    loss = model(eg.ones(2, 3)).sum()
    loss.backward(retain_graph=True)
    opt.step()  # the parameters saved by the forward changed
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


# --- .data and hand-written updates -----------------------------------------------------------------

def test_data_reads_and_writes_like_pytorch():
    p = nn.Parameter(eg.ones(3))
    g = eg.tensor([1.0, 2.0, 3.0])
    p.data -= 0.5 * g
    np.testing.assert_array_equal(p.detach().numpy(), arr(0.5, 0, -0.5))
    other = eg.zeros(3)
    p.data = other  # p now uses other's memory
    other += 4
    np.testing.assert_array_equal(p.detach().numpy(), arr(4, 4, 4))
    assert p.requires_grad and p.is_leaf


def _digits_mlp_by_hand(update, epochs=2, lr=0.05):
    X, y = eg.datasets.load_digits(return_X_y=True)
    X = (X[:512] / 16).astype("float32")
    y = y[:512]
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = eg.optim.SGD(model.parameters(), lr=lr) if update == "sgd" else None
    loader = eg.data.DataLoader(eg.data.TensorDataset(X, y), batch_size=32, shuffle=True,
                                generator=eg.Generator(1))
    for _ in range(epochs):
        for xb, yb in loader:
            if opt:
                opt.zero_grad()
            else:
                model.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            if opt:
                opt.step()
            elif update == "no_grad":
                with eg.no_grad():
                    for p in model.parameters():
                        p -= lr * p.grad
            else:
                for p in model.parameters():
                    p.data -= lr * p.grad
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("update", ["no_grad", "data"])
def test_training_by_hand_equals_sgd(update):
    """The acceptance check: SGD's kernel may fuse the multiply-add (one rounding less) and nothing else."""
    by_hand, by_sgd = _digits_mlp_by_hand(update), _digits_mlp_by_hand("sgd")
    for a, b in zip(by_hand, by_sgd):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert max(float(np.abs(a - b).max()) for a, b in zip(by_hand, by_sgd)) < 1e-5
    untrained = _digits_mlp_by_hand("sgd", epochs=0)
    assert all(np.abs(a - u).max() > 1e-3 for a, u in zip(by_hand, untrained))  # it did train


def test_deepcopy_gives_independent_memory_and_version():
    x = eg.ones(3, requires_grad=True)
    with eg.no_grad():
        x += 1
    y = copy.deepcopy(x)
    assert y.requires_grad and y._version == 0 and not np.shares_memory(y.detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())


def test_flip_returns_a_copy_as_pytorchs():
    """torch.flip makes a new tensor (NumPy's flip is a view): writing into the result leaves the input as it
    was, also where the flip is a no-op (one element, no dims)."""
    x = eg.arange(4.0)
    y = x.flip(0)
    y[0] = 100.0
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and y.tolist() == [100.0, 2.0, 1.0, 0.0]
    for t, dims in ((eg.ones(1), (0,)), (eg.ones(2, 3), ())):
        f = t.flip(*dims) if dims else eg.flip(t, ())
        f.fill_(7.0)
        assert float(t.sum()) == t.numel()
    assert y._data.flags.c_contiguous


def test_expand_views_are_written_as_pytorchs():
    """expand to the same shape is a writeable view (a write reaches the base, as PyTorch's); an in-place op on
    a view whose elements share memory (a broadcast dim) raises PyTorch's error, not 'read-only'."""
    x = eg.ones(3, 4)
    y = x.expand(3, 4)
    y[0, 0] = 5.0
    y.mul_(2.0)
    assert x.tolist()[0][:2] == [10.0, 2.0]
    for shared in (eg.ones(3, 1).expand(3, 4), eg.broadcast_to(eg.ones(4), (3, 4))):
        with pytest.raises(RuntimeError, match=r"^unsupported operation: more than one element of the written-to "
                                               r"tensor refers to a single memory location. Please clone\(\) the "
                                               r"tensor before performing the operation.$"):
            shared.add_(1.0)


def test_flip_takes_dims_by_keyword_as_pytorch():
    r = eg.arange(10).view(2, 5)
    want = np.arange(10).reshape(2, 5)[::-1, ::-1]
    for got in (eg.flip(r, dims=[0, 1]), r.flip(dims=(0, 1)), eg.flip(r, [0, 1]), r.flip(0, 1), r.flip([0, 1])):
        np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(TypeError, match="multiple values for argument 'dims'"):
        eg.flip(r, 0, dims=[1])
    with pytest.raises(TypeError, match='missing 1 required positional arguments: "dims"'):
        eg.flip(r)
