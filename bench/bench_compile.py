"""The MLP training step compiled (eg.compile) vs eager eigengrad vs PyTorch eager.

The step of issue 19: MLP 784-512-256-10 with BatchNorm1d, ReLU and Dropout(0.2) after each hidden
Linear, CrossEntropyLoss(label_smoothing=0.1), AdamW (torch: fused=True where available, else the
default); zero_grad, forward, loss, backward, step. Each implementation trains its own model on one
fixed batch. Ratios are the median over paired rounds of (other's time / compiled time): > 1 means
the compiled step is faster. First increment: the plan is replayed by a Python loop over prebound
kernel calls (no fusion yet), so the figures show the autograd and module overhead it removes.

    python bench/bench_compile.py [--threads 1] [--quick] [--rounds N] [--clock cpu]
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

import eigengrad as eg
from cases import randn, torch

BATCHES = (32, 128, 1024)


def _model(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 10))


def _step(lib, n: int, rng, compiled: bool = False):
    model = _model(lib.nn)
    if lib is torch:
        try:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
        except (RuntimeError, TypeError):
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    else:
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = lib.from_numpy(randn(rng, n, 784))
    y = lib.from_numpy(rng.integers(0, 10, n, dtype=np.int64))

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step) if compiled else step
    return lambda: fn(x, y), fn


def compile_case(n: int, rng=None) -> tuple:
    rng = rng or np.random.default_rng(0)
    run, compiled = _step(eg, n, rng, compiled=True)
    fns = {"eigengrad": run, "eager": _step(eg, n, rng)[0]}
    if torch is not None:
        fns["torch"] = _step(torch, n, rng)[0]
    return fns, compiled


def main(argv=None) -> int:
    import cases
    from bench_conv import measure

    p = cases.paired_parser("MLP training step: eg.compile vs eager eigengrad vs torch eager")
    args = p.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    block_s = 0.1 if args.quick else 0.3
    cases.use_threads(args.threads)
    clock = cases.CLOCKS[args.clock]
    print(f"shared machine: figures are indicative. timing ({args.clock} clock): {rounds} paired rounds of one "
          f"~{block_s * 1e3:.0f} ms block per implementation; medians; ratios = median of per-round ratios "
          "(> 1: compiled is faster)")
    widths = (12, 14, 12, 10, 12, 10)
    row = cases.table_row(widths)
    cases.table_head(row, ["batch", "compiled (ms)", "eager (ms)", "eager/cmp", "torch (ms)", "torch/cmp"], widths)
    for n in BATCHES:
        fns, compiled = compile_case(n)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback would time eager mode twice: fail loudly instead
            for _ in range(5):  # trace (no gradients yet), trace twice, verify, replay: the timed calls replay
                fns["eigengrad"]()
        assert compiled.fallback_reason is None and compiled.replays > 0
        t, r = measure(fns, rounds, block_s, clock)
        ms = lambda v: "-" if v is None else f"{v * 1e3:.3f}"  # noqa: E731
        row([str(n), ms(t["eigengrad"]), ms(t["eager"]), f"{r['eager']:.2f}x", ms(t.get("torch")),
             f"{r['torch']:.2f}x" if "torch" in r else "-"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
