"""clip_grad_norm_ over the MLP 784-512-256-10's gradients (535,818 float32, one flat buffer) and over
10 separate gradients of 1M float32: eg.nn.utils.clip_grad_norm_ vs the NumPy reference vs torch.

"clipped": max_norm starts at 1 and shrinks by 0.1% per call, so every call clips (a full measure and
multiply; the gradients stay far from denormals for thousands of calls).
"not clipped": max_norm = 1e30, the coefficient is 1; torch still multiplies, eigengrad skips the
multiply (x * 1 == x bit for bit) and only measures.
"""
import numpy as np
import pytest

import eigengrad as eg
from cases import IMPLS, mlp_param_shapes, randn, torch
from eigengrad import reference as ref
from eigengrad.nn.utils import clip_grad_norm_

LAYOUTS = {"mlp-flat": None, "10x1M": [(1_000_000,)] * 10}
MAX_NORMS = {"clipped": 1.0, "not clipped": 1e30}  # "not clipped" stays at 1e30


def clip_case(layout: str, max_norm: float, rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    shapes = mlp_param_shapes() if LAYOUTS[layout] is None else LAYOUTS[layout]
    grads = [randn(rng, *s) for s in shapes]
    params = []
    for g in grads:
        p = eg.nn.Parameter(eg.zeros(*g.shape))
        p.grad = eg.from_numpy(g.copy())
        params.append(p)
    if layout == "mlp-flat":
        eg.optim.SGD(params, lr=0.1)  # the gradients move into one flat buffer
    ref_grads = [g.copy() for g in grads]
    fns = {"eigengrad": _shrinking(lambda m: clip_grad_norm_(params, m), max_norm),
           "numpy": _shrinking(lambda m: ref.clip_grad_norm(ref_grads, m), max_norm)}
    if torch is not None:
        tparams = []
        for g in grads:
            t = torch.zeros(g.shape, requires_grad=True)
            t.grad = torch.from_numpy(g.copy())
            tparams.append(t)
        fns["torch"] = _shrinking(lambda m: torch.nn.utils.clip_grad_norm_(tparams, m), max_norm)
    return fns


def _shrinking(clip, max_norm: float):
    """A zero-argument call of clip(m), m = max_norm * 0.999 ** (calls so far) when max_norm is finite-small."""
    state = {"m": max_norm}

    def call():
        clip(state["m"])
        if state["m"] < 1e29:
            state["m"] *= 0.999
    return call


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("clipped", list(MAX_NORMS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_clip_grad_norm(bench, layout, clipped, impl):
    bench(f"clip_grad_norm_ {layout}: {clipped}", clip_case(layout, MAX_NORMS[clipped]), impl)
