"""``torch.cpu``: the probes scripts call for the CPU device (it is always there: eigengrad runs on it), and
``torch.cpu.amp`` (the older spelling of ``torch.amp`` for the CPU)."""
from __future__ import annotations

from eigengrad._device import check_device


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Accepted for the CPU (there is one); another device is refused as every ``device=`` argument is."""
    check_device(device)


def synchronize(device=None) -> None:
    """No-op: eigengrad's kernels return when their work is done."""
    if device is not None:
        check_device(device)


def __getattr__(name: str):
    if name == "amp":
        import importlib

        return importlib.import_module(f"{__name__}.amp")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
