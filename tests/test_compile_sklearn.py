"""The scikit-learn estimators' ``compile`` parameter: a compiled fit gives eager mode's numbers bit for
bit (L2 penalty, dropout, BatchNorm, a last partial batch, early stopping), 'auto' compiles every fit
(the classifier, multi-label, the regressor), True warns where it cannot compile."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is needed for the estimator tests (pip install scikit-learn)")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from eigengrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from eigengrad.train import compiled_step  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return (X[:430] / 16.0), y[:430]  # 430 = 2 x 200 + 30: a last partial batch of 30


@pytest.fixture
def compiled_steps(monkeypatch):
    """The CompiledFunctions fit builds (one per fit that compiles)."""
    made = []
    real = compiled_step.make_step

    def spy(trainer, params):
        fn = real(trainer, params)
        made.append(fn)
        return fn
    monkeypatch.setattr(compiled_step, "make_step", spy)
    return made


def _fit(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught if not issubclass(w.category, ConvergenceWarning)]


def _numbers(est) -> list:
    return ([np.asarray(est.loss_curve_)] + [p.detach().numpy().copy() for p in est.model_.parameters()]
            + [b.numpy().copy() for _, b in est.model_.named_buffers()])


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()


@pytest.mark.parametrize("options", [
    dict(),  # alpha=1e-4 (the L2 penalty's value and gradient are recorded kernels), adam
    dict(alpha=1e-2, dropout=0.2, batch_norm=True, solver="adamw", weight_decay=1e-3),
    dict(solver="sgd", learning_rate="invscaling", activation="tanh", label_smoothing=0.1),
    dict(early_stopping=True, n_iter_no_change=2, activation="logistic", learning_rate="onecycle"),
    dict(alpha=0.0, dtype="float64", activation="gelu"),
    dict(activation="selu", solver="nadam"),  # SELU: the ELU kernel times a constant (tensor arithmetic)
])
def test_compiled_fit_equals_eager_bit_for_bit(data, compiled_steps, options):
    X, y = data
    params = dict(hidden_layer_sizes=(32, 16), max_iter=6, random_state=0, **options)
    compiled = MLPClassifier(compile=True, **params)
    assert _fit(compiled, X, y) == []
    eager = MLPClassifier(compile=False, **params)
    assert _fit(eager, X, y) == []
    assert len(compiled_steps) == 1
    fn = compiled_steps[0]
    assert fn.fallback_reason is None and fn.replays > 0  # the plan ran: the comparison is not eager vs eager
    _same(_numbers(compiled), _numbers(eager))
    np.testing.assert_array_equal(compiled.predict_proba(X), eager.predict_proba(X))


def test_auto_compiles_fit_of_a_single_label_classifier(data, compiled_steps):
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0)
    assert est.get_params()["compile"] == "auto"
    assert _fit(est, X, y) == []
    assert len(compiled_steps) == 1 and compiled_steps[0].replays > 0
    eager = MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0, compile=False)
    _fit(eager, X, y)
    _same(_numbers(est), _numbers(eager))


@pytest.mark.parametrize("case", ["regressor", "multilabel"])
def test_auto_compiles_the_regressor_and_multilabel_fits(data, compiled_steps, case):
    # their losses (MSELoss, BCEWithLogitsLoss, scaled to scikit-learn's by tensor arithmetic) are plan steps
    X, y = data
    make, target = {"regressor": (MLPRegressor, y.astype(float)),
                    "multilabel": (MLPClassifier, np.stack([y % 2, y % 3 == 0], 1))}[case]
    est = make(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    assert _fit(est, X, target) == []
    assert len(compiled_steps) == 1 and compiled_steps[0].fallback_reason is None and compiled_steps[0].replays > 0
    eager = make(hidden_layer_sizes=(8,), max_iter=3, random_state=0, compile=False)
    _fit(eager, X, target)
    _same(_numbers(est), _numbers(eager))


def test_compile_true_where_it_cannot_warns_once_and_gives_eager_numbers(data, compiled_steps, monkeypatch):
    X, y = data
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    from eigengrad import _kernels, _trace

    real = _kernels.unary_forward

    def unary_forward(kind, x, *params):  # (every estimator's step compiles: make one that cannot)
        _trace.reject("a test's SELU that cannot be replayed")
        return real(kind, x, *params)

    monkeypatch.setattr(_kernels, "unary_forward", unary_forward)
    forced = MLPClassifier(compile=True, activation="selu", **params)
    messages = _fit(forced, X, y)
    assert len(messages) == 1 and "runs eagerly from now on: a test's SELU" in messages[0], messages
    assert compiled_steps[0].fallback_reason is not None
    eager = MLPClassifier(compile=False, activation="selu", **params)
    _fit(eager, X, y)
    _same(_numbers(forced), _numbers(eager))


def test_compile_is_a_parameter_checked_by_name(data):
    X, y = data
    est = MLPClassifier(compile=False)
    assert clone(est).compile is False and clone(est.set_params(compile="auto")).compile == "auto"
    with pytest.raises(ValueError, match="compile: expected True, False or 'auto', got 'yes'"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, compile="yes").fit(X, y)


def test_penalty_is_in_the_loss_value(data):
    """The L2 term written into the loss's value in place (a recorded kernel) is scikit-learn's."""
    X, y = data
    kwargs = dict(hidden_layer_sizes=(8,), max_iter=1, random_state=0, shuffle=False, batch_size=len(X),
                  learning_rate_init=1e-9, compile=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(alpha=0.0, **kwargs).fit(X, y)
        penalised = MLPClassifier(alpha=0.5, **kwargs).fit(X, y)
    # same initial weights; the loss is taken before the one (tiny) step: the penalty of the initial weights
    squares = sum(float(np.sum(w.astype(np.float64) ** 2)) for w in penalised.coefs_)
    assert penalised.loss_curve_[0] - plain.loss_curve_[0] == pytest.approx(0.25 * squares / len(X), rel=1e-4)
