"""One training step of an MLP 784-512-256-10 (ReLU): zero_grad, forward, cross-entropy, backward, SGD momentum."""
import pytest

from cases import BATCHES, train_case


@pytest.mark.parametrize("impl", ("eigengrad", "torch"))
@pytest.mark.parametrize("n", BATCHES, ids=lambda n: f"batch{n}")
def test_train_step(bench, n, impl):
    bench(f"train step batch {n}", train_case(n), impl)
