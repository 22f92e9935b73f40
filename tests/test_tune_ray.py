"""eigengrad objectives as Ray Tune trainables (``eg.tune.ray_trainable``): an ASHA search of the digits MLP,
trials paused and resumed by HyperBand, PBT. Skipped, with the reason, when Ray Tune is not installed."""
import pytest

ray = pytest.importorskip("ray", reason='Ray Tune is needed for these tests (pip install "ray[tune]")')
tune = pytest.importorskip("ray.tune", reason='Ray Tune is needed for these tests (pip install "ray[tune]")')

import eigengrad as eg  # noqa: E402
from eigengrad.tune import Reporter, TrialSpec, ray_trainable  # noqa: E402
from eigengrad.tune.objectives import mlp_classifier  # noqa: E402
from eigengrad.tune.ray_tune import config_seed  # noqa: E402

# the digits MLP, small enough that 8 trials take seconds
CONFIG = {"epochs": 4, "hidden": (32,), "train_subset": 600, "val_fraction": 0.5}
METRICS = ["loss", "accuracy", "val_loss", "val_accuracy"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def search(path, name, scheduler, num_samples, space=None, **tune_config):
    space = space or {"lr": tune.loguniform(1e-3, 0.3), "weight_decay": tune.loguniform(1e-6, 1e-2)}
    from ray.tune.search.basic_variant import BasicVariantGenerator

    tuner = tune.Tuner(ray_trainable(mlp_classifier), param_space={**CONFIG, **space},
                       tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", scheduler=scheduler,
                                                   num_samples=num_samples, reuse_actors=True,
                                                   search_alg=BasicVariantGenerator(random_state=0), **tune_config),
                       run_config=tune.RunConfig(storage_path=str(path), name=name, verbose=0))
    results = tuner.fit()
    assert len(results) == num_samples and not results.errors, results.errors
    return results


def curve(result) -> list:
    """The per-epoch metrics Ray Tune received from a trial."""
    df = result.metrics_dataframe.sort_values("training_iteration")
    return [tuple(row) for row in df[["epoch", *METRICS]].itertuples(index=False)]


def direct(config, tmp_path) -> list:
    """The same configuration trained in this process, uninterrupted, with eigengrad's own reporter."""
    seed = config_seed(0, config)
    eg.manual_seed(seed)
    reporter = Reporter(TrialSpec(0, dict(config)), str(tmp_path), seed)
    mlp_classifier(dict(config), reporter)
    return [(epoch, *(m[k] for k in METRICS)) for epoch, m in reporter.reports]


def test_asha_search_of_lr_and_weight_decay_reports_eigengrads_metrics(local_ray, tmp_path):
    from ray.tune.schedulers import ASHAScheduler

    results = search(tmp_path, "asha", ASHAScheduler(time_attr="epoch", max_t=4, grace_period=1, reduction_factor=2), 8)
    epochs = sorted(r.metrics["epoch"] for r in results)
    assert epochs[0] < 4 and epochs[-1] == 4, epochs  # ASHA stopped some trials early, ran others to max_t
    for r in results:
        assert [c[0] for c in curve(r)] == list(range(1, r.metrics["epoch"] + 1))  # a report per epoch
    best = results.get_best_result()
    assert best.metrics["val_accuracy"] > 0.8
    assert curve(best) == direct(best.config, tmp_path)[:best.metrics["epoch"]]


def test_a_trial_paused_and_resumed_continues_from_its_checkpoint(local_ray, tmp_path):
    from ray.tune.schedulers import HyperBandScheduler

    results = search(tmp_path, "hyperband", HyperBandScheduler(time_attr="epoch", max_t=4, reduction_factor=2), 8)
    resumed = [r for r in results
               if (r.metrics_dataframe["iterations_since_restore"] < r.metrics_dataframe["training_iteration"]).any()]
    assert resumed, "HyperBand paused no trial"
    for r in resumed:  # epoch for epoch what the uninterrupted run gives: the state came back exactly
        got = curve(r)
        assert got == direct(r.config, tmp_path)[:len(got)]


def test_population_based_training_drives_eigengrad_training(local_ray, tmp_path):
    from ray.tune.schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(time_attr="epoch", perturbation_interval=1,
                                  hyperparam_mutations={"lr": tune.loguniform(1e-3, 0.3)})
    results = search(tmp_path, "pbt", pbt, 4, space={"lr": tune.loguniform(1e-3, 0.3), "epochs": 3})
    restored = [r for r in results
                if (r.metrics_dataframe["iterations_since_restore"] < r.metrics_dataframe["training_iteration"]).any()]
    assert restored, "PBT exploited no trial"
    for r in results:  # a restored trial goes on from its donor's epoch (it may have none left to train)
        epochs = [c[0] for c in curve(r)]
        assert epochs[0] == 1 and all(b > a for a, b in zip(epochs, epochs[1:])) and epochs[-1] <= 3, epochs
    assert max(r.metrics["epoch"] for r in results) == 3
    assert max(r.metrics["val_accuracy"] for r in results) > 0.7
