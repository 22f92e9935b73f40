"""float32 GEMM: eigengrad vs the NumPy reference (``@``) vs torch, square and at the MLP's layer shapes."""
import pytest

from cases import BATCHES, GEMM_KINDS, IMPLS, MLP_LAYERS, SQUARE, gemm_case, gemm_label, square_gemm_case


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n", SQUARE)
def test_square(bench, n, impl):
    bench(f"gemm square {n}x{n} @ {n}x{n}", square_gemm_case(n), impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", GEMM_KINDS)
@pytest.mark.parametrize("layer", MLP_LAYERS, ids=lambda layer: f"{layer[0]}-{layer[1]}")
@pytest.mark.parametrize("n", BATCHES, ids=lambda n: f"batch{n}")
def test_mlp_layer(bench, n, layer, kind, impl):
    bench(f"gemm {kind}: {gemm_label(kind, n, *layer)}", gemm_case(kind, n, *layer), impl)
