"""``PixelShuffle`` and ``PixelUnshuffle`` (PyTorch's ``torch.nn.modules.pixelshuffle``): sub-pixel
rearrangements of channels into space and back, see ``nn.functional.pixel_shuffle``."""
from __future__ import annotations

from eigengrad.nn import _functional_upsample as FU
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = upscale_factor (Shi et al., CVPR 2016)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = FU._factor(upscale_factor, "upscale_factor")

    def forward(self, input: Tensor) -> Tensor:
        return FU.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W) with r = downscale_factor: the inverse of PixelShuffle."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = FU._factor(downscale_factor, "downscale_factor")

    def forward(self, input: Tensor) -> Tensor:
        return FU.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


__all__ = ["PixelShuffle", "PixelUnshuffle"]
