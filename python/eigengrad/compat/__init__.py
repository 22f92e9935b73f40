"""Run PyTorch programs on eigengrad by changing nothing but the module names.

    from eigengrad.compat import torch_alias
    with torch_alias():
        import torch, torch.nn as nn            # eigengrad, eigengrad.nn
        from torch.utils.data import DataLoader  # eigengrad.data.DataLoader

or, for a whole script, ``python -m eigengrad.compat train.py --its --own --arguments``.

While the alias is active, ``torch`` is ``eigengrad`` and every ``torch.X`` is ``eigengrad.X``
(``torch.utils.data`` is ``eigengrad.data``): a finder at the front of ``sys.meta_path`` imports the
eigengrad module and registers it under the torch name. Nothing else is translated, so what runs is
eigengrad's own API under PyTorch's names; a ``torch.X`` with no eigengrad counterpart (``torch.onnx``,
``torch.distributed``...) is a ModuleNotFoundError saying so. Entries the process already had under
``torch`` (a real PyTorch imported before) are set aside and put back when the alias ends.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import importlib.abc
import importlib.machinery
import sys
from typing import Iterator

__all__ = ["torch_alias", "eigengrad_name"]

# torch names whose eigengrad module has another name (a prefix maps its submodules too)
_RENAMED = {"torch.utils.data": "eigengrad.data"}


def eigengrad_name(torch_name: str) -> str:
    """The eigengrad module that stands for ``torch_name`` (``torch.nn.functional`` ->
    ``eigengrad.nn.functional``, ``torch.utils.data.dataloader`` -> ``eigengrad.data.dataloader``)."""
    for prefix, target in _RENAMED.items():
        if torch_name == prefix or torch_name.startswith(prefix + "."):
            return target + torch_name[len(prefix):]
    return "eigengrad" + torch_name[len("torch"):]


def _is_torch(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an already imported eigengrad module, leaving its own spec in place."""

    def __init__(self, module) -> None:
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import system set the alias spec: the module keeps its own


class _TorchFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not _is_torch(fullname):
            return None
        name = eigengrad_name(fullname)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and not name.startswith(e.name) and not e.name.startswith(name):
                raise  # the eigengrad module exists but needs something missing: say that
            raise ModuleNotFoundError(f"No module named {fullname!r}: eigengrad has no counterpart of it "
                                      f"(eigengrad.compat runs {fullname} as {name})", name=fullname) from None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))


@contextlib.contextmanager
def torch_alias() -> Iterator[None]:
    """Within the block, ``import torch`` (and every ``torch.X``) imports eigengrad's module of that name;
    processes started in it by ``spawn`` or ``forkserver`` get the alias too (see ``_child``)."""
    saved = {k: sys.modules.pop(k) for k in [k for k in sys.modules if _is_torch(k)]}
    finder = _TorchFinder()
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module("torch")
        with _children_aliased():
            yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if _is_torch(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def install_for_child() -> None:
    """The alias for the rest of this process (a child of a compat run), its own children included."""
    if not any(isinstance(f, _TorchFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchFinder())
        importlib.import_module("torch")
        global _FOR_LIFE
        _FOR_LIFE = _children_aliased()  # held: a collected generator would run its finally and undo it
        _FOR_LIFE.__enter__()


_CHILD = "eigengrad.compat._child"
CHILD_ENV = "EIGENGRAD_COMPAT_CHILD"  # set while the alias is active: what a child inherits says it is one
_FOR_LIFE = None


@contextlib.contextmanager
def _children_aliased() -> Iterator[None]:
    """A spawned child runs ``python -c 'from multiprocessing.spawn import spawn_main; ...'``: its program
    imports ``_child`` first. A forkserver imports ``_child`` among its preloads, so the children it forks
    have the alias. The environment variable CHILD_ENV, which children inherit, lets ``_child`` act only
    there. All are put back as they were when the block ends."""
    from multiprocessing import forkserver, spawn

    command_line = spawn.get_command_line

    def aliased_command_line(**kwds):
        cmd = command_line(**kwds)
        i = cmd.index("-c") + 1
        cmd[i] = f"import {_CHILD}; " + cmd[i]
        return cmd

    server = forkserver._forkserver
    preload = list(server._preload_modules)
    env = os.environ.get(CHILD_ENV)
    spawn.get_command_line = aliased_command_line
    server._preload_modules = [_CHILD] + [m for m in preload if m != _CHILD]
    os.environ[CHILD_ENV] = "1"
    try:
        yield
    finally:
        spawn.get_command_line = command_line
        server._preload_modules = preload
        if env is None:
            os.environ.pop(CHILD_ENV, None)
        else:
            os.environ[CHILD_ENV] = env
