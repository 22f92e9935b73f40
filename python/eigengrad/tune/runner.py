"""``eg.tune.run``: drive a strategy's rounds through an executor, persisting every finished run.

With ``storage`` (a directory) each finished run is appended to ``storage/journal.jsonl`` (one JSON
line, flushed and fsynced) and trials checkpoint into ``storage/checkpoints``. Running the same search
again with the same storage replays the journal: a run whose trial id, budget and configuration are
recorded is taken from there instead of trained again, and strategies that adapt (coarse-to-fine,
halving) hear the same outcomes, so an interrupted search resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from typing import Callable

from eigengrad.tune.executors import make_executor
from eigengrad.tune.results import Results
from eigengrad.tune.strategies import Strategy
from eigengrad.tune.trial import TrialResult, TrialSpec, config_key, jsonable

logger = logging.getLogger("eigengrad.tune")


class Journal:
    """Finished runs by ``(trial_id, budget)``, read from and appended to a JSON-lines file."""

    def __init__(self, path: str | None) -> None:
        self.path, self.runs = path, {}
        if path and os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.strip():
                        try:
                            r = TrialResult.from_json(json.loads(line))
                        except (ValueError, TypeError):
                            continue  # a line cut short by a crash: that run is simply run again
                        self.runs[(r.trial_id, r.budget)] = r

    def lookup(self, spec: TrialSpec) -> TrialResult | None:
        r = self.runs.get((spec.trial_id, spec.budget))
        if r is not None and config_key(r.config) == config_key(spec.config):
            return dataclasses.replace(r, config=spec.config)
        return None

    def append(self, r: TrialResult) -> None:
        self.runs[(r.trial_id, r.budget)] = r
        if self.path:
            with open(self.path, "a") as f:
                f.write(json.dumps(r.to_json(), default=jsonable) + "\n")
                f.flush()
                os.fsync(f.fileno())


def run(objective: Callable, strategy: Strategy, *, metric: str, mode: str = "max", n_jobs: int = 1,
        executor: str = "auto", storage: str | os.PathLike | None = None, seed: int = 0,
        threads_per_trial: int | None = None, progress: bool | None = None) -> Results:
    """Run a hyperparameter search and return its :class:`~eigengrad.tune.results.Results`.

    Args:
        objective: a picklable top-level function ``train(config, reporter) -> metrics dict`` (see
            :mod:`eigengrad.tune.trial`); it reports per-epoch metrics for halving strategies.
        strategy: GridSearch, RandomSearch, CoarseToFine, BayesianSearch, SuccessiveHalving, Hyperband.
        metric, mode: the metric that ranks trials, and whether larger (``"max"``) or smaller is better.
        n_jobs: trials run at once; ``executor``: ``"auto"`` (processes when n_jobs > 1), ``"sequential"``,
            ``"process"`` or ``"ray"``. Each worker gets ``threads_per_trial`` kernel threads (default
            cores // n_jobs).
        storage: a directory for the journal and the trials' checkpoints; a search run again with the
            same storage resumes without re-running finished trials.
        seed: seeds each trial (``eg.manual_seed``) from the trial's id, whatever worker runs it.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode: expected 'max' or 'min', got {mode!r}")
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy: expected an eigengrad.tune strategy, got {type(strategy).__name__}")
    tmp = None
    if storage is None:
        tmp = tempfile.TemporaryDirectory(prefix="eigengrad-tune-")
        root = tmp.name
    else:
        root = os.fspath(storage)
        os.makedirs(root, exist_ok=True)
    checkpoints = os.path.join(root, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    journal = Journal(os.path.join(root, "journal.jsonl") if storage is not None else None)
    pool = make_executor(executor, n_jobs, threads_per_trial)
    runs: list[TrialResult] = []
    try:
        while (specs := strategy.ask()) is not None:
            results = _run_round(specs, journal, pool, objective, checkpoints, seed, progress)
            runs += results
            strategy.tell(results, [r.score(metric, mode) for r in results])
    finally:
        pool.close()
        if tmp is not None:
            tmp.cleanup()
    return Results(runs, metric, mode, getattr(strategy, "space", {}))


def _run_round(specs, journal, pool, objective, checkpoints, seed, progress) -> list[TrialResult]:
    """The round's results in the order of ``specs`` (finished runs are journaled as they come)."""
    from eigengrad.utils.progress import progress as bar_for
    from eigengrad.train.progress_bar import wanted

    done = {s.trial_id: r for s in specs if (r := journal.lookup(s)) is not None}
    todo = [s for s in specs if s.trial_id not in done]
    if done:
        logger.info("resuming: %d of %d runs of this round are in the journal", len(done), len(specs))
    bar = bar_for(None, total=len(todo), desc="trials", disable=not wanted(progress)) if todo else None
    for r in pool.map(objective, todo, checkpoints, seed):
        journal.append(r)
        done[r.trial_id] = r
        if r.status == "failed":
            logger.warning("trial %d failed: %s", r.trial_id, r.error.splitlines()[0])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [done[s.trial_id] for s in specs]
