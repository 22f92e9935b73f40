"""Devices as PyTorch scripts use them: eg.device, Tensor.device/.to/.cpu/.cuda, device= on factories and layers,
Module.to/cpu/cuda/type/float/double, the cuda/accelerator/mps/cudnn probes, and the CPU-only error for any
other device."""
import pickle
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

torch = pytest.importorskip("torch", reason="the device tests compare eg.device with torch.device")

CPU_ONLY = "eigengrad runs on the CPU only"


@pytest.mark.parametrize("args,kwargs", [(("cpu",), {}), (("cpu", 0), {}), (("cpu:0",), {}), ((), {"type": "cpu"}),
                                         ((), {"type": "cpu", "index": 1}), (("cuda",), {}), (("cuda:1",), {}),
                                         (("cuda", 2), {}), (("mps",), {})])
def test_device_objects_match_torch(args, kwargs):
    d, t = eg.device(*args, **kwargs), torch.device(*args, **kwargs)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert d == eg.device(d) and hash(d) == hash(eg.device(str(d)))
    assert pickle.loads(pickle.dumps(d)) == d


def test_device_equality_and_errors_match_torch():
    assert eg.device("cpu") != eg.device("cpu", 0)  # as torch: the index is part of the identity
    assert eg.device("cpu") in {eg.device("cpu")} and eg.device("cpu") != "cpu"
    for bad in ("foo", "cpu:x", "cpu:-1", "cuda:0:1", ""):
        with pytest.raises(RuntimeError) as theirs:
            torch.device(bad)
        with pytest.raises(RuntimeError) as ours:
            eg.device(bad)
        assert str(ours.value) == str(theirs.value).replace("torch", "eigengrad")
    with pytest.raises(RuntimeError, match="Device index must not be negative"):
        eg.device("cpu", -1)
    with pytest.raises(RuntimeError, match="must not include an index"):
        eg.device("cpu:0", 1)


def test_tensor_device_and_to():
    x = eg.randn(2, 3)
    assert x.device == eg.device("cpu") and x.is_cpu and not x.is_cuda and x.get_device() == -1
    assert x.to("cpu") is x and x.to(eg.device("cpu")) is x and x.cpu() is x and x.to("cpu:0") is x
    assert x.to(device="cpu", non_blocking=True) is x and x.to(x) is x and x.to(eg.float32) is x
    y = x.to("cpu", eg.float64)
    assert y.dtype == eg.float64 and np.array_equal(y.numpy(), x.numpy().astype(np.float64))
    assert x.to(eg.zeros(1, dtype=eg.float64)).dtype == eg.float64
    assert x.to(dtype=eg.int64).dtype == eg.int64
    c = x.to("cpu", copy=True)
    assert c is not x and np.array_equal(c.numpy(), x.numpy()) and not np.shares_memory(c.numpy(), x.numpy())
    assert x.to(float).dtype == eg.float64  # a Python type, as torch reads it
    g = eg.randn(3, requires_grad=True)
    h = g.to("cpu", eg.float64)
    h.sum().backward()
    assert g.grad.dtype == eg.float32 and np.all(g.grad.numpy() == 1)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", 0, "xla"])
def test_non_cpu_devices_raise_a_clear_error(device):
    x = eg.ones(2)
    calls = [lambda: x.to(device), lambda: eg.zeros(2, device=device), lambda: eg.tensor([1.0], device=device),
             lambda: nn.Linear(2, 2, device=device), lambda: nn.Conv2d(1, 1, 3, device=device),
             lambda: nn.Embedding(3, 2, device=device), lambda: nn.MultiheadAttention(4, 2, device=device),
             lambda: nn.Module().to(device), lambda: eg.set_default_device(device)]
    if not isinstance(device, int):
        calls.append(lambda: x.to(eg.device(device)))
    for call in calls:
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            call()


def test_cuda_and_accelerator_probes():
    assert eg.cuda.is_available() is False and eg.cuda.device_count() == 0 and not eg.cuda.is_initialized()
    assert eg.cuda.manual_seed(0) is None and eg.cuda.manual_seed_all(1) is None and eg.cuda.synchronize() is None
    assert eg.cuda.empty_cache() is None
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        eg.ones(1).cuda()
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        eg.cuda.current_device()
    assert eg.accelerator.is_available() is False and eg.accelerator.current_accelerator() is None
    assert eg.accelerator.device_count() == 0
    assert eg.backends.mps.is_available() is False and eg.backends.mps.is_built() is False
    assert eg.get_default_device() == eg.device("cpu") and repr(eg.get_default_device()) == repr(
        torch.get_default_device())
    eg.set_default_device("cpu")
    eg.set_default_device(None)
    with eg.device("cpu"):
        assert eg.zeros(1).device == eg.device("cpu")


def test_the_common_script_idiom_picks_the_cpu():
    device = eg.device("cuda" if eg.cuda.is_available() else "cpu")
    device2 = eg.device("cuda:0" if eg.accelerator.is_available() else "cpu")
    device3 = eg.accelerator.current_accelerator() or eg.device("cpu")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(device)
    x = eg.randn(5, 4).to(device2, non_blocking=True)
    out = model(x).to(device3).cpu().detach().numpy()
    assert out.shape == (5, 2)


def test_cudnn_flags_are_settable_and_harmless():
    cudnn = eg.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic, cudnn.enabled)
    assert before == (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic, torch.backends.cudnn.enabled)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert cudnn.benchmark and cudnn.deterministic
        assert eg.ones(2).sum().item() == 2.0
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = before
    assert cudnn.is_available() is False


