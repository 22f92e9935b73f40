"""The ``requires_grad`` attribute setter and ``requires_grad_`` on leaves and non-leaves, as PyTorch 2.13.

Expected values and messages are PyTorch's, written out (checked side by side with torch 2.13.0+cpu), so
these tests run without torch.
"""
import copy
import pickle

import pytest

import eigengrad as eg

# PyTorch's requires_grad_leaf_error(True) and requires_grad_leaf_error(False)
LEAF_ERROR = "you can only change requires_grad flags of leaf variables."
LEAF_ERROR_OFF = (LEAF_ERROR + " If you want to use a computed variable in a subgraph that doesn't require "
                  "differentiation use var_no_grad = var.detach().")


def _non_leaf():
    x = eg.ones(3, requires_grad=True)
    return x, x * 2


def test_setter_false_on_non_leaf_raises_pytorch_message():
    _, h = _non_leaf()
    with pytest.raises(RuntimeError) as info:
        h.requires_grad = False
    assert str(info.value) == LEAF_ERROR_OFF
    assert h.requires_grad is True and h.is_leaf is False and h.grad_fn is not None


def test_setter_true_on_non_leaf_raises_too():
    # torch refuses the setter on any non-leaf, even when the value would not change (short message)
    _, h = _non_leaf()
    with pytest.raises(RuntimeError) as info:
        h.requires_grad = True
    assert str(info.value) == LEAF_ERROR
    assert h.requires_grad is True and h.is_leaf is False


def test_requires_grad_method_on_non_leaf():
    _, h = _non_leaf()
    with pytest.raises(RuntimeError) as info:
        h.requires_grad_(False)
    assert str(info.value) == LEAF_ERROR_OFF
    assert h.requires_grad_(True) is h  # accepted by torch: the non-leaf already requires grad
    assert h.requires_grad is True and h.is_leaf is False


def test_non_leaf_view_setter_raises():
    x = eg.ones(3, requires_grad=True)
    v = x[1:]  # a view made with grad mode on is a non-leaf
    with pytest.raises(RuntimeError) as info:
        v.requires_grad = False
    assert str(info.value) == LEAF_ERROR_OFF


def test_setter_on_leaves_keeps_working():
    t = eg.ones(3)
    t.requires_grad = True
    assert t.requires_grad is True and t.is_leaf is True
    t.requires_grad = False
    assert t.requires_grad is False and t.is_leaf is True
    p = eg.nn.Parameter(eg.ones(2))
    p.requires_grad = False
    assert p.requires_grad is False
    with eg.no_grad():
        z = eg.ones(3, requires_grad=True) * 2  # made without recording: a leaf
    z.requires_grad = True
    assert z.requires_grad is True and z.is_leaf is True
    d = eg.ones(3, requires_grad=True).detach()
    d.requires_grad = True
    assert d.requires_grad is True and d.is_leaf is True


def test_setter_leaf_then_backward():
    t = eg.ones(3)
    t.requires_grad = True
    (t * 3).sum().backward()
    assert t.grad.tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("value", [1, 0, None])
def test_setter_needs_a_bool(value):
    # checked before the leaf check, as torch
    x, h = _non_leaf()
    for t in (x, h):
        with pytest.raises(RuntimeError) as info:
            t.requires_grad = value
        assert str(info.value) == "requires_grad must be a bool"
    assert x.requires_grad is True


def test_setter_true_on_integer_tensor_raises():
    # torch: RuntimeError "only Tensors of floating point and complex dtype can require gradients"; eigengrad's
    # requires_grad_ check (its own wording, an error that is both a RuntimeError and a TypeError)
    t = eg.ones(3, dtype=eg.int64)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        t.requires_grad = True
    assert t.requires_grad is False
    t.requires_grad = False  # turning it off stays allowed, as torch


def test_flag_survives_pickle_and_deepcopy():
    t = eg.ones(3)
    t.requires_grad = True
    assert pickle.loads(pickle.dumps(t)).requires_grad is True
    assert copy.deepcopy(t).requires_grad is True
    _, h = _non_leaf()
    h2 = pickle.loads(pickle.dumps(h))  # a non-leaf's flag is restored without the setter's leaf check
    assert h2.requires_grad is True


def test_detach_makes_a_settable_leaf():
    _, h = _non_leaf()
    h.detach_()
    assert h.requires_grad is False and h.is_leaf is True
    h.requires_grad = True
    assert h.requires_grad is True


def _no_grad_view_of_non_leaf():
    x = eg.ones(3, requires_grad=True)
    y = x * 1
    with eg.no_grad():
        return y[1:]


def test_view_made_in_no_grad_is_a_leaf_without_grad_fn():
    v = _no_grad_view_of_non_leaf()
    assert v.is_leaf is True  # torch 2.13: True
    assert v.grad_fn is None  # torch 2.13: None
