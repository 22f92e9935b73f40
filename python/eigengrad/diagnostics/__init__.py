"""Seeing inside training: per-layer gradient norms and update ratios (:class:`GradientMonitor`, a fit
callback that warns when gradients vanish or explode) and per-layer activation statistics
(:func:`activation_stats`), the lessons on initialisation and deep networks made visible."""
from eigengrad.diagnostics.activations import ActivationStats, LayerStats, activation_stats
from eigengrad.diagnostics.gradients import GradientMonitor, GradientWarning

__all__ = ["GradientMonitor", "GradientWarning", "activation_stats", "ActivationStats", "LayerStats"]
