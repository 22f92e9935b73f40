"""Data parallel against threads on the same 2 cores: ``examples/fashion_mnist_ddp.py`` (the Fashion-MNIST MLP
784-512-256-10 with BatchNorm and dropout, AdamW, global batch 128) as 2 MPI ranks x 1 thread against
1 process x 2 threads.

    python bench/bench_ddp.py [--rounds 3] [--epochs 2] [--train-subset 20000] [--ranks 2]

Rounds alternate the two commands (which goes first alternates too); each epoch prints its training
throughput (samples/s of the global batch, wall clock); the figure is the median of the per-round ratios
of the epochs' median throughputs (ranks / threads). Needs mpi4py and mpiexec (pip install
"eigengrad[mpi]") and Fashion-MNIST. On a machine other processes share, both sides wait for cores: say so
with the figures.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, os.pardir, "examples", "fashion_mnist_ddp.py")
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))

from mpi_launch import environment, mpiexec  # noqa: E402


def throughput(cmd: list[str], env: dict) -> float:
    """The median over the epochs (the first left out when there are more) of the printed throughput."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    figures = [float(t.replace(",", "")) for t in re.findall(r"throughput ([\d,]+) samples/s", out)]
    return statistics.median(figures[1:] if len(figures) > 1 else figures)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-subset", type=int, default=20000)
    p.add_argument("--ranks", type=int, default=2)
    args = p.parse_args(argv)
    common = ["--epochs", str(args.epochs), "--train-subset", str(args.train_subset)]
    launcher = [mpiexec(), "-n", str(args.ranks)] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    ranks_cmd = launcher + [sys.executable, EXAMPLE] + common  # Open MPI binds each rank to a core: 1 thread each
    threads_cmd = [sys.executable, EXAMPLE, "--threads", str(args.ranks)] + common
    env = environment()
    import eigengrad as eg
    from eigengrad._isa import cpu_model

    print(f"{cpu_model()}, {os.cpu_count()} cores, level {eg.backends.cpu.get_cpu_capability()}; load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)
    ranks, threads = [], []
    for r in range(args.rounds):
        pair = [(ranks, ranks_cmd), (threads, threads_cmd)]
        for figures, cmd in (pair if r % 2 == 0 else pair[::-1]):
            figures.append(throughput(cmd, env))
        print(f"round {r + 1}: {args.ranks} ranks x 1 thread {ranks[-1]:,.0f} samples/s | 1 process x {args.ranks} "
              f"threads {threads[-1]:,.0f} samples/s", flush=True)
    ratios = [a / b for a, b in zip(ranks, threads)]
    print(f"median: {args.ranks} ranks x 1 thread {statistics.median(ranks):,.0f} samples/s, 1 process x {args.ranks} "
          f"threads {statistics.median(threads):,.0f} samples/s; ranks / threads {statistics.median(ratios):.2f}x "
          "(rounds: " + ", ".join(f"{x:.2f}" for x in ratios) + f"); load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
