"""Running trials: in this process (babysitting one model at a time), in local worker processes
(``n_jobs``, each worker given ``cores // n_jobs`` kernel threads so that trials x threads <= cores),
or on Ray (``executor="ray"``, an optional extra) for a cluster. Every executor calls :func:`run_trial`,
which seeds eigengrad from the trial, so a trial's result does not depend on where it ran."""
from __future__ import annotations

import contextlib
import os
import pickle
import signal
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


@contextlib.contextmanager
def kernel_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` kernel threads, then restore the caller's setting: their count, or
    OpenMP's default (``OMP_NUM_THREADS``) if they never set one (None: leave the setting alone)."""
    import eigengrad as eg
    from eigengrad import _kernels

    if not threads:
        yield
        return
    before = _kernels.requested_num_threads()  # 0: the caller follows OpenMP's default
    eg.set_num_threads(threads)
    try:
        yield
    finally:
        _kernels.set_num_threads(before)


def _claim(shared, round_id: int, n: int) -> int | None:
    """Take the next unclaimed trial index of round ``round_id`` from ``shared`` ([current round, next
    index], one lock for all processes), or None when none is left or that round is over."""
    with shared.get_lock():
        if shared[0] != round_id or shared[1] >= n:
            return None
        shared[1] += 1
        return shared[1] - 1


def _worker_main(conn, shared, threads: int) -> None:
    """A worker process: for each round ``(round_id, objective, specs, checkpoint_dir, seed)`` sent on
    ``conn`` (the objective pickled, or None for the previous round's), claim and run trials until none is
    left, sending ("started", index) and ("result", result) (or ("error", message) and exit when the
    objective cannot be unpickled here).
    A round that ended before this worker got to it (a slow start) is skipped by the claim. Ends on None,
    or when the search process is gone (EOF on ``conn``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it then stops the workers
    _init_worker(threads)
    objective = None
    try:
        while (work := conn.recv()) is not None:
            round_id, payload, specs, checkpoint_dir, seed = work
            try:
                if payload is not None:  # before claiming: a trial is never claimed and then lost
                    objective = pickle.loads(payload)
            except Exception as e:
                conn.send(("error", f"{type(e).__name__}: {e}"))
                return
            while (i := _claim(shared, round_id, len(specs))) is not None:
                conn.send(("started", i))
                conn.send(("result", run_trial(objective, specs[i], checkpoint_dir, seed)))
    except (EOFError, BrokenPipeError):
        pass  # the search process has gone: nothing left to do


class ProcessExecutor:
    """``n_jobs`` trials at once: this process runs one and ``n_jobs - 1`` spawned worker processes (spawn,
    not fork: a forked OpenMP runtime can hang) run the others, each with ``threads_per_trial`` kernel
    threads (default cores // n_jobs).

    Why this shape: a spawned worker needs about half a second (interpreter, ``import eigengrad``, the
    objective's module) before its first trial, so the workers are started when the executor is built
    (before the strategy's first round), live for the whole search, and this process trains meanwhile
    instead of waiting. All processes take the round's trials from one shared counter, so whoever is free
    runs the next one, and a round ends when its results are in (a worker still starting up is not
    waited for). Each trial is seeded from its id (:func:`run_trial`), so the results do not depend on
    which process ran it. A worker's result is handed on (to the journal) when this process is between
    trials, so a search killed outright may train again the up to ``n_jobs - 1`` trials the workers
    finished during this process's last trial. On an error or KeyboardInterrupt in this process the
    workers are terminated; they ignore SIGINT themselves and exit when this process disappears.
    """

    def __init__(self, n_jobs: int, threads_per_trial: int | None = None) -> None:
        from multiprocessing import get_context  # here: import eigengrad stays light

        ctx = get_context("spawn")  # a context: the user's start method is left alone
        self.threads = threads_per_trial or max(1, (os.cpu_count() or 1) // n_jobs)
        self._shared = ctx.Array("q", [0, 0])  # [round, next trial index], see _claim
        self._workers, self._conns = [], []
        self._sent = None  # the objective the workers hold
        try:
            for k in range(n_jobs - 1):
                self._start_worker(ctx, k)
        except BaseException:
            self._terminate()  # the ones already started
            raise

    def _start_worker(self, ctx, k: int) -> None:
        here, there = ctx.Pipe()
        worker = ctx.Process(target=_worker_main, args=(there, self._shared, self.threads), daemon=True,
                             name=f"eigengrad-tune-worker-{k}")
        worker.start()
        there.close()  # the worker has its own copy; ours would hide the worker's exit from recv()
        self._workers.append(worker)
        self._conns.append(here)

    def map(self, objective, specs, checkpoint_dir, seed) -> Iterator[TrialResult]:
        """Run the round's ``specs``; yield each result as it finishes (in no fixed order)."""
        specs = list(specs)
        # sent once (an objective carrying data is not copied again every round); None: the one sent before.
        # An objective that cannot be pickled fails here.
        payload = None if objective is self._sent else pickle.dumps(objective)
        self._sent = objective
        with self._shared.get_lock():
            self._shared[0] += 1
            self._shared[1] = 0
            round_id = self._shared[0]
        running = {}   # conn -> index of the trial its worker runs
        left = len(specs)
        try:
            for conn in self._conns:
                conn.send((round_id, payload, specs, checkpoint_dir, seed))
            while (i := _claim(self._shared, round_id, len(specs))) is not None:
                with kernel_threads(self.threads):
                    result = run_trial(objective, specs[i], checkpoint_dir, seed)
                left -= 1
                yield result
                for r in self._receive(running, specs, timeout=0):
                    left -= 1
                    yield r
            while left:
                for r in self._receive(running, specs, timeout=None):
                    left -= 1
                    yield r
        except BaseException:
            self._terminate()
            raise

    def _receive(self, running: dict, specs: list, timeout: float | None) -> Iterator[TrialResult]:
        """Results the workers have sent, waiting up to ``timeout`` for the first."""
        from multiprocessing.connection import wait

        handles = {}
        for worker, conn in zip(self._workers, self._conns):
            handles[conn] = handles[worker.sentinel] = conn
        for conn in {handles[h] for h in wait(list(handles), timeout)}:
            yield from self._drain(conn, running, specs)

    def _drain(self, conn, running: dict, specs: list) -> Iterator[TrialResult]:
        """Read ``conn`` until it is empty, tracking the trial its worker runs. A worker that died
        mid-trial is an error naming the trial."""
        while conn.poll():
            try:
                kind, value = conn.recv()
            except EOFError:
                break
            if kind == "started":
                running[conn] = value
            elif kind == "error":
                raise RuntimeError(f"a worker process could not load the objective ({value}); define it at the "
                                   "top level of a module the workers can import")
            else:
                running.pop(conn, None)
                yield value
        worker = self._workers[self._conns.index(conn)]
        if not worker.is_alive():
            i = running.pop(conn, None)
            what = f"trial {specs[i].trial_id}" if i is not None else "no trial"
            raise RuntimeError(f"worker process {worker.pid} died (exit code {worker.exitcode}) in {what}")

    def _terminate(self) -> None:
        for w in self._workers:
            if w.is_alive():
                w.terminate()
        self._join()

    def _join(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` seconds in all for the workers to exit, then terminate the rest."""
        deadline = time.monotonic() + timeout
        for w in self._workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join()
        for c in self._conns:
            c.close()
        self._workers, self._conns = [], []

    def close(self) -> None:
        """Stop the workers: they have nothing left to do (``map`` collected every result). An idle
        worker exits at once; one still starting up (a search shorter than its start-up) is terminated."""
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass  # that worker is already gone
        self._join(timeout=0.2)


class SequentialExecutor:
    """Trials one after another in this process (its thread settings as they are)."""

    def __init__(self, threads_per_trial: int | None = None) -> None:
        self.threads = threads_per_trial

    def map(self, objective, specs, checkpoint_dir, seed) -> Iterator[TrialResult]:
        with kernel_threads(self.threads):
            for s in specs:
                yield run_trial(objective, s, checkpoint_dir, seed)

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
