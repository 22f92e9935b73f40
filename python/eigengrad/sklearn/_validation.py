"""Input checks through scikit-learn's own validation, across its versions (1.3 and later)."""
from __future__ import annotations

from numbers import Integral, Real

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, X="no_validation", y="no_validation", **kwargs):
        return est._validate_data(X, y, **kwargs)


def validate_data(est, X, y="no_validation", **kwargs):
    """``sklearn.utils.validation.validate_data``: checks X (and y), records or checks
    ``n_features_in_``/``feature_names_in_`` (``reset=True`` in fit, False after)."""
    return _validate_data(est, X, y, **kwargs)


def check_int(name: str, value, low: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")
    return int(value)


def check_real(name: str, value, low: float, high: float = float("inf"), *, low_open: bool = False,
               high_open: bool = False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: expected a real number in {lo}{low}, {high}{hi}, got {value!r}")
    return float(value)


def check_hidden_layer_sizes(value) -> tuple[int, ...]:
    """An int or a sequence of positive ints (scikit-learn accepts both)."""
    sizes = (value,) if isinstance(value, Integral) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"hidden_layer_sizes: expected an int or a sequence of ints, got {value!r}") from None
    if any(not isinstance(s, Integral) or isinstance(s, bool) or s < 1 for s in sizes):
        raise ValueError(f"hidden_layer_sizes: expected positive ints, got {value!r}")
    return tuple(int(s) for s in sizes)


def check_params(est) -> None:
    """Check the numeric hyperparameters (the estimator checks its string choices against its tables)."""
    check_hidden_layer_sizes(est.hidden_layer_sizes)
    check_real("alpha", est.alpha, 0.0)
    check_real("learning_rate_init", est.learning_rate_init, 0.0, low_open=True)
    check_real("power_t", est.power_t, 0.0)
    check_int("max_iter", est.max_iter, 1)
    check_real("tol", est.tol, 0.0)
    check_real("momentum", est.momentum, 0.0, 1.0)
    check_real("validation_fraction", est.validation_fraction, 0.0, 1.0, low_open=True, high_open=True)
    check_real("beta_1", est.beta_1, 0.0, 1.0, high_open=True)
    check_real("beta_2", est.beta_2, 0.0, 1.0, high_open=True)
    check_real("epsilon", est.epsilon, 0.0, low_open=True)
    check_int("n_iter_no_change", est.n_iter_no_change, 1)
    check_real("dropout", est.dropout, 0.0, 1.0, high_open=True)
    check_real("weight_decay", est.weight_decay, 0.0)
    if est.batch_size != "auto":
        check_int("batch_size", est.batch_size, 1)
    for name in ("optimizer_kwargs", "scheduler_kwargs"):
        if getattr(est, name) is not None and not isinstance(getattr(est, name), dict):
            raise TypeError(f"{name}: expected a dict or None, got {type(getattr(est, name)).__name__}")
    if str(est.dtype) not in ("float32", "float64"):
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {est.dtype!r}")
