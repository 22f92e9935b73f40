"""A PyTorch-style optimizer a script defines (its own ``step`` over ``self.state``) saves and resumes: its
state holds tensors before and after ``load_state_dict``, and a resumed run equals an uninterrupted one."""
import numpy as np
import pytest

import eigengrad as eg


def _lion(base):
    class Lion(base.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.0):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @base.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = base.zeros_like(p)
                        state["step"] = base.tensor(0.0)
                        state["history"] = [base.tensor(0.0)]
                    state["step"] += 1
                    state["history"].append(p.grad.norm())
                    beta1, beta2 = group["betas"]
                    update = state["exp_avg"] * beta1 + p.grad * (1 - beta1)
                    p.add_(update.sign_(), alpha=-group["lr"])
                    state["exp_avg"].mul_(beta2).add_(p.grad, alpha=1 - beta2)
    return Lion


def _run(base, steps, resume_at=None, dtype="float64"):
    rs = np.random.RandomState(0)
    dt = getattr(base, dtype)
    model = base.nn.Sequential(base.nn.Linear(5, 7), base.nn.Tanh(), base.nn.Linear(7, 1)).to(dt)
    with base.no_grad():
        for p in model.parameters():
            p.copy_(base.from_numpy(rs.randn(*p.shape)))
    x = base.from_numpy(rs.randn(16, 5)).to(dt)
    y = x.sum(1, keepdim=True)
    Lion = _lion(base)
    opt = Lion(model.parameters(), lr=1e-2, weight_decay=0.1)
    for i in range(steps):
        if i == resume_at:
            saved = opt.state_dict()
            opt = Lion(model.parameters(), lr=1e-2, weight_decay=0.1)
            opt.load_state_dict(saved)
        opt.zero_grad()
        base.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model, opt


def test_resumed_run_equals_uninterrupted():
    whole, _ = _run(eg, 12)
    resumed, opt = _run(eg, 12, resume_at=5)
    for a, b in zip(whole.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    state = opt.state[next(iter(resumed.parameters()))]
    assert isinstance(state["exp_avg"], eg.Tensor) and isinstance(state["step"], eg.Tensor)
    assert state["step"].item() == 12.0
    assert len(state["history"]) == 13 and all(isinstance(h, eg.Tensor) for h in state["history"])


def test_load_copies_and_casts():
    _, opt = _run(eg, 3, dtype="float32")
    saved = opt.state_dict()
    first = saved["state"][0]
    assert isinstance(first["step"], eg.Tensor) and first["step"].item() == 3.0
    first["exp_avg"] = first["exp_avg"].double()  # a float64 state loads as the parameter's float32
    before = first["exp_avg"].numpy().copy()
    opt.load_state_dict(saved)
    loaded = opt.state[opt.param_groups[0]["params"][0]]
    assert loaded["exp_avg"].dtype == eg.float32
    assert loaded["step"].dtype == eg.float32
    loaded["exp_avg"].mul_(0.0)  # later steps never write into the dict the user loaded
    np.testing.assert_array_equal(first["exp_avg"].numpy(), before)


def test_resume_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference for the resumed run")
    ours, _ = _run(eg, 9, resume_at=4)
    theirs, _ = _run(torch, 9, resume_at=4)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_lbfgs_resumes_with_its_history():
    def run(resume_at):
        rs = np.random.RandomState(0)
        w = eg.tensor(rs.randn(6), requires_grad=True)
        a, b = eg.tensor(rs.randn(10, 6)), eg.tensor(rs.randn(10))
        opt = eg.optim.LBFGS([w], lr=0.5, history_size=3, max_iter=2)

        def closure():
            opt.zero_grad()
            loss = ((a @ w - b) ** 2).sum()
            loss.backward()
            return loss
        for i in range(5):
            if i == resume_at:
                saved = opt.state_dict()
                opt = eg.optim.LBFGS([w], lr=0.5, history_size=3, max_iter=2)
                opt.load_state_dict(saved)
            opt.step(closure)
        return w.detach().numpy(), opt
    whole, first = run(None)
    resumed, second = run(2)
    np.testing.assert_array_equal(whole, resumed)
    counts = [o.state[o.param_groups[0]["params"][0]]["n_iter"] for o in (first, second)]
    assert counts[0] == counts[1] > 2
