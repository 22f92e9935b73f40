"""PyTorch's path ``torch.utils.data`` for ``eigengrad.data``: ``from eigengrad.utils.data import DataLoader``
and ``from eigengrad.utils.data.sampler import Sampler`` give eigengrad.data's own objects (this package
registers eigengrad.data and each of its modules under this name, so no module is loaded twice)."""
import importlib
import pkgutil
import sys

import eigengrad.data as _data


def _alias_all() -> None:
    for info in pkgutil.walk_packages(_data.__path__, prefix="eigengrad.data."):
        module = importlib.import_module(info.name)
        sys.modules[__name__ + info.name[len("eigengrad.data"):]] = module
    sys.modules[__name__] = _data


_alias_all()
