"""eg.compile when the optimizer's state, a container the step reads or a held gradient changes between calls,
and the exceptions a replay raises: each case runs eagerly and compiled from the same seed and must give the
same bits (found by a sweep of 407 training steps side by side: these crashed, or gave other numbers without
a warning, before the state's layout, the containers' elements and the held gradients were part of a call's
checks)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad._errors import ArgumentError, ArgumentIndexError

F = nn.functional
OPTIMIZERS = [lambda ps: eg.optim.Adam(ps, 1e-2), lambda ps: eg.optim.AdamW(ps, 1e-2),
              lambda ps: eg.optim.RMSprop(ps, 1e-2), lambda ps: eg.optim.Adagrad(ps, 1e-1),
              lambda ps: eg.optim.SGD(ps, 0.1, momentum=0.9)]


def _training_step(model, opt, loss_of=F.cross_entropy, returns=lambda loss, model: loss):
    def step(x, y):
        opt.zero_grad()
        loss = loss_of(model(x), y)
        loss.backward()
        opt.step()
        return returns(loss, model)
    return step


def _run(compiled: bool, make_opt, between, calls: int = 9):
    """(weights after each call, losses, number of warnings): a small classifier trained ``calls`` steps,
    ``between(i, model, opt)`` called before call i."""
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = make_opt(list(model.parameters()))
    x, y = eg.randn(8, 4), eg.randint(0, 3, (8,))
    step = _training_step(model, opt)
    fn = eg.compile(step) if compiled else step
    weights, losses = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(calls):
            between(i, model, opt)
            losses.append(fn(x, y).detach().numpy().copy())
            weights.append(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
    return np.array(weights), np.array(losses), len(caught)


def _same_as_eager(make_opt, between):
    want_w, want_l, _ = _run(False, make_opt, between)
    got_w, got_l, warned = _run(True, make_opt, between)
    assert got_w.tobytes() == want_w.tobytes() and got_l.tobytes() == want_l.tobytes()
    assert warned <= 1


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
def test_a_parameter_frozen_for_one_call(make_opt):
    # its step count then lags the others': eager mode updates parameter by parameter (it raised at a replay)
    _same_as_eager(make_opt, lambda i, m, opt: m[0].weight.requires_grad_(i != 1))


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
def test_the_optimizer_state_cleared_between_calls(make_opt):
    # the next step makes new state arrays: the plan's updates were bound to the old ones (other numbers)
    _same_as_eager(make_opt, lambda i, m, opt: opt.state.clear() if i == 5 else None)


@pytest.mark.parametrize("make_opt", OPTIMIZERS[:1] + OPTIMIZERS[-1:])
def test_a_state_tensor_replaced_between_calls(make_opt):
    def between(i, m, opt):
        if i == 5:
            s = opt.state[m[0].weight]
            name = "exp_avg" if "exp_avg" in s else "momentum_buffer"
            s[name] = eg.zeros_like(m[0].weight) + 0.5  # outside the flat buffer: updated one by one
    _same_as_eager(make_opt, between)


def test_a_state_entry_deleted_between_calls():
    _same_as_eager(OPTIMIZERS[0], lambda i, m, opt: opt.state.pop(m[2].bias) if i == 5 else None)


def test_a_model_in_a_dict_replaced_between_calls():
    def run(compiled):
        eg.manual_seed(0)
        reg = {"model": nn.Linear(4, 3)}
        x = eg.randn(8, 4)

        def predict(x):
            with eg.no_grad():
                return reg["model"](x)
        fn = eg.compile(predict) if compiled else predict
        outs = []
        for i in range(8):
            if i == 5:
                reg["model"] = nn.Linear(4, 3)
            outs.append(fn(x).numpy().copy())
        return np.array(outs)
    assert run(True).tobytes() == run(False).tobytes()


def test_an_optimizer_in_a_list_replaced_between_calls():
    def run(compiled):
        eg.manual_seed(0)
        model = nn.Linear(4, 3)
        holder = [eg.optim.SGD(model.parameters(), 0.1)]
        x, y = eg.randn(8, 4), eg.randint(0, 3, (8,))

        def step(x, y):
            holder[0].zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            holder[0].step()
            return loss
        fn = eg.compile(step) if compiled else step
        for i in range(8):
            if i == 5:
                holder[0] = eg.optim.Adam(model.parameters(), 1e-2)
            fn(x, y)
        return model.weight.detach().numpy().copy()
    assert run(True).tobytes() == run(False).tobytes()


def test_a_held_gradient_keeps_its_values_as_in_pytorch():
    # zero_grad() (set_to_none) then backward makes a new .grad in PyTorch: one the caller kept is unchanged
    eg.manual_seed(0)
    m = nn.Linear(3, 2)
    opt = eg.optim.SGD(m.parameters(), 0.0)
    x = eg.randn(4, 3)
    held = []
    for i in range(3):
        opt.zero_grad()
        (m(x) * (i + 1)).sum().backward()
        held.append(m.weight.grad)
        opt.step()
    first = held[0].numpy().copy()
    np.testing.assert_allclose(first * 2, held[1].numpy(), rtol=1e-6)
    np.testing.assert_allclose(first * 3, held[2].numpy(), rtol=1e-6)
    assert held[2] is m.weight.grad


def test_a_returned_gradient_held_across_calls():
    def run(compiled):
        eg.manual_seed(0)
        model = nn.Linear(4, 3)
        opt = eg.optim.SGD(model.parameters(), 0.1)
        x, y = eg.randn(8, 4), eg.randint(0, 3, (8,))
        step = _training_step(model, opt, returns=lambda loss, model: (loss, model.weight.grad))
        fn = eg.compile(step) if compiled else step
        held = [fn(x, y)[1] for _ in range(7)]
        return np.array([h.numpy() for h in held])
    got, want = run(True), run(False)
    assert got.tobytes() == want.tobytes()
    assert len({h.tobytes() for h in want}) == len(want)  # each call's own gradient


def _replayed_step(loss_of):
    eg.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = eg.optim.SGD(model.parameters(), 0.1)
    step = eg.compile(_training_step(model, opt, loss_of))
    x = eg.randn(8, 4)
    for _ in range(6):
        step(x, eg.randint(0, 3, (8,)))
    assert step.replays > 0
    return step, x


@pytest.mark.parametrize("bad", [3, -3])
def test_a_replay_raises_eager_modes_class_for_a_bad_target(bad):
    step, x = _replayed_step(F.cross_entropy)
    with pytest.raises(ArgumentIndexError, match=f"class index {bad} at position 2 is out of range"):
        step(x, eg.tensor([0, 1, bad, 0, 0, 1, 2, 0]))


def test_a_replay_raises_eager_modes_class_for_a_bad_gather_index():
    step, x = _replayed_step(lambda out, y: -out.gather(1, y.unsqueeze(1)).mean())
    with pytest.raises(ArgumentError, match="^index 3 is out of bounds for dimension 1 with size 3$"):
        step(x, eg.tensor([0, 1, 3, 0, 0, 1, 2, 0]))


def test_a_returned_gradient_held_without_an_optimizer():
    # manual SGD: the gradients are the plan's own arrays, written again at every replay
    def run(compiled):
        eg.manual_seed(0)
        model = nn.Linear(4, 3)
        x, y = eg.randn(8, 4), eg.randint(0, 3, (8,))

        def step(x, y):
            for p in model.parameters():
                p.grad = None
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            with eg.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            return loss
        fn = eg.compile(step) if compiled else step
        held = []
        for _ in range(7):
            fn(x, y)
            held.append(model.weight.grad)  # (the live .grad, not a returned copy)
        return np.array([h.numpy() for h in held])
    got, want = run(True), run(False)
    assert got.tobytes() == want.tobytes()
    assert len({h.tobytes() for h in want}) == len(want)


SCALE = 1.0  # (a global of this module the tests below change between calls)


def _scaled_loss(out, y):
    return F.cross_entropy(out, y) * SCALE


class _ScaledNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self._head(self.fc(x))

    def _head(self, h):  # (a method forward calls: its globals count too)
        return h * SCALE


@pytest.mark.parametrize("where", ["a helper function", "a module's method"])
def test_a_global_plain_value_changed_after_the_plan_is_checked(where):
    # the trace froze SCALE into the plan: a replay kept multiplying by the old value (no warning)
    global SCALE

    def run(compiled):
        global SCALE
        eg.manual_seed(0)
        model = _ScaledNet() if where == "a module's method" else nn.Linear(4, 3)
        opt = eg.optim.SGD(model.parameters(), 0.1)
        loss_of = F.cross_entropy if where == "a module's method" else _scaled_loss
        step = _training_step(model, opt, loss_of)
        fn = eg.compile(step) if compiled else step
        x, y = eg.randn(8, 4), eg.randint(0, 3, (8,))
        losses = []
        for i in range(9):
            SCALE = 1.0 + (i >= 6)
            losses.append(fn(x, y).detach().numpy().copy())
        return np.array(losses), fn
    try:
        want, _ = run(False)
        got, fn = run(True)
    finally:
        SCALE = 1.0
    assert got.tobytes() == want.tobytes()
    assert fn.fallback_reason is None and fn.replays >= 2
