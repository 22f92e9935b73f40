"""``torch.nn.utils.convert_conv2d_weight_memory_format`` and ``convert_conv3d_weight_memory_format``.

eigengrad tensors are dense and C-contiguous on the CPU, and ``memory_format`` is accepted everywhere and
changes nothing (``Tensor.contiguous(memory_format=...)``, ``clone``, ``Module.to``): so, as PyTorch, each
convolution's weight of the right kind (``Conv2d``/``ConvTranspose2d``, ``Conv3d``/``ConvTranspose3d``) in the
module tree is replaced by a detached copy made with the requested ``memory_format`` (a contiguous copy here),
and the module is returned. Outputs are unchanged, as they are in PyTorch."""
from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    from eigengrad import clone

    if isinstance(module, kinds):
        weight_data = clone(module.weight.detach(), memory_format=memory_format)
        module.weight.data = weight_data.contiguous(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """``module`` with the weight of every ``Conv2d`` and ``ConvTranspose2d`` in it (itself included) converted to
    ``memory_format`` (e.g. ``eigengrad.channels_last``; on eigengrad's strided CPU tensors a contiguous copy)."""
    from eigengrad.nn.modules.conv import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """``module`` with the weight of every ``Conv3d`` and ``ConvTranspose3d`` in it converted to ``memory_format``
    (a contiguous copy on eigengrad's strided CPU tensors)."""
    from eigengrad.nn.modules.conv import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
