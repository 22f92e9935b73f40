"""eigengrad.sklearn: scikit-learn's estimator checks, model selection, parity with scikit-learn's MLP,
and each option eigengrad adds."""
import logging
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is needed for the estimator tests (pip install scikit-learn)")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import eigengrad as eg  # noqa: E402
from eigengrad import nn  # noqa: E402
from eigengrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from eigengrad.sklearn._network import PenalizedLoss  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01, random_state=0)


@parametrize_with_checks([MLPClassifier(**SMALL), MLPRegressor(**SMALL)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def small_digits(digits):
    X_train, X_test, y_train, y_test = digits
    return X_train[:600], X_test, y_train[:600], y_test


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: OpenMP's fork-join costs more than it gains on a shared machine."""
    before = eg.get_num_threads()
    eg.set_num_threads(1)
    yield
    eg.set_num_threads(before)


def fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def test_import_eigengrad_does_not_import_sklearn():
    code = "import sys, eigengrad; assert 'sklearn' not in sys.modules and 'eigengrad.sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_eg_sklearn_is_an_attribute_loaded_on_first_use():
    code = ("import sys, eigengrad as eg\n"
            "assert 'sklearn' not in sys.modules\n"
            "clf = eg.sklearn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3)\n"
            "assert 'sklearn' in sys.modules and 'eigengrad.sklearn' in sys.modules\n"
            "assert 'sklearn' in dir(eg) and eg.sklearn.MLPRegressor is sys.modules['eigengrad.sklearn'].MLPRegressor\n"
            "print(type(clf).__name__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "MLPClassifier"


# --- model selection ----------------------------------------------------------------------------------

def test_grid_search_over_two_hyperparameters(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (32,)]}
    search = GridSearchCV(MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0), grid, cv=3)
    fit_quiet(search, X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["hidden_layer_sizes"] == (32,)
    assert search.best_score_ > 0.9
    assert search.score(X_test, y_test) > 0.9


def test_pipeline_and_cross_val_score(small_digits):
    X_train, _, y_train, _ = small_digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, learning_rate_init=0.01,
                                                       random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.88


def test_digits_accuracy_reaches_sklearn(digits):
    """Acceptance: the same architecture and settings (default (100,), adam, 100 epochs) reach
    scikit-learn's test accuracy (within 0.01)."""
    from threadpoolctl import threadpool_limits

    X_train, X_test, y_train, y_test = digits
    ours = fit_quiet(MLPClassifier(max_iter=100, random_state=0), X_train, y_train).score(X_test, y_test)
    with threadpool_limits(1):  # NumPy's BLAS on tiny matrices, on a shared machine
        theirs = fit_quiet(SkMLPClassifier(max_iter=100, random_state=0), X_train, y_train).score(X_test, y_test)
    assert ours >= theirs - 0.01, (ours, theirs)
    assert ours > 0.96


# --- scikit-learn's conventions -----------------------------------------------------------------------

@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel", "regression-1", "regression-2"])
def test_coefs_and_intercepts_have_sklearns_shapes(small_digits, target):
    """coefs_/intercepts_/out_activation_ as scikit-learn's own MLP has them on the same problem."""
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    X, _, y, _ = small_digits
    X, y = X[:200], y[:200]
    if target == "binary":
        y = y % 2
    elif target == "multilabel":
        y = np.stack([y % 2, y > 4, y == 3], axis=1).astype(int)
    elif target.startswith("regression"):
        y = y.astype(float) if target.endswith("1") else np.stack([y, y ** 2], axis=1).astype(float)
    ours_cls, theirs_cls = ((MLPRegressor, SkMLPRegressor) if target.startswith("regression")
                            else (MLPClassifier, SkMLPClassifier))
    ours = fit_quiet(ours_cls(hidden_layer_sizes=(16, 8), max_iter=3, random_state=0), X, y)
    theirs = fit_quiet(theirs_cls(hidden_layer_sizes=(16, 8), max_iter=3, random_state=0), X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_


def test_coefs_compute_what_the_model_computes(small_digits):
    """A forward pass written with coefs_/intercepts_ (scikit-learn's formula) gives predict_proba,
    and the hidden weights are views: scaling coefs_[0] in place changes the network."""
    X, _, y, _ = small_digits
    for labels in (y, y % 2):
        est = fit_quiet(MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0, dtype="float64"),
                        X, labels)
        hidden = np.maximum(X @ est.coefs_[0] + est.intercepts_[0], 0)
        out = hidden @ est.coefs_[1] + est.intercepts_[1]
        if est.out_activation_ == "logistic":
            proba = 1 / (1 + np.exp(-out[:, 0]))
            np.testing.assert_allclose(proba, est.predict_proba(X)[:, 1], rtol=1e-10)
        else:
            proba = np.exp(out - out.max(1, keepdims=True))
            np.testing.assert_allclose(proba / proba.sum(1, keepdims=True), est.predict_proba(X), rtol=1e-10)
    before = est.predict_proba(X[:5])
    est.coefs_[0][...] = 0.0
    est.intercepts_[0][...] = 0.0
    assert not np.allclose(est.predict_proba(X[:5]), before)
    np.testing.assert_allclose(est.predict_proba(X[:5]), est.predict_proba(X[:5])[:1].repeat(5, 0))


def test_fitted_attributes_follow_sklearn(small_digits):
    X_train, _, y_train, _ = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=5, random_state=0), X_train, y_train)
    assert est.n_features_in_ == 64 and est.n_outputs_ == 10 and est.n_layers_ == 4
    assert list(est.classes_) == list(range(10))
    assert est.n_iter_ == 5 and est.t_ == 5 * len(X_train)
    assert len(est.loss_curve_) == 5 and est.loss_ == est.loss_curve_[-1] and est.best_loss_ == min(est.loss_curve_)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert est.history_["loss"] == pytest.approx(est.loss_curve_)
    assert [type(m).__name__ for m in est.model_] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    proba = est.predict_proba(X_train[:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X_train[:7]))


