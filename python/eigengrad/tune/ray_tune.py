"""Ray Tune runs eigengrad objectives: ``ray_trainable(objective)`` is a Ray Tune function trainable.

    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from eigengrad.tune import ray_trainable
    from eigengrad.tune.objectives import mlp_classifier

    tuner = tune.Tuner(ray_trainable(mlp_classifier),
                       param_space={"lr": tune.loguniform(1e-3, 0.3), "weight_decay": tune.loguniform(1e-6, 1e-2)},
                       tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", num_samples=8,
                                                   scheduler=ASHAScheduler(time_attr="epoch", max_t=10)))
    best = tuner.fit().get_best_result()

The objective is eigengrad's ``train(config, reporter)`` (see ``tune.trial``), unchanged. Its reporter here
is a :class:`RayReporter`: each ``report(epoch, **metrics)`` goes to Ray Tune (``ray.tune.report``) with the
metrics and ``epoch``, together with the training state the objective wrote to ``reporter.checkpoint_path``
(``ReportCallback`` writes it each epoch) as a Ray checkpoint. When Ray Tune restarts a trial (a pause by
HyperBand or PBT, a restored experiment, a failure retried), ``tune.get_checkpoint()`` gives that state back
as ``reporter.resume_from``, and ``fit(..., resume_from=reporter.resume_from)`` continues it exactly.
Ray Tune's schedulers decide when a trial stops (``reporter.max_epochs`` is None); its search algorithms
choose the configurations. Each trial seeds eigengrad from ``seed`` and its configuration, so a
configuration trains the same wherever and however often it runs.

On a cluster: start Ray there (``ray start --head`` / ``ray up``), install eigengrad on every node, and
run the same script with ``RAY_ADDRESS`` set (or ``ray.init(address="auto")``) and ``RunConfig(storage_path=``
a path every node reaches: a shared file system or cloud storage) so that checkpoints move between nodes.
Each trial takes ``threads_per_trial`` kernel threads (default: Ray's ``OMP_NUM_THREADS``, one per CPU it
was given); ``tune.with_resources(trainable, {"cpu": n})`` gives it more.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from typing import Callable

from eigengrad.tune.executors import kernel_threads, trial_seed
from eigengrad.tune.trial import StopTrial, config_key

STATE_FILE = "eigengrad-state.safetensors"


class RayReporter:
    """The objective's reporter inside a Ray Tune trial (the interface of ``tune.trial.Reporter``)."""

    max_epochs = None  # Ray Tune's scheduler stops the trial

    def __init__(self, tune, seed: int) -> None:
        self._tune = tune
        self.trial_id = tune.get_context().get_trial_id()
        self.seed = seed
        self._dir = tempfile.mkdtemp(prefix="eigengrad-ray-")
        self.checkpoint_path = os.path.join(self._dir, "state", STATE_FILE)
        os.makedirs(os.path.dirname(self.checkpoint_path))
        self.resume_from = self._restored()
        self.reports: list[tuple[int, dict]] = []
        self._sent = self._stamp()  # the state restored is Ray's already

    def _restored(self) -> str | None:
        checkpoint = self._tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as d:
            saved = os.path.join(d, STATE_FILE)
            if not os.path.exists(saved):
                return None
            shutil.copyfile(saved, self.checkpoint_path)
        return self.checkpoint_path

    def _stamp(self):
        try:
            st = os.stat(self.checkpoint_path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def report(self, epoch: int, **metrics: float) -> None:
        """Send ``epoch``'s metrics to Ray Tune, with the training state when the objective wrote a new one."""
        values = {k: float(v) for k, v in metrics.items()}
        self.reports.append((int(epoch), values))
        checkpoint, stamp = None, self._stamp()
        if stamp is not None and stamp != self._sent:
            checkpoint = self._tune.Checkpoint.from_directory(os.path.dirname(self.checkpoint_path))
            self._sent = stamp
        self._tune.report({**values, "epoch": int(epoch)}, checkpoint=checkpoint)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def config_seed(seed: int, config: dict) -> int:
    """The trial's seed: a function of the search's ``seed`` and the configuration only."""
    return trial_seed(seed, zlib.crc32(config_key(config).encode()))


def ray_trainable(objective: Callable, *, seed: int = 0, threads_per_trial: int | None = None) -> Callable:
    """A Ray Tune function trainable that runs ``objective(config, reporter)`` (see the module docstring).

    Args:
        objective: eigengrad's objective; it must be picklable (a module-level function, or one defined
            in the driver script, which Ray pickles by value).
        seed: the search's seed (each trial's eigengrad seed comes from it and the configuration).
        threads_per_trial: kernel threads for each trial (default: what Ray's worker was given).
    """
    if not callable(objective):
        raise TypeError(f"objective: expected a function train(config, reporter), got {type(objective).__name__}")

    def trainable(config: dict) -> None:
        import eigengrad as eg
        from ray import tune

        config = dict(config)
        trial = config_seed(seed, config)
        eg.manual_seed(trial)
        reporter = RayReporter(tune, trial)
        try:
            with kernel_threads(threads_per_trial):
                returned = objective(config, reporter)
            if returned and not reporter.reports and reporter.resume_from is None:  # it only returns its metrics
                tune.report({k: float(v) for k, v in dict(returned).items()})
        except StopTrial:
            pass
        finally:
            reporter.close()

    name = getattr(objective, "__name__", "objective")
    trainable.__name__ = trainable.__qualname__ = f"eigengrad_{name}"
    return trainable
