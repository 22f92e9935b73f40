"""Fashion-MNIST with a Transformer encoder (a small Vision Transformer, Dosovitskiy et al. 2021): each image
is cut into 7 x 7 patches, 16 tokens of 49 pixels; a Linear embeds them, a learned position embedding is
added, a pre-norm TransformerEncoder (norm_first, GELU) reads the 16 tokens, and a Linear classifies
their mean. AdamW with a one-cycle schedule, label smoothing and clipped gradients; prints test accuracy
after every epoch (0.884 after 5 epochs, 0.883 with --seed 1; about 16-21 s an epoch on one thread of the
AMD Zen 4 host). No dropout by default: in 5 epochs the model underfits rather than overfits (with 0.1:
0.879 and 0.878 with d_model 96).

    python examples/fashion_mnist_transformer.py [--epochs 5] [--patch 7] [--layers 3] [--d-model 64] [--threads 1]

Needs the Fashion-MNIST IDX files (Debian: apt-get install dataset-fashion-mnist; or set
EIGENGRAD_DATA, see eg.datasets.fashion_mnist).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--patch", type=int, default=7, choices=(2, 4, 7, 14), help="patch side (tokens: (28 / patch)^2)")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--feedforward", type=int, default=128, help="the encoder layers' feed-forward width")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-2)
    p.add_argument("--max-norm", type=float, default=1.0, help="clip the gradients' global L2 norm to this")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test images")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def patches(images: np.ndarray, patch: int) -> np.ndarray:
    """(N, 28, 28) -> (N, tokens, patch * patch): the patches in row-major order, each row-major."""
    n, side = images.shape[0], 28 // patch
    return (images.reshape(n, side, patch, side, patch).transpose(0, 1, 3, 2, 4)
            .reshape(n, side * side, patch * patch))


class PatchTransformer(nn.Module):
    """Patch embedding + position embedding -> TransformerEncoder (pre-norm) -> LayerNorm -> mean -> Linear."""

    def __init__(self, tokens: int, patch_pixels: int, d_model: int, heads: int, layers: int, feedforward: int,
                 dropout: float) -> None:
        super().__init__()
        self.embed = nn.Linear(patch_pixels, d_model)
        self.position = nn.Parameter(np.zeros((1, tokens, d_model), dtype=np.float32))
        nn.init.trunc_normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, 10)

    def forward(self, x: eg.Tensor) -> eg.Tensor:
        return self.head(self.encoder(self.embed(x) + self.position).mean(1))


def main(argv=None) -> float:
    args = parse_args(argv)
    if args.threads:
        eg.set_num_threads(args.threads)
    eg.manual_seed(args.seed)
    gen = eg.Generator(args.seed)
    (x_train, y_train), (x_test, y_test) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
    x_train, y_train = x_train[:args.train_subset], y_train[:args.train_subset]
    x_test, y_test = x_test[:args.test_subset], y_test[:args.test_subset]
    # pixels standardised with the training set's mean and std, then cut into patches
    x_train, x_test = (x.astype(np.float32).reshape(-1, 28, 28) / 255 for x in (x_train, x_test))
    mean, std = float(x_train.mean()), float(x_train.std())
    x_train, x_test = (patches((x - mean) / std, args.patch) for x in (x_train, x_test))

    model = PatchTransformer(x_train.shape[1], x_train.shape[2], args.d_model, args.heads, args.layers,
                             args.feedforward, args.dropout)
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, args.weight_decay), lr=args.lr)
    loader = eg.data.DataLoader(eg.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True,
                                drop_last=True, generator=gen, num_workers=1)
    sched = OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test; {x_train.shape[1]} patches of "
          f"{args.patch}x{args.patch} -> TransformerEncoder(d_model {args.d_model}, {args.heads} heads, "
          f"{args.layers} layers, feed-forward {args.feedforward}, pre-norm, GELU), {n_params} parameters; "
          f"AdamW + one-cycle (max lr {args.lr}); {eg.get_num_threads()} threads")
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.max_norm)
            opt.step()
            sched.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        acc = float((eg.train.predict(model, x_test, batch_size=1000).argmax(1) == y_test).mean())
        print(f"epoch {epoch:2d}  loss {total / len(loader):.4f}  test accuracy {acc:.4f}  ({seconds:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
