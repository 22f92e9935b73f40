"""Seeded random numbers from a counter-based generator (Philox4x32-10, run in C++).

A :class:`Generator` is just ``(seed, offset)``: a draw of ``n`` numbers reads Philox blocks
``offset .. offset + n - 1`` under key ``seed`` and advances ``offset`` by ``n``. Element ``i`` of a
draw depends only on ``(seed, offset + i)``, so results never depend on the number of threads.
"""
from __future__ import annotations

import contextlib
import operator
import os

import numpy as np

from eigengrad import _kernels, _trace
from eigengrad._errors import ArgumentError, argument_errors

_MASK64 = (1 << 64) - 1
# torch.manual_seed's range: a seed is read as an unsigned 64-bit int, or failing that as a signed one
# (so -1 is 2**64 - 1); anything else is "Overflow when unpacking long long".
SEED_MIN, SEED_MAX = -(1 << 63), (1 << 64) - 1
DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed, so an unseeded run is still repeatable
# the innermost func.vmap's watcher, called with the generator before each draw (see mapped_draws)
_draw_watchers: list = []
VMAP_RANDOMNESS = ("error", "different", "same")


class Generator:
    """A seeded stream of random numbers, like ``torch.Generator``."""

    __slots__ = ("_seed", "_offset")

    def __init__(self, seed: int | None = None, device=None) -> None:
        from eigengrad._device import as_device, is_device_like

        if isinstance(seed, str) or (seed is not None and is_device_like(seed) and not isinstance(seed, int)):
            seed, device = None, seed  # torch.Generator('cpu'): PyTorch's one positional argument is the device
        as_device(device)  # the CPU ('cpu', device('cpu'), None); another device raises eigengrad's CPU-only error
        self._seed = DEFAULT_SEED
        self._offset = 0
        if seed is not None:
            self.manual_seed(seed)

    @property
    def device(self):
        """The generator's device (``torch.Generator().device``): the CPU."""
        from eigengrad._device import as_device

        return as_device("cpu")

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``: an int in [-2**63, 2**64 - 1] (PyTorch's range; a negative seed
        is taken modulo 2**64, as PyTorch does)."""
        try:
            seed = operator.index(seed)
        except TypeError:
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}") from None
        if not SEED_MIN <= seed <= SEED_MAX:
            raise ValueError(f"seed: expected an int in [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {seed} "
                             "(PyTorch: Overflow when unpacking long long)")
        self._seed = seed & _MASK64
        self._offset = 0
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy and return the seed."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little"))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (PyTorch's ByteTensor; ``.clone()``, ``torch.save`` and safetensors
        work): the seed and the stream offset, 8 little-endian bytes each."""
        from eigengrad.tensor import Tensor

        return Tensor._wrap(np.array([self._seed, self._offset], dtype="<u8").view(np.uint8))

    def set_state(self, new_state) -> "Generator":
        """Restore a state from :meth:`get_state` (or the ``[seed, offset]`` integer array of older
        checkpoints)."""
        state = np.asarray(getattr(new_state, "_data", new_state))
        if state.dtype == np.uint8 and state.shape == (16,):
            state = np.ascontiguousarray(state).view("<u8")
        elif state.shape != (2,) or state.dtype.kind not in "ui":
            raise ValueError(f"new_state: expected a uint8 tensor of 16 bytes from get_state() (or an integer array "
                             f"[seed, offset]), got {state.dtype} {state.shape}")
        self._seed, self._offset = int(state[0]) & _MASK64, int(state[1]) & _MASK64
        return self

    def _advance(self, n: int) -> int:
        """Reserve ``n`` blocks of the stream; returns the first block's offset."""
        if _draw_watchers:
            _draw_watchers[-1](self)
        start = self._offset
        self._offset = (self._offset + n) & _MASK64
        if _trace.ACTIVE[0] is not None:
            _trace.draw(self, n, start)
        return start

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed}, offset={self._offset})"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed eigengrad's default generator (``torch.manual_seed``); returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor (``torch.get_rng_state``)."""
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str = "cuda"):
    """Within the block, draws from the default generator do not change what is drawn after it
    (``torch.random.fork_rng``): its state is saved on entry and restored on exit (eigengrad has only the
    CPU generator, so ``devices`` and ``device_type`` are accepted and unused)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


@contextlib.contextmanager
def mapped_draws(randomness: str):
    """The random draws of func.vmap's loop over the mapped indices, under PyTorch's ``randomness`` modes:
    'error' refuses any draw (PyTorch's error, raised at the draw), 'different' lets each index draw its own
    numbers, 'same' gives every index the first index's numbers (each generator drawn from is rewound, before
    each later index, to where it stood before the first draw). Yields ``rewind()``, called before each index."""
    starts: dict = {}  # id(generator) -> (generator, its offset before its first draw)

    def watch(gen: Generator) -> None:
        if randomness == "error":
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                               "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                               "out of vmap")
        if randomness == "same":
            starts.setdefault(id(gen), (gen, gen._offset))

    def rewind() -> None:
        for gen, offset in starts.values():
            gen._offset = offset

    _draw_watchers.append(watch)
    try:
        yield rewind
    finally:
        _draw_watchers.remove(watch)


def _generator(generator: Generator | None) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator: expected an eigengrad.Generator or None, got {type(generator).__name__}")
    return generator


@argument_errors  # low > high: PyTorch's RuntimeError (ArgumentError is also the kernel's ValueError)
def uniform_(out: np.ndarray, low: float = 0.0, high: float = 1.0, generator: Generator | None = None) -> np.ndarray:
    """Fill the contiguous float array ``out`` in place with U[low, high) draws."""
    if low > high:  # PyTorch's message (the kernel's own check also refuses NaN)
        raise ArgumentError(f"uniform_ expects to return a [from, to) range, but found from={float(low):g} > "
                            f"to={float(high):g}")
    g = _generator(generator)
    _kernels.uniform_fill(out, g.initial_seed(), g._advance(out.size), float(low), float(high))
    return out


@argument_errors  # std < 0: PyTorch's RuntimeError, as above
def normal_(out: np.ndarray, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None) -> np.ndarray:
    """Fill the contiguous float array ``out`` in place with N(mean, std^2) draws."""
    g = _generator(generator)
    _kernels.normal_fill(out, g.initial_seed(), g._advance(out.size), float(mean), float(std))
    return out


def permutation(n: int, generator: Generator | None = None) -> np.ndarray:
    """A random permutation of ``0 .. n-1`` as an int64 array."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"n: expected n >= 0, got {n}")
    g = _generator(generator)
    return _kernels.randperm(n, g.initial_seed(), g._advance(max(n - 1, 0)))
