"""The 8x8 handwritten digits: eigengrad's embedded default dataset (no download needed)."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

_DESCR = (
    "Optical Recognition of Handwritten Digits (UCI ML repository, test part): 1,797 8x8 images of "
    "handwritten digits 0-9, pixel values 0..16. Alpaydin & Kaynak (1998), CC BY 4.0, "
    "https://doi.org/10.24432/C50P49"
)


@dataclass(frozen=True)
class Digits:
    """The digits data, shaped like scikit-learn's ``load_digits()`` result.

    Attributes:
        data: float64 (1797, 64), pixel values 0..16, one flattened image per row.
        images: float64 (1797, 8, 8), the same pixels as images.
        target: int64 (1797,), the digit 0..9 of each image.
        target_names: int64 (10,), the class labels 0..9.
        DESCR: where the data comes from and its licence.
    """

    data: np.ndarray
    images: np.ndarray
    target: np.ndarray
    target_names: np.ndarray
    DESCR: str = _DESCR


def load_digits(*, return_X_y: bool = False):
    """Load the 1,797 8x8 handwritten digits shipped inside the package.

    Same samples, order and dtypes as ``sklearn.datasets.load_digits``.

    Args:
        return_X_y: if True return ``(data, target)`` instead of a :class:`Digits`.
    """
    with resources.files("eigengrad.datasets").joinpath("data/digits.npz").open("rb") as f:
        with np.load(f) as npz:
            images = npz["images"].astype(np.float64)
            target = npz["target"].astype(np.int64)
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Digits(data=data, images=images, target=target, target_names=np.arange(10, dtype=np.int64))
