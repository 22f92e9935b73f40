"""Regressions found while porting a PyG-free GCN (tests/ported/gcn_node_classification.py) and a DQN
(tests/ported/dqn_gridworld.py), session 2026-12-06: index_add's shape checks, gather/scatter's messages,
and torch.tensor of a sequence holding tensors (each read as a number, as PyTorch does).

index_add / index_add_ did not check source's shape: a source whose slices differ from self's (the usual
message-passing slip, ``out.index_add_(0, col, msg)`` with msg transposed or missing a dim) leaked NumPy's
"cannot reshape array" ValueError, or was silently accepted (a 3-d source into a 2-d self, a 2-d source
into a 1-d self, a 0-d source into a 1-d self) and reshaped into a wrong result; a 2-d index was taken as
if flattened. PyTorch refuses all of them with its messages, in this order: the vector index, its dtype,
the dtypes, dim within source, the number of indices, the slice shapes."""
import re

import numpy as np
import pytest

import eigengrad as eg

SLICES = "source tensor shape must match self tensor shape, excluding the specified dimension. "

BAD = [  # (self shape, dim, index, source shape, error class, message)
    ((2, 3), 0, [0, 1, 1], (3, 2), RuntimeError, SLICES + "Got self.shape = [2, 3] source.shape = [3, 2]"),
    ((2, 3), 0, [0, 1, 1], (3,), RuntimeError, SLICES + "Got self.shape = [2, 3] source.shape = [3]"),
    ((2, 3), 0, [0, 1, 1], (3, 3, 1), RuntimeError, SLICES + "Got self.shape = [2, 3] source.shape = [3, 3, 1]"),
    ((2, 3), 0, [0, 1, 1], (3, 1), RuntimeError, SLICES + "Got self.shape = [2, 3] source.shape = [3, 1]"),
    ((2, 3), 1, [0, 1, 1], (1, 3), RuntimeError, SLICES + "Got self.shape = [2, 3] source.shape = [1, 3]"),
    ((2,), 0, [0, 1, 1], (3, 1), RuntimeError, SLICES + "Got self.shape = [2] source.shape = [3, 1]"),
    ((2,), 0, [1], (), RuntimeError, SLICES + "Got self.shape = [2] source.shape = []"),
    ((), 0, [0], (1,), RuntimeError, SLICES + "Got self.shape = [] source.shape = [1]"),
    ((2, 3), 1, [0, 1, 1], (3,), RuntimeError,
     "index_add_(): Indexing dim 1 is out of bounds of the source tensor with dim 1"),
    ((2, 3), 0, [0, 1, 1], (2, 3), RuntimeError,
     "index_add_(): Number of indices (3) should be equal to source.size(dim): (2), for dim: 0"),
    ((2,), 0, [[0], [1], [1]], (3,), IndexError,
     "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long and size: [3, 1]"),
]


@pytest.mark.parametrize("shape,dim,index,source,error,message", BAD)
def test_index_add_refuses_mismatched_shapes_with_pytorchs_message(shape, dim, index, source, error, message):
    for call in (lambda: eg.zeros(shape).index_add_(dim, eg.tensor(index), eg.ones(source)),
                 lambda: eg.zeros(shape).index_add(dim, eg.tensor(index), eg.ones(source)),
                 lambda: eg.index_add(eg.zeros(shape), dim, eg.tensor(index), eg.ones(source))):
        with pytest.raises(error, match="^" + re.escape(message) + "$"):
            call()


def test_index_add_index_checks_come_first_and_name_the_dtype():
    with pytest.raises(IndexError, match=r"^index_add_\(\): Index is supposed to be a vector, but got dim: 2 "
                                         r"with type: Float and size: \[3, 1\]$"):
        eg.zeros(2).index_add_(0, eg.tensor([[0.0], [1.0], [1.0]]), eg.ones(3))
    with pytest.raises(RuntimeError, match=r"^index_add_\(\): Expected dtype int32/int64 for index but got: Float$"):
        eg.zeros(2).index_add_(0, eg.tensor([0.0, 1.0, 1.0]), eg.ones(3))
    with pytest.raises(TypeError):  # (also a TypeError, as eigengrad's dtype errors are)
        eg.zeros(2).index_add_(0, eg.tensor([0.0, 1.0, 1.0]), eg.ones(3))


