"""``eg.compile``: a training step (or a module's forward) traced once and replayed as a plan of kernel
calls over one arena. See docs/compile.md.

Files: ``recorder`` (the tracer: kernel calls by role), ``roles`` (what each supported kernel reads and
writes), ``plan`` (liveness, arena, the bound replay, ``explain``), ``state`` (the modules and
optimizers a step uses, its signature, snapshots), ``api`` (``compile``, the cache, checks, fallbacks).
"""
from __future__ import annotations

from eigengrad.compile.api import CompiledFunction


def compile(fn=None, *, verify: bool = True, max_plans: int = 8, modules=(), optimizers=(), fullgraph: bool = False,
            dynamic=None, backend="inductor", mode=None, options=None, disable: bool = False):
    """Compile a training step (a function) or the forward of a Module.

    ``@eg.compile`` over ``def step(x, y): opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    opt.step(); return loss``: the first call for a signature traces the step while running it eagerly,
    a second call traces again and must record the same operations, a third replays the plan and checks
    it against eager mode bit for bit (``verify``), later calls replay it. The signature is the
    arguments' shapes and dtypes (and hashable Python arguments' values), grad mode, every module's
    training flag, the optimizers' structure and which parameters have a gradient; up to ``max_plans``
    signatures are kept. Optimizer hyperparameters (schedulers), step counts, the random generators and
    BatchNorm's running statistics are read at every replay. What cannot be replayed (``.item()``,
    ``.numpy()``, control flow on values, hooks, a replaced parameter, a shape that depends on values)
    makes the function run eagerly from then on, with one warning naming the reason.

    The modules and optimizers the step uses are found in its closure and globals; pass others as
    ``modules``/``optimizers``. ``eg.compile(model)`` returns an ``OptimizedModule`` (PyTorch's
    ``torch.compile(model)``): the model as ``_orig_mod``, trained and saved through it as in PyTorch; a call
    that records gradients runs the model eagerly, one that does not (``no_grad``, inference) the compiled
    forward.

    PyTorch's ``torch.compile`` arguments are accepted, so that its scripts run unchanged: ``disable=True``
    returns ``fn`` itself; ``fullgraph``, ``dynamic``, ``backend``, ``mode`` and ``options`` choose among
    PyTorch's compilers and have no effect here (eigengrad has one).
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if disable:
        return fn if fn is not None else (lambda f: f)
    if fn is None:
        return lambda f: compile(f, verify=verify, max_plans=max_plans, modules=modules, optimizers=optimizers)
    from eigengrad.nn.modules.module import Module

    if isinstance(fn, Module):
        from eigengrad.compile.module import OptimizedModule

        return OptimizedModule(fn, CompiledFunction(fn.__call__, modules=(fn, *modules), optimizers=optimizers,
                                                    verify=verify, max_plans=max_plans))
    if not callable(fn):
        raise TypeError(f"fn: expected a function or a Module, got {type(fn).__name__}")
    return CompiledFunction(fn, modules=modules, optimizers=optimizers, verify=verify, max_plans=max_plans)


# torch.compile's modes: checked as PyTorch checks them, none changes eigengrad's compiler
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")

__all__ = ["compile", "CompiledFunction"]
