"""What eg.compile's fusions and native executor gain: the same step compiled with and without them.

Two MLP steps (784-512-256-10), each compiled three times from the same weights and batch: the plan as
eg.compile makes it; one with the fusions switched off (compile/fuse.py's rewrite replaced by a no-op
while that plan is traced); one with the fusions but without the native executor (no kernel captured:
compile/native.py's table emptied while it is traced, so every kernel is a Python call, as before it); and
one with the optimizer's step as one call per group at the end (compile/fuse_optim.py's per-parameter
updates switched off):
- ``bn``: issue 19's step: BatchNorm1d, ReLU, Dropout 0.2 per hidden layer, label smoothing 0.1, AdamW
  (``batch_norm_relu_dropout_forward`` and ``relu_dropout_backward``);
- ``linear``: ReLU and Dropout 0.2 without BatchNorm, SGD momentum (``gemm_relu_dropout``: the GEMM's
  epilogue).
The plans give the same bits (tests/test_compile_fusion.py, tests/test_compile_native.py); here only
their times. Then the cross-entropy fusion (compile/fuse_loss.py) at the kernel level: the weighted,
label-smoothed loss's forward and backward as two calls against ``..._forward_backward`` (the same bits,
tests/test_compile_fuse_loss.py), logits (batch, classes) float32; and a CNN block's [BatchNorm ->] ReLU ->
MaxPool 2 (compile/fuse_pool.py) each way against the kernels it replaces, at the CNN example's two blocks
(batch 128: 32 x 28 x 28 and 64 x 14 x 14), float32.

Each round times ``--steps`` replays of each plan in turn (rotating order); the ratios are
medians over rounds of unfused / fused, of Python loop / native and of updates at the end / per parameter
(> 1: the fusion, or the executor, is faster).

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
NATIVE = importlib.import_module("eigengrad.compile.native")
BATCHES = (32, 128, 1024)


def _model(kind: str):
    if kind == "bn":
        block = lambda w: [nn.BatchNorm1d(w), nn.ReLU(), nn.Dropout(0.2)]  # noqa: E731
    else:
        block = lambda w: [nn.ReLU(), nn.Dropout(0.2)]  # noqa: E731
    return nn.Sequential(nn.Linear(784, 512), *block(512), nn.Linear(512, 256), *block(256), nn.Linear(256, 10))


def compiled_step(kind: str, n: int, fused: bool, native: bool = True, updates: bool = True):
    """(one replay, the plan): the model from seed 0, one fixed batch, traced and verified. ``fused``: the
    activation fusions; ``updates``: each parameter's update as soon as its gradient is final."""
    eg.manual_seed(0)
    model = _model(kind)
    if kind == "bn":
        opt, loss_fn = eg.optim.AdamW(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(label_smoothing=0.1)
    else:
        opt, loss_fn = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()
    step = training_step(model, opt, loss_fn)
    rng = np.random.default_rng(0)
    x, y = eg.from_numpy(randn(rng, n, 784)), eg.from_numpy(rng.integers(0, 10, n))
    real, capturable, real_updates = PLAN.fuse_activations, NATIVE._capturable, PLAN.fuse_updates
    fn = eg.compile(step)
    try:
        if not fused:
            PLAN.fuse_activations = lambda ops, buffers: 0
        if not native:
            NATIVE._capturable = set
        if not updates:
            PLAN.fuse_updates = lambda ops, buffers: (ops, [])
        for _ in range(5):  # trace, trace again, verify, replay
            fn(x, y)
    finally:
        PLAN.fuse_activations, NATIVE._capturable, PLAN.fuse_updates = real, capturable, real_updates
    assert fn.fallback_reason is None
    return (lambda: fn(x, y)), list(fn._plans.values())[-1].plan


def main(argv=None) -> None:
    p = paired_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="replays in one sample (default: ~0.1 s of them)")
    args = p.parse_args(argv)
    use_threads(args.threads)
    rounds = args.rounds or (5 if args.quick else 15)
    print(f"CPU {eg.get_config()['cpu']}, level {eg.backends.cpu.get_cpu_capability()}, {rounds} paired rounds")
    for kind in ("bn", "linear"):
        for n in BATCHES[:2] if args.quick else BATCHES:
            (fused, plan), (plain, unfused_plan) = compiled_step(kind, n, True), compiled_step(kind, n, False)
            loop, loop_plan = compiled_step(kind, n, True, native=False)
            at_end, end_plan = compiled_step(kind, n, True, updates=False)
            assert plan.fused == loop_plan.fused == 2 and unfused_plan.fused == 0
            assert plan.native.captured > 0 and loop_plan.native.captured == 0
            assert len(plan.fused_updates) == 1 and not end_plan.fused_updates
            t0 = time.perf_counter()
            fused()
            steps = args.steps or max(2, int(0.1 / max(time.perf_counter() - t0, 1e-4)))

            med, ratio = paired_rounds({"eigengrad": fused, "unfused": plain, "loop": loop, "at_end": at_end}, rounds,
                                       _sample(steps), settle_s=0.05)
            print(f"{kind:6s} batch {n:5d}: compiled {med['eigengrad'] * 1e3:7.3f} ms | unfused "
                  f"{med['unfused'] * 1e3:7.3f} ms | Python loop {med['loop'] * 1e3:7.3f} ms | updates at the end "
                  f"{med['at_end'] * 1e3:7.3f} ms | medians of rounds: unfused / fused {ratio['unfused']:.3f}x, "
                  f"Python loop / native {ratio['loop']:.3f}x, updates at the end / per parameter "
                  f"{ratio['at_end']:.3f}x", flush=True)
    loss_kernels(rounds)
    pool_kernels(rounds)


