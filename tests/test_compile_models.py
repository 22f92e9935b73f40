"""eg.compile on the examples' models: the CNN of examples/fashion_mnist_cnn.py (Conv2d, BatchNorm2d,
ReLU, MaxPool2d, Flatten, Dropout, Linear; AdamW + OneCycleLR) and the GRU of
examples/fashion_mnist_gru.py (2-layer GRU, batch_first, dropout between layers; the returned gradient
norm of clip_grad_norm_): 50 compiled steps equal 50 eager ones bit for bit, on 1 and 2 threads."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR
from compile_cases import same

STEPS = 50


def cnn() -> nn.Module:
    """The example's CNN with fewer channels (the same layers and options)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))


class RowGRU(nn.Module):
    """The GRU example's model: rows of a (N, 28, 28) batch read by a 2-layer GRU, the last hidden state
    classified."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(28, 24, num_layers=2, batch_first=True, dropout=0.2)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        _, h_n = self.gru(x)
        return self.head(h_n[-1])


def _data(shape, n: int = 12, seed: int = 4) -> list:
    rng = np.random.default_rng(seed)
    return [(eg.from_numpy(rng.standard_normal((n, *shape)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, 10, n).astype(np.int64))) for _ in range(STEPS)]


def _train(build, shape, compiled: bool, clip: float | None):
    eg.manual_seed(0)
    model = build()
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, 1e-2), lr=3e-3)
    sched = OneCycleLR(opt, max_lr=1e-2, total_steps=STEPS)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip) if clip is not None else None
        opt.step()
        return loss, norm

    fn = eg.compile(step) if compiled else step
    out = []
    for x, y in _data(shape):
        loss, norm = fn(x, y)
        out.append(loss.detach().numpy().copy())
        if norm is not None:
            out.append(norm.numpy().copy())
        sched.step()
    out += [p._data.copy() for p in model.parameters()] + [b._data.copy() for _, b in model.named_buffers()]
    out += [np.asarray(v).copy() for p in model.parameters() for _, v in sorted(opt.state[p].items())]
    return out, fn


@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_example_models_compiled_equal_eager(name, restore_threads):
    build, shape, clip = (cnn, (1, 28, 28), None) if name == "cnn" else (RowGRU, (28, 28), 1.0)
    want, _ = _train(build, shape, False, clip)
    runs = []
    for threads in (1, 2):
        eg.set_num_threads(threads)
        got, fn = _train(build, shape, True, clip)
        assert fn.fallback_reason is None and fn.replays == STEPS - 4
        same(got, want)
        runs.append(got)
    same(runs[0], runs[1])


class BagOfEmbeddings(nn.Module):
    """Token ids (N, L) embedded (padding_idx 0), averaged over the sequence and classified."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(30, 12, padding_idx=0)
        self.head = nn.Linear(12, 5)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(1))


def _compiled_equals_eager(build, data: list, replays: int):
    """``build()`` -> (model, optimizer, loss(model, *batch)): the steps over ``data`` compiled and eagerly give
    the same losses and parameters bit for bit; returns the compiled function."""
    runs, compiled_fn = [], None
    for compiled in (True, False):
        model, opt, loss_of = build()

        def step(*batch):
            opt.zero_grad()
            loss = loss_of(model, *batch)
            loss.backward()
            opt.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = [fn(*batch).detach().numpy().copy() for batch in data]
        if compiled:
            assert fn.fallback_reason is None and fn.replays == replays
            compiled_fn = fn
        runs.append(losses + [p.detach().numpy().copy() for p in model.parameters()])
    same(runs[0], runs[1])
    return compiled_fn


def _cross_entropy(model, x, y):
    return nn.functional.cross_entropy(model(x), y)


def test_embedding_compiled_equals_eager_and_checks_each_replays_indices():
    rng = np.random.default_rng(5)
    data = [(eg.from_numpy(rng.integers(0, 30, (8, 7))), eg.from_numpy(rng.integers(0, 5, 8))) for _ in range(12)]

    def build():
        eg.manual_seed(3)
        model = BagOfEmbeddings()
        return model, eg.optim.Adam(model.parameters(), lr=1e-2), _cross_entropy

    fn = _compiled_equals_eager(build, data, replays=8)
    bad = eg.from_numpy(np.full((8, 7), 30))  # out of range: the binding's check runs at every replay
    with pytest.raises(IndexError, match="30"):
        fn(bad, data[0][1])
    assert fn.fallback_reason is None and fn.replays == 8  # (raised by the replay, as eager mode raises)


