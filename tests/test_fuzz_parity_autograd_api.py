"""Regression tests for the differences found by differential fuzzing of the autograd API surface against
PyTorch 2.13 (float64; the ops' formulas are fuzzed elsewhere).

What was fuzzed (a scratch fuzzer of 21 random programs, each run under eigengrad and torch and compared:
values and gradients to 1e-10, requires_grad of results, exception type and message, warnings; about 17,800
cases over the runs, the last one 21 programs x 300 seeds = 6,300 cases after the fixes): ``autograd.grad`` on
random graphs of elementwise ops, reductions, matmul, indexing and views with random requires_grad flags
(several outputs and inputs, leaf and non-leaf inputs, grad_outputs None / tensors / wrong shapes,
retain_graph, create_graph and a second-order pass, allow_unused, materialize_grads, is_grads_batched),
``Tensor.backward(gradient, inputs, retain_graph)`` repeated (accumulation, retain_grad), tensor and
post-accumulate hooks, grad modes nested around backward, error cases of grad/backward, custom Functions
(save_for_backward, needs_input_grad, set_materialize_grads, mark_non_differentiable, mark_dirty,
setup_context, once_differentiable), ``autograd.functional`` (all six, create_graph, strict, vectorize),
``torch.func`` (grad, grad_and_value with has_aux, vjp, jvp, jacrev, jacfwd, hessian, vmap with
in_dims/out_dims/chunk_size/randomness, functional_call, stack_module_state), gradcheck/gradgradcheck on a
wrong backward, module forward/backward hooks, anomaly mode, inference mode,
requires_grad_/detach_/retain_grad/.grad assignment errors.

Each test states the case and eigengrad's result before the fix, asserts literal values or messages (so
it checks something without PyTorch), and compares with PyTorch when it is importable.
"""
import warnings

import numpy as np
import pytest

import eigengrad as eg


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is needed for the parity half of this test")


def _libs():
    """eigengrad, then PyTorch: the eigengrad half runs (and asserts) before a missing PyTorch skips the rest."""
    yield eg
    yield _torch()


def f64(values, requires_grad=True):
    return eg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    raise AssertionError("no exception")


def _same_error(ours, theirs, exact=True):
    (et, em), (tt, tm) = ours, theirs
    assert issubclass(et, tt) or issubclass(tt, et) or (issubclass(et, RuntimeError) and issubclass(tt, RuntimeError))
    if exact:
        assert em == tm


# --- grad / backward argument checks -----------------------------------------------------------------
# backward(inputs=[t]) with t not requiring grad: eigengrad said "One of the differentiated Tensors does not
# require grad"; PyTorch's engine calls retain_grad() on each input, hence its message.

def test_backward_inputs_that_do_not_require_grad():
    for L in _libs():
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        c = L.tensor([3.0, 4.0], dtype=L.float64)
        with pytest.raises(RuntimeError, match="^can't retain_grad on Tensor that has requires_grad=False$"):
            (x * c).sum().backward(inputs=[c])


# The counts of outputs and gradients differ: eigengrad "grad_outputs should be a sequence of length 2 ...";
# PyTorch "got 2 tensors and 1 gradients" (and a Python number among them is a TypeError).

