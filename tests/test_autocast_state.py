"""The autocast state a script queries: ``is_autocast_enabled("cpu")`` inside and outside nested
``autocast`` blocks, the dtype, the decorator form, ``torch.cpu.amp.autocast`` and ``torch.cpu``'s probes.
eigengrad computes in the tensors' own dtypes either way (see eigengrad.amp); this is the bookkeeping."""
import threading

import pytest

import eigengrad as eg


def test_nested_blocks_and_queries():
    assert not eg.is_autocast_enabled() and not eg.is_autocast_enabled("cpu")
    assert eg.get_autocast_dtype("cpu") == eg.bfloat16  # PyTorch's CPU default
    with eg.autocast("cpu", dtype=eg.float16) as ac:
        assert ac.fast_dtype == eg.float16
        assert eg.is_autocast_enabled("cpu") and not eg.is_autocast_enabled()  # no device: CUDA's, never on
        assert eg.get_autocast_dtype("cpu") == eg.float16 and eg.is_autocast_cpu_enabled()
        with eg.autocast("cpu", enabled=False):
            assert not eg.is_autocast_enabled("cpu")
        assert eg.is_autocast_enabled("cpu")
    assert not eg.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError):
        with eg.autocast("cpu"):
            raise RuntimeError("inside")
    assert not eg.is_autocast_enabled("cpu")  # restored on an exception


def test_decorator_cpu_amp_and_threads():
    @eg.autocast("cpu")
    def inside():
        return eg.is_autocast_enabled("cpu")

    assert inside() and inside() and not eg.is_autocast_enabled("cpu")
    from eigengrad.cpu import amp

    with amp.autocast(dtype=eg.bfloat16):
        assert eg.get_autocast_cpu_dtype() == eg.bfloat16 and eg.is_autocast_enabled("cpu")
        seen = []
        t = threading.Thread(target=lambda: seen.append(eg.is_autocast_enabled("cpu")))
        t.start()
        t.join()
        assert seen == [False]  # per thread, as PyTorch's thread-local state
    assert eg.cpu.is_available() and eg.cpu.device_count() == 1 and eg.cpu.current_device() == "cpu"
    assert eg.get_device_module("cpu") is eg.cpu and eg.get_device_module() is eg.cpu
    assert eg.get_device_module("cuda") is eg.cuda
    with pytest.raises(RuntimeError, match="does not have a corresponding module"):
        eg.get_device_module("xla")
