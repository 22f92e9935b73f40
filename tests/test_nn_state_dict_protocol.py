"""PyTorch's state_dict protocol: a module's own ``_load_from_state_dict`` runs (libraries rename old keys
there), BatchNorm fills in a missing ``num_batches_tracked``, ``_metadata`` carries each module's version,
``assign=True``, the state-dict and load hooks, ``_save_to_state_dict`` overrides, shared submodules under
each name, and a load that raises changes nothing."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


class Renamed(nn.Module):
    """A layer whose checkpoint format changed: old checkpoints call the Linear 'fc', new ones 'lin'."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def _load_from_state_dict(self, sd, prefix, *args, **kwargs):
        for name in ("weight", "bias"):
            if prefix + "fc." + name in sd:
                sd[prefix + "lin." + name] = sd.pop(prefix + "fc." + name)
        super()._load_from_state_dict(sd, prefix, *args, **kwargs)


def test_an_overridden_load_from_state_dict_runs():
    net = nn.Sequential(Renamed())
    old = {"0.fc.weight": eg.ones(2, 2), "0.fc.bias": eg.zeros(2)}
    result = net.load_state_dict(old)
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(net[0].lin.weight.detach().numpy(), np.ones((2, 2)))
    assert list(old) == ["0.fc.weight", "0.fc.bias"]  # the caller's dict is not changed


def test_batchnorm_fills_in_num_batches_tracked_and_metadata_has_versions():
    bn = nn.BatchNorm2d(3)
    bn.num_batches_tracked.fill_(7)
    sd = {k: v for k, v in nn.BatchNorm2d(3).state_dict().items() if k != "num_batches_tracked"}
    assert repr(bn.load_state_dict(sd)) == "<All keys matched successfully>"
    assert int(bn.num_batches_tracked.item()) == 7  # kept, as PyTorch
    sd = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).state_dict()
    assert dict(sd._metadata) == {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2}}
    full = nn.BatchNorm1d(2).state_dict()  # a version-2 checkpoint without the key: missing, as PyTorch
    del full["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches_tracked"'):
        nn.BatchNorm1d(2).load_state_dict(full)


def test_assign_hooks_and_atomic_errors():
    m = nn.Linear(2, 2)
    w = eg.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": eg.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones((2, 2)))
    calls = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(("post", sorted(sd))))
    m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: calls.append(("load-pre", sorted(sd))))
    m.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("load-post", keys.missing_keys)))
    m.load_state_dict(m.state_dict())
    assert calls == [("pre", ""), ("post", ["bias", "weight"]), ("load-pre", ["bias", "weight"]), ("load-post", [])]
    before = m.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"size mismatch for bias: copying a param with shape torch.Size\(\[3\]\)"):
        m.load_state_dict({"weight": eg.zeros(2, 2), "bias": eg.zeros(3)})
    np.testing.assert_array_equal(m.weight.detach().numpy(), before)  # nothing copied
    result = m.load_state_dict({"weight": eg.zeros(2, 2), "extra": eg.zeros(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.zeros((2, 2)))


def test_save_to_state_dict_override_and_shared_modules():
    class Extra(nn.Linear):
        def _save_to_state_dict(self, destination, prefix, keep_vars):
            super()._save_to_state_dict(destination, prefix, keep_vars)
            destination[prefix + "scale"] = eg.tensor(2.0)

    assert list(nn.Sequential(Extra(2, 2)).state_dict()) == ["0.weight", "0.bias", "0.scale"]
    lin = nn.Linear(2, 2)
    tied = nn.Module()
    tied.a, tied.b = lin, lin
    assert list(tied.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]  # as PyTorch


def test_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's protocol is the reference")
    t = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    e = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert list(t.state_dict()) == list(e.state_dict())
    assert dict(t.state_dict()._metadata) == {k: {"version": v["version"]} for k, v in e.state_dict()._metadata.items()}
