"""One optimizer.step() of every update rule (float32), eigengrad.optim vs the NumPy reference
(eigengrad.reference.ReferenceOptimizer, per tensor) vs torch.optim (fused=True where PyTorch has it),
on 10 tensors of 1M parameters and on the six tensors of an MLP 784-512-256-10 (535,818 parameters)."""
import pytest

from cases import IMPLS, OPTIM_LAYOUTS, OPTIM_RULES, optim_case


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("layout", OPTIM_LAYOUTS)
@pytest.mark.parametrize("rule", OPTIM_RULES)
def test_optimizer_step(bench, rule, layout, impl):
    bench(f"{rule}.step(): {layout}", optim_case(rule, layout), impl)
