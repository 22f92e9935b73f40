"""``torch.nn.utils.convert_conv2d_weight_memory_format`` and ``convert_conv3d_weight_memory_format``.

As PyTorch, each convolution's weight of the right kind (``Conv2d``/``ConvTranspose2d``, ``Conv3d``/
``ConvTranspose3d``) in the module tree is replaced by a detached copy, and the module is returned; outputs are
unchanged, as they are in PyTorch. The copy stays C-contiguous: eigengrad's parameters keep that layout (the
kernels would read a channels-last weight through a copy at every call), while a tensor's own
``contiguous(memory_format=channels_last)`` does lay it out with the channels last."""
from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    from eigengrad import clone

    if isinstance(module, kinds):
        module.weight.data = clone(module.weight.detach())
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
