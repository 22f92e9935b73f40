"""What BatchNorm's batch statistics cost inside the MLP step: ``batch_norm_forward`` in training mode
(statistics, then the normalisation pass) against eval mode (the same pass with given statistics), at the
issue-19 MLP's BatchNorm1d shapes. The difference bounds what computing the statistics in the producing
GEMM's epilogue could save (docs/compile.md, "Next increments").

    python bench/bench_bn_statistics.py [--threads N] [--rounds R]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import eigengrad as eg
from eigengrad import _kernels as K

SHAPES = ((128, 512), (128, 256), (1024, 512), (1024, 256))


def per_call_us(fn, reps: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps * 1e6


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    if args.threads:
        eg.set_num_threads(args.threads)
    print(f"CPU {eg.get_config()['cpu']}, level {eg.backends.cpu.get_cpu_capability()}, threads "
          f"{eg.get_num_threads()}; medians of {args.rounds} interleaved rounds")
    rng = np.random.default_rng(0)
    for n, c in SHAPES:
        x = rng.standard_normal((n, c), dtype=np.float32)
        w, b = np.ones(c, np.float32), np.zeros(c, np.float32)
        mean, var = np.zeros(c, np.float32), np.ones(c, np.float32)
        times = {True: [], False: []}
        for _ in range(args.rounds):
            for training in (True, False):
                times[training].append(per_call_us(lambda: K.batch_norm_forward(x, w, b, mean, var, training, 0.1,
                                                                               1e-5)))
        train, evaluate = statistics.median(times[True]), statistics.median(times[False])
        print(f"BatchNorm1d ({n}, {c}): training {train:7.1f} us, eval {evaluate:7.1f} us, "
              f"statistics ~{train - evaluate:6.1f} us")


if __name__ == "__main__":
    main()
