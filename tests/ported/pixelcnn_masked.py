"""PixelCNN (van den Oord et al. 2016) as the small GitHub implementations write it: a MaskedConv2d subclass
of nn.Conv2d whose type-A / type-B mask is registered as a buffer and multiplied into the weight in
forward (self.weight.data *= self.mask), a stack of masked convolutions with batch norm, a 256-way (here
4-level) per-pixel softmax trained with cross entropy in bits per dimension, and autoregressive sampling
pixel by pixel with torch.multinomial under torch.no_grad. The data are 12x12 images quantised to 4 grey
levels, drawn from a small family of structured patterns (stripes and a blob), so samples can be checked:
a good model's samples are far more likely under the training patterns than noise."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SIZE, LEVELS = 12, 4


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in {"A", "B"}
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


def make_data(n, g):
    """Horizontal or vertical stripes with a random phase and period, plus a bright 3x3 blob."""
    imgs = torch.zeros(n, 1, SIZE, SIZE, dtype=torch.long)
    ar = torch.arange(SIZE)
    for i in range(n):
        period = int(torch.randint(2, 4, (1,), generator=g))
        phase = int(torch.randint(0, period, (1,), generator=g))
        stripes = ((ar + phase) % period == 0).long() * 2
        img = stripes[:, None].expand(SIZE, SIZE) if torch.rand(1, generator=g) < 0.5 else stripes[None, :].expand(SIZE, SIZE)
        img = img.clone()
        r, c = [int(v) for v in torch.randint(0, SIZE - 3, (2,), generator=g)]
        img[r:r + 3, c:c + 3] = 3
        imgs[i, 0] = img
    return imgs


fm = 32
net = nn.Sequential(
    MaskedConv2d("A", 1, fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    nn.Conv2d(fm, LEVELS, 1),
).to(device)

g = torch.Generator().manual_seed(0)
train = make_data(512, g)
test = make_data(128, g)
train_loader = DataLoader(TensorDataset(train), batch_size=64, shuffle=True, num_workers=0, pin_memory=False)
test_loader = DataLoader(TensorDataset(test), batch_size=128, shuffle=False)
optimizer = optim.Adam(net.parameters(), lr=3e-3)
to_bits = 1.0 / math.log(2.0)


def nll_bits(batch):
    x = batch.float() / (LEVELS - 1)
    logits = net(x)
    return F.cross_entropy(logits, batch[:, 0]) * to_bits


for epoch in range(1, 11):
    net.train()
    err_tr = []
    for (inp,) in train_loader:
        inp = inp.to(device)
        loss = nll_bits(inp)
        err_tr.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        err_te = [nll_bits(inp.to(device)).item() for (inp,) in test_loader]
    print(f"epoch {epoch} loss {sum(err_tr) / len(err_tr):.4f} bits/dim, test_bpd {sum(err_te) / len(err_te):.4f}")

# the mask really hides the future: changing a later pixel leaves earlier outputs unchanged
with torch.no_grad():
    x = test[:2].float().to(device) / (LEVELS - 1)
    y = x.clone()
    y[:, :, 6, 6] = 1.0 - y[:, :, 6, 6]
    d = (net(x) - net(y)).abs()
    print(f"causal {bool(d[:, :, :6].max() == 0 and d[:, :, 6, :7].max() == 0)}")

# autoregressive sampling, one pixel at a time
sample = torch.zeros(16, 1, SIZE, SIZE, device=device)
with torch.no_grad():
    for i in range(SIZE):
        for j in range(SIZE):
            out = net(sample)
            probs = F.softmax(out[:, :, i, j], dim=1)
            sample[:, :, i, j] = torch.multinomial(probs, 1).float() / (LEVELS - 1)
    sample_levels = (sample * (LEVELS - 1)).round().long()
    sample_bpd = F.cross_entropy(net(sample), sample_levels[:, 0]).item() * to_bits
    noise = torch.randint(0, LEVELS, sample_levels.shape, device=device)
    noise_bpd = F.cross_entropy(net(noise.float() / (LEVELS - 1)), noise[:, 0]).item() * to_bits
print(f"sample_bpd {sample_bpd:.3f} noise_bpd {noise_bpd:.3f} sample_vs_noise {1 - sample_bpd / noise_bpd:.3f}")
print("blob pixels per sample", (sample_levels == 3).flatten(1).sum(1).float().mean().item())