def test_module_to_cpu_type_float_double_keep_the_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(model.parameters())
    assert model.to("cpu") is model and model.cpu() is model and model.to(eg.device("cpu")) is model
    assert model.to(eg.float64) is model and all(p.dtype == eg.float64 for p in model.parameters())
    assert list(model.parameters())[0] is params[0]  # the same Parameter objects, as PyTorch's _apply
    assert model[1].num_batches_tracked.dtype == eg.int64  # Module.to casts only floating tensors
    assert model.to("cpu", eg.float32).float() is model and params[0].dtype == eg.float32
    assert model.double() is model and params[1].dtype == eg.float64
    assert model.to(eg.zeros(1)) is model and params[0].dtype == eg.float32
    assert model.type(eg.float64) is model and params[0].dtype == eg.float64
    assert model.type("torch.FloatTensor") is model and params[0].dtype == eg.float32
    assert model[1].num_batches_tracked.dtype == eg.float32  # Module.type casts everything, as torch
    with pytest.raises(TypeError, match="only accepts floating point"):
        model.to(eg.int64)
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        model.cuda()
    with pytest.raises(TypeError, match="float16"):
        model.half()


def test_module_to_matches_torch_on_the_same_model():
    eg_model = nn.Linear(3, 2)
    t_model = torch.nn.Linear(3, 2)
    for call in (lambda m, L: m.to(L.float64), lambda m, L: m.to("cpu"), lambda m, L: m.float(),
                 lambda m, L: m.double().cpu()):
        assert call(eg_model, eg) is eg_model and call(t_model, torch) is t_model
        assert str(eg_model.weight.dtype) == str(t_model.weight.dtype).replace("torch.", "")


@pytest.mark.parametrize("layer", [
    lambda **kw: nn.Linear(3, 2, True, **kw), lambda **kw: nn.Conv2d(1, 2, 3, **kw),
    lambda **kw: nn.BatchNorm1d(3, **kw), lambda **kw: nn.BatchNorm2d(3, **kw), lambda **kw: nn.LayerNorm(4, **kw),
    lambda **kw: nn.GroupNorm(2, 4, **kw), lambda **kw: nn.PReLU(**kw), lambda **kw: nn.RNN(3, 4, **kw),
    lambda **kw: nn.LSTM(3, 4, **kw), lambda **kw: nn.GRU(3, 4, **kw), lambda **kw: nn.LSTMCell(3, 4, **kw),
    lambda **kw: nn.GRUCell(3, 4, **kw), lambda **kw: nn.RNNCell(3, 4, **kw), lambda **kw: nn.Maxout(3, 2, 2, **kw),
    lambda **kw: nn.Embedding(5, 3, **kw), lambda **kw: nn.EmbeddingBag(5, 3, **kw), lambda **kw: nn.Conv1d(2, 3, 3, **kw),
    lambda **kw: nn.ConvTranspose2d(2, 3, 3, **kw), lambda **kw: nn.MultiheadAttention(4, 2, **kw),
    lambda **kw: nn.TransformerEncoderLayer(4, 2, 8, **kw),
])
def test_layers_take_device_and_dtype(layer):
    for device in (None, "cpu", eg.device("cpu"), "cpu:0"):
        for dtype in (None, eg.float32, eg.float64):
            m = layer(device=device, dtype=dtype)
            assert all(p.dtype == (dtype or eg.float32) for p in m.parameters())
            assert all(p.device == eg.device("cpu") for p in m.parameters())


def test_linear_positional_device_dtype_as_torch():
    m = nn.Linear(3, 2, False, "cpu", eg.float64)
    t = torch.nn.Linear(3, 2, False, "cpu", torch.float64)
    assert m.bias is None and t.bias is None and m.weight.dtype == eg.float64
    c = nn.Conv2d(1, 2, 3, 1, 0, 1, 1, True, "zeros", "cpu", eg.float64)
    assert c.weight.dtype == eg.float64


def test_factories_take_device_dtype_requires_grad():
    for f in (lambda **kw: eg.zeros(2, 3, **kw), lambda **kw: eg.ones((2,), **kw), lambda **kw: eg.empty(2, **kw),
              lambda **kw: eg.full((2,), 1.5, **kw), lambda **kw: eg.rand(2, **kw), lambda **kw: eg.randn(2, **kw),
              lambda **kw: eg.arange(3.0, **kw), lambda **kw: eg.linspace(0, 1, 3, **kw),
              lambda **kw: eg.eye(2, **kw), lambda **kw: eg.tensor([1.0], **kw),
              lambda **kw: eg.zeros_like(eg.ones(2), **kw), lambda **kw: eg.ones(2).new_zeros(3, **kw),
              lambda **kw: eg.full_like(eg.ones(2), 2.0, **kw), lambda **kw: eg.randn_like(eg.ones(2), **kw)):
        t = f(device="cpu", dtype=eg.float64, requires_grad=True)
        assert t.device == eg.device("cpu") and t.dtype == eg.float64 and t.requires_grad
        assert f(device=eg.device("cpu")).device.type == "cpu"


def test_pin_memory_is_harmless():
    x = eg.ones(3)
    assert x.pin_memory() is x and not x.is_pinned()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert eg.zeros(2, pin_memory=True).shape == (2,)
