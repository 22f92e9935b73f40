"""Losses, float32, forward + backward of the loss alone (the gradient of its input), eigengrad vs the
NumPy reference kernels vs torch:

* cross-entropy with class weights and label smoothing 0.1, logits (batch, 10) and (batch, 1000);
* BCE with logits with pos_weight, (batch, 100).
"""
import numpy as np
import pytest

import eigengrad as eg
from cases import IMPLS, randn, torch
from eigengrad import reference as ref

CE_SHAPES = [(128, 10), (1024, 10), (256, 1000)]
BCE_SHAPES = [(128, 100), (1024, 100)]


def ce_case(n: int, c: int, rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    x = randn(rng, n, c)
    t = rng.integers(0, c, n)
    w = rng.uniform(0.5, 2.0, c).astype(np.float32)
    ex, ew = eg.tensor(x, requires_grad=True), eg.tensor(w)

    def eg_step():
        ex.grad = None
        eg.nn.functional.cross_entropy(ex, t, ew, label_smoothing=0.1).backward()

    def np_step():
        loss, lse = ref.weighted_softmax_cross_entropy_forward(x, t, w, 0.1)
        denom = w[t].sum()
        float(loss.sum() / denom)
        ref.weighted_softmax_cross_entropy_backward(x, t, w, 0.1, lse, np.full(n, 1 / denom, np.float32))

    fns = {"eigengrad": eg_step, "numpy": np_step}
    if torch is not None:
        tx, tt, tw = torch.tensor(x, requires_grad=True), torch.from_numpy(t), torch.from_numpy(w)

        def torch_step():
            tx.grad = None
            torch.nn.functional.cross_entropy(tx, tt, tw, label_smoothing=0.1).backward()

        fns["torch"] = torch_step
    return fns


def bce_case(n: int, c: int, rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    x = randn(rng, n, c)
    y = (rng.uniform(0, 1, (n, c)) < 0.3).astype(np.float32)
    pw = rng.uniform(1.0, 3.0, c).astype(np.float32)
    ex, ey, epw = eg.tensor(x, requires_grad=True), eg.tensor(y), eg.tensor(pw)

    def eg_step():
        ex.grad = None
        eg.nn.functional.binary_cross_entropy_with_logits(ex, ey, pos_weight=epw).backward()

    def np_step():
        total, _ = ref.bce_with_logits_forward(x, y, None, pw)
        ref.bce_with_logits_backward(x, y, None, pw, None, 1.0 / x.size)

    fns = {"eigengrad": eg_step, "numpy": np_step}
    if torch is not None:
        tx, ty, tpw = torch.tensor(x, requires_grad=True), torch.from_numpy(y), torch.from_numpy(pw)

        def torch_step():
            tx.grad = None
            torch.nn.functional.binary_cross_entropy_with_logits(tx, ty, pos_weight=tpw).backward()

        fns["torch"] = torch_step
    return fns


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_weighted_smoothed_cross_entropy(bench, shape, impl):
    bench(f"CE weight+smoothing fwd+bwd {shape[0]}x{shape[1]}", ce_case(*shape), impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", BCE_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_bce_with_logits(bench, shape, impl):
    bench(f"BCEWithLogits pos_weight fwd+bwd {shape[0]}x{shape[1]}", bce_case(*shape), impl)
