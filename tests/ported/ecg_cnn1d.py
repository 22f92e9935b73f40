"""A 1-D CNN classifying synthetic ECG-like heartbeat signals (normal / tachycardia / ectopic beats / noise).

Conv1d + BatchNorm1d + GELU + MaxPool1d blocks, a residual block, AdaptiveAvgPool1d, plus a spectral
branch (magnitude of a DFT computed with a cos/sin basis matmul), per-signal standardisation,
random time-shift and amplitude augmentation in the Dataset, AdamW + CosineAnnealingLR,
a per-class confusion matrix built with torch.bincount.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, TensorDataset

torch.manual_seed(3)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
FS, SECONDS = 100, 2.56
L = int(FS * SECONDS)
CLASSES = ["normal", "tachy", "ectopic", "noise"]


def beat_train(rate_hz, n, jitter, ectopic=False):
    t = torch.arange(L).float() / FS
    x = torch.zeros(n, L)
    phase = torch.rand(n, 1) / rate_hz
    period = 1.0 / rate_hz
    for k in range(int(SECONDS * rate_hz) + 2):
        centre = phase + k * period + jitter * torch.randn(n, 1)
        width = torch.full((n, 1), 0.02)
        if ectopic:
            wide = torch.rand(n, 1) < 0.35
            width = torch.where(wide, torch.full_like(width, 0.06), width)
        x += torch.exp(-0.5 * ((t - centre) / width) ** 2)                      # QRS
        x += 0.25 * torch.exp(-0.5 * ((t - centre - 0.25 * period) / 0.05) ** 2)  # T wave
    return x


def make_dataset(n_per_class):
    xs, ys = [], []
    xs.append(beat_train(1.2, n_per_class, 0.01)); ys.append(torch.full((n_per_class,), 0))
    xs.append(beat_train(2.4, n_per_class, 0.01)); ys.append(torch.full((n_per_class,), 1))
    xs.append(beat_train(1.2, n_per_class, 0.06, ectopic=True)); ys.append(torch.full((n_per_class,), 2))
    noise = 0.6 * torch.randn(n_per_class, L).cumsum(-1) / math.sqrt(L) + 0.3 * torch.randn(n_per_class, L)
    xs.append(noise); ys.append(torch.full((n_per_class,), 3))
    x = torch.cat(xs) + 0.05 * torch.randn(4 * n_per_class, L)
    x += 0.3 * torch.sin(2 * math.pi * 0.3 * torch.arange(L) / FS + 6.28 * torch.rand(x.size(0), 1))  # baseline wander
    return x.unsqueeze(1), torch.cat(ys).long()


class AugmentedSignals(Dataset):
    def __init__(self, x, y, train):
        self.x, self.y, self.train = x, y, train

    def __len__(self):
        return self.x.size(0)

    def __getitem__(self, i):
        x = self.x[i]
        if self.train:
            x = torch.roll(x, shifts=int(torch.randint(-20, 21, (1,))), dims=-1)
            x = x * (0.8 + 0.4 * torch.rand(1))
        x = (x - x.mean(dim=-1, keepdim=True)) / (x.std(dim=-1, keepdim=True) + 1e-6)
        return x, self.y[i]


class ResBlock1d(nn.Module):
    def __init__(self, ch, k=5):
        super().__init__()
        self.conv1 = nn.Conv1d(ch, ch, k, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(ch)
        self.conv2 = nn.Conv1d(ch, ch, k, padding="same", bias=False)
        self.bn2 = nn.BatchNorm1d(ch)

    def forward(self, x):
        out = F.gelu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.gelu(out + x)


class ECGNet(nn.Module):
    def __init__(self, n_classes, n_freq=40):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 16, kernel_size=7, stride=1, padding=3), nn.BatchNorm1d(16), nn.GELU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, kernel_size=5, padding=2), nn.BatchNorm1d(32), nn.GELU(), nn.MaxPool1d(2),
            ResBlock1d(32),
            nn.AdaptiveAvgPool1d(1),
        )
        n = torch.arange(L).float()
        f = torch.arange(n_freq).float().unsqueeze(1)
        self.register_buffer("dft_cos", torch.cos(2 * math.pi * f * n / L))
        self.register_buffer("dft_sin", -torch.sin(2 * math.pi * f * n / L))
        self.spec = nn.Sequential(nn.Linear(n_freq, 32), nn.GELU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(32 + 32, n_classes))

    def forward(self, x):
        h = self.features(x).flatten(1)
        sig = x.squeeze(1)
        mag = torch.sqrt((sig @ self.dft_cos.T) ** 2 + (sig @ self.dft_sin.T) ** 2 + 1e-8)
        s = self.spec(torch.log1p(mag))
        return self.head(torch.cat([h, s], dim=1))


x_train, y_train = make_dataset(150)
x_test, y_test = make_dataset(50)
train_loader = DataLoader(AugmentedSignals(x_train, y_train, True), batch_size=32, shuffle=True, drop_last=True)
test_loader = DataLoader(AugmentedSignals(x_test, y_test, False), batch_size=100)
print(f"train {tuple(x_train.shape)} test {tuple(x_test.shape)} classes {CLASSES}")

model = ECGNet(len(CLASSES)).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
EPOCHS = 6
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * len(train_loader), eta_min=1e-5)
criterion = nn.CrossEntropyLoss()

for epoch in range(EPOCHS):
    model.train()
    total, seen = 0.0, 0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * xb.size(0)
        seen += xb.size(0)
    model.eval()
    preds = []
    with torch.no_grad():
        for xb, yb in test_loader:
            preds.append(model(xb.to(device)).argmax(dim=1).cpu())
    preds = torch.cat(preds)
    acc = (preds == y_test).float().mean().item()
    print(f"epoch {epoch + 1} loss {total / seen:.4f} lr {scheduler.get_last_lr()[0]:.5f} test_acc {acc:.3f}")

confusion = torch.bincount(y_test * len(CLASSES) + preds, minlength=len(CLASSES) ** 2).reshape(len(CLASSES), -1)
print("confusion matrix (rows = true):")
print(confusion)
recall = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
print("per-class recall", {c: round(r, 2) for c, r in zip(CLASSES, recall.tolist())})
print(f"accuracy {acc:.3f}")
