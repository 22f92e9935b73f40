"""BYOL (Grill et al. 2020) on synthetic 1-D signals: an online network with a predictor learns to predict a
momentum (EMA) target network's projection of another augmented view; no negative pairs.

The target network is a deepcopy of the online encoder + projector with requires_grad off, updated after
every step with torch._foreach_mul_/_foreach_add_ at a momentum that follows BYOL's cosine schedule
towards 1; its outputs are computed under torch.no_grad() (the stop-gradient). The loss is the
symmetrised 2 - 2 cos(p, z). Progress is monitored with a kNN classifier on the frozen encoder's
features, and the final representation is scored by a linear probe.
"""
import copy
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class BYOLConfig:
    length: int = 64
    classes: int = 4
    feature_dim: int = 64
    projection_dim: int = 32
    hidden_dim: int = 128
    base_momentum: float = 0.99
    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-5


def make_signals(n, length, classes, generator):
    """Four waveform families (sine, square, sawtooth, a chirp) at a random frequency, phase and amplitude."""
    y = torch.randint(0, classes, (n,), generator=generator)
    t = torch.linspace(0, 1, length)
    freq = 2 + 3 * torch.rand(n, 1, generator=generator)
    phase = 2 * math.pi * torch.rand(n, 1, generator=generator)
    amp = 0.7 + 0.6 * torch.rand(n, 1, generator=generator)
    arg = 2 * math.pi * freq * t + phase
    waves = torch.stack([
        torch.sin(arg),
        torch.sign(torch.sin(arg)),
        2 * torch.remainder(arg / (2 * math.pi), 1.0) - 1,
        torch.sin(arg * (0.5 + 1.5 * t)),
    ], dim=1)
    drift = 1.5 * torch.randn(n, 1, generator=generator) * (t - 0.5) + 0.8 * torch.randn(n, 1, generator=generator)
    x = amp * waves[torch.arange(n), y] + drift  # a nuisance baseline wander the features should ignore
    return x.unsqueeze(1), y


class SignalDataset(Dataset):
    def __init__(self, x, y, transform=None):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        x = self.x[i]
        if self.transform is None:
            return x, self.y[i]
        return self.transform(x), self.transform(x)


class Augment:
    """Random time shift, amplitude scaling, a partial baseline removal, a masked span and Gaussian jitter."""

    def __call__(self, x):
        x = x - x.mean() * torch.rand(())
        x = torch.roll(x, shifts=int(torch.randint(-8, 9, ())), dims=-1)
        x = x * (0.6 + 0.8 * torch.rand(()))
        start = int(torch.randint(0, x.size(-1) - 12, ()))
        x = x.clone()
        x[..., start:start + 12] = 0
        return x + 0.15 * torch.randn_like(x)


class Encoder(nn.Module):
    def __init__(self, out_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(1, 32, 7, padding=3), nn.BatchNorm1d(32), nn.ReLU(inplace=True),
            nn.Conv1d(32, 64, 5, padding=2, stride=2), nn.BatchNorm1d(64), nn.ReLU(inplace=True),
            nn.Conv1d(64, out_dim, 3, padding=1, stride=2), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x)


def mlp(in_dim, hidden, out_dim):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, out_dim))


class BYOL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.online = nn.ModuleDict({
            "encoder": Encoder(cfg.feature_dim),
            "projector": mlp(cfg.feature_dim, cfg.hidden_dim, cfg.projection_dim),
        })
        self.predictor = mlp(cfg.projection_dim, cfg.hidden_dim, cfg.projection_dim)
        self.target = copy.deepcopy(self.online)
        for p in self.target.parameters():
            p.requires_grad = False

    def project(self, net, x):
        return net["projector"](net["encoder"](x))

    @staticmethod
    def regression_loss(p, z):
        return 2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1).mean()

    def forward(self, v1, v2):
        p1 = self.predictor(self.project(self.online, v1))
        p2 = self.predictor(self.project(self.online, v2))
        with torch.no_grad():
            z1 = self.project(self.target, v1)
            z2 = self.project(self.target, v2)
        return self.regression_loss(p1, z2) + self.regression_loss(p2, z1)

    @torch.no_grad()
    def update_target(self, momentum):
        online = list(self.online.parameters())
        target = list(self.target.parameters())
        torch._foreach_mul_(target, momentum)
        torch._foreach_add_(target, online, alpha=1 - momentum)
        for bt, bo in zip(self.target.buffers(), self.online.buffers()):
            bt.copy_(bo)


@torch.no_grad()
def embed(encoder, x):
    encoder.eval()
    out = F.normalize(encoder(x.to(device)), dim=1)
    encoder.train()
    return out


@torch.no_grad()
def knn_accuracy(encoder, train_x, train_y, test_x, test_y, k=10):
    bank, queries = embed(encoder, train_x), embed(encoder, test_x)
    sim = queries @ bank.T
    top_sim, top_idx = sim.topk(k, dim=1)
    votes = torch.zeros(len(test_x), int(train_y.max()) + 1, device=device)
    votes.scatter_add_(1, train_y.to(device)[top_idx], (top_sim / 0.1).exp())
    return (votes.argmax(1) == test_y.to(device)).float().mean().item()


cfg = BYOLConfig()
g = torch.Generator().manual_seed(0)
train_x, train_y = make_signals(1536, cfg.length, cfg.classes, g)
test_x, test_y = make_signals(512, cfg.length, cfg.classes, g)
loader = DataLoader(SignalDataset(train_x, train_y, Augment()), batch_size=cfg.batch_size, shuffle=True,
                    drop_last=True)

model = BYOL(cfg).to(device)
params = list(model.online.parameters()) + list(model.predictor.parameters())
optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
total_steps = cfg.epochs * len(loader)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
print(f"trainable {sum(p.numel() for p in params if p.requires_grad)}, "
      f"target {sum(p.numel() for p in model.target.parameters())} (frozen)")
print(f"epoch -1 knn_acc {knn_accuracy(model.online['encoder'], train_x, train_y, test_x, test_y):.3f}")

step = 0
for epoch in range(cfg.epochs):
    running = 0.0
    for v1, v2 in loader:
        v1, v2 = v1.to(device), v2.to(device)
        loss = model(v1, v2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        momentum = 1 - (1 - cfg.base_momentum) * (math.cos(math.pi * step / total_steps) + 1) / 2
        model.update_target(momentum)
        step += 1
        running += loss.item()
    knn = knn_accuracy(model.online["encoder"], train_x, train_y, test_x, test_y)
    print(f"epoch {epoch} loss {running / len(loader):.4f} momentum {momentum:.4f} knn_acc {knn:.3f}")

# linear evaluation protocol: a fresh linear layer on the frozen encoder's features
encoder = model.online["encoder"]
with torch.no_grad():
    f_train, f_test = embed(encoder, train_x), embed(encoder, test_x)
probe = nn.Linear(cfg.feature_dim, cfg.classes).to(device)
probe_opt = torch.optim.LBFGS(probe.parameters(), lr=0.5, max_iter=100, line_search_fn="strong_wolfe")


def closure():
    probe_opt.zero_grad()
    out = F.cross_entropy(probe(f_train), train_y.to(device)) + 1e-4 * probe.weight.pow(2).sum()
    out.backward()
    return out


probe_opt.step(closure)
with torch.no_grad():
    acc = (probe(f_test).argmax(1) == test_y.to(device)).float().mean().item()
random_encoder = Encoder(cfg.feature_dim).to(device)
print(f"knn_acc of a random encoder {knn_accuracy(random_encoder, train_x, train_y, test_x, test_y):.3f}")
print(f"linear probe accuracy {acc:.3f}")