def test_penalty_is_sklearns_alpha_over_batch_size():
    """loss + alpha / 2 * sum ||W||^2 / n over the Linear weights, gradient alpha * W / n (biases untouched)."""
    eg.manual_seed(0)
    layer = nn.Linear(3, 2, dtype="float64")
    x = eg.from_numpy(np.arange(12.0).reshape(4, 3) / 10)
    target = eg.from_numpy(np.zeros((4, 2)))
    w = layer.weight.detach().numpy().copy()
    penalized = PenalizedLoss(nn.MSELoss(), [layer.weight], alpha=0.3, scale=0.5)
    loss = penalized(layer(x), target)
    out = layer(x).detach().numpy()
    assert loss.item() == pytest.approx(0.5 * np.mean(out ** 2) + 0.15 * np.sum(w ** 2) / 4, rel=1e-12)
    loss.backward()
    penalized.on_after_backward(None)  # the Trainer calls it between backward and the step
    data_grad = (out.T @ x.numpy()) / out.size  # d/dW of 0.5 * mean(out^2)
    assert np.allclose(layer.weight.grad.numpy(), data_grad + 0.3 * w / 4, rtol=1e-10)


def test_stops_when_the_loss_stalls_and_warns_at_max_iter(small_digits):
    X_train, _, y_train, _ = small_digits
    est = MLPClassifier(hidden_layer_sizes=(16,), tol=10.0, n_iter_no_change=3, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X_train, y_train)
    # epoch 1 improves on best_loss_=inf; scikit-learn stops once more than n_iter_no_change epochs did not
    assert est.n_iter_ == 1 + 3 + 1
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X_train, y_train)


