"""Normalisation layers, forward + backward: eigengrad vs the NumPy reference vs PyTorch.

Two levels, each compared like with like:

- "layer": the module's forward and backward of a fixed upstream gradient, through the autograd
  (eigengrad: ``y = bn(x); y.backward(g)``; torch: the same with ``torch.nn``; x requires grad, the
  parameters' gradients are reset to None before each call). The NumPy reference has no autograd, so
  this level has no NumPy column.
- "kernels": the forward and backward kernels called directly (eigengrad: ``_kernels.*_forward`` +
  ``*_backward``; NumPy: ``eigengrad.reference``'s functions of the same signature; torch:
  ``aten.native_batch_norm`` + ``aten.native_batch_norm_backward``, ``aten.native_layer_norm`` +
  ``aten.native_layer_norm_backward``).

Shapes from the issue: BatchNorm1d at (128, 512) (the MLP shape), BatchNorm2d at (32, 64, 28, 28),
LayerNorm at (128, 512); float32, training mode. Targets: BatchNorm forward+backward >= 1.5x PyTorch
at (128, 512) and >= 5x the NumPy reference.

    python -m pytest bench/bench_norm.py --benchmark-only    # pytest-benchmark
    python bench/bench_norm.py [--threads N] [--quick]       # one table of medians and ratios
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import eigengrad as eg
from cases import IMPLS, randn, torch
from eigengrad import _kernels as K
from eigengrad import reference as ref

SHAPES = {"BatchNorm1d": (128, 512), "BatchNorm2d": (32, 64, 28, 28), "LayerNorm": (128, 512)}
TARGETS = {"numpy": 5.0, "torch": 1.5}  # wanted speed-ups of BatchNorm at (128, 512)


def _inputs(shape, rng):
    return randn(rng, *shape) * np.float32(2) + np.float32(0.5), randn(rng, *shape)


def layer_case(layer: str, rng=None) -> dict:
    """Module forward + backward of a fixed gradient, eigengrad and torch."""
    rng = rng or np.random.default_rng(0)
    shape = SHAPES[layer]
    x, g = _inputs(shape, rng)

    def build(lib):
        nn = lib.nn
        return nn.LayerNorm(shape[-1]) if layer == "LayerNorm" else getattr(nn, layer)(shape[1])

    def step(lib, module, xt, gt):
        params = list(module.parameters())

        def run():
            for p in params:
                p.grad = None
            xt.grad = None
            module(xt).backward(gt)
        return run

    fns = {"eigengrad": step(eg, build(eg), eg.tensor(x, requires_grad=True), eg.from_numpy(g))}
    if torch is not None:
        fns["torch"] = step(torch, build(torch), torch.tensor(x, requires_grad=True), torch.from_numpy(g))
    return fns


def kernel_case(layer: str, rng=None) -> dict:
    """Forward + backward kernels called directly (no autograd, no modules)."""
    rng = rng or np.random.default_rng(0)
    shape = SHAPES[layer]
    x, g = _inputs(shape, rng)
    if layer == "LayerNorm":
        w, b = np.ones(shape[-1], np.float32), np.zeros(shape[-1], np.float32)

        def eg_fn():
            _, mean, rstd = K.layer_norm_forward(x, 1, w, b, 1e-5)
            return K.layer_norm_backward(g, x, mean, rstd, 1, w)

        def np_fn():
            _, mean, rstd = ref.layer_norm_forward(x, 1, w, b, 1e-5)
            return ref.layer_norm_backward(g, x, mean, rstd, 1, w)

        fns = {"eigengrad": eg_fn, "numpy": np_fn}
        if torch is not None:
            tx, tg, tw, tb = map(torch.from_numpy, (x, g, w, b))
            aten = torch.ops.aten

            def torch_fn():
                _, mean, rstd = aten.native_layer_norm(tx, [shape[-1]], tw, tb, 1e-5)
                return aten.native_layer_norm_backward(tg, tx, [shape[-1]], mean, rstd, tw, tb, [True, True, True])
            fns["torch"] = torch_fn
        return fns

    c = shape[1]
    w, b = np.ones(c, np.float32), np.zeros(c, np.float32)
    state = {k: (np.zeros(c, np.float32), np.ones(c, np.float32)) for k in IMPLS}

    def eg_fn():
        _, mean, invstd = K.batch_norm_forward(x, w, b, *state["eigengrad"], True, 0.1, 1e-5)
        return K.batch_norm_backward(g, x, mean, invstd, w, True)

    def np_fn():
        _, mean, invstd = ref.batch_norm_forward(x, w, b, *state["numpy"], True, 0.1, 1e-5)
        return ref.batch_norm_backward(g, x, mean, invstd, w, True)

    fns = {"eigengrad": eg_fn, "numpy": np_fn}
    if torch is not None:
        tx, tg, tw, tb = map(torch.from_numpy, (x, g, w, b))
        trm, trv = map(torch.from_numpy, state["torch"])
        aten = torch.ops.aten

        def torch_fn():
            _, mean, invstd = aten.native_batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5)
            return aten.native_batch_norm_backward(tg, tx, tw, trm, trv, mean, invstd, True, 1e-5, [True, True, True])
        fns["torch"] = torch_fn
    return fns


CASES = {"layer": layer_case, "kernels": kernel_case}


def label(layer: str) -> str:
    return f"{layer} {'x'.join(map(str, SHAPES[layer]))}"


# the NumPy reference has no autograd: no numpy column at the layer level
ROWS = [(layer, level, impl) for layer in SHAPES for level in CASES for impl in IMPLS
        if not (level == "layer" and impl == "numpy")]


@pytest.mark.parametrize("layer,level,impl", ROWS, ids=["-".join(r) for r in ROWS])
def test_norm_forward_backward(bench, layer, level, impl):
    bench(f"{label(layer)} fwd+bwd ({level})", CASES[level](layer), impl)


# --- the table (python bench/bench_norm.py) -----------------------------------------------------------

def measure_rounds(fns: dict, rounds: int, block_s: float, settle_s: float = 0.03) -> tuple:
    """cases.paired_rounds with a calibrated block of ~``block_s`` of calls (after one warm call) as one
    sample."""
    import timeit

    import cases
    import report

    numbers = {id(fn): report.calibrate(fn, block_s) for fn in fns.values()}

    def block(fn) -> float:
        fn()
        return timeit.timeit(fn, number=numbers[id(fn)]) / numbers[id(fn)]

    return cases.paired_rounds(fns, rounds, block, settle_s)


def main(argv=None) -> int:
    import cases
    import report

    p = cases.paired_parser("normalisation layers fwd+bwd: eigengrad vs NumPy reference vs torch")
    args = p.parse_args(argv)
    rounds = args.rounds or (7 if args.quick else 31)
    block_s = 0.005 if args.quick else 0.01
    cases.use_threads(args.threads)
    print(f"timing: {rounds} rounds of one ~{block_s * 1e3:.0f} ms block per implementation; times are medians, "
          f"ratios the median of the per-round ratios (> 1: eigengrad is faster)")
    widths = (31, 7, 14, 14, 8, 10, 8)
    row = cases.table_row(widths, left=2)
    cases.table_head(row, ["what", "level", "eigengrad (us)", "numpy ref (us)", "ref/eg", "torch (us)", "torch/eg"],
                     widths)
    misses = []
    for layer in SHAPES:
        for level in CASES:
            t, r = measure_rounds(CASES[level](layer), rounds, block_s)
            bn_mlp = layer == "BatchNorm1d"
            cells = [label(layer) + " fwd+bwd", level, report.us(t["eigengrad"]), report.us(t.get("numpy"))]
            for impl in ("numpy", "torch"):
                if impl in r:
                    target = TARGETS[impl] if bn_mlp else None
                    mark = "!" if target is not None and r[impl] < target else ""
                    cells.append(f"{r[impl]:.2f}x{mark}")
                    if mark:
                        misses.append(f"{label(layer)} ({level}) vs {impl}: {r[impl]:.2f}x < {TARGETS[impl]}x")
                else:
                    cells.append("-")
                if impl == "numpy":
                    cells.append(report.us(t.get("torch")))
            row(cells)
    print("below target: " + "; ".join(misses) if misses else "BatchNorm1d (128, 512) meets both targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
