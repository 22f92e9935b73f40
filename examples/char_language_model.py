"""A character-level language model of *Alice's Adventures in Wonderland* (the text shipped in the package,
Project Gutenberg EBook #11, public domain; see eg.datasets.load_alice): an Embedding of the characters plus a
learned position embedding, a causal Transformer (TransformerEncoder layers with the causal mask, the
"decoder-only" GPT arrangement, pre-norm, GELU) and a Linear back to the characters. Trained on the first 90%
of the book with AdamW and a one-cycle schedule on random windows; the loss on the held-out last 10% is
compared with the unigram entropy (the loss of predicting every character from the training text's
character frequencies alone), and the model then writes a sample.

    python examples/char_language_model.py [--steps 1500] [--layers 3] [--d-model 128] [--context 96] [--threads 1]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", type=int, default=96, help="characters per training window")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--feedforward", type=int, default=384)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=500, help="steps between held-out evaluations")
    p.add_argument("--sample", type=int, default=400, help="characters to sample at the end")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--prompt", default="Alice ")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


class CharTransformer(nn.Module):
    """Characters -> Embedding + position embedding -> causal TransformerEncoder -> LayerNorm -> Linear."""

    def __init__(self, vocab: int, context: int, d_model: int, heads: int, layers: int, feedforward: int,
                 dropout: float) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx: eg.Tensor) -> eg.Tensor:
        """idx (N, T) int64, T <= context -> logits (N, T, vocab) of the character after each position."""
        t = idx.shape[1]
        x = self.embed(idx) + self.position(eg.arange(t))
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        return self.head(self.blocks(x, mask=mask, is_causal=True))


def unigram_entropy(train: np.ndarray, held_out: np.ndarray, vocab: int) -> float:
    """Cross-entropy (nats per character) of the held-out text under the training text's character
    frequencies (add-one smoothed): the loss of a model that ignores the context."""
    p = (np.bincount(train, minlength=vocab) + 1.0) / (len(train) + vocab)
    return float(-np.log(p[held_out]).mean())


def held_out_loss(model: CharTransformer, data: np.ndarray, context: int, batch: int = 32) -> float:
    """Mean cross-entropy (nats per character) over non-overlapping windows of the held-out text."""
    model.eval()
    windows = (len(data) - 1) // context
    starts = np.arange(windows) * context
    total = 0.0
    with eg.no_grad():
        for i in range(0, windows, batch):
            s = starts[i:i + batch]
            x = np.stack([data[j:j + context] for j in s])
            y = np.stack([data[j + 1:j + context + 1] for j in s])
            logits = model(eg.from_numpy(x))
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), eg.from_numpy(y.reshape(-1)),
                                               reduction="sum")
            total += float(loss.item())
    model.train()
    return total / (windows * context)


def sample(model: CharTransformer, prompt: np.ndarray, length: int, temperature: float, gen: eg.Generator):
    """``length`` characters drawn one at a time from softmax(logits / temperature) of the last position."""
    model.eval()
    idx = list(prompt)
    u = eg.rand(length, generator=gen, dtype=np.float64).numpy()
    with eg.no_grad():
        for step in range(length):
            x = np.array(idx[-model.context:], dtype=np.int64)[None]
            logits = model(eg.from_numpy(x)).numpy()[0, -1].astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            p /= p.sum()
            idx.append(int(min(np.searchsorted(np.cumsum(p), u[step]), len(p) - 1)))
    model.train()
    return idx


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        eg.set_num_threads(args.threads)
    eg.manual_seed(args.seed)
    gen = eg.Generator(args.seed)
    text = eg.datasets.load_alice()
    chars = sorted(set(text))
    code = {c: i for i, c in enumerate(chars)}
    data = np.array([code[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, held_out = data[:split], data[split:]
    entropy = unigram_entropy(train, held_out, len(chars))

    model = CharTransformer(len(chars), args.context, args.d_model, args.heads, args.layers, args.feedforward,
                            args.dropout)
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, args.weight_decay), lr=args.lr)
    sched = OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Alice's Adventures in Wonderland: {len(train)} characters to train on, {len(held_out)} held out, "
          f"{len(chars)} distinct; causal Transformer (d_model {args.d_model}, {args.heads} heads, {args.layers} "
          f"layers, context {args.context}), {n_params} parameters; {eg.get_num_threads()} threads")
    print(f"unigram entropy of the held-out text: {entropy:.3f} nats/char ({entropy / math.log(2):.3f} bits)")
    # the window starts of every step, drawn at once from eigengrad's generator
    u = eg.rand(args.steps, args.batch_size, generator=gen, dtype=np.float64).numpy()
    starts = (u * (len(train) - args.context - 1)).astype(np.int64)
    offsets = np.arange(args.context)
    start, running, loss_value = time.perf_counter(), 0.0, float("nan")
    for step in range(1, args.steps + 1):
        window = starts[step - 1][:, None] + offsets
        x, y = eg.from_numpy(train[window]), eg.from_numpy(train[window + 1])
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running += loss.item()
        if step % args.eval_every == 0 or step == args.steps:
            loss_value = held_out_loss(model, held_out, args.context)
            print(f"step {step:5d}  train loss {running / min(step, args.eval_every):.3f}  held-out loss "
                  f"{loss_value:.3f} nats/char ({loss_value / math.log(2):.3f} bits)  "
                  f"({time.perf_counter() - start:.0f} s)")
            running = 0.0
    prompt = np.array([code[c] for c in args.prompt if c in code], dtype=np.int64)
    text_out = "".join(chars[i] for i in sample(model, prompt, args.sample, args.temperature, gen))
    print(f"--- sample (temperature {args.temperature}) ---\n{text_out}\n---")
    return {"held_out_loss": loss_value, "unigram_entropy": entropy, "sample": text_out}


if __name__ == "__main__":
    main()
