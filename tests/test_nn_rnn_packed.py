"""torch.nn.utils.rnn (pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence) and the
recurrent layers over a PackedSequence, side by side with torch 2.13: packed data, batch sizes and orders,
outputs, final states (each sequence's own last step) and input gradients, for RNN/LSTM/GRU, batch_first,
bidirectional, stacked layers and an initial state."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn.utils import rnn as ernn

torch = pytest.importorskip("torch", reason="torch.nn.utils.rnn is the reference")
trnn = torch.nn.utils.rnn


@pytest.mark.parametrize("cls, batch_first, bidirectional, layers, with_h0", [
    ("LSTM", True, False, 1, False), ("GRU", False, True, 2, True), ("RNN", True, True, 2, False),
    ("LSTM", False, True, 2, True)])
def test_rnn_over_packed_sequences_matches_torch(cls, batch_first, bidirectional, layers, with_h0):
    rng = np.random.default_rng(0)
    T, B, I, H = 6, 5, 3, 4
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    lengths = [4, 6, 1, 4, 2]
    tm = getattr(torch.nn, cls)(I, H, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional).double()
    em = getattr(eg.nn, cls)(I, H, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional).double()
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    h0 = rng.standard_normal((layers * (2 if bidirectional else 1), B, H))
    ht0 = (torch.tensor(h0), torch.tensor(h0)) if cls == "LSTM" else torch.tensor(h0)
    he0 = (eg.tensor(h0), eg.tensor(h0)) if cls == "LSTM" else eg.tensor(h0)
    xt, xe = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    pt = trnn.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=False)
    pe = ernn.pack_padded_sequence(xe, lengths, batch_first=batch_first, enforce_sorted=False)
    np.testing.assert_allclose(pe.data.detach().numpy(), pt.data.detach().numpy())
    np.testing.assert_array_equal(pe.batch_sizes.numpy(), pt.batch_sizes.numpy())
    np.testing.assert_array_equal(pe.sorted_indices.numpy(), pt.sorted_indices.numpy())
    np.testing.assert_array_equal(pe.unsorted_indices.numpy(), pt.unsorted_indices.numpy())
    ot, st = tm(pt, ht0 if with_h0 else None)
    oe, se = em(pe, he0 if with_h0 else None)
    np.testing.assert_allclose(oe.data.detach().numpy(), ot.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    ht, he = (st[0], se[0]) if cls == "LSTM" else (st, se)
    np.testing.assert_allclose(he.detach().numpy(), ht.detach().numpy(), rtol=1e-10, atol=1e-12)
    if cls == "LSTM":
        np.testing.assert_allclose(se[1].detach().numpy(), st[1].detach().numpy(), rtol=1e-10, atol=1e-12)
    ut, lt = trnn.pad_packed_sequence(ot, batch_first=batch_first, total_length=7)
    ue, le = ernn.pad_packed_sequence(oe, batch_first=batch_first, total_length=7)
    np.testing.assert_allclose(ue.detach().numpy(), ut.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(le.numpy(), lt.numpy())
    (ut.sum() + (ht ** 2).sum()).backward()
    (ue.sum() + (he ** 2).sum()).backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_and_pack_sequence_match_torch(side):
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 1, 4)]
    for batch_first in (False, True):
        a = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first, padding_value=-1,
                              padding_side=side)
        b = ernn.pad_sequence([eg.tensor(s) for s in seqs], batch_first=batch_first, padding_value=-1,
                              padding_side=side)
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    p = ernn.pack_sequence([eg.tensor(s) for s in seqs], enforce_sorted=False)
    q = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(p.data.numpy(), q.data.numpy())
    padded, lengths = ernn.pad_packed_sequence(p, batch_first=True, padding_value=9.0)
    np.testing.assert_array_equal(lengths.numpy(), [3, 1, 4])
    assert padded[1, 1:].numpy().tolist() == [[9.0, 9.0]] * 3


def test_packing_errors_are_pytorchs():
    x = eg.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        ernn.pack_padded_sequence(x, [1, 3, 2])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        ernn.pack_padded_sequence(x, [3, 0, 2], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal to batch_size"):
        ernn.pack_padded_sequence(x, [3, 2])
    packed = ernn.pack_padded_sequence(x, [3, 2, 2])
    assert packed.sorted_indices is None
    with pytest.raises(RuntimeError, match="Expected total_length to be at least"):
        ernn.pad_packed_sequence(packed, total_length=2)
