"""The CNN example's training epoch: eigengrad compiled (eg.compile) vs eigengrad eager vs PyTorch eager.

The model and recipe of examples/fashion_mnist_cnn.py (2 x (Conv3x3, BatchNorm2d, ReLU, MaxPool 2),
Dropout 0.25, Linear 3136-128-10; AdamW in two groups (no decay for biases and 1-D parameters) with a
one-cycle schedule, label smoothing 0.1, batch 128), built by the example's own ``Trainer`` (with
``--compile`` for the compiled one). Each round runs one epoch of each implementation, in a rotating
order, over the same shuffled batches; the times are medians and the ratios medians of the per-round
ratios (> 1: the compiled epoch is faster). The target of issue 19 is torch/compiled >= 2.

Data: Fashion-MNIST when it is installed (eg.datasets.fashion_mnist; Debian's dataset-fashion-mnist),
else random images of the same shape (said in the output; the times do not depend on the values).

    python bench/bench_compile_cnn.py [--threads 1] [--clock cpu] [--rounds N] [--train-subset N] [--quick]
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import warnings

import numpy as np

import eigengrad as eg
from cases import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_example(name: str):
    """examples/<name>.py as a module (the examples are scripts beside bench/)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, os.pardir, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(example, args) -> tuple[np.ndarray, np.ndarray, str]:
    """(images (N, 1, 28, 28) float32, labels, what they are)."""
    try:
        (x, y), _ = example.load_data(args)
        return x, y, f"Fashion-MNIST ({len(x)} training images)"
    except (FileNotFoundError, OSError) as exc:
        n = args.train_subset or 60000
        rng = np.random.default_rng(0)
        return (rng.standard_normal((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n, dtype=np.int64),
                f"random images ({n}; Fashion-MNIST not found: {str(exc).splitlines()[0][:120]})")


def trainers(example, args, steps: int) -> dict:
    """{name: the example's Trainer}: compiled and eager eigengrad from the same seed, torch when importable."""
    out = {}
    for name, compiled in (("eigengrad", True), ("eager", False)):
        eg.manual_seed(args.seed)
        args.compile = compiled
        out[name] = example.Trainer(eg, args, steps)
    if torch is not None:
        torch.manual_seed(args.seed)
        out["torch"] = example.Trainer(torch, args, steps)
    return out


def main(argv=None) -> int:
    import cases

    p = cases.paired_parser("CNN example's training epoch: eg.compile vs eager eigengrad vs torch eager")
    p.add_argument("--train-subset", type=int, default=None,
                   help="images per epoch (default: all 60,000; --quick: 1,024)")
    args = p.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    subset = args.train_subset or (1024 if args.quick else None)
    cases.use_threads(args.threads)
    example = load_example("fashion_mnist_cnn")
    eargs = example.parse_args(["--epochs", str(rounds + 1)] + (["--train-subset", str(subset)] if subset else []))
    x, y, what = data(example, eargs)
    steps = len(x) // eargs.batch_size
    fns = trainers(example, eargs, steps)
    clock = cases.CLOCKS[args.clock]
    gen = eg.Generator(eargs.seed)
    print(f"shared machine: figures are indicative. data: {what}; {steps} steps of batch {eargs.batch_size} an epoch; "
          f"{rounds} paired rounds of one epoch per implementation after a warm-up epoch ({args.clock} clock); "
          "medians; ratios = median of per-round ratios (> 1: compiled is faster)")
    times = {k: [] for k in fns}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback would time eager mode twice: fail loudly instead
        for r in range(rounds + 1):
            batches = list(example.epoch_batches(x, y, eargs.batch_size, gen, None))
            order = list(fns)
            for k in order[r % len(order):] + order[:r % len(order)]:
                start = clock()
                loss, _ = fns[k].epoch(batches)
                if r:  # the first epoch warms up (traces, verifies; allocations; oneDNN's caches)
                    times[k].append(clock() - start)
                print(f"  round {r}{' (warm-up)' if not r else ''}: {k:9s} {clock() - start:7.2f} s  loss {loss:.4f}",
                      flush=True)
    compiled = fns["eigengrad"].step
    assert compiled.fallback_reason is None and compiled.replays > 0, compiled.fallback_reason
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in fns:
        if k == "eigengrad":
            continue
        ratio = statistics.median(o / e for o, e in zip(times[k], times["eigengrad"]))
        print(f"epoch: compiled {med['eigengrad']:.2f} s, {k} {med[k]:.2f} s: {k}/compiled = {ratio:.2f}x"
              + ("  (target >= 2.0x)" if k == "torch" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
