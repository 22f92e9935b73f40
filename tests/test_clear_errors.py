"""Arguments of the wrong type get a TypeError/ValueError naming the argument, what it got and what was
expected (issue 16's "unclear errors"), where an AttributeError from deep inside, a TypeError from inside a
comparison, or silent acceptance came before."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F


@pytest.mark.parametrize("call,error,match", [
    (lambda x: F.linear(x, 1.5), TypeError, r"^weight: expected an eigengrad Tensor, got float$"),
    (lambda x: F.linear(x, [[1.0, 2.0, 3.0]]), TypeError, r"^weight: expected an eigengrad Tensor, got list$"),
    (lambda x: F.linear(x, eg.ones(2, 3), [1.0, 2.0]), TypeError,
     r"^bias: expected an eigengrad Tensor or None, got list$"),
    (lambda x: F.batch_norm(x, eg.zeros(3), eg.ones(3), weight=[1.0] * 3), TypeError,
     r"^weight: expected an eigengrad Tensor or None, got list$"),
    (lambda x: F.batch_norm(x, eg.zeros(3), eg.ones(3), bias=(0.0,) * 3), TypeError,
     r"^bias: expected an eigengrad Tensor or None, got tuple$"),
    (lambda x: F.layer_norm(x, (3,), weight=[1.0] * 3), TypeError,
     r"^weight: expected an eigengrad Tensor or None, got list$"),
    (lambda x: F.group_norm(x.reshape(4, 3, 1), 3, bias=[0.0] * 3), TypeError,
     r"^bias: expected an eigengrad Tensor or None, got list$"),
    (lambda x: eg.optim.SGD([eg.zeros(2, requires_grad=True)], lr="0.1"), TypeError,
     r"^lr: expected a float \(a real number\), got '0.1' \(str\)$"),
    (lambda x: eg.optim.SGD([eg.zeros(2, requires_grad=True)], lr=0.1, momentum="0.9"), TypeError,
     r"^momentum: expected a float"),
    (lambda x: eg.optim.Adam([eg.zeros(2, requires_grad=True)], lr=None), TypeError, r"^lr: expected a float"),
    (lambda x: eg.tensor(["a"]), TypeError, r"^data: expected numbers or bools, got dtype <U1$"),
    (lambda x: eg.tensor([[b"a"]]), TypeError, r"^data: expected numbers or bools, got dtype \|S1$"),
    (lambda x: eg.as_tensor(np.array(["2024-01-01"], dtype="datetime64[D]")), TypeError,
     r"^data: expected numbers or bools, got dtype datetime64\[D\]$"),
    (lambda x: eg.from_numpy(np.array(["a"])), TypeError, r"^array: expected numbers or bools, got dtype <U1$"),
])
def test_wrong_types_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(eg.randn(4, 3))


def test_numeric_data_still_builds_tensors():
    assert eg.tensor([True, False]).dtype == np.bool_
    assert eg.tensor([1, 2]).dtype == np.int64
    assert eg.tensor([1.5]).dtype == np.float32
    assert eg.tensor(np.array([1 + 2j])).dtype == np.complex128
    assert eg.from_numpy(np.zeros(2, np.uint8)).dtype == np.uint8


def test_torch_refuses_the_same_types():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    for call in (lambda: torch.nn.functional.linear(torch.randn(4, 3), 1.5),
                 lambda: torch.nn.functional.linear(torch.randn(4, 3), [[1.0, 2.0, 3.0]]),
                 lambda: torch.from_numpy(np.array(["a"]))):
        with pytest.raises(TypeError):
            call()
    with pytest.raises((TypeError, ValueError)):  # torch.tensor(['a']): "too many dimensions 'str'"
        torch.tensor(["a"])
