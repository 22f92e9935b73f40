"""``torch.autograd.functional`` (jacobian, hessian, vjp, jvp, vhp, hvp) side by side with PyTorch on
functions of one and of several tensors, with several outputs, create_graph (a Jacobian differentiated
again) and strict mode's errors."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="torch.autograd.functional is the reference")


def _f_single(lib):
    return lambda x: (x.sin() * x.pow(2)).cumsum(0)


def _f_multi(lib):
    return lambda a, b: ((a * b.exp()).sum(0), (a ** 3).mean() + b.tanh().sum())


def _scalar(lib):
    return lambda a, b: (a.pow(3) * b.sin()).sum() + (a * b).pow(2).sum()


def _both(rng, *shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    return tuple(eg.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


def _close(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"])
def test_matches_torch(name):
    rng = np.random.default_rng(0)
    E, T = eg.autograd.functional, torch.autograd.functional
    (ex,), (tx,) = _both(rng, (4,))
    (ea, eb), (ta, tb) = _both(rng, (3, 2), (2,))
    if name == "jacobian":
        _close(E.jacobian(_f_single(eg), ex), T.jacobian(_f_single(torch), tx))
        _close(E.jacobian(_f_multi(eg), (ea, eb)), T.jacobian(_f_multi(torch), (ta, tb)))
    elif name == "hessian":
        _close(E.hessian(_scalar(eg), (ea, eb)), T.hessian(_scalar(torch), (ta, tb)))
        _close(E.hessian(lambda x: (x ** 4).sum(), ex), T.hessian(lambda x: (x ** 4).sum(), tx))
    elif name in ("vjp", "jvp"):
        (ev,), (tv,) = _both(rng, (4,))
        _close(getattr(E, name)(_f_single(eg), ex, ev), getattr(T, name)(_f_single(torch), tx, tv))
        if name == "vjp":
            (v1, v2), (w1, w2) = _both(rng, (2,), ())
            _close(E.vjp(_f_multi(eg), (ea, eb), (v1, v2)), T.vjp(_f_multi(torch), (ta, tb), (w1, w2)))
        else:
            (v1, v2), (w1, w2) = _both(rng, (3, 2), (2,))
            _close(E.jvp(_f_multi(eg), (ea, eb), (v1, v2)), T.jvp(_f_multi(torch), (ta, tb), (w1, w2)))
    else:
        (v1, v2), (w1, w2) = _both(rng, (3, 2), (2,))
        _close(getattr(E, name)(_scalar(eg), (ea, eb), (v1, v2)), getattr(T, name)(_scalar(torch), (ta, tb), (w1, w2)))


def test_create_graph_and_strict_mode():
    E = eg.autograd.functional
    x = eg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    jac = E.jacobian(lambda v: v.pow(3), x, create_graph=True)
    jac.trace().backward()  # d/dx sum 3 x^2 = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())
    assert not E.jacobian(lambda v: v.pow(3), x).requires_grad
    np.testing.assert_array_equal(E.jacobian(lambda v: eg.ones(2), x).numpy(), np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
        E.jacobian(lambda v: eg.ones(2), x, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        E.vjp(lambda a, b: a * 2, (x, x), eg.ones(3), strict=True)
    with pytest.raises(RuntimeError, match="v can only be None"):
        E.vjp(lambda v: v * 2, x)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        E.jacobian(lambda v: v, [1.0, 2.0])
