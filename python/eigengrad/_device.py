"""Devices as PyTorch names them: ``eigengrad.device('cpu')``, the default device, and the one check that
every ``device=`` argument goes through.

eigengrad computes on the CPU. A ``device`` object of any type can be made (as ``torch.device('cuda')``
can be made on a machine without CUDA, so ``device = eg.device('cuda' if eg.cuda.is_available() else
'cpu')`` runs), but using a non-CPU device for a tensor, a factory or a layer raises a ``RuntimeError``
that says eigengrad runs on the CPU (PyTorch raises when the device's backend is missing).
"""
from __future__ import annotations

import re

from eigengrad._errors import ArgumentAssertionError, ArgumentError

# PyTorch's device types, in the order of its error message.
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_DEVICE_STRING = re.compile(r"([a-z_]+)(?::(\d+))?")


class device:
    """A device (``torch.device``): ``device('cpu')``, ``device('cpu', 0)``, ``device('cuda:1')``,
    ``device(type='cpu', index=None)``, or a copy of another device. ``str`` is ``'cpu'`` or ``'cpu:0'``;
    equality and hashing compare the type and the index."""

    __slots__ = ("_type", "_index")

    def __init__(self, type=None, index=None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        if not isinstance(type, str):
            raise TypeError(f"device: expected a device string such as 'cpu', got {type!r}")
        dev_type, dev_index = _parse(type)
        if index is not None:
            if dev_index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: "
                                   f"{type}")
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError(f"device: index must be an int, got {index!r}")
            if index < 0:
                raise RuntimeError("Device index must not be negative")
            dev_index = index
        self._type, self._index = dev_type, dev_index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __reduce__(self):
        return device, (self._type, self._index)

    def __enter__(self):
        """``with eg.device('cpu'):`` (as torch, the default device inside the block): only the CPU exists."""
        as_device(self)
        return self

    def __exit__(self, *exc) -> bool:
        return False


def _parse(text: str) -> tuple[str, int | None]:
    if not text:
        raise RuntimeError("Device string must not be empty")
    m = _DEVICE_STRING.fullmatch(text)
    if m is None:
        if text.split(":")[0] not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: "
                               f"{text}")
        raise RuntimeError(f"Invalid device string: '{text}'")
    if m.group(1) not in DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {text}")
    return m.group(1), None if m.group(2) is None else int(m.group(2))


CPU = device("cpu")


def cpu_only_error(dev) -> ArgumentError:
    """PyTorch raises RuntimeError for a device whose backend is missing (AssertionError "Torch not compiled with
    CUDA enabled" from ``.cuda()``, ``torch.cuda.get_device_properties``, ...); eigengrad's rule for a bad
    argument is ValueError: the error is all three (``_errors.ArgumentAssertionError``)."""
    return ArgumentAssertionError(
        f"device: eigengrad runs on the CPU only, so device '{dev}' is not available (eigengrad.cuda.is_available() "
        "and eigengrad.accelerator.is_available() are False); use 'cpu' or leave device unset")


def as_device(dev) -> device:
    """The CPU device for any spelling of it (None, 'cpu', 'cpu:0', device('cpu'); 'meta' too, see _note_meta); a
    RuntimeError saying that eigengrad runs on the CPU for any other device; a TypeError for what is not a device."""
    if dev is None:
        return CPU
    if isinstance(dev, device):
        d = dev
    elif isinstance(dev, str):
        d = device(dev)
    elif isinstance(dev, int) and not isinstance(dev, bool):
        raise cpu_only_error(f"cuda:{dev}" if dev >= 0 else dev)
    else:
        raise TypeError(f"device: expected a device such as 'cpu' or eigengrad.device('cpu'), got {dev!r}")
    if d._type == "meta":
        _note_meta()
        return CPU
    if d._type != "cpu":
        raise cpu_only_error(d)
    return CPU if d._index is None else d


_META_NOTED = [False]


def _note_meta() -> None:
    """'meta' (PyTorch's shape-only tensors, used to build a model before ``to_empty`` and its own init, or as
    the skeleton of ``torch.func.functional_call``) is taken as the CPU: the tensors are real and initialised,
    so those scripts run; said once in the log, since a very large model then really takes its memory."""
    if not _META_NOTED[0]:
        import logging

        _META_NOTED[0] = True
        logging.getLogger("eigengrad").info("device 'meta': eigengrad has no meta tensors; the tensors are made in "
                                            "CPU memory, initialised (to_empty keeps them)")


def check_device(dev) -> None:
    """Refuse a non-CPU ``device=`` argument of a factory or a layer (see :func:`as_device`)."""
    if dev is not None and dev is not CPU:
        as_device(dev)


def is_device_like(arg) -> bool:
    """Whether a positional argument of ``Tensor.to``/``Module.to`` names a device (not a dtype)."""
    return isinstance(arg, (device, str)) or (isinstance(arg, int) and not isinstance(arg, bool))


def get_default_device() -> device:
    """The device factories use when ``device`` is not given (``torch.get_default_device``): the CPU."""
    return CPU


def set_default_device(dev) -> None:
    """``torch.set_default_device``: None or the CPU is accepted (nothing changes); any other device raises,
    as eigengrad runs on the CPU."""
    as_device(dev)


def get_device_module(device=None):
    """``torch.get_device_module``: the module of a device type (``eigengrad.cpu``, or ``eigengrad.cuda`` whose
    probes say there is no GPU); None means the CPU here."""
    import importlib

    kind = "cpu" if device is None else getattr(device, "type", device)
    if not isinstance(kind, str):
        raise TypeError(f"device: expected a device or a string, got {type(device).__name__}")
    kind = kind.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'torch.{kind}'.")
    return importlib.import_module(f"eigengrad.{kind}")
