"""Convolutional VAE with KL annealing, free bits, reparameterisation and checkpointing."""
import argparse
import math
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--latent", type=int, default=8)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

torch.manual_seed(0)
np.random.seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_blobs(n=1200, size=16):
    """Images of a gaussian blob at random positions / widths -> binary-ish images."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cx = torch.randint(3, size - 3, (n, 1, 1)).float()
    cy = torch.randint(3, size - 3, (n, 1, 1)).float()
    sig = torch.empty(n, 1, 1).uniform_(1.0, 3.0)
    img = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig ** 2))
    return img.unsqueeze(1).clamp(0, 1)


class Encoder(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(16, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),
            nn.Flatten(),
        )
        self.fc_mu = nn.Linear(32 * 4 * 4, latent)
        self.fc_logvar = nn.Linear(32 * 4 * 4, latent)

    def forward(self, x):
        h = self.net(x)
        return self.fc_mu(h), self.fc_logvar(h)


class Decoder(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.fc = nn.Linear(latent, 32 * 4 * 4)
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Unflatten(1, (32, 4, 4)),
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(True),
            nn.ConvTranspose2d(16, 1, 4, 2, 1),
        )

    def forward(self, z):
        return self.net(self.fc(z))


class VAE(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.encoder = Encoder(latent)
        self.decoder = Decoder(latent)
        self.latent = latent

    @staticmethod
    def reparameterize(mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = self.reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        z = torch.randn(n, self.latent, device=next(self.parameters()).device)
        return torch.sigmoid(self.decoder(z))


def kl_annealing(step, total, cycles=2, ratio=0.5):
    """Cyclical annealing schedule (Fu et al. 2019)."""
    period = total / cycles
    tau = (step % period) / period
    return min(1.0, tau / ratio)


def loss_fn(logits, x, mu, logvar, beta, free_bits=0.1):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.size(0)
    kl_per_dim = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, D)
    kl_per_dim = kl_per_dim.mean(0)
    kl = torch.clamp(kl_per_dim, min=free_bits).sum()
    return rec + beta * kl, rec, kl_per_dim.sum()


data = make_blobs()
ds = TensorDataset(data)
train_ds, val_ds = random_split(ds, [0.85, 0.15], generator=torch.Generator().manual_seed(42))
train_dl = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True, drop_last=True)
val_dl = DataLoader(val_ds, batch_size=256)

model = VAE(args.latent).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-5)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
total_steps = args.epochs * len(train_dl)
print(f"params: {sum(p.numel() for p in model.parameters() if p.requires_grad):,}")

step = 0
best = math.inf
ckpt_path = os.path.join(tempfile.mkdtemp(), "vae_best.pt")
for epoch in range(1, args.epochs + 1):
    model.train()
    running = {"loss": 0.0, "rec": 0.0, "kl": 0.0}
    for (x,) in train_dl:
        x = x.to(device)
        beta = kl_annealing(step, total_steps)
        logits, mu, logvar = model(x)
        loss, rec, kl = loss_fn(logits, x, mu, logvar, beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimizer.step()
        step += 1
        running["loss"] += loss.item()
        running["rec"] += rec.item()
        running["kl"] += kl.item()
    scheduler.step()
    n = len(train_dl)
    model.eval()
    with torch.no_grad():
        val_elbo = 0.0
        for (x,) in val_dl:
            logits, mu, logvar = model(x)
            _, rec, kl = loss_fn(logits, x, mu, logvar, beta=1.0, free_bits=0.0)
            val_elbo += (rec + kl).item() * x.size(0)
        val_elbo /= len(val_ds)
    print(f"epoch {epoch} beta={beta:.2f} loss={running['loss']/n:.2f} rec={running['rec']/n:.2f} "
          f"kl={running['kl']/n:.2f} val_nelbo={val_elbo:.2f} lr={scheduler.get_last_lr()[0]:.5f}")
    if val_elbo < best:
        best = val_elbo
        torch.save({"epoch": epoch, "model": model.state_dict(), "optim": optimizer.state_dict(),
                    "val": best}, ckpt_path)

# reload best and check active units + samples
ckpt = torch.load(ckpt_path, map_location="cpu")
model.load_state_dict(ckpt["model"])
optimizer.load_state_dict(ckpt["optim"])
model.eval()
with torch.no_grad():
    mus = torch.cat([model.encoder(x)[0] for (x,) in val_dl])
    active = (mus.var(dim=0) > 1e-2).sum().item()
    samples = model.sample(16)
    recon = torch.sigmoid(model(data[:4])[0])
print(f"best epoch {ckpt['epoch']} val {ckpt['val']:.2f}; active units {active}/{args.latent}")
print("sample stats", samples.mean().item(), samples.std().item(), tuple(samples.shape))
print("recon err", F.mse_loss(recon, data[:4]).item())
# interpolate in latent space
z0, z1 = mus[0], mus[1]
alphas = torch.linspace(0, 1, 5).unsqueeze(1)
zs = torch.lerp(z0.expand(5, -1), z1.expand(5, -1), alphas)
with torch.no_grad():
    interp = torch.sigmoid(model.decoder(zs)).squeeze(1)
print("interp centroid row:", interp.sum(dim=(1, 2)).detach().cpu().numpy().round(2))
