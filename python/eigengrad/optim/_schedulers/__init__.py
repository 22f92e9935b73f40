"""Implementation of :mod:`eigengrad.optim.lr_scheduler`, one family of schedulers per module."""
