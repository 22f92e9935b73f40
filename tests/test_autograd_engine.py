"""The backward engine: accumulation, retain_graph, deep graphs, diamonds, error reporting, detach, retain_grad."""
import gc
import sys
import time
import weakref

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd.function import Primitive


def f64(values, requires_grad=True):
    return eg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_gradients_accumulate_across_backward_calls():
    x = f64([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    first = x.grad
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0, 9.0])
    assert x.grad is first  # accumulated in place, as PyTorch
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_retain_graph_allows_second_backward():
    x = f64([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    np.testing.assert_allclose(g1, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-14)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-14)
    loss.backward()  # the last one may free the graph
    np.testing.assert_allclose(x.grad.numpy(), 3 * g1, rtol=1e-14)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_second_backward_without_retain_graph_raises():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # the failed call added nothing
    # nodes that saved nothing (Add, Sum) run again, as PyTorch's: the second backward accumulates
    z = (x + 1).sum()
    z.backward()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 6.0])


def test_deep_chain_backpropagates_without_recursion():
    n = 100_000
    x = f64(1.0)
    y = x
    start = time.perf_counter()
    for _ in range(n):
        y = y * 1.0001
    assert sys.getrecursionlimit() < n
    y.backward()
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** n, rtol=1e-9)
    np.testing.assert_allclose(y.item(), 1.0001 ** n, rtol=1e-9)
    assert elapsed < 30, f"{n} chained ops took {elapsed:.1f} s"
    assert y.grad_fn.released and y.grad_fn.inputs == (None, None)  # the graph was freed by backward


def test_deep_chain_graph_is_freed_without_backward():
    n = 100_000
    x = f64([0.0, 1.0])
    y = x + 1
    first = weakref.ref(y)
    for _ in range(n - 1):
        y = y + 1
    np.testing.assert_array_equal(y.detach().numpy(), [n, n + 1])
    assert first() is not None
    del y
    gc.collect()
    assert first() is None  # the whole chain was deallocated (no crash, no leak)


def test_diamond_graph_sums_gradients():
    x = f64([0.5, -1.5, 2.0])
    a = x * 2  # used by three paths
    out = (a * a + a.exp() + a).sum()
    out.backward()
    av = 2 * x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * av + np.exp(av) + 1), rtol=1e-14)
    # a leaf used twice in one op and in several ops
    y = f64([3.0, -2.0])
    (y * y + y * 5 - y / 2).sum().backward()
    np.testing.assert_allclose(y.grad.detach().numpy(), 2 * y.detach().numpy() + 4.5, rtol=1e-14)


def test_wide_diamond_of_shared_intermediates():
    x = f64([1.0, 2.0])
    h = x.tanh()
    total = h
    for k in range(1, 50):
        total = total + h * k
    total.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (1 + sum(range(1, 50))) * (1 - np.tanh([1.0, 2.0]) ** 2), rtol=1e-13)


class WrongShape(Primitive):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return (np.ones(g.size + 1),)


def test_wrong_shaped_gradient_names_the_op():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"WrongShape\.backward .*shape \(3,\).*shape \(2,\)"):
        WrongShape.apply(x).sum().backward()
    # also when the bad op sits deep inside the graph
    with pytest.raises(RuntimeError, match="WrongShape"):
        (WrongShape.apply(x.exp()) * 3).sum().backward()


class Float64Grad(Primitive):
    """Returns its gradient in float64 for any input: the engine casts to the input's dtype."""

    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return (np.asarray(g, dtype=np.float64) * 2,)


