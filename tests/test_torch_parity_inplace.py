"""In-place operations side by side with PyTorch 2.13: the same scenario written once, run with
``eigengrad`` and with ``torch``, must give the same values and gradients, or the same error type and
message (torch's type names and module path mapped to eigengrad's)."""
import re

import numpy as np
import pytest

import eigengrad as eg
from inplace_cases import chain
from torch_parity import as_float64

torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side in-place checks")


def tensor(lib, values, requires_grad=False, dtype=None):
    if lib is eg:
        return eg.tensor(values, dtype=dtype or (eg.float64 if isinstance(values, np.ndarray) else None),
                         requires_grad=requires_grad)
    dtype = {None: None, eg.float64: torch.float64, eg.float32: torch.float32}[dtype]
    if isinstance(values, np.ndarray):
        return torch.tensor(values, dtype=dtype or torch.float64, requires_grad=requires_grad)
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


def no_grad(lib):
    return lib.no_grad()


def outcome(scenario, lib):
    """The arrays ``scenario(lib)`` returns, or (error type name, message normalised to eigengrad's names)."""
    try:
        return [as_float64(v) for v in scenario(lib)]
    except Exception as e:  # noqa: BLE001 - the error itself is compared
        message = str(e)
        message = re.sub(r"torch\.(\w+)Tensor", lambda m: {"Float": "float32", "Double": "float64"}[m.group(1)] +
                         " tensor", message)
        message = message.replace("torch.autograd", "eigengrad.autograd").replace("torch.clamp:", "clamp:")
        message = message.replace("torch::autograd::CopySlices", "CopySlices")
        message = re.sub(r"(\w+)Backward\d", r"\1", message)
        return type(e).__name__, message


def assert_same(scenario):
    ours, theirs = outcome(scenario, eg), outcome(scenario, torch)
    if isinstance(theirs, tuple) or isinstance(ours, tuple):
        assert ours == theirs
        return
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


RNG = np.random.default_rng(5)
X = RNG.uniform(-1, 1, (3, 4))
W = RNG.uniform(-1, 1, 4)


# --- values and errors --------------------------------------------------------------------------------

def s_arithmetic(lib):
    x = tensor(lib, X.copy())
    x += 1.5
    x -= tensor(lib, W)
    x *= tensor(lib, W[None, :] * 2)
    x /= 3
    x.add_(tensor(lib, W), alpha=-2).sub_(tensor(lib, X), alpha=0.25).mul_(2).div_(tensor(lib, W + 3))
    i = tensor(lib, [1, 2, 3])
    i += 4
    i.mul_(tensor(lib, [2, 2, 2])).add_(tensor(lib, [1, 1, 1]), alpha=3)
    return x, i


def s_clamp_fill_copy(lib):
    x = tensor(lib, X.copy())
    x.clamp_(-0.5, 0.25)
    y = tensor(lib, X.copy())
    y.clamp_(min=0.0)
    z = tensor(lib, X.copy())
    z[1].fill_(2.5)
    z[2].zero_()
    z[0].copy_(tensor(lib, W, dtype=eg.float32))
    k = tensor(lib, [1, 2, 3])
    k.fill_(2.7)
    return x, y, z, k


def s_setitem(lib):
    x = tensor(lib, X.copy())
    x[0] = 1.0
    x[1, 1:3] = tensor(lib, np.array([5.0, 6.0]))
    x[[2, 0], [3, 3]] = tensor(lib, np.array([7.0, 8.0]))
    x[x > 0.9] = -1.0
    x[..., 0] = tensor(lib, np.array([1.0, 2.0, 3.0]))
    i = tensor(lib, [[1, 2], [3, 4]])
    i[0] = 2.5  # truncated, as a copy_ into an integer tensor
    return x, i


@pytest.mark.parametrize("scenario", [s_arithmetic, s_clamp_fill_copy, s_setitem])
def test_values(scenario):
    assert_same(scenario)