@pytest.mark.parametrize("case", ["grad_short", "backward_short", "number"])
def test_gradient_count_and_type_errors(case):
    def run(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        y, v = (x * 2).sum(), x * 3
        if case == "grad_short":
            return _raises(lambda: L.autograd.grad([y, v], x, [None]))
        if case == "backward_short":
            return _raises(lambda: L.autograd.backward([y, v], [None]))
        return _raises(lambda: L.autograd.grad(y, x, [1.0]))
    ours = run(eg)
    expected = {"grad_short": (RuntimeError, "got 2 tensors and 1 gradients"),
                "backward_short": (RuntimeError, "got 2 tensors and 1 gradients"),
                "number": (TypeError, "gradients can be either Tensors or None, but got float")}[case]
    assert issubclass(ours[0], expected[0]) and ours[1] == expected[1]
    _same_error(ours, run(_torch()))


# PyTorch 2.13 takes a dict of inputs (dict(model.named_parameters())): grad returns a dict with its keys and
# backward accumulates into its values; eigengrad raised TypeError.

def test_dict_inputs():
    def run(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        w = L.tensor([3.0, -1.0], dtype=L.float64, requires_grad=True)
        g = L.autograd.grad((x * w).sum(), {"x": x, "w": w})
        (x * x).sum().backward(inputs={"x": x})
        return {k: v.tolist() for k, v in g.items()}, x.grad.tolist(), w.grad
    ours = run(eg)
    assert ours == ({"x": [3.0, -1.0], "w": [1.0, 2.0]}, [2.0, 4.0], None)
    assert ours == run(_torch())


# materialize_grads under create_graph: PyTorch's zeros for an unused input require grad
# (zeros_like(input, requires_grad=create_graph)); eigengrad's did not.

def test_materialized_zeros_require_grad_under_create_graph():
    for L in _libs():
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        u = L.tensor([5.0], dtype=L.float64, requires_grad=True)
        gx, gu = L.autograd.grad((x * x).sum(), [x, u], materialize_grads=True, create_graph=True)
        assert gx.tolist() == [2.0, 4.0] and gu.tolist() == [0.0]
        assert gu.requires_grad
        _, gu = L.autograd.grad((x * x).sum(), [x, u], materialize_grads=True)
        assert not gu.requires_grad


def test_is_grads_batched_shape_message():
    for L in _libs():
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"^If `is_grads_batched=True`, we interpret the first dimension of "
                                               r"each grad_output as the batch dimension\..* grad_output\[0\] has a "
                                               r"shape of .* If you only want some tensors in `grad_output` to be "
                                               r"considered batched, consider using vmap\.$"):
            L.autograd.grad(x * 3, x, is_grads_batched=True, grad_outputs=L.ones(3, dtype=L.float64))


# --- backward(inputs=...) accumulation ---------------------------------------------------------------
# A leaf listed twice in inputs got its gradient accumulated twice; the root listed in inputs, retained,
# got its gradient stored twice (the node freed before the engine checked retain_grad): 2x PyTorch's.

def test_backward_inputs_listed_twice_and_retained_root():
    def run(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        (x * x).sum().backward(inputs=[x, x])
        z = x * 3
        z.retain_grad()
        z.backward(L.ones(2, dtype=L.float64), inputs=[x, z])
        h = x * 2
        (h * h).sum().backward(inputs=[h])  # a non-leaf input keeps retaining its gradient, as PyTorch's
        retains = h.retains_grad
        return x.grad.tolist(), z.grad.tolist(), h.grad.tolist(), retains
    ours = run(eg)
    assert ours == ([5.0, 7.0], [1.0, 1.0], [4.0, 8.0], True)
    assert ours == run(_torch())


# A retained non-leaf gradient accumulates out of place in PyTorch (its retain_grad hook adds): a reference
# kept to the first .grad keeps its value. eigengrad added in place, so the reference changed.

def test_retained_gradient_accumulates_out_of_place():
    for L in _libs():
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        z = x * 3
        z.retain_grad()
        z.sum().backward(retain_graph=True)
        first = z.grad
        z.sum().backward()
        assert first.tolist() == [1.0, 1.0] and z.grad.tolist() == [2.0, 2.0] and first is not z.grad
        leaf_grad = x.grad
        (x * 2).sum().backward()
        assert leaf_grad is x.grad  # (a leaf's .grad accumulates in place in both)


# --- freed graphs ----------------------------------------------------------------------------------------
# A second backward through nodes that saved no tensor works in PyTorch; eigengrad raised "Trying to
# backward through the graph a second time". Nodes that saved something still raise.

def test_second_backward_through_nodes_that_saved_nothing():
    def run(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        s = L.stack([L.cumsum(x, 0) - 1, -x]).mean()
        s.backward()
        s.backward()
        out = [x.grad.tolist()]
        e = L.cat([x.exp(), x + 1]).sum()
        e.backward()
        out.append(_raises(e.backward)[1][:50])
        return out
    ours = run(eg)
    assert ours == [[2.5, 2.0], "Trying to backward through the graph a second time"]
    assert ours == run(_torch())


def test_nodes_kept_for_a_second_backward_keep_no_activation_alive():
    import gc
    import weakref

    x = f64(np.ones(1000))
    h = x.exp()
    ref = weakref.ref(h)
    y = eg.cat([h + 1, h - 2]).mean()
    del h
    y.backward()
    gc.collect()
    assert ref() is None  # the kept nodes (Mean, Cat, Add, Sub) hold data-free stand-ins, not their inputs
    np.testing.assert_allclose(x.grad.numpy(), np.full(1000, np.e / 1000), rtol=1e-12)
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        y.backward()  # (through the kept nodes to Exp, which saved its output: freed, as PyTorch's)


# autograd.grad reaching a node freed by an earlier pass: eigengrad pruned the walk there and said "The
# differentiated Tensor at index 0 appears to not have been used in the graph"; PyTorch raises its "second
# time" error.

def test_grad_through_a_freed_node_raises_second_time():
    for L in _libs():
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        h = x.exp()
        y = (h * 2).sum()
        L.autograd.grad(y, h)
        with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
            L.autograd.grad(y, x)


# --- custom Functions ------------------------------------------------------------------------------------
# once_differentiable: PyTorch's DelayedError node hangs on detached copies of the outputs, so
# autograd.grad w.r.t. the Function's inputs prunes it (None with allow_unused) and only a backward() that
# runs it raises; eigengrad's node led to the inputs, so autograd.grad raised.

def _once_fn(L):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        @L.autograd.function.once_differentiable
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a
    return F


def test_once_differentiable_second_order():
    for L in _libs():
        F = _once_fn(L)
        a = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        b = L.tensor([3.0, 4.0], dtype=L.float64, requires_grad=True)
        g = L.autograd.grad((F.apply(a, b) ** 2).sum(), [a, b], create_graph=True)
        assert g[0].tolist() == [18.0, 64.0] and g[0].requires_grad
        assert L.autograd.grad(g[0].sum(), [a, b], allow_unused=True) == (None, None)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            L.autograd.grad(g[0].sum(), a)
        with pytest.raises(RuntimeError, match="^trying to differentiate twice a function that was marked with "
                                               "@once_differentiable$"):
            g[0].sum().backward()


def test_mark_dirty_on_a_leaf_message():
    for L in _libs():
        class Inc(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1.0)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad has been used in an in-place "
                                               "operation.$"):
            Inc.apply(L.tensor([1.0], dtype=L.float64, requires_grad=True))


# --- torch.func --------------------------------------------------------------------------------------------
# func.vjp: the cotangent's result kept a graph (requires_grad True) when nothing outside required grad;
# PyTorch returns plain values then, and keeps the outer graph (output and result) when there is one.

def test_func_vjp_graph_only_with_an_outer_graph():
    def run(L):
        v = L.tensor([1.0, 1.0], dtype=L.float64)
        out = []
        for x in (L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True), L.tensor([1.0, 2.0], dtype=L.float64)):
            primal, fn = L.func.vjp(lambda a: a.sin() * 2, x)
            out.append((primal.requires_grad, fn(v)[0].requires_grad))
        w = L.tensor([3.0, 4.0], dtype=L.float64, requires_grad=True)
        primal, fn = L.func.vjp(lambda a: a.sin() * w, L.tensor([1.0, 2.0], dtype=L.float64))
        out.append((primal.requires_grad, fn(v)[0].requires_grad))
        out.append(np.round(fn(v)[0].detach().numpy(), 12).tolist())
        return out
    ours = run(eg)
    assert ours[:3] == [(True, True), (False, False), (True, True)]
    np.testing.assert_allclose(ours[3], [3 * np.cos(1.0), 4 * np.cos(2.0)], rtol=1e-12)
    assert ours == run(_torch())


# vmap: a tuple out_dims raised "dim: expected an int, got tuple"; the size-mismatch message listed the
# sizes sorted instead of in argument order.

def test_vmap_out_dims_tuple_and_size_message():
    def run(L):
        B = L.arange(12.0, dtype=L.float64).reshape(4, 3)
        s, d = L.func.vmap(lambda a: (a.sum(), a * 2), out_dims=(0, 1))(B)
        one = L.ones(3, dtype=L.float64)
        p, q = L.func.vmap(lambda a, b: (a * b, b), in_dims=(0, None), out_dims=(0, None))(B, one)
        err = _raises(lambda: L.func.vmap(lambda a, b: a * b)(B, L.ones(3, dtype=L.float64)))
        return s.tolist(), tuple(d.shape), tuple(p.shape), tuple(q.shape), err
    ours = run(eg)
    assert ours[:4] == ([3.0, 12.0, 21.0, 30.0], (3, 4), (4, 3), (3,))
    assert ours[4] == (ValueError, "vmap: Expected all tensors to have the same size in the mapped dimension, got "
                                   "sizes [4, 3] for the mapped dimension")
    assert ours == run(_torch())


# --- torch.autograd.functional strict mode -------------------------------------------------------------
# Missing checks (jacobian create_graph independence, vectorize with strict, the Hessian functions'
# Jacobian/Hessian checks) and other messages than PyTorch's; each case: (function, call, message).

_STRICT = [
    ("jacobian_cg", "The jacobian of the user-provided function is independent of input 0. This is not allowed in "
                    "strict mode when create_graph=True."),
    ("jacobian_vectorize", "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported "
                           "together. Please either set `strict=False` or `vectorize=False`."),
    ("jacobian_indep", "Output 0 of the user-provided function is independent of input 1. This is not allowed in "
                       "strict mode."),
    ("hessian_linear", "While computing the hessian, found that the jacobian of the user-provided function with "
                       "respect to input 0 is independent of the input. This is not allowed in strict mode. You should "
                       "ensure that your function is twice differentiable and that the jacobian depends on the inputs "
                       "(this would be violated by a linear function for example)."),
    ("vhp_linear", "While computing the hessian, found that the jacobian of the user-provided function with respect "
                   "to input 0 is independent of the input. This is not allowed in strict mode. You should ensure that "
                   "your function is twice differentiable and that the jacobian depends on the inputs (this would be "
                   "violated by a linear function for example)."),
    ("hvp_quadratic_cg", "The hessian of the user-provided function is independent of input 0. This is not allowed in "
                         "strict mode when create_graph=True."),
    ("hessian_tuple", "The function given to hessian should return a single Tensor"),
    ("hessian_vector", "The Tensor returned by the function given to hessian should contain a single element"),
    ("vhp_vector", "The Tensor returned by the function given to vhp should contain a single element"),
    ("vjp_v_length", "v is a tuple of invalid length: should be 2 but got 1."),
    ("jvp_v_size", "v has invalid size: should be (3,) but got (2,)."),
    ("jvp_indep", "The output of the user-provided function is independent of input 1. This is not allowed in "
                  "strict mode."),
]


def _strict_call(L, case):
    AF = L.autograd.functional
    x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64)
    y = L.tensor([0.5, -1.0, 2.0], dtype=L.float64)
    calls = {
        "jacobian_cg": lambda: AF.jacobian(lambda a: a * 2, x, create_graph=True, strict=True),
        "jacobian_vectorize": lambda: AF.jacobian(lambda a: a * a, x, strict=True, vectorize=True),
        "jacobian_indep": lambda: AF.jacobian(lambda a, b: a * 2, (x, y), strict=True),
        "hessian_linear": lambda: AF.hessian(lambda a: (a * 2).sum(), x, strict=True),
        "vhp_linear": lambda: AF.vhp(lambda a: (a * 2).sum(), x, y, strict=True),
        "hvp_quadratic_cg": lambda: AF.hvp(lambda a: (a * a).sum(), x, y, create_graph=True, strict=True),
        "hessian_tuple": lambda: AF.hessian(lambda a: ((a * a).sum(),), x),
        "hessian_vector": lambda: AF.hessian(lambda a: a * a, x),
        "vhp_vector": lambda: AF.vhp(lambda a: a * a, x, y),
        "vjp_v_length": lambda: AF.vjp(lambda a: (a * 2, a * 3), x, (y,)),
        "jvp_v_size": lambda: AF.jvp(lambda a: a * 2, x, y[:2]),
        "jvp_indep": lambda: AF.jvp(lambda a, b: a * a, (x, y), (y, y), strict=True),
    }
    return _raises(calls[case])


