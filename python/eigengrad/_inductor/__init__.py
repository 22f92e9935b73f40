"""``torch._inductor``: the module scripts tune PyTorch's compiler through (``torch._inductor.config``), so those
lines run. eigengrad has one compiler, with nothing of Inductor's to tune."""
from eigengrad._inductor import config  # noqa: F401

__all__ = ["config"]
