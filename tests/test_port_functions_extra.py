"""Less common PyTorch functions scripts use: cholesky_solve/cholesky_inverse, histogram, unravel_index,
vander, renorm, ldexp/frexp/gcd/lcm, Tensor.H, poisson; torch.func's jvp, linearize and stack_module_state
(the ensembling recipe); optimizer step hooks; Parameter deepcopy without .grad; rand_like of an integer
tensor; torch.Size in a checkpoint. Values asserted against NumPy or by definition; torch agrees where
installed."""
import copy
import os
import tempfile
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd.gradcheck import gradcheck

RNG = np.random.default_rng(0)
M = RNG.standard_normal((4, 4))
SPD = M @ M.T + 4 * np.eye(4)


def test_cholesky_solve_and_inverse():
    L = eg.linalg.cholesky(eg.tensor(SPD))
    B = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(eg.cholesky_solve(eg.tensor(B), L).numpy(), np.linalg.solve(SPD, B), rtol=1e-10)
    np.testing.assert_allclose(eg.cholesky_solve(eg.tensor(B), L.mT, upper=True).numpy(), np.linalg.solve(SPD, B),
                               rtol=1e-10)
    np.testing.assert_allclose(eg.cholesky_inverse(L).numpy(), np.linalg.inv(SPD), rtol=1e-10)
    Lc = eg.tensor(np.linalg.cholesky(SPD), requires_grad=True)
    assert gradcheck(lambda b, l: eg.cholesky_solve(b, l.tril()), (eg.tensor(B, requires_grad=True), Lc))


