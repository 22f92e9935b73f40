"""Optimizer behaviour at the edges a randomized comparison with PyTorch found: 0-d parameters through a
state_dict round trip, NaN gradients in Rprop, Adagrad's initial accumulator per group, and the checks of
``p.grad = ...``. PyTorch's values are written out (so the tests run without torch); where torch is installed
the same runs are compared side by side."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

try:
    import torch
except ImportError:  # the side-by-side tests skip with a reason
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install torch==2.13.0)")


def _asgd_zero_d(lib):
    """(parameter, its average ``ax``) after four ASGD steps with a state_dict round trip after the second."""
    p = lib.nn.Parameter(lib.tensor(np.array(1.0)))
    opt = lib.optim.ASGD([p], lr=0.1, t0=0)
    for i in range(4):
        if i == 2:  # a round trip through state_dict, then training goes on
            sd = opt.state_dict()
            opt = lib.optim.ASGD([p], lr=0.1, t0=0)
            opt.load_state_dict(sd)
        p.grad = lib.tensor(np.array(0.5 + i))
        opt.step()
    return float(p.detach()), float(opt.state[p]["ax"])


def test_zero_d_parameter_state_survives_a_state_dict_round_trip():
    """A 0-d parameter's array states are 0-d: loading them kept them as Python numbers (ASGD's average went
    wrong, Adam's next step crashed)."""
    value, ax = _asgd_zero_d(eg)
    np.testing.assert_allclose([value, ax], [0.1999797554739644, 0.516646250782555], rtol=1e-12)  # PyTorch's
    p = eg.nn.Parameter(eg.tensor(np.array(1.0)))
    opt = eg.optim.Adam([p], lr=0.1)
    p.grad = eg.tensor(np.array(0.5))
    opt.step()
    again = eg.optim.Adam([p], lr=0.1)
    again.load_state_dict(opt.state_dict())
    assert isinstance(again.state[p]["exp_avg"], eg.Tensor) and again.state[p]["exp_avg"].shape == ()
    assert again.state[p]["step"] == 1
    again.step()
    opt.step()  # the original and the reloaded optimizer take the same second step
    assert float(again.state[p]["exp_avg"]) == float(opt.state[p]["exp_avg"])


@needs_torch
def test_zero_d_round_trip_matches_torch():
    np.testing.assert_allclose(_asgd_zero_d(eg), _asgd_zero_d(torch), rtol=1e-12)


def _rprop(lib, maximize: bool):
    p = lib.nn.Parameter(lib.tensor(np.array([1.0, 2.0, 3.0])))
    opt = lib.optim.Rprop([p], lr=0.1, maximize=maximize)
    for g in ([0.5, np.nan, -1.0], [0.5, 1.0, 1.0], [-0.5, np.nan, 1.0]):
        p.grad = lib.tensor(np.array(g))
        opt.step()
    return p.detach().numpy().copy()


def test_rprop_nan_gradient_leaves_its_element_alone():
    """PyTorch's sign(NaN) is 0: the element keeps its value (NumPy's sign made it NaN)."""
    np.testing.assert_allclose(_rprop(eg, False), [0.78, 1.9, 3.05], rtol=1e-12)  # PyTorch's
    np.testing.assert_allclose(_rprop(eg, True), [1.22, 2.1, 2.95], rtol=1e-12)


def test_rprop_zero_d_parameter_with_maximize():
    p = eg.nn.Parameter(eg.tensor(np.array(1.0)))
    opt = eg.optim.Rprop([p], lr=0.1, maximize=True)
    for g in (0.5, -0.5, 0.25):
        p.grad = eg.tensor(np.array(g))
        opt.step()
    assert float(p) == pytest.approx(1.15, rel=1e-12)  # PyTorch's: +0.1, +0.05 (a sign change: halved, no move), +0.05


@needs_torch
@pytest.mark.parametrize("maximize", [False, True])
def test_rprop_matches_torch(maximize):
    np.testing.assert_allclose(_rprop(eg, maximize), _rprop(torch, maximize), rtol=1e-12)


def test_adagrad_fills_every_group_with_the_constructors_accumulator_value():
    """PyTorch initialises every group's ``sum`` with the constructor's initial_accumulator_value."""
    a, b = eg.nn.Parameter(eg.zeros(2)), eg.nn.Parameter(eg.zeros(3))
    opt = eg.optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 5.0}],
                           initial_accumulator_value=0.5)
    assert opt.state[a]["sum"].tolist() == [0.5, 0.5] and opt.state[b]["sum"].tolist() == [0.5, 0.5, 0.5]
    c = eg.nn.Parameter(eg.zeros(1))
    opt.add_param_group({"params": [c], "initial_accumulator_value": 7.0})
    c.grad = eg.ones(1)
    opt.step()
    np.testing.assert_allclose(opt.state[c]["sum"].numpy(), [1.5])  # 0.5 + 1^2


