"""MNIST and Fashion-MNIST from their IDX files.

Without ``root`` the files are looked for, in order, in ``$EIGENGRAD_DATA/<name>``, the user cache
directory (``$XDG_CACHE_HOME/eigengrad/<name>``, by default ``~/.cache/eigengrad/<name>``) and
``/usr/share/datasets/<name>`` (where Debian's ``dataset-fashion-mnist`` package installs). With
``download=True`` and a reachable network, missing files are fetched from the canonical source into
the cache directory and their MD5 checked. When nothing is found, the error lists every place tried.
"""
from __future__ import annotations

import logging
import os
import tempfile

import numpy as np

from eigengrad.datasets.idx import read_idx

logger = logging.getLogger(__name__)

_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_SOURCES = {  # name -> (base URL, {file.gz: MD5 of the published file}), torchvision's checksums
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")


def fashion_mnist(root: str | os.PathLike | None = None, train: bool = True, *, download: bool = False):
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; MIT licence): ``(images, labels)``, images uint8
    (60,000 or 10,000, 28, 28), labels int64 0..9 (see ``FASHION_MNIST_CLASSES``)."""
    return _load("fashion-mnist", root, train, download)


def mnist(root: str | os.PathLike | None = None, train: bool = True, *, download: bool = False):
    """MNIST handwritten digits (LeCun et al. 1998): ``(images, labels)``, images uint8
    (60,000 or 10,000, 28, 28), labels int64 0..9."""
    return _load("mnist", root, train, download)


def cache_dir(name: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "eigengrad", name)


def search_dirs(name: str, root=None) -> list[str]:
    """The folders looked in, in order."""
    if root is not None:
        return [os.fspath(root)]
    dirs = [os.path.join(os.environ["EIGENGRAD_DATA"], name)] if os.environ.get("EIGENGRAD_DATA") else []
    return dirs + [cache_dir(name), os.path.join("/usr/share/datasets", name)]


def _load(name: str, root, train: bool, download: bool):
    if not isinstance(train, bool):
        raise TypeError(f"train: expected True or False, got {train!r}")
    paths = [_find(name, stem, root, download) for stem in _FILES[train]]
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{paths[0]}: expected uint8 images of shape (N, rows, cols), got {images.dtype} "
                         f"{images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{paths[1]}: expected {images.shape[0]} labels (one per image of {paths[0]}), got "
                         f"shape {labels.shape}")
    return images, labels.astype(np.int64)


def _find(name: str, stem: str, root, download: bool) -> str:
    dirs = search_dirs(name, root)
    tried = []
    for d in dirs:
        for filename in (stem + ".gz", stem):
            path = os.path.join(d, filename)
            tried.append(path)
            if os.path.isfile(path):
                return path
    if download and root is None:
        try:
            return _download(name, stem + ".gz")
        except OSError as err:
            tried.append(f"{_SOURCES[name][0]}{stem}.gz (download failed: {err})")
    hint = ("apt-get install dataset-fashion-mnist (Debian), or " if name == "fashion-mnist" else "")
    raise FileNotFoundError(
        f"{name}: {stem}[.gz] not found. Tried:\n  " + "\n  ".join(tried) +
        f"\nTo get it: {hint}download the IDX files from {_SOURCES[name][0]} into one of these folders "
        f"(or set EIGENGRAD_DATA), or pass download=True.")


def _download(name: str, filename: str) -> str:
    """Fetch ``filename`` into the cache directory, check its MD5, and move it in place atomically."""
    import hashlib  # here, not at import: they load OpenSSL, ssl and http.client
    import urllib.request

    base, md5s = _SOURCES[name]
    target_dir = cache_dir(name)
    os.makedirs(target_dir, exist_ok=True)
    logger.info("downloading %s%s into %s", base, filename, target_dir)
    fd, tmp = tempfile.mkstemp(dir=target_dir, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(base + filename, timeout=30) as response:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                digest.update(chunk)
        if digest.hexdigest() != md5s[filename]:
            raise OSError(f"checksum mismatch for {filename}: MD5 {digest.hexdigest()}, expected {md5s[filename]}")
        path = os.path.join(target_dir, filename)
        os.replace(tmp, path)
        return path
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
