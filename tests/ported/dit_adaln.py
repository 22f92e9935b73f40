"""A class-conditional Diffusion Transformer (DiT, Peebles & Xie 2023) on 8x8 images of bars and boxes.

As facebookresearch/DiT's models.py: a Conv2d patch embedding with fixed 2-D sin-cos position embeddings
(a buffer), a sinusoidal timestep embedder, a label embedder whose labels are dropped to a "null" class
for classifier-free guidance, and transformer blocks conditioned by adaLN-Zero (shift, scale and a gate
for each sub-layer regressed from the conditioning and initialised to zero, so each block starts as the
identity). Attention is F.scaled_dot_product_attention; the noise-prediction MSE is trained with AdamW and
an EMA copy of the weights, and samples are drawn with DDIM and guidance. A small CNN, trained on real
images, scores how many samples show the class they were asked for.
"""
import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
np.random.seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class DiTConfig:
    input_size: int = 8
    patch_size: int = 4
    in_channels: int = 1
    hidden_size: int = 64
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 4.0
    class_dropout_prob: float = 0.1
    num_classes: int = 3
    timesteps: int = 200
    train_steps: int = 600
    batch_size: int = 64
    lr: float = 3e-3


def make_images(n):
    """Class 0: a horizontal bar, 1: a vertical bar, 2: a 4x4 box outline, at random even offsets; in [-1, 1]."""
    y = np.random.randint(0, 3, size=n)
    imgs = -np.ones((n, 1, 8, 8), dtype=np.float32)
    for i, c in enumerate(y):
        if c == 0:
            r = 2 * np.random.randint(0, 4)
            imgs[i, 0, r:r + 2, :] = 1
        elif c == 1:
            col = 2 * np.random.randint(0, 4)
            imgs[i, 0, :, col:col + 2] = 1
        else:
            r, col = 2 * np.random.randint(0, 3, size=2)
            imgs[i, 0, r:r + 4, col:col + 4] = 1
            imgs[i, 0, r + 1:r + 3, col + 1:col + 3] = -1
    return torch.from_numpy(imgs), torch.from_numpy(y).long()


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def get_2d_sincos_pos_embed(embed_dim, grid_size):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_h, grid_h), axis=0).reshape(2, 1, grid_size, grid_size)

    def one_d(dim, pos):
        omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    return np.concatenate([one_d(embed_dim // 2, grid[0]), one_d(embed_dim // 2, grid[1])], axis=1)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size, frequency_embedding_size=64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, hidden_size), nn.SiLU(),
                                 nn.Linear(hidden_size, hidden_size))
        self.frequency_embedding_size = frequency_embedding_size

    @staticmethod
    def timestep_embedding(t, dim, max_period=10000):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None].to(t.device)
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, t):
        return self.mlp(self.timestep_embedding(t, self.frequency_embedding_size))


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + 1, hidden_size)  # the last row is the null class
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def forward(self, labels, train):
        if train and self.dropout_prob > 0:
            drop = torch.rand(labels.shape[0], device=labels.device) < self.dropout_prob
            labels = torch.where(drop, self.num_classes, labels)
        return self.embedding_table(labels)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class DiTBlock(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        mlp_hidden = int(hidden_size * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(hidden_size, mlp_hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_hidden, hidden_size))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.x_embedder = nn.Conv2d(cfg.in_channels, cfg.hidden_size, cfg.patch_size, stride=cfg.patch_size)
        self.t_embedder = TimestepEmbedder(cfg.hidden_size)
        self.y_embedder = LabelEmbedder(cfg.num_classes, cfg.hidden_size, cfg.class_dropout_prob)
        grid = cfg.input_size // cfg.patch_size
        pos = torch.from_numpy(get_2d_sincos_pos_embed(cfg.hidden_size, grid)).float().unsqueeze(0)
        self.register_buffer("pos_embed", pos, persistent=False)
        self.blocks = nn.ModuleList([DiTBlock(cfg.hidden_size, cfg.num_heads, cfg.mlp_ratio)
                                     for _ in range(cfg.depth)])
        self.final_layer = FinalLayer(cfg.hidden_size, cfg.patch_size, cfg.in_channels)
        self.initialize_weights()

    def initialize_weights(self):
        def _basic_init(module):
            if isinstance(module, nn.Linear):
                torch.nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
        self.apply(_basic_init)
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.constant_(self.x_embedder.bias, 0)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:  # adaLN-Zero
            nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.linear.weight, 0)
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def unpatchify(self, x):
        c, p = self.cfg.in_channels, self.cfg.patch_size
        h = w = int(x.shape[1] ** 0.5)
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], c, h * p, h * p)

    def forward(self, x, t, y):
        x = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y, self.training)
        for block in self.blocks:
            x = block(x, c)
        return self.unpatchify(self.final_layer(x, c))

    def forward_with_cfg(self, x, t, y, cfg_scale):
        combined = torch.cat([x, x], dim=0)
        y_null = torch.full_like(y, self.cfg.num_classes)
        eps = self(combined, torch.cat([t, t]), torch.cat([y, y_null]))
        cond_eps, uncond_eps = eps.chunk(2, dim=0)
        return uncond_eps + cfg_scale * (cond_eps - uncond_eps)


