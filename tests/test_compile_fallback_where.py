"""A fallback's warning names the line of the step that caused it (the innermost frame outside eigengrad),
and packed sequences inside a step fall back naming packing, with eager mode's numbers."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


def _calls(fn, args_list):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [fn(*args).detach().numpy().copy() for args in args_list]
    return outs, [str(w.message) for w in caught if "eg.compile" in str(w.message)]


def test_the_warning_names_the_users_line():
    model = nn.Linear(4, 3)
    opt = eg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        seen = loss.item()  # the line the warning must name
        return loss * 0 + seen

    line = next(i for i, s in enumerate(inspect.getsourcelines(step)[0]) if "loss.item()" in s)
    want = inspect.getsourcelines(step)[1] + line
    x, y = eg.randn(5, 4), eg.tensor([0, 1, 2, 0, 1])
    _, messages = _calls(eg.compile(step), [(x, y)] * 3)
    assert len(messages) == 1, messages
    assert f"(at test_compile_fallback_where.py:{want}: seen = loss.item()" in messages[0], messages[0]
    assert ".item()" in messages[0]


def test_a_reason_found_after_the_step_names_no_line():
    """The step returned a Python number: eg.compile finds it after the step, so no line of the step is named
    (the caller's line would mislead)."""
    def step(x):
        return 3

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn = eg.compile(step)
        assert fn(eg.ones(2)) == 3
    assert fn.fallback_reason == "the step returns a Python int (only tensors and None)"
    assert len(caught) == 1


def _lstm_run(compiled: bool, lengths_kind: str):
    eg.manual_seed(0)
    lstm, head = nn.LSTM(5, 7, batch_first=True), nn.Linear(7, 3)
    opt = eg.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-2)

    def step(x, lengths, y):
        opt.zero_grad()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = lstm(packed)
        loss = nn.functional.cross_entropy(head(h[-1]), y)
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step) if compiled else step
    x, y = eg.randn(4, 6, 5), eg.tensor([0, 1, 2, 1])
    seq = [[6, 3, 5, 2], [6, 3, 5, 2], [5, 5, 5, 1], [6, 3, 5, 2], [2, 2, 2, 2]]
    args = [(x, eg.tensor(L) if lengths_kind == "tensor" else tuple(L), y) for L in seq]
    return _calls(fn, args)


@pytest.mark.parametrize("lengths_kind, reason", [
    ("tensor", "pack_padded_sequence (or unpad_sequence) inside the step reads the sequence lengths into Python"),
    ("tuple", "a PackedSequence made inside the step"),
])
def test_packing_inside_the_step_falls_back_naming_it(lengths_kind, reason):
    want, none = _lstm_run(False, lengths_kind)
    got, messages = _lstm_run(True, lengths_kind)
    assert none == [] and len(messages) == 1, messages
    assert reason in messages[0] and "pack_padded_sequence(x, lengths" in messages[0], messages[0]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert len({float(v) for v in got}) > 1  # (the steps trained)


def test_an_rnn_over_a_packed_argument_falls_back_naming_the_unpacking():
    eg.manual_seed(0)
    gru = nn.GRU(3, 4)
    packed = nn.utils.rnn.pack_padded_sequence(eg.randn(5, 2, 3), [5, 2])

    def forward(p):
        out, h = gru(p)
        return h

    with eg.no_grad():
        want = forward(packed).numpy()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn = eg.compile(forward)
            got = [fn(packed).numpy() for _ in range(3)]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "a PackedSequence unpacked inside the step" in messages[0], messages
    for g in got:
        np.testing.assert_array_equal(g, want)