class _Weighted(nn.Module):
    """loss(model(x), y) * w: a module, so that eg.compile finds the loss's buffers (pos_weight, weight)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, model, x, y, w):
        return self.loss(model(x), y) * w


@pytest.mark.parametrize("loss", ["mse_mean", "mse_sum", "bce_mean_pos_weight", "bce_sum_weight"])
def test_reduced_mse_and_bce_compiled_equal_eager_with_an_upstream_read_at_each_replay(loss):
    # the loss times a weight passed in at every call: the backward reads its upstream gradient when the step
    # runs (a value frozen at the trace would give the traced call's gradients at every replay)
    rng = np.random.default_rng(6)
    data = [(eg.from_numpy(rng.standard_normal((8, 5)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, 2, (8, 3)).astype(np.float32)),
             eg.from_numpy(np.array(rng.uniform(0.5, 2.0), np.float32))) for _ in range(10)]
    fn_of = {"mse_mean": lambda: nn.MSELoss(), "mse_sum": lambda: nn.MSELoss(reduction="sum"),
             "bce_mean_pos_weight": lambda: nn.BCEWithLogitsLoss(pos_weight=eg.full((3,), 2.0)),
             "bce_sum_weight": lambda: nn.BCEWithLogitsLoss(weight=eg.full((3,), 0.5), reduction="sum")}

    def build():
        eg.manual_seed(2)
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
        return model, eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.5), _Weighted(fn_of[loss]())

    _compiled_equals_eager(build, data, replays=6)


class TinyEncoder(nn.Module):
    """Two Transformer encoder layers over (N, L, 16) tokens, mean-pooled and classified."""

    def __init__(self, dropout: float, norm_first: bool) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=dropout, batch_first=True, norm_first=norm_first,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


@pytest.mark.parametrize("dropout,norm_first", [(0.0, False), (0.1, False), (0.1, True)])
def test_transformer_encoder_compiled_equals_eager(dropout, norm_first):
    # attention is a plan step; with dropout its backward regenerates the forward's mask from the same draw,
    # which a replay gives both kernels
    rng = np.random.default_rng(7)
    data = [(eg.from_numpy(rng.standard_normal((6, 9, 16)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, 5, 6))) for _ in range(10)]

    def build():
        eg.manual_seed(8)
        model = TinyEncoder(dropout, norm_first)
        return model, eg.optim.AdamW(model.parameters(), lr=1e-3), _cross_entropy

    _compiled_equals_eager(build, data, replays=6)


class TinyLanguageModel(nn.Module):
    """A causal language model the way PyTorch scripts write one: the causal mask made inside the step by
    generate_square_subsequent_mask, a key padding mask from the tokens, padding ignored by the loss."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 16, padding_idx=0)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.encoder, self.head = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False), nn.Linear(16, 20)

    def forward(self, tok):
        mask = nn.Transformer.generate_square_subsequent_mask(tok.shape[1])
        return self.head(self.encoder(self.emb(tok), mask=mask, src_key_padding_mask=(tok == 0)))


def test_language_model_with_masks_made_inside_the_step_compiled_equals_eager():
    """The masks are made at every replay (they once fell back: made in NumPy, outside the recorded steps)."""
    rng = np.random.default_rng(9)
    data = []
    for _ in range(8):
        tok = rng.integers(1, 20, (4, 9))
        tok[:, -2:] = 0  # padding at the end of every sequence
        data.append((eg.from_numpy(tok),))

    def lm_loss(model, tok):
        logits = model(tok[:, :-1])
        return nn.functional.cross_entropy(logits.reshape(-1, 20), tok[:, 1:].reshape(-1), ignore_index=0)

    def build():
        eg.manual_seed(10)
        model = TinyLanguageModel()
        return model, eg.optim.Adam(model.parameters(), lr=1e-3), lm_loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's warning on a bool padding mask with a float mask
        _compiled_equals_eager(build, data, replays=4)


def test_a_mask_argument_that_stops_being_causal_raises_instead_of_replaying_the_causal_path():
    """The encoder picks the attention's causal path when the mask holds the causal pattern (PyTorch's rule,
    by the values): a replay checks that the mask it is given still does, and raises if not, where it once
    replayed causal attention for another mask, silently."""
    eg.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 1,
                                enable_nested_tensor=False)

    def step(x, mask):
        with eg.no_grad():
            return enc(x, mask=mask)

    fn = eg.compile(step)
    x, causal = eg.randn(2, 5, 8), nn.Transformer.generate_square_subsequent_mask(5)
    other = eg.zeros(5, 5)
    other[0, 1:] = float("-inf")
    for _ in range(4):
        assert np.array_equal(fn(x, causal).numpy(), step(x, causal).numpy())
    assert fn.replays >= 1
    with pytest.raises(RuntimeError, match="the attention mask was the causal mask when the step was traced"):
        fn(x, other)
    fresh = eg.compile(step)  # traced with the other mask: the causal one later raises too
    for _ in range(4):
        assert np.array_equal(fresh(x, other).numpy(), step(x, other).numpy())
    with pytest.raises(RuntimeError, match="was not the causal mask when the step was traced, and now it is "):
        fresh(x, causal)