def test_early_stopping_restores_the_best_validation_weights(digits):
    X_train, _, y_train, _ = digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                                  learning_rate_init=0.01, max_iter=200, random_state=0), X_train, y_train)
    assert est.n_iter_ < 200 and est.best_loss_ is None
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_) > 0.95
    # the restored weights are the best epoch's: re-scoring the same held-out split gives the best score
    X_tr, X_val, y_tr, y_val = train_test_split(X_train, est._encoder.transform(y_train), test_size=0.1,
                                                random_state=_seed_of(est), stratify=y_train)
    assert est.score(X_val, est.classes_[y_val]) == pytest.approx(est.best_validation_score_)


def _seed_of(est) -> int:
    """The seed a fit with an int random_state draws (the estimators' first draw from it)."""
    return int(np.random.RandomState(est.random_state).randint(np.iinfo(np.int32).max))


def test_random_state_makes_fits_reproducible(small_digits):
    X_train, X_test, y_train, _ = small_digits
    make = lambda seed: MLPClassifier(hidden_layer_sizes=(16,), dropout=0.2, max_iter=5, random_state=seed)
    a, b, c = (fit_quiet(make(s), X_train, y_train).predict_proba(X_test) for s in (1, 1, 2))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_warm_start_continues_training(small_digits):
    X_train, _, y_train, _ = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, warm_start=True, random_state=0),
                    X_train, y_train)
    first = list(est.loss_curve_)
    fit_quiet(est, X_train, y_train)
    assert est.loss_curve_[:5] == first and len(est.loss_curve_) == 10
    assert est.n_iter_ == 5 and est.t_ == 10 * len(X_train)
    assert est.loss_curve_[5] < first[0] and est.loss_curve_[5] < first[-1] * 1.05
    cold = fit_quiet(MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0), X_train, y_train)
    assert cold.loss_curve_ == first


def test_pickle_round_trip_predicts_the_same(small_digits):
    X_train, X_test, y_train, _ = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(16,), batch_norm=True, max_iter=3, random_state=0),
                    X_train, y_train)
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict_proba(X_test), est.predict_proba(X_test))


def test_verbose_logs_each_epoch(small_digits, caplog):
    X_train, _, y_train, _ = small_digits
    with caplog.at_level(logging.INFO, logger="eigengrad.sklearn"):
        fit_quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, verbose=True, random_state=0), X_train, y_train)
    assert [r.getMessage().split(",")[0] for r in caplog.records] == ["Iteration 1", "Iteration 2"]


@pytest.mark.parametrize("kwargs, match", [
    ({"solver": "lbfgs"}, "solver"), ({"activation": "swish"}, "activation"), ({"learning_rate": "warm"}, "learning_rate"),
    ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"), ({"dropout": 1.0}, "dropout"), ({"max_iter": 0}, "max_iter"),
    ({"dtype": "float16"}, "dtype"), ({"batch_size": 0}, "batch_size"), ({"label_smoothing": 2.0}, "label_smoothing"),
])
def test_bad_parameters_name_the_argument(kwargs, match):
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**kwargs).fit(X, y)


# --- the options scikit-learn lacks ---------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"])
def test_each_activation_learns_digits(small_digits, activation):
    X_train, X_test, y_train, y_test = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), activation=activation, max_iter=30,
                                  learning_rate_init=0.01, random_state=0), X_train, y_train)
    assert est.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("solver, lr", [("sgd", 0.1), ("adam", 0.01), ("adamw", 0.01), ("nadam", 0.01),
                                        ("rmsprop", 0.003), ("adagrad", 0.05), ("adadelta", 1.0)])
def test_each_solver_learns_digits(small_digits, solver, lr):
    X_train, X_test, y_train, y_test = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), solver=solver, learning_rate_init=lr, max_iter=30,
                                  weight_decay=0.01 if solver == "adamw" else 0.0, random_state=0), X_train, y_train)
    assert type(est._optimizer).__name__.lower() == solver
    assert est.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive", "cosine", "onecycle", "step",
                                      "exponential"])
