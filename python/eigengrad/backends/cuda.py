"""``torch.backends.cuda``'s flags, which scripts set for speed (``torch.backends.cuda.matmul.allow_tf32 =
True``). eigengrad has no CUDA: they can be read back and set, as in PyTorch, and change nothing (its float32
products are float32 throughout)."""
from __future__ import annotations


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: TF32 and reduced-precision reductions of CUDA matrix products."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    return False


def preferred_linalg_library(backend=None):
    """The linear algebra library CUDA would use: none here (PyTorch returns the current choice)."""
    return None


# The scaled-dot-product-attention backends' switches (CUDA's; eigengrad's attention is its own CPU kernel,
# which none of them changes): set and read back as in PyTorch.
_sdp = {"flash": True, "mem_efficient": True, "math": True}


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


__all__ = ["matmul", "is_built", "preferred_linalg_library", "flash_sdp_enabled", "mem_efficient_sdp_enabled",
           "math_sdp_enabled", "enable_flash_sdp", "enable_mem_efficient_sdp", "enable_math_sdp"]
