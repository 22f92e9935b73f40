"""Dynamic resource allocation: successive halving (Jamieson & Talwalkar 2016) and Hyperband (Li et al.,
"Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018).

Successive halving trains ``n`` random configurations for ``r`` epochs, keeps the best ``1/eta`` of
them, trains those on to ``eta * r`` epochs (continuing from their checkpoints, so no epoch is
trained twice), and so on up to ``max_epochs``. Hyperband runs several such brackets, from many
configurations on a small budget to few on the full one, hedging against a budget too small to tell
good configurations from bad.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.tune.space import check_space, sample
from eigengrad.tune.strategies import Strategy
from eigengrad.tune.trial import TrialSpec


def rung_budgets(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """Epoch budgets of the rungs: ``min_epochs * eta^k`` below ``max_epochs``, then ``max_epochs``."""
    budgets, r = [], float(min_epochs)
    while round(r) < max_epochs:
        budgets.append(int(round(r)))
        r *= eta
    return budgets + [max_epochs]


class SuccessiveHalving(Strategy):
    """``n_trials`` random configurations from ``min_epochs`` to ``max_epochs``, keeping the best
    ``1/eta`` at each rung."""

    def __init__(self, space: dict, n_trials: int, max_epochs: int, min_epochs: int = 1, eta: int = 3,
                 seed: int = 0, first_id: int = 0, rng: np.random.Generator | None = None) -> None:
        if not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"n_trials: expected a positive int, got {n_trials!r}")
        if not (isinstance(min_epochs, int) and isinstance(max_epochs, int) and 1 <= min_epochs <= max_epochs):
            raise ValueError(f"min_epochs, max_epochs: expected ints with 1 <= min_epochs <= max_epochs, "
                             f"got {min_epochs!r}, {max_epochs!r}")
        if not isinstance(eta, int) or eta < 2:
            raise ValueError(f"eta: expected an int >= 2, got {eta!r}")
        self.space, self.n_trials, self.eta = check_space(space), n_trials, eta
        self.budgets = rung_budgets(min_epochs, max_epochs, eta)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.first_id = first_id
        self._rung = -1
        self._next: list[TrialSpec] = []

    def ask(self):
        if self._rung + 1 >= len(self.budgets) or (self._rung >= 0 and not self._next):
            return None
        self._rung += 1
        if self._rung == 0:
            return [TrialSpec(self.first_id + i, sample(self.space, self.rng), self.budgets[0])
                    for i in range(self.n_trials)]
        return self._next

    def tell(self, results, scores) -> None:
        if self._rung + 1 >= len(self.budgets):
            self._next = []
            return
        keep = max(1, len(results) // self.eta)
        order = sorted(range(len(results)), key=lambda i: -scores[i] if np.isfinite(scores[i]) else math.inf)
        budget, done = self.budgets[self._rung + 1], self.budgets[self._rung]
        self._next = [TrialSpec(results[i].trial_id, results[i].config, budget, done) for i in order[:keep]
                      if results[i].status != "failed"]


class Hyperband(Strategy):
    """Brackets ``s = s_max .. 0`` of successive halving: bracket ``s`` starts
    ``ceil((s_max + 1) / (s + 1) * eta^s)`` configurations at ``max_epochs * eta^-s`` epochs."""

    def __init__(self, space: dict, max_epochs: int, eta: int = 3, min_epochs: int = 1, seed: int = 0) -> None:
        if not isinstance(max_epochs, int) or max_epochs < min_epochs:
            raise ValueError(f"max_epochs: expected an int >= min_epochs ({min_epochs}), got {max_epochs!r}")
        self.space, self.max_epochs, self.eta = check_space(space), max_epochs, eta
        self.s_max = int(math.floor(math.log(max_epochs / min_epochs, eta) + 1e-9))
        self.rng = np.random.default_rng(seed)
        self.brackets: list[SuccessiveHalving] = []
        first = 0
        for s in range(self.s_max, -1, -1):
            n = int(math.ceil((self.s_max + 1) / (s + 1) * eta ** s))
            r = max(min_epochs, int(round(max_epochs * eta ** -s)))
            self.brackets.append(SuccessiveHalving(space, n, max_epochs, r, eta, first_id=first, rng=self.rng))
            first += n
        self._current = 0

    def ask(self):
        while self._current < len(self.brackets):
            specs = self.brackets[self._current].ask()
            if specs is not None:
                return specs
            self._current += 1
        return None

    def tell(self, results, scores) -> None:
        self.brackets[self._current].tell(results, scores)