ERRORS = {
    "int += float": lambda lib: tensor(lib, [1, 2]).__iadd__(1.5),
    "int /= 2": lambda lib: tensor(lib, [1, 2]).div_(2),
    "bool += 1": lambda lib: tensor(lib, [True]).__iadd__(1),
    "int alpha float": lambda lib: tensor(lib, [1, 2]).add_(tensor(lib, [1, 2]), alpha=0.5),
    "broadcast into smaller": lambda lib: tensor(lib, np.ones(3)).__iadd__(tensor(lib, np.ones((2, 3)))),
    "sizes differ": lambda lib: tensor(lib, np.ones(3)).mul_(tensor(lib, np.ones(4))),
    "copy_ sizes differ": lambda lib: tensor(lib, np.ones((2, 3))).copy_(tensor(lib, np.ones((3, 3)))),
    "setitem expand": lambda lib: tensor(lib, np.ones((2, 3))).__setitem__(0, tensor(lib, np.ones(4))),
    "fill_ 1-d": lambda lib: tensor(lib, np.ones(3)).fill_(tensor(lib, np.ones(2))),
    "clamp_ no bounds": lambda lib: tensor(lib, np.ones(3)).clamp_(),
    "leaf add_": lambda lib: tensor(lib, np.ones(3), True).add_(1),
    "leaf zero_": lambda lib: tensor(lib, np.ones(3), True).zero_(),
    "leaf setitem basic": lambda lib: tensor(lib, np.ones(3), True).__setitem__(0, 2.0),
    "leaf setitem advanced": lambda lib: tensor(lib, np.ones(3), True).__setitem__([0], 2.0),
    "view of leaf": lambda lib: tensor(lib, np.ones(3), True)[:2].mul_(2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    ours, theirs = outcome(lambda lib: [ERRORS[name](lib)], eg), outcome(lambda lib: [ERRORS[name](lib)], torch)
    assert isinstance(theirs, tuple), "torch accepted it"
    assert ours == theirs


def test_no_grad_view_error():
    def scenario(lib):
        a = tensor(lib, np.ones(3), True) * 2
        with no_grad(lib):
            v = a[:2]
        v.mul_(2)
        return [a]
    assert_same(scenario)


# --- autograd -------------------------------------------------------------------------------------------

def s_chain(lib):
    x, w = tensor(lib, X.copy(), True), tensor(lib, W.copy(), True)
    y = chain(x, w)
    (y * y).sum().backward()
    return y, x.grad, w.grad


def s_view_refresh(lib):
    x = tensor(lib, X.copy(), True)
    a = x * 2
    v = a[:, 1]
    a.mul_(3)
    b = a.view(12)
    b[3:6] = 0.0
    (v * v).sum().backward(retain_graph=True)
    (b * 2).sum().backward()
    return v, x.grad


def s_setitem_grads(lib):
    x, v = tensor(lib, X.copy(), True), tensor(lib, W[:3].copy(), True)
    y = x * 1
    y[:, [0, 0, 2]] = v  # repeated index: every occurrence gets its gradient (PyTorch's formula)
    (y * tensor(lib, X)).sum().backward()
    return x.grad, v.grad


def s_copy_fill_grads(lib):
    x = tensor(lib, X.copy(), True)
    s = tensor(lib, W.copy(), True)
    c = tensor(lib, np.array(0.7), True)
    y = x.float() * 2
    y[0].copy_(s)  # float64 source into a float32 tensor: the gradient is cast back
    y[1].fill_(c)
    y[2].zero_()
    (y * y).sum().backward()
    return x.grad, s.grad, c.grad


def s_clamp_grads(lib):
    x = tensor(lib, np.array([0.5, 2.0, -1.0, 1.0, 0.0, 0.3]), True)
    lo = tensor(lib, np.array([1.0, 1.0, 1.0, 1.0, 0.0, -1.0]), True)
    hi = tensor(lib, np.array([0.0, 0.0, 0.0, 1.0, 0.0, 1.0]), True)
    y = x.clamp(lo, hi) * tensor(lib, np.arange(1.0, 7.0))
    z = (x * 1).clamp_(-0.4, 0.4)
    (y.sum() + z.sum()).backward()
    return y, z, x.grad, lo.grad, hi.grad


def s_inplace_with_grad_operand(lib):
    a = tensor(lib, X.copy())
    b = tensor(lib, W.copy(), True)
    c = a * 1
    c.mul_(b)
    c.div_(b * b + 1)
    c.sum().backward()
    return c, b.grad


def s_retain_grad(lib):
    x = tensor(lib, W.copy(), True)
    a = x * 1
    a.retain_grad()
    a.mul_(2)
    (a * a).sum().backward()
    return a.grad, x.grad


@pytest.mark.parametrize("scenario", [s_chain, s_view_refresh, s_setitem_grads, s_copy_fill_grads, s_clamp_grads,
                                      s_inplace_with_grad_operand, s_retain_grad])
def test_gradients(scenario):
    assert_same(scenario)


# --- versions -------------------------------------------------------------------------------------------

def v_saved_output(lib):
    x = tensor(lib, np.ones(3, dtype=np.float32), True)
    y = x.exp()
    y.add_(1)
    y.sum().backward()
    return [x.grad]


def v_saved_leaf(lib):
    w = tensor(lib, np.ones(3, dtype=np.float32), True)
    y = (w * w).sum()
    with no_grad(lib):
        w.mul_(2)
    y.backward()
    return [w.grad]


def v_through_detach(lib):
    w = tensor(lib, np.ones(3, dtype=np.float32), True)
    y = (w * w).sum()
    w.detach().mul_(2)
    y.backward()
    return [w.grad]


def v_through_data(lib):
    w = tensor(lib, np.ones(3, dtype=np.float32), True)
    y = (w * w).sum()
    w.data.mul_(2)
    y.backward()
    return [w.grad]


def v_unsaved(lib):
    w = tensor(lib, np.ones(3, dtype=np.float32), True)
    y = (w + 1).sum() + (w * 3).sum()  # add saves nothing; w * constant saves only the constant
    with no_grad(lib):
        w.mul_(2)
    y.backward()
    return [w.grad]


def v_view_of_saved(lib):
    x = tensor(lib, np.ones((2, 3), dtype=np.float32), True)
    a = x * 1
    y = (a * a).sum()
    a[0].add_(1)
    y.backward()
    return [x.grad]


def v_counts(lib):
    x = tensor(lib, np.zeros((2, 3), dtype=np.float32))
    v = x[0]
    v += 1
    x.t().mul_(2)
    x[1] = 3.0
    d = x.data
    d += 1
    return [np.array([x._version, v._version, d._version])]


@pytest.mark.parametrize("scenario", [v_saved_output, v_saved_leaf, v_through_detach, v_through_data, v_unsaved,
                                      v_view_of_saved, v_counts])
def test_version_counter(scenario):
    assert_same(scenario)
