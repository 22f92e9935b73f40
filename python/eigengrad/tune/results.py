"""The outcome of a search: every run of every trial, the best configuration, a table sorted by the
metric, a pandas DataFrame (when pandas is installed) and plots of the metric against each
hyperparameter on its own scale."""
from __future__ import annotations

from eigengrad.tune.space import Dimension
from eigengrad.tune.trial import TrialResult


class Results:
    """``runs``: every run in the order it finished (a promoted trial has one run per rung);
    ``trials``: the latest run of each trial; ``best``: the best trial by ``metric``."""

    def __init__(self, runs: list[TrialResult], metric: str, mode: str, space: dict) -> None:
        self.runs, self.metric, self.mode, self.space = runs, metric, mode, space
        latest: dict[int, TrialResult] = {}
        for r in runs:
            if r.trial_id not in latest or (r.budget or 0) >= (latest[r.trial_id].budget or 0):
                latest[r.trial_id] = r
        self.trials = [latest[k] for k in sorted(latest)]

    def ranked(self) -> list[TrialResult]:
        """Trials from best to worst; a trial stopped on a smaller budget ranks after those that went further."""
        return sorted(self.trials, key=lambda r: (-(r.budget or 0), -r.score(self.metric, self.mode), r.trial_id))

    @property
    def best(self) -> TrialResult:
        if not self.trials:
            raise ValueError("results: no trials were run")
        return self.ranked()[0]

    @property
    def best_config(self) -> dict:
        return self.best.config

    @property
    def best_value(self) -> float:
        return self.best.value(self.metric)

    @property
    def total_epochs(self) -> int:
        """Epochs trained over all runs (a promoted trial's earlier epochs counted once)."""
        return sum(r.epochs_run for r in self.runs)

    def epochs_to_reach(self, value: float) -> int | None:
        """Epochs trained, counting the runs in the order they ran, when a run first ended at ``value`` or
        better (by ``mode``); None if none did. How soon one search found what another found in all (as
        in Hyperband against random search of the same budget)."""
        target = value if self.mode == "max" else -value
        used = 0
        for r in self.runs:
            used += r.epochs_run
            if r.score(self.metric, self.mode) >= target:
                return used
        return None

    def table(self, top: int | None = None) -> str:
        """The trials sorted by the metric, one line each."""
        names = [n for n, d in self.space.items() if isinstance(d, Dimension)]  # constants are in the configs
        rows = self.ranked()[:top]
        head = f"{'trial':>5} {'epochs':>6} {self.metric:>14}  " + "  ".join(f"{n:>12}" for n in names)
        lines = [head]
        for r in rows:
            cells = "  ".join(f"{_fmt(r.config.get(n)):>12}" for n in names)
            lines.append(f"{r.trial_id:>5} {r.budget if r.budget is not None else '-':>6} "
                         f"{r.value(self.metric):>14.5g}  {cells}" + ("  FAILED" if r.status == "failed" else ""))
        return "\n".join(lines)

    def to_dataframe(self):
        """One row per trial (pandas is needed only for this)."""
        import pandas as pd

        return pd.DataFrame([{"trial": r.trial_id, "budget": r.budget, "status": r.status,
                              self.metric: r.value(self.metric), **r.config} for r in self.ranked()])

    def plot(self, names: list[str] | None = None, axes=None):
        """The metric against each numeric hyperparameter, on its scale (log for LogUniform, ``1 - v`` on a
        log axis for OneMinusLogUniform); returns the axes."""
        from eigengrad.utils.plotting import new_axes

        names = names or [n for n, d in self.space.items() if isinstance(d, Dimension) and d.numeric]
        if axes is None:
            axes = new_axes("search results", ncols=len(names), figsize=(4 * len(names), 3.5))
        axes = list(axes) if hasattr(axes, "__len__") else [axes]
        for ax, name in zip(axes, names):
            dim = self.space[name]
            xs = [r.config[name] for r in self.trials]
            if getattr(dim, "scale", "") == "one_minus_log":
                xs = [1 - x for x in xs]
                ax.set_xlabel(f"1 - {name}")
            else:
                ax.set_xlabel(name)
            ax.scatter(xs, [r.value(self.metric) for r in self.trials])
            if getattr(dim, "scale", "linear") in ("log", "one_minus_log"):
                ax.set_xscale("log")
            ax.set_ylabel(self.metric)
        return axes

    def __repr__(self) -> str:
        return f"Results({len(self.trials)} trials, best {self.metric}={self.best_value:.5g})" if self.trials \
            else "Results(no trials)"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
