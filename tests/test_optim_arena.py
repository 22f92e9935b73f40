"""Parameter arenas (eigengrad.optim.arena): PyTorch's aliasing kept through optimizer steps for every
rule (from_numpy arrays and .numpy() views stay the parameters' memory), where the parameters live
(adopted, in place, or their own memory with one note in the log), the gradient buffer and the hook that
says a parameter's gradient is final (the interface a bucketed allreduce needs)."""
import contextlib
import logging
import re
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

RULES = {"SGD": dict(lr=0.1, momentum=0.9, weight_decay=0.01), "Adam": dict(lr=0.05), "AdamW": dict(lr=0.05),
         "NAdam": dict(lr=0.05), "Adamax": dict(lr=0.05), "RAdam": dict(lr=0.05), "Adagrad": dict(lr=0.1), "RMSprop": dict(lr=0.01, momentum=0.5),
         "Adadelta": dict(lr=1.0)}


@contextlib.contextmanager
def arena_note(caplog, match, count=None):
    """Runs the block with warnings as errors and checks the INFO records of ``eigengrad.optim`` it made:
    one matching ``match`` (``count`` of them in all, when given), or none when ``match`` is None."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="eigengrad.optim"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    notes = [r.getMessage() for r in caplog.records if r.name == "eigengrad.optim"]
    if match is None:
        assert notes == []
    else:
        assert any(re.search(match, n) for n in notes), notes
    if count is not None:
        assert len(notes) == count, notes


def loss_of(w, b, x):
    return ((x @ w.T + b) ** 2).sum()


def train(params, rule, steps=10):
    opt = getattr(eg.optim, rule)(params, **RULES[rule])
    x = eg.tensor(np.random.default_rng(3).standard_normal((8, 3)).astype(np.float32))
    for _ in range(steps):
        opt.zero_grad()
        loss_of(*params, x).backward()
        opt.step()
    return opt


def fresh_arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(5).astype(np.float32)


@pytest.mark.parametrize("rule", list(RULES))
def test_from_numpy_parameters_stay_their_arrays_through_ten_steps(rule, caplog):
    """The acceptance check, for every optimizer: the user's arrays are the parameters' memory at every step."""
    w_arr, b_arr = fresh_arrays()
    w, b = nn.Parameter(eg.from_numpy(w_arr)), nn.Parameter(eg.from_numpy(b_arr))
    before = w_arr.copy()
    with arena_note(caplog, f"{rule} param group 0: .* one kernel call per parameter .* parameter 0 "
                            r"\(shape \(5, 3\)\) .*referenced outside the parameter"):
        opt = getattr(eg.optim, rule)([w, b], **RULES[rule])
    x = eg.tensor(np.random.default_rng(3).standard_normal((8, 3)).astype(np.float32))
    for _ in range(10):
        opt.zero_grad()
        loss_of(w, b, x).backward()
        with arena_note(caplog, None):  # noted once, at construction
            opt.step()
        assert w.detach().numpy() is w_arr and b.detach().numpy() is b_arr
        np.testing.assert_array_equal(w.detach().numpy(), w_arr)
    assert not np.array_equal(w_arr, before)
    # the same steps on parameters the arena adopted (one fused call) give the same numbers
    a, c = fresh_arrays()
    adopted = [nn.Parameter(eg.tensor(a)), nn.Parameter(eg.tensor(c))]
    assert train(adopted, rule).arenas[0].placement == "adopted"
    np.testing.assert_allclose(adopted[0].detach().numpy(), w_arr, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(adopted[1].detach().numpy(), b_arr, rtol=1e-6, atol=1e-7)


def test_numpy_view_taken_before_the_optimizer_stays_live(caplog):
    layer = nn.Linear(3, 5)
    w = layer.weight.detach().numpy()  # held: the arena must not move the weight
    with arena_note(caplog, "referenced outside the parameter"):
        opt = eg.optim.SGD(layer.parameters(), lr=0.1)
    before = w.copy()
    layer(eg.ones(2, 3)).sum().backward()
    opt.step()
    assert layer.weight.detach().numpy() is w
    np.testing.assert_allclose(w, before - 0.1 * layer.weight.grad.numpy())


def test_one_contiguous_user_array_is_used_in_place_without_warning():
    arr = np.ones((4, 3), dtype=np.float32)
    p = nn.Parameter(eg.from_numpy(arr))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = eg.optim.Adam([p], lr=0.1)
        (p * p).sum().backward()
        opt.step()
    assert opt.arenas[0].placement == "in place" and np.shares_memory(opt.arenas[0].data, arr)
    assert p.detach().numpy() is arr and (arr < 1).all()


def test_views_of_one_user_array_in_order_are_used_in_place():
    flat = np.arange(12, dtype=np.float32)
    a, b = nn.Parameter(eg.from_numpy(flat[:8].reshape(2, 4))), nn.Parameter(eg.from_numpy(flat[8:]))
    opt = eg.optim.SGD([a, b], lr=1.0)
    assert opt.arenas[0].placement == "in place"
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_array_equal(flat, np.arange(12, dtype=np.float32) - 1)


def test_module_parameters_are_adopted_and_a_step_is_one_call(monkeypatch):
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    opt = eg.optim.Adam(model.parameters(), lr=0.01)
    arena = opt.arenas[0]
    assert arena.placement == "adopted"
    assert all(np.shares_memory(p.detach().numpy(), arena.data) for p in model.parameters())
    calls = []
    real = eg._kernels.adam_step
    monkeypatch.setattr(eg._kernels, "adam_step", lambda *a, **k: (calls.append(a[0].size), real(*a, **k)))
    model(eg.ones(3, 4)).sum().backward()
    np.testing.assert_array_equal(arena.grad, np.concatenate([p.grad.numpy().ravel() for p in model.parameters()]))
    opt.step()
    assert calls == [arena.data.size]


def test_a_second_optimizer_uses_the_first_ones_layout_in_place():
    model = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2))
    first = eg.optim.SGD(model.parameters(), lr=0.1)
    memory = first.arenas[0].data
    second = eg.optim.Adam(model.parameters(), lr=0.1)
    assert second.arenas[0].placement == "in place" and np.shares_memory(second.arenas[0].data, memory)
    assert all(p._arena() is second.arenas[0] for p in model.parameters())  # the newest holds the gradient slots


def test_per_parameter_steps_are_noted_once_with_the_reason_and_never_warned(caplog):
    # a parameter without a gradient is ordinary PyTorch code (frozen layers, a GAN's two optimizers): no
    # warning (a suite that turns warnings into errors must pass), one INFO record with the reason
    model = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2))
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    with arena_note(caplog, r"parameter 3 \(shape \(2,\)\) has no gradient", count=1):
        for _ in range(3):
            opt.zero_grad()
            model(eg.ones(1, 4)).sum().backward()
            model[1].bias.grad = None
            opt.step()


def test_strided_user_array_is_updated_where_it_lives(caplog):
    base = np.zeros((4, 6), dtype=np.float32)
    view = base[:, ::2]
    p = nn.Parameter(eg.from_numpy(view))
    with arena_note(caplog, "cannot move"):
        opt = eg.optim.SGD([p], lr=0.5)
    (p * eg.arange(12.0).reshape(4, 3)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(base[:, ::2], -0.5 * np.arange(12.0).reshape(4, 3))
    assert (base[:, 1::2] == 0).all()


def test_read_only_parameter_is_refused():
    arr = np.ones(3, dtype=np.float32)
    arr.flags.writeable = False
    with pytest.raises(ValueError, match="params: parameter 0 of SGD param group 0 .* read-only"):
        eg.optim.SGD([nn.Parameter(eg.from_numpy(arr))], lr=0.1)


def test_state_dict_round_trip_keeps_aliasing_and_the_numbers(caplog):
    w_arr, b_arr = fresh_arrays()
    w, b = nn.Parameter(eg.from_numpy(w_arr)), nn.Parameter(eg.from_numpy(b_arr))
    with arena_note(caplog, "cannot move"):
        opt = train([w, b], "Adam", steps=3)
    saved, snapshot = opt.state_dict(), [w_arr.copy(), b_arr.copy()]
    with arena_note(caplog, "cannot move"):
        resumed = eg.optim.Adam([w, b], **RULES["Adam"])
    resumed.load_state_dict(saved)
    x = eg.tensor(np.random.default_rng(3).standard_normal((8, 3)).astype(np.float32))
    results = []
    for o in (opt, resumed):
        w_arr[...], b_arr[...] = snapshot
        o.zero_grad()
        loss_of(w, b, x).backward()
        o.step()
        results.append(w_arr.copy())
    np.testing.assert_array_equal(results[0], results[1])
    assert w.detach().numpy() is w_arr and not np.array_equal(results[0], snapshot[0])


def test_grad_ready_hook_fires_once_per_parameter_with_the_final_gradient():
    shared = nn.Linear(3, 3)
    head = nn.Linear(3, 1)
    opt = eg.optim.SGD(list(shared.parameters()) + list(head.parameters()), lr=0.1)
    arena = opt.arenas[0]
    seen = []
    handle = arena.register_grad_ready_hook(lambda a, i: seen.append((i, a.grad[a.offsets[i]:a.offsets[i + 1]].copy())))
    x = eg.ones(2, 3)
    head(shared(shared(x).tanh())).sum().backward()  # the shared layer is used twice: one summed gradient
    assert sorted(i for i, _ in seen) == [0, 1, 2, 3]
    params = list(shared.parameters()) + list(head.parameters())
    for i, values in seen:
        np.testing.assert_array_equal(values, params[i].grad.numpy().ravel())
        assert np.shares_memory(params[i].grad.numpy(), arena.grad)
    assert [i for i, _ in seen][:2] == [2, 3]  # the head's gradients are final first
    handle.remove()
    seen.clear()
    head(shared(x)).sum().backward()
    assert seen == []


def test_clipping_takes_the_gradient_buffer_as_one_segment(monkeypatch):
    model = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2))
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    model(eg.ones(3, 4)).sum().backward()
    calls = []
    real = eg._kernels.clip_grad_norm
    monkeypatch.setattr(eg._kernels, "clip_grad_norm", lambda g, *a, **k: (calls.append(g), real(g, *a, **k))[1])
    nn.utils.clip_grad_norm_(model.parameters(), 0.01)
    assert len(calls[0]) == 1 and calls[0][0] is opt.arenas[0].grad


def test_a_dropped_optimizer_frees_its_arena():
    import gc
    import weakref

    model = nn.Linear(3, 2)
    opt = eg.optim.Adam(model.parameters(), lr=0.1)
    model(eg.ones(1, 3)).sum().backward()
    opt.step()
    arena = weakref.ref(opt.arenas[0])
    del opt
    gc.collect()
    assert arena() is None  # its moments are freed; the parameters keep their memory
    model.zero_grad()
    model(eg.ones(1, 3)).sum().backward()  # gradients go to plain arrays again
    assert model.weight.grad.numpy().base is None


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_of_model_and_optimizer_trains_like_the_original(how):
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = eg.optim.Adam(model.parameters(), lr=0.05)
    x = eg.ones(2, 3)
    model(x).sum().backward()
    opt.step()
    model2, opt2 = copy.deepcopy((model, opt)) if how == "deepcopy" else pickle.loads(pickle.dumps((model, opt)))
    results = []
    for m, o in ((model, opt), (model2, opt2)):
        for _ in range(3):
            o.zero_grad()
            m(x).sum().backward()
            o.step()  # the copy steps one parameter at a time, and logs why
        results.append([p.detach().numpy().copy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert not np.shares_memory(model2[0].weight.detach().numpy(), model[0].weight.detach().numpy())
