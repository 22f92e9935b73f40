"""The thread policy on a busy machine: ``python -m eigengrad train`` at the default thread count against
``--threads 1``, with another process spinning on one of the cores (issue 15: at most 1.5x).

    python bench/bench_busy.py [--rounds 5] [--isa LEVEL] [--quiet-too]

Rounds alternate the two commands; the figure is the median of the per-round ratios (default / one
thread), with the wall times. --quiet-too runs the same rounds without the busy process first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from isa import add_isa_argument, apply_isa_option

apply_isa_option()

import eigengrad as eg  # noqa: E402

SPIN = "import os\nos.sched_setaffinity(0, {%d})\nwhile True:\n    pass\n"


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rounds(n: int) -> tuple[list[float], list[float]]:
    train = [sys.executable, "-m", "eigengrad", "train"]
    default, one = [], []
    for r in range(n):
        pair = [(default, train), (one, train + ["--threads", "1"])]
        for times, cmd in (pair if r % 2 == 0 else pair[::-1]):
            times.append(timed(cmd))
    return default, one


def report(label: str, default: list[float], one: list[float]) -> None:
    ratios = [d / o for d, o in zip(default, one)]
    print(f"{label:28s} default {statistics.median(default):6.2f} s | --threads 1 {statistics.median(one):6.2f} s"
          f" | default / one thread: median {statistics.median(ratios):.2f}x (rounds: "
          + ", ".join(f"{r:.2f}" for r in ratios) + ")", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quiet-too", action="store_true", help="also time both without the busy process")
    add_isa_argument(p)
    args = p.parse_args(argv)
    cfg = eg.get_config()
    print(f"CPU {cfg['cpu']}, level {cfg['isa']}, {os.cpu_count()} CPUs, default threads {eg.get_num_threads()}, "
          f"load {os.getloadavg()[0]:.2f} at start")
    if "OMP_NUM_THREADS" in os.environ:
        print("warning: OMP_NUM_THREADS is set, so the default count is explicit and does not adapt")
    if args.quiet_too:
        report("without a busy process", *rounds(args.rounds))
    cores = sorted(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", SPIN % cores[-1]])
    try:
        time.sleep(0.5)
        report(f"busy process on CPU {cores[-1]}", *rounds(args.rounds))
    finally:
        spinner.kill()


if __name__ == "__main__":
    main()
