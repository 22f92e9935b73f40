"""Running trials: in this process (babysitting one model at a time), in local worker processes
(``n_jobs``, each worker given ``cores // n_jobs`` kernel threads so that trials x threads <= cores),
or on Ray (``executor="ray"``, an optional extra) for a cluster. Every executor calls :func:`run_trial`,
which seeds eigengrad from the trial, so a trial's result does not depend on where it ran."""
from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Callable, Iterator

from eigengrad.tune.trial import Reporter, StopTrial, TrialResult, TrialSpec


def trial_seed(search_seed: int, trial_id: int) -> int:
    return (search_seed * 1_000_003 + trial_id * 7919 + 17) % (2**63)


def run_trial(objective: Callable, spec: TrialSpec, checkpoint_dir: str, search_seed: int) -> TrialResult:
    """Run ``objective(config, reporter)`` for one trial and collect what it reported."""
    import eigengrad as eg

    seed = trial_seed(search_seed, spec.trial_id)
    eg.manual_seed(seed)
    reporter = Reporter(spec, checkpoint_dir, seed)
    result = TrialResult(spec.trial_id, spec.config, spec.budget)
    start = time.perf_counter()
    try:
        returned = objective(spec.config, reporter)
        result.metrics = dict(returned) if returned else {}
    except StopTrial:
        pass
    except Exception as e:  # a failed trial is a result, not the end of the search
        result.status, result.error = "failed", "".join(traceback.format_exception_only(type(e), e)).strip()
        result.error += "\n" + "".join(traceback.format_tb(e.__traceback__)[-3:])
    result.seconds = time.perf_counter() - start
    result.reports = reporter.reports
    if reporter.reports:
        result.metrics = {**reporter.reports[-1][1], **result.metrics}
        result.epochs_run = reporter.reports[-1][0] - spec.done_epochs
    return result


def _init_worker(threads: int) -> None:
    import eigengrad as eg

    eg.set_num_threads(threads)


class ProcessExecutor:
    """``n_jobs`` spawned worker processes (spawn, not fork: a forked OpenMP runtime can hang)."""

    def __init__(self, n_jobs: int, threads_per_trial: int | None = None) -> None:
        from concurrent.futures import ProcessPoolExecutor  # here: import eigengrad stays light
        from multiprocessing import get_context

        cores = os.cpu_count() or 1
        self.threads = threads_per_trial or max(1, cores // n_jobs)
        self.pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=get_context("spawn"),
                                        initializer=_init_worker, initargs=(self.threads,))

    def map(self, objective, specs, checkpoint_dir, seed) -> Iterator[TrialResult]:
        from concurrent.futures import as_completed

        futures = [self.pool.submit(run_trial, objective, s, checkpoint_dir, seed) for s in specs]
        for f in as_completed(futures):
            yield f.result()

    def close(self) -> None:
        self.pool.shutdown()


class SequentialExecutor:
    """Trials one after another in this process (its thread settings as they are)."""

    def __init__(self, threads_per_trial: int | None = None) -> None:
        self.threads = threads_per_trial

    def map(self, objective, specs, checkpoint_dir, seed) -> Iterator[TrialResult]:
        import eigengrad as eg

        before = eg.get_num_threads()
        try:
            if self.threads:
                eg.set_num_threads(self.threads)
            for s in specs:
                yield run_trial(objective, s, checkpoint_dir, seed)
        finally:
            eg.set_num_threads(before)

    def close(self) -> None:
        pass


class RayExecutor:
    """Trials as Ray tasks (``pip install "ray[default]"``); uses a running Ray cluster when
    ``RAY_ADDRESS`` is set, else starts a local one. Each task asks Ray for ``threads_per_trial`` CPUs."""

    def __init__(self, threads_per_trial: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError('executor: "ray" needs Ray; pip install "ray[default]"') from None
        self.ray = ray
        self._started = not ray.is_initialized()  # then close() shuts down what we started
        if self._started:
            # A local Ray's workers import the objective by module name: give them this process's path.
            env = {} if os.environ.get("RAY_ADDRESS") else {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}}
            ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True, log_to_driver=False,
                     runtime_env=env or None)
        self.threads = threads_per_trial or 1
        self.remote = ray.remote(num_cpus=self.threads)(_ray_trial)

    def map(self, objective, specs, checkpoint_dir, seed) -> Iterator[TrialResult]:
        pending = [self.remote.remote(objective, s, checkpoint_dir, seed, self.threads) for s in specs]
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            yield self.ray.get(done[0])

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()


def _ray_trial(objective, spec, checkpoint_dir, seed, threads):
    _init_worker(threads)
    return run_trial(objective, spec, checkpoint_dir, seed)


def make_executor(executor: str, n_jobs: int, threads_per_trial: int | None):
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs: expected a positive int, got {n_jobs!r}")
    if executor == "auto":
        executor = "process" if n_jobs > 1 else "sequential"
    if executor == "sequential":
        return SequentialExecutor(threads_per_trial)
    if executor == "process":
        return ProcessExecutor(n_jobs, threads_per_trial)
    if executor == "ray":
        return RayExecutor(threads_per_trial)
    raise ValueError(f"executor: expected 'auto', 'sequential', 'process' or 'ray', got {executor!r}")
