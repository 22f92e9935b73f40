"""``torch.amp``: ``autocast`` and ``GradScaler`` as mixed-precision scripts use them.

- ``autocast``: eigengrad computes in the tensors' own dtypes (float32/float64; it has no float16/bfloat16
  kernels), so the context changes nothing. Entered enabled, it says so once (a ``logging`` warning): the
  results are then float32 numbers, where PyTorch's would be rounded to the lower precision.
- ``GradScaler``: PyTorch's algorithm (scale the loss, unscale the gradients before the step, skip a step
  whose gradients are not finite, grow the scale after ``growth_interval`` clean steps, back off on an
  overflow), so scripts behave the same, including skipped steps. ``enabled=False`` passes everything through,
  and so does the default device, "cuda" (PyTorch's, with its warning that CUDA is not available): a GPU
  script's ``GradScaler()`` scales nothing, as PyTorch's does on a CPU-only machine; ``GradScaler("cpu")``
  scales.
"""
from __future__ import annotations

import contextvars
import functools
import logging
import math
import warnings

import numpy as np

from eigengrad._errors import user_stacklevel

_log = logging.getLogger(__name__)
_warned = [False]


# The autocast state a script can query (torch.is_autocast_enabled(device_type), get_autocast_dtype): per thread
# and per context, as PyTorch's thread-local state; a mapping device type -> (enabled, dtype), replaced (never
# mutated) by each block.
_STATE: contextvars.ContextVar = contextvars.ContextVar("eigengrad_autocast", default={})

# The device types PyTorch's autocast knows (``torch.amp.is_autocast_available``): a block for one of them other
# than the CPU changes nothing here (eigengrad computes on the CPU), as it changes nothing for CPU tensors there.
_AUTOCAST_TYPES = ("cpu", "cuda", "xpu", "ipu", "hpu", "xla", "mps", "mtia", "maia", "privateuseone")


def _default_dtype(kind: str = "cpu"):
    import eigengrad

    return eigengrad.bfloat16 if kind == "cpu" else eigengrad.float16  # PyTorch's defaults


def _autocast_type(device_type) -> str:
    """The device type of ``device_type`` ('cuda:0' -> 'cuda'); PyTorch's RuntimeError for an unknown string, and
    for a device type autocast does not know ('meta')."""
    from eigengrad._device import device

    kind = device(device_type).type
    if kind not in _AUTOCAST_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return kind


class autocast:  # noqa: N801  (PyTorch's name; also a decorator)
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` runs the block unchanged,
    and the autocast queries (``is_autocast_enabled("cpu")``, ``get_autocast_dtype("cpu")``) report it.

    As PyTorch's: ``device_type`` is a string; "cuda" is disabled with PyTorch's warning (there is no CUDA, so
    ``autocast("cuda", enabled=use_amp)`` runs as on a CPU-only PyTorch); another device type's block changes
    nothing; a ``dtype`` other than float16/bfloat16 disables the block with PyTorch's warning."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled=None) -> None:
        import warnings

        import eigengrad

        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self._kind = _autocast_type(device_type)
        self.device = device_type
        self.fast_dtype = _STATE.get().get(self._kind, (False, None))[1] or _default_dtype(self._kind) \
            if dtype is None else dtype
        if enabled:
            if self._kind == "cuda":
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
                enabled = False
            elif self.fast_dtype not in (eigengrad.bfloat16, eigengrad.float16):
                name = device_type.upper()
                warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"{name} Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                              stacklevel=2)
                enabled = False
        self.enabled = self._enabled = bool(enabled)
        self._tokens: list = []

    def __enter__(self):
        if self.enabled and self._kind == "cpu" and not _warned[0]:
            _warned[0] = True
            _log.warning("autocast: eigengrad has no float16/bfloat16 kernels; the block runs in the tensors' own "
                         "dtypes (float32 stays float32)")
        self._tokens.append(_STATE.set({**_STATE.get(), self._kind: (self.enabled, self.fast_dtype)}))
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
    """Whether autocast knows ``device_type`` (PyTorch's answer, which does not ask whether the device exists)."""
    from eigengrad._device import device

    return device(device_type).type in _AUTOCAST_TYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """``torch.is_autocast_enabled``: without a device PyTorch asks about CUDA (never enabled here: its blocks
    are disabled); with one, True inside an enabled ``autocast(device_type)`` block."""
    kind = "cuda" if device_type is None else _autocast_type(device_type)
    return _STATE.get().get(kind, (False, None))[0]


def get_autocast_dtype(device_type: str):
    """The dtype of the innermost ``autocast(device_type)`` block (PyTorch's defaults: bfloat16 on the CPU,
    float16 on the other devices)."""
    kind = _autocast_type(device_type)
    return _STATE.get().get(kind, (False, None))[1] or _default_dtype(kind)


def is_autocast_cpu_enabled() -> bool:
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """``torch.amp.custom_fwd``: decorates an ``autograd.Function``'s forward. Inside an enabled autocast block,
    with ``cast_inputs``, the forward runs with autocast off and its floating tensor arguments cast to
    ``cast_inputs``; ``custom_bwd`` then runs the backward in the forward's autocast state (PyTorch's rule)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx, on = args[0], is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        ctx._fwd_used_autocast = on and cast_inputs is None
        if cast_inputs is None or not on:
            return fwd(*args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(*_cast(args, cast_inputs), **_cast(kwargs, cast_inputs))
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """``torch.amp.custom_bwd``: the backward runs in the autocast state its ``custom_fwd`` forward ran in."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type, enabled=getattr(ctx, "_fwd_used_autocast", False),
                      dtype=getattr(ctx, "_dtype", None)):
            return bwd(*args, **kwargs)
    return decorate_bwd


def _cast(value, dtype):
    """Floating tensors in ``value`` (nested lists, tuples, dicts) cast to ``dtype``."""
    from eigengrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def _f32(x: float) -> float:
    """``x`` rounded to float32 (inf past its range): PyTorch keeps the scale in a float32 tensor, so the scale
    stops growing at 2**127 (2**128 is inf in float32) instead of overflowing the scaled loss."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


class GradScaler:
    """Loss scaling with PyTorch's defaults and state_dict (see the module doc); the scale takes float32's
    values, as PyTorch's float32 tensor does."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled and str(device).split(":")[0] == "cuda":  # PyTorch's default device: a GPU script's scaler
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.", UserWarning,
                          stacklevel=user_stacklevel())
            enabled = False
        if growth_factor <= 1.0:
            raise ValueError(f"growth_factor: expected a number > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"backoff_factor: expected a number in (0, 1), got {backoff_factor}")
        self._enabled = bool(enabled)
        self._init_scale = init_scale
        self._scale, self._growth_factor, self._backoff_factor = _f32(init_scale), growth_factor, backoff_factor
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
            self._scale = _f32(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        elif any(self._found_inf.values()):
            self._scale = _f32(self._scale * self._backoff_factor)
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                grown = _f32(self._scale * self._growth_factor)
                self._scale = grown if math.isfinite(grown) else self._scale
                self._growth_tracker = 0
        self._unscaled.clear()
        self._found_inf.clear()

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_init_scale(self) -> float:
        return self._init_scale

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

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
        self._scale = _f32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
