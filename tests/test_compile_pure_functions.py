"""``eg.compile`` over a function that reads no module or optimizer (``@torch.compile def f(x): ...``), and
with torch.compile's keyword arguments (mode=, fullgraph=, backend=): it traced nothing before (a crash at
the first call); ``torch.compiler``'s helpers."""
import numpy as np

import eigengrad as eg


def test_a_pure_function_compiles_and_replays():
    @eg.compile(mode="max-autotune")
    def f(x):
        return x * 2 + 1

    outs = [f(eg.ones(2) * i).numpy().tolist() for i in range(4)]
    assert outs == [[1.0, 1.0], [3.0, 3.0], [5.0, 5.0], [7.0, 7.0]] and f.replays >= 1

    @eg.compile
    def g(x, y):
        return (x @ y).relu().sum()

    assert [g(eg.ones(2, 3), eg.ones(3, 2) * i).item() for i in (-1, 1, 2, 3)] == [0.0, 12.0, 24.0, 36.0]


def test_compiler_helpers():
    seen = []

    @eg.compiler.disable
    def helper(x):
        seen.append(eg.compiler.is_compiling())
        return x + 1

    @eg.compile
    def step(x):
        return helper(x) * 3

    np.testing.assert_array_equal(step(eg.ones(2)).numpy(), [6.0, 6.0])
    assert seen[0] is True and not eg.compiler.is_compiling()
    assert eg.compiler.disable(recursive=False)(helper) is helper and eg.compiler.reset() is None


def test_attention_backend_switches():
    import warnings

    from eigengrad.nn.attention import SDPBackend, sdpa_kernel

    q = eg.randn(1, 2, 3, 4)
    want = eg.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).numpy()
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
        got = eg.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).numpy()
    np.testing.assert_array_equal(got, want)
    assert int(SDPBackend.FLASH_ATTENTION) == 1 and eg.nn.attention is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with eg.backends.cuda.sdp_kernel(enable_flash=False):
            assert not eg.backends.cuda.flash_sdp_enabled()
    assert eg.backends.cuda.flash_sdp_enabled()