@pytest.mark.parametrize("case,message", _STRICT, ids=[c for c, _ in _STRICT])
def test_functional_strict_and_argument_messages(case, message):
    ours = _strict_call(eg, case)
    assert issubclass(ours[0], RuntimeError) and ours[1] == message
    theirs = _strict_call(_torch(), case)
    assert theirs[1].replace("torch.Size([", "(").replace("])", ",)") == message


def test_functional_values_unchanged_by_the_rewrite():
    def run(L):
        AF = L.autograd.functional
        x = L.tensor([1.0, 2.0], dtype=L.float64)
        v = L.tensor([1.0, -1.0], dtype=L.float64)
        f = lambda a: (a ** 3).sum()  # noqa: E731
        h = AF.hessian(f, x)
        hv = AF.hvp(f, x, v)[1]
        vh = AF.vhp(f, x, v)[1]
        j = AF.jacobian(lambda a, b: a * b, (x, v))
        jv = AF.jvp(lambda a: a * a, x, v, create_graph=True)[1]
        return h.tolist(), hv.tolist(), vh.tolist(), [t.tolist() for t in j], jv.tolist(), jv.requires_grad
    ours = run(eg)
    assert ours == ([[6.0, 0.0], [0.0, 12.0]], [6.0, -12.0], [6.0, -12.0],
                    [[[1.0, 0.0], [0.0, -1.0]], [[1.0, 0.0], [0.0, 2.0]]], [2.0, -4.0], True)
    assert ours == run(_torch())


