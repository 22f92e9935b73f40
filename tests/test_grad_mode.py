"""no_grad, enable_grad, set_grad_enabled, inference_mode: context managers, decorators (also on
generator functions and without parentheses), thread-locality, PyTorch's behaviour."""
import threading

import numpy as np
import pytest

import eigengrad as eg


def leaf():
    return eg.tensor(np.array([1.0, 2.0]), requires_grad=True)


def test_context_managers_nest_and_restore():
    x = leaf()
    with eg.no_grad():
        assert not (x * 2).requires_grad
        with eg.enable_grad():
            assert (x * 2).requires_grad
        assert not eg.is_grad_enabled()
    assert eg.is_grad_enabled() and (x * 2).requires_grad
    with pytest.raises(ValueError):
        with eg.no_grad():
            raise ValueError("boom")
    assert eg.is_grad_enabled()  # restored after an exception


@pytest.mark.parametrize("decorate", [lambda f: eg.no_grad()(f), lambda f: eg.no_grad(f),
                                      lambda f: eg.inference_mode()(f), lambda f: eg.inference_mode(f),
                                      lambda f: eg.set_grad_enabled(False)(f)],
                         ids=["no_grad()", "no_grad", "inference_mode()", "inference_mode", "set_grad_enabled"])
def test_decorators_with_and_without_parentheses(decorate):
    x = leaf()

    @decorate
    def double(t):
        """Doc kept."""
        return t * 2

    assert eg.is_grad_enabled()  # decorating does not change the mode (set_grad_enabled included)
    assert not double(x).requires_grad and double.__doc__ == "Doc kept."
    assert eg.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad():
    x = leaf()

    @eg.enable_grad
    def double(t):
        return t * 2

    with eg.no_grad():
        assert double(x).requires_grad
        assert not (x * 2).requires_grad


def test_generator_function_runs_each_step_in_the_mode():
    x = leaf()

    @eg.no_grad()
    def gen(n):
        for _ in range(n):
            received = yield (x * 2).requires_grad, eg.is_grad_enabled()
            assert received in (None, "ping")
        return "done"

    g = gen(3)
    assert next(g) == (False, False)
    assert eg.is_grad_enabled()  # the caller's mode between steps
    assert (x * 2).requires_grad
    assert g.send("ping") == (False, False)
    assert next(g) == (False, False)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"


def test_set_grad_enabled_as_a_call_and_a_context():
    x = leaf()
    try:
        eg.set_grad_enabled(False)
        assert not (x * 2).requires_grad
        with eg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not eg.is_grad_enabled()
    finally:
        eg.set_grad_enabled(True)
    with pytest.raises(TypeError, match="mode: expected a bool"):
        eg.set_grad_enabled("yes")


def test_grad_mode_is_thread_local():
    seen = []

    def worker():
        seen.append(eg.is_grad_enabled())

    with eg.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [True]


def test_inference_mode_marks_outputs_and_refuses_later_inplace():
    x = leaf()
    assert not eg.is_inference_mode_enabled()
    with eg.inference_mode():
        assert eg.is_inference_mode_enabled() and not eg.is_grad_enabled()
        y = x * 2
        y.add_(1)  # allowed inside the mode
        assert y.is_inference() and not y.requires_grad
        with eg.inference_mode(False):
            assert not eg.is_inference_mode_enabled() and eg.is_grad_enabled()
    assert not x.is_inference() and not (x * 2).is_inference()
    with eg.no_grad():
        assert not (x * 2).is_inference()
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode is not allowed"):
        y.add_(1)
    with pytest.raises(RuntimeError, match="Setting requires_grad=True on inference tensor outside InferenceMode"):
        y.requires_grad_()
    z = y * x  # eigengrad accepts an inference tensor in a recorded op (PyTorch refuses when it is saved)
    assert z.requires_grad


@pytest.mark.parametrize("make", [lambda: eg.zeros(2), lambda: eg.tensor([1.0]), lambda: eg.from_numpy(np.ones(2)),
                                  lambda: eg.as_tensor([1.0, 2.0]), lambda: eg.arange(3), lambda: eg.randn(2),
                                  lambda: eg.empty(2), lambda: eg.Tensor(2), lambda: eg.zeros_like(eg.ones(2)),
                                  lambda: eg.ones(2, requires_grad=True)],
                         ids=["zeros", "tensor", "from_numpy", "as_tensor", "arange", "randn", "empty", "Tensor",
                              "zeros_like", "requires_grad"])
def test_factories_inside_inference_mode_make_inference_tensors(make):
    """PyTorch: every tensor made inside inference_mode is an inference tensor, factories' too."""
    assert not make().is_inference()
    with eg.inference_mode():
        t = make()
        assert t.is_inference()
        t.add_(1)  # allowed inside the mode
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode is not allowed"):
        t.add_(1)
    x = eg.ones(2)
    with eg.inference_mode():
        assert not eg.as_tensor(x).is_inference()  # the same tensor, not a new one


def test_backward_runs_hooks_in_grad_mode_create_graph():
    x = leaf()
    modes = []
    y = x * x
    y.register_hook(lambda g: modes.append(eg.is_grad_enabled()))
    y.sum().backward(retain_graph=True)
    y.sum().backward(create_graph=True)
    assert modes == [False, True]  # PyTorch runs backward with grad mode = create_graph
    assert eg.is_grad_enabled()
