"""A small Mamba-2-style language model (Gu & Dao 2023/2024; the scan as mamba2's ssd_minimal) on
multi-query associative recall.

Each block projects the input into a gate z, the sequence x and the state space model's input-dependent
B, C and step size dt (the "selective" part), runs a causal depthwise Conv1d over x, B and C, and
computes the discretised recurrence h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t without a Python loop over
time: the log-decays are summed with torch.cumsum into a (T, T) lower-triangular segment-sum matrix
(-inf above the diagonal, so exp gives 0) and contracted with one torch.einsum. The first batch checks
that scan against the sequential recurrence.

The task: a list of key-value pairs, a separator, then queries of the keys; the model must answer each
query with the value its key had (the loss and accuracy count the answer positions only).
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class MambaConfig:
    n_keys: int = 8
    n_values: int = 8
    n_pairs: int = 4
    d_model: int = 64
    n_layer: int = 2
    d_state: int = 16
    headdim: int = 16
    expand: int = 2
    d_conv: int = 4
    lr: float = 3e-3
    steps: int = 300
    batch_size: int = 64

    @property
    def vocab_size(self):
        return self.n_keys + self.n_values + 1  # + the separator

    @property
    def d_inner(self):
        return self.expand * self.d_model


class AssociativeRecall(Dataset):
    def __init__(self, cfg, n, generator):
        sep = cfg.vocab_size - 1
        keys = torch.stack([torch.randperm(cfg.n_keys, generator=generator)[:cfg.n_pairs] for _ in range(n)])
        values = cfg.n_keys + torch.randint(0, cfg.n_values, (n, cfg.n_pairs), generator=generator)
        order = torch.stack([torch.randperm(cfg.n_pairs, generator=generator) for _ in range(n)])
        queries, answers = keys.gather(1, order), values.gather(1, order)
        pairs = torch.stack([keys, values], dim=2).flatten(1)
        asked = torch.stack([queries, answers], dim=2).flatten(1)
        self.tokens = torch.cat([pairs, torch.full((n, 1), sep), asked], dim=1)
        self.targets = torch.full_like(self.tokens, -100)
        q_pos = torch.arange(2 * cfg.n_pairs + 1, self.tokens.size(1), 2)
        self.targets[:, q_pos] = self.tokens[:, q_pos + 1]

    def __len__(self):
        return len(self.tokens)

    def __getitem__(self, i):
        return self.tokens[i, :-1], self.targets[i, :-1]


def segsum(x):
    """Stable segment sum: out[..., i, j] = x[..., j+1] + ... + x[..., i] for j <= i, -inf above."""
    T = x.size(-1)
    x = x.unsqueeze(-1).expand(*x.shape, T)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    x_segsum = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=0)
    return x_segsum.masked_fill(~mask, -torch.inf)


def ssd_scan(X, A, B, C):
    """X: (b, l, h, p), A: (b, l, h) the log-decays dt*A, B and C: (b, l, h, n) -> Y: (b, l, h, p)."""
    L = torch.exp(segsum(A.permute(0, 2, 1)))  # (b, h, l, l)
    return torch.einsum("blhn,bshn,bhls,bshp->blhp", C, B, L, X)


def sequential_scan(X, A, B, C):
    b, l, h, p = X.shape
    state = X.new_zeros(b, h, p, B.size(-1))
    ys = []
    for t in range(l):
        state = torch.exp(A[:, t])[..., None, None] * state + torch.einsum("bhp,bhn->bhpn", X[:, t], B[:, t])
        ys.append(torch.einsum("bhpn,bhn->bhp", state, C[:, t]))
    return torch.stack(ys, dim=1)


class Mamba2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.nheads = cfg.d_inner // cfg.headdim
        conv_dim = cfg.d_inner + 2 * cfg.d_state
        self.in_proj = nn.Linear(cfg.d_model, 2 * cfg.d_inner + 2 * cfg.d_state + self.nheads, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, cfg.d_conv, groups=conv_dim, padding=cfg.d_conv - 1)
        dt = torch.exp(torch.rand(self.nheads) * (torch.log(torch.tensor(0.1)) - torch.log(torch.tensor(1e-3)))
                       + torch.log(torch.tensor(1e-3)))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        self.norm = nn.RMSNorm(cfg.d_inner, eps=1e-5)
        self.out_proj = nn.Linear(cfg.d_inner, cfg.d_model, bias=False)
        self.check_scan = False

    def forward(self, u):
        cfg = self.cfg
        bsz, seqlen, _ = u.shape
        z, xBC, dt = torch.split(self.in_proj(u), [cfg.d_inner, cfg.d_inner + 2 * cfg.d_state, self.nheads], dim=-1)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :seqlen].transpose(1, 2))
        x, B, C = torch.split(xBC, [cfg.d_inner, cfg.d_state, cfg.d_state], dim=-1)
        dt = F.softplus(dt + self.dt_bias)  # (b, l, h)
        A = -torch.exp(self.A_log)
        x = x.view(bsz, seqlen, self.nheads, cfg.headdim)
        B = B.unsqueeze(2).expand(-1, -1, self.nheads, -1)  # one B and C shared by the heads (ngroups=1)
        C = C.unsqueeze(2).expand(-1, -1, self.nheads, -1)
        X, logA = x * dt.unsqueeze(-1), A * dt
        y = ssd_scan(X, logA, B, C)
        if self.check_scan:
            with torch.no_grad():
                ref = sequential_scan(X, logA, B, C)
                print(f"scan vs loop max error {(y - ref).abs().max().item():.2e}")
            self.check_scan = False
        y = y + x * self.D[:, None]
        y = y.reshape(bsz, seqlen, cfg.d_inner)
        y = self.norm(y * F.silu(z))
        return self.out_proj(y)


class MambaLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList([Mamba2Block(cfg) for _ in range(cfg.n_layer)])
        self.norms = nn.ModuleList([nn.RMSNorm(cfg.d_model, eps=1e-5) for _ in range(cfg.n_layer)])
        self.norm_f = nn.RMSNorm(cfg.d_model, eps=1e-5)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.embedding.weight

    def forward(self, tokens):
        h = self.embedding(tokens)
        for norm, layer in zip(self.norms, self.layers):
            h = h + layer(norm(h))
        return self.lm_head(self.norm_f(h))


cfg = MambaConfig()
gen = torch.Generator().manual_seed(0)
train_loader = DataLoader(AssociativeRecall(cfg, 8192, gen), batch_size=cfg.batch_size, shuffle=True, drop_last=True)
test_set = AssociativeRecall(cfg, 512, gen)
model = MambaLM(cfg).to(device)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
no_decay = {n for n, p in model.named_parameters() if p.dim() < 2 or n.endswith(("A_log", "dt_bias", ".D"))}
groups = [{"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.1},
          {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0}]
optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))
warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=30)
decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.steps - 30, eta_min=cfg.lr * 0.1)
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[30])


@torch.no_grad()
def evaluate():
    model.eval()
    tokens, targets = test_set.tokens[:, :-1].to(device), test_set.targets[:, :-1].to(device)
    logits = model(tokens)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
    mask = targets != -100
    acc = (logits.argmax(-1)[mask] == targets[mask]).float().mean()
    model.train()
    return loss.item(), acc.item()


loss0, acc0 = evaluate()
print(f"step 0 loss {loss0:.4f} recall_acc {acc0:.3f}")
model.layers[0].check_scan = True
step = 0
while step < cfg.steps:
    for tokens, targets in train_loader:
        tokens, targets = tokens.to(device), targets.to(device)
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        if step % 50 == 0:
            test_loss, acc = evaluate()
            print(f"step {step} train_loss {loss.item():.4f} loss {test_loss:.4f} recall_acc {acc:.3f} "
                  f"lr {scheduler.get_last_lr()[0]:.2e}")
        if step == cfg.steps:
            break
