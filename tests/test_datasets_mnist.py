"""IDX reading and the MNIST / Fashion-MNIST loaders: formats, search order, errors, download checks,
and (where Debian's dataset-fashion-mnist is installed) the real files."""
import gzip
import hashlib
import io
import os

import numpy as np
import pytest

import eigengrad as eg
from real_data import needs_fashion_mnist
from eigengrad.datasets import mnist_files as mnist_module
from eigengrad.datasets.idx import read_idx, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    a = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative
    np.testing.assert_array_equal(b, a)


def test_idx_reads_the_big_endian_layout(tmp_path):
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])  # two int16: 0x0102, -2
    (tmp_path / "x").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), [258, -2])


def _images_file(tmp_path, name, n=4):
    path = tmp_path / name
    write_idx(path, np.arange(n * 28 * 28, dtype=np.int64).astype(np.uint8).reshape(n, 28, 28))
    return path


def test_truncated_files_raise_naming_the_file(tmp_path):
    good = _images_file(tmp_path, "good.gz")
    data = gzip.decompress(good.read_bytes())
    (tmp_path / "short").write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"short: truncated: .* expected 3152"):
        read_idx(tmp_path / "short")
    (tmp_path / "short.gz").write_bytes(good.read_bytes()[:-20])  # a cut gzip stream
    with pytest.raises(ValueError, match=r"short\.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "long").write_bytes(data + b"\0")
    with pytest.raises(ValueError, match=r"long: has trailing bytes"):
        read_idx(tmp_path / "long")
    (tmp_path / "head").write_bytes(data[:6])
    with pytest.raises(ValueError, match=r"head: truncated IDX header"):
        read_idx(tmp_path / "head")


def test_wrong_magic_number_raises(tmp_path):
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match=r"png: not an IDX file \(magic number 0x89504e47"):
        read_idx(tmp_path / "png")
    (tmp_path / "notgz.gz").write_bytes(b"plain text")
    with pytest.raises(ValueError, match=r"notgz\.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "notgz.gz")


def _fake_dataset(folder, n_train=5, n_test=3, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{stem}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{stem}-labels-idx1-ubyte{ext}", rng.integers(0, 10, n).astype(np.uint8))
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_loader_reads_a_folder(tmp_path, gz):
    _fake_dataset(tmp_path / "fm", gz=gz)
    x, y = eg.datasets.fashion_mnist(tmp_path / "fm")
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64 and y.shape == (5,)
    x_test, _ = eg.datasets.fashion_mnist(tmp_path / "fm", train=False)
    assert x_test.shape == (3, 28, 28)
    np.testing.assert_array_equal(x, read_idx(tmp_path / "fm" / ("train-images-idx3-ubyte" + (".gz" if gz else ""))))


def test_label_count_must_match_images(tmp_path):
    folder = _fake_dataset(tmp_path / "fm")
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: expected 5 labels"):
        eg.datasets.fashion_mnist(folder)


def test_search_order_env_then_cache_then_system(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EIGENGRAD_DATA", str(tmp_path / "data"))
    dirs = mnist_module.search_dirs("mnist")
    assert dirs == [str(tmp_path / "data" / "mnist"), str(tmp_path / "cache" / "eigengrad" / "mnist"),
                    "/usr/share/datasets/mnist"]
    _fake_dataset(tmp_path / "cache" / "eigengrad" / "mnist", n_train=2)
    assert eg.datasets.mnist()[0].shape[0] == 2  # found in the cache
    _fake_dataset(tmp_path / "data" / "mnist", n_train=7)
    assert eg.datasets.mnist()[0].shape[0] == 7  # $EIGENGRAD_DATA comes first


def test_not_found_lists_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EIGENGRAD_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as info:
        eg.datasets.mnist()
    message = str(info.value)
    for d in mnist_module.search_dirs("mnist"):
        assert os.path.join(d, "train-images-idx3-ubyte.gz") in message
    assert "download=True" in message


def _serve(monkeypatch, payload_of_url):
    """urllib.request.urlopen answering with payload_of_url(url), no network."""
    import urllib.request

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Response(payload_of_url(url)))


def test_download_checks_md5_and_leaves_nothing_behind_on_mismatch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("EIGENGRAD_DATA", raising=False)
    monkeypatch.setattr(mnist_module, "search_dirs", lambda name, root=None: [mnist_module.cache_dir(name)])
    _serve(monkeypatch, lambda url: b"not the file")
    with pytest.raises(FileNotFoundError, match=r"download failed: checksum mismatch"):
        eg.datasets.mnist(download=True)
    assert os.listdir(mnist_module.cache_dir("mnist")) == []  # no partial file


def test_download_puts_verified_files_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_module, "search_dirs", lambda name, root=None: [mnist_module.cache_dir(name)])
    src = _fake_dataset(tmp_path / "src", n_train=3)
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    monkeypatch.setitem(mnist_module._SOURCES, "mnist",
                        ("http://example.invalid/", {k: hashlib.md5(v).hexdigest() for k, v in files.items()}))
    _serve(monkeypatch, lambda url: files[url.rsplit("/", 1)[1]])
    x, y = eg.datasets.mnist(download=True)
    assert x.shape == (3, 28, 28)
    assert sorted(os.listdir(mnist_module.cache_dir("mnist"))) == ["train-images-idx3-ubyte.gz",
                                                                   "train-labels-idx1-ubyte.gz"]


def test_bad_train_argument():
    with pytest.raises(TypeError, match=r"^train: expected True or False, got 'test'"):
        eg.datasets.fashion_mnist(train="test")


# --- the real files (Debian's dataset-fashion-mnist) --------------------------------------------------------

@needs_fashion_mnist
def test_real_fashion_mnist_is_found_without_arguments():
    x, y = eg.datasets.fashion_mnist()
    x_test, y_test = eg.datasets.fashion_mnist(train=False)
    assert x.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    np.testing.assert_array_equal(y[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])  # the published order
    assert 70 < x.mean() < 75 and x.max() == 255 and x.min() == 0