class NoGradForSecond(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, None


def test_engine_casts_gradient_dtype_and_skips_none():
    x = eg.tensor([1.0, 2.0], requires_grad=True)
    Float64Grad.apply(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    a, b = f64([1.0]), f64([2.0])
    NoGradForSecond.apply(a, b).sum().backward()
    assert a.grad.tolist() == [1.0] and b.grad is None


def test_needs_input_grad_and_constants():
    seen = {}

    class Probe(Primitive):
        @staticmethod
        def forward(ctx, a, b, c):
            return a * b + c

        @staticmethod
        def backward(ctx, g):
            seen["needs"] = ctx.needs_input_grad
            return g, g, g

    a, b = f64([1.0]), f64([2.0], requires_grad=False)
    out = Probe.apply(a, b, 3.0)
    assert out.requires_grad and out.grad_fn.name == "Probe" and not out.is_leaf
    out.sum().backward()
    assert seen["needs"] == (True, False, False)
    assert a.grad.tolist() == [1.0] and b.grad is None


def test_non_scalar_backward_needs_gradient():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    assert x.grad is None
    one = (x * 2)[0:1, 0:1]  # a one-element tensor may omit it
    one.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [0.0, 0.0]])


def test_backward_with_explicit_gradient():
    x = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = x * x
    g = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 3.0]])
    y.backward(g, retain_graph=True)
    np.testing.assert_array_equal(x.grad.detach().numpy(), 2 * x.detach().numpy() * g)
    x.grad = None
    y.backward(eg.tensor(g), retain_graph=True)
    np.testing.assert_array_equal(x.grad.detach().numpy(), 2 * x.detach().numpy() * g)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of \(3,\)"):  # PyTorch's
        y.backward(np.ones(3))
    x.grad = None
    eg.autograd.backward([y], [eg.tensor(g)])
    np.testing.assert_array_equal(x.grad.detach().numpy(), 2 * x.detach().numpy() * g)


def test_backward_on_a_leaf_and_on_non_grad_tensor():
    x = f64([1.0, 2.0])
    g = np.array([3.0, 4.0])
    x.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g)
    assert not np.shares_memory(x.grad.numpy(), g)
    with pytest.raises(RuntimeError):
        eg.tensor([1.0]).sum().backward()


def test_detach_stops_gradients():
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    y = x * w
    z = (y.detach() * w + y).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), w.detach().numpy())  # only through the attached y
    xa, wa = x.detach().numpy(), w.detach().numpy()
    np.testing.assert_array_equal(w.grad.detach().numpy(), xa + (xa * wa))
    d = x.detach()
    assert not d.requires_grad
    assert not (d * 2).requires_grad


def test_retain_grad_on_non_leaf():
    x = f64([1.0, -2.0])
    y = x * 3
    y.retain_grad()
    h = y.exp()
    (h * 2).sum().backward()
    np.testing.assert_allclose(y.grad.detach().numpy(), 2 * np.exp(y.detach().numpy()), rtol=1e-14)
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * np.exp(y.detach().numpy()), rtol=1e-14)
    assert h.grad is None  # not retained
    # the retained gradient sums both uses of the tensor
    a = f64([2.0])
    b = a * 1.0
    b.retain_grad()
    (b * b + b).backward()
    assert b.grad.tolist() == [5.0] and a.grad.tolist() == [5.0]


def test_leaf_grads_are_owned_copies():
    x, y = f64([1.0, 2.0]), f64([3.0, 4.0])
    z = x + y  # Add passes the same upstream array to both inputs
    g = np.array([1.0, 1.0])
    z.backward(g)
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), g)
    x.grad.numpy()[0] = 100.0
    assert y.grad.tolist() == [1.0, 1.0] and g.tolist() == [1.0, 1.0]
    # through a reduction (read-only broadcast gradient) the leaf grad is writable and owned
    a = f64([[1.0, 2.0], [3.0, 4.0]])
    a.sum().backward()
    assert a.grad.numpy().flags.writeable and a.grad.numpy().flags.c_contiguous
    a.grad.numpy()[0, 0] = 7.0
    np.testing.assert_array_equal(a.grad.numpy(), [[7.0, 1.0], [1.0, 1.0]])
    # reshape returns a view of the gradient: the leaf still gets its own array
    p, q = f64([1.0, 2.0, 3.0, 4.0]), f64([[1.0, 2.0], [3.0, 4.0]])
    (p.reshape(2, 2) + q).sum().backward()
    assert not np.shares_memory(p.grad.numpy(), q.grad.numpy())


def test_no_grad_region_inside_graph():
    x = f64([1.0, 2.0])
    with eg.no_grad():
        c = x * 10
    y = (x * c).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), c.numpy())