def test_histogram_unravel_vander_renorm():
    x = RNG.standard_normal(200)
    h = eg.histogram(eg.tensor(x), bins=7, range=(-2.0, 2.0))
    want, edges = np.histogram(x, bins=7, range=(-2.0, 2.0))
    np.testing.assert_array_equal(h.hist.numpy(), want)
    np.testing.assert_allclose(h.bin_edges.numpy(), edges)
    w = RNG.uniform(size=200)
    np.testing.assert_allclose(eg.histogram(eg.tensor(x), bins=eg.tensor(np.array([-1.0, 0.0, 2.0])), weight=eg.tensor(w),
                                            density=True).hist.numpy(),
                               np.histogram(x, bins=[-1.0, 0.0, 2.0], weights=w, density=True)[0], rtol=1e-12)
    rows, cols = eg.unravel_index(eg.tensor([4, 7, -1]), (3, 4))
    assert rows.numpy().tolist() == [1, 1, 2] and cols.numpy().tolist() == [0, 3, 3] and rows.dtype == eg.int64
    v = eg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.testing.assert_array_equal(eg.vander(v).detach().numpy(), np.vander([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(eg.vander(v, N=2, increasing=True).detach().numpy(),
                                  np.vander([1.0, 2.0, 3.0], 2, increasing=True))
    assert gradcheck(lambda a: eg.vander(a, N=4), (eg.tensor(RNG.standard_normal(3), requires_grad=True),))
    a = RNG.standard_normal((3, 4)) * 2
    out = eg.tensor(a).renorm(2, 0, 1.0).numpy()
    norms = np.linalg.norm(a, axis=1)
    want = a * np.where(norms > 1.0, 1.0 / (norms + 1e-7), 1.0)[:, None]
    np.testing.assert_allclose(out, want, rtol=1e-12)
    assert gradcheck(lambda t: t.renorm(2, 0, 1.0), (eg.tensor(a, requires_grad=True),))


def test_integer_and_float_bits():
    np.testing.assert_array_equal(eg.ldexp(eg.tensor([1.0, 3.0]), eg.tensor([2, 3])).numpy(), [4.0, 24.0])
    m, e = eg.frexp(eg.tensor([8.0, 0.3]))
    np.testing.assert_allclose(m.numpy() * 2.0 ** e.numpy(), [8.0, 0.3], rtol=1e-7)
    assert e.dtype == eg.int32
    assert eg.gcd(eg.tensor([12, 18]), eg.tensor([8, 27])).numpy().tolist() == [4, 9]
    assert eg.lcm(eg.tensor([4]), eg.tensor([6])).numpy().tolist() == [12]
    with pytest.raises(TypeError, match="gcd"):
        eg.gcd(eg.tensor([1.0]), eg.tensor([2.0]))
    assert eg.tensor(M).H.shape == (4, 4) and np.array_equal(eg.tensor(M).H.numpy(), M.T)
    with pytest.raises(ValueError, match="tensor.H is only supported on matrices"):
        eg.ones(2, 3, 4).H


def test_poisson_follows_the_seed():
    eg.manual_seed(3)
    a = eg.poisson(eg.full((5000,), 4.0))
    eg.manual_seed(3)
    b = eg.poisson(eg.full((5000,), 4.0))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(a.numpy().mean() - 4.0) < 5 * np.sqrt(4.0 / 5000) and a.dtype == eg.float32
    with pytest.raises(ValueError, match="rate to be non-negative"):
        eg.poisson(eg.tensor([-1.0]))


def test_func_jvp_linearize_and_ensembles():
    x, t = eg.tensor([0.3, -1.2, 2.0]), eg.tensor([1.0, 0.5, -2.0])

    def f(a):
        return eg.sin(a) * a.sum()

    _, jt = eg.func.jvp(f, (x,), (t,))
    xs, ts = x.numpy(), t.numpy()
    jac = np.diag(np.cos(xs) * xs.sum()) + np.outer(np.sin(xs), np.ones(3))
    np.testing.assert_allclose(jt.numpy(), jac @ ts, rtol=1e-6)
    _, fn = eg.func.linearize(f, x)
    np.testing.assert_allclose(fn(t).numpy(), jac @ ts, rtol=1e-6)
    models = [eg.nn.Linear(3, 2) for _ in range(4)]
    params, buffers = eg.func.stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and params["weight"].requires_grad and buffers == {}
    base = copy.deepcopy(models[0])
    out = eg.func.vmap(lambda p, b, a: eg.func.functional_call(base, (p, b), (a,)), in_dims=(0, 0, None))(
        params, buffers, eg.ones(5, 3))
    np.testing.assert_allclose(out[2].detach().numpy(), models[2](eg.ones(5, 3)).detach().numpy(), rtol=1e-6)
    g, aux = eg.func.grad(lambda a: ((a ** 2).sum(), a * 2), has_aux=True)(eg.ones(2))
    assert not aux.requires_grad and aux.grad_fn is None


def test_optimizer_step_hooks():
    from eigengrad.optim.optimizer import register_optimizer_step_pre_hook

    w = eg.nn.Parameter(eg.ones(2))
    opt = eg.optim.SGD([w], lr=0.1)
    calls = []
    h = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    g = register_optimizer_step_pre_hook(lambda o, a, k: calls.append("global"))
    w.grad = eg.ones(2)
    opt.step()
    assert calls == ["global", "pre", "post"] and np.allclose(w.detach().numpy(), 0.9)
    h.remove()
    g.remove()
    calls.clear()
    opt.step()
    assert calls == ["post"]

    class Custom(eg.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):
            calls.append("custom")

    c = Custom([w])
    c.register_step_post_hook(lambda o, a, k: calls.append("custom-post"))
    c.step()
    assert calls[-2:] == ["custom", "custom-post"]


def test_deepcopy_rand_like_and_size_in_checkpoints():
    m = eg.nn.Linear(2, 2)
    m(eg.ones(1, 2)).sum().backward()
    c = copy.deepcopy(m)
    assert c.weight.grad is None and m.weight.grad is not None and isinstance(c.weight, eg.nn.Parameter)
    with pytest.raises(TypeError, match="rand_like: draws floating-point numbers"):
        eg.rand_like(eg.zeros(3, dtype=eg.int64))
    assert eg.rand_like(eg.zeros(3, dtype=eg.int64), dtype=eg.float64).dtype == eg.float64
    path = os.path.join(tempfile.mkdtemp(), "c.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stored in the safe format, no pickle warning
        eg.save({"shape": eg.ones(2, 3).shape, "w": eg.ones(2)}, path)
    loaded = eg.load(path)
    assert loaded["shape"] == (2, 3) and isinstance(loaded["shape"], eg.Size)


def test_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    x = RNG.standard_normal(50)
    th, eh = torch.histogram(torch.tensor(x), bins=6), eg.histogram(eg.tensor(x), bins=6)
    np.testing.assert_array_equal(eh.hist.numpy(), th.hist.numpy())
    np.testing.assert_allclose(eh.bin_edges.numpy(), th.bin_edges.numpy(), rtol=1e-12)
    a = RNG.standard_normal((3, 4)) * 2
    grads = []
    for lib in (torch, eg):
        t = lib.tensor(a, requires_grad=True)
        (t.renorm(3, 1, 1.5) * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10)
    L = np.linalg.cholesky(SPD)
    np.testing.assert_allclose(eg.cholesky_inverse(eg.tensor(L)).numpy(),
                               torch.cholesky_inverse(torch.tensor(L)).numpy(), rtol=1e-10)


@pytest.mark.parametrize("make", [lambda lib: (lib.tensor([1, 2, 3]), 3), lambda lib: (lib.tensor([True]), 2),
                                  lambda lib: (lib.tensor([1.0, 2.0]), lib.tensor([0, 1, 2])),
                                  lambda lib: (lib.tensor([1.0, 2.0], dtype=lib.float64), lib.tensor([0.0, 1, 2]))],
                         ids=["long", "bool", "float-long-bins", "double-float-bins"])
def test_histogram_dtype_errors_as_torch(make):
    """PyTorch's error types and messages: no integer kernel; bins of another dtype than the input."""
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    with pytest.raises(Exception) as theirs:
        torch.histogram(*make(torch))
    with pytest.raises(type(theirs.value)) as ours:
        eg.histogram(*make(eg))
    assert str(ours.value) == str(theirs.value)
