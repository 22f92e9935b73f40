"""Data-parallel training over MPI: the tests of tests/distributed/ on 2 ranks (the collectives also on
3), failure scenarios, and ``python -m eigengrad train --distributed``, each launched with mpiexec.
Skipped, with the reason, when mpi4py or an MPI launcher is missing (``pip install "eigengrad[mpi]"``)."""
import re
import time

import pytest

from mpi_launch import launch, needs_mpi
from real_data import needs_fashion_mnist
from source_tree import ROOT, needs_source_file

pytestmark = needs_mpi


def _pytest_on(ranks: int, *args: str) -> str:
    done = launch(ranks, "-m", "pytest", *args, "-q", "-x", "-p", "no:cacheprovider", "--color=no", timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    summaries = re.findall(r"(\d+) passed", done.stdout)
    assert len(summaries) == ranks and len(set(summaries)) == 1, output[-4000:]  # every rank ran every test
    return output


def test_distributed_suite_on_two_ranks():
    _pytest_on(2, "distributed")


def test_sums_on_three_ranks_take_the_fixed_order_path():
    _pytest_on(3, "distributed/test_dist_collectives.py", "-k", "rank_order and (SUM or AVG or PRODUCT) or async")


@pytest.mark.parametrize("mode, message", [
    ("kill", r"rank 1\b.*(signal 9|killed)"),  # the launcher names the rank that died
    ("raise", r"rank 1 of 2 raised RuntimeError: rank 1 failed on purpose; aborting all ranks"),
    ("hang", r"rank 0: all_reduce of gradient bucket 0 did not complete within 3 s"),
])
def test_a_failing_rank_ends_the_job_with_an_error_naming_it_within_30_s(mode, message):
    start = time.monotonic()
    done = launch(2, "distributed/scenario_failure.py", mode, "3", timeout=120)
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-4000:]
    assert f"rank 1: failing ({mode}) in batch 2 of epoch 1" in done.stdout
    assert "finished" not in done.stdout  # neither rank went on
    assert re.search(message, output, re.I | re.S), output[-4000:]
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"


def test_train_command_on_two_ranks():
    done = launch(2, "-m", "eigengrad", "train", "--distributed", "--epochs", "3", "--quiet", timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert done.stdout.count("test accuracy") == 1  # rank 0 reports
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", done.stdout).group(1))
    assert accuracy > 0.85  # digits, 3 epochs: 0.95 here (one process: 0.93)



@needs_fashion_mnist
@needs_source_file("examples/fashion_mnist_ddp.py")
def test_fashion_mnist_ddp_example_on_two_ranks():
    done = launch(2, str(ROOT / "examples" / "fashion_mnist_ddp.py"), "--epochs", "1", "--train-subset", "6000",
                  "--hidden", "128", "--sync-bn", timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "2 rank(s) x 1 thread(s), global batch 128, SyncBatchNorm" in done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith("epoch  1")]
    assert len(lines) == 1  # printed by rank 0
    assert float(lines[0].split("test accuracy ")[1].split()[0]) > 0.7  # chance is 0.1; 10 full epochs: ~0.89
