"""``nn.utils.prune`` side by side with torch.nn.utils.prune 2.13: the same masks (L1 and Ln-structured,
iterated, global, from a mask), state_dict keys, forward outputs and gradients of ``<name>_orig``, and
``remove``; random pruning by count; PyTorch's errors."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn.utils import prune

torch = pytest.importorskip("torch", reason="torch.nn.utils.prune is the reference")
import torch.nn.utils.prune as tprune  # noqa: E402


def _pair(shape=(6, 5)):
    rng = np.random.default_rng(0)
    w = rng.permutation(np.arange(1, np.prod(shape) + 1, dtype=np.float64)).reshape(shape) * rng.choice([-1, 1], shape)
    e, t = eg.nn.Linear(shape[1], shape[0]).double(), torch.nn.Linear(shape[1], shape[0]).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(w))
        t.bias.copy_(torch.from_numpy(rng.standard_normal(shape[0])))
    e.load_state_dict({k: eg.from_numpy(v.detach().numpy().copy()) for k, v in t.state_dict().items()})
    return e, t


def _same(e, t, x):
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(e.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    ey, ty = e(eg.from_numpy(x)), t(torch.from_numpy(x))
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (ey ** 2).sum().backward()
    (ty ** 2).sum().backward()
    for (name, p), (tname, q) in zip(e.named_parameters(), t.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("how", ["l1-int", "l1-float", "l1-twice", "ln2-dim0", "ln1-dim1-then-l1", "l1-scores",
                                 "custom", "identity"])
def test_masks_outputs_and_gradients_match_torch(how):
    e, t = _pair()
    x = np.random.default_rng(1).standard_normal((3, 5))
    scores = np.random.default_rng(2).permutation(30).reshape(6, 5).astype(np.float64)
    steps = {"l1-int": [("l1_unstructured", dict(amount=7))], "l1-float": [("l1_unstructured", dict(amount=0.4))],
             "l1-twice": [("l1_unstructured", dict(amount=0.3)), ("l1_unstructured", dict(amount=0.5))],
             "ln2-dim0": [("ln_structured", dict(amount=2, n=2, dim=0))],
             "ln1-dim1-then-l1": [("ln_structured", dict(amount=0.4, n=1, dim=1)), ("l1_unstructured", dict(amount=5))],
             "l1-scores": [("l1_unstructured", dict(amount=9, importance_scores="scores"))],
             "custom": [("custom_from_mask", dict(mask=(scores % 3 != 0).astype(np.float64)))],
             "identity": [("identity", {})]}[how]
    for fn, kwargs in steps:
        ek = {k: (eg.from_numpy(scores) if isinstance(v, str) else eg.from_numpy(v) if isinstance(v, np.ndarray) else v)
              for k, v in kwargs.items()}
        tk = {k: (torch.from_numpy(scores) if isinstance(v, str) else torch.from_numpy(v) if isinstance(v, np.ndarray)
                  else v) for k, v in kwargs.items()}
        getattr(prune, fn)(e, "weight", **ek)
        getattr(tprune, fn)(t, "weight", **tk)
    assert prune.is_pruned(e) and tprune.is_pruned(t)
    _same(e, t, x)
    prune.remove(e, "weight")
    tprune.remove(t, "weight")
    assert not prune.is_pruned(e) and isinstance(e.weight, eg.nn.Parameter)
    for p in e.parameters():
        p.grad = None
    for q in t.parameters():
        q.grad = None
    _same(e, t, x)


def test_global_unstructured_matches_torch():
    (e1, t1), (e2, t2) = _pair((6, 5)), _pair((4, 6))
    prune.global_unstructured([(e1, "weight"), (e2, "weight")], pruning_method=prune.L1Unstructured, amount=0.45)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight")], pruning_method=tprune.L1Unstructured, amount=0.45)
    for e, t in ((e1, t1), (e2, t2)):
        np.testing.assert_array_equal(e.weight_mask.numpy(), t.weight_mask.numpy())


def test_pruned_entries_stay_zero_while_training():
    e, _ = _pair()
    prune.l1_unstructured(e, "weight", amount=0.5)
    opt = eg.optim.SGD(e.parameters(), lr=0.01)
    x = eg.from_numpy(np.random.default_rng(3).standard_normal((8, 5)))
    for _ in range(3):
        opt.zero_grad()
        (e(x) ** 2).mean().backward()
        opt.step()
    mask = e.weight_mask.numpy()
    assert mask.sum() == 15 and np.all(e.weight.detach().numpy()[mask == 0] == 0)


def test_random_pruning_counts_and_errors():
    e, _ = _pair()
    prune.random_unstructured(e, "weight", amount=11)
    assert int((e.weight_mask.numpy() == 0).sum()) == 11
    e2, _ = _pair()
    prune.random_structured(e2, "weight", amount=2, dim=0)
    assert int((e2.weight_mask.numpy().sum(axis=1) == 0).sum()) == 2
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(_pair()[0], "weight", amount=1.5)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters to prune"):
        prune.l1_unstructured(_pair()[0], "weight", amount=31)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(_pair()[0], "weight")
