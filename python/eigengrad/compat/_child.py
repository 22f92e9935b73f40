"""Imported first by a process that a compat run starts with the ``spawn`` or ``forkserver`` method: such a
process imports the script afresh (as ``__mp_main__``), so ``import torch`` there must resolve to eigengrad
as it does in the parent (without this it would import a real PyTorch when one is installed, or fail). The
alias stays for the child's whole life: the child belongs to the compat run."""
from eigengrad.compat import install_for_child

install_for_child()
