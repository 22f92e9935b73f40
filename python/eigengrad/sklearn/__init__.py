"""scikit-learn estimators over eigengrad networks: :class:`MLPClassifier`, :class:`MLPRegressor`.

    from eigengrad.sklearn import MLPClassifier
    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(MLPClassifier(max_iter=50), {"alpha": [1e-4, 1e-3], "dropout": [0.0, 0.2]})

They follow scikit-learn's ``MLPClassifier``/``MLPRegressor`` (parameter names, defaults, fitted
attributes, stopping rule) and add dropout, batch norm, more activations, every eigengrad optimizer
and schedule. scikit-learn is an optional dependency (``pip install eigengrad[sklearn]``): this
subpackage needs it, ``import eigengrad`` does not import it.
"""
try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("eigengrad.sklearn needs scikit-learn: pip install scikit-learn "
                      "(or pip install 'eigengrad[sklearn]')") from exc

from eigengrad.sklearn.classifier import MLPClassifier
from eigengrad.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
