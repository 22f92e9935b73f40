"""Search spaces: a plain dict mapping names to dimensions (or constants).

Each numeric dimension has its own scale, and everything a search does with it (sampling, grids,
narrowing the range, plotting) happens on that scale, through the map to the unit interval
``to_unit``/``from_unit``:

    Uniform(a, b)              linear
    LogUniform(a, b)           log v uniform: learning rates, weight decay (a quarter of the samples of
                               LogUniform(1e-4, 1e-1) in each decade)
    OneMinusLogUniform(a, b)   log(1 - v) uniform: momentum and Adam's betas, where 0.9 -> 0.99 matters
                               as much as 0.99 -> 0.999 (Bergstra & Bengio 2012; the deep-learning
                               course's advice)
    IntUniform(a, b, log=False) integers in [a, b], on a linear or log scale
    Choice(options)            categorical

    space = {"lr": LogUniform(1e-4, 1e-1), "momentum": OneMinusLogUniform(0.9, 0.999),
             "hidden": Choice([64, 128, 256]), "epochs": 10}
"""
from __future__ import annotations

import abc
import math
from typing import Any, Sequence

import numpy as np


class Dimension(abc.ABC):
    """One hyperparameter's values: how to sample them and how to lay a grid over them."""

    numeric = False

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""

    @abc.abstractmethod
    def grid(self, n: int) -> list:
        """About ``n`` values covering the dimension."""


class NumericDimension(Dimension):
    """A numeric range with a map to [0, 1] on its own scale, through which it samples, grids and narrows."""

    numeric = True

    @abc.abstractmethod
    def to_unit(self, value) -> float:
        """``value``'s position in [0, 1] on the dimension's scale."""

    @abc.abstractmethod
    def from_unit(self, u: float):
        """The value at position ``u`` in [0, 1]."""

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(float(rng.random()))

    def grid(self, n: int) -> list:
        """``n`` points evenly spaced on the dimension's scale, ends included."""
        if n == 1:
            return [self.from_unit(0.5)]
        return [self.from_unit(i / (n - 1)) for i in range(n)]

    def narrowed(self, lo: float, hi: float) -> "NumericDimension":
        """The same kind of dimension over the part ``[lo, hi]`` (unit coordinates) of this one."""
        return type(self)(self.from_unit(lo), self.from_unit(hi))


class _Interval(NumericDimension):
    scale = "linear"

    def __init__(self, low: float, high: float) -> None:
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float))) or not low < high:
            raise ValueError(f"low, high: expected numbers with low < high, got {low!r}, {high!r}")
        self.low, self.high = float(low), float(high)
        a, b = self._forward(self.low), self._forward(self.high)
        self._a, self._b = min(a, b), max(a, b)

    def _forward(self, v: float) -> float:
        return v

    def _inverse(self, t: float) -> float:
        return t

    def to_unit(self, value) -> float:
        return (self._forward(float(value)) - self._a) / (self._b - self._a)

    def from_unit(self, u: float) -> float:
        if u <= 0.0 or u >= 1.0:  # the ends exactly, not through exp(log(.))
            return self.low if u <= 0.0 else self.high
        return min(max(self._inverse(self._a + u * (self._b - self._a)), self.low), self.high)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and (self.low, self.high) == (other.low, other.high)


class Uniform(_Interval):
    """Uniform on ``[low, high]``."""


class LogUniform(_Interval):
    """``log v`` uniform on ``[log low, log high]`` (``0 < low < high``)."""

    scale = "log"

    def __init__(self, low: float, high: float) -> None:
        if not (isinstance(low, (int, float)) and low > 0):
            raise ValueError(f"low: LogUniform needs 0 < low < high, got low={low!r}")
        super().__init__(low, high)

    def _forward(self, v):
        return math.log(v)

    def _inverse(self, t):
        return math.exp(t)


class OneMinusLogUniform(_Interval):
    """``log(1 - v)`` uniform (``0 <= low < high < 1``): ``OneMinusLogUniform(0.9, 0.999)`` puts half of
    its samples above 0.99. Unit coordinates increase with ``v``."""

    scale = "one_minus_log"

    def __init__(self, low: float, high: float) -> None:
        if not (isinstance(high, (int, float)) and high < 1 and isinstance(low, (int, float)) and low >= 0):
            raise ValueError(f"low, high: OneMinusLogUniform needs 0 <= low < high < 1, got {low!r}, {high!r}")
        super().__init__(low, high)

    def _forward(self, v):
        return -math.log1p(-v)

    def _inverse(self, t):
        return -math.expm1(-t)


class IntUniform(NumericDimension):
    """Integers in ``[low, high]`` (both included), uniform on a linear or (``log=True``) log scale."""

    def __init__(self, low: int, high: int, log: bool = False) -> None:
        if not (isinstance(low, int) and isinstance(high, int)) or not low < high or (log and low < 1):
            raise ValueError(f"low, high: expected ints with low < high (and low >= 1 for log), got {low!r}, {high!r}")
        self.low, self.high, self.log = low, high, log
        self.scale = "log" if log else "linear"
        # half a unit beyond each end, so that rounding gives the end values their full share
        self._inner = (LogUniform if log else Uniform)(low - 0.5, high + 0.5)

    def to_unit(self, value) -> float:
        return min(max(self._inner.to_unit(value), 0.0), 1.0)

    def from_unit(self, u: float) -> int:
        return int(min(max(round(self._inner.from_unit(u)), self.low), self.high))

    def grid(self, n: int) -> list:
        return sorted(set(super().grid(min(n, self.high - self.low + 1))))

    def narrowed(self, lo: float, hi: float) -> "IntUniform":
        a, b = self.from_unit(lo), self.from_unit(hi)
        return IntUniform(a, max(b, a + 1), self.log) if a < self.high else IntUniform(self.high - 1, self.high, self.log)

    def __repr__(self) -> str:
        return f"IntUniform({self.low}, {self.high}{', log=True' if self.log else ''})"

    def __eq__(self, other) -> bool:
        return isinstance(other, IntUniform) and (self.low, self.high, self.log) == (other.low, other.high, other.log)


class Choice(Dimension):
    """One of ``options`` (uniformly)."""

    scale = "categorical"

    def __init__(self, options: Sequence) -> None:
        options = list(options)
        if not options:
            raise ValueError("options: Choice needs at least one option, got none")
        self.options = options

    def sample(self, rng: np.random.Generator):
        return self.options[int(rng.integers(len(self.options)))]

    def grid(self, n: int) -> list:
        return list(self.options)

    def __repr__(self) -> str:
        return f"Choice({self.options!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Choice) and self.options == other.options


def check_space(space: dict) -> dict:
    """``space`` itself, after checking it is a dict with string keys."""
    if not isinstance(space, dict) or not all(isinstance(k, str) for k in space):
        raise TypeError(f"space: expected a dict of name -> Dimension or constant, got {type(space).__name__}")
    return space


def sample(space: dict, rng: np.random.Generator) -> dict:
    """One configuration: every dimension sampled (in the dict's order), constants as they are."""
    return {k: (v.sample(rng) if isinstance(v, Dimension) else v) for k, v in check_space(space).items()}
