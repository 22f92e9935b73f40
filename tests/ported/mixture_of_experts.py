"""Sparse mixture-of-experts MLP with top-k gating, noisy gating, capacity, load-balancing loss,
token dispatch via index_add_/scatter/gather. Trained on a synthetic piecewise regression task."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(7)


class Expert(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.w1 = nn.Linear(d, h)
        self.w2 = nn.Linear(h, d)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)))


class TopKGate(nn.Module):
    def __init__(self, d, n_experts, k=2, noise=True):
        super().__init__()
        self.k = k
        self.w_gate = nn.Linear(d, n_experts, bias=False)
        self.w_noise = nn.Linear(d, n_experts, bias=False) if noise else None
        nn.init.zeros_(self.w_gate.weight)

    def forward(self, x):
        logits = self.w_gate(x)
        if self.training and self.w_noise is not None:
            logits = logits + torch.randn_like(logits) * F.softplus(self.w_noise(x))
        topk_vals, topk_idx = logits.topk(self.k, dim=-1)
        topk_gates = F.softmax(topk_vals, dim=-1)
        # dense gate matrix (mostly zeros) via scatter
        gates = torch.zeros_like(logits).scatter(-1, topk_idx, topk_gates)
        # Switch-style auxiliary load balancing loss
        probs = F.softmax(logits, dim=-1)
        n_e = logits.size(-1)
        mask = F.one_hot(topk_idx[:, 0], n_e).float()
        aux = n_e * (mask.mean(0) * probs.mean(0)).sum()
        return gates, topk_idx, topk_gates, aux


class MoE(nn.Module):
    def __init__(self, d, h, n_experts=4, k=2, capacity_factor=1.5):
        super().__init__()
        self.experts = nn.ModuleList(Expert(d, h) for _ in range(n_experts))
        self.gate = TopKGate(d, n_experts, k)
        self.k, self.cf = k, capacity_factor
        self.register_buffer("expert_counts", torch.zeros(n_experts, dtype=torch.long))

    def forward(self, x):
        B, T, D = x.shape
        flat = x.reshape(-1, D)
        gates, idx, vals, aux = self.gate(flat)
        out = torch.zeros_like(flat)
        capacity = int(self.cf * flat.size(0) * self.k / len(self.experts))
        dropped = 0
        for e, expert in enumerate(self.experts):
            token_idx, slot = torch.nonzero(idx == e, as_tuple=True)
            if token_idx.numel() == 0:
                continue
            if token_idx.numel() > capacity:
                dropped += token_idx.numel() - capacity
                token_idx, slot = token_idx[:capacity], slot[:capacity]
            y = expert(flat.index_select(0, token_idx))
            w = vals[token_idx, slot].unsqueeze(-1)
            out.index_add_(0, token_idx, y * w)
            if self.training:
                self.expert_counts[e] += token_idx.numel()
        self.last_dropped = dropped
        return out.view(B, T, D), aux


class Model(nn.Module):
    def __init__(self, d_in, d, h, n_experts):
        super().__init__()
        self.inp = nn.Linear(d_in, d)
        self.norm = nn.LayerNorm(d)
        self.moe = MoE(d, h, n_experts)
        self.head = nn.Linear(d, 1)

    def forward(self, x):
        h = self.inp(x)
        m, aux = self.moe(self.norm(h))
        return self.head(h + m).squeeze(-1), aux


# synthetic data: the target function depends on which region (cluster) the token falls in
N, T, D_IN, E = 512, 8, 6, 4
centers = torch.randn(E, D_IN) * 3
x = centers[torch.randint(0, E, (N, T))] + torch.randn(N, T, D_IN)
region = torch.cdist(x.view(-1, D_IN), centers).argmin(-1).view(N, T)
coef = torch.randn(E, D_IN)
y = torch.gather((x.unsqueeze(2) * coef).sum(-1), 2, region.unsqueeze(-1)).squeeze(-1)
y = torch.where(region % 2 == 0, torch.sin(y), y.abs().sqrt())
ds = TensorDataset(x, y)
train_ds, test_ds = torch.utils.data.random_split(ds, [448, 64])
dl = DataLoader(train_ds, batch_size=32, shuffle=True)

model = Model(D_IN, 32, 64, E)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
for epoch in range(12):
    model.train()
    tl, ta = 0.0, 0.0
    for xb, yb in dl:
        pred, aux = model(xb)
        mse = F.mse_loss(pred, yb)
        loss = mse + 0.01 * aux
        opt.zero_grad()
        loss.backward()
        opt.step()
        tl += mse.item()
        ta += aux.item()
    sched.step()
    if epoch % 3 == 2:
        print(f"epoch {epoch + 1:2d} mse {tl / len(dl):.4f} aux {ta / len(dl):.3f} dropped {model.moe.last_dropped}")

counts = model.moe.expert_counts
print("expert utilisation:", (counts.float() / counts.sum()).numpy().round(3), counts.dtype)
model.eval()
with torch.no_grad():
    xt = torch.stack([test_ds[i][0] for i in range(len(test_ds))])
    yt = torch.stack([test_ds[i][1] for i in range(len(test_ds))])
    pt, _ = model(xt)
    print(f"test mse {F.mse_loss(pt, yt).item():.4f} (baseline var {yt.var().item():.4f})")
    gates, idx, _, _ = model.moe.gate(model.norm(model.inp(xt)).view(-1, 32))
    top1 = idx[:, 0]
    rt = torch.stack([test_ds.dataset.tensors[0][0].new_tensor(0)] * 0) if False else None
    # routing purity: how consistently each true region is routed to one expert
    reg = torch.cdist(xt.view(-1, D_IN), centers).argmin(-1)
    conf = torch.zeros(E, E, dtype=torch.long)
    conf.index_put_((reg, top1), torch.ones_like(reg), accumulate=True)
    print("region x expert routing:\n", conf)
    purity = conf.max(1).values.sum() / conf.sum()
    print(f"routing purity {purity.item():.3f}")
    # scatter_add based histogram should match bincount
    hist = torch.zeros(E, dtype=torch.long).scatter_add_(0, top1, torch.ones_like(top1))
    assert torch.equal(hist, torch.bincount(top1, minlength=E)), (hist, torch.bincount(top1, minlength=E))
    print("gate sparsity:", (gates > 0).float().sum(-1).mean().item())
