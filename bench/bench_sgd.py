"""SGD step over the parameters of an MLP 784-512-256-10 (535,818 float32), plain and momentum 0.9 + wd."""
import pytest

from cases import IMPLS, SGD_CONFIGS, sgd_flat_case, sgd_optimizer_case


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_flat(bench, config, impl):
    """The kernel and the reference on one flat buffer; torch.optim.SGD (foreach) on the six tensors."""
    bench(f"sgd step {config}: flat buffer", sgd_flat_case(config), impl)


@pytest.mark.parametrize("impl", ("eigengrad", "torch"))
@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_optimizer_step(bench, config, impl):
    """The whole ``optimizer.step()``: eg.optim.SGD vs torch.optim.SGD, gradients present."""
    bench(f"sgd step {config}: optimizer.step()", sgd_optimizer_case(config), impl)
