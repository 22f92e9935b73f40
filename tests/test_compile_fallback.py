"""Each reason eg.compile cannot replay a step: one warning naming it, and eager mode's numbers."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from compile_cases import batches, mlp, state_arrays


def _setup():
    model = mlp(0)
    opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, opt, nn.CrossEntropyLoss(label_smoothing=0.1)


def _step_fn(kind: str, model, opt, loss_fn, calls: list):
    """A step that does one thing eg.compile cannot replay, chosen by ``kind``."""

    ticks = itertools.count(1)  # (Python state the step reads that is no user object, dict or list: not watched)

    def step(x, y):
        if kind == "appends":
            calls.append(1)
        opt.zero_grad()
        out = model(x)
        if kind == "numpy_array":  # a tensor made from a NumPy array inside the step: its values are Python's
            out = out + eg.from_numpy(np.full(out.shape[1], 0.5, dtype=np.float32))
        loss = loss_fn(out, y)
        if kind == "value_shaped":  # a boolean mask selects elements: the shape depends on the values
            loss = loss + out[out > 1.0].sum() * 1e-3
        if kind == "create_graph_penalty":  # a gradient penalty: autograd.grad with create_graph
            (g,) = eg.autograd.grad(loss, out, create_graph=True)
            loss = loss + (g * g).sum()
        if kind == "item" and loss.item() > 100.0:
            return None
        if kind == "numpy":
            loss.detach().numpy()
        if kind == "float" and float(loss) > 100.0:
            return None
        if kind == "tolist":
            out.tolist()
        if kind == "asarray":
            np.asarray(out.detach())
        if kind == "value_control_flow_rows" and bool((out > 50.0).any()):
            out = out * 0.5
        if kind == "value_control_flow" and loss > 100.0:
            loss = loss * 0.5
        loss.backward()
        if kind == "python_state" and next(ticks) % 2:
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        if kind == "hidden_write":
            model[0].weight._data[0, 0] += 1.0  # private memory written behind the tracer's back
        opt.step()
        return loss

    return step


REASONS = {
    "item": ".item()",
    "numpy": ".numpy()",
    "float": "float()",
    "tolist": ".tolist()",
    "asarray": "np.asarray(tensor)",
    "value_control_flow_rows": "control flow on a tensor's value",
    "value_control_flow": "control flow on a tensor's value",
    "python_state": "different operations at two calls",
    "numpy_array": "was computed outside the recorded kernels",
    "hidden_write": "did not reproduce eager mode",
    "appends": "the step changes the Python state calls (appended to or changed)",
    "value_shaped": "output shape depends on the values of its inputs",
    "create_graph_penalty": "create_graph=True",
}


def _compare(kind: str, steps: int = 7, mutate=None):
    """Run ``kind``'s step compiled and eagerly; returns the warnings the compiled run raised."""
    data = batches(steps)
    results = []
    caught = []
    for compiled in (True, False):
        model, opt, loss_fn = _setup()
        calls = []
        fn = _step_fn(kind, model, opt, loss_fn, calls)
        fn = eg.compile(fn) if compiled else fn
        losses = []
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            for i, (x, y) in enumerate(data):
                if mutate is not None:
                    mutate(i, model)
                out = fn(x, y)
                losses.append(None if out is None else out.detach().numpy().copy())
        if compiled:
            caught = [str(m.message) for m in w if "eg.compile" in str(m.message)]
            assert fn.fallback_reason is not None
        results.append((losses, state_arrays(model, opt)))
    (l1, s1), (l2, s2) = results
    assert [None if a is None else a.tobytes() for a in l1] == [None if a is None else a.tobytes() for a in l2]
    assert [a.tobytes() for a in s1] == [a.tobytes() for a in s2]
    return caught


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_fallback_warns_once_and_gives_eager_numbers(kind):
    caught = _compare(kind)
    assert len(caught) == 1, caught
    assert REASONS[kind] in caught[0], caught[0]


def test_hooks_fall_back():
    def mutate(i, model):
        if i == 0:
            model[0].register_forward_hook(lambda m, inp, out: None)
    caught = _compare("plain", mutate=mutate)
    assert len(caught) == 1 and "hooks" in caught[0]


@pytest.mark.parametrize("hook", ["tensor", "post_accumulate"])
def test_gradient_hooks_fall_back(hook):
    def mutate(i, model):
        if i == 0 and hook == "tensor":
            model[0].weight.register_hook(lambda g: None)
        elif i == 0:
            model[0].weight.register_post_accumulate_grad_hook(lambda p: None)
    caught = _compare("plain", mutate=mutate)
    want = "gradient hook ran" if hook == "tensor" else "post-accumulate-grad hook ran"
    assert len(caught) == 1 and want in caught[0], caught


def test_replaced_parameter_falls_back():
    def mutate(i, model):
        if i == 5:  # after the plan replays
            model[0].weight.data = eg.from_numpy(np.full(model[0].weight.shape, 0.01, np.float32))
    caught = _compare("plain", steps=8, mutate=mutate)
    assert len(caught) == 1 and "parameter was replaced" in caught[0]


def test_plain_step_does_not_fall_back():
    model, opt, loss_fn = _setup()
    fn = eg.compile(_step_fn("plain", model, opt, loss_fn, []))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, y in batches(6):
            fn(x, y)
    assert fn.fallback_reason is None and fn.replays == 2


