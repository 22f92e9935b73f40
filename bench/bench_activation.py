"""Activations, float32, forward y = f(x) and backward dx from (dy, y): eigengrad vs reference vs torch."""
import pytest

from cases import ACT_SHAPES, ACTIVATIONS, IMPLS, activation_case


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("direction", ("forward", "backward"))
@pytest.mark.parametrize("shape", ACT_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activation(bench, kind, shape, direction, impl):
    bench(f"{kind} {direction} {shape[0]}x{shape[1]}", activation_case(kind, direction, shape), impl)
