"""Tensor and autograd behaviour that randomized comparisons with PyTorch found wrong, each checked against
PyTorch's result written out (these run without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg


@pytest.mark.parametrize("dtype", [eg.float32, eg.float64, eg.int64])
def test_sign_of_a_zero_d_tensor(dtype):
    """A 0-d input made NumPy's sign return a scalar, which the NaN fix-up could not write (a TypeError)."""
    for v, want in ((-2, -1), (0, 0), (3, 1)):
        s = eg.tensor(v, dtype=dtype).sign()
        assert s.shape == () and s.dtype == dtype and s.item() == want
    assert eg.tensor(float("nan")).sign().item() == 0.0
    x = eg.tensor(-1.5, dtype=eg.float64, requires_grad=True)
    x.abs().backward()
    assert x.grad.item() == -1.0


def test_an_element_picked_by_integers_is_a_view():
    """x[0], x[1, 1], x[0][1], select: 0-d views, so in-place changes reach the base and autograd sees them
    (NumPy's scalar copies lost them silently)."""
    y = eg.tensor([1.0, 2.0, 3.0])
    y[0].mul_(3)
    y.select(0, 1).mul_(2)
    assert y.tolist() == [3.0, 4.0, 3.0]
    z = eg.arange(6.0).reshape(2, 3)
    z[1, 1].add_(10)
    z[0][1].fill_(-1)
    assert z.tolist() == [[0.0, -1.0, 2.0], [3.0, 14.0, 5.0]]
    x = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = x * 1
    w[1].mul_(5)
    w.sum().backward()
    assert x.grad.tolist() == [1.0, 5.0, 1.0]  # PyTorch's
    leaf = eg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        leaf[0].mul_(2)
    assert float(y[1]) == 4.0 and y[2].item() == 3.0 and y[0].shape == ()


