"""PyTorch-style free functions, and the combining primitives cat / stack / where."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import gradcheck


def t64(rng, *shape):
    return eg.tensor(rng.standard_normal(shape), dtype=eg.float64, requires_grad=True)


def test_free_functions_match_methods(rng):
    x = eg.tensor(rng.random((3, 4)) + 0.5, dtype=eg.float64)
    for name in ["exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh"]:
        np.testing.assert_array_equal(getattr(eg, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_allclose(eg.sum(x, 1).numpy(), x.numpy().sum(1), rtol=1e-15)  # double sums, own order
    np.testing.assert_allclose(eg.mean(x, 0, keepdim=True).numpy(), x.numpy().mean(0, keepdims=True))
    values, idx = eg.max(x, 1)
    np.testing.assert_array_equal(idx.numpy(), x.numpy().argmax(1))
    np.testing.assert_allclose(eg.matmul(x, x.T).numpy(), x.numpy() @ x.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(eg.softmax(x, 1).numpy().sum(1), 1.0)
    assert eg.transpose(x, 0, 1).shape == (4, 3) and eg.unsqueeze(x, 0).shape == (1, 3, 4)


def test_cat_values_and_gradients(rng):
    a, b, c = t64(rng, 2, 3), t64(rng, 4, 3), t64(rng, 1, 3)
    out = eg.cat([a, b, c])
    np.testing.assert_array_equal(out.detach().numpy(),
                                  np.concatenate([a.detach().numpy(), b.detach().numpy(), c.detach().numpy()]))
    assert gradcheck(lambda *ts: eg.cat(list(ts), dim=0) * 2, (a, b, c))
    d, e = t64(rng, 3, 2), t64(rng, 3, 5)
    assert eg.cat((d, e), dim=-1).shape == (3, 7)
    assert gradcheck(lambda p, q: eg.cat([p, q], dim=1).tanh(), (d, e))
    with pytest.raises(ValueError, match="same number of dimensions"):
        eg.cat([a, eg.zeros(3)])
    with pytest.raises(TypeError, match="tensors"):
        eg.cat(a)


def test_stack_values_and_gradients(rng):
    a, b = t64(rng, 2, 3), t64(rng, 2, 3)
    for dim in (0, 1, 2, -1):
        np.testing.assert_array_equal(eg.stack([a, b], dim).detach().numpy(),
                                      np.stack([a.detach().numpy(), b.detach().numpy()], dim))
        assert gradcheck(lambda p, q: eg.stack([p, q], dim).sigmoid(), (a, b))
    with pytest.raises(ValueError, match="equal size"):
        eg.stack([a, eg.zeros(3, 2)])


def test_where_values_and_gradients(rng):
    a, b = t64(rng, 3, 4), t64(rng, 1, 4)
    cond = a.detach().numpy() > 0
    out = eg.where(eg.from_numpy(cond), a, b)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(cond, a.detach().numpy(), b.detach().numpy()))
    assert gradcheck(lambda p, q: eg.where(eg.from_numpy(cond), p, q), (a, b))
    with pytest.raises(TypeError, match="condition"):
        eg.where(a, a, b)


def test_meshgrid_matches_torch_and_is_differentiable():
    torch = pytest.importorskip("torch", reason="PyTorch's meshgrid is the reference")
    xs = [np.arange(3.0), np.arange(4.0) * 2, np.array(5.0)]
    for indexing in ("ij", "xy"):
        ours = eg.meshgrid(*[eg.tensor(x) for x in xs], indexing=indexing)
        theirs = torch.meshgrid(*[torch.tensor(x) for x in xs], indexing=indexing)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    ours = eg.meshgrid([eg.tensor(xs[0]), eg.tensor(xs[1])])  # a list, default "ij"
    assert [o.shape for o in ours] == [(3, 4), (3, 4)]
    a = eg.tensor(xs[0], requires_grad=True)
    b = eg.tensor(xs[1], requires_grad=True)
    gx, gy = eg.meshgrid(a, b, indexing="xy")
    (gx * gy).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full(3, xs[1].sum()))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, xs[0].sum()))
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        eg.meshgrid(eg.zeros(2, 2), eg.zeros(2))
    with pytest.raises(RuntimeError, match="indexing must be one of"):
        eg.meshgrid(eg.zeros(2), indexing="yx")


def test_broadcast_tensors_and_shapes():
    a = eg.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    b = eg.tensor(np.arange(4.0))
    x, y = eg.broadcast_tensors(a, b)
    np.testing.assert_array_equal(x.detach().numpy(), np.broadcast_to(np.arange(3.0).reshape(3, 1), (3, 4)))
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(np.arange(4.0), (3, 4)))
    x.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    assert eg.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        eg.broadcast_shapes((2,), (3,))


def test_unique_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's unique is the reference")
    a = np.array([[3, 1, 2], [3, 1, 2], [0, 5, 5]])
    for kw in [{}, {"return_inverse": True, "return_counts": True}, {"dim": 0, "return_inverse": True},
               {"dim": 1, "return_counts": True}, {"sorted": False}]:
        ours, theirs = eg.tensor(a).unique(**kw), torch.tensor(a).unique(**kw)
        ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
        assert len(ours) == len(theirs)
        for x, y in zip(ours, theirs):
            assert x.dtype == eg.int64
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_array_equal(eg.unique(eg.tensor([2.0, 1.0, 2.0])).numpy(), [1.0, 2.0])


def test_numpy_keyword_aliases_as_pytorch():
    """PyTorch takes NumPy's ``axis``/``keepdims`` for ``dim``/``keepdim`` (D2L writes y_hat.argmax(axis=1))."""
    x = eg.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.argmax(axis=1).numpy(), [2, 2])
    np.testing.assert_array_equal(eg.sum(x, axis=0, keepdims=True).numpy(), [[3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(x.max(axis=1).values.numpy(), [2.0, 5.0])
    assert eg.cat([x, x], axis=0).shape == (4, 3)
    with pytest.raises(TypeError, match="got both 'dim' and its alias 'axis'"):
        x.argmax(dim=0, axis=1)
