"""nn.RNN / nn.LSTM / nn.GRU: the modules against the NumPy reference of stacked layers (outputs, final
states and every gradient: input, initial states, each weight and bias) over batch_first, bidirectional,
multi-layer, bias or not, tanh/relu, odd sizes, batch 1, one step, an empty batch, strided and unbatched
input, float32 and float64; gradcheck in float64 of each layer type; parameter names, shapes and
initialisation; dropout between layers; argument errors."""
import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
from conftest import assert_close
from eigengrad import nn
from eigengrad.autograd import gradcheck
from eigengrad.reference import rnn as ref

KINDS = {  # name -> (module factory, reference mode)
    "rnn_tanh": (lambda *a, **k: nn.RNN(*a, **k), "RNN_TANH"),
    "rnn_relu": (lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), "RNN_RELU"),
    "lstm": (lambda *a, **k: nn.LSTM(*a, **k), "LSTM"),
    "gru": (lambda *a, **k: nn.GRU(*a, **k), "GRU"),
}
CONFIGS = [  # (T, N, I, H, options)
    (5, 3, 4, 7, {}),
    (4, 2, 3, 5, dict(num_layers=2, bidirectional=True)),
    (3, 5, 6, 4, dict(num_layers=3, batch_first=True)),
    (6, 1, 1, 1, dict(bias=False)),  # batch 1, one feature, one unit
    (1, 4, 13, 11, dict(bidirectional=True, batch_first=True, bias=False)),  # one step, primes
    (2, 0, 3, 4, dict(num_layers=2, bidirectional=True)),  # empty batch
]


def module_weights(m):
    """Per layer-direction (w_ih, w_hh, b_ih, b_hh) as float64 arrays (biases None without bias)."""
    out = []
    for ws in m.all_weights:
        arrs = [w.detach().numpy().astype(np.float64) for w in ws]
        out.append(tuple(arrs) if len(arrs) == 4 else (arrs[0], arrs[1], None, None))
    return out


def run_module(kind, t, n, i, h, options, dtype, rng, x=None):
    factory, mode = KINDS[kind]
    m = factory(i, h, dtype=dtype, **options)
    layers_dirs = m.num_layers * m.num_directions
    batch_first = options.get("batch_first", False)
    if x is None:
        x = rng.standard_normal((n, t, i) if batch_first else (t, n, i)).astype(dtype)
    h0 = rng.standard_normal((layers_dirs, n, h)).astype(dtype)
    c0 = rng.standard_normal((layers_dirs, n, h)).astype(dtype) if mode == "LSTM" else None
    ex = eg.tensor(x, requires_grad=True)
    eh0 = eg.tensor(h0, requires_grad=True)
    ec0 = eg.tensor(c0, requires_grad=True) if c0 is not None else None
    out, hn = m(ex, (eh0, ec0) if c0 is not None else eh0)
    hn, cn = hn if c0 is not None else (hn, None)
    go = rng.standard_normal(out.shape).astype(dtype)
    gh = rng.standard_normal(hn.shape).astype(dtype)
    gc = rng.standard_normal(cn.shape).astype(dtype) if cn is not None else None
    loss = (out * eg.tensor(go)).sum() + (hn * eg.tensor(gh)).sum()
    if cn is not None:
        loss = loss + (cn * eg.tensor(gc)).sum()
    loss.backward()
    return m, mode, (x, h0, c0, go, gh, gc), (ex, eh0, ec0, out, hn, cn)


def reference_of(m, mode, x, h0, c0, go, gh, gc, batch_first):
    x, h0, c0, go, gh, gc = (None if a is None else a.astype(np.float64) for a in (x, h0, c0, go, gh, gc))
    if batch_first:
        x, go = x.transpose(1, 0, 2), go.transpose(1, 0, 2)
    weights = module_weights(m)
    out, hn, cn, saved = ref.stacked_forward(mode, x, h0, c0, weights, m.num_layers, m.bidirectional)
    dx, dh0, dc0, dw = ref.stacked_backward(mode, h0, c0, weights, m.num_layers, m.bidirectional, saved, go, gh, gc)
    if batch_first:
        out, dx = out.transpose(1, 0, 2), dx.transpose(1, 0, 2)
    return out, hn, cn, dx, dh0, dc0, dw


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "x".join(map(str, c[:4])) + "".join(
    f"-{k}{v}" for k, v in c[4].items()))
