"""Higher-order gradients through every primitive: gradcheck and gradgradcheck over the table of
``grad_cases.py`` (float64), a check that the table covers every ``Primitive`` subclass, and PyTorch
parity of outputs, gradients and second derivatives (a Hessian-vector product per case) to 1e-10."""
import importlib
import pkgutil

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad.autograd import gradcheck, gradgradcheck
from eigengrad.autograd.function import LinearMap, Primitive, ViewPrimitive
from eigengrad.autograd.ops import _Activation
from grad_cases import CASES, EXEMPT, build
from torch_parity import make_assert_rel

ABSTRACT = {Primitive, ViewPrimitive, LinearMap, _Activation}
IDS = [c.id for c in CASES]


def _all_primitives() -> set:
    """Every Primitive subclass in the package (all its modules imported, optional extras skipped)."""
    for info in pkgutil.walk_packages(eg.__path__, "eigengrad."):
        if any(part in info.name for part in ("sklearn", "tune", "cli", "__main__", "_C_")):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency that is not installed
            continue
    found, stack = set(), [Primitive]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.add(sub)
            stack.append(sub)
    return {p for p in found - ABSTRACT if p.__module__.startswith("eigengrad.")}  # not the tests' own


def test_every_primitive_has_a_case():
    covered = {c.covers for c in CASES}
    missing = sorted(f"{p.__module__}.{p.__qualname__}" for p in _all_primitives()
                     if p not in covered and p.__name__ not in EXEMPT and p.__module__.startswith("eigengrad."))
    assert not missing, ("primitives without a case in tests/grad_cases.py (each needs gradcheck and gradgradcheck "
                         f"cases, its backward_graph included): {missing}")


def _nodes(tensors) -> set:
    """The classes of the nodes reachable from ``tensors``."""
    seen, classes = set(), set()
    stack = [t._ctx for t in tensors if t is not None and t._ctx is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        classes.add(type(node))
        stack.extend(parent for parent, _ in node.edges if parent is not None)
    return classes


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_goes_through_its_primitive(case):
    args = build(case, np.random.default_rng(0))
    out = case.fn(*args)
    wrt = [a for a in args if isinstance(a, eg.Tensor) and a.requires_grad]
    v = eg.ones_like(out).requires_grad_()
    grads = eg.autograd.grad(out, wrt, v, create_graph=True, allow_unused=True)
    assert case.covers in _nodes([out]) | _nodes(grads), f"{case.id} never runs {case.covers.__name__}"
    for g in grads:  # every first-order gradient is recorded (it depends on v at least): differentiable again
        assert g is None or g.requires_grad


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case):
    assert gradcheck(case.fn, build(case, np.random.default_rng(1)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradgradcheck(case):
    assert gradgradcheck(case.fn, build(case, np.random.default_rng(2)))


def test_once_differentiable_fallback_raises_at_second_order():
    class Plain(Primitive):  # a primitive without backward_graph
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            return (2 * g * ctx.saved[0],)

    x = eg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = eg.autograd.grad(Plain.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [2.0, 4.0])  # first order is right
    with pytest.raises(RuntimeError, match="the derivative of Plain's backward is not implemented"):
        g.sum().backward()


# --- PyTorch parity to second order ----------------------------------------------------------------------

assert_rel = make_assert_rel({np.float64: 1e-10})
TORCH_CASES = [c for c in CASES if c.torch_fn is not None]


def _torch_args(args):
    import torch

    return [torch.tensor(a.detach().numpy(), requires_grad=True) if isinstance(a, eg.Tensor) and a.requires_grad else a
            for a in args]


def _strided(t):
    """The same values in a non-contiguous array (every other element of a wider one), requiring grad."""
    arr = t.detach().numpy()
    if arr.ndim == 0:
        return t
    wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],))
    wide[..., ::2] = arr
    return eg.from_numpy(wide[..., ::2]).requires_grad_()


