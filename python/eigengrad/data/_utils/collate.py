"""``torch.utils.data._utils.collate``: eigengrad's ``default_collate`` and ``default_convert`` at the private path
scripts import them from (see :mod:`eigengrad.data.collate`)."""
from eigengrad.data.collate import default_collate, default_convert  # noqa: F401
