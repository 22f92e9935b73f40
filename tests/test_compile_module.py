"""eg.compile(module) is PyTorch's OptimizedModule: trained, evaluated and saved through as the model itself,
its inference calls replayed; torch.compile's arguments are accepted (a PyTorch script runs unchanged)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.compile.module import OptimizedModule


def _model():
    eg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))


def _train(compiled: bool, steps: int = 5, in_place: bool = False):
    model = _model()
    net = eg.compile(model, mode="max-autotune", fullgraph=False, dynamic=None, backend="inductor") if compiled \
        else model
    if in_place:
        model.compile(mode="max-autotune", fullgraph=False)
    opt = eg.optim.Adam(net.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = eg.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))
        y = eg.from_numpy(rng.integers(0, 3, 6))
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with eg.no_grad():
        outs = [net(eg.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))).numpy().copy() for _ in range(4)]
    return net, model, losses, outs


def test_training_through_the_compiled_module_equals_the_model():
    net, model, losses, outs = _train(True)
    _, ref_model, ref_losses, ref_outs = _train(False)
    assert isinstance(net, OptimizedModule) and isinstance(net, nn.Module) and net._orig_mod is model
    assert losses == ref_losses
    assert all(np.array_equal(a, b) for a, b in zip(outs, ref_outs))
    assert all(np.array_equal(p.detach().numpy(), q.detach().numpy())
               for p, q in zip(model.parameters(), ref_model.parameters()))
    assert net.fallback_reason is None and net.replays >= 1  # the no_grad calls replayed the compiled forward
    assert not net.training and not model.training  # eval() reached the model


def test_module_compile_in_place():
    """model.compile() (PyTorch's nn.Module.compile): the module itself replays its inference forward, its
    state_dict keys stay; training through it equals eager; a copy or a pickle leaves the plan behind."""
    import copy
    import pickle

    net, model, losses, outs = _train(False, in_place=True)
    _, ref_model, ref_losses, ref_outs = _train(False)
    assert net is model and losses == ref_losses
    assert all(np.array_equal(a, b) for a, b in zip(outs, ref_outs))
    compiled = model.__dict__["_compiled_call"]
    assert compiled.fallback_reason is None and compiled.replays >= 1
    assert list(model.state_dict()) == list(ref_model.state_dict())
    x = eg.randn(6, 4)
    with eg.no_grad():
        want = model(x).numpy()
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert "_compiled_call" not in other.__dict__
        with eg.no_grad():
            assert np.array_equal(other(x).numpy(), want)
    fresh = _model()
    fresh.compile(disable=True)
    assert "_compiled_call" not in fresh.__dict__


def test_state_dict_keys_and_attributes_are_pytorchs():
    model = _model()
    net = eg.compile(model)
    assert list(net.state_dict()) == [f"_orig_mod.{k}" for k in model.state_dict()]
    assert net.training is True and len(list(net.parameters())) == len(list(model.parameters()))
    assert net.forward.__self__ is net and net._orig_mod[0] is model[0]
    with pytest.raises(AttributeError, match="'OptimizedModule' object has no attribute 'nope'"):
        net.nope
    other = _model()
    other.load_state_dict({k[len("_orig_mod."):]: v for k, v in net.state_dict().items()})


def test_state_dict_keys_match_torch():
    pytest.importorskip("torch", reason="PyTorch is not installed: its OptimizedModule is the yardstick")
    # (in a child process: torch.compile changes PyTorch's global state, such as distributions' argument
    # validation, which later parity tests in this process rely on)
    code = ("import json, torch; m = torch.compile(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)));"
            "print(json.dumps(list(m.state_dict())))")
    theirs = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       timeout=300).stdout)
    ours = eg.compile(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))
    assert list(ours.state_dict()) == theirs


def test_disable_returns_the_function_itself_and_bad_input_is_refused():
    model = _model()
    assert eg.compile(model, disable=True) is model
    assert eg.compile(disable=True)(len) is len
    with pytest.raises(TypeError, match="fn: expected a function or a Module, got int"):
        eg.compile(3)


def test_a_call_that_records_gradients_runs_the_model():
    """With grad mode on and trainable weights, the call is the model's own (its output has a graph)."""
    net = eg.compile(_model())
    x = eg.randn(6, 4)
    out = net(x)
    assert out.requires_grad and out.grad_fn is not None and net.replays == 0
    with eg.no_grad():
        assert not net(x).requires_grad


def test_no_grad_forward_in_training_mode_with_the_fused_block():
    """BatchNorm -> ReLU -> Dropout fused under no_grad (the running statistics update, dropout draws): the
    fused kernel reads the GEMM's output later than the BatchNorm it replaced, and the arena keeps it alive
    (it once shared memory with the fused kernel's output and the bind refused it)."""
    outs = []
    for compiled in (False, True):
        model = _model()
        fn = eg.compile(model) if compiled else model
        eg.manual_seed(1)
        rng = np.random.default_rng(0)
        with eg.no_grad():
            outs.append([fn(eg.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))).numpy().copy()
                         for _ in range(5)] + [b.numpy().copy() for b in model.buffers()])
    assert fn.replays >= 2 and fn.fallback_reason is None
    assert all(np.array_equal(a, b) for a, b in zip(*outs))


def test_a_pytorch_script_with_torch_compile_runs_under_compat():
    from eigengrad.compat import torch_alias

    with torch_alias():
        import torch

        torch.manual_seed(0)
        model = torch.compile(torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)),
                              mode="reduce-overhead")
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        x = torch.randn(32, 4)
        y = (x[:, 0] > 0).long()
        for _ in range(30):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x).argmax(1) == y).float().mean().item()
        keys = list(model.state_dict())
    assert loss.item() < 0.3 and accuracy > 0.9
    assert keys[0] == "_orig_mod.0.weight"
