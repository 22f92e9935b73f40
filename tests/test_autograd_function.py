"""User-defined eg.autograd.Function (PyTorch's custom Function over Tensors), side by side with torch."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import Function, gradcheck, gradgradcheck, once_differentiable


def f64(values, requires_grad=True):
    return eg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


class ScaledExp(Function):
    """y = exp(k x) with a non-tensor argument k and a saved output."""

    @staticmethod
    def forward(ctx, x, k):
        y = (x * k).exp()
        ctx.save_for_backward(y)
        ctx.k = k
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * ctx.k, None


def test_forward_backward_with_non_tensor_arguments_and_saved_output():
    x = f64([0.1, -0.4, 0.7])
    y = ScaledExp.apply(x, 1.5)
    assert y.requires_grad and y.grad_fn.name == "ScaledExp" and "ScaledExpBackward" in repr(y)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 1.5 * np.exp(1.5 * x.detach().numpy()), rtol=1e-15)
    assert gradcheck(lambda t: ScaledExp.apply(t, 1.5), (f64([0.1, -0.4, 0.7]),))
    # a backward written with Tensor operations is differentiable again (saved output included)
    assert gradgradcheck(lambda t: ScaledExp.apply(t, 1.5), (f64([0.1, -0.4, 0.7]),))


def test_forward_runs_without_grad_and_no_node_when_nothing_requires_grad():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["grad"] = eg.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g

    out = Probe.apply(f64([1.0]), f64([2.0], requires_grad=False))
    assert seen == {"grad": False, "needs": (True, False)} and out.requires_grad
    out = Probe.apply(f64([1.0], requires_grad=False), 3.0)
    assert not out.requires_grad and out.grad_fn is None
    with eg.no_grad():
        assert not Probe.apply(f64([1.0]), 2.0).requires_grad


def test_wrong_number_of_gradients_and_gradient_for_a_non_tensor():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class ForConstant(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    class ExtraNones(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"function TooFewBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        TooFew.apply(x, f64([1.0, 1.0])).sum().backward()
    with pytest.raises(RuntimeError, match="function ForConstantBackward returned a gradient different than None at "
                                           "position 2, but the corresponding forward input was not a Variable"):
        ForConstant.apply(x, 2.0).sum().backward()
    ExtraNones.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_broadcast_gradient_is_summed_and_wrong_shape_is_named():
    class Broad(Function):
        @staticmethod
        def forward(ctx, b):
            return b * 1.0

        @staticmethod
        def backward(ctx, g):
            return g * eg.ones(3, 2, dtype=eg.float64)  # (3, 2) for a (2,) input: summed as PyTorch

    class Wrong(Function):
        @staticmethod
        def forward(ctx, b):
            return b * 1.0

        @staticmethod
        def backward(ctx, g):
            return eg.ones(3, dtype=eg.float64)

    b = f64([1.0, 2.0])
    Broad.apply(b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match=r"Function WrongBackward returned an invalid gradient at index 0 - got "
                                           r"\[3\] but expected shape compatible with \[2\]"):
        Wrong.apply(b).sum().backward()


class Split(Function):
    """Two outputs: (2 x, x^2); the second can be marked non-differentiable."""

    @staticmethod
    def forward(ctx, x, mark=False):
        a, b = x * 2, x * x
        ctx.save_for_backward(x)
        if mark:
            ctx.mark_non_differentiable(b)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        (x,) = ctx.saved_tensors
        return ga * 2 + gb * 2 * x, None


def test_multiple_outputs_materialize_and_non_differentiable():
    x = f64([1.0, 3.0])
    a, b = Split.apply(x)
    assert a.grad_fn.name == b.grad_fn.name == "Split" and "SplitBackward" in repr(b)
    (a.sum() + b.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    x.grad = None
    a, _ = Split.apply(x)
    a.sum().backward()  # b unused: its gradient arrives as zeros (materialized)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    a, b = Split.apply(x, True)
    assert a.requires_grad and not b.requires_grad
    (g,) = eg.autograd.grad(a.sum() + b.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])


def test_set_materialize_grads_false_passes_none():
    seen = {}

    class Lazy(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1.0, x * 2.0

        @staticmethod
        def backward(ctx, ga, gb):
            seen["gb"] = gb
            return ga

    x = f64([1.0])
    a, _ = Lazy.apply(x)
    a.sum().backward()
    assert seen["gb"] is None and x.grad.tolist() == [1.0]


def test_mark_dirty_in_place_and_its_errors():
    class AddOne(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    leaf = f64([1.0, 2.0])
    y = leaf * 3
    version = y._version
    out = AddOne.apply(y)
    assert out is y and y._version == version + 1 and y.grad_fn.name == "AddOne"
    np.testing.assert_array_equal(y.detach().numpy(), [4.0, 7.0])
    (y * y).sum().backward()
    np.testing.assert_array_equal(leaf.grad.detach().numpy(), 2 * y.detach().numpy() * 3)
    # (PyTorch's message for a dirty leaf is in the past tense, unlike an in-place op's on a leaf)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an in-place operation"):
        AddOne.apply(f64([1.0]))
    base = f64([1.0, 2.0, 3.0]) * 1.0  # through a view: the base's history records the change
    AddOne.apply(base[1:])
    np.testing.assert_array_equal(base.detach().numpy(), [1.0, 3.0, 4.0])


def test_saved_tensor_modified_in_place_and_freed_after_backward():
    x = f64([1.0, 2.0])
    h = x * 1.0
    y = ScaledExp.apply(h, 2.0)
    y.mul_(2)  # the saved output changed: backward must refuse it
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    y = ScaledExp.apply(h, 2.0)
    ctx_holder = {}

    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx_holder["ctx"] = ctx
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Keep.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        ctx_holder["ctx"].saved_tensors


def test_setup_context_style_and_keyword_arguments():
    class Mul(Function):
        @staticmethod
        def forward(x, y, scale=1.0):
            return x * y * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, scale = inputs
            ctx.save_for_backward(x, y)
            ctx.scale = scale

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y * ctx.scale, g * x * ctx.scale, None

    x, y = f64([1.0, 2.0]), f64([3.0, 4.0])
    Mul.apply(x, y=y, scale=0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.5, 2.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 1.0])
    assert gradgradcheck(lambda a, b: Mul.apply(a, b, 0.5), (f64([1.0, 2.0]), f64([3.0, 4.0])))


def test_once_differentiable_and_legacy_call():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = f64([1.0, 2.0])
    (g,) = eg.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    assert not g.requires_grad  # as PyTorch: the backward's inputs needed no grad, so nothing is recorded
    (g,) = eg.autograd.grad(Sq.apply(x), x, eg.ones(2, dtype=eg.float64, requires_grad=True), create_graph=True)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                           "@once_differentiable"):
        g.sum().backward()
    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method is deprecated"):
        Sq()(x)


def test_matches_pytorch_custom_function():
    torch = pytest.importorskip("torch", reason="the PyTorch side needs torch")

    def define(base, exp):
        class Gelu(base):
            @staticmethod
            def forward(ctx, x, w):
                ctx.save_for_backward(x, w)
                return x * w / (1 + exp(-1.702 * x))

            @staticmethod
            def backward(ctx, g):
                x, w = ctx.saved_tensors
                s = 1 / (1 + exp(-1.702 * x))
                return g * w * (s + 1.702 * x * s * (1 - s)), (g * x * s).sum(0)

        return Gelu

    rng = np.random.default_rng(0)
    xv, wv, v = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4))
    results = []
    for base, exp, T in ((Function, lambda t: t.exp(), lambda a: eg.tensor(a, requires_grad=True)),
                         (torch.autograd.Function, torch.exp, lambda a: torch.tensor(a, requires_grad=True))):
        fn, x, w = define(base, exp), T(xv), T(wv)
        y = fn.apply(x, w)
        gx, gw = (eg.autograd.grad if base is Function else torch.autograd.grad)(
            y, (x, w), eg.tensor(v) if base is Function else torch.tensor(v), create_graph=True)
        total = (gx * gx).sum() + (gw * gw).sum()
        hx, hw = (eg.autograd.grad if base is Function else torch.autograd.grad)(total, (x, w))
        results.append([np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.numpy())
                        for t in (y, gx, gw, hx, hw)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
