"""``torch._dynamo``'s knobs that scripts set next to ``torch.compile`` (``torch._dynamo.config.suppress_errors
= True``, ``cache_size_limit``, ...), so those lines run: eigengrad's compiler has no graph capture of its own
to configure (a step it cannot record falls back to eager mode, with a warning, whatever these say).
``reset`` and ``disable`` behave as ``eigengrad.compiler``'s."""
from __future__ import annotations

from types import SimpleNamespace

from eigengrad.compiler import disable, is_compiling, reset  # noqa: F401

config = SimpleNamespace(suppress_errors=False, cache_size_limit=8, accumulated_cache_size_limit=256,
                         verbose=False, capture_scalar_outputs=False, optimize_ddp=True,
                         automatic_dynamic_shapes=True, assume_static_by_default=True)

__all__ = ["config", "reset", "disable", "is_compiling"]
