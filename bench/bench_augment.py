"""Augmentation throughput (images per second) on a Fashion-MNIST-sized batch (256 x 1 x 28 x 28,
float32) and a colour batch (64 x 3 x 32 x 32): eigengrad's batched kernels vs the NumPy reference
(eigengrad.reference.augment) vs torchvision-free PyTorch (F.grid_sample) where torch is installed.

    python bench/bench_augment.py [--threads N]   # prints medians and ratios
    python -m pytest bench/bench_augment.py  # pytest-benchmark
"""
import statistics
import sys
import timeit

import numpy as np
import pytest

from eigengrad import _kernels
from eigengrad.data import transforms as T
from eigengrad.reference import augment as ref

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

BATCHES = {"256x1x28x28": (256, 1, 28, 28), "64x3x32x32": (64, 3, 32, 32)}
KINDS = ("affine bilinear", "affine nearest", "hflip", "normalize", "pipeline")


def augment_case(kind: str, shape: tuple) -> dict:
    rng = np.random.default_rng(0)
    x = rng.random(shape, dtype=np.float32)
    n, c, h, w = shape
    maps = T.inverse_maps(h, w, rng.uniform(-15, 15, n), rng.uniform(-3, 3, n), rng.uniform(-3, 3, n),
                          rng.uniform(0.9, 1.1, n))
    flip = rng.random(n) < 0.5
    mean, std = np.full(c, 0.5), np.full(c, 0.25)
    fns = {
        "affine bilinear": {"eigengrad": lambda: _kernels.affine_warp(x, maps, "bilinear", 0.0),
                            "numpy": lambda: ref.affine_warp(x, maps, "bilinear", 0.0)},
        "affine nearest": {"eigengrad": lambda: _kernels.affine_warp(x, maps, "nearest", 0.0),
                           "numpy": lambda: ref.affine_warp(x, maps, "nearest", 0.0)},
        "hflip": {"eigengrad": lambda: _kernels.flip_images(x, flip, True),
                  "numpy": lambda: ref.flip_images(x, flip, True)},
        "normalize": {"eigengrad": lambda: _kernels.normalize_channels(x, mean, std),
                      "numpy": lambda: ref.normalize_channels(x, mean, std)},
        # a training pipeline: random flip, random affine (rotation, shift, scale; bilinear), normalize
        "pipeline": {"eigengrad": lambda: _kernels.normalize_channels(
                         _kernels.affine_warp(_kernels.flip_images(x, flip, True), maps, "bilinear", 0.0), mean, std),
                     "numpy": lambda: ref.normalize_channels(
                         ref.affine_warp(ref.flip_images(x, flip, True), maps, "bilinear", 0.0), mean, std)},
    }[kind]
    if torch is not None and kind.startswith("affine"):
        tx = torch.from_numpy(x)
        theta = torch.from_numpy(_normalised_theta(maps, h, w)).float()
        mode = kind.split()[1]
        fns["torch"] = lambda: TF.grid_sample(tx, TF.affine_grid(theta, list(shape), align_corners=True),
                                              mode=mode, padding_mode="zeros", align_corners=True)
    return fns


def _normalised_theta(maps, h, w):
    """Pixel-space maps as affine_grid's normalised [-1, 1] coordinates (align_corners=True)."""
    s = np.array([[2 / (w - 1), 0, -1], [0, 2 / (h - 1), -1], [0, 0, 1]])
    m = np.concatenate([maps.reshape(-1, 2, 3), np.tile([[[0, 0, 1]]], (len(maps), 1, 1))], axis=1)
    return (s @ m @ np.linalg.inv(s))[:, :2]


@pytest.mark.parametrize("impl", ["eigengrad", "numpy", "torch"])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("kind", KINDS)
def test_augment(bench, kind, batch, impl):
    bench(f"augment {kind}: {batch}", augment_case(kind, BATCHES[batch]), impl)


def main() -> None:
    if "--threads" in sys.argv:  # eigengrad's threads (OpenMP over images)
        import eigengrad

        eigengrad.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    print(f"{'kernel':18} {'batch':12} {'eigengrad img/s':>16} {'numpy img/s':>12} {'ratio':>7} {'torch img/s':>12}")
    for kind in KINDS:
        for name, shape in BATCHES.items():
            fns = augment_case(kind, shape)
            rates = {}
            for impl, fn in fns.items():
                fn()
                number = max(1, int(0.02 / max(timeit.timeit(fn, number=1), 1e-6)))
                t = statistics.median(timeit.timeit(fn, number=number) / number for _ in range(15))
                rates[impl] = shape[0] / t
            torch_rate = f"{rates['torch']:12.0f}" if "torch" in rates else f"{'-':>12}"
            print(f"{kind:18} {name:12} {rates['eigengrad']:16.0f} {rates['numpy']:12.0f} "
                  f"{rates['eigengrad'] / rates['numpy']:6.1f}x {torch_rate}")


if __name__ == "__main__":
    sys.exit(main())
