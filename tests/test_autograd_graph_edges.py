"""Where the graph kept a tensor that PyTorch keeps, found 2026-12-06:

- ``cat`` skips the legacy empty 1-d tensors (as PyTorch does) but dropped them from the graph too, so such a
  tensor that requires grad got no ``.grad`` after backward; PyTorch gives it an empty zero gradient.
- the gradient of ``abs`` taken with create_graph=True was a constant where nothing else in it required grad,
  so differentiating it again (a gradient penalty on an L1 term) raised "does not require grad"; PyTorch's
  keeps x in the graph, with a zero second derivative.
"""
import numpy as np
import pytest

import eigengrad as eg


def test_cat_gives_a_skipped_empty_tensor_its_empty_zero_gradient():
    a = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = eg.zeros(0, requires_grad=True)
    y = eg.cat([a, e, a * 2])
    assert y.tolist() == [1.0, 2.0, 3.0, 2.0, 4.0, 6.0]
    (y * eg.arange(6.0)).sum().backward()
    assert a.grad.tolist() == [0.0 + 6.0, 1.0 + 8.0, 2.0 + 10.0]
    assert e.grad is not None and e.grad.shape == (0,) and e.grad.dtype == eg.float32


def test_cat_skipped_tensor_of_another_dtype_gets_its_own_dtype_back():
    a = eg.ones(2, dtype=eg.float64, requires_grad=True)
    e = eg.zeros(0, requires_grad=True)  # float32, promoted to float64 for the cat
    y = eg.cat([e, a])
    assert y.dtype == eg.float64
    y.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and e.grad.dtype == eg.float32 and e.grad.shape == (0,)


def test_cat_of_only_empty_tensors_still_requires_grad():
    e1, e2 = eg.zeros(0, requires_grad=True), eg.zeros(0, requires_grad=True)
    y = eg.cat([e1, e2])
    assert y.shape == (0,) and y.requires_grad
    y.sum().backward()
    assert e1.grad.shape == (0,) and e2.grad.shape == (0,)


def test_cat_without_empty_tensors_records_one_node():
    a, b = eg.ones(2, requires_grad=True), eg.ones(3, requires_grad=True)
    assert eg.cat([a, b]).grad_fn.name() == "CatBackward0"


def test_abs_gradient_with_create_graph_stays_differentiable_in_x():
    x = eg.tensor([1.5, -2.0, 0.0], dtype=eg.float64, requires_grad=True)
    g, = eg.autograd.grad(x.abs().sum(), x, create_graph=True)
    assert g.tolist() == [1.0, -1.0, 0.0] and g.requires_grad
    g.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_abs_second_order_through_a_weight():
    x = eg.tensor([1.0, -2.0, 0.0], dtype=eg.float64, requires_grad=True)
    w = eg.tensor([0.5, 1.5, 2.0], dtype=eg.float64, requires_grad=True)
    g, = eg.autograd.grad((x * w).abs().sum(), x, create_graph=True)
    assert g.tolist() == [0.5, -1.5, 0.0]
    (g * g).sum().backward()  # d/dw of w^2 sign(xw)^2 = 2 w where x w != 0
    assert w.grad.tolist() == [1.0, 3.0, 0.0] and x.grad.tolist() == [0.0, 0.0, 0.0]


def test_abs_gradcheck_second_order_away_from_zero():
    x = eg.tensor(np.array([0.7, -1.3, 2.1]), requires_grad=True)
    assert eg.autograd.gradgradcheck(lambda t: (t * t).abs() * t, (x,))


def test_side_by_side_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    out = {}
    for lib in (eg, torch):
        a, e = lib.ones(2, requires_grad=True), lib.zeros(0, requires_grad=True)
        lib.cat([a, e]).sum().backward()
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(x.abs().sum(), x, create_graph=True)
        (g * 3).sum().backward()
        out[lib] = (tuple(e.grad.shape), g.requires_grad, (x.grad + 0).tolist())  # (torch: a lazy zero tensor)
    assert out[eg] == out[torch]
