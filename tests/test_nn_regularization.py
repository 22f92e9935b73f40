"""L1/L2 penalties, the decay-parameter selection shared with param_groups_weight_decay, freeze/unfreeze,
load_state_dict's key reports, and saving/loading for fine-tuning (atomic saves, bad files)."""
import os

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad import serialization
from eigengrad.autograd.gradcheck import gradcheck
from eigengrad.nn.utils import decay_parameters, freeze, l1_penalty, l2_penalty, unfreeze


class LayerNorm(nn.Module):
    """A stand-in normalisation layer (the real ones are written elsewhere): 1-D weight and bias."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(eg.ones(n))
        self.bias = nn.Parameter(eg.zeros(n))

    def forward(self, x):
        return x * self.weight + self.bias


class FakeNorm2d(nn.Module):
    """A stand-in batch-norm: a running_mean buffer and a 2-D parameter (to test skip_norm on its own)."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(eg.ones(n, 1))
        self.register_buffer("running_mean", eg.zeros(n))

    def forward(self, x):
        if self.training:
            self.running_mean._data[...] = 0.9 * self.running_mean._data + 0.1 * x.numpy().mean(0)
        return x


def model():
    eg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), LayerNorm(6), nn.ReLU(), nn.Linear(6, 3))


# --- penalties -----------------------------------------------------------------------------------------

def test_l1_l2_values_and_gradients():
    a = eg.tensor(np.array([[1.0, -2.0], [0.5, 0.0]]), requires_grad=True)
    b = eg.tensor(np.array([3.0, -4.0]), requires_grad=True)
    l1 = l1_penalty([a, b])
    l2 = l2_penalty([a, b])
    assert l1.item() == pytest.approx(1 + 2 + 0.5 + 0 + 3 + 4)
    assert l2.item() == pytest.approx(1 + 4 + 0.25 + 0 + 9 + 16)  # sum of squares, no 1/2
    (l1 + l2).backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), np.sign(a.detach().numpy()) + 2 * a.detach().numpy())
    np.testing.assert_allclose(b.grad.detach().numpy(), np.sign(b.detach().numpy()) + 2 * b.detach().numpy())


def test_penalties_gradcheck():
    rng = np.random.default_rng(0)
    a = eg.tensor(rng.uniform(0.1, 1, (3, 4)) * rng.choice([-1, 1], (3, 4)), requires_grad=True)
    b = eg.tensor(rng.standard_normal(5), requires_grad=True)
    gradcheck(lambda a, b: l1_penalty([a, b]), (a, b))
    gradcheck(lambda a, b: l2_penalty([a, b]), (a, b))


def test_penalty_of_nothing_is_zero_and_module_is_refused():
    assert l1_penalty([]).item() == 0 and l2_penalty([]).item() == 0
    with pytest.raises(TypeError, match="decay_parameters"):
        l2_penalty(model())
    with pytest.raises(TypeError, match=r"params\[1\]"):
        l1_penalty([eg.zeros(2), np.zeros(2)])


def test_l2_penalty_equals_sgd_weight_decay_of_twice_lambda():
    lam = 0.01
    m1, m2 = model(), model()
    x = eg.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    opt1 = eg.optim.SGD(decay_parameters(m1), lr=0.1)
    (m1(x).sum() * 0 + lam * l2_penalty(decay_parameters(m1))).backward()
    opt1.step()
    opt2 = eg.optim.SGD(decay_parameters(m2), lr=0.1, weight_decay=2 * lam)
    (m2(x).sum() * 0).backward()
    opt2.step()
    for p, q in zip(decay_parameters(m1), decay_parameters(m2)):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6)


def test_decay_parameters_selection_matches_param_groups():
    m = nn.Sequential(nn.Linear(4, 6), LayerNorm(6), FakeNorm2d(6), nn.Linear(6, 3))
    names = {id(p): n for n, p in m.named_parameters()}
    assert [names[id(p)] for p in decay_parameters(m)] == ["0.weight", "3.weight"]
    # FakeNorm2d's 2-D parameter: exempt by skip_norm only
    assert [names[id(p)] for p in decay_parameters(m, skip_norm=False)] == ["0.weight", "2.scale", "3.weight"]
    assert [names[id(p)] for p in decay_parameters(m, no_decay=(), skip_1d=False, skip_norm=False)] == \
        [n for n, _ in m.named_parameters()]
    assert [names[id(p)] for p in decay_parameters(m, no_decay="0.*")] == ["3.weight"]
    groups = eg.optim.param_groups_weight_decay(m, 0.1)
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in decay_parameters(m)]
    m[0].weight.requires_grad_(False)
    assert [names[id(p)] for p in decay_parameters(m)] == ["3.weight"]
    with pytest.raises(TypeError, match="model"):
        decay_parameters([m[0].weight])


# --- freeze / unfreeze -----------------------------------------------------------------------------------

