"""Porting gaps found by running new PyTorch programs unchanged (session 2026-12-06, helper h3:
tests/ported/timeseries_forecast.py and knowledge_distillation.py), each with PyTorch's behaviour."""
import warnings

import pytest

import eigengrad as eg


def _autocast_report(lib, device_type, **kw):
    """(enabled, fast_dtype name, warnings, is_autocast_enabled inside for the device and the CPU)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ac = lib.autocast(device_type, **kw)
        with ac:
            inside = (lib.is_autocast_enabled(device_type), lib.is_autocast_enabled("cpu"))
    return ac._enabled, str(ac.fast_dtype).replace("torch.", ""), [str(w.message) for w in caught], inside


def test_autocast_cuda_without_cuda_is_disabled_not_an_error():
    # `with torch.autocast(device_type='cuda', dtype=torch.float16, enabled=use_amp)` (use_amp False on a CPU
    # machine) raised "device 'cuda' is not available"; PyTorch runs it, and disables an enabled one with a warning
    lin = eg.nn.Linear(3, 2)
    with eg.autocast(device_type="cuda", dtype=eg.float16, enabled=False):
        y = lin(eg.ones(4, 3))
    assert y.dtype == eg.float32 and tuple(y.shape) == (4, 2)
    assert _autocast_report(eg, "cuda", enabled=False) == (False, "float16", [], (False, False))
    enabled, dtype, caught, inside = _autocast_report(eg, "cuda")
    assert (enabled, dtype, inside) == (False, "float16", (False, False))
    assert caught == ["CUDA is not available or torch_xla is imported. Disabling autocast."]

    @eg.autocast(device_type="cuda", enabled=False)
    def forward(x):
        return lin(x)

    assert forward(eg.ones(1, 3)).dtype == eg.float32


def test_autocast_other_devices_and_dtypes():
    assert _autocast_report(eg, "mps") == (True, "float16", [], (True, False))  # inert on CPU tensors
    assert _autocast_report(eg, "cpu", enabled=False) == (False, "bfloat16", [], (False, False))
    enabled, _, caught, inside = _autocast_report(eg, "cpu", dtype=eg.float32)
    assert not enabled and inside == (False, False)
    assert caught == ["In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                      "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently."]
    assert eg.get_autocast_dtype("cuda") == eg.float16 and eg.get_autocast_dtype("cpu") == eg.bfloat16
    assert eg.amp.is_autocast_available("cuda") and not eg.amp.is_autocast_available("meta")
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        eg.autocast(eg.device("cpu"))
    with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):
        eg.autocast("xyz")
    with eg.autocast("cpu", dtype=eg.bfloat16):
        with eg.autocast("cuda", enabled=False):
            assert eg.is_autocast_enabled("cpu") and not eg.is_autocast_enabled("cuda")
        assert eg.is_autocast_enabled("cpu")
    assert not eg.is_autocast_enabled("cpu")


@pytest.mark.parametrize("device_type,kw", [("cuda", {}), ("cuda", {"enabled": False}),
                                            ("cuda", {"dtype": "bfloat16"}), ("mps", {}), ("xpu", {"enabled": False}),
                                            ("cpu", {}), ("cpu", {"dtype": "float32"}), ("cpu", {"enabled": False})])
def test_autocast_as_pytorch(device_type, kw):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its autocast is the reference")
    ours = _autocast_report(eg, device_type, **{k: getattr(eg, v) if k == "dtype" else v for k, v in kw.items()})
    theirs = _autocast_report(torch, device_type, **{k: getattr(torch, v) if k == "dtype" else v
                                                     for k, v in kw.items()})
    assert ours == theirs


def test_tensor_dataset_size_mismatch_is_an_assertion_error():
    # windows and targets of different lengths (an off-by-one slice): PyTorch asserts, so a script's
    # `except AssertionError` caught nothing here (it was a plain ValueError)
    x, y = eg.zeros(7, 2, 4), eg.zeros(6, 2)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        eg.utils.data.TensorDataset(x, y)
    with pytest.raises(ValueError):  # and still eigengrad's ValueError
        eg.utils.data.TensorDataset(x, y)
    with pytest.raises(IndexError, match="no dimensions"):  # PyTorch's tensor.size(0) of a 0-d tensor
        eg.utils.data.TensorDataset(eg.tensor(1.0))
    assert len(eg.utils.data.TensorDataset(x, eg.zeros(7))) == 7


def test_tensor_dataset_errors_as_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its TensorDataset is the reference")
    for lib in (torch, eg):
        with pytest.raises(AssertionError, match="Size mismatch between tensors"):
            lib.utils.data.TensorDataset(lib.zeros(7, 2), lib.zeros(6))
        with pytest.raises(IndexError):
            lib.utils.data.TensorDataset(lib.tensor(1.0))


def _epoch_by_hand(lib, **kw):
    """The idiom of domain-adaptation and GAN repos: an explicit iterator and ``len`` of it."""
    ds = lib.utils.data.TensorDataset(lib.arange(10.0), lib.arange(10))
    data_iter = iter(lib.utils.data.DataLoader(ds, batch_size=3, **kw))
    n = len(data_iter)
    return n, [next(data_iter)[1].tolist() for _ in range(n)]


def test_dataloader_iterator_has_a_length():
    assert _epoch_by_hand(eg) == (4, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]])
    assert _epoch_by_hand(eg, drop_last=True) == (3, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    n, batches = _epoch_by_hand(eg, shuffle=True, num_workers=1)
    assert n == 4 and sorted(sum(batches, [])) == list(range(10))
    it = iter(eg.utils.data.DataLoader(eg.utils.data.TensorDataset(eg.zeros(4)), batch_size=2))
    assert iter(it) is it and len(list(it)) == 2
    with pytest.raises(StopIteration):
        next(it)


def test_dataloader_iterator_length_as_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its DataLoader is the reference")
    for kw in ({}, {"drop_last": True}):
        assert _epoch_by_hand(eg, **kw) == _epoch_by_hand(torch, **kw)


@pytest.mark.parametrize("name", ["stack", "hstack", "vstack", "dstack", "column_stack"])
def test_stacking_no_tensors_is_pytorchs_runtime_error(name):
    # `torch.stack(outputs)` of an empty list (a loop that ran zero times) raised a plain ValueError (hstack an
    # IndexError from inside); PyTorch raises RuntimeError "<name> expects a non-empty TensorList"
    with pytest.raises(RuntimeError, match=f"^{name} expects a non-empty TensorList$"):
        getattr(eg, name)([])
    with pytest.raises(ValueError, match="non-empty"):  # eigengrad's class for a bad value too
        getattr(eg, name)(())
    assert tuple(getattr(eg, name)([eg.ones(2), eg.ones(2)]).shape) == {
        "stack": (2, 2), "hstack": (4,), "vstack": (2, 2), "dstack": (1, 2, 2), "column_stack": (2, 2)}[name]


def test_empty_cat_keeps_pytorchs_value_error():
    with pytest.raises(ValueError, match=r"torch.cat\(\): expected a non-empty list of Tensors"):
        eg.cat([])


@pytest.mark.parametrize("name", ["cat", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack"])
def test_empty_stacking_as_pytorch(name):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its errors are the reference")
    errors = []
    for lib in (torch, eg):
        with pytest.raises(Exception) as info:
            getattr(lib, name)([])
        errors.append((isinstance(info.value, RuntimeError), isinstance(info.value, ValueError), str(info.value)))
    (t_rt, t_val, t_msg), (o_rt, o_val, o_msg) = errors
    assert o_msg == t_msg and (o_rt or not t_rt) and (o_val or not t_val)


def test_generator_takes_pytorchs_device_argument():
    # `torch.Generator(device='cpu').manual_seed(42)` (data splits, diffusion samplers) raised TypeError
    g = eg.Generator(device="cpu").manual_seed(42)
    assert g.initial_seed() == 42 and eg.Generator("cpu").initial_seed() == eg.Generator().initial_seed()
    assert eg.Generator(device=eg.device("cpu")).device == eg.device("cpu") and eg.Generator().device.type == "cpu"
    assert eg.Generator(7).initial_seed() == 7  # eigengrad's positional seed still works
    a = eg.randperm(10, generator=eg.Generator(device="cpu").manual_seed(3)).tolist()
    b = eg.randperm(10, generator=eg.Generator().manual_seed(3)).tolist()
    assert a == b and sorted(a) == list(range(10))
    with pytest.raises(RuntimeError, match="CPU only"):
        eg.Generator(device="cuda")
    with pytest.raises(TypeError):
        eg.Generator(device=2.5)


def test_generator_device_as_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its Generator is the reference")
    for lib in (torch, eg):
        g = lib.Generator(device="cpu")
        assert g.manual_seed(5) is g and g.initial_seed() == 5 and str(g.device) == "cpu"
        assert lib.Generator("cpu").device.type == "cpu"
