"""What :class:`MLPClassifier` and :class:`MLPRegressor` share: parameters, the fit loop, prediction.

The fit loop is ``eigengrad.train.Trainer`` with one callback (:class:`SklearnStopping`) that keeps
scikit-learn's fitted attributes and stopping rule. A subclass gives the target handling
(``_prepare_targets``), the loss (``_loss``), the output size and the validation score.
"""
from __future__ import annotations

import abc
import contextlib
import logging
import warnings
from typing import Iterator

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from eigengrad import nn
from eigengrad import random as eg_random
from eigengrad.data import DataLoader, TensorDataset
from eigengrad.nn.utils import decay_parameters
from eigengrad.sklearn._convergence import SklearnStopping
from eigengrad.sklearn._network import PenalizedLoss, build_mlp
from eigengrad.sklearn._options import choice, make_optimizer, make_scheduler, ACTIVATIONS, LEARNING_RATES, SOLVERS
from eigengrad.sklearn._validation import check_hidden_layer_sizes, check_params, validate_data
from eigengrad.train import Trainer
from eigengrad.train import predict as eg_predict

logger = logging.getLogger("eigengrad.sklearn")
_PREDICT_BATCH = 4096  # rows per forward pass in predict: large enough to amortise the per-call cost


class BaseMLP(BaseEstimator, metaclass=abc.ABCMeta):
    """Base of the eigengrad MLP estimators; see :class:`MLPClassifier` for the parameters."""

    _y_numeric = False  # regressors: y must be numeric

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, dropout=0.0, batch_norm=False, weight_decay=0.0,
                 optimizer_kwargs=None, scheduler_kwargs=None, dtype="float32", compile="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.weight_decay = weight_decay
        self.optimizer_kwargs = optimizer_kwargs
        self.scheduler_kwargs = scheduler_kwargs
        self.dtype = dtype
        self.compile = compile

    # --- to be given by subclasses ------------------------------------------------------------------
    @abc.abstractmethod
    def _prepare_targets(self, y, reset: bool) -> np.ndarray:
        """The training target array (class indices or a float matrix); sets the target attributes."""

    @abc.abstractmethod
    def _loss(self):
        """``(loss_fn, scale)``: the mean loss over the batch and the factor to scikit-learn's loss."""

    @abc.abstractmethod
    def _n_network_outputs(self) -> int:
        """The width of the network's output layer."""

    @abc.abstractmethod
    def _score_outputs(self, outputs: np.ndarray, target: np.ndarray) -> float:
        """The validation score (accuracy or R^2) of raw network outputs against prepared targets."""

    # --- fitting ------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit the model to ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, n_outputs).

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental: bool):
        check_params(self)
        self._check_choices()
        first = not hasattr(self, "model_") or not (self.warm_start or incremental)
        X, y = validate_data(self, X, y, reset=first, dtype=np.dtype(self.dtype), order="C", multi_output=True,
                             y_numeric=self._y_numeric)
        target = self._prepare_targets(y, reset=first)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with _verbose_logging(self.verbose), _seeded_default_generator(seed):
            if first:
                self._initialize(X.shape[1], seed)
            self._train(X, target, seed, incremental)
        return self

    def _check_choices(self) -> None:
        choice("activation", self.activation, ACTIVATIONS)
        choice("solver", self.solver, SOLVERS)
        choice("learning_rate", self.learning_rate, LEARNING_RATES)

    def _initialize(self, n_features: int, seed: int) -> None:
        """A new network and fresh fitted attributes (scikit-learn's ``_initialize``)."""
        sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        self.model_ = build_mlp(n_features, sizes,
                                self._n_network_outputs(), activation=self.activation, dropout=float(self.dropout),
                                batch_norm=bool(self.batch_norm), dtype=np.dtype(self.dtype),
                                generator=eg_random.Generator(seed))
        self.n_layers_ = len(sizes) + 2
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_ = []
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _train(self, X: np.ndarray, target: np.ndarray, seed: int, incremental: bool) -> None:
        if self.early_stopping and incremental:
            raise ValueError("early_stopping: partial_fit does not support early_stopping=True")
        X_train, target_train, val_score = self._split(X, target, seed)
        batch_size = self._batch_size(len(X_train))
        loader = DataLoader(TensorDataset(X_train, target_train), batch_size=batch_size, shuffle=bool(self.shuffle),
                            generator=eg_random.Generator(seed + 1),
                            drop_last=bool(self.batch_norm) and len(X_train) % batch_size == 1)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = make_optimizer(self, self.model_.parameters())
        scheduler = make_scheduler(self, self._optimizer, len(loader))
        stopping = SklearnStopping(self, len(X_train), val_score)
        loss_fn, scale = self._loss()
        loss = PenalizedLoss(loss_fn, decay_parameters(self.model_), self.alpha, scale)  # the layers' weights
        trainer = Trainer(self.model_, loss, self._optimizer, scheduler=scheduler, metrics=(),
                          callbacks=[loss, stopping], progress=False, compile=self._use_compile(incremental))
        if not incremental:
            self.n_iter_ = 0
        trainer.fit(loader, epochs=1 if incremental else self.max_iter)
        self.history_ = trainer.history
        if not incremental and not stopping.converged and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                          "hasn't converged yet.", ConvergenceWarning)

    def _use_compile(self, incremental: bool) -> bool:
        """Whether this fit runs its batch step compiled (``compile``: True, False or 'auto')."""
        if self.compile == "auto":  # every loss and activation of the estimators is a plan step
            return not incremental
        if not isinstance(self.compile, (bool, np.bool_)):
            raise ValueError(f"compile: expected True, False or 'auto', got {self.compile!r}")
        return bool(self.compile)

    def _split(self, X: np.ndarray, target: np.ndarray, seed: int):
        """``(X_train, target_train, val_score)``: the early-stopping split (stratified for single-output
        classifiers, as scikit-learn) and the function scoring the model on it."""
        if not self.early_stopping:
            return X, target, None
        stratify = target if target.ndim == 1 else None
        X_train, X_val, t_train, t_val = train_test_split(X, target, test_size=self.validation_fraction,
                                                          random_state=seed, stratify=stratify)
        if X_val.shape[0] < 2:
            raise ValueError("validation_fraction: the validation set is too small "
                             f"({X_val.shape[0]} samples); increase validation_fraction or the data")

        def val_score(model) -> float:
            return self._score_outputs(eg_predict(model, X_val, batch_size=_PREDICT_BATCH), t_val)

        return np.ascontiguousarray(X_train), np.ascontiguousarray(t_train), val_score

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(f"batch_size: {self.batch_size} is larger than the {n_samples} training samples; "
                          "it is clipped to the number of samples")
        if self.batch_norm and min(self.batch_size, n_samples) < 2:
            raise ValueError("batch_size: batch_norm needs batches of at least 2 samples")
        return min(self.batch_size, n_samples)

    # --- prediction ---------------------------------------------------------------------------------
    def _forward(self, X) -> np.ndarray:
        """The network's raw outputs for ``X`` (eval mode: dropout off, BatchNorm's running statistics)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.dtype), order="C")
        return eg_predict(self.model_, X, batch_size=_PREDICT_BATCH)

    # --- scikit-learn's view of the weights ------------------------------------------------------------
    @property
    def coefs_(self) -> list:
        """The weights of the Linear layers as scikit-learn holds them: ``coefs_[i]`` has shape
        (fan_in, fan_out), the transpose of PyTorch's layout; a view of the parameter (writing into it
        changes the network), except a binary classifier's last one (see :meth:`_sklearn_output`)."""
        return self._sklearn_layers()[0]

    @property
    def intercepts_(self) -> list:
        """The biases of the Linear layers (``intercepts_[i]`` of shape (fan_out,)), as scikit-learn's."""
        return self._sklearn_layers()[1]

    def _sklearn_layers(self) -> tuple[list, list]:
        check_is_fitted(self, "model_")
        layers = [m for m in self.model_.modules() if isinstance(m, nn.Linear)]
        coefs = [layer.weight.detach().numpy().T for layer in layers]
        intercepts = [layer.bias.detach().numpy() for layer in layers]
        coefs[-1], intercepts[-1] = self._sklearn_output(coefs[-1], intercepts[-1])
        return coefs, intercepts

    def _sklearn_output(self, coef: np.ndarray, intercept: np.ndarray) -> tuple:
        """The output layer as scikit-learn has it (the same as the network's unless overridden)."""
        return coef, intercept

    # --- pickling -----------------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_optimizer", None)  # training state; a restored estimator's partial_fit starts a new one
        return state


@contextlib.contextmanager
def _seeded_default_generator(seed: int) -> Iterator[None]:
    """Run with eigengrad's default generator (dropout masks) seeded from ``seed``, then put the
    caller's stream back, so a fit is reproducible and leaves the global stream untouched. Not
    thread-safe: do not fit eigengrad estimators in several threads of one process at once."""
    g = eg_random.default_generator
    saved = g.get_state()
    g.manual_seed(seed + 2)
    try:
        yield
    finally:
        g.set_state(saved)


@contextlib.contextmanager
def _verbose_logging(verbose) -> Iterator[None]:
    """``verbose=True``: the per-epoch INFO messages are shown (on stderr when logging is not set up)."""
    if not verbose:
        yield
        return
    level = logger.level
    handler = None if logging.getLogger().hasHandlers() else logging.StreamHandler()
    logger.setLevel(logging.INFO)
    if handler is not None:
        logger.addHandler(handler)
    try:
        yield
    finally:
        logger.setLevel(level)
        if handler is not None:
            logger.removeHandler(handler)
