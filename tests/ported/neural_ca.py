"""Growing neural cellular automata (Mordvintsev et al. 2020) on a tiny 16x16 target: fixed identity/Sobel
perception as a depthwise conv (groups), stochastic cell updates, alive masking with max_pool2d, a sample pool
and per-parameter gradient normalisation before the step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
np.random.seed(0)
device = torch.device("cpu")

SIZE, CHANNELS, POOL_SIZE, BATCH = 16, 12, 64, 8


def make_target():
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    r = np.sqrt((xx - 7.5) ** 2 + (yy - 7.5) ** 2)
    ring = (r < 6.0).astype(np.float32)
    img = np.zeros((4, SIZE, SIZE), np.float32)
    img[0] = ring * (xx / SIZE)
    img[1] = ring * 0.6
    img[2] = ring * (1 - yy / SIZE)
    img[3] = ring  # alpha
    img[:3] *= img[3:4]  # premultiplied rgb
    return torch.from_numpy(img)


class CAModel(nn.Module):
    def __init__(self, channel_n, fire_rate, hidden_size=64):
        super().__init__()
        self.channel_n = channel_n
        self.fire_rate = fire_rate
        ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        kernel = torch.stack([ident, sobel_x, sobel_x.T])  # (3, 3, 3)
        kernel = kernel.repeat(channel_n, 1, 1)[:, None]  # (3*C, 1, 3, 3)
        self.register_buffer("kernel", kernel)
        self.fc0 = nn.Conv2d(channel_n * 3, hidden_size, 1)
        self.fc1 = nn.Conv2d(hidden_size, channel_n, 1, bias=False)
        with torch.no_grad():
            self.fc1.weight.zero_()  # "do nothing" initial behaviour

    def alive(self, x):
        return F.max_pool2d(x[:, 3:4], kernel_size=3, stride=1, padding=1) > 0.1

    def perceive(self, x):
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), self.kernel, groups=self.channel_n)

    def update(self, x, fire_rate):
        pre_life_mask = self.alive(x)
        dx = self.fc1(F.relu(self.fc0(self.perceive(x))))
        stochastic = (torch.rand(x[:, :1].shape, device=x.device) <= fire_rate).float()
        x = x + dx * stochastic
        post_life_mask = self.alive(x)
        life_mask = (pre_life_mask & post_life_mask).float()
        return x * life_mask

    def forward(self, x, steps, fire_rate=None):
        fire_rate = self.fire_rate if fire_rate is None else fire_rate
        for _ in range(steps):
            x = self.update(x, fire_rate)
        return x


def make_seed(n):
    seed = torch.zeros(n, CHANNELS, SIZE, SIZE)
    seed[:, 3:, SIZE // 2, SIZE // 2] = 1.0
    return seed


target = make_target().to(device)
pad_target = target.unsqueeze(0).repeat(BATCH, 1, 1, 1)
ca = CAModel(CHANNELS, fire_rate=0.5).to(device)
optimizer = torch.optim.Adam(ca.parameters(), lr=2e-3, betas=(0.5, 0.5))
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[150], gamma=0.3)
pool = make_seed(POOL_SIZE)


def loss_f(x, target):
    return torch.mean(torch.pow(x[:, :4] - target, 2), [-2, -3, -1])


for step in range(1, 201):
    batch_idx = np.random.choice(POOL_SIZE, BATCH, replace=False)
    x0 = pool[batch_idx].clone()
    with torch.no_grad():  # replace the worst sample by the seed
        worst = loss_f(x0, pad_target).argsort(descending=True)
        x0[worst[:1]] = make_seed(1)
    n_steps = int(np.random.randint(12, 20))
    x = ca(x0.to(device), n_steps)
    per_sample = loss_f(x, pad_target)
    loss = per_sample.mean()
    optimizer.zero_grad()
    loss.backward()
    for p in ca.parameters():  # normalize gradients per parameter
        p.grad.data = p.grad.data / (p.grad.data.norm() + 1e-8)
    optimizer.step()
    scheduler.step()
    pool[batch_idx] = x.detach().cpu()
    if step == 1 or step % 25 == 0:
        print(f"step {step} loss {loss.item():.5f} log10 {np.log10(loss.item()):.3f} lr {scheduler.get_last_lr()[0]:.5f}")

with torch.no_grad():
    grown = ca(make_seed(4).to(device), 24)
    test_loss = loss_f(grown, target.unsqueeze(0).repeat(4, 1, 1, 1)).mean().item()
    empty = loss_f(make_seed(4), target.unsqueeze(0).repeat(4, 1, 1, 1)).mean().item()
    alive_frac = ca.alive(grown).float().mean().item()
print(f"grown from seed: test_loss {test_loss:.5f} vs seed {empty:.5f} alive {alive_frac:.3f}")
print(f"growth {1 - test_loss / empty:.3f}")
