"""What a sweep of realistic PyTorch scripts (vision, tabular, utilities), run with only the import changed,
found missing or different: each as PyTorch has it."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import DataLoader, SubsetRandomSampler, TensorDataset, default_collate, default_convert


def test_subset_random_sampler_keeps_its_indices():
    """``len(loader.sampler.indices)``, the size of a train/val split, was a method's length (TypeError)."""
    s = SubsetRandomSampler([5, 3, 8], generator=eg.Generator().manual_seed(0))
    assert s.indices == [5, 3, 8] and len(s) == 3
    assert sorted(s) == [3, 5, 8] and sorted(list(s)) == [3, 5, 8]
    loader = DataLoader(TensorDataset(eg.arange(10.0)), batch_size=2, sampler=s)
    assert len(loader.sampler.indices) == 3
    assert sorted(float(v) for (b,) in loader for v in b.tolist()) == [3.0, 5.0, 8.0]
    t = SubsetRandomSampler(eg.tensor([1, 2]))
    assert sorted(t) == [1, 2]


def test_dataloader_collate_fn_is_the_default_one():
    """PyTorch stores default_collate (default_convert unbatched): ``loader.collate_fn(samples)`` works."""
    ds = TensorDataset(eg.arange(4.0).reshape(2, 2))
    assert DataLoader(ds, batch_size=2).collate_fn is default_collate
    assert DataLoader(ds, batch_size=None).collate_fn is default_convert
    loader = DataLoader(ds, batch_size=2)
    (batch,) = loader.collate_fn([ds[0], ds[1]])
    np.testing.assert_array_equal(batch.numpy(), [[0, 1], [2, 3]])

    def mine(samples):
        return len(samples)

    loader.collate_fn = mine
    assert list(loader) == [2]


def test_autograd_profiler():
    with eg.autograd.profiler.profile() as prof:
        with eg.autograd.profiler.record_function("fwd"):
            y = (eg.ones(8, 8) @ eg.ones(8, 8)).sum()
    assert y.item() == 512.0
    (row,) = prof.key_averages()
    assert row["name"] == "fwd" and row["count"] == 1 and "fwd" in prof.key_averages().table()
    from eigengrad.autograd.profiler import emit_nvtx, record_function  # noqa: F401

    with emit_nvtx():
        pass


def test_cuda_queries_without_cuda():
    """A checkpoint's ``{'cuda_rng_state': torch.cuda.get_rng_state_all()}`` and memory logging run on a
    CPU-only PyTorch; what needs a device is PyTorch's AssertionError there (and eigengrad's RuntimeError and
    ValueError)."""
    assert eg.cuda.get_rng_state_all() == [] and eg.cuda.set_rng_state_all([]) is None
    assert eg.cuda.memory_reserved() == eg.cuda.max_memory_reserved() == 0 and eg.cuda.memory_stats() == {}
    for call in (eg.cuda.get_rng_state, eg.cuda.initial_seed, eg.cuda.get_device_properties,
                 lambda: eg.ones(2).cuda(), lambda: eg.ones(2).to("cuda"), lambda: eg.nn.Linear(2, 2).cuda()):
        with pytest.raises(AssertionError, match="runs on the CPU only") as e:
            call()
        assert isinstance(e.value, RuntimeError) and isinstance(e.value, ValueError)


def test_xpu_and_mps_modules():
    assert not eg.xpu.is_available() and eg.xpu.device_count() == 0 and eg.xpu.manual_seed(0) is None
    assert not eg.mps.is_available() and eg.mps.device_count() == 0 and eg.mps.manual_seed(0) is None
    with pytest.raises(RuntimeError, match="runs on the CPU only"):
        eg.mps.synchronize()
    import eigengrad.mps  # noqa: F401
    import eigengrad.xpu  # noqa: F401
