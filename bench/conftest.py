"""Threads and the ``bench`` fixture of the benchmark suite (cases are built in cases.py)."""
import time

import pytest

import eigengrad as eg

import cases


def pytest_addoption(parser):
    parser.addoption("--threads", type=int, default=None,
                     help="threads for eigengrad, torch and NumPy's OpenBLAS alike (default: eigengrad's default)")


def pytest_configure(config):
    cases.set_threads(config.getoption("--threads") or eg.get_num_threads())


def pytest_report_header(config):
    c = eg.get_config()
    return [f"eigengrad {c['version']} (SIMD {c['simd']}, OpenMP {c['openmp']}), torch: {cases.torch is not None}",
            f"threads: {cases.thread_counts()}"]


@pytest.fixture
def bench(benchmark):
    """``bench(group, fns, impl)``: time ``fns[impl]`` in pytest-benchmark group ``group``."""
    def run(group, fns, impl):
        if impl not in fns:
            why = ("torch is not installed here (pip install torch==2.13.0)" if impl == "torch" and cases.torch is None
                   else f"{impl} has no counterpart of this operation to time")
            pytest.skip(f"{impl} column left out: {why}")
        benchmark.group = group
        benchmark.extra_info["impl"] = impl
        time.sleep(0.15)  # the previous test's idle thread pool (OpenBLAS's or OpenMP's) stops spinning
        benchmark(fns[impl])
    return run
