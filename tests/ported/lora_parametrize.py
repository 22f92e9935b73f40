"""LoRA fine-tuning (Hu et al. 2021) of a small pretrained MLP through torch.nn.utils.parametrize.

A base MLP is pretrained on one task (points in 8-D, classes by their nearest of 4 centres), saved, and
then adapted to a related task (the same centres after a rotation and with two classes swapped). The
adaptation freezes every base weight and registers a low-rank ``W + (B @ A) * alpha / r`` parametrization
on each Linear's weight, so only the rank-r factors train. At the end the LoRA weights are merged into
the base ones with ``remove_parametrizations(leave_parametrized=True)`` and the merged model, saved and
reloaded as a plain state dict, must give the same outputs.
"""
import copy
import io
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Config:
    dim: int = 8
    hidden: int = 64
    classes: int = 4
    rank: int = 4
    alpha: float = 8.0
    pretrain_epochs: int = 8
    finetune_epochs: int = 10
    batch_size: int = 64


cfg = Config()


def make_task(centres, n, perm=None):
    x = torch.randn(n, cfg.dim) * 0.9
    y = torch.cdist(x, centres).argmin(dim=1)
    if perm is not None:
        y = perm[y]
    return x, y


centres = torch.randn(cfg.classes, cfg.dim) * 1.5
q, _ = torch.linalg.qr(torch.randn(cfg.dim, cfg.dim))
rotation = torch.linalg.matrix_exp(0.35 * (q - q.T))  # a rotation near the identity
centres_b = centres @ rotation.T
swap = torch.tensor([1, 0, 2, 3])
xa, ya = make_task(centres, 2048)
xb, yb = make_task(centres_b, 512, swap)
xb_test, yb_test = make_task(centres_b, 1024, swap)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg.dim, cfg.hidden), nn.GELU(),
            nn.Linear(cfg.hidden, cfg.hidden), nn.GELU(),
            nn.Linear(cfg.hidden, cfg.classes),
        )

    def forward(self, x):
        return self.layers(x)


class LoRAParametrization(nn.Module):
    def __init__(self, fan_in, fan_out, rank=4, alpha=8.0):
        super().__init__()
        self.lora_A = nn.Parameter(torch.zeros(rank, fan_in))
        self.lora_B = nn.Parameter(torch.zeros(fan_out, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / rank
        self.enabled = True

    def forward(self, original_weights):
        if self.enabled:
            return original_weights + torch.matmul(self.lora_B, self.lora_A).view(original_weights.shape) * self.scale
        return original_weights


def add_lora(model, rank, alpha):
    for module in model.modules():
        if isinstance(module, nn.Linear):
            fan_out, fan_in = module.weight.shape
            parametrize.register_parametrization(module, "weight", LoRAParametrization(fan_in, fan_out, rank, alpha))


def enable_lora(model, enabled=True):
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations["weight"]:
                p.enabled = enabled


def train(model, loader, optimizer, scheduler=None):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * x.size(0)
        count += x.size(0)
    return total / count


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    return (model(x.to(device)).argmax(-1) == y.to(device)).float().mean().item()


# 1. pretrain on task A and keep the weights, as a downloaded checkpoint would be
base = MLP(cfg).to(device)
opt = torch.optim.Adam(base.parameters(), lr=3e-3)
loader_a = DataLoader(TensorDataset(xa, ya), batch_size=cfg.batch_size, shuffle=True)
for epoch in range(cfg.pretrain_epochs):
    loss = train(base, loader_a, opt)
    print(f"pretrain epoch {epoch} pretrain_loss {loss:.4f}")
buffer = io.BytesIO()
torch.save(base.state_dict(), buffer)
print(f"pretrained accuracy on task A {accuracy(base, xa, ya):.3f}, on task B {accuracy(base, xb_test, yb_test):.3f}")

# 2. LoRA: freeze the base, train only the low-rank factors
buffer.seek(0)
model = MLP(cfg).to(device)
model.load_state_dict(torch.load(buffer, weights_only=True))
original = copy.deepcopy(model)
for p in model.parameters():
    p.requires_grad_(False)
add_lora(model, cfg.rank, cfg.alpha)
trainable = [p for n, p in model.named_parameters() if "lora_" in n]
total_params = sum(p.numel() for p in model.parameters())
print(f"trainable {sum(p.numel() for p in trainable)} of {total_params} parameters "
      f"({len(trainable)} tensors)")
print("parametrized:", [n for n, m in model.named_modules() if parametrize.is_parametrized(m)])

opt = torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0.0)
loader_b = DataLoader(TensorDataset(xb, yb), batch_size=cfg.batch_size, shuffle=True)
steps = cfg.finetune_epochs * len(loader_b)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
print(f"epoch -1 loss {F.cross_entropy(model(xb), yb).item():.4f} accuracy {accuracy(model, xb_test, yb_test):.3f}")
for epoch in range(cfg.finetune_epochs):
    loss = train(model, loader_b, opt, scheduler)
    print(f"epoch {epoch} loss {loss:.4f} accuracy {accuracy(model, xb_test, yb_test):.3f} "
          f"lr {scheduler.get_last_lr()[0]:.5f}")

with torch.no_grad():
    enable_lora(model, False)
    base_acc = accuracy(model, xb_test, yb_test)
    enable_lora(model, True)
    same_base = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), original.state_dict().values())
                    if a.shape == b.shape)
print(f"without the adapters {base_acc:.3f}; base weights untouched {same_base}")
print("original weight key:", "layers.0.parametrizations.weight.original" in model.state_dict())

# 3. merge the adapters into the weights and ship a plain model
with torch.no_grad():
    before = model(xb_test)
for module in model.modules():
    if parametrize.is_parametrized(module):
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
merged_sd = model.state_dict()
print("merged keys:", sorted(merged_sd.keys()))
buffer = io.BytesIO()
torch.save(merged_sd, buffer)
buffer.seek(0)
deployed = MLP(cfg)
deployed.load_state_dict(torch.load(buffer, weights_only=True))
with torch.no_grad():
    after = deployed(xb_test)
    err = (before - after).abs().max().item()
print(f"merge error {err:.2e} merged_ok {float(err < 1e-4):.0f}")
print(f"final accuracy {accuracy(deployed, xb_test, yb_test):.3f}")
