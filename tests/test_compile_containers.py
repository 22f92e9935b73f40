"""eg.compile with tensors inside tuples, lists and dicts, as arguments (a DataLoader's (x, y) batch, an LSTM's
(h, c) state) and as results (``loss, (h, c)``): they are the step's inputs and outputs, their structure part of
the signature; compiled equals eager bit for bit, with no warning (both fell back before)."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

F = nn.functional
Batch = collections.namedtuple("Batch", "x y")


def _both(make):
    """Run ``make(compiled)`` -> (fn, list of outputs) eagerly and compiled; compare bitwise, no warning."""
    want = make(False)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn, got = make(True)
    assert fn.replays > 0 and fn.fallback_reason is None
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("pack", ["tuple", "list", "dict", "namedtuple", "nested"])
def test_a_batch_in_a_container(pack):
    def make(compiled):
        eg.manual_seed(0)
        lin = nn.Linear(4, 3)
        opt = eg.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)

        def step(batch, scale=1.0):
            x, y = {"tuple": lambda: batch, "list": lambda: batch, "dict": lambda: (batch["x"], batch["y"]),
                    "namedtuple": lambda: (batch.x, batch.y), "nested": lambda: (batch[0][0], batch[1]["y"])}[pack]()
            opt.zero_grad()
            loss = (lin(x) - y).pow(2).mean() * scale
            loss.backward()
            opt.step()
            return loss
        fn = eg.compile(step) if compiled else step
        out = []
        for i in range(8):
            x, y = eg.randn(8, 4), eg.randn(8, 3)
            batch = {"tuple": (x, y), "list": [x, y], "dict": {"x": x, "y": y}, "namedtuple": Batch(x, y),
                     "nested": ((x,), {"y": y})}[pack]
            out.append(fn(batch, scale=1.0 + (i >= 6)).detach().numpy().copy())  # (a new signature at 6)
        return fn, out + [p.detach().numpy().copy() for p in lin.parameters()]
    _both(make)


def test_an_lstm_state_carried_between_calls():
    def make(compiled):
        eg.manual_seed(0)
        lstm, head = nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 3)
        opt = eg.optim.Adam([*lstm.parameters(), *head.parameters()], 1e-2)

        def step(x, y, hidden):
            opt.zero_grad()
            out, hidden = lstm(x, hidden)
            loss = F.cross_entropy(head(out[:, -1]), y)
            loss.backward()
            opt.step()
            return loss, tuple(h.detach() for h in hidden)  # (a nested result)
        fn = eg.compile(step) if compiled else step
        hidden, out = (eg.zeros(1, 2, 5), eg.zeros(1, 2, 5)), []
        for _ in range(8):
            loss, hidden = fn(eg.randn(2, 6, 4), eg.randint(0, 3, (2,)), hidden)
            assert isinstance(hidden, tuple) and len(hidden) == 2
            out += [loss.detach().numpy().copy(), *(h.numpy().copy() for h in hidden)]
        return fn, out
    _both(make)


def test_a_dict_result():
    def make(compiled):
        eg.manual_seed(0)
        lin = nn.Linear(4, 3)
        opt = eg.optim.AdamW(lin.parameters(), 1e-2)

        def step(x, y):
            opt.zero_grad()
            logits = lin(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            return {"loss": loss.detach(), "pred": logits.argmax(1), "none": None}
        fn = eg.compile(step) if compiled else step
        out = []
        for _ in range(7):
            r = fn(eg.randn(8, 4), eg.randint(0, 3, (8,)))
            assert set(r) == {"loss", "pred", "none"} and r["none"] is None
            out += [r["loss"].numpy().copy(), r["pred"].numpy().copy()]
        return fn, out
    _both(make)


def test_a_large_list_argument_is_a_plain_value():
    # more than 64 elements: not looked into, so a list (unhashable) falls back with the reason named
    lin = nn.Linear(4, 3)
    fn = eg.compile(lambda x, extra: lin(x).sum())
    with pytest.warns(UserWarning, match="an argument of type list is neither a tensor nor hashable"):
        fn(eg.randn(2, 4), list(range(65)))
    assert np.isfinite(fn(eg.randn(2, 4), [0]).item())
