"""scikit-learn's per-epoch bookkeeping and stopping rule, as an ``eigengrad.train`` callback.

After each epoch (``_update_no_improvement_count`` in scikit-learn's ``_multilayer_perceptron.py``):

* without early stopping, an epoch "does not improve" when ``loss > best_loss - tol``;
* with early stopping, when ``score < best_validation_score + tol`` on the held-out split, and the
  weights of the best score so far are kept (restored when training ends);
* after more than ``n_iter_no_change`` such epochs in a row, ``learning_rate='adaptive'`` divides the
  rate by 5 (and stops once it is <= 1e-6); every other schedule stops.

``learning_rate='invscaling'`` sets ``lr = learning_rate_init / (t + 1) ** power_t`` at each epoch's end,
``t`` the number of training samples seen so far (scikit-learn's ``t_``).
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from eigengrad.train import Callback
from eigengrad.utils.state_tree import snapshot_state

logger = logging.getLogger("eigengrad.sklearn")


class SklearnStopping(Callback):
    """Records ``loss_curve_``, ``validation_scores_`` etc. on ``est`` and stops as scikit-learn does.

    Args:
        est: the estimator (its attributes are updated in place).
        n_train: training samples per epoch (added to ``est.t_``).
        val_score: ``f(model) -> float``, the validation score, or None without early stopping.
    """

    def __init__(self, est, n_train: int, val_score: Callable | None = None) -> None:
        self.est, self.n_train, self.val_score = est, n_train, val_score
        self.no_improvement = 0
        self.best_weights: dict[str, np.ndarray] | None = None
        self.converged = False
        self.level = logging.INFO if est.verbose else logging.DEBUG  # verbose=False: quiet under INFO logging

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = logs["loss"]
        est.loss_curve_.append(est.loss_)
        if self.val_score is None:
            self._update_on_loss(est.loss_)
        else:
            self._update_on_score(trainer.model, self.val_score(trainer.model))
        if est.learning_rate == "invscaling":
            _set_lr(trainer.optimizer, est.learning_rate_init / (est.t_ + 1) ** est.power_t)
        if self.no_improvement > est.n_iter_no_change:
            self._trigger_stopping(trainer)

    def _update_on_loss(self, loss: float) -> None:
        est = self.est
        logger.log(self.level, "Iteration %d, loss = %.8f", est.n_iter_, loss)
        self.no_improvement = self.no_improvement + 1 if not loss <= est.best_loss_ - est.tol else 0
        if loss < est.best_loss_:
            est.best_loss_ = loss

    def _update_on_score(self, model, score: float) -> None:
        est = self.est
        est.validation_scores_.append(score)
        logger.log(self.level, "Iteration %d, loss = %.8f, validation score = %f", est.n_iter_, est.loss_, score)
        self.no_improvement = self.no_improvement + 1 if not score >= est.best_validation_score_ + est.tol else 0
        if score > est.best_validation_score_ or self.best_weights is None:
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
            self.best_weights = snapshot_state(model)

    def _trigger_stopping(self, trainer) -> None:
        est = self.est
        what = "Validation score" if self.val_score is not None else "Training loss"
        msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
        lr = trainer.optimizer.param_groups[0]["lr"]
        if est.learning_rate == "adaptive" and lr > 1e-6:
            _set_lr(trainer.optimizer, lr / 5.0)
            logger.log(self.level, "%s Setting learning rate to %f", msg, lr / 5.0)
            self.no_improvement = 0
            return
        logger.log(self.level, "%s Stopping.", msg)
        self.converged = True
        trainer.stop_training = True

    def on_train_end(self, trainer) -> None:
        if self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)


def _set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
