"""Dropout and the activations of issue 4, float32, forward + backward: eigengrad vs the NumPy reference
vs torch, at the MLP shape (128 x 512) and a conv shape (32 x 64 x 28 x 28).

    python -m pytest bench/bench_dropout.py --benchmark-only [--threads N] [-k "128x512"]

Groups:
  dropout api ...      the public path: y = F.dropout(x, 0.5); y.backward(dy) (autograd included), against
                       torch.nn.functional.dropout + backward; numpy = the reference forward + backward
  dropout kernel ...   the kernels alone: mask + y, then dx (torch: aten.native_dropout + its backward)
  <act> kernel ...     each activation's forward kernel followed by its backward kernel (torch: aten ops)
"""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import _kernels as K
from eigengrad import reference as ref

from cases import IMPLS, randn, torch

SHAPES = {"128x512": (128, 512), "32x64x28x28": (32, 64, 28, 28)}
P = 0.5


def dropout_api_case(shape):
    rng = np.random.default_rng(0)
    x, dy = randn(rng, *shape), randn(rng, *shape)
    ex, edy = eg.tensor(x, requires_grad=True), eg.tensor(dy)

    def eigengrad_step():
        ex.grad = None
        F.dropout(ex, P).backward(edy)

    thr, scale = K.keep_threshold(P), 1 / (1 - P)

    def numpy_step():
        y, mask = ref.dropout_forward(x, 1, 0, thr, scale)
        return ref.dropout_backward(dy, mask, scale)

    fns = {"eigengrad": eigengrad_step, "numpy": numpy_step}
    if torch is not None:
        tx, tdy = torch.tensor(x, requires_grad=True), torch.from_numpy(dy)

        def torch_step():
            tx.grad = None
            torch.nn.functional.dropout(tx, P).backward(tdy)

        fns["torch"] = torch_step
    return fns


def dropout_kernel_case(shape):
    rng = np.random.default_rng(0)
    x, dy = randn(rng, *shape), randn(rng, *shape)
    thr, scale = K.keep_threshold(P), 1 / (1 - P)
    flat = dy.reshape(-1, 1)

    def eigengrad_step():
        y, mask = K.dropout(x, 1, 0, thr, scale)
        return K.masked_scale(flat, mask, scale, np.float32)

    def numpy_step():
        y, mask = ref.dropout_forward(x, 1, 0, thr, scale)
        return ref.dropout_backward(dy, mask, scale)

    fns = {"eigengrad": eigengrad_step, "numpy": numpy_step}
    if torch is not None:
        tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
        aten = torch.ops.aten

        def torch_step():
            y, mask = aten.native_dropout(tx, P, True)
            return aten.native_dropout_backward(tdy, mask, scale)

        fns["torch"] = torch_step
    return fns


SA, SS = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
# name -> (kernel kind, params, reference kwargs, torch forward, torch backward(dy, x))
ACTS = {
    "leaky_relu": ("leaky_relu", (0.01,), {"negative_slope": 0.01}),
    "elu": ("elu", (1.0, 1.0, 1.0), {}),
    "selu": ("elu", (SA, SS, 1.0), None),
    "gelu": ("gelu", (False,), {}),
    "gelu_tanh": ("gelu", (True,), {"approximate": "tanh"}),
    "softplus": ("softplus", (1.0, 20.0), {}),
    "prelu": (None, None, None),
}


def _torch_act(name, tx, tdy, tw):
    """torch's forward op and its backward op (from the input, as eigengrad's), run one after the other."""
    aten = torch.ops.aten
    fwd, bwd = {
        "leaky_relu": (lambda: aten.leaky_relu(tx, 0.01), lambda: aten.leaky_relu_backward(tdy, tx, 0.01, False)),
        "elu": (lambda: aten.elu(tx), lambda: aten.elu_backward(tdy, 1.0, 1.0, 1.0, False, tx)),
        "selu": (lambda: aten.elu(tx, SA, SS), lambda: aten.elu_backward(tdy, SA, SS, 1.0, False, tx)),
        "gelu": (lambda: aten.gelu(tx), lambda: aten.gelu_backward(tdy, tx)),
        "gelu_tanh": (lambda: aten.gelu(tx, approximate="tanh"),
                      lambda: aten.gelu_backward(tdy, tx, approximate="tanh")),
        "softplus": (lambda: aten.softplus(tx), lambda: aten.softplus_backward(tdy, tx, 1.0, 20.0)),
        "prelu": (lambda: aten._prelu_kernel(tx, tw), lambda: aten._prelu_kernel_backward(tdy, tx, tw)),
    }[name]
    return lambda: (fwd(), bwd())


def activation_case(name, shape):
    rng = np.random.default_rng(0)
    x, dy = randn(rng, *shape), randn(rng, *shape)
    if name == "prelu":
        c = shape[1]
        w = np.full(c, 0.25, np.float32)
        s3 = (shape[0], c, int(np.prod(shape[2:], dtype=np.int64)))
        x3, dy3 = x.reshape(s3), dy.reshape(s3)
        fns = {"eigengrad": lambda: (K.prelu_forward(x3, w), K.prelu_backward(dy3, x3, w)),
               "numpy": lambda: (ref.prelu_forward(x, w), ref.prelu_backward(dy, x, w))}
        tw = torch.from_numpy(w.reshape((c,) + (1,) * (len(shape) - 2))) if torch is not None else None
    else:
        kind, params, kw = ACTS[name]
        base = "gelu" if name == "gelu_tanh" else name
        rf = getattr(ref, f"{base}_forward")
        rb = getattr(ref, f"{base}_backward")
        kw = kw or {}
        fns = {"eigengrad": lambda: (K.unary_forward(kind, x, *params), K.unary_backward(kind, dy, x, *params)),
               "numpy": lambda: (rf(x, **kw), rb(dy, x, **kw))}
        tw = None
    if name == "gelu" and x.size > 100_000:
        del fns["numpy"]  # the reference's erfc is math.erfc per element (NumPy has none): seconds per call
    if torch is not None:
        fns["torch"] = _torch_act(name, torch.from_numpy(x), torch.from_numpy(dy), tw)
    return fns


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_dropout_api(bench, shape, impl):
    bench(f"dropout api fwd+bwd {shape}", dropout_api_case(SHAPES[shape]), impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_dropout_kernel(bench, shape, impl):
    bench(f"dropout kernel fwd+bwd {shape}", dropout_kernel_case(SHAPES[shape]), impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("name", list(ACTS))
def test_activation_fwd_bwd(bench, name, shape, impl):
    bench(f"{name} kernel fwd+bwd {shape}", activation_case(name, SHAPES[shape]), impl)
