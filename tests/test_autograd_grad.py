"""autograd.grad and backward(create_graph, inputs): PyTorch's semantics and messages; tensor hooks."""
import warnings

import numpy as np
import pytest

import eigengrad as eg


def f64(values, requires_grad=True):
    return eg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# --- autograd.grad ------------------------------------------------------------------------------------

def test_grad_returns_gradients_and_leaves_grad_alone():
    x, w = f64([1.0, 2.0, 3.0]), f64([0.5, -1.0, 2.0])
    x.grad = eg.tensor(np.full(3, 7.0))
    gx, gw = eg.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(gx.detach().numpy(), w.detach().numpy())
    np.testing.assert_array_equal(gw.detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 7.0))  # untouched
    assert w.grad is None
    assert not gx.requires_grad and gx.grad_fn is None


def test_grad_of_non_leaf_input_and_of_the_output_itself():
    x = f64([1.0, 2.0])
    h = x * x
    y = (h * 3).sum()
    (gh,) = eg.autograd.grad(y, h, retain_graph=True)
    np.testing.assert_array_equal(gh.numpy(), [3.0, 3.0])
    (gy,) = eg.autograd.grad(y, y)
    assert gy.item() == 1.0
    (gx,) = eg.autograd.grad(x, x, eg.tensor(np.array([2.0, 5.0])))
    np.testing.assert_array_equal(gx.numpy(), [2.0, 5.0])


def test_grad_is_a_total_derivative_through_other_inputs():
    w = f64([2.0])
    x = w * 3
    y = (x * w).sum()  # dy/dx = w, dy/dw = x + 3 w (through x too)
    gx, gw = eg.autograd.grad(y, [x, w])
    assert gx.item() == 2.0 and gw.item() == 12.0


def test_grad_messages_match_pytorch():
    x, z = f64([1.0, 2.0]), f64([3.0, 4.0])
    w = eg.tensor(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="^The differentiated Tensor at index 1 appears to not have been used in "
                                           r"the graph. Set allow_unused=True if this is the desired behavior.$"):
        eg.autograd.grad((x * 2).sum(), [x, z])
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        eg.autograd.grad(x * 2, [x])
    with pytest.raises(RuntimeError, match="^One of the differentiated Tensors does not require grad$"):
        eg.autograd.grad((x * 2).sum(), [w])
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a grad_fn"):
        eg.autograd.grad((w * 2).sum(), [x])
    with pytest.raises(RuntimeError, match=r"^Mismatch in shape: grad_output\[0\] has a shape of \(3,\) and "
                                           r"output\[0\] has a shape of \(2,\)\.$"):
        eg.autograd.grad(x * 2, [x], eg.ones(3))
    with pytest.raises(ValueError, match="^Expected allow_unused to be True or not passed when materialize_grads=True"):
        eg.autograd.grad((x * 2).sum(), [x], materialize_grads=True, allow_unused=False)
    with pytest.raises(RuntimeError, match="^`inputs` argument to `grad\\(\\)` cannot be empty.$"):
        eg.autograd.grad((x * 2).sum(), [])


def test_allow_unused_and_materialize_grads():
    x, z = f64([1.0, 2.0]), f64([3.0, 4.0])
    gx, gz = eg.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None
    gx, gz = eg.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    np.testing.assert_array_equal(gz.numpy(), [0.0, 0.0])
    assert gz.dtype == np.float64


def test_only_inputs_false_warns_and_grad_outputs_sequence():
    x = f64([1.0, 2.0])
    with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
        (g,) = eg.autograd.grad((x * 2).sum(), x, only_inputs=False)
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])
    (g,) = eg.autograd.grad([(x * 2).sum(), (x * 3).sum()], [x], [None, eg.tensor(2.0, dtype=eg.float64)])
    np.testing.assert_array_equal(g.numpy(), [8.0, 8.0])
    (g,) = eg.autograd.grad((x * 2).sum(), [x], eg.tensor(2.0))  # a float32 grad_output is cast
    assert g.dtype == np.float64 and g.tolist() == [4.0, 4.0]


def test_is_grads_batched_stacks_one_vjp_per_row():
    x = f64([1.0, 2.0, 3.0])
    y = x * x
    v = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]])
    (g,) = eg.autograd.grad(y, x, eg.tensor(v), is_grads_batched=True)
    np.testing.assert_array_equal(g.detach().numpy(), v * 2 * x.detach().numpy())


def test_grad_retain_graph_defaults_to_create_graph():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    eg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        eg.autograd.grad(y, x)
    y = (x.exp() * x).sum()
    eg.autograd.grad(y, x, create_graph=True)
    (g,) = eg.autograd.grad(y, x)  # create_graph kept the graph
    np.testing.assert_allclose(g.detach().numpy(), np.exp(x.detach().numpy()) * (1 + x.detach().numpy()), rtol=1e-15)


def test_grad_prunes_the_graph_to_the_inputs():
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    h = x * 2
    ran = []
    h.register_hook(lambda g: ran.append("h"))
    y = (h * w).sum()
    eg.autograd.grad(y, w)
    assert ran == []  # the branch to x was not run
    assert x.grad is None and w.grad is None