def test_each_learning_rate_schedule(small_digits, schedule):
    X_train, X_test, y_train, y_test = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", learning_rate=schedule, max_iter=20,
                                  learning_rate_init=0.1, power_t=0.25, random_state=0), X_train, y_train)
    lr = est._optimizer.param_groups[0]["lr"]
    expected = {"constant": 0.1, "adaptive": 0.1, "invscaling": 0.1 / (est.t_ + 1) ** 0.25,
                "cosine": 0.0, "step": 0.1 * 0.1 ** 3, "exponential": 0.1 * 0.95 ** 20}
    if schedule in expected:
        assert lr == pytest.approx(expected[schedule], abs=1e-12)
    else:  # one-cycle ends far below its peak
        assert lr < 1e-3
    # invscaling (t counts samples) and step (x0.001 by epoch 18) decay fast, as scikit-learn's
    assert est.score(X_test, y_test) > {"invscaling": 0.7, "step": 0.83}.get(schedule, 0.9)


def test_adaptive_divides_the_rate_by_five_when_the_loss_stalls(small_digits):
    X_train, _, y_train, _ = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive", tol=10.0,
                                  n_iter_no_change=2, max_iter=9, learning_rate_init=0.1, random_state=0),
                    X_train, y_train)
    # epoch 1 improves; then each run of 3 non-improving epochs (epochs 2-4, 5-7) divides the rate by 5
    assert est.n_iter_ == 9
    assert est._optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 5 ** 2)


def test_dropout_and_batch_norm_layers(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(64, 32), dropout=0.2, batch_norm=True, max_iter=30,
                                  learning_rate_init=0.01, random_state=0), X_train, y_train)
    names = [type(m).__name__ for m in est.model_]
    assert names == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert est.score(X_test, y_test) > 0.9
    assert np.array_equal(est.predict_proba(X_test), est.predict_proba(X_test))  # eval mode: no dropout


def test_label_smoothing_softens_the_probabilities(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    plain, smooth = (fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, learning_rate_init=0.01,
                                             label_smoothing=s, random_state=0), X_train, y_train) for s in (0.0, 0.2))
    assert smooth.score(X_test, y_test) > 0.9
    assert smooth.predict_proba(X_test).max(axis=1).mean() < plain.predict_proba(X_test).max(axis=1).mean() - 0.05


def test_multilabel_indicator_targets(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    Y = np.stack([y_train % 2, y_train >= 5], axis=1).astype(int)
    est = fit_quiet(MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, learning_rate_init=0.01, random_state=0),
                    X_train, Y)
    assert est.n_outputs_ == 2 and est.predict(X_test).shape == (len(X_test), 2)
    assert est.predict_proba(X_test).shape == (len(X_test), 2)
    assert est.score(X_test, np.stack([y_test % 2, y_test >= 5], axis=1).astype(int)) > 0.85


def test_regressor_fits_one_and_two_outputs():
    X, y = make_regression(n_samples=400, n_features=8, n_targets=2, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y / y.std(), random_state=0)
    make = lambda: MLPRegressor(hidden_layer_sizes=(32,), max_iter=150, learning_rate_init=0.01, random_state=0)
    two = fit_quiet(make(), X_train, y_train)
    assert two.n_outputs_ == 2 and two.predict(X_test).shape == (len(X_test), 2)
    assert two.score(X_test, y_test) > 0.95
    one = fit_quiet(make(), X_train, y_train[:, 0])
    assert one.n_outputs_ == 1 and one.predict(X_test).shape == (len(X_test),)
    assert one.predict(X_test).dtype == np.float64 and one.score(X_test, y_test[:, 0]) > 0.95
    # scikit-learn's squared loss: half the mean squared error (plus the small L2 term)
    residual = 0.5 * np.mean((one.predict(X_train) - y_train[:, 0]) ** 2)
    assert one.loss_ == pytest.approx(residual, rel=0.3)
