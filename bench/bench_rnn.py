"""Recurrent layers, forward + backward: eigengrad vs the NumPy reference vs PyTorch.

LSTM and GRU at batch 128, sequence 28, input 28, hidden 128 (the Fashion-MNIST row-sequence shape),
float32: the layer's forward and the backward of a fixed gradient of its output (and of h_n).

- eigengrad and torch: the modules through their autograd (``out, h = m(x); out.backward(g)``; x requires
  grad, the parameters' gradients are reset to None before each call);
- numpy: ``eigengrad.reference.rnn``'s forward + backward (a step at a time, no autograd), the baseline;
- "eigengrad kernels": ``_kernels.rnn_forward`` + ``rnn_backward`` called directly (no autograd, no module).

Acceptance target: forward+backward >= 1.0x PyTorch.

    python -m pytest bench/bench_rnn.py --benchmark-only        # pytest-benchmark
    python bench/bench_rnn.py [--threads N] [--quick] [--clock cpu]   # one table of medians and ratios
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import eigengrad as eg
from cases import randn, torch
from eigengrad import _kernels as K
from eigengrad.reference import rnn as ref

SHAPE = dict(steps=28, batch=128, input=28, hidden=128)
CELLS = ("LSTM", "GRU")
TARGET = 1.0  # wanted speed-up over torch


def _data(rng):
    s = SHAPE
    return randn(rng, s["steps"], s["batch"], s["input"]), randn(rng, s["steps"], s["batch"], s["hidden"])


def case(cell: str, rng=None) -> dict:
    """{implementation: zero-argument callable} for one cell type, all on the same values."""
    rng = rng or np.random.default_rng(0)
    x, g = _data(rng)
    s = SHAPE

    def module_step(lib, module, xt, gt):
        params = list(module.parameters())

        def run():
            for p in params:
                p.grad = None
            xt.grad = None
            out, _ = module(xt)
            out.backward(gt)
        return run

    em = getattr(eg.nn, cell)(s["input"], s["hidden"])
    fns = {"eigengrad": module_step(eg, em, eg.tensor(x, requires_grad=True), eg.from_numpy(g))}
    weights = [p.detach().numpy() for p in em.parameters()]  # w_ih, w_hh, b_ih, b_hh
    h0 = np.zeros((s["batch"], s["hidden"]), np.float32)
    c0 = h0 if cell == "LSTM" else None

    def kernels(impl):
        def run():
            y, _, _, gates, aux = impl.rnn_forward(cell, x, h0, c0, *weights)
            return impl.rnn_backward(cell, x, h0, c0, *weights, y, gates, aux, g)
        return run

    fns["eigengrad kernels"] = kernels(K)
    fns["numpy"] = kernels(ref)
    if torch is not None:
        tm = getattr(torch.nn, cell)(s["input"], s["hidden"])
        with torch.no_grad():
            for p, w in zip(tm.parameters(), weights):
                p.copy_(torch.from_numpy(w))
        fns["torch"] = module_step(torch, tm, torch.tensor(x, requires_grad=True), torch.from_numpy(g))
    return fns


def label(cell: str) -> str:
    s = SHAPE
    return f"{cell} T={s['steps']} N={s['batch']} I={s['input']} H={s['hidden']}"


ROWS = [(cell, impl) for cell in CELLS for impl in ("eigengrad", "eigengrad kernels", "numpy", "torch")]


@pytest.mark.parametrize("cell,impl", ROWS, ids=["-".join(r).replace(" ", "_") for r in ROWS])
def test_rnn_forward_backward(bench, cell, impl):
    bench(f"{label(cell)} fwd+bwd", case(cell), impl)


# --- the table (python bench/bench_rnn.py) -------------------------------------------------------------

def main(argv=None) -> int:
    import cases

    p = cases.paired_parser("LSTM/GRU fwd+bwd: eigengrad vs NumPy reference vs torch")
    args = p.parse_args(argv)
    rounds, timer, row = cases.start_kernel_table(args, 40)
    misses = []
    for cell in CELLS:
        t, r = cases.call_rounds(case(cell), rounds, timer)
        row([label(cell)] + cases.kernel_table_cells(t, r))
        if "torch" in r and r["torch"] < TARGET:
            misses.append(f"{cell}: {r['torch']:.2f}x < {TARGET}x torch")
    print("below target: " + "; ".join(misses) if misses else
          ("LSTM and GRU meet the target (>= 1.0x torch)" if torch is not None else "torch not installed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