def test_jacobian_and_hessian_under_no_grad():
    """They computed zeros under no_grad (a reshape outside their enable_grad cut the graph)."""
    from eigengrad.autograd.functional import hessian, jacobian

    x = eg.tensor([1.0, 2.0, 3.0])
    with eg.no_grad():
        jac = jacobian(lambda t: t ** 2, x)
        hes = hessian(lambda t: (t ** 3).sum(), x)
    np.testing.assert_array_equal(jac.numpy(), np.diag([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(hes.numpy(), np.diag([6.0, 12.0, 18.0]))


def test_func_transforms_stay_differentiable_through_captured_parameters():
    """torch.func.grad/jacrev of a function of the model's weights at plain data: the result depends on the
    weights, so a penalty on it trains them (PyTorch: W.grad [[5, 9]]); a result that depends on nothing
    that requires grad is returned detached, as PyTorch's."""
    lin = eg.nn.Linear(2, 1, bias=False)
    with eg.no_grad():
        lin.weight.copy_(eg.tensor([[1.0, 2.0]]))
    x = eg.tensor([1.0, 1.0])
    jac = eg.func.jacrev(lin)(x)
    g = eg.func.grad(lambda z: lin(z).sum())(x)
    assert jac.requires_grad and g.requires_grad
    (lin(x).sum() + jac.pow(2).sum() + g.pow(2).sum()).backward()
    assert lin.weight.grad.tolist() == [[5.0, 9.0]]
    lin2 = eg.nn.Linear(2, 2)
    params = dict(lin2.named_parameters())
    jacs = eg.func.vmap(eg.func.jacrev(lambda z: eg.func.functional_call(lin2, params, (z,))))(eg.ones(3, 2))
    jacs.diagonal(dim1=-2, dim2=-1).sum().backward()
    assert lin2.weight.grad.tolist() == [[3.0, 0.0], [0.0, 3.0]]
    x = eg.tensor([1.0, 2.0])
    assert not eg.func.jacrev(lambda t: t ** 2)(x).requires_grad
    assert not eg.func.grad(lambda t: (t ** 2).sum())(x).requires_grad
    hes = eg.func.hessian(lambda t: (t ** 3).sum())(x)
    assert not hes.requires_grad and hes.tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_a_list_holding_sequences_indexes_as_a_tuple():
    """PyTorch's rule (with its deprecation warning): x[[[0, 1], [2, 0]]] is x[[0, 1], [2, 0]]; a list of numbers
    or bools stays one index. The list was one NumPy array index (shape (2, 2, 4, 5))."""
    x = eg.arange(60).reshape(3, 4, 5)
    cases = {((0, 1), (2, 0)): (2, 5), ((0, 1),): (2, 4, 5), ((0, 1), (2, 0), (1, 1)): (2,), (((0, 1),),): (1, 2, 4, 5)}
    for index, shape in cases.items():
        with pytest.warns(UserWarning, match="non-tuple sequence for multidimensional indexing"):
            got = x[[list(i) if isinstance(i, tuple) else i for i in index]]
        assert tuple(got.shape) == shape
    with pytest.warns(UserWarning):
        assert x[[[0, 1], [2, 0]]].tolist() == x[[0, 1], [2, 0]].tolist()
        assert tuple(x[[slice(0, 2), [0, 1]]].shape) == (2, 2, 5)
        assert tuple(x[[None, 0]].shape) == (1, 4, 5)
        assert x[[eg.tensor([0, 1]), eg.tensor([1, 2])]].tolist() == x[eg.tensor([0, 1]), eg.tensor([1, 2])].tolist()
        y = eg.zeros(3, 4)
        y[[[0, 1], [2, 0]]] = 1
    assert y.sum().item() == 2.0 and y[0, 2].item() == 1.0
    assert tuple(x[[0, 1]].shape) == (2, 4, 5) and tuple(x[[True, False, True]].shape) == (2, 4, 5)
    assert tuple(x[0, [[1, 2]]].shape) == (1, 2, 5)  # inside a tuple a nested list is one index


def test_pytorch_path_of_the_custom_function():
    """``torch.autograd.function.Function`` / ``once_differentiable`` / ``FunctionCtx`` are PyTorch's custom
    Function and its helpers (the module's Function was eigengrad's internal primitive: ctx.saved_tensors failed)."""
    from eigengrad.autograd import function as module

    assert module.Function is eg.autograd.Function and module.FunctionCtx is eg.autograd.FunctionCtx

    class Square(module.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @module.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = eg.tensor([1.0, 2.0], requires_grad=True)
    Square.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("name,want", [("remainder", [2, -1, 5]), ("sub", [2, 8, -2]), ("mul", [15, -15, 35]),
                                       ("floor_divide", [1, -2, 0]), ("bitwise_and", [1, 5, 5])])
def test_functions_that_take_a_number_first(name, want):
    """PyTorch's Scalar-self overloads: torch.remainder(5, t), torch.sub(5, t), ... (a TypeError before)."""
    assert getattr(eg, name)(5, eg.tensor([3, -3, 7])).tolist() == want


def test_subtraction_with_a_bool_operand_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError, match="two bool tensors is not supported"):
        eg.tensor([True]) - eg.tensor([False])
    for call in (lambda: eg.tensor([1.0]) - True, lambda: True - eg.tensor([1]), lambda: eg.tensor([True]) - 1):
        with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
            call()
    assert (eg.tensor([2]) - 1).tolist() == [1]


def test_einsum_sublist_form():
    a, b = eg.arange(6.0).reshape(2, 3), eg.arange(12.0).reshape(3, 4)
    assert eg.einsum(a, [0, 1], b, [1, 2], [0, 2]).tolist() == eg.einsum("ij,jk->ik", a, b).tolist()
    assert tuple(eg.einsum(a, [0, 1], b, [1, 2]).shape) == (2, 4)
    assert eg.einsum(a, [Ellipsis, 1], [Ellipsis]).tolist() == [3.0, 12.0]
    with pytest.raises(RuntimeError, match=r"range \[0, 52\)"):
        eg.einsum(a, [0, 60])


def test_masked_scatter_of_a_zero_d_tensor_and_requires_grad_on_integers():
    x = eg.tensor(1.5, dtype=eg.float64)
    assert x.masked_scatter(eg.tensor(True), eg.tensor([7.0], dtype=eg.float64)).item() == 7.0  # PyTorch's
    assert x.masked_scatter(eg.tensor(False), eg.tensor([7.0], dtype=eg.float64)).item() == 1.5
    y = eg.tensor([[1.0, 2.0], [3.0, 4.0]])
    got = y.masked_scatter(eg.tensor([[True, False], [False, True]]), eg.tensor([9.0, 8.0, 7.0]))
    assert got.tolist() == [[9.0, 2.0], [3.0, 8.0]]
    with pytest.raises(RuntimeError, match="floating point"):  # PyTorch's RuntimeError (and a TypeError)
        eg.tensor([1, 2]).requires_grad_()


def test_attention_refuses_a_scale_that_is_not_finite():
    """Every score would be inf or NaN: a ValueError naming scale (the kernel and its reference disagreed)."""
    q = eg.randn(1, 2, 3, 4)
    with pytest.raises(ValueError, match="scale: expected a finite number"):
        eg.nn.functional.scaled_dot_product_attention(q, q, q, scale=float("inf"))


def test_grad_fn_graph_walk_as_pytorch():
    """grad_fn.name() and next_functions (torchviz and debugging code walk the graph with them)."""
    x = eg.randn(2, requires_grad=True)
    y = ((x * 2) + eg.randn(2)).sum()
    fn = y.grad_fn
    assert fn.name() == "SumBackward0" and fn.name == "Sum"
    (add, _), = fn.next_functions
    assert add.name() == "AddBackward0"
    (mul, _), (none, _) = add.next_functions
    assert mul.name() == "MulBackward0" and none is None
    (leaf, index), (constant, _) = mul.next_functions
    assert leaf.variable is x and index == 0 and constant is None and leaf.next_functions == ()
    assert leaf.name() == "torch::autograd::AccumulateGrad"


def test_views_that_repeat_base_elements_after_an_in_place_change_of_the_base():
    """An expand or overlapping as_strided view of y, then y.mul_(2): the view's gradient is summed over the
    base elements it repeats (PyTorch's values; the gradient was assigned, last window winning, or the
    backward raised on the read-only expand)."""
    x = eg.arange(1.0, 5.0, dtype=eg.float64, requires_grad=True)
    y = x * 1
    v = y.as_strided((3, 2), (1, 1))
    y.mul_(2)
    (v * eg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], dtype=eg.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 6.0, 14.0, 10.0]
    x = eg.ones(3, dtype=eg.float64, requires_grad=True)
    y = x * 1
    e = y.expand(2, 3)
    y.mul_(2)
    (e * eg.arange(6.0, dtype=eg.float64).view(2, 3)).sum().backward()
    assert x.grad.tolist() == [6.0, 10.0, 14.0]
    x = eg.ones(4, dtype=eg.float32, requires_grad=True)  # float32: the index array's strides fit too
    y = x * 1
    w = y.as_strided((2, 3), (1, 1))
    y.add_(1)
    w.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 2.0, 1.0]


def test_a_parametrization_that_changes_the_shape_needs_unsafe():
    """PyTorch's consistency check at registration (it was only made for a second parametrization)."""
    from eigengrad.nn.utils import parametrize

    class FirstRow(eg.nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="may not change the shape of the tensor, unless `unsafe`"):
        parametrize.register_parametrization(eg.nn.Linear(3, 2), "weight", FirstRow())
    layer = parametrize.register_parametrization(eg.nn.Linear(3, 2), "weight", FirstRow(), unsafe=True)
    assert tuple(layer.weight.shape) == (1, 3)


def test_grad_fn_names_are_pytorchs_where_the_class_name_differs():
    """ReLU's node is PyTorch's ReluBackward0, a view or a viewable reshape ViewBackward0, clone CloneBackward0."""
    x = eg.ones(2, 3, requires_grad=True)
    names = [x.relu().grad_fn.name(), eg.nn.functional.relu(x).grad_fn.name(), x.view(6).grad_fn.name(),
             x.reshape(3, 2).grad_fn.name(), x.clone().grad_fn.name()]
    assert names == ["ReluBackward0", "ReluBackward0", "ViewBackward0", "ViewBackward0", "CloneBackward0"]
    assert repr(x.relu()).endswith("grad_fn=<ReluBackward0>)")
