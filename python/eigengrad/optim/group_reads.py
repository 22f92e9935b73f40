"""An optimizer's parameter group: a dict (PyTorch's type for ``param_groups[i]``), which tells an active
``eg.compile`` trace when the step's own code reads a hyperparameter from it.

A compiled step reads ``lr``, the betas, the weight decay... from the groups at every replay where eigengrad
reads them (the optimizer's step, a scheduler's step). A value the user's code reads inside the step (a
hand-written weight decay ``p.mul_(1 - group["lr"] * wd)``, a learning rate returned as a tensor) is frozen
into the plan by the trace: when a scheduler later changes it, a replay would silently use the old value.
So such a read makes the step fall back, naming it. Outside a trace the check is one list read."""
from __future__ import annotations

import sys

from eigengrad import _trace


class ParamGroup(dict):
    """``dict`` with the trace check of the module docstring on ``group[key]``."""

    __slots__ = ()

    def __getitem__(self, key):
        if (_trace.ACTIVE[0] is not None and key != "params"
                and not sys._getframe(1).f_code.co_filename.startswith(_trace.LIBRARY)):
            _trace.reject(f"the step reads an optimizer's param_groups[...][{key!r}] in Python: a replay would use "
                          "the traced value (pass it to the step as a tensor, or read it outside the step)")
        return dict.__getitem__(self, key)
