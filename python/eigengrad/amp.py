"""``torch.amp``: ``autocast`` and ``GradScaler`` as mixed-precision scripts use them.

- ``autocast``: eigengrad computes in the tensors' own dtypes (float32/float64; it has no float16/bfloat16
  kernels), so the context changes nothing. Entered enabled, it says so once (a ``logging`` warning): the
  results are then float32 numbers, where PyTorch's would be rounded to the lower precision.
- ``GradScaler``: PyTorch's algorithm (scale the loss, unscale the gradients before the step, skip a step
  whose gradients are not finite, grow the scale after ``growth_interval`` clean steps, back off on an
  overflow), so scripts behave the same, including skipped steps. ``enabled=False`` passes everything through.
"""
from __future__ import annotations

import contextvars
import logging
import math

import numpy as np

_log = logging.getLogger(__name__)
_warned = [False]


# The CPU autocast state a script can query (torch.is_autocast_enabled("cpu"), get_autocast_dtype): per
# thread and per context, as PyTorch's thread-local state; (enabled, dtype).
_STATE: contextvars.ContextVar = contextvars.ContextVar("eigengrad_autocast", default=(False, None))


def _default_dtype():
    import eigengrad

    return eigengrad.bfloat16  # PyTorch's CPU autocast default


class autocast:  # noqa: N801  (PyTorch's name; also a decorator)
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` runs the block unchanged,
    and the autocast queries (``is_autocast_enabled("cpu")``, ``get_autocast_dtype("cpu")``) report it."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled=None) -> None:
        from eigengrad._device import check_device

        check_device(device_type)
        self.device = "cpu"
        self.enabled = bool(enabled)
        self.fast_dtype = _default_dtype() if dtype is None else dtype
        self._tokens: list = []

    def __enter__(self):
        if self.enabled and not _warned[0]:
            _warned[0] = True
            _log.warning("autocast: eigengrad has no float16/bfloat16 kernels; the block runs in the tensors' own "
                         "dtypes (float32 stays float32)")
        self._tokens.append(_STATE.set((self.enabled, self.fast_dtype)))
        return self

    def __exit__(self, *exc) -> bool:
        _STATE.reset(self._tokens.pop())
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        wrapped.__name__, wrapped.__doc__ = getattr(fn, "__name__", "autocast"), getattr(fn, "__doc__", None)
        return wrapped


def is_autocast_available(device_type: str) -> bool:
    return device_type == "cpu"


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """``torch.is_autocast_enabled``: without a device PyTorch asks about CUDA (never here); "cpu" is True
    inside an enabled ``autocast("cpu")`` block."""
    return device_type == "cpu" and _STATE.get()[0]


def get_autocast_dtype(device_type: str):
    """The dtype of the innermost ``autocast(device_type)`` block (PyTorch's default: bfloat16 on the CPU)."""
    from eigengrad._device import check_device

    check_device(device_type)
    return _STATE.get()[1] or _default_dtype()


def is_autocast_cpu_enabled() -> bool:
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


class GradScaler:
    """Loss scaling with PyTorch's defaults and state_dict (see the module doc)."""

    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if growth_factor <= 1.0:
            raise ValueError(f"growth_factor: expected a number > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"backoff_factor: expected a number in (0, 1), got {backoff_factor}")
        self._enabled = bool(enabled)
        self._scale, self._growth_factor, self._backoff_factor = float(init_scale), growth_factor, backoff_factor
        self._growth_interval, self._growth_tracker = int(growth_interval), 0
        self._unscaled, self._found_inf = set(), {}

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """``outputs`` (a tensor, or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale (once per step) and note whether any is not finite."""
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        inv, found = 1.0 / self._scale, False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                found = found or not bool(np.all(np.isfinite(g)))
                np.multiply(g, inv, out=g, casting="unsafe")
        self._unscaled.add(id(optimizer))
        self._found_inf[id(optimizer)] = found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless its unscaled gradients hold an inf or NaN (then the step is skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._found_inf.get(id(optimizer)):
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Back off after a skipped step; grow after ``growth_interval`` steps in a row without one."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        elif any(self._found_inf.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                grown = self._scale * self._growth_factor
                self._scale = grown if math.isfinite(grown) else self._scale
                self._growth_tracker = 0
        self._unscaled.clear()
        self._found_inf.clear()

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
