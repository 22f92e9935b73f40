"""``MLPRegressor``: scikit-learn's MLP regressor interface over an eigengrad network."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted, column_or_1d

from eigengrad import nn
from eigengrad.sklearn import _docs
from eigengrad.sklearn.base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained with eigengrad (C++ kernels), with scikit-learn's
    interface. Identity output units and scikit-learn's squared loss
    ``1/2 * mean over samples and outputs of (y - f(x))^2``; 1-D or 2-D targets.
    """

    _y_numeric = True

    def _prepare_targets(self, y, reset: bool) -> np.ndarray:
        """A float (n_samples, n_outputs) matrix; a column vector y is flattened with a warning, as
        scikit-learn does."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if reset:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y: warm_start needs {self.n_outputs_} outputs as the previous fit, got {n_outputs}")
        return np.ascontiguousarray(y.reshape(len(y), n_outputs), dtype=np.dtype(self.dtype))

    def _n_network_outputs(self) -> int:
        return self.n_outputs_

    @property
    def out_activation_(self) -> str:
        """scikit-learn's output activation of a regressor: 'identity'."""
        check_is_fitted(self, "n_outputs_")
        return "identity"

    def _loss(self):
        return nn.MSELoss(), 0.5

    def _score_outputs(self, outputs: np.ndarray, target: np.ndarray) -> float:
        return float(r2_score(target, outputs))

    def predict(self, X) -> np.ndarray:
        """Predictions in float64 (scikit-learn's convention for regressors), shape (n_samples,) for 1-D
        targets, else (n_samples, n_outputs)."""
        out = self._forward(X).astype(np.float64)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"multioutput": True}


MLPRegressor.__doc__ += _docs.PARAMETERS + _docs.ATTRIBUTES
