"""BayesianSearch: Optuna's TPE sampler (Bergstra et al., "Algorithms for Hyper-Parameter Optimization",
NeurIPS 2011) behind eigengrad's ask/tell rounds. Optuna is an optional extra (``pip install optuna``),
imported when a BayesianSearch is built.

Each dimension keeps its scale: LogUniform is a log-scaled float, OneMinusLogUniform is sampled as
``1 - v`` on a log scale, Choice goes by option index (so options may be tuples). With ``storage`` (a
journal file path, or an RDB URL such as ``sqlite:///study.db``) and a ``study_name`` the study is
shared: several searches (processes, machines) run against it, and a search run again resumes it,
counting the trials already finished towards ``n_trials``.
"""
from __future__ import annotations

import math

from eigengrad.tune.space import Choice, Dimension, IntUniform, LogUniform, OneMinusLogUniform, Uniform, check_space
from eigengrad.tune.strategies import Strategy
from eigengrad.tune.trial import TrialSpec


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError("BayesianSearch: needs Optuna; pip install optuna") from None
    return optuna


class BayesianSearch(Strategy):
    """``n_trials`` trials proposed by TPE, ``batch_size`` at a time (set it to ``n_jobs`` to keep the
    workers busy), seeded by ``seed``."""

    def __init__(self, space: dict, n_trials: int, seed: int = 0, batch_size: int = 1, storage: str | None = None,
                 study_name: str | None = None, n_startup_trials: int = 10) -> None:
        if not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"n_trials: expected a positive int, got {n_trials!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        optuna = _optuna()
        self.space, self.n_trials, self.batch_size = check_space(space), n_trials, batch_size
        self.distributions = {k: _distribution(optuna, v) for k, v in space.items() if isinstance(v, Dimension)}
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
        self.study = optuna.create_study(direction="maximize", sampler=sampler, storage=_storage(optuna, storage),
                                         study_name=study_name, load_if_exists=study_name is not None)
        self._pending: dict[int, object] = {}

    def ask(self):
        finished = sum(t.state.is_finished() for t in self.study.get_trials(deepcopy=False))
        n = min(self.batch_size, self.n_trials - finished)
        if n <= 0:
            return None
        specs = []
        for _ in range(n):
            trial = self.study.ask(self.distributions)
            self._pending[trial.number] = trial
            specs.append(TrialSpec(trial.number, self._config(trial.params)))
        return specs

    def tell(self, results, scores) -> None:
        optuna = _optuna()
        for r, s in zip(results, scores):
            trial = self._pending.pop(r.trial_id)
            if math.isfinite(s):
                self.study.tell(trial, s)
            else:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def _config(self, params: dict) -> dict:
        config = {}
        for name, dim in self.space.items():
            if not isinstance(dim, Dimension):
                config[name] = dim
            elif isinstance(dim, OneMinusLogUniform):
                config[name] = min(max(1.0 - params[name], dim.low), dim.high)
            elif isinstance(dim, Choice):
                config[name] = dim.options[params[name]]
            else:
                config[name] = params[name]
        return config


def _distribution(optuna, dim: Dimension):
    d = optuna.distributions
    if isinstance(dim, LogUniform):
        return d.FloatDistribution(dim.low, dim.high, log=True)
    if isinstance(dim, OneMinusLogUniform):
        return d.FloatDistribution(1.0 - dim.high, 1.0 - dim.low, log=True)
    if isinstance(dim, Uniform):
        return d.FloatDistribution(dim.low, dim.high)
    if isinstance(dim, IntUniform):
        return d.IntDistribution(dim.low, dim.high, log=dim.log)
    if isinstance(dim, Choice):
        return d.CategoricalDistribution(list(range(len(dim.options))))
    raise TypeError(f"space: BayesianSearch cannot map a {type(dim).__name__} to an Optuna distribution")


def _storage(optuna, storage: str | None):
    """None (in memory), an RDB URL (``"sqlite:///x.db"``), or a journal file path."""
    if storage is None or "://" in str(storage):
        return storage
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(storage)))
