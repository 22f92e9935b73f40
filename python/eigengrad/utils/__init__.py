"""Utilities (progress bars, state trees, plotting, hooks). ``eigengrad.utils.data`` is
``eigengrad.data``, at PyTorch's path ``torch.utils.data`` (the package ``utils/data`` registers it)."""


def __getattr__(name: str):
    if name in ("data", "checkpoint", "hooks"):  # torch.utils.data after a bare `import torch`, as PyTorch's
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
