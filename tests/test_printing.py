"""Tensors print in PyTorch's format (eigengrad/_printing.py): the values' shared format, alignment, line
wrapping, summarization and the suffixes, character for character against torch 2.13 when it is installed,
and against fixed strings without it."""
import numpy as np
import pytest

import eigengrad as eg

EXPECTED = {  # value -> PyTorch 2.13's str (torch. prefixes as eigengrad.)
    (0.123456789, 1.0): "tensor([0.1235, 1.0000], dtype=eigengrad.float64)",
    (1e-5, 1.0): "tensor([1.0000e-05, 1.0000e+00], dtype=eigengrad.float64)",
    (1.0, 2.0): "tensor([1., 2.], dtype=eigengrad.float64)",
    (float("nan"), float("inf"), -0.0): "tensor([nan, inf, -0.], dtype=eigengrad.float64)",
    (100.0, -3.0, float("-inf")): "tensor([100.,  -3., -inf], dtype=eigengrad.float64)",
    (1, 2, 30): "tensor([ 1,  2, 30])",
    (True, False): "tensor([ True, False])",
}


@pytest.mark.parametrize("values", list(EXPECTED), ids=str)
def test_fixed_strings(values):
    assert str(eg.tensor(np.array(values))) == EXPECTED[values]


def test_scalars_empties_and_suffixes():
    assert str(eg.tensor(3.5)) == "tensor(3.5000)"
    assert str(eg.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert str(eg.zeros(0, dtype=eg.int64)) == "tensor([], dtype=eigengrad.int64)"
    assert str(eg.ones(2, requires_grad=True) * 2) == "tensor([2., 2.], grad_fn=<MulBackward0>)"
    assert repr(eg.arange(2000.0)) == ("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                                       "        1.9990e+03])")


def _cases():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(30),
            rng.standard_normal((2, 3, 4)) * 1e-6, rng.standard_normal(2000).astype(np.float32),
            rng.standard_normal((50, 50)), np.arange(1500).reshape(30, 50),
            np.zeros((2, 0)), rng.integers(-100, 100, (5, 7)), np.ones((3, 3)), np.array([1e9, 1.0]),
            rng.standard_normal((4, 5, 6, 7)).astype(np.float32), np.array([0.1, 200.0]), np.array([-0.0, 0.0]),
            rng.standard_normal(40).astype(np.float32) * 1e4, np.array([[True, False], [False, True]])]


@pytest.mark.parametrize("i", range(len(_cases())))
def test_matches_torch_character_for_character(i):
    torch = pytest.importorskip("torch", reason="PyTorch's printing is the reference")
    a = _cases()[i]
    for requires_grad in (False, True) if a.dtype.kind == "f" else (False,):
        ours = repr(eg.tensor(a, requires_grad=requires_grad))
        theirs = repr(torch.tensor(a, requires_grad=requires_grad)).replace("torch.", "eigengrad.")
        assert ours == theirs
