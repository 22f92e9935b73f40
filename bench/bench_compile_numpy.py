"""Training steps whose loss computes in NumPy primitives: eg.compile (each such primitive one plan step,
compile/opaque.py) vs eager eigengrad vs PyTorch eager.

MLP 784-256-10 with ReLU, Adam, batch 128 (``--batch``), one fixed batch; the losses are those a PyTorch
script writes by hand: NLL on log_softmax, MSE of the softmax against one_hot targets, cross-entropy plus an
exp term and an L2 penalty over the parameters (pow, sum), smooth-L1 against one_hot plus a sin term. Before
these steps compiled they fell back to eager mode, so the compiled column was the eager one. Ratios are the
median over paired rounds of (other's time / compiled time): > 1 means the compiled step is faster.

    python bench/bench_compile_numpy.py [--threads 1] [--quick] [--rounds N] [--clock cpu] [--batch 128]
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

import eigengrad as eg
from cases import randn, torch


def _nll_log_softmax(lib, m, x, y):
    return lib.nn.functional.nll_loss(lib.nn.functional.log_softmax(m(x), dim=1), y)


def _mse_one_hot(lib, m, x, y):
    F = lib.nn.functional
    return F.mse_loss(F.softmax(m(x), dim=1), F.one_hot(y, 10).to(x.dtype))


def _exp_l2(lib, m, x, y):
    out = m(x)
    return (lib.nn.functional.cross_entropy(out, y) + 1e-3 * out.exp().mean()
            + 1e-4 * sum(p.pow(2).sum() for p in m.parameters()))


def _smooth_l1_sin(lib, m, x, y):
    out = m(x)
    return lib.nn.functional.smooth_l1_loss(out, lib.nn.functional.one_hot(y, 10).to(x.dtype)) + out.sin().pow(2).mean()


LOSSES = {"nll(log_softmax)": _nll_log_softmax, "mse(softmax, one_hot)": _mse_one_hot,
          "ce + exp + L2 penalty": _exp_l2, "smooth_l1 + sin": _smooth_l1_sin}


def _step(lib, loss, x: np.ndarray, y: np.ndarray, compiled: bool = False, init=None):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(784, 256), lib.nn.ReLU(), lib.nn.Linear(256, 10))
    if init is not None:
        model.load_state_dict({k: lib.from_numpy(np.array(v.numpy(), copy=True)) for k, v in init.state_dict().items()})
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)

    def step(xb, yb):
        opt.zero_grad()
        value = loss(lib, model, xb, yb)
        value.backward()
        opt.step()
        return value

    fn = eg.compile(step) if compiled else step
    return (lambda: fn(xt, yt)), fn, model


def main(argv=None) -> int:
    import cases
    from bench_conv import measure

    p = cases.paired_parser("steps with NumPy primitives: eg.compile vs eager eigengrad vs torch eager")
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    block_s = 0.1 if args.quick else 0.3
    cases.use_threads(args.threads)
    clock = cases.CLOCKS[args.clock]
    print(f"shared machine: figures are indicative. batch {args.batch}; timing ({args.clock} clock): {rounds} paired "
          f"rounds of one ~{block_s * 1e3:.0f} ms block per implementation; medians; ratios = median of per-round "
          "ratios (> 1: compiled is faster)")
    widths = (22, 14, 11, 10, 11, 10, 12)
    row = cases.table_row(widths)
    cases.table_head(row, ["loss", "compiled (ms)", "eager (ms)", "eager/cmp", "torch (ms)", "torch/cmp",
                           "numpy steps"], widths)
    rng = np.random.default_rng(0)
    x, y = randn(rng, args.batch, 784), rng.integers(0, 10, args.batch, dtype=np.int64)
    for name, loss in LOSSES.items():
        run, compiled, model = _step(eg, loss, x, y, compiled=True)
        fns = {"eigengrad": run, "eager": _step(eg, loss, x, y, init=model)[0]}
        if torch is not None:
            fns["torch"] = _step(torch, loss, x, y, init=model)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback would time eager mode twice: fail loudly instead
            for _ in range(5):
                fns["eigengrad"]()
        assert compiled.fallback_reason is None and compiled.replays > 0
        plan = next(iter(compiled._plans.values())).plan
        steps = sum(op.table == "P" for op in plan.ops)
        t, r = measure(fns, rounds, block_s, clock)
        ms = lambda v: "-" if v is None else f"{v * 1e3:.3f}"  # noqa: E731
        ratio = lambda k: f"{r[k]:.2f}x" if k in r else "-"  # noqa: E731
        row([name, ms(t["eigengrad"]), ms(t["eager"]), ratio("eager"), ms(t.get("torch")), ratio("torch"), str(steps)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
