"""``torch.utils.data._utils.collate``: eigengrad's ``default_collate``, ``default_convert``, ``collate`` and
``default_collate_fn_map`` (the documented way to extend default_collate) at the private path scripts import them
from (see :mod:`eigengrad.data.collate`)."""
from eigengrad.data.collate import collate, default_collate, default_collate_fn_map, default_convert  # noqa: F401