def test_create_graph_gives_second_derivatives():
    x = f64([0.5, -1.0, 2.0])
    y = (x ** 3).sum()
    (g,) = eg.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2, rtol=1e-15)
    (h,) = eg.autograd.grad(g.sum(), x, retain_graph=True)
    np.testing.assert_allclose(h.detach().numpy(), 6 * x.detach().numpy(), rtol=1e-15)
    (t,) = eg.autograd.grad(eg.autograd.grad(g.sum(), x, create_graph=True)[0].sum(), x)
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0, 6.0], rtol=1e-15)


# --- backward(create_graph, inputs) -------------------------------------------------------------------

def test_backward_create_graph_gives_a_differentiable_grad():
    x = f64([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    first = x.grad
    np.testing.assert_allclose(first.detach().numpy(), [3.0, 12.0])
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_backward_inputs_accumulates_only_into_them():
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    h = x * w
    h.retain_grad()
    y = (h * h).sum()
    y.backward(inputs=[w], retain_graph=True)
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.detach().numpy(), 2 * h.detach().numpy() * x.detach().numpy())
    np.testing.assert_array_equal(h.grad.detach().numpy(), 2 * h.detach().numpy())  # retained on the way
    y.backward(inputs=[h])  # a non-leaf in inputs gets its .grad accumulated (once, with retain_grad: PyTorch's)
    np.testing.assert_array_equal(h.grad.detach().numpy(), 4 * h.detach().numpy())
    z = x * 3
    (z * z).sum().backward(inputs=[z])
    np.testing.assert_array_equal(z.grad.detach().numpy(), 2 * z.detach().numpy())
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty."):
        (x * 2).sum().backward(inputs=[])


def test_autograd_backward_runs_one_pass_over_several_roots():
    x = f64([1.0, 2.0])
    a, b = (x * 2).sum(), (x * x).sum()
    eg.autograd.backward([a, b])
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 6.0])
    x.grad = None
    eg.autograd.backward([x * 3], [eg.tensor(np.array([1.0, -1.0]))])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -3.0])


def test_backward_messages():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a grad_fn"):
        eg.tensor(1.0).backward()
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        (x * 2).backward()


# --- hooks --------------------------------------------------------------------------------------------

def test_hook_on_a_non_leaf_replaces_the_gradient_before_retain_grad():
    x = f64([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [10.0, 10.0])  # PyTorch: retain_grad sees the hook's value
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])
    handle.remove()
    x.grad = None
    y2 = x * 2
    y2.register_hook(lambda g: None)  # None keeps the gradient
    y2.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_leaf_hook_runs_on_the_summed_gradient_before_accumulation():
    x = f64([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 100)
    (x * 3 + x * x).sum().backward()
    assert len(seen) == 1  # once, on the sum over both uses
    np.testing.assert_array_equal(seen[0], [5.0, 7.0])
    np.testing.assert_array_equal(x.grad.numpy(), [500.0, 700.0])
    (g,) = eg.autograd.grad((x * 3).sum(), x)  # hooks also run for autograd.grad (as PyTorch)
    np.testing.assert_array_equal(g.numpy(), [300.0, 300.0])


def test_hooks_registered_before_an_inplace_change_see_the_old_version():
    x = f64([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(("before", g.numpy().copy())))
    y.mul_(3)
    y.register_hook(lambda g: seen.append(("after", g.numpy().copy())))
    (y * 5).sum().backward()
    assert [s[0] for s in seen] == ["after", "before"]  # PyTorch's order and values
    np.testing.assert_array_equal(seen[0][1], [5.0, 5.0])
    np.testing.assert_array_equal(seen[1][1], [15.0, 15.0])


def test_hook_errors_and_post_accumulate_hook():
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
        eg.tensor([1.0]).register_hook(lambda g: g)
    x = f64([1.0, 2.0])
    x.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match="^hook '<lambda>' has changed the size of value$"):
        (x * 3).sum().backward()
    w = f64([1.0, 2.0])
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.numpy().copy()))
    (w * 4).sum().backward()
    np.testing.assert_array_equal(calls[0], [4.0, 4.0])
    handle.remove()
    (w * 4).sum().backward()
    assert len(calls) == 1
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        eg.tensor([1.0]).retain_grad()


def test_post_accumulate_hook_can_step_a_parameter_during_backward():
    """The optimizer-in-backward recipe: update each parameter as soon as its gradient is final."""
    model = eg.nn.Linear(3, 2).double()
    x = eg.tensor(np.ones((4, 3)))
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}

    def step(p):
        with eg.no_grad():
            p -= 0.1 * p.grad
        p.grad = None

    for p in model.parameters():
        p.register_post_accumulate_grad_hook(step)
    model(x).sum().backward()
    assert all(p.grad is None for p in model.parameters())
    np.testing.assert_allclose(model.bias.detach().numpy(), before["bias"] - 0.1 * 4, rtol=1e-15)
