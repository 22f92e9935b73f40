"""Three behaviours matched to PyTorch 2.13's, each with literal expectations (so that they check without torch)
and, where torch is installed, the same cases run side by side with it:

- a slice with a negative step in an index (get or set) raises ``ValueError: step must be greater than zero``
  (NumPy would reverse); a zero step ``ValueError: slice step cannot be zero``; ``flip`` is the way to reverse;
- ``Tensor.numpy()`` and ``np.asarray(tensor)`` of a tensor that requires grad raise PyTorch's RuntimeError while
  grad mode is on; ``numpy(force=True)``, ``detach().numpy()`` and ``no_grad`` read it;
- grad_fn names: ``t()`` is ``TBackward0``, ``transpose``/``mT`` ``TransposeBackward0``, and indexing names the
  op PyTorch applies last (``SelectBackward0``, ``SliceBackward0``, ``IndexBackward0``, ``UnsqueezeBackward0``,
  ``AliasBackward0``)."""
import numpy as np
import pytest

import eigengrad as eg


def _torch():
    return pytest.importorskip("torch", reason="compares with PyTorch when it is installed")


def _outcome(fn):
    """(error type name, message) or ("ok", the result's values)."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 (the error itself is the result compared)
        return type(e).__name__, str(e)
    if isinstance(out, np.ndarray):
        return "ok", out.tolist()
    return "ok", (out.detach()._data if isinstance(out, eg.Tensor) else out.detach().numpy()).tolist()


# --- 1. negative and zero slice steps ---------------------------------------------------------------------------

NEGATIVE = "step must be greater than zero"
ZERO = "slice step cannot be zero"

# name: (index on a (3, 4) tensor, expected message)
STEP_CASES = {
    "reverse": (slice(None, None, -1), NEGATIVE),
    "start_stop_neg": (slice(5, 1, -2), NEGATIVE),
    "zero": (slice(None, None, 0), ZERO),
    "in_tuple": ((0, slice(None, None, -1)), NEGATIVE),
    "with_list": (([0, 1], slice(None, None, -2)), NEGATIVE),
    "none_ellipsis": ((None, Ellipsis, slice(None, None, -1)), NEGATIVE),
    "zero_in_tuple": ((slice(None), slice(1, 3, 0)), ZERO),
    "numpy_step": (slice(None, None, np.int64(-1)), NEGATIVE),
}


@pytest.mark.parametrize("name", list(STEP_CASES))
def test_negative_and_zero_steps_raise_as_pytorch(name):
    index, message = STEP_CASES[name]
    x = eg.arange(12.0).view(3, 4)
    with pytest.raises(ValueError) as info:
        x[index]
    assert str(info.value) == message and type(info.value) is ValueError
    with pytest.raises(ValueError) as info:
        x[index] = 1.0
    assert str(info.value) == message
    np.testing.assert_array_equal(x._data, np.arange(12.0).reshape(3, 4))  # nothing written


def test_negative_step_raises_with_tensor_steps_and_through_the_integer_split():
    x = eg.arange(12.0).view(3, 4)
    with pytest.raises(ValueError, match=f"^{NEGATIVE}$"):
        x[::eg.tensor(-1)]
    with pytest.raises(ValueError, match=f"^{NEGATIVE}$"):
        x[eg.tensor(0), ::-1]  # (a 0-d tensor selects first, then the slice)
    with pytest.raises(TypeError, match="^slice indices must be integers or None or have an __index__ method$"):
        x[::1.5]
    with pytest.raises(RuntimeError, match="^slice step must be positive$"):
        eg.slice_copy(x, 0, 0, 3, -1)


def test_positive_steps_and_flip_still_work():
    x = eg.arange(12.0).view(3, 4)
    np.testing.assert_array_equal(x[::2]._data, [[0, 1, 2, 3], [8, 9, 10, 11]])
    np.testing.assert_array_equal(x[-2:, 1::2]._data, [[5, 7], [9, 11]])
    np.testing.assert_array_equal(x.flip(0)._data, np.arange(12.0).reshape(3, 4)[::-1])
    np.testing.assert_array_equal(eg.flip(x, [0, 1])._data, np.arange(12.0).reshape(3, 4)[::-1, ::-1])
    y = eg.zeros(5)
    y[1::2] = 1.0
    np.testing.assert_array_equal(y._data, [0, 1, 0, 1, 0])


@pytest.mark.parametrize("name", list(STEP_CASES))
def test_steps_match_torch(name):
    torch = _torch()
    index, _ = STEP_CASES[name]
    got = _outcome(lambda: eg.arange(12.0).view(3, 4)[index])
    want = _outcome(lambda: torch.arange(12.0).view(3, 4)[index])
    assert got == want

    def write(lib):
        t = lib.zeros(3, 4)
        t[index] = 1.0
        return t

    assert _outcome(lambda: write(eg)) == _outcome(lambda: write(torch))


# --- 2. numpy() of a tensor that requires grad --------------------------------------------------------------------

NUMPY_MESSAGE = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."


def _conversions():
    return {
        "numpy": lambda t: t.numpy(),
        "asarray": lambda t: np.asarray(t),
        "array": lambda t: np.array(t),
        "asarray_dtype": lambda t: np.asarray(t, dtype=np.float64),
        "array_of_elements": lambda t: np.array([t[0], t[1]]),
    }


@pytest.mark.parametrize("kind", list(_conversions()))
def test_numpy_of_a_tensor_that_requires_grad_raises(kind):
    convert = _conversions()[kind]
    for t in (eg.tensor([1.0, 2.0, 3.0], requires_grad=True), eg.nn.Parameter(eg.ones(3)),
              eg.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2):
        with pytest.raises(RuntimeError) as info:
            convert(t)
        assert str(info.value) == NUMPY_MESSAGE
    with eg.no_grad():  # (PyTorch's check is on requires_grad and grad mode both)
        np.testing.assert_array_equal(convert(eg.tensor([1.0, 2.0, 3.0], requires_grad=True)), [1.0, 2.0, 3.0][
            :2 if kind == "array_of_elements" else 3])
    np.testing.assert_array_equal(convert(eg.tensor([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0][
        :2 if kind == "array_of_elements" else 3])


def test_numpy_force_and_detach_read_a_tensor_that_requires_grad():
    x = eg.tensor([1.0, 2.0], requires_grad=True)
    forced = x.numpy(force=True)
    assert isinstance(forced, np.ndarray) and forced.tolist() == [1.0, 2.0]
    assert np.shares_memory(forced, x._data) and np.shares_memory(x.detach().numpy(), x._data)
    with pytest.raises(TypeError):
        x.numpy(True)  # (keyword-only, as PyTorch's)
    # what reads values without numpy() keeps working: printing, tolist, item, pickling
    assert repr(x) == "tensor([1., 2.], requires_grad=True)" and x.tolist() == [1.0, 2.0] and x[1].item() == 2.0
    import pickle

    assert pickle.loads(pickle.dumps(x)).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kind", list(_conversions()))
def test_numpy_of_grad_tensor_matches_torch(kind):
    torch = _torch()
    convert = _conversions()[kind]
    got = _outcome(lambda: np.asarray(convert(eg.tensor([1.0, 2.0, 3.0], requires_grad=True))))
    want = _outcome(lambda: np.asarray(convert(torch.tensor([1.0, 2.0, 3.0], requires_grad=True))))
    assert got[0] == want[0] == "RuntimeError" and got == want
    assert _outcome(lambda: eg.tensor([1.0], requires_grad=True).numpy(force=True)) == \
        _outcome(lambda: torch.tensor([1.0], requires_grad=True).numpy(force=True)) == ("ok", [1.0])


def test_sklearn_layers_read_weights_that_require_grad():
    pytest.importorskip("sklearn", reason="the scikit-learn wrappers need scikit-learn")
    from eigengrad.sklearn import MLPRegressor

    X = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, X[:, 0])
    assert [c.shape for c in model.coefs_] == [(3, 4), (4, 1)]


# --- 3. grad_fn names -------------------------------------------------------------------------------------------

# name: (op on x (3, 4), z (2, 3, 4) that require grad, PyTorch 2.13's grad_fn.name())
NAME_CASES = {
    "t": (lambda L, x, z: x.t(), "TBackward0"),
    "torch_t": (lambda L, x, z: L.t(x), "TBackward0"),
    "t_1d": (lambda L, x, z: x[0].t(), "TBackward0"),
    "T": (lambda L, x, z: x.T, "PermuteBackward0"),
    "mT": (lambda L, x, z: z.mT, "TransposeBackward0"),
    "transpose": (lambda L, x, z: x.transpose(0, 1), "TransposeBackward0"),
    "swapaxes": (lambda L, x, z: z.swapaxes(0, 2), "TransposeBackward0"),
    "permute": (lambda L, x, z: z.permute(2, 0, 1), "PermuteBackward0"),
    "int": (lambda L, x, z: x[0], "SelectBackward0"),
    "negative_int": (lambda L, x, z: x[-1], "SelectBackward0"),
    "slice": (lambda L, x, z: x[1:3], "SliceBackward0"),
    "whole_slice": (lambda L, x, z: x[:], "SliceBackward0"),
    "int_slice": (lambda L, x, z: x[0, 1:3], "SliceBackward0"),
    "slice_int": (lambda L, x, z: x[1:3, 0], "SelectBackward0"),
    "colon_int": (lambda L, x, z: x[:, 1], "SelectBackward0"),
    "int_int": (lambda L, x, z: x[0, 1], "SelectBackward0"),
    "colon_colon": (lambda L, x, z: x[:, :], "AliasBackward0"),
    "whole_range": (lambda L, x, z: x[0:3, 0:100], "AliasBackward0"),
    "ellipsis": (lambda L, x, z: x[...], "AliasBackward0"),
    "ellipsis_int": (lambda L, x, z: z[..., 1], "SelectBackward0"),
    "ellipsis_slice": (lambda L, x, z: z[..., 1:3], "SliceBackward0"),
    "none": (lambda L, x, z: x[None], "UnsqueezeBackward0"),
    "slice_none": (lambda L, x, z: x[1:, None], "UnsqueezeBackward0"),
    "none_slice": (lambda L, x, z: x[None, 1:], "SliceBackward0"),
    "list": (lambda L, x, z: x[[0, 2]], "IndexBackward0"),
    "int_list": (lambda L, x, z: z[0, [1, 2]], "IndexBackward0"),
    "list_int": (lambda L, x, z: x[[0, 1], 0], "IndexBackward0"),
    "mask": (lambda L, x, z: x[x > 0], "IndexBackward0"),
    "true": (lambda L, x, z: x[True], "IndexBackward0"),
    "triple": (lambda L, x, z: z[0, 1:3, 2], "SelectBackward0"),
    "narrow": (lambda L, x, z: x.narrow(1, 0, 4), "SliceBackward0"),
    "select": (lambda L, x, z: x.select(1, 2), "SelectBackward0"),
    "unbind": (lambda L, x, z: x.unbind(0)[1], "UnbindBackward0"),
}


def _leaves(lib):
    x = lib.arange(12.0).view(3, 4).requires_grad_()
    z = (lib.arange(24.0).view(2, 3, 4) - 10).requires_grad_()
    return x, z


@pytest.mark.parametrize("name", list(NAME_CASES))
def test_grad_fn_names_are_pytorch(name):
    op, want = NAME_CASES[name]
    x, z = _leaves(eg)
    y = op(eg, x, z)
    assert y.grad_fn.name() == want and f"grad_fn=<{want}>" in repr(y)
    y.sum().backward()  # the name stays once backward freed the graph; the gradient is the same as before
    assert y.grad_fn.name() == want
    grad = (x if x.grad is not None else z).grad
    assert float(grad.sum()) == float(y.numel())


def test_index_gradients_are_unchanged():
    x, z = _leaves(eg)
    (x[0, 1:3].sum() + x[[0, 0], 1].sum() * 2 + x.t()[1].sum() * 10).backward()
    np.testing.assert_array_equal(x.grad._data, [[0, 15, 1, 0], [0, 10, 0, 0], [0, 10, 0, 0]])


@pytest.mark.parametrize("name", list(NAME_CASES))
def test_grad_fn_names_match_torch(name):
    torch = _torch()
    op, want = NAME_CASES[name]
    got = op(eg, *_leaves(eg)).grad_fn.name()
    assert got == op(torch, *_leaves(torch)).grad_fn.name() == want