class GaussianDiffusion:
    def __init__(self, timesteps):
        self.timesteps = timesteps
        s = 0.008  # the cosine schedule (Nichol & Dhariwal)
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        alphas_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - alphas_bar[1:] / alphas_bar[:-1]).clamp(max=0.999)
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0).float()

    def q_sample(self, x0, t, noise):
        a = self.alphas_cumprod.to(x0.device)[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    @torch.no_grad()
    def ddim_sample(self, model, y, steps=25, cfg_scale=2.0):
        x = torch.randn(len(y), 1, 8, 8, device=y.device)
        ts = torch.linspace(self.timesteps - 1, 0, steps).long()
        for i, t in enumerate(ts):
            a_t = self.alphas_cumprod[t]
            a_prev = self.alphas_cumprod[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            eps = model.forward_with_cfg(x, t.repeat(len(y)).to(y.device), y, cfg_scale)
            x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        return x


class Judge(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
                                 nn.Flatten(), nn.Linear(32, 3))

    def forward(self, x):
        return self.net(x)


cfg = DiTConfig()
images, labels = make_images(4096)
loader = DataLoader(TensorDataset(images, labels), batch_size=cfg.batch_size, shuffle=True, drop_last=True)

judge = Judge().to(device)
judge_opt = torch.optim.Adam(judge.parameters(), lr=3e-3)
for epoch in range(2):
    for x, y in loader:
        judge_opt.zero_grad()
        F.cross_entropy(judge(x + 0.1 * torch.randn_like(x)), y).backward()
        judge_opt.step()
judge.eval()
test_x, test_y = make_images(512)
with torch.no_grad():
    print(f"judge accuracy on real images {(judge(test_x).argmax(1) == test_y).float().mean().item():.3f}")

model = DiT(cfg).to(device)
ema = copy.deepcopy(model).requires_grad_(False)
diffusion = GaussianDiffusion(cfg.timesteps)
optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.train_steps,
                                                pct_start=0.1)
print(f"DiT parameters: {sum(p.numel() for p in model.parameters()):,}")


@torch.no_grad()
def update_ema(ema_model, model, decay=0.99):
    ema_params = dict(ema_model.named_parameters())
    for name, param in model.named_parameters():
        ema_params[name].mul_(decay).add_(param.data, alpha=1 - decay)


step, running = 0, 0.0
model.train()
while step < cfg.train_steps:
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        t = torch.randint(0, cfg.timesteps, (x.shape[0],), device=device)
        noise = torch.randn_like(x)
        loss = F.mse_loss(model(diffusion.q_sample(x, t, noise), t, y), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        update_ema(ema, model, decay=0.0 if step < 50 else 0.99)
        running += loss.item()
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {running / 100:.4f} lr {scheduler.get_last_lr()[0]:.2e}")
            running = 0.0
        if step == cfg.train_steps:
            break

ema.eval()
asked = torch.arange(cfg.num_classes, device=device).repeat_interleave(64)
for scale in (1.0, 2.0):
    samples = diffusion.ddim_sample(ema, asked, cfg_scale=scale)
    with torch.no_grad():
        acc = (judge(samples).argmax(1) == asked).float().mean().item()
        binary = (samples.abs() > 0.7).float().mean().item()
    print(f"cfg_scale {scale} sample_accuracy {acc:.3f} saturated_pixels {binary:.3f}")
print(f"conditional accuracy {acc:.3f}")