# --- gradcheck, anomaly, hooks, warnings -------------------------------------------------------------------

def test_gradcheck_mismatch_message_layout():
    def run(L):
        class Bad(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 2

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 2 * x * 1.1
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        err = _raises(lambda: L.autograd.gradcheck(Bad.apply, (x,)))
        return err[0].__name__, err[1].split("\n")
    ours = run(eg)
    assert ours[0] == "GradcheckError"
    assert ours[1][0] == "Jacobian mismatch for output 0 with respect to input 0,"
    assert ours[1][1].startswith("numerical:tensor([[2.0000, 0.0000],") and ours[1][3].startswith("analytical:tensor")
    theirs = run(_torch())
    assert theirs[0] == ours[0] and theirs[1][:2] == ours[1][:2] and theirs[1][3][:30] == ours[1][3][:30]


def test_anomaly_warns_error_detected_before_raising():
    for L in _libs():
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with L.autograd.detect_anomaly():
                y = (x * 0).sqrt().sum()
                with pytest.raises(RuntimeError, match="^Function 'MulBackward0' returned nan values in its 0th"):
                    y.backward()
        messages = [str(w.message) for w in caught]
        assert any(m.startswith("Error detected in MulBackward0. Traceback of forward call that caused the error:")
                   for m in messages)


def test_full_backward_pre_hook_alone_warns_when_no_input_requires_grad():
    for L in _libs():
        lin = L.nn.Linear(3, 2).double()
        lin.register_full_backward_pre_hook(lambda m, go: None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lin(L.ones(4, 3, dtype=L.float64)).sum().backward()
        assert any(str(w.message).startswith("Full backward hook is firing when gradients are computed with respect "
                                             "to module outputs since no inputs require gradients.") for w in caught)


def test_backward_create_graph_warns_once_per_process(monkeypatch):
    from eigengrad.autograd import differentiate

    monkeypatch.setattr(differentiate, "_WARNED_CREATE_GRAPH", [])
    x = f64([1.0, 2.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x * x).sum().backward(create_graph=True)
        (x * x).sum().backward(create_graph=True)
    texts = [str(w.message) for w in caught if "reference cycle" in str(w.message)]
    assert texts == ["Using backward() with create_graph=True will create a reference cycle between the parameter and "
                     "its gradient which can cause a memory leak. We recommend using autograd.grad when creating the "
                     "graph to avoid this. If you have to use this function, make sure to reset the .grad fields of "
                     "your parameters to None after use to break the cycle and avoid the leak."]
    assert x.grad.tolist() == [4.0, 8.0]


# --- tensor-level checks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["grad_dtype", "requires_grad_int", "detach_view"])
def test_tensor_autograd_messages(case):
    def run(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        if case == "grad_dtype":
            return _raises(lambda: setattr(x, "grad", L.ones(3, dtype=L.float32)))
        if case == "requires_grad_int":
            return _raises(lambda: L.tensor([1, 2]).requires_grad_())
        return _raises(lambda: L.ones(3)[1:].detach_())
    ours = run(eg)
    expected = {
        "grad_dtype": "attempting to assign a gradient with dtype 'float' to a tensor with grad_dtype 'Double'. The "
                      "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
                      "tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype "
                      "with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems "
                      "that assume they match.",
        "requires_grad_int": "only Tensors of floating point dtype can require gradients",
        "detach_view": "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                       "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                       "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                       "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.",
    }[case]
    assert issubclass(ours[0], RuntimeError) and ours[1] == expected
    _same_error(ours, run(_torch()))