# --- the reasons once more, where they start after the plan replays -------------------------
# (calls 1-2 trace, 3 verifies, 4 on replay: a change at call 6 meets a replaying plan)

def _scale_output(module, inputs, output):
    return output * 0.5  # a hook that changes the numbers: eager mode's result differs from the plan's


def _halve_input(module, inputs):
    return tuple(x * 0.5 for x in inputs)


@pytest.mark.parametrize("kind", ["forward", "forward_pre"])
def test_hook_added_mid_run_falls_back(kind):
    def mutate(i, model):
        if i == 5:
            if kind == "forward":
                model[4].register_forward_hook(_scale_output)
            else:
                model[0].register_forward_pre_hook(_halve_input)
    caught = _compare("plain", steps=8, mutate=mutate)
    assert len(caught) == 1 and "has forward hooks" in caught[0], caught


def test_grad_ready_hook_falls_back():
    seen = []

    def run(compiled: bool):
        model, opt, loss_fn = _setup()
        fn = _step_fn("plain", model, opt, loss_fn, [])
        fn = eg.compile(fn) if compiled else fn
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            losses = []
            for i, (x, y) in enumerate(batches(8)):
                if i == 5:
                    opt.arenas[0].register_grad_ready_hook(lambda arena, j: seen.append(j))
                losses.append(fn(x, y).detach().numpy().copy())
        return losses, state_arrays(model, opt), [str(m.message) for m in w if "eg.compile" in str(m.message)]

    l1, s1, caught = run(True)
    calls_compiled = len(seen)
    l2, s2, _ = run(False)
    assert [a.tobytes() for a in l1 + s1] == [a.tobytes() for a in l2 + s2]
    assert len(caught) == 1 and "grad-ready hooks" in caught[0], caught
    assert calls_compiled == len(seen) - calls_compiled > 0  # the hook ran at every step after it was added


@pytest.mark.parametrize("when", [1, 5])  # while tracing; after the plan replays
@pytest.mark.parametrize("how", ["data", "attribute", "layer"])
def test_parameter_replaced_falls_back(how, when):
    def mutate(i, model):
        if i != when:
            return
        if how == "data":
            model[0].weight.data = eg.from_numpy(np.full(model[0].weight.shape, 0.01, np.float32))
        elif how == "attribute":  # a new Parameter object (the optimizer still holds the old one, as in eager)
            model[4].weight = nn.Parameter(eg.from_numpy(np.full(model[4].weight.shape, 0.02, np.float32)))
        else:
            eg.manual_seed(3)
            model[4] = nn.Linear(64, 32)
    caught = _compare("plain", steps=8, mutate=mutate)
    assert len(caught) == 1 and "parameter was replaced" in caught[0], caught


def test_arithmetic_on_tensors_compiles():
    # +, -, *, / of tensors and Python numbers, and negation, are plan steps (the same NumPy calls, replayed):
    # a loss scaled for gradient accumulation, two losses summed, a scaled output
    runs = []
    for compiled in (True, False):
        model, opt, loss_fn = _setup()
        head = mlp(1)
        opt2 = eg.optim.Adam(head.parameters(), lr=1e-2)

        def step(x, y):
            opt.zero_grad()
            opt2.zero_grad()
            for xs, ys in ((x[:8], y[:8]), (x[8:], y[8:])):  # two micro-batches
                out = 1.5 * model(xs) - 0.25
                loss = loss_fn(-(-out) / 2.0, ys) / 2 + 0.5 * loss_fn(head(xs), ys) - 1.0 * 0
                loss.backward()
            opt.step()
            opt2.step()
            return loss

        fn = eg.compile(step) if compiled else step
        losses = [fn(x, y).detach().numpy().copy() for x, y in batches(8)]
        if compiled:
            assert fn.fallback_reason is None and fn.replays == 4
        runs.append(losses + state_arrays(model, opt) + state_arrays(head, opt2))
    assert [a.tobytes() for a in runs[0]] == [a.tobytes() for a in runs[1]]


def test_accuracy_and_an_l1_penalty_compile():
    # comparisons, argmax, casts and abs are plan steps too: an accuracy computed inside the step (under
    # no_grad) and an L1 penalty over the weights replay and equal eager mode
    runs = []
    for compiled in (True, False):
        model, opt, loss_fn = _setup()

        def step(x, y):
            opt.zero_grad()
            logits = model(x)
            penalty = sum(p.abs().sum() for p in model.parameters() if p.ndim == 2)
            loss = loss_fn(logits, y) + 1e-3 * penalty
            loss.backward()
            opt.step()
            with eg.no_grad():
                acc = (logits.argmax(dim=1) == y).float().mean()
                wrong = (logits.argmin(1, keepdim=True) != y[:, None]).double()
            return loss, acc, wrong

        fn = eg.compile(step) if compiled else step
        outs = [t.detach().numpy().copy() for x, y in batches(8) for t in fn(x, y)]
        if compiled:
            assert fn.fallback_reason is None and fn.replays == 4
        runs.append(outs + state_arrays(model, opt))
    assert [(a.dtype, a.tobytes()) for a in runs[0]] == [(a.dtype, a.tobytes()) for a in runs[1]]
    assert len({a.tobytes() for a in runs[0][1:24:3]}) > 1  # (the accuracy changes between batches)
