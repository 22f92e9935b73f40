"""Parity with PyTorch for nn.RNN (tanh, relu), nn.LSTM and nn.GRU: outputs, final states and ALL gradients
(input, h0 / c0, every weight and bias) in float64 to 1e-10 relative (float32 to 2e-5), weights copied from
the torch module by name; over batch_first, bidirectional, multi-layer, bias or not, unbatched input, odd
sizes and an empty batch. Also PyTorch's parameter names and shapes, and eval-mode dropout."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402
from eigengrad import nn  # noqa: E402

TOL = {np.float32: 2e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
KINDS = {
    "rnn_tanh": (nn.RNN, torch.nn.RNN, dict(nonlinearity="tanh")),
    "rnn_relu": (nn.RNN, torch.nn.RNN, dict(nonlinearity="relu")),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}
CONFIGS = [  # (T, N, I, H, options); N None: unbatched
    (6, 4, 5, 7, {}),
    (5, 3, 4, 6, dict(num_layers=2, bidirectional=True, batch_first=True)),
    (3, 2, 7, 5, dict(num_layers=3, bias=False)),
    (1, 1, 1, 1, dict(bidirectional=True)),
    (4, None, 3, 5, dict(num_layers=2, bidirectional=True)),
    (28, 16, 28, 32, dict(num_layers=2)),  # the Fashion-MNIST example's shapes, smaller
    (3, 0, 2, 3, dict(num_layers=2, bidirectional=True)),
]


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


assert_rel = make_assert_rel(TOL)

def config_id(c):
    return "x".join(str(v) for v in c[:4]) + "".join(f"-{k}{v}" for k, v in c[4].items())


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_and_all_gradients_match_torch(dt, kind, config):
    t, n, i, h, options = config
    ecls, tcls, extra = KINDS[kind]
    torch.manual_seed(0)
    tm = tcls(i, h, **extra, **options).to(TORCH_DTYPE[dt])
    em = ecls(i, h, **extra, **options, dtype=dt)
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    batch_first = options.get("batch_first", False)
    xshape = (t, i) if n is None else ((n, t, i) if batch_first else (t, n, i))
    states = em.num_layers * em.num_directions
    hshape = (states, h) if n is None else (states, n, h)
    arrays = [rng.standard_normal(xshape).astype(dt), (rng.standard_normal(hshape) * 0.5).astype(dt),
              rng.standard_normal(hshape).astype(dt)]
    e_in = [eg.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    lstm = kind == "lstm"
    if lstm:
        eo, (eh, ec) = em(e_in[0], (e_in[1], e_in[2]))
        to, (th, tc) = tm(t_in[0], (t_in[1], t_in[2]))
        pairs = [(eo, to, "output"), (eh, th, "h_n"), (ec, tc, "c_n")]
    else:
        eo, eh = em(e_in[0], e_in[1])
        to, th = tm(t_in[0], t_in[1])
        pairs = [(eo, to, "output"), (eh, th, "h_n")]
    eloss, tloss = 0, 0
    for e, tt, what in pairs:
        assert_rel(e.detach().numpy(), tt, dt, what)
        g = rng.standard_normal(tt.shape).astype(dt)
        eloss = eloss + (e * eg.tensor(g)).sum()
        tloss = tloss + (tt * torch.from_numpy(g)).sum()
    eloss.backward()
    tloss.backward()
    names = ["input", "h0", "c0"] if lstm else ["input", "h0"]
    for e, tt, what in zip(e_in, t_in, names):
        assert_rel(e.grad.numpy(), tt.grad, dt, f"grad of {what}")
    tparams = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert_rel(p.grad.numpy(), tparams[name].grad, dt, f"grad of {name}")


@pytest.mark.parametrize("kind", list(KINDS))
def test_parameter_names_and_shapes_as_torch(kind):
    ecls, tcls, extra = KINDS[kind]
    for options in ({}, dict(num_layers=3, bidirectional=True), dict(num_layers=2, bias=False)):
        em, tm = ecls(6, 9, **extra, **options), tcls(6, 9, **extra, **options)
        assert [(k, tuple(v.shape)) for k, v in em.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_eval_mode_ignores_dropout_as_torch(kind):
    ecls, tcls, _ = KINDS[kind]
    tm = tcls(3, 4, num_layers=3, dropout=0.5).double().eval()
    em = ecls(3, 4, num_layers=3, dropout=0.5, dtype=np.float64).eval()
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    assert_rel(em(eg.tensor(x))[0].detach().numpy(), tm(torch.from_numpy(x))[0], np.float64, "output")


CELLS = {"rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {}), "rnn_relu": (nn.RNNCell, torch.nn.RNNCell,
                                                                    dict(nonlinearity="relu")),
         "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}), "gru": (nn.GRUCell, torch.nn.GRUCell, {}),
         "gru_nobias": (nn.GRUCell, torch.nn.GRUCell, dict(bias=False))}


@pytest.mark.parametrize("shape", [(5, 6), (6,), (0, 6)], ids=["batched", "unbatched", "empty"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_cells_match_torch(dt, kind, shape):
    ecls, tcls, extra = CELLS[kind]
    torch.manual_seed(0)
    tm = tcls(6, 7, **extra).to(TORCH_DTYPE[dt])
    em = ecls(6, 7, **extra, dtype=dt)
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    hshape = shape[:-1] + (7,)
    arrays = [rng.standard_normal(shape).astype(dt), rng.standard_normal(hshape).astype(dt),
              rng.standard_normal(hshape).astype(dt)]
    e_in = [eg.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    if kind == "lstm":
        eo, to = em(e_in[0], (e_in[1], e_in[2])), tm(t_in[0], (t_in[1], t_in[2]))
    else:
        eo, to = (em(e_in[0], e_in[1]),), (tm(t_in[0], t_in[1]),)
        e_in, t_in = e_in[:2], t_in[:2]
    eloss, tloss = 0, 0
    for e, tt in zip(eo, to):
        assert_rel(e.detach().numpy(), tt, dt, "output")
        g = rng.standard_normal(tt.shape).astype(dt)
        eloss = eloss + (e * eg.tensor(g)).sum()
        tloss = tloss + (tt * torch.from_numpy(g)).sum()
    eloss.backward()
    tloss.backward()
    for e, tt in zip(e_in, t_in):
        assert_rel(e.grad.numpy(), tt.grad, dt, "input grad")
    tparams = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert_rel(p.grad.numpy(), tparams[name].grad, dt, f"grad of {name}")
