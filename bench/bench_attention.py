"""Attention and the Transformer, forward + backward: eigengrad vs the NumPy reference vs PyTorch.

- scaled_dot_product_attention at batch 8, 8 heads, sequence 256, head dim 64 (float32), plain and causal:
  "eigengrad" and "torch" through their autograd (F.scaled_dot_product_attention, then backward of a fixed
  output gradient; torch picks its CPU flash-attention kernel); "eigengrad kernels": the fused kernels
  called directly (``_kernels.attention_forward`` + ``attention_backward``, keeping the weights where the
  primitive does); "numpy": the reference
  (whole weight matrix), the baseline.
- MultiheadAttention (d_model 128, 4 heads, batch_first, need_weights=False) fwd + bwd at batch 32, sequence 64.
- A Transformer encoder training step: 2 TransformerEncoderLayer (d_model 128, 4 heads, feed-forward 512,
  dropout 0.1, batch_first), mean over the sequence, Linear(128, 10), cross-entropy, backward and AdamW,
  at batch 32 and sequence 64, against the same model in PyTorch eager.

Acceptance targets: SDPA fwd+bwd >= 1.5x torch; the training step >= 1.5x torch eager.

    python bench/bench_attention.py [--threads 1] [--quick] [--clock cpu]   # one table: medians, ratios
    python -m pytest bench/bench_attention.py --benchmark-only              # pytest-benchmark
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import eigengrad as eg
from cases import randn, torch
from eigengrad import _kernels as K
from eigengrad import reference as ref

SDPA = dict(batch=8, heads=8, length=256, head_dim=64)
STEP = dict(batch=32, length=64, d_model=128, heads=4, feedforward=512, layers=2, dropout=0.1)
TARGETS = {"sdpa": 1.5, "step": 1.5}  # wanted speed-ups over torch


def sdpa_case(causal: bool = False, numpy: bool = True, rng=None) -> dict:
    """{implementation: fwd+bwd callable} on the same q, k, v and output gradient (B, H, L, d)."""
    rng = rng or np.random.default_rng(0)
    s = SDPA
    shape = (s["batch"], s["heads"], s["length"], s["head_dim"])
    q, k, v, g = (randn(rng, *shape) for _ in range(4))
    scale = 1.0 / np.sqrt(s["head_dim"])
    fns = {}

    def autograd(lib, fn, tensor, grad):
        qt, kt, vt = (tensor(a) for a in (q, k, v))

        def run():
            for t in (qt, kt, vt):
                t.grad = None
            fn(qt, kt, vt, is_causal=causal).backward(grad)
        return run

    fns["eigengrad"] = autograd(eg, eg.nn.functional.scaled_dot_product_attention,
                                lambda a: eg.tensor(a, requires_grad=True), eg.from_numpy(g))

    def kernels(impl, keep=False):
        def run():
            w = K.attention_weights_buffer(q, k, causal) if keep else None  # as the autograd primitive does
            out, lse = impl.attention_forward(q, k, v, None, scale, causal, *((K.NO_DROPOUT, w) if keep else ()))
            return impl.attention_backward(q, k, v, out, lse, g, None, scale, causal,
                                           *((K.NO_DROPOUT, False, w) if keep else ()))
        return run

    fns["eigengrad kernels"] = kernels(K, keep=True)
    if numpy:
        fns["numpy"] = kernels(ref)
    if torch is not None:
        fns["torch"] = autograd(torch, torch.nn.functional.scaled_dot_product_attention,
                                lambda a: torch.tensor(a, requires_grad=True), torch.from_numpy(g))
    return fns


def mha_case(rng=None) -> dict:
    """MultiheadAttention self-attention forward + backward (weights copied from one model to the other)."""
    rng = rng or np.random.default_rng(0)
    s = STEP
    x = randn(rng, s["batch"], s["length"], s["d_model"])
    g = randn(rng, s["batch"], s["length"], s["d_model"])
    em = eg.nn.MultiheadAttention(s["d_model"], s["heads"], batch_first=True)

    def run_with(module, xt, gt):
        def run():
            module.zero_grad()
            xt.grad = None
            module(xt, xt, xt, need_weights=False)[0].backward(gt)
        return run

    fns = {"eigengrad": run_with(em, eg.tensor(x, requires_grad=True), eg.from_numpy(g))}
    if torch is not None:
        tm = torch.nn.MultiheadAttention(s["d_model"], s["heads"], batch_first=True)
        tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em.state_dict().items()})
        fns["torch"] = run_with(tm, torch.tensor(x, requires_grad=True), torch.from_numpy(g))
    return fns


def _encoder_step(lib, x: np.ndarray, y: np.ndarray, state=None):
    """One training step of the encoder classifier in ``lib`` (eigengrad or torch); returns (step, state_dict)."""
    s = STEP
    nn = lib.nn
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(s["d_model"], s["heads"], s["feedforward"], dropout=s["dropout"],
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, s["layers"])
            self.head = nn.Linear(s["d_model"], 10)

        def forward(self, x):
            return self.head(self.encoder(x).mean(1))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's nested-tensor notice
        model = Classifier()
    if state is not None:
        model.load_state_dict(state)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step, {k: v.numpy().copy() for k, v in model.state_dict().items()}


def step_case(rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    s = STEP
    x = randn(rng, s["batch"], s["length"], s["d_model"])
    y = rng.integers(0, 10, s["batch"], dtype=np.int64)
    eg_step, state = _encoder_step(eg, x, y)
    fns = {"eigengrad": eg_step}
    if torch is not None:
        fns["torch"] = _encoder_step(torch, x, y, {k: torch.from_numpy(v) for k, v in state.items()})[0]
    return fns


def sdpa_label(causal: bool) -> str:
    s = SDPA
    return f"SDPA B={s['batch']} H={s['heads']} L={s['length']} d={s['head_dim']}{' causal' if causal else ''}"


STEP_LABEL = (f"encoder step N={STEP['batch']} L={STEP['length']} d={STEP['d_model']} h={STEP['heads']} "
              f"ff={STEP['feedforward']} x{STEP['layers']}")
MHA_LABEL = f"MHA N={STEP['batch']} L={STEP['length']} d={STEP['d_model']} h={STEP['heads']}"


# --- pytest-benchmark ----------------------------------------------------------------------------------

SDPA_ROWS = [(c, impl) for c in (False, True) for impl in ("eigengrad", "eigengrad kernels", "numpy", "torch")]


@pytest.mark.parametrize("causal,impl", SDPA_ROWS, ids=[f"{'causal' if c else 'full'}-{i.replace(' ', '_')}"
                                                         for c, i in SDPA_ROWS])
def test_sdpa_forward_backward(bench, causal, impl):
    bench(f"{sdpa_label(causal)} fwd+bwd", sdpa_case(causal), impl)


@pytest.mark.parametrize("impl", ["eigengrad", "torch"])
def test_mha_forward_backward(bench, impl):
    bench(f"{MHA_LABEL} fwd+bwd", mha_case(), impl)


@pytest.mark.parametrize("impl", ["eigengrad", "torch"])
def test_encoder_training_step(bench, impl):
    bench(STEP_LABEL, step_case(), impl)


# --- the table (python bench/bench_attention.py) ---------------------------------------------------------

def main(argv=None) -> int:
    import cases

    p = cases.paired_parser("Attention and a Transformer training step: eigengrad vs NumPy reference vs torch")
    p.add_argument("--no-numpy", action="store_true", help="leave out the NumPy reference (slow) column")
    args = p.parse_args(argv)
    rounds, timer, row = cases.start_kernel_table(args, 52)
    misses = []
    rows = [(sdpa_label(c), sdpa_case(c, numpy=not args.no_numpy), "sdpa" if not c else None) for c in (False, True)]
    rows += [(MHA_LABEL, mha_case(), None), (STEP_LABEL, step_case(), "step")]
    for label, fns, target in rows:
        t, r = cases.call_rounds(fns, rounds, timer, warmup=2)
        row([label] + cases.kernel_table_cells(t, r))
        if target and "torch" in r and r["torch"] < TARGETS[target]:
            misses.append(f"{label}: {r['torch']:.2f}x < {TARGETS[target]}x torch")
    print("below target: " + "; ".join(misses) if misses else
          ("SDPA and the training step meet their targets (>= 1.5x torch)" if torch is not None
           else "torch not installed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