def test_grad_assignment_is_checked_as_in_pytorch():
    p = eg.nn.Parameter(eg.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"size '\[3, 2\]' to a tensor of size '\[2, 3\]'"):
        p.grad = eg.zeros(3, 2)
    with pytest.raises(RuntimeError, match="dtype"):
        p.grad = eg.zeros(2, 3, dtype=eg.float64)
    with pytest.raises(TypeError, match="Tensor or None but got grad of type int"):
        p.grad = 5
    assert p.grad is None
    p.grad = eg.ones(2, 3)
    assert p.grad.tolist() == [[1.0] * 3] * 2
    p.grad = None
    assert p.grad is None
    q = eg.nn.Parameter(eg.zeros(2, dtype=eg.float64))  # Module.to(dtype) changes a gradient with its parameter
    q.grad = eg.ones(2, dtype=eg.float64)
    m = eg.nn.Module()
    m.q = q
    m.float()
    assert q.dtype == eg.float32 and q.grad.dtype == eg.float32


def test_pytorch_argument_rules_of_optimizers_and_helpers():
    p = eg.nn.Parameter(eg.zeros(2))
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        eg.optim.Adam([p], foreach=True, fused=True)
    eg.optim.Adam([p], foreach=False, fused=True)  # (either alone is accepted)
    for make in (eg.optim.swa_utils.get_ema_multi_avg_fn, eg.optim.swa_utils.get_ema_avg_fn):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
            make(1.5)
    q = eg.nn.Parameter(eg.tensor([0.5, -3.0, 2.0]))
    q.grad = eg.tensor([0.5, -3.0, float("nan")])
    eg.nn.utils.clip_grad_value_([q], -1.0)  # PyTorch's clamp(min=1, max=-1): every element -1 (NaN stays)
    assert q.grad.tolist()[:2] == [-1.0, -1.0] and np.isnan(q.grad.tolist()[2])


def test_init_and_packing_accept_what_pytorch_accepts():
    empty = eg.empty(0)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert eg.nn.init.kaiming_uniform_(empty) is empty
    with pytest.warns(UserWarning, match="no-op"):
        eg.nn.init.kaiming_normal_(eg.empty(0, 3))
    seqs = eg.arange(12.0).reshape(3, 4, 1)
    packed = eg.nn.utils.rnn.pack_padded_sequence(seqs, eg.tensor([3.0, 2.0, 2.0]), batch_first=True)
    assert packed.batch_sizes.tolist() == [3, 3, 1]  # float lengths truncated to int64, as PyTorch


# PyTorch 2.13's default param group of each optimizer (its state_dict, "params" left out), written out so that
# the test runs without torch; with torch installed it is compared with PyTorch's own too.
TORCH_DEFAULT_GROUPS = {
    "SGD": {"lr": 0.001, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False, "maximize": False,
            "foreach": None, "differentiable": False, "fused": None},
    "Adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "amsgrad": False, "maximize": False,
             "foreach": None, "capturable": False, "differentiable": False, "fused": None,
             "decoupled_weight_decay": False},
    "AdamW": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0.01, "amsgrad": False,
              "maximize": False, "foreach": None, "capturable": False, "differentiable": False, "fused": None,
              "decoupled_weight_decay": True},
    "NAdam": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "momentum_decay": 0.004,
              "decoupled_weight_decay": False, "maximize": False, "foreach": None, "capturable": False,
              "differentiable": False},
    "RAdam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "maximize": False, "foreach": None,
              "capturable": False, "decoupled_weight_decay": False, "differentiable": False},
    "Adamax": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "foreach": None, "maximize": False,
               "differentiable": False, "capturable": False},
    "Adagrad": {"lr": 0.01, "lr_decay": 0, "eps": 1e-10, "weight_decay": 0, "initial_accumulator_value": 0,
                "foreach": None, "maximize": False, "differentiable": False, "fused": None},
    "RMSprop": {"lr": 0.01, "momentum": 0, "alpha": 0.99, "eps": 1e-08, "centered": False, "weight_decay": 0,
                "capturable": False, "foreach": None, "maximize": False, "differentiable": False},
    "Adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-06, "weight_decay": 0, "maximize": False, "capturable": False,
                 "foreach": None, "differentiable": False},
    "ASGD": {"lr": 0.01, "lambd": 0.0001, "alpha": 0.75, "t0": 1000000.0, "weight_decay": 0, "foreach": None,
             "maximize": False, "differentiable": False, "capturable": False},
    "Rprop": {"lr": 0.01, "etas": (0.5, 1.2), "step_sizes": (1e-06, 50), "foreach": None, "maximize": False,
              "differentiable": False, "capturable": False},
}


@pytest.mark.parametrize("name", sorted(TORCH_DEFAULT_GROUPS))
def test_default_param_groups_print_as_pytorchs(name):
    # the defaults' Python types too: PyTorch's weight_decay, momentum, ... default to the int 0 (a saved
    # state_dict or a printed param group showed 0.0 here)
    want = TORCH_DEFAULT_GROUPS[name]
    if torch is not None:
        live = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).state_dict()["param_groups"][0]
        assert {k: repr(v) for k, v in live.items() if k != "params"} == {k: repr(v) for k, v in want.items()}
    got = getattr(eg.optim, name)([eg.zeros(2, requires_grad=True)]).state_dict()["param_groups"][0]
    assert set(got) == set(want) | {"params"}
    assert {k: repr(got[k]) for k in want} == {k: repr(want[k]) for k in want}
