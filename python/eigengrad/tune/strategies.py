"""Search strategies as ask/tell rounds: ``ask()`` gives the next round of trials (run in parallel when
there are workers), ``tell(results, scores)`` gives their outcome (``scores``: larger is better), and
``ask()`` returns None when the search is over.

GridSearch and RandomSearch are one round; CoarseToFine (random rounds, each narrowing every numeric
range around the best trial on that parameter's own scale) and the halving family (halving.py) adapt.
Random beats grid at the same budget when some parameters matter little (Bergstra & Bengio, "Random
Search for Hyper-Parameter Optimization", JMLR 2012): a grid tries only ``n^(1/d)`` values of each.
"""
from __future__ import annotations

import abc
import itertools
from typing import Sequence

import numpy as np

from eigengrad.tune.space import Choice, Dimension, check_space, sample
from eigengrad.tune.trial import TrialResult, TrialSpec


class Strategy(abc.ABC):
    """Base: a finite sequence of rounds of :class:`TrialSpec`."""

    @abc.abstractmethod
    def ask(self) -> list[TrialSpec] | None:
        """The next round of trials, or None when the search is over."""

    def tell(self, results: Sequence[TrialResult], scores: Sequence[float]) -> None:
        """Hear how the last round went (default: nothing to adapt)."""


class _OneRound(Strategy):
    def __init__(self) -> None:
        self._asked = False

    @abc.abstractmethod
    def configs(self) -> list[dict]:
        """The round's configurations."""

    def ask(self):
        if self._asked:
            return None
        self._asked = True
        return [TrialSpec(i, c) for i, c in enumerate(self.configs())]


class GridSearch(_OneRound):
    """Every combination of ``points`` values per numeric dimension (spaced on its own scale; an int or
    a dict name -> int) and every option of each Choice."""

    def __init__(self, space: dict, points: int | dict = 4) -> None:
        super().__init__()
        self.space, self.points = check_space(space), points

    def configs(self) -> list[dict]:
        axes = []
        for name, dim in self.space.items():
            n = self.points.get(name, 4) if isinstance(self.points, dict) else self.points
            axes.append(dim.grid(n) if isinstance(dim, Dimension) else [dim])
        return [dict(zip(self.space, values)) for values in itertools.product(*axes)]


class RandomSearch(_OneRound):
    """``n_trials`` independent samples of the space, from ``seed``."""

    def __init__(self, space: dict, n_trials: int, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"n_trials: expected a positive int, got {n_trials!r}")
        self.space, self.n_trials, self.seed = check_space(space), n_trials, seed

    def configs(self) -> list[dict]:
        rng = np.random.default_rng(self.seed)
        return [sample(self.space, rng) for _ in range(self.n_trials)]


class CoarseToFine(Strategy):
    """``rounds`` rounds of ``trials_per_round`` random trials; after each round every numeric range
    shrinks by ``shrink`` around the best trial so far (on the parameter's own scale, kept inside the
    original range) and each Choice keeps the options of the ``top_k`` best trials."""

    def __init__(self, space: dict, rounds: int = 4, trials_per_round: int = 16, shrink: float = 0.5,
                 top_k: int = 3, seed: int = 0) -> None:
        if not isinstance(rounds, int) or rounds < 1 or not isinstance(trials_per_round, int) or trials_per_round < 1:
            raise ValueError(f"rounds, trials_per_round: expected positive ints, got {rounds!r}, {trials_per_round!r}")
        if not 0 < shrink < 1:
            raise ValueError(f"shrink: expected a value in (0, 1), got {shrink!r}")
        self.space = check_space(space)
        self.rounds, self.per_round, self.shrink, self.top_k = rounds, trials_per_round, shrink, top_k
        self.rng = np.random.default_rng(seed)
        self.current = dict(space)          # the ranges of the next round
        self.boxes = [dict(space)]          # the ranges of each round, for the record
        self.round = 0
        self._seen: list[tuple[float, dict]] = []
        self._width = 1.0  # of every numeric range, on its unit scale (all shrink alike)

    def ask(self):
        if self.round >= self.rounds:
            return None
        start = self.round * self.per_round
        self.round += 1
        return [TrialSpec(start + i, sample(self.current, self.rng)) for i in range(self.per_round)]

    def tell(self, results, scores) -> None:
        self._seen += [(s, r.config) for s, r in zip(scores, results) if np.isfinite(s)]
        if not self._seen or self.round >= self.rounds:
            return
        ranked = sorted(self._seen, key=lambda t: -t[0])
        best = ranked[0][1]
        self._width *= self.shrink
        for name, dim in self.space.items():
            if isinstance(dim, Dimension) and dim.numeric:
                centre = dim.to_unit(best[name])
                lo = min(max(centre - self._width / 2, 0.0), 1.0 - self._width)
                self.current[name] = dim.narrowed(lo, lo + self._width)
            elif isinstance(dim, Choice):
                kept = [o for o in dim.options if any(c[name] == o for _, c in ranked[: self.top_k])]
                self.current[name] = Choice(kept)
        self.boxes.append(dict(self.current))
