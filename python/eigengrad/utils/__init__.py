"""Utilities (progress bars, state trees, plotting, hooks). ``eigengrad.utils.data`` is
``eigengrad.data``, at PyTorch's path ``torch.utils.data``."""


def __getattr__(name: str):
    if name == "data":
        import eigengrad.data

        return eigengrad.data
    if name in ("checkpoint", "hooks"):  # torch.utils.checkpoint after a bare `import torch`, as PyTorch's
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
