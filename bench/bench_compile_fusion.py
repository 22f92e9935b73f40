"""What eg.compile's fusions gain: the same step compiled with and without compile/fuse.py's rewrites.

Two MLP steps (784-512-256-10), each compiled twice from the same weights and batch, one plan with the
fusions and one with them switched off (the rewrite replaced by a no-op while that plan is traced):
- ``bn``: issue 19's step: BatchNorm1d, ReLU, Dropout 0.2 per hidden layer, label smoothing 0.1, AdamW
  (``batch_norm_relu_dropout_forward`` and ``relu_dropout_backward``);
- ``linear``: ReLU and Dropout 0.2 without BatchNorm, SGD momentum (``gemm_relu_dropout``: the GEMM's
  epilogue).
Both plans give the same bits (tests/test_compile_fusion.py); here only their times. Each round times
``--steps`` replays of each plan in turn (rotating order); the ratio is the median over rounds of
unfused / fused (> 1: the fusion is faster).

    python bench/bench_compile_fusion.py [--threads N] [--rounds 15] [--quick]
"""
from __future__ import annotations

import importlib
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from cases import paired_parser, paired_rounds, randn, training_step, use_threads

PLAN = importlib.import_module("eigengrad.compile.plan")  # (eigengrad.compile is also the function's name)
BATCHES = (32, 128, 1024)


def _model(kind: str):
    if kind == "bn":
        block = lambda w: [nn.BatchNorm1d(w), nn.ReLU(), nn.Dropout(0.2)]  # noqa: E731
    else:
        block = lambda w: [nn.ReLU(), nn.Dropout(0.2)]  # noqa: E731
    return nn.Sequential(nn.Linear(784, 512), *block(512), nn.Linear(512, 256), *block(256), nn.Linear(256, 10))


def compiled_step(kind: str, n: int, fused: bool):
    """(one replay, the plan's fused block count): the model from seed 0, one fixed batch, traced and verified."""
    eg.manual_seed(0)
    model = _model(kind)
    if kind == "bn":
        opt, loss_fn = eg.optim.AdamW(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(label_smoothing=0.1)
    else:
        opt, loss_fn = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()
    step = training_step(model, opt, loss_fn)
    rng = np.random.default_rng(0)
    x, y = eg.from_numpy(randn(rng, n, 784)), eg.from_numpy(rng.integers(0, 10, n))
    real = PLAN.fuse_activations
    fn = eg.compile(step)
    try:
        if not fused:
            PLAN.fuse_activations = lambda ops, buffers: 0
        for _ in range(5):  # trace, trace again, verify, replay
            fn(x, y)
    finally:
        PLAN.fuse_activations = real
    assert fn.fallback_reason is None
    return (lambda: fn(x, y)), next(iter(fn._plans.values())).plan.fused


def main(argv=None) -> None:
    p = paired_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="replays in one sample (default: ~0.1 s of them)")
    args = p.parse_args(argv)
    use_threads(args.threads)
    rounds = args.rounds or (5 if args.quick else 15)
    print(f"CPU {eg.get_config()['cpu']}, level {eg.backends.cpu.get_cpu_capability()}, {rounds} paired rounds")
    for kind in ("bn", "linear"):
        for n in BATCHES[:2] if args.quick else BATCHES:
            (fused, blocks), (plain, none) = compiled_step(kind, n, True), compiled_step(kind, n, False)
            assert blocks == 2 and none == 0, (blocks, none)
            t0 = time.perf_counter()
            fused()
            steps = args.steps or max(2, int(0.1 / max(time.perf_counter() - t0, 1e-4)))

            def sample(fn):
                t = time.perf_counter()
                for _ in range(steps):
                    fn()
                return (time.perf_counter() - t) / steps

            med, ratio = paired_rounds({"eigengrad": fused, "unfused": plain}, rounds, sample, settle_s=0.05)
            print(f"{kind:6s} batch {n:5d}: fused {med['eigengrad'] * 1e3:7.3f} ms | unfused {med['unfused'] * 1e3:7.3f} ms"
                  f" | unfused / fused, median of rounds: {ratio['unfused']:.3f}x", flush=True)


if __name__ == "__main__":
    main()
