"""nn.Embedding, nn.EmbeddingBag and their functional forms: values against the NumPy reference, gradcheck
in float64 (the table, per-sample weights, every bag mode), PyTorch's initialisation (N(0, 1), the padding
row zeroed), from_pretrained / _weight / _freeze, max_norm renormalising in place, sparse=True's dense
fallback with a warning, and the errors that name the bad argument."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck


def idx(*values):
    return eg.tensor(np.array(values, dtype=np.int64))


def test_embedding_layer_matches_reference(rng, dtype):
    m = nn.Embedding(13, 5, padding_idx=-3, dtype=dtype)
    assert m.padding_idx == 10 and m.weight.dtype == dtype and m.weight.shape == (13, 5)
    x = rng.integers(0, 13, (4, 7))
    x[0, :3] = 10
    y = m(eg.from_numpy(x))
    np.testing.assert_array_equal(y.detach().numpy(), m.weight.detach().numpy()[x])
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(eg.from_numpy(g))
    assert_close(m.weight.grad.numpy(), ref.embedding_backward(g.astype(np.float64), x, 13, 10, False), dtype)
    assert not np.any(m.weight.grad.numpy()[10])


def test_embedding_initialisation_is_pytorchs():
    eg.manual_seed(3)
    m = nn.Embedding(2000, 50, padding_idx=7)
    w = m.weight.detach().numpy()
    assert not np.any(w[7]) and m.weight.requires_grad
    rest = np.delete(w, 7, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1.0) < 0.01  # N(0, 1)
    b = nn.EmbeddingBag(300, 40, padding_idx=-1)
    assert not np.any(b.weight.detach().numpy()[299]) and b.mode == "mean"


def test_from_pretrained_shares_and_freezes(rng):
    table = eg.tensor(rng.standard_normal((6, 3)))
    m = nn.Embedding.from_pretrained(table, padding_idx=2)
    assert not m.weight.requires_grad and m.weight.numpy() is table.numpy()  # shared, as torch
    assert np.any(m.weight.numpy()[2])  # a pretrained padding row is kept
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    bag = nn.EmbeddingBag.from_pretrained(table, mode="sum")
    assert not bag.weight.requires_grad and bag.mode == "sum"
    np.testing.assert_allclose(bag(idx(1, 4).reshape(1, 2)).numpy()[0], table.numpy()[[1, 4]].sum(0))
    w = rng.standard_normal((4, 2))
    m = nn.Embedding(4, 2, _weight=w, _freeze=True)
    assert m.weight.numpy() is w and not m.weight.requires_grad
    with pytest.raises(ValueError, match=r"_weight: shape of weight does not match .* expected \(4, 3\), got \(4, 2\)"):
        nn.Embedding(4, 3, _weight=w)
    with pytest.raises(ValueError, match="embeddings: expected a 2-dimensional tensor"):
        nn.Embedding.from_pretrained(eg.tensor(np.ones(3)))


def test_embedding_gradcheck(rng):
    w = eg.tensor(rng.standard_normal((7, 3)), requires_grad=True)
    x = idx(1, 5, 5, 0, 6, 5)
    # (padding_idx is left out: its row is read by the forward but gets no gradient, by definition)
    assert gradcheck(lambda w: F.embedding(x, w, scale_grad_by_freq=False), (w,))
    # scale_grad_by_freq is a deliberate change of the gradient: each row's is the true one / its count
    y = F.embedding(x, w, scale_grad_by_freq=True)
    y.backward(eg.from_numpy(np.ones(y.shape)))
    np.testing.assert_allclose(w.grad.numpy()[[0, 1, 5, 6]], np.ones((4, 3)))
    assert gradcheck(lambda w: F.embedding(x.reshape(2, 3), w) * 2.0, (w,))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck(rng, mode):
    w = eg.tensor(rng.standard_normal((9, 4)), requires_grad=True)
    x = idx(3, 1, 8, 8, 0, 2, 5, 3)
    off = idx(0, 3, 3, 6)
    if mode == "sum":
        psw = eg.tensor(rng.standard_normal(8), requires_grad=True)
        assert gradcheck(lambda w, p: F.embedding_bag(x, w, off, mode="sum", per_sample_weights=p, padding_idx=2),
                         (w, psw))
    assert gradcheck(lambda w: F.embedding_bag(x, w, off, mode=mode, padding_idx=8), (w,))


def test_embedding_bag_layer_matches_reference(rng, dtype):
    m = nn.EmbeddingBag(11, 6, mode="sum", include_last_offset=True, dtype=dtype)
    x = rng.integers(0, 11, 15)
    off = np.array([0, 4, 4, 12])
    psw = rng.standard_normal(15).astype(dtype)
    y = m(eg.from_numpy(x), eg.from_numpy(off), eg.from_numpy(psw))
    weight = m.weight.detach().numpy().astype(np.float64)
    r_out, _, _ = ref.embedding_bag_forward(weight, x, off, psw.astype(np.float64), "sum", -1)
    assert_close(y.detach().numpy(), r_out, dtype)
    assert y.shape == (3, 6) and not np.any(y.detach().numpy()[1])  # an empty bag is zero
    two_d = nn.EmbeddingBag(11, 6, mode="max", dtype=dtype)
    x2 = rng.integers(0, 11, (3, 4))
    np.testing.assert_array_equal(two_d(eg.from_numpy(x2)).detach().numpy(),
                                  two_d.weight.detach().numpy()[x2].max(axis=1))


def test_max_norm_renormalises_looked_up_rows_in_place(rng):
    m = nn.Embedding(5, 4, max_norm=1.0, norm_type=1.0, dtype=np.float64)
    before = m.weight.detach().numpy().copy()
    y = m(idx(0, 2, 2))
    w = m.weight.detach().numpy()
    for r in (0, 2):
        norm = np.abs(before[r]).sum()
        expected = before[r] * (1.0 / (norm + 1e-7)) if norm > 1.0 else before[r]
        np.testing.assert_allclose(w[r], expected, rtol=1e-14)
        assert np.abs(w[r]).sum() <= 1.0
    np.testing.assert_array_equal(w[[1, 3, 4]], before[[1, 3, 4]])
    np.testing.assert_array_equal(y.detach().numpy(), w[[0, 2, 2]])  # the lookup reads the renormalised rows


def test_sparse_is_a_dense_fallback_with_a_warning(rng):
    m = nn.Embedding(6, 2, sparse=True, dtype=np.float64)
    assert "sparse=True" in repr(m)
    with pytest.warns(UserWarning, match="sparse=True: eigengrad has no sparse gradients"):
        y = m(idx(1, 1))
    y.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy()[1], [2.0, 2.0])
    with pytest.raises(ValueError, match="max mode does not support sparse"):
        nn.EmbeddingBag(6, 2, mode="max", sparse=True)(idx(1, 2).reshape(1, 2))


def test_index_shapes_and_dtypes(rng):
    m = nn.Embedding(7, 3, dtype=np.float64)
    assert m(idx(4).reshape(())).shape == (3,)
    assert m(eg.tensor(np.zeros((2, 0), np.int64))).shape == (2, 0, 3)
    np.testing.assert_array_equal(m(np.array([1, 2], np.int32)).detach().numpy(), m.weight.detach().numpy()[[1, 2]])
    for bad in (np.array([1.0]), np.array([1], np.int16), np.array([True])):
        with pytest.raises(TypeError, match="input: expected int64 or int32 indices, got dtype"):
            m(bad)
    with pytest.raises(TypeError, match="input: expected an eigengrad Tensor or NumPy array"):
        m([1, 2])
    with pytest.raises(IndexError, match=r"index 7 at position 1 is out of range: expected 0 <= index < 7"):
        m(idx(0, 7))


def test_argument_errors_name_the_argument(rng):
    w = eg.tensor(rng.standard_normal((5, 2)))
    with pytest.raises(ValueError, match=r"padding_idx: must be within num_embeddings: expected -5 <= padding_idx < 5, got 5"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(idx(1), w, padding_idx=-6)
    with pytest.raises(ValueError, match="num_embeddings: expected a non-negative int"):
        nn.Embedding(-1, 2)
    with pytest.raises(ValueError, match="weight: expected a 2-D tensor"):
        F.embedding(idx(1), eg.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="max_norm: expected a non-negative number"):
        F.embedding(idx(1), w, max_norm=-1.0)
    with pytest.raises(ValueError, match="mode: has to be one of sum, mean or max"):
        nn.EmbeddingBag(5, 2, mode="median")
    with pytest.raises(ValueError, match=r"offsets: offsets\[0\] has to be 0"):
        F.embedding_bag(idx(1, 2), w, idx(1))
    with pytest.raises(ValueError, match="offsets: expected a non-decreasing sequence"):
        F.embedding_bag(idx(1, 2, 3), w, idx(0, 2, 1))
    with pytest.raises(ValueError, match=r"offsets: offsets\[-1\] can not be greater than input's length 2"):
        F.embedding_bag(idx(1, 2), w, idx(0, 3))
    with pytest.raises(ValueError, match="offsets: has to be a 1-D tensor with 1-D input, got None"):
        F.embedding_bag(idx(1, 2), w)
    with pytest.raises(ValueError, match="offsets: if input is 2D, then offsets has to be None"):
        F.embedding_bag(idx(1, 2).reshape(1, 2), w, idx(0))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(idx(1, 2), w, idx(0), per_sample_weights=eg.tensor(np.ones(2)))
    with pytest.raises(ValueError, match=r"per_sample_weights: expected the shape of input \(2,\), got \(3,\)"):
        F.embedding_bag(idx(1, 2), w, idx(0), mode="sum", per_sample_weights=eg.tensor(np.ones(3)))
    with pytest.raises(TypeError, match="per_sample_weights: expected dtype float64"):
        F.embedding_bag(idx(1, 2), w, idx(0), mode="sum", per_sample_weights=eg.tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="device: eigengrad runs on the CPU"):
        nn.Embedding(3, 2, device="cuda")


def test_embedding_bag_edge_cases(rng):
    w = eg.tensor(rng.standard_normal((5, 3)))
    assert F.embedding_bag(idx(1, 2), w, eg.tensor(np.zeros(0, np.int64))).shape == (0, 3)
    assert F.embedding_bag(idx(1, 2), w, idx(0), include_last_offset=True).shape == (0, 3)
    empty = F.embedding_bag(eg.tensor(np.zeros(0, np.int64)), w, idx(0, 0), mode="max")
    np.testing.assert_array_equal(empty.numpy(), np.zeros((2, 3)))
    mean_pad = F.embedding_bag(idx(1, 2, 2), w, idx(0), mode="mean", padding_idx=2)
    np.testing.assert_array_equal(mean_pad.numpy()[0], w.numpy()[1])  # padding leaves the count too


def test_reprs_are_pytorchs():
    assert repr(nn.Embedding(5, 3, padding_idx=-2)) == "Embedding(5, 3, padding_idx=3)"
    assert repr(nn.Embedding(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)) == \
        "Embedding(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)"
    assert repr(nn.EmbeddingBag(5, 3, mode="max", include_last_offset=True, padding_idx=1)) == \
        "EmbeddingBag(5, 3, mode='max', padding_idx=1)"


def test_one_hot_matches_torch_and_its_errors():
    torch = pytest.importorskip("torch", reason="PyTorch's one_hot is the reference")
    idx = np.array([[0, 3], [2, 1], [3, 3]], dtype=np.int64)
    for n in (-1, 4, 6):
        ours = F.one_hot(eg.tensor(idx), n)
        theirs = torch.nn.functional.one_hot(torch.tensor(idx), n)
        assert ours.dtype == eg.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert F.one_hot(eg.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)
    for bad, n, msg in [(idx, 3, "Class values must be smaller than num_classes."),
                        (-idx - 1, 4, "Class values must be non-negative."),
                        (np.zeros(0, np.int64), -1, "Can not infer total number of classes from empty tensor.")]:
        with pytest.raises(RuntimeError, match=msg):
            F.one_hot(eg.tensor(bad), n)
        with pytest.raises(RuntimeError, match=msg):
            torch.nn.functional.one_hot(torch.tensor(bad), n)
    with pytest.raises(TypeError, match="LongTensor"):
        F.one_hot(eg.tensor(idx.astype(np.int32)))