@pytest.mark.parametrize("kind", list(KINDS))
def test_module_matches_reference(rng, dtype, kind, config):
    t, n, i, h, options = config
    m, mode, arrays, tensors = run_module(kind, t, n, i, h, options, dtype, rng)
    ex, eh0, ec0, out, hn, cn = tensors
    want = reference_of(m, mode, *arrays, options.get("batch_first", False))
    out_r, hn_r, cn_r, dx_r, dh0_r, dc0_r, dw_r = want
    d = m.num_directions
    assert out.shape == (n, t, d * h) if options.get("batch_first") else (t, n, d * h)
    assert_close(out.detach().numpy(), out_r, dtype)
    assert_close(hn.detach().numpy(), hn_r, dtype)
    assert_close(ex.grad.numpy(), dx_r, dtype)
    assert_close(eh0.grad.numpy(), dh0_r, dtype)
    if mode == "LSTM":
        assert_close(cn.detach().numpy(), cn_r, dtype)
        assert_close(ec0.grad.numpy(), dc0_r, dtype)
    for ws, dws in zip(m.all_weights, dw_r):
        for w, dw in zip(ws, dws):
            assert w.grad is not None and w.grad.dtype == dtype
            assert_close(w.grad.numpy(), dw, dtype)


@pytest.mark.parametrize("kind", list(KINDS))
def test_strided_input_and_no_initial_state(rng, kind):
    factory, mode = KINDS[kind]
    m = factory(6, 5, num_layers=2, dtype=np.float64)
    base = rng.standard_normal((4, 6, 12))
    x = base[:, ::2, ::2]  # (4, 3, 6), strided
    out, hn = m(eg.from_numpy(x))
    out_c, hn_c = m(eg.tensor(np.ascontiguousarray(x)), None)
    np.testing.assert_array_equal(out.detach().numpy(), out_c.detach().numpy())
    zeros = np.zeros((2, 3, 5))
    out_z, _ = m(eg.tensor(np.ascontiguousarray(x)), (eg.tensor(zeros), eg.tensor(zeros)) if mode == "LSTM"
                 else eg.tensor(zeros))
    np.testing.assert_array_equal(out.detach().numpy(), out_z.detach().numpy())


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input_is_batch_of_one(rng, kind):
    factory, mode = KINDS[kind]
    m = factory(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = rng.standard_normal((5, 3))
    h0 = rng.standard_normal((4, 4))
    hx = (eg.tensor(h0), eg.tensor(h0 * 0.5)) if mode == "LSTM" else eg.tensor(h0)
    out, hn = m(eg.tensor(x), hx)
    hx1 = (eg.tensor(h0[:, None]), eg.tensor(h0[:, None] * 0.5)) if mode == "LSTM" else eg.tensor(h0[:, None])
    out1, hn1 = m(eg.tensor(x[:, None]), hx1)
    assert out.shape == (5, 8)
    np.testing.assert_array_equal(out.detach().numpy(), out1.detach().numpy()[:, 0])
    if mode == "LSTM":
        np.testing.assert_array_equal(hn[1].detach().numpy(), hn1[1].detach().numpy()[:, 0])
        hn, hn1 = hn[0], hn1[0]
    assert hn.shape == (4, 4)
    np.testing.assert_array_equal(hn.detach().numpy(), hn1.detach().numpy()[:, 0])


# --- gradcheck (float64) -----------------------------------------------------------------------------

@pytest.mark.parametrize("options", [dict(num_layers=2, bidirectional=True), dict(batch_first=True, bias=False)],
                         ids=["2layers-bidir", "batch_first-nobias"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_gradcheck(rng, kind, options):
    factory, mode = KINDS[kind]
    m = factory(3, 2, dtype=np.float64, **options)
    x = eg.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)  # (T, N, I), or (N, T, I) batch_first
    dirs = m.num_layers * m.num_directions
    n = 3 if options.get("batch_first") else 2
    h0 = eg.tensor(rng.standard_normal((dirs, n, 2)) * 0.5, requires_grad=True)
    c0 = eg.tensor(rng.standard_normal((dirs, n, 2)), requires_grad=True)
    params = list(m.parameters())
    if kind == "rnn_relu":  # keep pre-activations away from the kink at 0
        for p in params:
            p._data[...] = np.abs(p._data)
    if mode == "LSTM":
        def fn(x, h0, c0, *ps):
            out, (hn, cn) = m(x, (h0, c0))
            return out, hn, cn
        assert gradcheck(fn, (x, h0, c0, *params))
    else:
        def fn(x, h0, *ps):
            out, hn = m(x, h0)
            return out, hn
        assert gradcheck(fn, (x, h0, *params))


# --- parameters ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,gates", [("rnn_tanh", 1), ("lstm", 4), ("gru", 3)])
def test_parameter_names_shapes_and_init(kind, gates):
    factory, _ = KINDS[kind]
    eg.manual_seed(0)
    m = factory(10, 20, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    want = [f"{w}_l{layer}{s}" for layer in range(2) for s in ("", "_reverse")
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert names == want
    shapes = dict((n, p.shape) for n, p in m.named_parameters())
    assert shapes["weight_ih_l0"] == (gates * 20, 10)
    assert shapes["weight_ih_l1_reverse"] == (gates * 20, 40)
    assert shapes["weight_hh_l1"] == (gates * 20, 20)
    assert shapes["bias_hh_l0_reverse"] == (gates * 20,)
    bound = 1 / math.sqrt(20)
    for _, p in m.named_parameters():
        assert p.dtype == np.float32 and np.all(np.abs(p.detach().numpy()) <= bound)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])  # U(-b, b): std b / sqrt(3)
    assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound and abs(values.mean()) < 0.05 * bound
    assert [n for n, _ in factory(3, 4, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


def test_state_dict_round_trip(rng):
    a, b = nn.GRU(4, 3, num_layers=2), nn.GRU(4, 3, num_layers=2)
    b.load_state_dict(a.state_dict())
    x = eg.tensor(rng.standard_normal((3, 2, 4)).astype(np.float32))
    np.testing.assert_array_equal(a(x)[0].detach().numpy(), b(x)[0].detach().numpy())


# --- dropout between layers ----------------------------------------------------------------------------

def test_dropout_between_layers_only_in_training(rng):
    eg.manual_seed(1)
    m = nn.LSTM(4, 6, num_layers=2, dropout=0.5, dtype=np.float64)
    x = eg.tensor(rng.standard_normal((5, 3, 4)))
    m.eval()
    e1, e2 = m(x)[0].detach().numpy(), m(x)[0].detach().numpy()
    np.testing.assert_array_equal(e1, e2)
    m.train()
    t1, t2 = m(x)[0].detach().numpy(), m(x)[0].detach().numpy()
    assert not np.array_equal(t1, e1) and not np.array_equal(t1, t2)
    # the first layer never sees dropout: a 1-layer model with the same weights gives the same h_n[0]
    one = nn.LSTM(4, 6, dtype=np.float64)
    one.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("l0")})
    _, (h_train, _) = m(x)
    _, (h_one, _) = one(x)
    np.testing.assert_allclose(h_train.detach().numpy()[0], h_one.detach().numpy()[0], rtol=1e-14)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)


# --- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, "dropout"),
    (lambda: nn.LSTM(3, 4, dropout=-0.1), ValueError, "dropout"),
    (lambda: nn.GRU(3, 0), ValueError, "hidden_size"),
    (lambda: nn.GRU(3, 4.0), TypeError, "hidden_size"),
    (lambda: nn.GRU(3, 4, num_layers=0), ValueError, "num_layers"),
    (lambda: nn.RNN(-1, 4), ValueError, "input_size"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
    (lambda: nn.GRU(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("call,error,match", [
    (lambda m: m(eg.tensor(np.zeros((2, 3, 5), np.float32))), ValueError, "input: expected input_size=4"),
    (lambda m: m(eg.tensor(np.zeros((2, 3, 4, 1), np.float32))), ValueError, "input: .* 3-D"),
    (lambda m: m(eg.tensor(np.zeros((2, 3, 4)))), TypeError, "input: expected dtype float32"),
    (lambda m: m(eg.tensor(np.zeros((0, 3, 4), np.float32))), ValueError, "sequence length"),
    (lambda m: m(np.zeros((2, 3, 4), np.float32)), TypeError, "input: expected an eigengrad Tensor"),
    (lambda m: m(eg.tensor(np.zeros((2, 3, 4), np.float32)), eg.tensor(np.zeros((1, 3, 5), np.float32))),
     ValueError, r"hx: expected hidden state of shape \(2, 3, 6\)"),
    (lambda m: m(eg.tensor(np.zeros((2, 4), np.float32)), eg.tensor(np.zeros((2, 1, 6), np.float32))),
     ValueError, r"hx: expected hidden state of shape \(2, 6\) for unbatched"),
    (lambda m: m(eg.tensor(np.zeros((2, 3, 4), np.float32)), (None, None)), TypeError, "hx: GRU expects a tensor"),
])
def test_forward_errors(call, error, match):
    m = nn.GRU(4, 6, num_layers=2)
    with pytest.raises(error, match=match):
        call(m)


def test_lstm_state_errors():
    m = nn.LSTM(4, 6)
    x = eg.tensor(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(TypeError, match=r"hx: LSTM expects a tuple \(h_0, c_0\)"):
        m(x, eg.tensor(np.zeros((1, 3, 6), np.float32)))
    with pytest.raises(ValueError, match="c_0: expected hidden state of shape"):
        m(x, (eg.tensor(np.zeros((1, 3, 6), np.float32)), eg.tensor(np.zeros((1, 2, 6), np.float32))))


# --- cells ----------------------------------------------------------------------------------------------

CELLS = {"rnn_tanh": (nn.RNNCell, nn.RNN, {}), "rnn_relu": (nn.RNNCell, nn.RNN, dict(nonlinearity="relu")),
         "lstm": (nn.LSTMCell, nn.LSTM, {}), "gru": (nn.GRUCell, nn.GRU, {})}


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_steps_equal_the_layer(rng, kind):
    """A cell applied step by step computes what the one-layer module computes over the sequence."""
    cell_cls, layer_cls, extra = CELLS[kind]
    layer = layer_cls(4, 6, dtype=np.float64, **extra)
    cell = cell_cls(4, 6, dtype=np.float64, **extra)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})  # weight_ih_l0 -> weight_ih
    x = rng.standard_normal((5, 3, 4))
    out, _ = layer(eg.tensor(x))
    state = None
    for t in range(5):
        state = cell(eg.tensor(x[t]), state)
        h = state[0] if kind == "lstm" else state
        np.testing.assert_allclose(h.detach().numpy(), out.detach().numpy()[t], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_gradcheck(rng, kind):
    cell_cls, _, extra = CELLS[kind]
    cell = cell_cls(3, 4, dtype=np.float64, **extra)
    if kind == "rnn_relu":
        for p in cell.parameters():
            p._data[...] = np.abs(p._data)
    x = eg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = eg.tensor(rng.standard_normal((2, 4)) * 0.5, requires_grad=True)
    c = eg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    params = list(cell.parameters())
    if kind == "lstm":
        assert gradcheck(lambda x, h, c, *ps: cell(x, (h, c)), (x, h, c, *params))
    else:
        assert gradcheck(lambda x, h, *ps: cell(x, h), (x, h, *params))


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_unbatched_and_names(rng, kind):
    cell_cls, _, extra = CELLS[kind]
    cell = cell_cls(3, 4, dtype=np.float64, **extra)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    x = rng.standard_normal(3)
    one = cell(eg.tensor(x))
    batch = cell(eg.tensor(x[None]))
    if kind == "lstm":
        one, batch = one[1], batch[1]
    assert one.shape == (4,)
    np.testing.assert_array_equal(one.detach().numpy(), batch.detach().numpy()[0])


def test_cell_errors():
    cell = nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"input: LSTMCell expects a 2-D \(batch, 3\)"):
        cell(eg.tensor(np.zeros((2, 5), np.float32)))
    with pytest.raises(ValueError, match=r"c: expected shape \(2, 4\)"):
        cell(eg.tensor(np.zeros((2, 3), np.float32)), (eg.tensor(np.zeros((2, 4), np.float32)),
                                                       eg.tensor(np.zeros((3, 4), np.float32))))
    with pytest.raises(TypeError, match="hx: LSTMCell expects a tuple"):
        cell(eg.tensor(np.zeros((2, 3), np.float32)), eg.tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(ValueError, match=r"hx: expected shape \(2, 4\)"):
        nn.GRUCell(3, 4)(eg.tensor(np.zeros((2, 3), np.float32)), eg.tensor(np.zeros((4,), np.float32)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="gelu")


@pytest.mark.parametrize("kw", [dict(num_layers=1), dict(num_layers=2, bidirectional=True),
                                dict(num_layers=2, bias=False, batch_first=True)])
def test_lstm_proj_size_matches_torch(kw):
    """proj_size (Sak et al. 2014): h = W_hr (o tanh(c)), weight_hr_l{k} after the biases, h of size proj_size;
    outputs, states and every gradient equal PyTorch's (float64), state_dict keys and repr too."""
    torch = pytest.importorskip("torch", reason="PyTorch's LSTM is the reference")
    torch.manual_seed(0)
    tm = torch.nn.LSTM(5, 8, proj_size=3, **kw).double()
    em = nn.LSTM(5, 8, proj_size=3, **kw).double()
    assert list(tm.state_dict()) == list(em.state_dict()) and repr(em) == repr(tm)
    em.load_state_dict({k: eg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    d = 2 if kw.get("bidirectional") else 1
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5) if kw.get("batch_first") else (4, 2, 5))
    h0, c0 = rng.standard_normal((kw["num_layers"] * d, 2, 3)), rng.standard_normal((kw["num_layers"] * d, 2, 8))
    res = []
    for m, lib in ((tm, torch), (em, eg)):
        xt = lib.tensor(x, requires_grad=True)
        out, (h, c) = m(xt, (lib.tensor(h0), lib.tensor(c0)))
        (out.sum() + h.sum() * 2 + c.sum() * 3).backward()
        res.append([out.detach().numpy(), h.detach().numpy(), c.detach().numpy(), xt.grad.numpy()]
                   + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_lstm_proj_size_shapes_packed_and_unbatched():
    m = nn.LSTM(3, 6, proj_size=2)
    out, (h, c) = m(eg.randn(5, 4, 3))
    assert out.shape == (5, 4, 2) and h.shape == (1, 4, 2) and c.shape == (1, 4, 6)
    assert m.weight_hr_l0.shape == (2, 6) and m.weight_hh_l0.shape == (24, 2)
    assert m(eg.randn(5, 3))[0].shape == (5, 2)
    packed = nn.utils.rnn.pack_padded_sequence(eg.randn(5, 3, 3), eg.tensor([5, 2, 4]), enforce_sorted=False)
    out, (h, c) = m(packed)
    assert nn.utils.rnn.pad_packed_sequence(out)[0].shape == (5, 3, 2) and h.shape == (1, 3, 2)