LOSS_SHAPES = ((32, 10), (1024, 10), (256, 1000), (1024, 1000))


def loss_kernels(rounds: int) -> None:
    C = eg._kernels._C
    for n, c in LOSS_SHAPES:
        rng = np.random.default_rng(0)
        x, t = randn(rng, n, c), rng.integers(0, c, n).astype(np.int64)
        w, scale = rng.uniform(0.5, 2.0, c).astype(np.float32), np.full(n, 1.0 / n, np.float32)
        loss, lse, grad = np.empty(n, np.float32), np.empty(n, np.float32), np.empty_like(x)

        def two():
            C.weighted_softmax_cross_entropy_forward(x, t, w, 0.1, loss, lse)
            C.weighted_softmax_cross_entropy_backward(x, t, w, 0.1, lse, scale, grad)

        def fused():
            C.weighted_softmax_cross_entropy_forward_backward(x, t, w, 0.1, loss, lse, scale, grad)

        med, ratio = paired_rounds({"eigengrad": fused, "two": two}, rounds, _sample(max(20, 2_000_000 // (n * c))),
                                   settle_s=0.02)
        print(f"cross-entropy fwd+bwd ({n:4d}, {c:4d}): fused {med['eigengrad'] * 1e6:8.1f} us | two calls "
              f"{med['two'] * 1e6:8.1f} us | two / fused {ratio['two']:.3f}x", flush=True)


POOL_BLOCKS = ((128, 32, 28, 28), (128, 64, 14, 14))


def _sample(calls: int):
    def sample(fn):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - t0) / calls
    return sample


def pool_kernels(rounds: int) -> None:
    C = eg._kernels._C
    for n, c, h, w in POOL_BLOCKS:
        rng = np.random.default_rng(0)
        x = randn(rng, n, c, h * w)
        wt, b = np.ones(c, np.float32), np.zeros(c, np.float32)
        relu, sm, si = np.empty_like(x), np.empty(c), np.empty(c)
        y, idx = np.empty((n * c, h // 2, w // 2), np.float32), np.empty((n * c, h // 2, w // 2), np.int64)
        g, d, out = randn(rng, *y.shape), np.empty((n * c, h, w), np.float32), np.empty((n * c, h, w), np.float32)

        def forward_two():
            C.batch_norm_relu_forward(x, wt, b, None, None, relu, sm, si, 0.1, 1e-5)
            C.max_pool2d_forward(relu.reshape(n * c, h, w), y, idx, 2, 2, 0, 1, False)

        def forward_fused():
            C.batch_norm_relu_max_pool2d_forward(x, wt, b, None, None, y, idx, sm, si, 0.1, 1e-5, (h, w), 2, 2, 0, 1,
                                                 False)

        def backward_two():
            C.max_pool2d_backward(g, idx, d)
            C.relu_backward(d.reshape(-1), relu.reshape(-1), out.reshape(-1))

        def backward_fused():
            C.max_pool2d_relu_backward(g, idx, y, out)

        for way, fused, two in (("forward", forward_fused, forward_two), ("backward", backward_fused, backward_two)):
            med, ratio = paired_rounds({"eigengrad": fused, "two": two}, rounds, _sample(5), settle_s=0.02)
            print(f"[BatchNorm ->] ReLU -> MaxPool {way:8s} {n} x {c} x {h} x {w}: "
                  f"fused {med['eigengrad'] * 1e3:6.2f} ms "
                  f"| separate {med['two'] * 1e3:6.2f} ms | separate / fused {ratio['two']:.3f}x", flush=True)


if __name__ == "__main__":
    main()
