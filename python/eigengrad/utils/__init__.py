"""Utilities (progress bars, state trees, plotting, hooks). ``eigengrad.utils.data`` is
``eigengrad.data``, at PyTorch's path ``torch.utils.data``."""


def __getattr__(name: str):
    if name == "data":
        import eigengrad.data

        return eigengrad.data
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
