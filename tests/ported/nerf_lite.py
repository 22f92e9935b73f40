"""NeRF-lite on a synthetic 2-D "flatland" scene: cameras on a circle cast fans of rays through three coloured
discs; an MLP on positionally-encoded points predicts density and colour, rendered by alpha compositing."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"

DISCS = torch.tensor([[0.35, 0.2, 0.25], [-0.3, 0.3, 0.2], [0.0, -0.4, 0.22]])  # cx, cy, radius
COLORS = torch.tensor([[1.0, 0.2, 0.2], [0.2, 0.9, 0.3], [0.2, 0.3, 1.0]])
NEAR, FAR = 0.5, 2.5


def get_rays(theta, n_rays=32, fov=0.9):
    origin = torch.stack([1.5 * torch.cos(theta), 1.5 * torch.sin(theta)], -1)
    angles = theta + math.pi + torch.linspace(-fov / 2, fov / 2, n_rays)
    dirs = torch.stack([torch.cos(angles), torch.sin(angles)], -1)
    return origin.expand(n_rays, 2), dirs


def true_render(rays_o, rays_d, n=256):
    t = torch.linspace(NEAR, FAR, n)
    pts = rays_o[:, None, :] + rays_d[:, None, :] * t[None, :, None]  # (R, n, 2)
    d = ((pts[:, :, None, :] - DISCS[:, :2]) ** 2).sum(-1).sqrt()  # (R, n, 3)
    sigma = 30.0 * (d < DISCS[:, 2]).float()
    rgb = (sigma[..., None] * COLORS).sum(2) / (sigma.sum(2, keepdim=True) + 1e-8)
    return composite(sigma.sum(2), rgb, t.expand(len(rays_o), n))[0]


def positional_encoding(x, L):
    freq_bands = 2.0 ** torch.arange(L, dtype=x.dtype, device=x.device) * math.pi
    xb = x[..., None] * freq_bands  # (..., D, L)
    enc = torch.cat([torch.sin(xb), torch.cos(xb)], dim=-1).flatten(-2)
    return torch.cat([x, enc], dim=-1)


def composite(sigma, rgb, z_vals, white_bkgd=True):
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.full_like(dists[..., :1], 1e10)], -1)
    alpha = 1.0 - torch.exp(-F.relu(sigma) * dists)
    # exclusive cumprod: T_i = prod_{j<i} (1 - alpha_j)
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[..., :1]), 1.0 - alpha + 1e-10], -1), -1)[..., :-1]
    weights = alpha * trans
    rgb_map = torch.sum(weights[..., None] * rgb, -2)
    acc_map = weights.sum(-1)
    if white_bkgd:
        rgb_map = rgb_map + (1.0 - acc_map[..., None])
    depth_map = torch.sum(weights * z_vals, -1)
    return rgb_map, depth_map, weights


class NeRF(nn.Module):
    def __init__(self, L=6, W=64):
        super().__init__()
        self.L = L
        in_ch = 2 + 2 * 2 * L
        self.net = nn.Sequential(nn.Linear(in_ch, W), nn.ReLU(), nn.Linear(W, W), nn.ReLU(),
                                 nn.Linear(W, W), nn.ReLU(), nn.Linear(W, 4))

    def forward(self, pts):
        out = self.net(positional_encoding(pts, self.L))
        return F.softplus(out[..., 0] - 1.0), torch.sigmoid(out[..., 1:])  # softplus density (as mip-NeRF)


def render_rays(model, rays_o, rays_d, n_samples=48, perturb=True):
    t = torch.linspace(0.0, 1.0, n_samples, device=rays_o.device)
    z_vals = NEAR * (1.0 - t) + FAR * t
    z_vals = z_vals.expand(rays_o.shape[0], n_samples)
    if perturb:  # stratified sampling: jitter inside each bin
        mids = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
        upper = torch.cat([mids, z_vals[..., -1:]], -1)
        lower = torch.cat([z_vals[..., :1], mids], -1)
        z_vals = lower + (upper - lower) * torch.rand(z_vals.shape, device=rays_o.device)
    pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
    sigma, rgb = model(pts)
    return composite(sigma, rgb, z_vals)


train_thetas = torch.linspace(0, 2 * math.pi, 17)[:-1]
test_thetas = train_thetas[:4] + math.pi / 16
rays = [get_rays(th) for th in train_thetas]
all_o = torch.cat([r[0] for r in rays]).to(device)
all_d = torch.cat([r[1] for r in rays]).to(device)
with torch.no_grad():
    all_rgb = true_render(all_o, all_d)

model = NeRF().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.1 ** (1 / 400))
for step in range(1, 401):
    idx = torch.randint(0, all_o.shape[0], (128,))
    rgb_map, _, _ = render_rays(model, all_o[idx], all_d[idx])
    loss = F.mse_loss(rgb_map, all_rgb[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step == 1 or step % 100 == 0:
        psnr = -10.0 * torch.log10(loss)
        print(f"step {step} loss {loss.item():.5f} train_psnr {psnr.item():.2f}")

with torch.no_grad():
    o = torch.cat([get_rays(th)[0] for th in test_thetas]).to(device)
    d = torch.cat([get_rays(th)[1] for th in test_thetas]).to(device)
    target = true_render(o, d)
    pred, depth, weights = render_rays(model, o, d, n_samples=96, perturb=False)
    mse = F.mse_loss(pred, target)
    base = F.mse_loss(target.mean(0).expand_as(target), target)
print(f"test psnr {(-10 * torch.log10(mse)).item():.2f} baseline psnr {(-10 * torch.log10(base)).item():.2f}")
print(f"weights sum max {weights.sum(-1).max().item():.3f} depth range {depth.min().item():.2f}..{depth.max().item():.2f}")
print(f"gain {1 - (mse / base).item():.3f}")
