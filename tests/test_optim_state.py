"""``optimizer.state[p]`` of the built-in optimizers holds tensors over the arena (no copies): a script reads
them as PyTorch's (``state['exp_avg'].norm()``), writes into them and the next step reads the write, moves
them with ``.to(device)`` and the step stays one kernel call per arena."""
import logging

import numpy as np
import pytest

import eigengrad as eg


def _model(lib, rs):
    m = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), lib.nn.Linear(6, 2)).double()
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.from_numpy(rs.randn(*p.shape)))
    return m


def _train(lib, make_opt, steps=6):
    rs = np.random.RandomState(3)
    model = _model(lib, rs)
    x, y = lib.from_numpy(rs.randn(9, 4)), lib.from_numpy(rs.randn(9, 2))
    opt = make_opt(lib, model.parameters())
    for i in range(steps):
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if i == 2:  # a script that scales the second moments and moves the state "to the device"
            for state in opt.state.values():
                for k, v in state.items():
                    if lib.is_tensor(v) and v.ndim > 0:
                        v.mul_(0.5)
                        state[k] = v.to("cpu")
    norms = [float(s[k].norm()) for s in opt.state.values() for k in sorted(s) if k != "step"]
    return [p.detach().numpy().copy() for p in model.parameters()], norms, opt


OPTIMIZERS = {
    "adam": lambda lib, ps: lib.optim.Adam(ps, lr=0.05),
    "sgd": lambda lib, ps: lib.optim.SGD(ps, lr=0.05, momentum=0.9),
    "rmsprop": lambda lib, ps: lib.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    "adagrad": lambda lib, ps: lib.optim.Adagrad(ps, lr=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_tensors_are_the_arena(name, caplog):
    with caplog.at_level(logging.INFO, logger="eigengrad"):
        params, norms, opt = _train(eg, OPTIMIZERS[name])
    assert not [r for r in caplog.records if "one kernel call per parameter" in r.getMessage()]  # still fused
    for state in opt.state.values():
        arrays = {k: v for k, v in state.items() if k != "step"}
        assert arrays and all(isinstance(v, eg.Tensor) for v in arrays.values())
    p = opt.param_groups[0]["params"][0]
    arena = opt.arenas[0]
    for k, v in opt.state[p].items():
        if k != "step":
            assert v._data.base is arena._state[k][0]  # a view of the flat state, not a copy
    assert all(np.isfinite(norms)) and max(norms) > 0


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_writes_into_state_match_torch(name):
    torch = pytest.importorskip("torch", reason="torch is the reference for writes into optimizer state")
    ours, our_norms, _ = _train(eg, OPTIMIZERS[name])
    theirs, their_norms, _ = _train(torch, OPTIMIZERS[name])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(our_norms, their_norms, rtol=1e-12)


def test_a_replaced_state_tensor_is_used_by_the_next_step(caplog):
    rs = np.random.RandomState(0)
    w = eg.tensor(rs.randn(3), requires_grad=True)
    opt = eg.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    opt.state[w]["momentum_buffer"] = eg.zeros(3, dtype=eg.float64)  # not the arena's: updated alone
    before = w.detach().numpy().copy()
    opt.zero_grad()
    (w * w).sum().backward()
    with caplog.at_level(logging.INFO, logger="eigengrad"):
        opt.step()
    assert any("not all in the arena" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(w.detach().numpy(), before - 0.1 * 2 * before)  # momentum buffer was zero