def test_index_add_well_formed_calls_still_add():
    assert eg.zeros(2, 3).index_add_(1, eg.tensor([0, 1, 1]), eg.ones(2, 3)).tolist() == [[1, 2, 0], [1, 2, 0]]
    assert eg.zeros(2, 3).index_add_(-1, eg.tensor([0, 1, 1]), eg.ones(2, 3)).tolist() == [[1, 2, 0], [1, 2, 0]]
    assert eg.zeros(2).index_add_(0, eg.tensor(1), eg.ones(1)).tolist() == [0, 1]  # a 0-d index, one slice
    assert eg.tensor(1.0).index_add_(0, eg.tensor([0]), eg.tensor(5.0)).item() == 6.0  # 0-d self and source
    assert eg.zeros(2).index_add_(0, eg.tensor([0, 1, 1], dtype=eg.int32), eg.ones(3)).tolist() == [1, 2]
    out = eg.zeros(3, 2).index_add_(0, eg.tensor([2, 0, 2]), eg.arange(6.0).view(3, 2), alpha=0.5)
    assert out.tolist() == [[1.0, 1.5], [0.0, 0.0], [2.0, 3.0]]


def test_index_add_message_passing_gradients():
    """The GCN's aggregation: out.index_add_(0, col, norm * x[row]); gradients to x and to the edge weights."""
    x = eg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    w = eg.tensor([0.5, 1.0, 2.0, 1.5], requires_grad=True)
    row, col = eg.tensor([0, 1, 2, 1]), eg.tensor([1, 0, 1, 2])
    out = eg.zeros(3, 2).index_add_(0, col, w.view(-1, 1) * x[row])
    assert out.tolist() == [[3.0, 4.0], [10.5, 13.0], [4.5, 6.0]]
    (out * eg.tensor([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])).sum().backward()
    assert w.grad.tolist() == [3.0, -1.0, 13.0, 12.0]
    assert x.grad.tolist() == [[1.0, 0.25], [1.0, 3.5], [4.0, 1.0]]