def test_freeze_keeps_batchnorm_in_eval_through_train():
    backbone = nn.Sequential(nn.Linear(3, 3), FakeNorm2d(3))
    net = nn.Sequential(backbone, nn.Linear(3, 2))
    freeze(backbone)
    assert all(not p.requires_grad for p in backbone.parameters())
    assert all(p.requires_grad for p in net[1].parameters())
    net.train()
    assert net.training and backbone.training and backbone[0].training
    assert backbone[1].training is False
    stats = backbone[1].running_mean.numpy().copy()
    net(eg.tensor(np.ones((4, 3), np.float32)))
    np.testing.assert_array_equal(backbone[1].running_mean.numpy(), stats)  # eval: statistics untouched
    net.eval()
    net.train(True)
    assert backbone[1].training is False
    unfreeze(backbone)
    assert all(p.requires_grad for p in backbone.parameters())
    assert backbone[1].training is True
    net.eval()
    net.train()
    assert backbone[1].training is True


def test_freeze_detects_batchnorm_by_class_name_and_bn_eval_false():
    class BatchNorm1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(eg.ones(2))

    net = nn.Sequential(BatchNorm1d(), nn.Linear(2, 2))
    freeze(net)
    net.train()
    assert net[0].training is False and net[1].training is True
    other = nn.Sequential(FakeNorm2d(2))
    freeze(other, bn_eval=False)
    other.train()
    assert other[0].training is True and not other[0].scale.requires_grad


def test_frozen_parameters_get_no_gradient_and_do_not_move():
    net = model()
    freeze(net[0])
    before = net[0].weight.numpy().copy()
    opt = eg.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5)
    net(eg.tensor(np.ones((2, 4), np.float32))).sum().backward()
    assert net[0].weight.grad is None and net[3].weight.grad is not None
    opt.step()
    np.testing.assert_array_equal(net[0].weight.numpy(), before)


def test_requires_grad_false_on_module():
    net = model()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())


# --- load_state_dict -------------------------------------------------------------------------------------

def test_load_state_dict_non_strict_reports_keys():
    src, dst = model(), model()
    state = dict(src.state_dict())
    del state["3.bias"]
    state["extra.weight"] = eg.zeros(2)
    result = dst.load_state_dict(state, strict=False)
    assert result.missing_keys == ["3.bias"] and result.unexpected_keys == ["extra.weight"]
    missing, unexpected = result  # a NamedTuple, as torch's _IncompatibleKeys
    assert missing == ["3.bias"]
    np.testing.assert_array_equal(dst[0].weight.detach().numpy(), src[0].weight.detach().numpy())
    assert repr(dst.load_state_dict(src.state_dict())) == "<All keys matched successfully>"


def test_load_state_dict_strict_lists_keys_and_shape_mismatch_names_key():
    dst = model()
    state = dict(model().state_dict())
    del state["3.bias"]
    state["extra.weight"] = eg.zeros(2)
    with pytest.raises(RuntimeError, match=r'(?s)Missing key\(s\).*"3.bias".*Unexpected key\(s\).*"extra.weight"'):
        dst.load_state_dict(state)
    before = dst[0].weight.detach().numpy().copy()
    bad = dict(model().state_dict())
    bad["0.weight"] = eg.zeros(5, 4)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\[5, 4\].*\[6, 4\]"):
            dst.load_state_dict(bad, strict=strict)
    np.testing.assert_array_equal(dst[0].weight.detach().numpy(), before)  # nothing copied


# --- saving and loading -----------------------------------------------------------------------------------

def test_model_saved_and_loaded_into_new_instance_gives_identical_outputs(tmp_path):
    net = model()
    x = eg.tensor(np.random.default_rng(2).standard_normal((7, 4)).astype(np.float32))
    path = tmp_path / "model.safetensors"
    eg.save(net.state_dict(), path)
    eg.manual_seed(123)
    fresh = nn.Sequential(nn.Linear(4, 6), LayerNorm(6), nn.ReLU(), nn.Linear(6, 3))
    assert not np.array_equal(fresh(x).detach().numpy(), net(x).detach().numpy())
    fresh.load_state_dict(eg.load(path))
    np.testing.assert_array_equal(fresh(x).detach().numpy(), net(x).detach().numpy())


def test_interrupted_save_leaves_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    eg.save({"w": eg.ones(1000)}, path)
    original = path.read_bytes()
    real_fdopen = os.fdopen

    class Breaking:
        def __init__(self, f):
            self.f = f

        def write(self, payload):
            self.f.write(payload[: len(payload) // 2])  # part of the file reaches the disk ...
            raise OSError("disk full")  # ... then the write fails

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(serialization.os, "fdopen", lambda fd, mode: Breaking(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="disk full"):
        eg.save({"w": eg.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]
    np.testing.assert_array_equal(eg.load(path)["w"].numpy(), 1)


def test_loading_a_file_that_is_not_safetensors_names_the_file(tmp_path):
    bad = tmp_path / "notes.safetensors"
    bad.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(ValueError, match="notes.safetensors.*not a valid safetensors"):
        eg.load(bad)
    import pickle
    pk = tmp_path / "weights.pt"
    pk.write_bytes(pickle.dumps({"w": np.zeros(3)}))
    with pytest.raises(ValueError, match="weights.pt"):
        eg.load(pk)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        eg.load(tmp_path / "missing.safetensors")
