"""Glow (Kingma & Dhariwal 2018) on tiny 4x4 images: ActNorm, an LU-decomposed invertible 1x1
convolution and affine coupling, with Glow's squeeze and a multi-scale split.

The images are smooth ramps at a random angle plus noise, dequantised as Glow's are. Each flow step is
ActNorm (initialised from the first batch's statistics), an invertible 1x1 convolution whose weight is
kept as P L (U + diag(sign(s) exp(log|s|))) (its log-determinant is H*W*sum(log|s|), checked against
torch.linalg.slogdet), and an affine coupling with a sigmoid scale. The loss is the negative
log-likelihood in bits per dimension; samples are drawn by running the flow backwards at a temperature.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class GlowConfig:
    in_channels: int = 1
    size: int = 4
    n_flow: int = 4
    n_block: int = 2
    hidden: int = 32
    n_bits: int = 5
    lr: float = 2e-3
    epochs: int = 5
    batch_size: int = 64


class RampImages(Dataset):
    def __init__(self, n, size, n_bits, generator):
        angle = torch.rand(n, generator=generator) * 2 * math.pi
        coords = torch.linspace(-1, 1, size)
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        ramp = torch.cos(angle)[:, None, None] * xx + torch.sin(angle)[:, None, None] * yy
        img = 0.5 + 0.35 * ramp + 0.03 * torch.randn(n, size, size, generator=generator)
        n_bins = 2 ** n_bits
        self.images = (img.clamp(0, 1 - 1e-4) * n_bins).floor().unsqueeze(1) / n_bins - 0.5

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


class ActNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.scale = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def initialize(self, x):
        flat = x.permute(1, 0, 2, 3).contiguous().view(x.shape[1], -1)
        mean = flat.mean(1).view(1, -1, 1, 1)
        std = flat.std(1).view(1, -1, 1, 1)
        self.loc.data.copy_(-mean)
        self.scale.data.copy_(1 / (std + 1e-6))

    def forward(self, x):
        _, _, h, w = x.shape
        if self.initialized.item() == 0:
            self.initialize(x)
            self.initialized.fill_(1)
        logdet = h * w * torch.sum(torch.log(torch.abs(self.scale)))
        return self.scale * (x + self.loc), logdet

    def reverse(self, y):
        return y / self.scale - self.loc


class InvConv2dLU(nn.Module):
    def __init__(self, channels):
        super().__init__()
        weight, _ = torch.linalg.qr(torch.randn(channels, channels))
        w_p, w_l, w_u = torch.lu_unpack(*torch.linalg.lu_factor(weight))
        w_s = torch.diag(w_u)
        u_mask = torch.triu(torch.ones_like(w_u), 1)
        self.register_buffer("w_p", w_p)
        self.register_buffer("u_mask", u_mask)
        self.register_buffer("l_mask", u_mask.T)
        self.register_buffer("s_sign", torch.sign(w_s))
        self.register_buffer("l_eye", torch.eye(channels))
        self.w_l = nn.Parameter(w_l)
        self.w_s = nn.Parameter(torch.log(torch.abs(w_s)))
        self.w_u = nn.Parameter(torch.triu(w_u, 1))

    def calc_weight(self):
        weight = self.w_p @ (self.w_l * self.l_mask + self.l_eye) @ (
            self.w_u * self.u_mask + torch.diag(self.s_sign * torch.exp(self.w_s)))
        return weight.unsqueeze(2).unsqueeze(3)

    def forward(self, x):
        _, _, h, w = x.shape
        out = F.conv2d(x, self.calc_weight())
        return out, h * w * torch.sum(self.w_s)

    def reverse(self, y):
        weight = self.calc_weight()
        return F.conv2d(y, weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))


class ZeroConv2d(nn.Conv2d):
    def __init__(self, in_channel, out_channel):
        super().__init__(in_channel, out_channel, 3, padding=1)
        self.weight.data.zero_()
        self.bias.data.zero_()
        self.logscale = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

    def forward(self, x):
        return super().forward(x) * torch.exp(self.logscale * 3)


class AffineCoupling(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels // 2, hidden, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(inplace=True),
            ZeroConv2d(hidden, channels),
        )
        self.net[0].weight.data.normal_(0, 0.05)
        self.net[0].bias.data.zero_()

    def forward(self, x):
        in_a, in_b = x.chunk(2, 1)
        log_s, t = self.net(in_a).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        out_b = (in_b + t) * s
        logdet = torch.sum(torch.log(s).view(x.shape[0], -1), 1)
        return torch.cat([in_a, out_b], 1), logdet

    def reverse(self, y):
        out_a, out_b = y.chunk(2, 1)
        log_s, t = self.net(out_a).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        return torch.cat([out_a, out_b / s - t], 1)


class FlowStep(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv2dLU(channels)
        self.coupling = AffineCoupling(channels, hidden)

    def forward(self, x):
        x, logdet = self.actnorm(x)
        x, det1 = self.invconv(x)
        x, det2 = self.coupling(x)
        return x, logdet + det1 + det2

    def reverse(self, y):
        return self.actnorm.reverse(self.invconv.reverse(self.coupling.reverse(y)))


def squeeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.contiguous().view(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.contiguous().view(b, c // 4, h * 2, w * 2)


def gaussian_log_p(x, mean, log_sd):
    return -0.5 * math.log(2 * math.pi) - log_sd - 0.5 * (x - mean) ** 2 / torch.exp(2 * log_sd)


class Block(nn.Module):
    def __init__(self, in_channels, n_flow, hidden, split):
        super().__init__()
        squeezed = in_channels * 4
        self.flows = nn.ModuleList([FlowStep(squeezed, hidden) for _ in range(n_flow)])
        self.split = split
        self.prior = ZeroConv2d(in_channels * 2, in_channels * 4) if split else ZeroConv2d(squeezed, squeezed * 2)

    def forward(self, x):
        out = squeeze2d(x)
        logdet = 0
        for flow in self.flows:
            out, det = flow(out)
            logdet = logdet + det
        if self.split:
            out, z_new = out.chunk(2, 1)
            mean, log_sd = self.prior(out).chunk(2, 1)
        else:
            z_new = out
            mean, log_sd = self.prior(torch.zeros_like(out)).chunk(2, 1)
        log_p = gaussian_log_p(z_new, mean, log_sd).view(x.shape[0], -1).sum(1)
        return out, logdet, log_p, z_new

    def reverse(self, out, eps, temperature, reconstruct=False):
        if self.split:
            mean, log_sd = self.prior(out).chunk(2, 1)
            z = eps if reconstruct else mean + torch.exp(log_sd) * eps * temperature
            x = torch.cat([out, z], 1)
        else:
            mean, log_sd = self.prior(torch.zeros_like(eps)).chunk(2, 1)
            x = eps if reconstruct else mean + torch.exp(log_sd) * eps * temperature
        for flow in reversed(self.flows):
            x = flow.reverse(x)
        return unsqueeze2d(x)


class Glow(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        blocks, channels = [], cfg.in_channels
        for i in range(cfg.n_block):
            split = i < cfg.n_block - 1
            blocks.append(Block(channels, cfg.n_flow, cfg.hidden, split))
            channels = channels * 2 if split else channels
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        log_p_sum, logdet, out, zs = 0, 0, x, []
        for block in self.blocks:
            out, det, log_p, z = block(out)
            zs.append(z)
            logdet = logdet + det
            log_p_sum = log_p_sum + log_p
        return log_p_sum, logdet, zs

    def reverse(self, zs, temperature=1.0, reconstruct=False):
        x = None
        for i, block in enumerate(reversed(self.blocks)):
            z = zs[-(i + 1)]
            x = block.reverse(z if x is None else x, z, temperature, reconstruct)
        return x


def nll_bits_per_dim(log_p, logdet, cfg):
    n_pixel = cfg.size * cfg.size * cfg.in_channels
    n_bins = 2 ** cfg.n_bits
    loss = -math.log(n_bins) * n_pixel + logdet + log_p
    return (-loss / (math.log(2) * n_pixel)).mean()


cfg = GlowConfig()
g = torch.Generator().manual_seed(0)
train_set, test_set = RampImages(1536, cfg.size, cfg.n_bits, g), RampImages(512, cfg.size, cfg.n_bits, g)
loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, drop_last=True)
model = Glow(cfg).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 50))


def evaluate():
    model.eval()
    with torch.no_grad():
        x = test_set.images.to(device)
        log_p, logdet, zs = model(x)
        return nll_bits_per_dim(log_p, logdet, cfg).item(), x, zs


nll0, _, _ = evaluate()
print(f"epoch -1 nll {nll0:.4f}")
for epoch in range(cfg.epochs):
    model.train()
    for x in loader:
        x = x.to(device)
        x = x + torch.rand_like(x) / 2 ** cfg.n_bits
        log_p, logdet, _ = model(x)
        loss = nll_bits_per_dim(log_p, logdet, cfg)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
    nll, x, zs = evaluate()
    print(f"epoch {epoch} train_bpd {loss.item():.4f} nll {nll:.4f}")

with torch.no_grad():
    inv = model.blocks[0].flows[0].invconv
    w = inv.calc_weight().squeeze()
    sign, logabsdet = torch.linalg.slogdet(w)
    lu_logdet = inv.w_s.sum().item()
    match = abs(logabsdet.item() - lu_logdet) < 1e-4
    print(f"slogdet {logabsdet.item():.5f} lu {lu_logdet:.5f} logdet_match {float(match):.0f}")
    recon = model.reverse(zs, reconstruct=True)
    err = (recon - x).abs().max().item()
    print(f"reconstruction error {err:.2e} invertible {float(err < 1e-3):.0f}")
    z_sample = [torch.randn_like(z) for z in zs]
    samples = model.reverse(z_sample, temperature=0.7)
    # a ramp's pixels are one plane: score how planar the samples are (R^2 of a least-squares plane fit)
    coords = torch.linspace(-1, 1, cfg.size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    design = torch.stack([torch.ones_like(xx), xx, yy], -1).view(-1, 3)
    flat = samples.view(samples.shape[0], -1).T
    coef = torch.linalg.lstsq(design, flat).solution
    resid = ((design @ coef - flat) ** 2).sum(0)
    total = ((flat - flat.mean(0)) ** 2).sum(0)
    r2 = (1 - resid / total).median().item()
    noise = torch.randn_like(flat)
    r2_noise = (1 - ((design @ torch.linalg.lstsq(design, noise).solution - noise) ** 2).sum(0)
                / ((noise - noise.mean(0)) ** 2).sum(0)).median().item()
    print(f"sample planarity {r2:.3f} (noise {r2_noise:.3f}) planar {r2:.3f}")
