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


@pytest.mark.parametrize("call", [
    lambda x: eg.softmax(x, 2**64),
    lambda x: eg.log_softmax(x, 4294967297),
    lambda x: eg.amax(x, 2**63),
    lambda x: eg.sum(x, 3),
    lambda x: eg.argmax(x, 10**30),
    lambda x: eg.flatten(x, 4294967297),
    lambda x: x.transpose(0, 5),
    lambda x: x.unsqueeze(-5),
    lambda x: eg.stack([x, x], -2**63),
    lambda x: eg.cat([x, x], 3),
    lambda x: x.max(-4),
    lambda x: x.permute(0, 1, 7),
], ids=["softmax", "log_softmax", "amax", "sum", "argmax", "flatten", "transpose", "unsqueeze", "stack", "cat", "max",
        "permute"])
def test_dims_out_of_range_raise_index_error_as_pytorch(call):
    """A dim used to be taken modulo ndim: log_softmax(x, 4294967297) normalised over dim 2 and returned
    numbers; argmax(x, 10**30) raised OverflowError."""
    with pytest.raises(IndexError, match=r"^Dimension out of range \(expected to be in range of \[-\d, \d\], but got "):
        call(eg.randn(5, 2, 3))


def test_dims_match_torch_and_empty_tensors_work():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 4\)"):
        torch.from_numpy(x).softmax(4)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 4\)"):
        eg.from_numpy(x).softmax(4)
    for shape, dim in (((3, 0, 2), 1), ((0, 4), -1)):
        z = np.zeros(shape, np.float32)
        assert eg.softmax(eg.tensor(z), dim).shape == tuple(torch.softmax(torch.from_numpy(z), dim).shape)
        assert eg.log_softmax(eg.tensor(z), dim).shape == shape
    assert eg.flatten(eg.zeros(0, 0, 3), 1).shape == tuple(torch.zeros(0, 0, 3).flatten(1).shape) == (0, 0)
    np.testing.assert_array_equal(eg.from_numpy(x).transpose(-1, 0).numpy(), torch.from_numpy(x).transpose(-1, 0).numpy())
    np.testing.assert_array_equal(eg.argmax(eg.from_numpy(x), -2).numpy(), torch.argmax(torch.from_numpy(x), -2).numpy())


def test_other_clear_errors_found_by_the_fuzz():
    with pytest.raises(TypeError, match=r"^input: expected an eigengrad Tensor, got str$"):
        eg.zeros_like("x")
    with pytest.raises(ValueError, match=r"^fill_value: 18446744073709551617 does not fit in dtype int64$"):
        eg.full((2,), 2**64 + 1)
    with pytest.raises(IndexError, match=r"^amax\(\): Expected reduction dim 1 to have non-zero size\.$"):
        eg.amax(eg.zeros(3, 0), 1)


@pytest.mark.parametrize("call,error,match", [
    (lambda: eg.zeros(8, 6).index_add(0, eg.tensor([0, 1, 2]), eg.ones(8, 6)), RuntimeError,
     r"^index_add_\(\): Number of indices \(3\) should be equal to source.size\(dim\): \(8\), for dim: 0$"),
    (lambda: eg.zeros(8, 6).index_select(0, eg.tensor([0, 9])), IndexError, r"^index out of range in self$"),
    (lambda: eg.take(eg.zeros(8, 6), eg.tensor([0, 99])), IndexError,
     r"^out of range: tried to access index 99 on a tensor of 48 elements\.$"),
    (lambda: eg.zeros(8, 6).index_fill(1, eg.tensor([0, 9]), 0.0), IndexError,
     r"^index 9 is out of bounds for dimension 1 with size 6$"),
])
def test_index_ops_errors_are_pytorchs(call, error, match):
    """(index_add with too few indices said "cannot reshape array of size 48 into shape (1,3,6)"; index_fill
    named NumPy's axis 0 for dimension 1.) The same calls in PyTorch 2.13 raise these messages."""
    with pytest.raises(error, match=match):
        call()
