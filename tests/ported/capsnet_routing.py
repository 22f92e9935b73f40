"""Capsule network (Sabour et al. 2017) with dynamic routing-by-agreement, squash, margin loss and a
masked reconstruction decoder, on synthetic 12x12 glyph images."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(13)
NC, H = 4, 12


def glyphs(n):
    y = torch.randint(0, NC, (n,))
    x = torch.zeros(n, 1, H, H)
    x[y == 0, :, 2:10, 5:7] = 1          # vertical bar
    x[y == 1, :, 5:7, 2:10] = 1          # horizontal bar
    idx = torch.arange(2, 10)
    x[(y == 2).nonzero(as_tuple=True)[0][:, None], 0, idx, idx] = 1   # diagonal
    x[y == 3, :, 3:9, 3:9] = 1
    x[y == 3, :, 4:8, 4:8] = 0           # hollow square
    shift = torch.randint(-1, 2, (n, 2))
    x = torch.stack([torch.roll(img, shifts=(int(s[0]), int(s[1])), dims=(1, 2)) for img, s in zip(x, shift)])
    return (x + 0.1 * torch.randn_like(x)).clamp(0, 1), y


def squash(s, dim=-1, eps=1e-8):
    sq = (s ** 2).sum(dim=dim, keepdim=True)
    return (sq / (1 + sq)) * s / torch.sqrt(sq + eps)


class PrimaryCaps(nn.Module):
    def __init__(self, in_ch=32, caps=8, dim=8):
        super().__init__()
        self.dim = dim
        self.conv = nn.Conv2d(in_ch, caps * dim, kernel_size=3, stride=2)

    def forward(self, x):
        out = self.conv(x)                                    # B, caps*dim, h, w
        B = out.size(0)
        out = out.view(B, -1, self.dim, out.size(-2), out.size(-1)).permute(0, 1, 3, 4, 2)
        return squash(out.reshape(B, -1, self.dim))           # B, N_in, dim


class DigitCaps(nn.Module):
    def __init__(self, n_in, d_in=8, n_out=NC, d_out=12, iters=3):
        super().__init__()
        self.iters = iters
        self.W = nn.Parameter(0.05 * torch.randn(1, n_in, n_out, d_out, d_in))

    def forward(self, u):
        B = u.size(0)
        u_hat = torch.matmul(self.W, u[:, :, None, :, None]).squeeze(-1)   # B, N_in, N_out, d_out
        b = torch.zeros(B, u_hat.size(1), u_hat.size(2), device=u.device)
        u_hat_detached = u_hat.detach()
        for r in range(self.iters):
            c = F.softmax(b, dim=2)                                     # couple over output caps
            if r == self.iters - 1:
                s = (c.unsqueeze(-1) * u_hat).sum(dim=1)
                v = squash(s)
            else:
                s = (c.unsqueeze(-1) * u_hat_detached).sum(dim=1)
                v = squash(s)
                b = b + torch.einsum("bnod,bod->bno", u_hat_detached, v)
        self.last_c = c.detach()
        return v                                                        # B, N_out, d_out


class CapsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.primary = PrimaryCaps()
        n_in = 8 * 4 * 4
        self.digit = DigitCaps(n_in)
        self.decoder = nn.Sequential(nn.Linear(12 * NC, 64), nn.ReLU(inplace=True),
                                     nn.Linear(64, H * H), nn.Sigmoid())

    def forward(self, x, y=None):
        v = self.digit(self.primary(F.relu(self.conv1(x))))
        lengths = v.norm(dim=-1)
        if y is None:
            y = lengths.argmax(dim=1)
        mask = F.one_hot(y, NC).to(v.dtype)
        recon = self.decoder((v * mask[:, :, None]).flatten(1)).view(-1, 1, H, H)
        return lengths, recon


class MarginLoss(nn.Module):
    def __init__(self, m_pos=0.9, m_neg=0.1, lam=0.5):
        super().__init__()
        self.m_pos, self.m_neg, self.lam = m_pos, m_neg, lam

    def forward(self, lengths, target):
        t = F.one_hot(target, lengths.size(1)).float()
        pos = t * F.relu(self.m_pos - lengths).pow(2)
        neg = self.lam * (1 - t) * F.relu(lengths - self.m_neg).pow(2)
        return (pos + neg).sum(dim=1).mean()


xtr, ytr = glyphs(1200)
xte, yte = glyphs(300)
dl = DataLoader(TensorDataset(xtr, ytr), batch_size=50, shuffle=True)
model = CapsNet()
crit = MarginLoss()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
for epoch in range(6):
    model.train()
    tm, tr = 0.0, 0.0
    for x, y in dl:
        lengths, recon = model(x, y)
        margin = crit(lengths, y)
        rloss = F.mse_loss(recon, x, reduction="sum") / x.size(0)
        loss = margin + 0.0005 * rloss
        opt.zero_grad()
        loss.backward()
        opt.step()
        tm += margin.item()
        tr += rloss.item()
    sched.step()
    model.eval()
    with torch.no_grad():
        lengths, recon = model(xte)
        acc = (lengths.argmax(1) == yte).float().mean()
    print(f"epoch {epoch}: margin {tm / len(dl):.4f} recon {tr / len(dl):.2f} test acc {acc:.3f}")

with torch.no_grad():
    lengths, _ = model(xte[:6])
    print("capsule lengths:\n", lengths)
    c = model.digit.last_c
    print("coupling coeff sums (should be 1):", c.sum(-1).mean().item(), "max coupling", c.max().item())
    # perturb one dimension of the predicted capsule and decode (the "tweak" experiment)
    v = model.digit(model.primary(F.relu(model.conv1(xte[:1]))))
    k = lengths[0].argmax()
    outs = []
    for delta in torch.arange(-0.2, 0.25, 0.1):
        vv = v.clone()
        vv[0, k, 0] += delta
        outs.append(model.decoder((vv * F.one_hot(k, NC)[None, :, None]).flatten(1)))
    outs = torch.stack(outs)
    print("tweak recon diffs:", (outs - outs[2]).abs().sum(dim=(1, 2)).numpy().round(3))
