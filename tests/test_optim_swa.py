"""``torch.optim.swa_utils``: AveragedModel (SWA's mean, EMA by multi_avg_fn and by avg_fn, use_buffers),
SWALR's annealing (cos and linear), update_bn, side by side with PyTorch from the same weights."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="torch.optim.swa_utils is the reference")

_RNG = np.random.default_rng(0)
XS = [_RNG.standard_normal((6, 4)) for _ in range(6)]


def _setup(lib, how: str, anneal: str):
    lib.manual_seed(0)
    nn, sw = lib.nn, lib.optim.swa_utils
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).double()
    avg = {"swa": lambda: sw.AveragedModel(m), "ema": lambda: sw.AveragedModel(m, multi_avg_fn=sw.get_ema_multi_avg_fn(0.9)),
           "ema_fn": lambda: sw.AveragedModel(m, avg_fn=sw.get_ema_avg_fn(0.8)),
           "buffers": lambda: sw.AveragedModel(m, use_buffers=True)}[how]()
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    return m, avg, opt, sw.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy=anneal)


@pytest.mark.parametrize("how, anneal", [("swa", "cos"), ("ema", "linear"), ("ema_fn", "cos")])
def test_matches_torch(how, anneal):
    me, ae, oe, se = _setup(eg, how, anneal)
    mt, at, ot, st = _setup(torch, how, anneal)
    mt.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in me.state_dict().items()})
    at.module.load_state_dict(mt.state_dict())
    lrs = ([], [])
    for x in XS:
        for (m, o, s, a, lib), out in zip(((me, oe, se, ae, eg), (mt, ot, st, at, torch)), lrs):
            o.zero_grad()
            m(lib.from_numpy(x)).pow(2).mean().backward()
            o.step()
            a.update_parameters(m)
            s.step()
            out.append(o.param_groups[0]["lr"])
    assert lrs[0] == lrs[1] and lrs[0][2:] == [0.05] * (len(XS) - 2)
    got, want = ae.state_dict(), at.state_dict()
    assert list(got) == list(want) and int(ae.n_averaged) == len(XS)
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(ae(eg.from_numpy(XS[0])).detach().numpy(),
                               at(torch.from_numpy(XS[0])).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("how", ["buffers", "ema_buffers"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_averaged_buffers_average_the_statistics_and_the_count(how, dtype):
    """use_buffers=True: every buffer is averaged as the parameters are, BatchNorm's integer
    num_batches_tracked too (PyTorch's copy_ of the float average into int64: truncated; it was copied from
    the model before, 6 where PyTorch has 1; the EMA of a run of 12 counts is 3 there)."""
    got, want, start = [], [], None
    for lib, out in ((eg, got), (torch, want)):
        lib.manual_seed(0)
        nn, sw = lib.nn, lib.optim.swa_utils
        m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8)).to(getattr(lib, dtype))
        if start is None:
            start = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
        m.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in start.items()})
        a = (sw.AveragedModel(m, use_buffers=True) if how == "buffers" else
             sw.AveragedModel(m, multi_avg_fn=sw.get_ema_multi_avg_fn(0.9), use_buffers=True))
        for x in XS + XS:
            m(lib.from_numpy(x.astype(dtype)))
            a.update_parameters(m)
        out.append({k: v.detach().numpy().copy() for k, v in a.module.state_dict().items()})
    assert int(got[0]["1.num_batches_tracked"]) == {"buffers": 1, "ema_buffers": 3}[how]
    for k in want[0]:
        assert got[0][k].dtype == want[0][k].dtype, k
        np.testing.assert_allclose(got[0][k], want[0][k], rtol=1e-6 if dtype == "float32" else 1e-12, atol=1e-7,
                                   err_msg=k)


def test_update_bn_recomputes_statistics_and_restores_the_model():
    me, ae, _, _ = _setup(eg, "swa", "cos")
    mt, at, _, _ = _setup(torch, "swa", "cos")
    at.module.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ae.module.state_dict().items()})
    ae.eval()
    at.eval()
    eg.optim.swa_utils.update_bn([(eg.from_numpy(x), 0) for x in XS], ae)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(x), 0) for x in XS], at)
    bn_e, bn_t = ae.module[1], at.module[1]
    np.testing.assert_allclose(bn_e.running_mean.numpy(), bn_t.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn_e.running_var.numpy(), bn_t.running_var.numpy(), rtol=1e-10)
    assert bn_e.momentum == 0.1 and not ae.training and not bn_e.training


def test_bad_arguments_are_pytorchs():
    opt = eg.optim.SGD([eg.nn.Parameter(eg.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got step"):
        eg.optim.swa_utils.SWALR(opt, 0.05, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        eg.optim.swa_utils.SWALR(opt, 0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length"):
        eg.optim.swa_utils.SWALR(opt, [0.1, 0.2])
