"""Every update rule with every combination of its options against torch.optim on the same parameters
and the same 200 gradients (float64 to 1e-10 relative). Runs where PyTorch is installed."""
import numpy as np
import pytest

import eigengrad as eg
from optim_table import CASES, case_id, gradient_sequence, make_params, set_grads

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the parity checks with torch.optim run "
                                            "only where it is (pip install torch==2.13.0)")

RTOL = {np.float32: 1e-4, np.float64: 1e-10}


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_rule_matches_torch_over_200_steps(case, dtype):
    # torch at its default dtype (float32): NAdam's mu_product is a float32 tensor even for float64
    # parameters, and eigengrad keeps it the same way
    name, opt = case
    ours = make_params(dtype)
    theirs = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    opt_ours = getattr(eg.optim, name)(ours, **opt)
    opt_theirs = getattr(torch.optim, name)(theirs, **opt)
    for grads in gradient_sequence(200, dtype):
        set_grads(ours, grads)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        opt_ours.step()
        opt_theirs.step()
    for p, t in zip(ours, theirs):
        expected = t.detach().numpy().astype(np.float64)
        err = float(np.max(np.abs(p.detach().numpy() - expected)) / np.max(np.abs(expected)))
        assert err <= RTOL[dtype], f"relative error {err:.2e}"


@pytest.mark.parametrize("case", CASES[::7], ids=[case_id(c) for c in CASES[::7]])
def test_state_dict_names_match_torch(case):
    name, opt = case
    ours, theirs = make_params(np.float64), [torch.zeros(s, dtype=torch.float64, requires_grad=True)
                                            for s in [p.shape for p in make_params(np.float64)]]
    opt_ours, opt_theirs = getattr(eg.optim, name)(ours, **opt), getattr(torch.optim, name)(theirs, **opt)
    grads = next(gradient_sequence(1, np.float64))
    set_grads(ours, grads)
    for t, g in zip(theirs, grads):
        t.grad = torch.from_numpy(g)
    opt_ours.step()
    opt_theirs.step()
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sorted(sd_ours["state"]) == sorted(sd_theirs["state"])
    for index, state in sd_theirs["state"].items():
        assert set(sd_ours["state"][index]) == {k for k, v in state.items() if v is not None}
    group_ours = {k for k in sd_ours["param_groups"][0]}
    assert {k for k in sd_theirs["param_groups"][0]} - group_ours <= {"fused", "capturable", "differentiable",
                                                                      "foreach", "decoupled_weight_decay"}


def test_nadam_mu_product_is_kept_as_pytorch_keeps_it():
    """PyTorch keeps NAdam's mu_product in the default dtype (float32) even for float64 parameters: the
    state_dict carries it as such, with PyTorch's value at every step."""
    ours = make_params(np.float64)
    theirs = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    opt_ours, opt_theirs = eg.optim.NAdam(ours, lr=0.01), torch.optim.NAdam(theirs, lr=0.01)
    for grads in gradient_sequence(30, np.float64):
        set_grads(ours, grads)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        opt_ours.step()
        opt_theirs.step()
        mine = opt_ours.state_dict()["state"][0]["mu_product"]
        expected = opt_theirs.state_dict()["state"][0]["mu_product"]
        assert expected.dtype == torch.float32 and mine.dtype == np.float32 and mine.shape == ()
        assert float(mine) == expected.item()