def test_index_add_message_passing_gradients_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its gradients are the yardstick")
    grads = []
    for lib in (eg, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        w = lib.tensor([0.5, 1.0, 2.0, 1.5], requires_grad=True)
        out = lib.zeros(3, 2).index_add_(0, lib.tensor([1, 0, 1, 2]), w.view(-1, 1) * x[lib.tensor([0, 1, 2, 1])])
        (out * lib.tensor([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])).sum().backward()
        grads.append((out.tolist(), w.grad.tolist(), x.grad.tolist()))
    assert grads[0] == grads[1]


def test_index_add_errors_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its messages are the yardstick")
    for shape, dim, index, source, error, message in BAD:
        with pytest.raises(error) as theirs:
            torch.zeros(shape).index_add_(dim, torch.tensor(index), torch.ones(source))
        assert str(theirs.value).split("\n")[0] == message


# gather / scatter's checks said "input tensor" for the scatter family (PyTorch: "self tensor"), reported an
# index larger than self with gather's message where scatter names src too, and named int64 alone where
# PyTorch takes int32 as well (and calls scatter_add / scatter_reduce "scatter" there).
COL = [0, 1, 1]
SCATTER_BAD = [
    (lambda lib: lib.zeros(2, 2).scatter_(0, lib.tensor(COL), lib.ones(3, 2)), RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda lib: lib.zeros(2, 2).scatter_add_(0, lib.tensor(COL), lib.ones(3, 2)), RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda lib: lib.zeros(2, 2).scatter_reduce(0, lib.tensor(COL), lib.ones(3, 2), "sum"), RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda lib: lib.zeros(2, 2).scatter(0, lib.tensor(COL), 1.0), RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda lib: lib.zeros(2, 2).gather(0, lib.tensor(COL)), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    (lambda lib: lib.zeros(2, 2).scatter_add_(1, lib.zeros(3, 1, dtype=lib.long), lib.ones(3, 1)), RuntimeError,
     ("Expected index [3, 1] to be no larger than self [2, 2] apart from dimension 1 and to be no larger size "
      "than src [3, 1]")),
    (lambda lib: lib.zeros(2, 2).scatter_(1, lib.zeros(3, 1, dtype=lib.long), 1.0), RuntimeError,
     "Expected index [3, 1] to be no larger than self [2, 2] apart from dimension 1"),
    (lambda lib: lib.zeros(2, 2).gather(1, lib.zeros(3, 1, dtype=lib.long)), RuntimeError,
     ("Size does not match at dimension 0 expected index [3, 1] to be no larger than self [2, 2] apart from "
      "dimension 1")),
    (lambda lib: lib.zeros(2).scatter_add_(0, lib.tensor([0.0, 1.0]), lib.ones(2)), TypeError,
     "scatter(): Expected dtype int32/int64 for index"),
    (lambda lib: lib.zeros(2).scatter_reduce(0, lib.tensor([0.0, 1.0]), lib.ones(2), "sum"), TypeError,
     "scatter(): Expected dtype int32/int64 for index"),
    (lambda lib: lib.zeros(2).gather(0, lib.tensor([0.0, 1.0])), TypeError,
     "gather(): Expected dtype int32/int64 for index"),
    (lambda lib: lib.zeros(2).index_select(0, lib.tensor([0.0, 1.0])), TypeError,
     "index_select(): Expected dtype int32 or int64 for index"),
]


@pytest.mark.parametrize("call,error,message", SCATTER_BAD)
def test_gather_scatter_errors_are_pytorchs(call, error, message):
    with pytest.raises(error if error is TypeError else RuntimeError, match="^" + re.escape(message) + "$"):
        call(eg)


def test_gather_scatter_errors_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its messages are the yardstick")
    for call, _, message in SCATTER_BAD:
        with pytest.raises(RuntimeError) as theirs:  # (PyTorch raises RuntimeError for all of them)
            call(torch)
        assert str(theirs.value).split("\n")[0] == message


# torch.tensor / as_tensor / FloatTensor of a sequence holding tensors read each tensor as a number (its item(),
# at any depth, whatever its shape if it has one element; its dtype joins the inferred one by PyTorch's
# promotion) and refuse a tensor of several elements. eigengrad kept the tensors' shapes (NumPy's nesting):
# the DQN's torch.tensor(batch.reward) of rewards pushed as torch.tensor([r]) came out (B, 1), broadcast
# against the (B,) next-state values into a (B, B) target, and the agent silently stopped learning.
TENSOR_LISTS = [  # (data built from a library, dtype or None, shape, dtype name, values)
    (lambda L: [L.tensor([1.0]), L.tensor([2.0])], None, (2,), "float32", [1.0, 2.0]),
    (lambda L: (L.tensor([True]), L.tensor([False])), "float32", (2,), "float32", [1.0, 0.0]),
    (lambda L: [[L.tensor([1.0])], [L.tensor([2.0])]], None, (2, 1), "float32", [[1.0], [2.0]]),
    (lambda L: [L.tensor([[1.0]]), L.tensor([[2.0]])], None, (2,), "float32", [1.0, 2.0]),
    (lambda L: [L.tensor(1.0), L.tensor([2.0])], None, (2,), "float32", [1.0, 2.0]),
    (lambda L: [L.tensor([1.0]), 2.0], None, (2,), "float32", [1.0, 2.0]),
    (lambda L: [2, L.tensor([1.5])], None, (2,), "float32", [2.0, 1.5]),
    (lambda L: [L.tensor([1], dtype=L.int32), L.tensor([2], dtype=L.int32)], None, (2,), "int32", [1, 2]),
    (lambda L: [2.5, L.tensor(1.0, dtype=L.float64)], None, (2,), "float64", [2.5, 1.0]),
    (lambda L: [L.tensor(1, dtype=L.int32), 2], None, (2,), "int64", [1, 2]),
    (lambda L: [L.tensor(1), 2.5], None, (2,), "float32", [1.0, 2.5]),
    (lambda L: [L.tensor(1, dtype=L.uint8), L.tensor(1, dtype=L.int8)], None, (2,), "int16", [1, 1]),
    (lambda L: [[L.tensor(1.0), 2], [3, L.tensor(4, dtype=L.int32)]], None, (2, 2), "float32",
     [[1.0, 2.0], [3.0, 4.0]]),
    (lambda L: [L.tensor(True), 1], None, (2,), "int64", [1, 1]),
    (lambda L: [L.tensor([2]), L.tensor([3])], "int32", (2,), "int32", [2, 3]),
]


def _dtype_name(dt) -> str:
    return str(dt).replace("torch.", "").replace("eigengrad.", "")


@pytest.mark.parametrize("make,dtype,shape,dtype_name,values", TENSOR_LISTS)
def test_tensor_of_a_sequence_of_tensors_reads_them_as_numbers(make, dtype, shape, dtype_name, values):
    kw = {} if dtype is None else {"dtype": getattr(eg, dtype)}
    for build in (eg.tensor, eg.as_tensor):
        t = build(make(eg), **kw)
        assert (tuple(t.shape), _dtype_name(t.dtype), t.tolist()) == (shape, dtype_name, values)


def test_tensor_of_tensors_refuses_what_pytorch_refuses():
    for data in ([eg.tensor([1.0, 3.0]), eg.tensor([2.0, 4.0])], [eg.zeros(0)], [eg.tensor([[1.0, 3.0]])]):
        with pytest.raises(ValueError, match=r"^only one element tensors can be converted to Python scalars$"):
            eg.tensor(data)
    for dtype in (eg.int64, eg.int32, eg.uint8, eg.bool):  # an integer dtype takes the element as an index
        with pytest.raises(TypeError, match=r"^only integer tensors of a single element can be converted to an "
                                            r"index$"):
            eg.tensor([eg.tensor(1.0)], dtype=dtype)
    assert eg.LongTensor([eg.tensor(1), eg.tensor([2])]).tolist() == [1, 2]
    assert eg.FloatTensor([eg.tensor([1.0]), eg.tensor([2.0])]).shape == (2,)
    assert eg.tensor([eg.tensor(2.0, requires_grad=True) * 3]).requires_grad is False
    # (NumPy arrays in a list still nest, as in PyTorch)
    assert eg.tensor([np.array([1.0]), np.array([2.0])]).shape == (2, 1)


def test_dqn_batch_of_one_element_reward_tensors_is_one_dimensional():
    rewards = tuple(eg.tensor([r]) for r in (1.0, -0.04, -0.04))
    dones = tuple(eg.tensor([d]) for d in (True, False, False))
    reward_batch = eg.tensor(rewards, dtype=eg.float32)
    done_batch = eg.tensor(dones, dtype=eg.float32)
    target = reward_batch + 0.9 * eg.tensor([0.5, 1.0, 2.0]) * (1 - done_batch)
    assert target.shape == (3,)
    np.testing.assert_allclose(target.numpy(), [1.0, 0.86, 1.76], rtol=1e-6)


def test_tensor_of_tensors_side_by_side_with_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its construction rules are the yardstick")
    for make, dtype, shape, dtype_name, values in TENSOR_LISTS:
        kw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
        t = torch.tensor(make(torch), **kw)
        assert (tuple(t.shape), _dtype_name(t.dtype), t.tolist()) == (shape, dtype_name, values)
    with pytest.raises(ValueError, match=r"^only one element tensors can be converted to Python scalars$"):
        torch.tensor([torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0])])
    with pytest.raises(TypeError, match=r"^only integer tensors of a single element can be converted to an index$"):
        torch.tensor([torch.tensor(1.0)], dtype=torch.int64)