@pytest.mark.parametrize("strided", [False, True], ids=["contiguous", "strided"])
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.id for c in TORCH_CASES])
def test_torch_parity_to_second_order(case, strided):
    """out, g = vjp(out, v) and h = d(sum g . u)/d inputs equal PyTorch's (a Hessian-vector product)."""
    rng = np.random.default_rng(3)
    args = build(case, rng)
    if strided:
        args = tuple(_strided(a) if isinstance(a, eg.Tensor) and a.requires_grad else a for a in args)
    _compare_with_torch(case.id, case.fn, case.torch_fn, args, rng)


def _compare_with_torch(what, fn, torch_fn, args, rng):
    torch = pytest.importorskip("torch", reason="PyTorch parity needs torch")
    targs = _torch_args(args)
    wrt = [i for i, a in enumerate(args) if isinstance(a, eg.Tensor) and a.requires_grad]
    out, tout = fn(*args), torch_fn(*targs)
    assert_rel(out, tout, np.float64, f"{what} output")
    v = rng.standard_normal(out.shape)
    grads = eg.autograd.grad(out, [args[i] for i in wrt], eg.tensor(v), create_graph=True, materialize_grads=True)
    tgrads = torch.autograd.grad(tout, [targs[i] for i in wrt], torch.tensor(v), create_graph=True,
                                 materialize_grads=True)
    for k, (g, tg) in enumerate(zip(grads, tgrads)):
        assert_rel(g, tg, np.float64, f"{what} gradient of input {wrt[k]}")
    us = [rng.standard_normal(g.shape) for g in grads]
    live = [(g, tg, u) for g, tg, u in zip(grads, tgrads, us) if g.requires_grad]
    if not live:  # every gradient is a constant (the op is linear in its inputs)
        assert not any(tg.requires_grad for tg in tgrads)
        return
    total = sum((g * u).sum() for g, _, u in live)
    second = eg.autograd.grad(total, [args[i] for i in wrt], allow_unused=True, materialize_grads=True)
    tlive = [(tg, u) for _, tg, u in live if tg.requires_grad]
    if tlive:
        ttotal = sum((tg * torch.tensor(u)).sum() for tg, u in tlive)
        tsecond = torch.autograd.grad(ttotal, [targs[i] for i in wrt], allow_unused=True, materialize_grads=True)
    else:  # PyTorch knows these gradients are constants: ours must have zero second derivatives
        tsecond = [torch.zeros(args[i].shape, dtype=torch.float64) for i in wrt]
    for k, (h, th) in enumerate(zip(second, tsecond)):
        assert_rel(h, th, np.float64, f"{what} second derivative w.r.t. input {wrt[k]}")


def _tf():
    import torch.nn.functional as tf

    return tf


ZERO_SIZE = [  # (name, eigengrad fn, torch fn, input shapes): a batch of zero rows through double backward
    ("linear", lambda x, w, b: F.linear(x, w, b).tanh(), lambda x, w, b: _tf().linear(x, w, b).tanh(),
     [(0, 3), (2, 3), (2,)]),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(0, 3), (3, 2)]),
    ("softmax", lambda x: x.softmax(1) * x, lambda x: x.softmax(1) * x, [(0, 4)]),
    ("mse-sum", lambda x, y: F.mse_loss(x, y, reduction="sum"), lambda x, y: _tf().mse_loss(x, y, reduction="sum"),
     [(0, 3), (0, 3)]),
    ("layer-norm", lambda x, w, b: F.layer_norm(x, (3,), w, b), lambda x, w, b: _tf().layer_norm(x, (3,), w, b),
     [(0, 3), (3,), (3,)]),
    ("gelu-sum", lambda x: F.gelu(x).sum() * 2, lambda x: _tf().gelu(x).sum() * 2, [(0, 5)]),
    ("conv", lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: _tf().conv2d(x, w, padding=1),
     [(0, 2, 3, 3), (3, 2, 2, 2)]),
]


@pytest.mark.parametrize("name, fn, torch_fn, shapes", ZERO_SIZE, ids=[z[0] for z in ZERO_SIZE])
def test_zero_size_batches_to_second_order(name, fn, torch_fn, shapes):
    rng = np.random.default_rng(4)
    args = tuple(eg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    _compare_with_torch(name, fn, torch_fn, args, rng)
