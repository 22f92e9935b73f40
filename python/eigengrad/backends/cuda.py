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
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "fp16_bf16_reduction_math": False}


def _switch(name: str) -> tuple:
    """(read, set) of one switch of ``_sdp``."""
    def read() -> bool:
        return _sdp[name]

    def set_to(enabled: bool) -> None:
        _sdp[name] = bool(enabled)

    return read, set_to


flash_sdp_enabled, enable_flash_sdp = _switch("flash")
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _switch("mem_efficient")
math_sdp_enabled, enable_math_sdp = _switch("math")
cudnn_sdp_enabled, enable_cudnn_sdp = _switch("cudnn")
fp16_bf16_reduction_math_sdp_allowed, allow_fp16_bf16_reduction_math_sdp = _switch("fp16_bf16_reduction_math")


def is_flash_attention_available() -> bool:
    """Whether PyTorch was built with CUDA's flash attention: no (no CUDA here)."""
    return False


class SDPAParams:
    """The arguments of one attention call, for the ``can_use_*`` checks (``torch.backends.cuda.SDPAParams``)."""

    def __init__(self, query, key, value, attn_mask, dropout, is_causal, enable_gqa=False) -> None:
        self.query, self.key, self.value, self.attn_mask = query, key, value, attn_mask
        self.dropout, self.is_causal, self.enable_gqa = dropout, is_causal, enable_gqa


def can_use_flash_attention(params: SDPAParams, debug: bool = False) -> bool:
    """Whether a CUDA attention kernel (flash, memory-efficient, cuDNN) could run ``params``: never (no CUDA)."""
    return False


can_use_efficient_attention = can_use_cudnn_attention = can_use_flash_attention


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """PyTorch's deprecated context manager (``torch.nn.attention.sdpa_kernel`` replaces it): the switches
    are set inside the block and put back after it; eigengrad's attention kernel is the same either way."""
    import contextlib
    import warnings

    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated "
                  "signature.", FutureWarning, stacklevel=2)

    @contextlib.contextmanager
    def block():
        before = dict(_sdp)
        _sdp.update(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient))
        try:
            yield
        finally:
            _sdp.update(before)

    return block()


__all__ = ["matmul", "is_built", "preferred_linalg_library", "flash_sdp_enabled", "mem_efficient_sdp_enabled",
           "math_sdp_enabled", "enable_flash_sdp", "enable_mem_efficient_sdp", "enable_math_sdp", "cudnn_sdp_enabled",
           "sdp_kernel", "enable_cudnn_sdp", "allow_fp16_bf16_reduction_math_sdp",
           "fp16_bf16_reduction_math_sdp_allowed", "is_flash_attention_available", "SDPAParams",
           "can_use_flash_attention", "can_use_efficient_attention", "can_use_cudnn_attention"]
