"""Tiny Vision Transformer: patchify with unfold/reshape/permute, einsum attention, cls token,
trunc_normal_ init, DropPath, label smoothing, warmup+cosine, grad accumulation, top-k accuracy."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
IMG, PATCH, C, NCLS = 16, 4, 3, 5


def make_data(n):
    """Each class: a coloured square in a class-specific quadrant arrangement + noise."""
    y = torch.randint(0, NCLS, (n,))
    x = torch.randn(n, C, IMG, IMG) * 0.5
    for k in range(NCLS):
        m = y == k
        r, c = divmod(k, 3)
        x[m, k % C, r * 6:(r * 6) + 6, c * 5:(c * 5) + 5] += 2.0
    return x, y


def patchify(imgs, p):
    # (B, C, H, W) -> (B, N, C*p*p) via unfold (the MAE/ViT-from-scratch way)
    B, Cc, H, W = imgs.shape
    x = imgs.unfold(2, p, p).unfold(3, p, p)           # B, C, H/p, W/p, p, p
    x = x.permute(0, 2, 3, 1, 4, 5).contiguous()       # B, H/p, W/p, C, p, p
    return x.view(B, (H // p) * (W // p), Cc * p * p)


class DropPath(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.h = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = torch.einsum("bhid,bhjd->bhij", q, k) * self.scale
        attn = attn.softmax(dim=-1)
        self.last_attn = attn.detach()
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=2.0, drop_path=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(approximate="tanh"),
                                 nn.Linear(int(dim * mlp_ratio), dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ViT(nn.Module):
    def __init__(self, dim=48, depth=3, heads=4, drop_path=0.1):
        super().__init__()
        n = (IMG // PATCH) ** 2
        self.patch_embed = nn.Linear(C * PATCH * PATCH, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        dpr = [v.item() for v in torch.linspace(0, drop_path, depth)]
        self.blocks = nn.Sequential(*[Block(dim, heads, drop_path=dpr[i]) for i in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, NCLS)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, imgs):
        x = self.patch_embed(patchify(imgs, PATCH))
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# check patchify against F.unfold ordering (channels-first within a patch)
t = torch.arange(2 * C * IMG * IMG, dtype=torch.float).view(2, C, IMG, IMG)
ref = F.unfold(t, kernel_size=PATCH, stride=PATCH).transpose(1, 2)
assert torch.equal(patchify(t, PATCH), ref), "patchify mismatch"

xtr, ytr = make_data(1024)
xte, yte = make_data(256)
dl = DataLoader(TensorDataset(xtr, ytr), batch_size=32, shuffle=True)
model = ViT()
no_wd = {"pos_embed", "cls_token"}
params = [
    {"params": [p for n, p in model.named_parameters() if p.ndim > 1 and n not in no_wd], "weight_decay": 0.05},
    {"params": [p for n, p in model.named_parameters() if p.ndim <= 1 or n in no_wd], "weight_decay": 0.0},
]
opt = torch.optim.AdamW(params, lr=1e-3)
EPOCHS, ACCUM = 6, 2
steps = EPOCHS * len(dl) // ACCUM
warm = steps // 10
sched = torch.optim.lr_scheduler.SequentialLR(opt, [
    torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warm),
    torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps - warm, eta_min=1e-5)], milestones=[warm])
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(EPOCHS):
    model.train()
    run = 0.0
    for i, (xb, yb) in enumerate(dl):
        loss = crit(model(xb), yb) / ACCUM
        loss.backward()
        run += loss.item() * ACCUM
        if (i + 1) % ACCUM == 0:
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
    model.eval()
    with torch.inference_mode():
        logits = model(xte)
        top1 = (logits.argmax(1) == yte).float().mean().item()
        top3 = (logits.topk(3, 1).indices == yte.unsqueeze(1)).any(1).float().mean().item()
    print(f"epoch {epoch} loss {run / len(dl):.4f} gnorm {gn:.3f} lr {sched.get_last_lr()[0]:.2e} "
          f"top1 {top1:.3f} top3 {top3:.3f}")

# attention rollout from cls token
with torch.no_grad():
    model(xte[:8])
    rollout = torch.eye(model.pos_embed.shape[1]).unsqueeze(0)
    for blk in model.blocks:
        a = blk.attn.last_attn.mean(1)
        a = a + torch.eye(a.size(-1))
        a = a / a.sum(-1, keepdim=True)
        rollout = a @ rollout
    cls_map = rollout[:, 0, 1:].reshape(-1, IMG // PATCH, IMG // PATCH)
print("rollout map (first image):\n", cls_map[0])
print("confusion:\n", torch.bincount(yte * NCLS + logits.argmax(1), minlength=NCLS * NCLS).view(NCLS, NCLS))
