"""Regressions from porting six more PyTorch programs (tests/ported/: siamese_network, spatial_transformer,
fgsm_adversarial, neural_style_lbfgs, gat_node_classification, pinn_oscillator), each checked side by side
with PyTorch. What was found and fixed:

- ``F.affine_grid``/``F.grid_sample`` with ``align_corners`` left at None: PyTorch warns that the default
  changed to False in 1.3.0 (the Spatial Transformer tutorial shows it); eigengrad was silent.
- ``torch.tensor(a_tensor)`` (the style-transfer tutorial's ``Normalization`` does it): PyTorch warns that
  ``detach().clone()`` is the way; eigengrad was silent. ``asarray(t, copy=True)`` stays silent in both.
- Reading ``.grad`` of a non-leaf tensor that does not retain its gradient (the FGSM mistake of attacking a
  computed tensor): PyTorch warns that it will never be filled; eigengrad returned None silently.
- ``Tensor.numpy(force=True)`` (modern code's way of saying detach().cpu().numpy()) was a TypeError.
- ``torch.func.vmap``'s ``randomness``: eigengrad always drew different numbers per index; PyTorch's
  default 'error' refuses a random draw inside the map, 'same' gives every index the same numbers and an
  unknown mode is an error at once.
- ``torch.clamp(t)`` with neither bound: PyTorch's message starts ``torch.clamp:``.
- ``torch.func.jacrev``/``jacfwd``/``hessian`` with respect to a dict of parameters (the Neural Tangent
  Kernel tutorial's ``vmap(jacrev(fnet_single), (None, 0))(params, x)``): an AttributeError; now the
  Jacobian of each output tensor is the argument's tree of blocks, as PyTorch's.
- ``float(t)`` of a tensor that requires grad (``total += float(loss)``): PyTorch warns once per process
  (with grad mode on) that the conversion may lead to unexpected behaviour; eigengrad was silent.
- ``detect_anomaly``'s NaN-gradient error named the node ``SqrtBackward``; PyTorch's (and eigengrad's own
  ``grad_fn.name()``) is ``SqrtBackward0``.
- A tensor's repr showed ``grad_fn=<MulBackward>``; PyTorch's is ``grad_fn=<MulBackward0>`` (what tutorials
  print for a loss), and for a custom Function ``grad_fn=<MyReLUBackward>``, whose ``grad_fn.name()`` was a
  plain string in eigengrad (``'str' object is not callable``).
- ``autograd.grad``/``backward(inputs=...)`` when neither the output nor the input requires grad: PyTorch
  checks the outputs first (``element 0 of tensors does not require grad ...``); eigengrad named the input.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch")
F = eg.nn.functional

ALIGN_WARNING = "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0"


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught]


# --- affine_grid / grid_sample: the default-align_corners warning -------------------------------------------

def test_affine_grid_and_grid_sample_warn_when_align_corners_is_left_out():
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]], dtype=np.float32)
    image = np.arange(2 * 5 * 6, dtype=np.float32).reshape(1, 2, 5, 6) / 10
    grid, messages = _caught(lambda: F.affine_grid(eg.tensor(theta), (1, 2, 5, 6)))
    assert len(messages) == 1 and messages[0].startswith(ALIGN_WARNING)
    out, messages = _caught(lambda: F.grid_sample(eg.tensor(image), grid))
    assert len(messages) == 1 and messages[0].startswith(ALIGN_WARNING)
    # the default is align_corners=False, as PyTorch's, values included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_grid = torch.nn.functional.affine_grid(torch.tensor(theta), [1, 2, 5, 6])
        expected = torch.nn.functional.grid_sample(torch.tensor(image), t_grid)
    np.testing.assert_allclose(grid.numpy(), t_grid.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_grid_sample_are_quiet_when_align_corners_is_given(align_corners):
    theta = eg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    image = eg.arange(16.0).reshape(1, 1, 4, 4)
    (grid, out), messages = _caught(lambda: (
        g := F.affine_grid(theta, (1, 1, 4, 4), align_corners=align_corners),
        F.grid_sample(image, g, align_corners=align_corners)))
    assert messages == []
    np.testing.assert_allclose(out.numpy(), image.numpy(), atol=1e-5)  # the identity transform


# --- torch.tensor(tensor) ------------------------------------------------------------------------------------

def test_tensor_of_a_tensor_warns_and_copies_detached():
    source = eg.tensor([1.0, 2.0], requires_grad=True) * 3
    copy, messages = _caught(lambda: eg.tensor(source))
    assert messages == ["To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                        "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor)."]
    assert copy.tolist() == [3.0, 6.0] and not copy.requires_grad and copy.grad_fn is None
    copy.add_(1.0)
    assert source.tolist() == [3.0, 6.0]  # a copy, not a view


def test_tensor_of_numbers_and_asarray_copy_stay_quiet():
    (a, b), messages = _caught(lambda: (eg.tensor([1.0, 2.0]), eg.asarray(eg.ones(2), copy=True)))
    assert messages == []
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [1.0, 1.0]


# --- .grad on a non-leaf tensor ------------------------------------------------------------------------------

def test_grad_of_a_non_leaf_warns_as_pytorch():
    x = eg.tensor([1.0, -2.0], requires_grad=True)
    y = x * 2
    (y ** 2).sum().backward()
    grad, messages = _caught(lambda: y.grad)
    assert grad is None
    assert len(messages) == 1
    assert messages[0].startswith("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed.")
    assert "use .retain_grad() on the non-leaf Tensor" in messages[0]
    assert x.grad.tolist() == [8.0, -16.0]


def test_grad_is_quiet_for_leaves_retained_non_leaves_and_untracked_results():
    x = eg.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    with eg.no_grad():
        untracked = x * 2
    (y * y).sum().backward()
    grads, messages = _caught(lambda: (x.grad, y.grad, untracked.grad, y.detach().grad, eg.ones(2).grad))
    assert messages == []
    assert grads[0].tolist() == [18.0, -36.0] and grads[1].tolist() == [6.0, -12.0]
    assert grads[2:] == (None, None, None)


# --- Tensor.numpy(force=True) --------------------------------------------------------------------------------

def test_numpy_force_gives_the_values_of_a_tensor_that_requires_grad():
    x = eg.tensor([1.5, -2.0], requires_grad=True) * 2
    expected = (torch.tensor([1.5, -2.0], requires_grad=True) * 2).numpy(force=True)
    got = x.numpy(force=True)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(TypeError):
        x.numpy(True)  # keyword-only, as PyTorch's


# --- func.vmap's randomness ----------------------------------------------------------------------------------

def _dropout_rows(lib, randomness):
    lib.manual_seed(0)
    return lib.func.vmap(lambda row: lib.nn.functional.dropout(row, 0.5), randomness=randomness)(lib.ones(4, 6))


def test_vmap_refuses_random_draws_by_default():
    for lib in (torch, eg):
        with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
            lib.func.vmap(lambda row: row + lib.rand(()))(lib.ones(3))
        g = lib.Generator().manual_seed(1)
        with pytest.raises(RuntimeError, match="randomness error mode"):
            lib.func.vmap(lambda row: row * lib.rand((), generator=g), randomness="error")(lib.ones(3))
    # a map without draws is unaffected (dropout in eval mode draws nothing)
    assert eg.func.vmap(eg.nn.Dropout(0.5).eval())(eg.ones(2, 3)).tolist() == [[1.0] * 3] * 2


def test_vmap_same_randomness_gives_every_index_the_same_numbers():
    out = _dropout_rows(eg, "same").numpy()
    assert (out == out[0]).all() and set(np.unique(out)) <= {0.0, 2.0} and 0 < out[0].sum() < 12
    # and the stream moves on as after a single draw (PyTorch's too)
    for lib in (torch, eg):
        lib.manual_seed(3)
        lib.func.vmap(lambda v: v + lib.rand(()), randomness="same")(lib.ones(5))
        after_map = lib.rand(2).tolist()
        lib.manual_seed(3)
        lib.rand(())
        assert lib.rand(2).tolist() == after_map


def test_vmap_different_randomness_draws_per_index():
    out = _dropout_rows(eg, "different").numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert len({tuple(row) for row in out}) > 1


def test_vmap_unknown_randomness_is_refused_at_once():
    for lib in (torch, eg):
        with pytest.raises(RuntimeError, match="Only allowed values for randomness are 'error', 'different', or "
                                               "'same'. Got sometimes"):
            lib.func.vmap(lambda v: v, randomness="sometimes")


# --- clamp's message ---------------------------------------------------------------------------------------

def test_clamp_without_bounds_names_torch_clamp():
    for call in (lambda: eg.clamp(eg.ones(2)), lambda: eg.ones(2).clamp_(), lambda: eg.ones(2).clip()):
        with pytest.raises(RuntimeError, match=r"^torch\.clamp: At least one of 'min' or 'max' must not be None$"):
            call()


# --- func.jacrev / hessian over pytrees ----------------------------------------------------------------------

def _ntk_setup(lib):
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    rs = np.random.RandomState(0)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rs.randn(*p.shape).astype(np.float32)))
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = lib.tensor(rs.randn(5, 3).astype(np.float32))

    def fnet_single(params, x):
        return lib.func.functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)
    return params, x, fnet_single


def test_jacrev_of_a_dict_of_parameters_matches_pytorch():
    results = []
    for lib in (torch, eg):
        params, x, fnet_single = _ntk_setup(lib)
        per_sample = lib.func.vmap(lib.func.jacrev(fnet_single), (None, 0))(params, x)
        both_args = lib.func.jacrev(fnet_single, argnums=(0, 1))(params, x[0])
        results.append((per_sample, both_args))
    (t_jac, t_both), (e_jac, e_both) = results
    assert list(e_jac) == list(t_jac) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name in t_jac:
        assert tuple(e_jac[name].shape) == tuple(t_jac[name].shape)  # (5, 2) + the parameter's shape
        np.testing.assert_allclose(e_jac[name].numpy(), t_jac[name].detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e_both[0][name].numpy(), t_both[0][name].detach().numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(e_both, tuple) and tuple(e_both[1].shape) == (2, 3)
    np.testing.assert_allclose(e_both[1].numpy(), t_both[1].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_hessian_of_a_dict_is_a_dict_of_dicts_and_tuple_outputs_keep_their_structure():
    results = []
    for lib in (torch, eg):
        params, x, fnet_single = _ntk_setup(lib)
        sub = {"0.bias": params["0.bias"], "2.bias": params["2.bias"]}
        hess = lib.func.hessian(lambda p: fnet_single({**params, **p}, x[0]).pow(2).sum())(sub)
        pair = lib.func.jacrev(lambda p: (fnet_single({**params, **p}, x[0]), fnet_single({**params, **p}, x[1]).sum()))(
            {"2.bias": params["2.bias"]})
        results.append((hess, pair))
    (t_hess, t_pair), (e_hess, e_pair) = results
    for a in ("0.bias", "2.bias"):
        for b in ("0.bias", "2.bias"):
            assert tuple(e_hess[a][b].shape) == tuple(t_hess[a][b].shape)
            np.testing.assert_allclose(e_hess[a][b].numpy(), t_hess[a][b].detach().numpy(), rtol=1e-4, atol=1e-5)
    assert isinstance(e_pair, tuple) and len(e_pair) == 2
    assert tuple(e_pair[0]["2.bias"].shape) == (2, 2) and tuple(e_pair[1]["2.bias"].shape) == (2,)
    np.testing.assert_allclose(e_pair[0]["2.bias"].numpy(), np.eye(2), atol=1e-6)  # d out / d bias = I
    np.testing.assert_allclose(e_pair[1]["2.bias"].numpy(), [1.0, 1.0], atol=1e-6)


def test_jacrev_of_a_tensor_is_unchanged():
    f = lambda x: x.sin() * 2  # noqa: E731
    x = np.array([0.1, -0.7, 1.3], dtype=np.float32)
    np.testing.assert_allclose(eg.func.jacrev(f)(eg.tensor(x)).numpy(), np.diag(2 * np.cos(x)), rtol=1e-6)


# --- autograd.grad / backward: the outputs are checked first -------------------------------------------------

def test_grad_and_backward_name_the_output_first_as_pytorch():
    plain = eg.ones(2)
    with pytest.raises(RuntimeError, match=r"^element 0 of tensors does not require grad and does not have a "
                                           r"grad_fn$"):
        eg.autograd.grad((plain * 2).sum(), plain)
    with pytest.raises(RuntimeError, match=r"^element 0 of tensors does not require grad"):
        (plain * 2).sum().backward(inputs=[plain])
    tracked = eg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^One of the differentiated Tensors does not require grad$"):
        eg.autograd.grad((tracked * 2).sum(), plain)
    assert eg.autograd.grad((tracked * 3).sum(), tracked)[0].tolist() == [3.0, 3.0]


# --- float() of a tensor that requires grad ------------------------------------------------------------------

def test_float_of_a_tensor_that_requires_grad_warns_once(monkeypatch):
    import sys
    monkeypatch.setattr(sys.modules["eigengrad.tensor"], "_WARNED_FLOAT_OF_GRAD", [False])
    a = eg.ones(2, requires_grad=True)
    loss = (a * 2).sum()
    (quiet, under_no_grad), messages = _caught(lambda: (float(loss.detach()), _float_without_grad(loss)))
    assert messages == [] and quiet == under_no_grad == 4.0
    (first, second), messages = _caught(lambda: (float(loss), float(a[0])))
    assert (first, second) == (4.0, 1.0)
    assert messages == ["Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                        "Consider using tensor.detach() first."]
    (value, number), messages = _caught(lambda: (loss.item(), int(loss)))
    assert messages == [] and value == 4.0 and number == 4


def _float_without_grad(t) -> float:
    with eg.no_grad():
        return float(t)


# --- detect_anomaly names the node as grad_fn.name() -----------------------------------------------------------

def test_anomaly_error_names_the_backward_node_as_pytorch():
    messages = []
    for lib in (torch, eg):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with lib.autograd.detect_anomaly(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = (x.sqrt() * 0).sum()
            with pytest.raises(RuntimeError) as info:
                y.backward()
        messages.append(str(info.value))
        assert (x.sqrt()).grad_fn.name() == "SqrtBackward0"
    expected = "Function 'SqrtBackward0' returned nan values in its 0th output"
    assert messages[0].startswith(expected) and messages[1].startswith(expected)


# --- grad_fn names in reprs and of custom Functions -------------------------------------------------------------

def _custom_functions(lib):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * (x > 0)

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            return a * 2 + b * 3
    return MyReLU, Two


def test_reprs_and_node_names_are_pytorchs():
    seen = []
    for lib in (torch, eg):
        MyReLU, Two = _custom_functions(lib)
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        relu, (double, triple) = MyReLU.apply(x), Two.apply(x)
        seen.append((repr((x * 2).mean()), repr(x * 1), repr(relu), relu.grad_fn.name(), repr(double),
                     triple.grad_fn.name()))
        (relu.sum() + double.sum() + triple.sum()).backward()
        assert x.grad.tolist() == [6.0, 5.0]
    assert seen[1] == seen[0] == ("tensor(-1., grad_fn=<MeanBackward0>)", "tensor([ 1., -2.], grad_fn=<MulBackward0>)",
                                  "tensor([1., 0.], grad_fn=<MyReLUBackward>)", "MyReLUBackward",
                                  "tensor([ 2., -4.], grad_fn=<TwoBackward>)", "TwoBackward")
