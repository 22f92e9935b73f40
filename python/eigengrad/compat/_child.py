"""Imported first by a process that a compat run starts with the ``spawn`` or ``forkserver`` method: such a
process imports the script afresh (as ``__mp_main__``), so ``import torch`` there must resolve to eigengrad
as it does in the parent (without this it would import a real PyTorch when one is installed, or fail). The
alias stays for the child's whole life: the child belongs to the compat run. Only a process started inside
the alias (the environment variable it sets) installs it: importing this module anywhere else (a tool
that imports every module of the package) changes nothing."""
import os

from eigengrad.compat import CHILD_ENV, install_for_child

if os.environ.get(CHILD_ENV) == "1":
    install_for_child()
