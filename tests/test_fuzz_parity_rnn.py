"""Regressions found by differential fuzzing of the recurrent layers against PyTorch 2.13 (nn.RNN / LSTM /
GRU, the cells, and nn.utils.rnn packing and padding) on random configurations. Each test states the case,
checks literal values or exception types (so it checks something without torch) and compares with PyTorch
where it is installed."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.nn.utils import rnn as ernn

REASON = "PyTorch is needed for the parity half of this check (pip install torch)"


def _optional_torch():
    """torch, or None without it: the eigengrad half of a check (literal values, exception types) runs anyway."""
    try:
        import torch
    except ImportError:
        return None
    return torch


# --- pad_sequence -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_gives_a_length_0_sequence_its_empty_gradient(side, batch_first):
    """pad_sequence([x (2,), e (0,), y (3,)], padding_value=2.5): the length-0 1-D sequence stays in the graph
    (its .grad is an empty float64 array, as PyTorch's), the others get the upstream gradient of their
    elements. eigengrad dropped it (cat leaves empty 1-D tensors out), so e.grad was None."""
    arrays = [np.array([1.0, 2.0]), np.zeros(0), np.array([3.0, 4.0, 5.0])]
    seqs = [eg.tensor(a, requires_grad=True) for a in arrays]
    out = ernn.pad_sequence(seqs, batch_first=batch_first, padding_value=2.5, padding_side=side)
    rows = {"right": [[1, 2, 2.5], [2.5, 2.5, 2.5], [3, 4, 5]], "left": [[2.5, 1, 2], [2.5, 2.5, 2.5], [3, 4, 5]]}
    expected = np.array(rows[side])
    np.testing.assert_array_equal(out.detach().numpy(), expected if batch_first else expected.T)
    weights = np.arange(9.0).reshape(out.shape)
    (out * eg.tensor(weights)).sum().backward()
    grads = [s.grad for s in seqs]
    assert grads[1] is not None and grads[1].shape == (0,) and grads[1].dtype == eg.float64
    w = weights if batch_first else weights.T
    first = w[0, :2] if side == "right" else w[0, 1:]
    np.testing.assert_array_equal(grads[0].numpy(), first)
    np.testing.assert_array_equal(grads[2].numpy(), w[2])
    torch = _optional_torch()
    if torch is not None:
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        tout = torch.nn.utils.rnn.pad_sequence(ts, batch_first=batch_first, padding_value=2.5, padding_side=side)
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
        (tout * torch.tensor(weights)).sum().backward()
        for e, t in zip(grads, ts):
            np.testing.assert_array_equal(e.numpy(), t.grad.numpy())


def test_pad_sequence_errors_are_pytorchs():
    """An empty list, or sequences whose trailing sizes differ: PyTorch raises RuntimeError (eigengrad raised a
    plain ValueError, with the shapes as tuples '((3,))' in the message)."""
    torch = _optional_torch()
    with pytest.raises(RuntimeError, match="received an empty list of sequences") as info:
        ernn.pad_sequence([])
    assert isinstance(info.value, ValueError)
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        ernn.pack_sequence([])
    a, b = np.zeros((2, 3)), np.zeros((2, 4))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\) at "
                                           r"non-singleton dimension 1"):
        ernn.pad_sequence([eg.tensor(a), eg.tensor(b)])
    with pytest.raises(RuntimeError, match="expected sequences of shape"):
        ernn.pad_sequence([eg.tensor(a), eg.tensor(np.zeros((2, 3, 1)))])
    if torch is not None:
        for call in (lambda: torch.nn.utils.rnn.pad_sequence([]), lambda: torch.nn.utils.rnn.pack_sequence([]),
                     lambda: torch.nn.utils.rnn.pad_sequence([torch.tensor(a), torch.tensor(b)])):
            with pytest.raises(RuntimeError):
                call()


def test_pack_padded_sequence_with_2d_lengths_raises_runtime_error():
    """lengths [[2, 1]] (2-D): PyTorch raises RuntimeError ('should be a 1D CPU int64 tensor'); eigengrad
    raised a plain ValueError."""
    x = np.arange(6.0).reshape(2, 3, 1)[:, :2]
    with pytest.raises(RuntimeError, match="1-D"):
        ernn.pack_padded_sequence(eg.tensor(x), eg.tensor(np.array([[2, 1]])))
    packed = ernn.pack_padded_sequence(eg.tensor(x), [2, 1])  # the 1-D lengths still pack
    np.testing.assert_array_equal(packed.data.numpy().ravel(), [0.0, 1.0, 3.0])
    torch = _optional_torch()
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor([[2, 1]]))


# --- layers -------------------------------------------------------------------------------------------------

def test_lstm_given_a_lone_tensor_as_hx_raises_runtime_error():
    """LSTM(3, 4, num_layers=2)(x (5, 2, 3), h0 (2, 2, 4)) with h0 a tensor, not (h0, c0): PyTorch raises
    RuntimeError (it unpacks the tensor into its two rows and finds them 2-D); eigengrad raised a plain
    TypeError (now both: a RuntimeError and a TypeError)."""
    lstm = nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    x, h = np.zeros((5, 2, 3)), np.zeros((2, 2, 4))
    with pytest.raises(RuntimeError, match=r"tuple \(h_0, c_0\)") as info:
        lstm(eg.tensor(x), eg.tensor(h))
    assert isinstance(info.value, TypeError)
    torch = _optional_torch()
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.nn.LSTM(3, 4, num_layers=2).double()(torch.tensor(x), torch.tensor(h))


def test_rnn_with_proj_size_raises_pytorchs_value_error():
    """RNN(3, 4, proj_size=2): PyTorch's RNN passes proj_size on and raises ValueError 'proj_size argument is
    only supported for LSTM'; eigengrad's RNN raised TypeError (unexpected keyword). proj_size=0 is fine."""
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNN(3, 4, proj_size=2)
    rnn = nn.RNN(3, 4, proj_size=0, nonlinearity="relu")
    assert [tuple(p.shape) for p in rnn.parameters()] == [(4, 3), (4, 4), (4,), (4,)]
    torch = _optional_torch()
    if torch is not None:
        with pytest.raises(ValueError, match="only supported for LSTM"):
            torch.nn.RNN(3, 4, proj_size=2)


CASES = [  # (kind, T, N or None, I, H, options): a sample of the fuzzed configurations, all matching
    ("lstm", 3, 2, 2, 5, dict(num_layers=3, bidirectional=True, batch_first=True, proj_size=2)),
    ("gru", 1, None, 1, 1, dict(num_layers=2, bias=False)),
    ("rnn", 4, 1, 3, 7, dict(nonlinearity="relu", num_layers=2, bidirectional=True, dropout=0.3)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_fuzzed_layer_configurations_match_torch(case):
    """Outputs, final states and all gradients (input, h0 (c0), every parameter) in float64 to 1e-10
    relative; state_dict loaded from torch; eval mode (dropout off)."""
    torch = pytest.importorskip("torch", reason=REASON)
    kind, steps, batch, isize, hsize, opts = case
    name = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[kind]
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(isize, hsize, **opts).double().eval()
    em = getattr(nn, name)(isize, hsize, **opts, dtype=np.float64).eval()
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    states = opts.get("num_layers", 1) * (2 if opts.get("bidirectional") else 1)
    xshape = (steps, isize) if batch is None else ((batch, steps, isize) if opts.get("batch_first") else
                                                    (steps, batch, isize))
    hshape = (states,) + (() if batch is None else (batch,))
    arrays = [rng.standard_normal(xshape), rng.standard_normal(hshape + (opts.get("proj_size") or hsize,)),
              rng.standard_normal(hshape + (hsize,))]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ein = [eg.tensor(a, requires_grad=True) for a in arrays]
    lstm = kind == "lstm"
    tout, tst = tm(tin[0], (tin[1], tin[2]) if lstm else tin[1])
    eout, est = em(ein[0], (ein[1], ein[2]) if lstm else ein[1])
    touts, eouts = [tout] + (list(tst) if lstm else [tst]), [eout] + (list(est) if lstm else [est])
    tloss = eloss = 0
    for t, e in zip(touts, eouts):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(tuple(t.shape))
        tloss, eloss = tloss + (t * torch.tensor(g)).sum(), eloss + (e * eg.tensor(g)).sum()
    tloss.backward()
    eloss.backward()
    for t, e in zip(tin[:3 if lstm else 2], ein):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for pname, p in tm.named_parameters():
        np.testing.assert_allclose(getattr(em, pname).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_float32_input_or_state_for_float64_parameters_raises_like_torch(name):
    """A float32 input (or h0) for float64 parameters: PyTorch's layers raise ValueError for the input
    ('RNN input dtype ... does not match weight dtype'), RuntimeError for h0 and in the cells; eigengrad
    raised a plain TypeError. Now one class that is TypeError, ValueError and RuntimeError."""
    cell = name.endswith("Cell")
    em = getattr(nn, name)(3, 4, dtype=np.float64)
    x = np.zeros((2, 3) if cell else (5, 2, 3))
    h = np.zeros((2, 4) if cell else (1, 2, 4))
    lstm = name.startswith("LSTM")
    cases = [((x.astype(np.float32),), ValueError if not cell else RuntimeError),
             ((x, (h.astype(np.float32), h) if lstm else h.astype(np.float32)), RuntimeError)]
    torch = _optional_torch()
    tm = getattr(torch.nn, name)(3, 4).double() if torch is not None else None
    for args, torch_type in cases:
        with pytest.raises(TypeError, match="expected dtype float64") as info:
            em(*[tuple(eg.tensor(v) for v in a) if isinstance(a, tuple) else eg.tensor(a) for a in args])
        assert isinstance(info.value, (ValueError)) and isinstance(info.value, RuntimeError)
        if tm is not None:
            with pytest.raises(torch_type):
                tm(*[tuple(torch.tensor(v) for v in a) if isinstance(a, tuple) else torch.tensor(a) for a in args])

