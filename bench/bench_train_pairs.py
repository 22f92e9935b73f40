"""The MLP training step (784-512-256-10, ReLU, cross-entropy, SGD momentum) against PyTorch in paired rounds.

    python bench/bench_train_pairs.py [--threads N] [--rounds 31] [--steps 10] [--isa LEVEL]

report.py times each implementation as one block of repeats; on a 2-core machine a block's figure swings
with whatever else the machine did during it (20-40% between runs at 2 threads). Here a round times
``--steps`` consecutive steps of each implementation in turn (rotating order, a pause between them so the
other pool's idle workers stop spinning), and the figure is the median over rounds of the per-round ratio
torch / eigengrad: the number issue 15's step targets are checked with (>= 1.3x at
batch 128, >= 1.0x at batch 1024 on an AVX-512 host).
"""
from __future__ import annotations

import statistics
import time

from isa import add_isa_argument, apply_isa_option

apply_isa_option()

import eigengrad as eg  # noqa: E402
from cases import BATCHES, paired_parser, paired_rounds, train_case, use_threads  # noqa: E402


def main(argv=None) -> None:
    p = paired_parser(__doc__.splitlines()[0])
    add_isa_argument(p)
    p.add_argument("--steps", type=int, default=10, help="consecutive steps in one sample")
    args = p.parse_args(argv)
    use_threads(args.threads)
    rounds = args.rounds or (9 if args.quick else 31)
    print(f"CPU {eg.get_config()['cpu']}, level {eg.backends.cpu.get_cpu_capability()}, "
          f"{rounds} rounds of {args.steps} steps, clock {args.clock}")

    def sample(fn) -> float:
        t0 = time.perf_counter()
        for _ in range(args.steps):
            fn()
        return (time.perf_counter() - t0) / args.steps

    for n in BATCHES:
        fns = train_case(n)
        if "torch" not in fns:
            raise SystemExit("torch is not importable: nothing to pair with")
        for fn in fns.values():
            fn(), fn()  # warm-up: allocations, the optimizer's state, the thread pools
        medians, ratios = paired_rounds(fns, rounds, sample, settle_s=0.05)
        print(f"batch {n:5d}: eigengrad {medians['eigengrad'] * 1e3:7.2f} ms | torch {medians['torch'] * 1e3:7.2f} ms"
              f" | torch / eigengrad, median of rounds: {ratios['torch']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
