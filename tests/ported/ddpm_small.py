import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
torch.set_float32_matmul_precision('high')
device = 'cuda' if torch.cuda.is_available() else 'cpu'


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    return torch.linspace(beta_start, beta_end, T)


def cosine_beta_schedule(T, s=0.008):
    steps = T + 1
    x = torch.linspace(0, T, steps, dtype=torch.float64)
    ac = torch.cos(((x / T) + s) / (1 + s) * math.pi * 0.5) ** 2
    ac = ac / ac[0]
    betas = 1 - (ac[1:] / ac[:-1])
    return torch.clip(betas, 0.0001, 0.9999).float()


def extract(a, t, x_shape):
    b = t.shape[0]
    out = a.gather(-1, t)
    return out.reshape(b, *((1,) * (len(x_shape) - 1)))


class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half_dim = self.dim // 2
        embeddings = math.log(10000) / (half_dim - 1)
        embeddings = torch.exp(torch.arange(half_dim, device=time.device) * -embeddings)
        embeddings = time[:, None] * embeddings[None, :]
        embeddings = torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)
        return embeddings


class Block(nn.Module):
    def __init__(self, dim, tdim):
        super().__init__()
        self.norm = nn.GroupNorm(4, dim)
        self.lin = nn.Linear(dim, dim)
        self.t = nn.Linear(tdim, dim * 2)

    def forward(self, x, temb):
        scale, shift = self.t(temb).chunk(2, dim=-1)
        h = self.norm(x)
        h = h * (1 + scale) + shift
        return x + self.lin(F.silu(h))


class Denoiser(nn.Module):
    def __init__(self, data_dim=2, dim=64, tdim=32, n_blocks=3):
        super().__init__()
        self.time_mlp = nn.Sequential(
            SinusoidalPositionEmbeddings(tdim),
            nn.Linear(tdim, tdim * 2),
            nn.GELU(),
            nn.Linear(tdim * 2, tdim),
        )
        self.inp = nn.Linear(data_dim, dim)
        self.blocks = nn.ModuleList([Block(dim, tdim) for _ in range(n_blocks)])
        self.out = nn.Linear(dim, data_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t):
        temb = self.time_mlp(t.float())
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, temb)
        return self.out(h)


class GaussianDiffusion(nn.Module):
    def __init__(self, model, timesteps=100, schedule='cosine'):
        super().__init__()
        self.model = model
        self.T = timesteps
        betas = cosine_beta_schedule(timesteps) if schedule == 'cosine' else linear_beta_schedule(timesteps)
        alphas = 1. - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        self.register_buffer('betas', betas)
        self.register_buffer('sqrt_recip_alphas', torch.sqrt(1.0 / alphas))
        self.register_buffer('sqrt_alphas_cumprod', torch.sqrt(alphas_cumprod))
        self.register_buffer('sqrt_one_minus_alphas_cumprod', torch.sqrt(1. - alphas_cumprod))
        posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)
        self.register_buffer('posterior_variance', posterior_variance)
        self.register_buffer('posterior_log_variance_clipped',
                             torch.log(posterior_variance.clamp(min=1e-20)))

    def q_sample(self, x_start, t, noise=None):
        if noise is None:
            noise = torch.randn_like(x_start)
        return (extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    def p_losses(self, x_start, t, loss_type='huber'):
        noise = torch.randn_like(x_start)
        x_noisy = self.q_sample(x_start, t, noise)
        pred = self.model(x_noisy, t)
        if loss_type == 'l2':
            return F.mse_loss(noise, pred)
        return F.smooth_l1_loss(noise, pred)

    @torch.no_grad()
    def p_sample(self, x, t, t_index):
        betas_t = extract(self.betas, t, x.shape)
        s1m = extract(self.sqrt_one_minus_alphas_cumprod, t, x.shape)
        sra = extract(self.sqrt_recip_alphas, t, x.shape)
        model_mean = sra * (x - betas_t * self.model(x, t) / s1m)
        if t_index == 0:
            return model_mean
        pv = extract(self.posterior_variance, t, x.shape)
        return model_mean + torch.sqrt(pv) * torch.randn_like(x)

    @torch.inference_mode()
    def sample(self, n):
        x = torch.randn(n, 2, device=self.betas.device)
        for i in reversed(range(0, self.T)):
            t = torch.full((n,), i, device=x.device, dtype=torch.long)
            x = self.p_sample(x, t, i)
        return x


def make_data(n):
    # two moons-ish: points on two arcs
    theta = torch.rand(n) * math.pi
    which = torch.randint(0, 2, (n,))
    x = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    x[which == 1] = torch.stack([1 - torch.cos(theta[which == 1]), 0.5 - torch.sin(theta[which == 1])], dim=1)
    x = x + 0.05 * torch.randn_like(x)
    return (x - x.mean(0)) / x.std(0)


data = make_data(4096).to(device)
diffusion = GaussianDiffusion(Denoiser(), timesteps=100).to(device)
opt = torch.optim.Adam(diffusion.parameters(), lr=2e-3)
print(f"buffers: {[n for n, _ in diffusion.named_buffers()]}")
print(f"betas[:3]={diffusion.betas[:3]}")

losses = []
for step in range(600):
    diffusion.train()
    idx = torch.randint(0, data.shape[0], (256,))
    x0 = data[idx]
    t = torch.randint(0, diffusion.T, (x0.shape[0],), device=device).long()
    with torch.autocast(device_type=device, enabled=False):
        loss = diffusion.p_losses(x0, t, loss_type='l2')
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(diffusion.parameters(), 1.0)
    opt.step()
    losses.append(loss.item())
    if step % 100 == 0:
        print(f"step {step:4d} loss {loss.item():.4f}")

first, last = sum(losses[:50]) / 50, sum(losses[-50:]) / 50
print(f"avg loss first50={first:.4f} last50={last:.4f}")
diffusion.eval()
samples = diffusion.sample(512)
print(f"sample mean {samples.mean(0)} std {samples.std(0)}")
print(f"sample requires_grad={samples.requires_grad} is_inference={samples.is_inference()}")
# compare with data: nearest-neighbor distance
d = torch.cdist(samples, data[:1024]).min(dim=1).values
print(f"mean NN distance to data: {d.mean():.4f}")
sd = diffusion.state_dict()
print(f"state_dict keys: {len(sd)}; has betas: {'betas' in sd}")
assert last < first
