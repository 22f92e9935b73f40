"""Optimizer base (param groups, flat buffers, state_dict) and SGD semantics."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad import reference as R


def make_model(seed=0, dtype=None):
    eg.manual_seed(seed)
    m = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    return m.double() if dtype == np.float64 else m


def loss_of(model, seed=1):
    gen = eg.Generator(seed)
    x = eg.randn(8, 5, generator=gen, dtype=model[0].weight.dtype)
    t = eg.tensor(np.arange(8) % 3)
    return nn.functional.cross_entropy(model(x), t)


def reference_sgd(model, steps, **hyper):
    """The same training with eigengrad.reference.sgd_step applied per parameter."""
    params = list(model.parameters())
    bufs = [np.zeros_like(p.detach().numpy()) for p in params]
    for step in range(steps):
        for p in params:
            p.grad = None
        loss_of(model, seed=step).backward()
        for p, b in zip(params, bufs):
            R.sgd_step(p.detach().numpy(), p.grad.detach().numpy(), b, first_step=step == 0, **hyper)


CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
    dict(lr=0.05, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("hyper", CASES, ids=[str(c) for c in CASES])
def test_sgd_matches_reference_over_steps(hyper, dtype):
    model, ref = make_model(dtype=dtype), make_model(dtype=dtype)
    opt = eg.optim.SGD(model.parameters(), **hyper)
    for step in range(4):
        opt.zero_grad()
        loss_of(model, seed=step).backward()
        opt.step()
    reference_sgd(ref, 4, **hyper)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=tol, atol=tol)


def test_parameters_live_in_one_flat_buffer_and_step_is_one_call(monkeypatch):
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    flat = opt._arenas[0]
    assert len(flat) == 1
    buf = flat[0].data
    assert all(np.shares_memory(p.detach().numpy(), buf) for p in model.parameters())
    calls = []
    real = eg._kernels.sgd_step
    monkeypatch.setattr(eg._kernels, "sgd_step", lambda *a, **k: (calls.append(a[0].size), real(*a, **k)))
    loss_of(model).backward()
    assert all(np.shares_memory(p.grad.numpy(), flat[0].grad) for p in model.parameters())
    opt.step()
    assert calls == [sum(p.numel() for p in model.parameters())]


def test_param_without_grad_is_skipped_like_pytorch():
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    frozen = model[2].bias
    before = frozen.detach().numpy().copy()
    loss_of(model).backward()
    frozen.grad = None
    opt.step()
    np.testing.assert_array_equal(frozen.detach().numpy(), before)  # no weight decay, no update
    assert "momentum_buffer" not in opt.state.get(frozen, {})
    assert not np.array_equal(model[0].weight.detach().numpy(), make_model()[0].weight.detach().numpy())


def test_replaced_parameter_array_still_updated():
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.5)
    w = model[0].weight
    w.data = np.ones(w.shape, dtype=w.dtype)  # the user swaps the array: the flat view is gone
    loss_of(model).backward()
    g = w.grad.numpy().copy()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), 1 - 0.5 * g, rtol=1e-6)


def test_param_groups_have_their_own_hyperparameters():
    model = make_model()
    opt = eg.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.0}],
                       lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    before = [p.detach().numpy().copy() for p in model[2].parameters()]
    loss_of(model).backward()
    opt.step()
    for p, b in zip(model[2].parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)


def test_state_dict_round_trip_resumes_identically():
    a = make_model()
    opt_a = eg.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    for step in range(2):
        opt_a.zero_grad()
        loss_of(a, step).backward()
        opt_a.step()
    sd = opt_a.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3] and sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert sd["param_groups"][0]["lr"] == 0.1
    b = make_model(seed=5)
    b.load_state_dict(a.state_dict())
    opt_b = eg.optim.SGD(b.parameters(), lr=0.7, momentum=0.9)
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == 0.1
    for m, o in ((a, opt_a), (b, opt_b)):
        o.zero_grad()
        loss_of(m, 7).backward()
        o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # the loaded momentum lives in one flat buffer again: the step stayed one kernel call
    bufs = [opt_b.state[p]["momentum_buffer"] for p in b.parameters()]
    assert all(isinstance(v, eg.Tensor) and v._data.base is bufs[0]._data.base for v in bufs)


def test_load_state_dict_rejects_mismatched_groups():
    opt = eg.optim.SGD(make_model().parameters(), lr=0.1)
    other = eg.optim.SGD(list(make_model().parameters())[:2], lr=0.1)
    with pytest.raises(ValueError, match="size"):
        opt.load_state_dict(other.state_dict())


def test_bad_arguments():
    params = list(make_model().parameters())
    with pytest.raises(ValueError, match="lr"):
        eg.optim.SGD(params, lr=-1)
    with pytest.raises(ValueError, match="momentum"):
        eg.optim.SGD(params, lr=0.1, momentum=-0.1)
    with pytest.raises(ValueError, match="nesterov"):
        eg.optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        eg.optim.SGD([], lr=0.1)
    assert eg.optim.SGD(params).param_groups[0]["lr"] == 1e-3  # PyTorch 2.x's default
    with pytest.raises(TypeError, match="Tensor"):
        eg.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):  # PyTorch warns (tied weights); one update
        assert len(eg.optim.SGD(params + params[:1], lr=0.1).param_groups[0]["params"]) == len(params)
    with pytest.raises(ValueError, match="appear in more than one parameter group"):
        eg.optim.SGD([{"params": params}, {"params": params[:1]}], lr=0.1)
    x = eg.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        eg.optim.SGD([x * 2], lr=0.1)


def test_closure_returns_loss():
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        return loss

    first = opt.step(closure).item()
    assert opt.step(closure).item() < first


def test_mixed_dtypes_in_one_group_split_into_buffers():
    a = nn.Parameter(eg.randn(3))
    b = nn.Parameter(eg.randn(4, dtype=eg.float64))
    opt = eg.optim.SGD([a, b], lr=1.0)
    assert len(opt._arenas[0]) == 2
    (a.sum() + b.sum()).backward()
    a0, b0 = a.detach().numpy().copy(), b.detach().numpy().copy()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), a0 - 1)
    np.testing.assert_allclose(b.detach().numpy(), b0 - 1)


def test_momentum_on_a_0d_parameter_that_first_had_no_gradient():
    """A 0-d parameter without a gradient at the first step (the tutorial's DynamicNet) is then updated
    parameter by parameter: its gradient stays 0-d (np.ascontiguousarray made it shape (1,))."""
    a, e = nn.Parameter(eg.tensor(1.0)), nn.Parameter(eg.tensor(2.0))
    opt = eg.optim.SGD([a, e], lr=0.1, momentum=0.9)
    (a * a).backward()
    opt.step()
    opt.zero_grad()
    (a * e).backward()
    opt.step()
    # a: 1 - 0.1*2 = 0.8, then buffer 0.9*2 + 2 = 3.8 -> 0.8 - 0.38; e: first step with grad 0.8 -> 2 - 0.08
    np.testing.assert_allclose([a.item(), e.item()], [0.42, 1.92], rtol=1e-6)
    assert a.shape == () and e.shape == ()


def test_state_dict_holds_tensors_and_a_float32_step_as_pytorch():
    """PyTorch's optimizer state_dict: state arrays as tensors, the step count a 0-d float32 tensor (scripts
    read ``state_dict()["state"][0]["step"].item()``); loading turns the step back into an int."""
    p = eg.nn.Parameter(eg.ones(2))
    opt = eg.optim.Adam([p], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    saved = opt.state_dict()["state"][0]
    assert isinstance(saved["exp_avg"], eg.Tensor) and saved["exp_avg"].shape == (2,)
    assert isinstance(saved["step"], eg.Tensor) and saved["step"].dtype == eg.float32 and saved["step"].ndim == 0
    assert saved["step"].item() == 3.0
    saved["exp_avg"].zero_()  # a copy: the optimizer's state is untouched
    assert float(opt.state[p]["exp_avg"].sum()) != 0.0
    resumed = eg.optim.Adam([p], lr=0.1)
    resumed.load_state_dict(opt.state_dict())
    assert resumed.state[p]["step"] == 3 and isinstance(resumed.state[p]["step"], int)
