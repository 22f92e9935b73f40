"""``nn.DataParallel`` on the CPU: PyTorch's single-process multi-GPU wrapper has no devices to split over
here, so it runs the module as it is (as PyTorch does without GPUs) and keeps PyTorch's interface: the
wrapped ``.module`` and state_dict keys prefixed ``module.``, so checkpoints move both ways. Use
``DistributedDataParallel`` (MPI) to train on several processes."""
from __future__ import annotations

from eigengrad.nn.modules.module import Module


class DataParallel(Module):
    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"module: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids, self.output_device, self.dim = [], None, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """The functional form: ``module(*inputs, **module_kwargs)``."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
