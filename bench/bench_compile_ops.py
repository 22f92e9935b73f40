"""Where a compiled step's time goes: each kernel of the plan timed on its own, summed by kernel name.

The CNN example's model (examples/fashion_mnist_cnn.py: 2 x (Conv3x3, BatchNorm2d, ReLU, MaxPool 2), Dropout,
Linear 3136-128-10) or issue 19's MLP (784-512-256-10 with BatchNorm, ReLU, Dropout 0.2), AdamW, label
smoothing 0.1, one fixed batch of random inputs. The step is compiled and replayed until its plan is
verified; then every op of the plan is called on its own from Python (its prebound arguments, as the plan
would run it) for ``--rounds`` replays, and the times are summed per kernel name. The compiled step's own
median time is printed beside the sum (the difference: the executor, the call's checks and timing).

    python bench/bench_compile_ops.py [--model cnn|mlp] [--batch 128] [--rounds 20] [--threads N]
"""
from __future__ import annotations

import argparse
import collections
import statistics
import time

import numpy as np

import eigengrad as eg
from bench_compile_cnn import load_example
from cases import randn, set_threads, training_step


def _mlp():
    nn = eg.nn
    return nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))


def compiled_plan(model_name: str, batch: int):
    """(one replay, the verified plan)."""
    eg.manual_seed(0)
    if model_name == "cnn":
        model, shape = load_example("fashion_mnist_cnn").build_model(eg, 0.25), (batch, 1, 28, 28)
    else:
        model, shape = _mlp(), (batch, 784)
    opt = eg.optim.AdamW(model.parameters(), lr=1e-3)
    fn = eg.compile(training_step(model, opt, eg.nn.CrossEntropyLoss(label_smoothing=0.1)))
    rng = np.random.default_rng(0)
    x, y = eg.from_numpy(randn(rng, *shape)), eg.from_numpy(rng.integers(0, 10, batch))
    for _ in range(5):  # trace, trace again, verify, replay
        fn(x, y)
    assert fn.fallback_reason is None, fn.fallback_reason
    return (lambda: fn(x, y)), list(fn._plans.values())[-1].plan


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    replay, plan = compiled_plan(args.model, args.batch)
    bound = plan._bind()
    per_op = collections.defaultdict(float)
    for _ in range(args.rounds):
        for op, b in zip(plan.ops, bound):
            if b is not None:
                fn, fargs = b
                t = time.perf_counter()
                fn(*fargs)
                per_op[op.name if op.kind != "draw" else "(random draws)"] += time.perf_counter() - t
    steps = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        replay()
        steps.append(time.perf_counter() - t)
    print(f"CPU {eg.get_config()['cpu']}, level {eg.backends.cpu.get_cpu_capability()}, threads "
          f"{eg.get_num_threads()}; {args.model} batch {args.batch}: compiled step {statistics.median(steps) * 1e3:.2f} ms "
          f"(median of {args.rounds})")
    total = sum(per_op.values()) / args.rounds
    for name, t in sorted(per_op.items(), key=lambda kv: -kv[1]):
        t /= args.rounds
        print(f"  {name:44s} {t * 1e3:8.3f} ms  {t / total:6.1%}")
    print(f"  {'sum':44s} {total * 1e3:8.3f} ms")


if __name__ == "__main__":
    main()
