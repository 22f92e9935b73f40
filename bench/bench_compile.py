"""The MLP training step compiled (eg.compile) vs eager eigengrad vs PyTorch eager vs JAX jit + Optax.

The step of issue 19: MLP 784-512-256-10 with BatchNorm1d, ReLU and Dropout(0.2) after each hidden
Linear, CrossEntropyLoss(label_smoothing=0.1), AdamW (torch: fused=True where available, else the
default; JAX: the same step hand-written over jax.numpy with optax.adamw, one jitted function, see
bench_compile_jax.py); zero_grad, forward, loss, backward, step. Each implementation trains its own
model on one fixed batch, all from the same initial weights. Ratios are the median over paired rounds
of (other's time / compiled time): > 1 means the compiled step is faster. The plan is replayed by a
Python loop over prebound kernel calls (no fusion yet), so the figures show the autograd and module
overhead it removes.

JAX is optional (its columns show "-" with the reason printed when it is not importable; --no-jax
leaves it out). Before timing, a check runs one step of eigengrad and of the JAX step from the same
weights with dropout off and prints both losses, how far the gradients and running statistics differ
and how many updated parameters agree (bench_compile_jax.check); it stops the run when they disagree.

    python bench/bench_compile.py [--threads 1] [--quick] [--rounds N] [--clock cpu] [--no-jax]
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

import eigengrad as eg
from cases import randn, torch, training_step

BATCHES = (32, 128, 1024)


def _model(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 10))


def _step(lib, x: np.ndarray, y: np.ndarray, compiled: bool = False, init=None):
    """(one step, the compiled function or the plain one, the model); ``init``: a model whose
    weights and buffers the new one starts from."""
    model = _model(lib.nn)
    if init is not None:
        model.load_state_dict({k: lib.from_numpy(np.array(v.numpy(), copy=True))
                               for k, v in init.state_dict().items()})
    if lib is torch:
        try:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
        except (RuntimeError, TypeError):
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    else:
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    step = training_step(model, opt, lib.nn.CrossEntropyLoss(label_smoothing=0.1))
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    fn = eg.compile(step) if compiled else step
    return lambda: fn(x, y), fn, model


def jax_or_reason(args):
    """(jax, optax) or None, printing why JAX is left out; checks that its step computes eigengrad's."""
    if args.no_jax:
        print("jax: left out (--no-jax)")
        return None
    import bench_compile_jax

    jax, optax = bench_compile_jax.load(args.threads)
    if jax is None:
        print(f"jax: skipped: {optax}")
        return None
    c = bench_compile_jax.check(jax, optax)
    print(f"jax {jax.__version__}, optax {optax.__version__}: one step from the same weights, dropout off: loss "
          f"eigengrad {c['eigengrad loss']:.6f}, jax {c['jax loss']:.6f}; gradients agree within "
          f"{c['gradients']:.1e} and running statistics within {c['running statistics']:.1e} (relative to each "
          f"array's largest value), {c['parameters']:.4%} of the updated parameters within 1e-6 (the biases "
          "before BatchNorm, whose exact gradient is zero, left out)")
    if abs(c["eigengrad loss"] - c["jax loss"]) > 1e-5 * abs(c["eigengrad loss"]) + 1e-6 or \
            max(c["gradients"], c["running statistics"]) > 1e-4 or c["parameters"] < 0.999:
        raise SystemExit("the JAX step does not compute eigengrad's step: not timing it")
    return jax, optax


def compile_case(n: int, rng=None, jax_optax=None) -> tuple:
    """({implementation: one step}, the compiled function): compiled and eager eigengrad, torch when
    importable, JAX when ``jax_optax`` is (jax, optax). Every model starts from the same weights (the
    compiled one's), and every step trains on the same batch."""
    rng = rng or np.random.default_rng(0)
    x = randn(rng, n, 784)
    y = rng.integers(0, 10, n, dtype=np.int64)
    run, compiled, model = _step(eg, x, y, compiled=True)
    fns = {"eigengrad": run, "eager": _step(eg, x, y, init=model)[0]}
    if torch is not None:
        fns["torch"] = _step(torch, x, y, init=model)[0]
    if jax_optax is not None:
        import bench_compile_jax

        fns["jax"] = bench_compile_jax.runner(*jax_optax, model, x, y)
    return fns, compiled


def main(argv=None) -> int:
    import cases
    from bench_conv import measure

    p = cases.paired_parser("MLP training step: eg.compile vs eager eigengrad vs torch eager vs JAX jit")
    p.add_argument("--no-jax", action="store_true", help="leave JAX out")
    args = p.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    block_s = 0.1 if args.quick else 0.3
    cases.use_threads(args.threads)
    jax_optax = jax_or_reason(args)
    clock = cases.CLOCKS[args.clock]
    print(f"shared machine: figures are indicative. timing ({args.clock} clock): {rounds} paired rounds of one "
          f"~{block_s * 1e3:.0f} ms block per implementation; medians; ratios = median of per-round ratios "
          "(> 1: compiled is faster)")
    widths = (6, 14, 11, 10, 11, 10, 10, 8)
    row = cases.table_row(widths)
    cases.table_head(row, ["batch", "compiled (ms)", "eager (ms)", "eager/cmp", "torch (ms)", "torch/cmp",
                           "jax (ms)", "jax/cmp"], widths)
    for n in BATCHES:
        fns, compiled = compile_case(n, jax_optax=jax_optax)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback would time eager mode twice: fail loudly instead
            for _ in range(5):  # trace (no gradients yet), trace twice, verify, replay: the timed calls replay
                fns["eigengrad"]()
        assert compiled.fallback_reason is None and compiled.replays > 0
        t, r = measure(fns, rounds, block_s, clock)
        ms = lambda v: "-" if v is None else f"{v * 1e3:.3f}"  # noqa: E731
        x = lambda k: f"{r[k]:.2f}x" if k in r else "-"  # noqa: E731
        row([str(n), ms(t["eigengrad"]), ms(t["eager"]), x("eager"), ms(t.get("torch")), x("torch"),
             ms(t.get("jax")), x("jax")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
