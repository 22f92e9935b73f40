"""Part A: neural ODE with a fixed-step RK4 solver fit to spiral trajectories (backprop through the
solver). Part B: RealNVP with alternating checkerboard masks on 2-D two-moons, exact log-likelihood."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)


# ---------------------------------------------------------------- Part A: neural ODE
def rk4_step(f, t, y, dt):
    k1 = f(t, y)
    k2 = f(t + dt / 2, y + dt * k1 / 2)
    k3 = f(t + dt / 2, y + dt * k2 / 2)
    k4 = f(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def odeint_rk4(f, y0, ts, substeps=4):
    ys = [y0]
    y = y0
    for t0, t1 in zip(ts[:-1], ts[1:]):
        dt = (t1 - t0) / substeps
        for s in range(substeps):
            y = rk4_step(f, t0 + s * dt, y, dt)
        ys.append(y)
    return torch.stack(ys, dim=0)


class ODEFunc(nn.Module):
    def __init__(self, dim=2, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim + 1, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                 nn.Tanh(), nn.Linear(hidden, dim))
        self.nfe = 0
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)

    def forward(self, t, y):
        self.nfe += 1
        tt = torch.ones_like(y[..., :1]) * t
        return self.net(torch.cat([y, tt], dim=-1))


true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
ts = torch.linspace(0.0, 5.0, 50)
y0_batch = torch.randn(16, 2)
with torch.no_grad():
    true_y = odeint_rk4(lambda t, y: (y ** 3) @ true_A, y0_batch * 0.8, ts, substeps=8)
print("true trajectories:", tuple(true_y.shape), "final radius", true_y[-1].norm(dim=-1).mean().item())

func = ODEFunc()
opt = torch.optim.RMSprop(func.parameters(), lr=1e-3)
for itr in range(1, 151):
    opt.zero_grad()
    idx = torch.randint(0, ts.numel() - 10, (1,)).item()
    seg_t = ts[idx:idx + 10]
    pred = odeint_rk4(func, true_y[idx], seg_t, substeps=2)
    loss = torch.mean(torch.abs(pred - true_y[idx:idx + 10]))
    loss.backward()
    opt.step()
    if itr % 50 == 0:
        with torch.no_grad():
            full = odeint_rk4(func, true_y[0], ts, substeps=2)
            tl = F.l1_loss(full, true_y)
        print(f"iter {itr:4d} seg loss {loss.item():.4f} full-traj L1 {tl.item():.4f} nfe {func.nfe}")


# ---------------------------------------------------------------- Part B: RealNVP
def two_moons(n, noise=0.08):
    t = torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    sel = torch.rand(n) < 0.5
    x = torch.where(sel[:, None], upper, lower)
    return x + noise * torch.randn_like(x)


class Coupling(nn.Module):
    def __init__(self, mask, hidden=64):
        super().__init__()
        self.register_buffer("mask", mask)
        self.s = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                               nn.LeakyReLU(), nn.Linear(hidden, 2), nn.Tanh())
        self.t = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                               nn.LeakyReLU(), nn.Linear(hidden, 2))
        self.scale = nn.Parameter(torch.zeros(2))

    def forward(self, x):  # x -> z
        xm = x * self.mask
        s = self.s(xm) * self.scale.exp() * (1 - self.mask)
        t = self.t(xm) * (1 - self.mask)
        z = xm + (1 - self.mask) * (x * torch.exp(s) + t)
        return z, s.sum(dim=1)

    def inverse(self, z):
        zm = z * self.mask
        s = self.s(zm) * self.scale.exp() * (1 - self.mask)
        t = self.t(zm) * (1 - self.mask)
        return zm + (1 - self.mask) * ((z - t) * torch.exp(-s))


class RealNVP(nn.Module):
    def __init__(self, n_layers=6):
        super().__init__()
        masks = [torch.tensor([1.0, 0.0]) if i % 2 == 0 else torch.tensor([0.0, 1.0]) for i in range(n_layers)]
        self.layers = nn.ModuleList([Coupling(m) for m in masks])
        self.prior = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))

    def forward(self, x):
        logdet = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def log_prob(self, x):
        z, logdet = self(x)
        return self.prior.log_prob(z) + logdet

    @torch.no_grad()
    def sample(self, n):
        z = self.prior.sample((n,))
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z


flow = RealNVP()
fopt = torch.optim.Adam(flow.parameters(), lr=1e-3, weight_decay=1e-6)
sched = torch.optim.lr_scheduler.MultiStepLR(fopt, milestones=[300, 450], gamma=0.3)
for it in range(500):
    x = two_moons(256)
    loss = -flow.log_prob(x).mean()
    fopt.zero_grad()
    loss.backward()
    fopt.step()
    sched.step()
    if it % 100 == 0 or it == 499:
        print(f"flow iter {it}: nll {loss.item():.4f}")

with torch.no_grad():
    xt = two_moons(2000)
    z, _ = flow(xt)
    rec = flow.sample(0) if False else None
    inv = flow.layers[0].inverse(flow.layers[0](xt)[0])
    print("invertibility err:", (inv - xt).abs().max().item())
    print("latent mean/std:", z.mean(0).numpy().round(2), z.std(0).numpy().round(2))
    s = flow.sample(2000)
    print("sample mean", s.mean(0), "data mean", xt.mean(0))
    print("test nll:", -flow.log_prob(xt).mean().item())
# log-det check against autograd Jacobian for a few points
x = two_moons(3)
J = torch.autograd.functional.jacobian(lambda v: flow(v.unsqueeze(0))[0].squeeze(0), x[0])
print("logdet autograd vs model:", torch.logdet(J).item(), flow(x[:1])[1].item())
