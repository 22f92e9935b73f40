"""Samplers: which dataset indices an epoch visits, and in what order (``torch.utils.data``'s names).

Iterating a sampler yields Python ints, as in PyTorch; the DataLoader instead asks for the whole
epoch at once with :meth:`Sampler._draw` (one NumPy array, one draw from the generator), so that
batching never loops over samples in Python. Random draws come from eigengrad's counter-based
generator: a seed fixes every epoch's order.
"""
from __future__ import annotations

import itertools
import operator
from typing import Iterator, Sequence
from types import GenericAlias

import numpy as np

from eigengrad import random as _random
from eigengrad._errors import ArgumentError, TypeValueError


def non_negative_int(name: str, value, low: int = 0) -> int:
    """``value`` as an int >= ``low``, else a TypeError/ValueError naming ``name``."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}") from None
    if value < low:
        raise ValueError(f"{name}: expected {'a positive int' if low == 1 else f'an int >= {low}'}, got {value}")
    return value


def positive_int(name: str, value) -> int:
    return non_negative_int(name, value, low=1)


class Sampler:
    """Base class. A sampler a script writes defines ``__iter__`` (and ``__len__`` for ``len(loader)``), as
    PyTorch's; eigengrad's own define :meth:`_draw` (one epoch at once) and iterate through it."""

    # Dataset[Tuple[Tensor, int]], Sampler[int] in annotated code (PyTorch's are typing.Generic)
    __class_getitem__ = classmethod(GenericAlias)

    def __init__(self, data_source=None) -> None:
        pass  # PyTorch's signature: older subclasses call super().__init__(data_source)

    def _draw(self) -> np.ndarray:
        """One epoch's dataset indices, in visiting order, as an int64 array (one generator draw)."""
        if type(self).indices is not Sampler.indices:  # (a subclass written to the protocol's older name)
            return np.asarray(self.indices(), dtype=np.int64)
        if type(self).__iter__ is Sampler.__iter__:
            raise TypeError(f"{type(self).__name__}: a Sampler subclass must define __iter__, as PyTorch's "
                            "protocol says")
        return np.fromiter((operator.index(i) for i in self), dtype=np.int64)

    def indices(self) -> np.ndarray:
        """One epoch's dataset indices as an int64 array (``_draw``; SubsetRandomSampler's ``indices`` is the
        given sequence, as PyTorch's)."""
        return self._draw()

    def _draw_chunks(self, size: int) -> Iterator[np.ndarray]:
        """The epoch's indices in pieces of about ``size``, each drawn when asked for (an epoch too long to hold:
        minGPT's ``RandomSampler(ds, replacement=True, num_samples=int(1e10))``). Here: the whole epoch."""
        yield self._draw()

    def __iter__(self) -> Iterator[int]:
        # the whole epoch drawn now (a very long one: its first piece now, the others as they are reached)
        chunks = self._draw_chunks(EAGER_LIMIT)
        first = next(chunks, np.empty(0, dtype=np.int64))
        return itertools.chain(first.tolist(), (i for chunk in chunks for i in chunk.tolist()))


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def _draw(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order every epoch; with ``replacement``, ``num_samples`` independent uniform draws.
    Without replacement and ``num_samples > len(data_source)``, whole permutations follow each other
    (as PyTorch)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        if num_samples is not None and (not _is_int(num_samples) or num_samples <= 0):  # PyTorch's check, a ValueError
            raise (ValueError if _is_int(num_samples) else TypeValueError)(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self._num_samples = None if num_samples is None else operator.index(num_samples)
        if self.num_samples <= 0:  # an empty dataset (PyTorch's check: no sampler drawing from nothing)
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _draw(self) -> np.ndarray:
        return next(self._draw_chunks(self.num_samples))  # (num_samples >= 1, checked at construction)

    def _draw_chunks(self, size: int) -> Iterator[np.ndarray]:
        """The epoch's indices in pieces of ``size`` (the last shorter), each drawn when reached: independent
        uniform draws with replacement; else one permutation after another, a permutation cut by a piece's end
        going on in the next piece (PyTorch's order: ``num_samples // n`` whole permutations, then the head of
        one more)."""
        n, k = len(self.data_source), self.num_samples
        if n == 0:  # PyTorch fails too (a RuntimeError or a ZeroDivisionError): no index to draw
            raise ArgumentError(f"RandomSampler: cannot draw {k} samples from an empty data_source")
        rest = np.zeros(0, np.int64)  # the part of the last permutation not yet given out
        for start in range(0, k, size):
            m = min(size, k - start)
            if self.replacement:
                yield _uniform_ints(n, m, self.generator)
                continue
            parts = [rest] + [_random.permutation(n, self.generator) for _ in range(-(-(m - len(rest)) // n))]
            block = np.concatenate(parts)
            yield block[:m]
            rest = block[m:]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order every epoch."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices, self.generator = indices, generator  # (the given sequence, as PyTorch's: len(s.indices))

    def _draw(self) -> np.ndarray:
        given = np.asarray(getattr(self.indices, "_data", self.indices), dtype=np.int64)
        return given[_random.permutation(len(given), self.generator)]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``; without replacement by
    the exponential-keys method (Efraimidis & Spirakis 2006: the k smallest -log(u)/w). As PyTorch, the
    arguments are checked at construction (ValueError) and the weights' values only when drawing (its
    ``torch.multinomial`` errors, RuntimeError); without replacement, once the nonzero weights are used up
    the zero-weight indices follow (in index order), as PyTorch returns them rather than raising."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True, generator=None) -> None:
        # PyTorch's checks and messages: bools are rejected although they are ints
        if isinstance(num_samples, bool) or not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        self._weights, self.replacement, self.generator = w, replacement, generator
        self.num_samples = operator.index(num_samples)

    @property
    def weights(self):
        """The weights as a float64 tensor (PyTorch's attribute), sharing the sampler's array."""
        from eigengrad.tensor import Tensor

        return Tensor._wrap(self._weights)

    @weights.setter
    def weights(self, value) -> None:
        w = np.asarray(getattr(value, "_data", value), dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        self._weights = w

    def _draw(self) -> np.ndarray:
        w = self._weights
        _check_multinomial(w, self.num_samples, self.replacement)
        u = _uniforms(self.num_samples if self.replacement else w.size, self.generator)
        if self.replacement:
            cdf = np.cumsum(w)
            return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), w.size - 1).astype(np.int64)
        with np.errstate(divide="ignore"):
            keys = -np.log1p(-u) / w  # Exp(w) variates; zero weights give +inf (drawn last)
        return np.argsort(keys, kind="stable")[:self.num_samples].astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


def _is_int(value) -> bool:
    """An int or a NumPy integer (PyTorch accepts only int; a NumPy count is common and harmless)."""
    return isinstance(value, (int, np.integer))


def _check_multinomial(w: np.ndarray, n: int, replacement: bool) -> None:
    """``torch.multinomial``'s checks of 1-D weights, in its order and wording (ArgumentError: PyTorch's
    RuntimeError, and a ValueError). PyTorch checks all at once on its fast path (no replacement, or one
    draw) and entry by entry in its replacement kernel, hence the two sets of messages."""
    if not replacement and n > w.size:
        raise ArgumentError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if not replacement or n == 1:
        if not np.all(np.isfinite(w) & (w >= 0)):
            raise ArgumentError("probability tensor contains either `inf`, `nan` or element < 0")
    else:
        bad = ~(w >= 0) | ~np.isfinite(w)  # the first bad entry decides the message, as the kernel's loop
        if bad.any():
            first = w[np.argmax(bad)]
            raise ArgumentError("invalid multinomial distribution (encountering probability entry < 0)"
                                if not first >= 0 else
                                "invalid multinomial distribution (encountering probability entry = infinity or NaN)")
    if not w.sum() > 0:  # empty weights too (PyTorch's message for them varies by path)
        raise ArgumentError("invalid multinomial distribution (sum of probabilities <= 0)")


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        # PyTorch's checks and messages (ValueErrors; a bool is not a batch size)
        if isinstance(batch_size, bool) or not _is_int(batch_size) or batch_size <= 0:
            raise (ValueError if _is_int(batch_size) else TypeValueError)(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, operator.index(batch_size), bool(drop_last)

    def indices(self) -> np.ndarray:
        """The epoch's indices in batch order (without those ``drop_last`` drops)."""
        batches = self.batches()
        return np.concatenate(batches) if batches else np.empty(0, dtype=np.int64)

    def batches(self) -> list[np.ndarray] | Iterator[np.ndarray]:
        """The epoch's batches as index arrays (a subclass's own ``__iter__`` is followed); an epoch of more than
        EAGER_LIMIT indices as an iterator that draws them a piece at a time."""
        if type(self).__iter__ is not BatchSampler.__iter__:
            return [np.asarray(b, dtype=np.int64) for b in self]
        if draws_indices(self.sampler) and len(self.sampler) > EAGER_LIMIT:
            return self._lazy_batches()
        idx = epoch_indices(self.sampler)
        stop = len(idx) - len(idx) % self.batch_size if self.drop_last else len(idx)
        return [idx[b:b + self.batch_size] for b in range(0, stop, self.batch_size)]

    def _lazy_batches(self) -> Iterator[np.ndarray]:
        carry = np.empty(0, dtype=np.int64)
        for chunk in self.sampler._draw_chunks(EAGER_LIMIT // 4):
            buf = np.concatenate([carry, chunk])
            full = len(buf) - len(buf) % self.batch_size
            for b in range(0, full, self.batch_size):
                yield buf[b:b + self.batch_size]
            carry = buf[full:]
        if len(carry) and not self.drop_last:
            yield carry

    def __iter__(self):
        return (b.tolist() for b in self.batches())

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# An epoch of more indices than this is drawn a piece at a time as it is iterated (4 M int64: 32 MB), not at once
EAGER_LIMIT = 1 << 22


def epoch_indices(sampler) -> np.ndarray:
    """One epoch of ``sampler`` as an int64 array (any iterable of ints works, eigengrad's samplers fast)."""
    if draws_indices(sampler):
        return sampler._draw()
    return np.fromiter((operator.index(i) for i in sampler), dtype=np.int64)


def draws_indices(sampler) -> bool:
    """True when iterating ``sampler`` is its :meth:`Sampler._draw` (one draw, one array): eigengrad's
    index samplers, and subclasses that did not replace ``__iter__`` (one that did is iterated, so that
    its own order is the one used)."""
    return isinstance(sampler, Sampler) and type(sampler).__iter__ is Sampler.__iter__


def _uniforms(k: int, generator) -> np.ndarray:
    out = np.empty(k, dtype=np.float64)
    return _random.uniform_(out, 0.0, 1.0, generator=generator)


def _uniform_ints(n: int, k: int, generator) -> np.ndarray:
    return np.minimum((_uniforms(k, generator) * n).astype(np.int64), n - 1)
