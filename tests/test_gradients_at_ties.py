"""Gradients where a function has a tie, a kink or a 0/0, as PyTorch defines them (each was once different
here): median() of all elements shares its gradient among the elements equal to it, fmax/fmin give a tie
to the first argument, atan2 at the origin has zero gradients, and an NLL/cross-entropy mean over rows that
are all ignored is NaN with a zero gradient. Values are asserted directly; torch (when installed) agrees."""
import numpy as np
import pytest

import eigengrad as eg

CASES = {
    "median ties": (lambda m, a: a.median(), [np.array([1.0, 1.0, 2.0, 0.0])], [[0.5, 0.5, 0.0, 0.0]]),
    "nanmedian ties": (lambda m, a: a.nanmedian(), [np.array([1.0, np.nan, 1.0])], [[0.5, 0.0, 0.5]]),
    "median of NaN": (lambda m, a: a.median(), [np.array([1.0, np.nan, np.nan])], [[0.0, 0.5, 0.5]]),
    "fmax tie": (lambda m, a, b: m.fmax(a, b), [np.array([1.0, 2.0, np.nan]), np.array([1.0, 1.0, 3.0])],
                 [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    "fmin tie": (lambda m, a, b: m.fmin(a, b), [np.array([1.0, 2.0, 1.0]), np.array([1.0, 1.0, np.nan])],
                 [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
    "atan2 at the origin": (lambda m, a, b: m.atan2(a, b), [np.array([0.0, 1.0]), np.array([0.0, 0.0])],
                            [[0.0, 0.0], [0.0, -1.0]]),
    "nll all ignored": (lambda m, a: m.nn.functional.nll_loss(a, m.tensor(np.array([-100, -100]))),
                        [np.zeros((2, 3))], [np.zeros((2, 3))]),
    "cross_entropy all ignored": (lambda m, a: m.nn.functional.cross_entropy(a, m.tensor(np.array([-100]))),
                                  [np.arange(3.0).reshape(1, 3)], [np.zeros((1, 3))]),
    "logsigmoid at 0": (lambda m, a: m.nn.functional.logsigmoid(a), [np.array([0.0, -0.0])], [[0.5, 0.5]]),
}


def _run(lib, fn, arrays):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    y = fn(lib, *xs)
    (y if y.ndim == 0 else y.sum()).backward()
    return y.detach().numpy(), [x.grad.numpy() for x in xs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_at_a_tie(name):
    fn, arrays, want = CASES[name]
    _, grads = _run(eg, fn, arrays)
    for g, w in zip(grads, want):
        np.testing.assert_array_equal(g, np.asarray(w, dtype=g.dtype))


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_agrees(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for these conventions")
    fn, arrays, _ = CASES[name]
    (ey, eg_grads), (ty, t_grads) = _run(eg, fn, arrays), _run(torch, fn, arrays)
    np.testing.assert_array_equal(ey, ty)
    for a, b in zip(eg_grads, t_grads):
        np.testing.assert_array_equal(a, b)
