"""``MLPClassifier``: scikit-learn's MLP classifier interface over an eigengrad network."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from eigengrad import nn
from eigengrad.sklearn import _docs
from eigengrad.sklearn._validation import check_real
from eigengrad.sklearn.base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained with eigengrad (C++ kernels), with scikit-learn's
    interface: usable in ``Pipeline``, ``GridSearchCV``, ``cross_val_score``.

    Multiclass targets are trained with softmax cross-entropy (binary ones too, with two output units;
    the model is the same as scikit-learn's single logistic unit), multi-label indicator matrices with
    per-label sigmoid cross-entropy summed over labels (scikit-learn's loss).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, dropout=0.0, batch_norm=False, weight_decay=0.0,
                 optimizer_kwargs=None, scheduler_kwargs=None, dtype="float32", label_smoothing=0.0,
                 compile="auto"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, dropout=dropout, batch_norm=batch_norm, weight_decay=weight_decay,
            optimizer_kwargs=optimizer_kwargs, scheduler_kwargs=scheduler_kwargs, dtype=dtype, compile=compile)
        self.label_smoothing = label_smoothing

    # --- targets and loss ---------------------------------------------------------------------------
    def _prepare_targets(self, y, reset: bool) -> np.ndarray:
        """Class indices (int64) for class labels, a float 0/1 matrix for a label indicator matrix."""
        check_real("label_smoothing", self.label_smoothing, 0.0, 1.0)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":
            raise ValueError("y: multiclass-multioutput targets are not supported; expected class labels or a "
                             "label indicator matrix")
        multilabel = kind == "multilabel-indicator"
        if reset:
            self._multilabel = multilabel
            self._encoder = None if multilabel else LabelEncoder().fit(y)
            self.classes_ = np.arange(y.shape[1]) if multilabel else self._encoder.classes_
            self.n_outputs_ = y.shape[1] if multilabel else (1 if len(self.classes_) <= 2 else len(self.classes_))
        elif multilabel != self._multilabel or (multilabel and y.shape[1] != len(self.classes_)):
            raise ValueError("y: warm_start needs targets of the same kind and labels as the previous fit")
        if multilabel:
            return np.ascontiguousarray(y, dtype=np.dtype(self.dtype))
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y: warm_start needs the classes of the previous fit {list(self.classes_)}; "
                             f"got new labels {list(unseen)}")
        return self._encoder.transform(y).astype(np.int64)

    def _n_network_outputs(self) -> int:
        return len(self.classes_)

    def _loss(self):
        if self._multilabel:
            return nn.BCEWithLogitsLoss(), float(len(self.classes_))
        return nn.CrossEntropyLoss(label_smoothing=float(self.label_smoothing)), 1.0

    def _score_outputs(self, outputs: np.ndarray, target: np.ndarray) -> float:
        if self._multilabel:
            return float(np.mean(np.all((outputs > 0) == (target > 0.5), axis=1)))
        return float(np.mean(outputs.argmax(axis=1) == target))

    # --- prediction ---------------------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        """Class labels (or a 0/1 indicator matrix for multi-label targets) of ``X``."""
        logits = self._forward(X)
        if self._multilabel:
            return (logits > 0).astype(np.int64)
        return self.classes_[logits.argmax(axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably from the logits."""
        logits = self._forward(X).astype(np.float64)
        if self._multilabel:
            return -np.logaddexp(0.0, -logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): softmax of the logits (per-label sigmoid
        for multi-label targets), in float64."""
        return np.exp(self.predict_log_proba(X))

    @property
    def out_activation_(self) -> str:
        """scikit-learn's output activation: 'logistic' (binary, multi-label) or 'softmax'."""
        check_is_fitted(self, "classes_")
        return "logistic" if self._multilabel or len(self.classes_) <= 2 else "softmax"

    def _sklearn_output(self, coef: np.ndarray, intercept: np.ndarray) -> tuple:
        """A binary problem is trained with two softmax units; scikit-learn's model is one logistic unit
        of the logit difference, so its weights are the difference of the two units' (a copy)."""
        if self._multilabel or coef.shape[1] != 2:
            return coef, intercept
        return coef[:, 1:] - coef[:, :1], intercept[1:] - intercept[:1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"multilabel": True}


MLPClassifier.__doc__ += _docs.PARAMETERS + """    label_smoothing : float, default=0.0
        Cross-entropy label smoothing (multiclass targets; not in scikit-learn).
""" + _docs.ATTRIBUTES + """    classes_ : ndarray
        The class labels (0 .. n_labels - 1 for a label indicator matrix).
"""
