"""Multi-step forecasting of a multivariate series with a GRU encoder-decoder (seq2seq with teacher forcing),
as in the many "LSTM/GRU time series forecasting in PyTorch" tutorials and repos."""
import copy
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader

SEED = 42
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

# ---------------- synthetic multivariate series: sines + trend + noise ----------------
T = 2400
N_FEATURES = 3
t = torch.arange(T, dtype=torch.float32)
series = torch.stack([
    torch.sin(2 * math.pi * t / 50) + 0.002 * t,
    0.6 * torch.cos(2 * math.pi * t / 24) + 0.5 * torch.sin(2 * math.pi * t / 75),
    torch.sin(2 * math.pi * t / 50 + 1.0) * (1 + 0.3 * torch.sin(2 * math.pi * t / 300)),
], dim=1)
series = series + 0.05 * torch.randn_like(series)
print(f"series shape {tuple(series.shape)}")

n_train, n_val = int(0.7 * T), int(0.15 * T)
train_raw, val_raw, test_raw = series[:n_train], series[n_train:n_train + n_val], series[n_train + n_val:]

# normalise with statistics of the training part only
mean = train_raw.mean(dim=0, keepdim=True)
std = train_raw.std(dim=0, keepdim=True)
train_s, val_s, test_s = [(x - mean) / std for x in (train_raw, val_raw, test_raw)]

IN_LEN, OUT_LEN = 48, 12


class WindowDataset(Dataset):
    """Sliding windows (input IN_LEN steps, target the next OUT_LEN steps) built with Tensor.unfold."""

    def __init__(self, data, in_len, out_len, stride=1):
        # unfold(0, size, step) -> (num_windows, features, size)
        windows = data.unfold(0, in_len + out_len, stride).permute(0, 2, 1).contiguous()
        self.x = windows[:, :in_len]
        self.y = windows[:, in_len:]

    def __len__(self):
        return self.x.size(0)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


train_ds = WindowDataset(train_s, IN_LEN, OUT_LEN, stride=2)
val_ds = WindowDataset(val_s, IN_LEN, OUT_LEN)
test_ds = WindowDataset(test_s, IN_LEN, OUT_LEN)
print(f"windows train {len(train_ds)} val {len(val_ds)} test {len(test_ds)}")

g = torch.Generator(device='cpu')
g.manual_seed(SEED)
train_loader = DataLoader(train_ds, batch_size=64, shuffle=True, drop_last=True, generator=g)
val_loader = DataLoader(val_ds, batch_size=128, shuffle=False)
test_loader = DataLoader(test_ds, batch_size=128, shuffle=False)
xb, yb = next(iter(train_loader))
print(f"batch x {tuple(xb.shape)} y {tuple(yb.shape)}")


class Encoder(nn.Module):
    def __init__(self, n_features, hidden_size, num_layers=1, dropout=0.0):
        super().__init__()
        self.rnn = nn.GRU(n_features, hidden_size, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)

    def forward(self, x):
        outputs, hidden = self.rnn(x)
        return outputs, hidden


class Decoder(nn.Module):
    def __init__(self, n_features, hidden_size, num_layers=1):
        super().__init__()
        self.rnn = nn.GRU(n_features, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, n_features)

    def forward(self, x, hidden):
        # x: (batch, n_features) -> one step
        out, hidden = self.rnn(x.unsqueeze(1), hidden)
        pred = self.fc(out.squeeze(1))
        return pred, hidden


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder, out_len):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.out_len = out_len

    def forward(self, src, target=None, teacher_forcing_ratio=0.0):
        _, hidden = self.encoder(src)
        dec_input = src[:, -1, :]  # last observed value
        outputs = []
        for step in range(self.out_len):
            pred, hidden = self.decoder(dec_input, hidden)
            # predict the residual w.r.t. the previous value
            pred = pred + dec_input
            outputs.append(pred)
            if target is not None and random.random() < teacher_forcing_ratio:
                dec_input = target[:, step, :]
            else:
                dec_input = pred
        return torch.stack(outputs, dim=1)


HIDDEN = 48
model = Seq2Seq(Encoder(N_FEATURES, HIDDEN, num_layers=2, dropout=0.1), Decoder(N_FEATURES, HIDDEN, num_layers=2),
                OUT_LEN).to(device)


def init_weights(m):
    for name, param in m.named_parameters():
        if 'weight_ih' in name:
            nn.init.xavier_uniform_(param.data)
        elif 'weight_hh' in name:
            nn.init.orthogonal_(param.data)
        elif 'bias' in name:
            param.data.fill_(0)


model.apply(init_weights)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"model has {n_params:,} trainable parameters")

criterion = nn.HuberLoss(delta=1.0)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-5)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5, patience=2)


def evaluate(loader):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            pred = model(x)
            total += criterion(pred, y).item() * x.size(0)
            count += x.size(0)
    return total / count


EPOCHS = 18
PATIENCE = 4
best_val, best_state, bad_epochs = float('inf'), None, 0
start = time.time()
for epoch in range(1, EPOCHS + 1):
    model.train()
    tf_ratio = max(0.0, 0.6 * (1 - epoch / 10))  # decay teacher forcing
    running, grad_norms = 0.0, []
    for i, (x, y) in enumerate(train_loader):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        pred = model(x, y, teacher_forcing_ratio=tf_ratio)
        loss = criterion(pred, y)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        grad_norms.append(grad_norm.item())
        optimizer.step()
        running += loss.item()
    train_loss = running / len(train_loader)
    val_loss = evaluate(val_loader)
    scheduler.step(val_loss)
    lr = scheduler.get_last_lr()[0]
    print(f"epoch {epoch} train_loss {train_loss:.5f} val_loss {val_loss:.5f} lr {lr:.2e} tf {tf_ratio:.2f} "
          f"grad_norm {np.mean(grad_norms):.3f}")
    if val_loss < best_val - 1e-5:
        best_val, bad_epochs = val_loss, 0
        best_state = copy.deepcopy(model.state_dict())
    else:
        bad_epochs += 1
        if bad_epochs >= PATIENCE:
            print(f"early stopping at epoch {epoch}")
            break

print(f"best val_loss {best_val:.5f} ({time.time() - start:.1f}s)")
model.load_state_dict(best_state)
print(f"reloaded best val_loss {evaluate(val_loader):.5f}")

# ---------------- test: MAE in original units vs. a naive last-value forecast ----------------
model.eval()
abs_err, naive_err, n = 0.0, 0.0, 0
per_horizon = torch.zeros(OUT_LEN)
with torch.no_grad():
    for x, y in test_loader:
        x, y = x.to(device), y.to(device)
        pred = model(x) * std.to(device) + mean.to(device)
        target = y * std.to(device) + mean.to(device)
        last = (x[:, -1:, :] * std.to(device) + mean.to(device)).expand_as(target)
        abs_err += F.l1_loss(pred, target, reduction='sum').item()
        naive_err += (last - target).abs().sum().item()
        n += target.numel()
        per_horizon += (pred - target).abs().mean(dim=2).sum(dim=0).cpu()
mae, naive_mae = abs_err / n, naive_err / n
per_horizon /= len(test_ds)
print("MAE by horizon", [f"{v:.3f}" for v in per_horizon.tolist()])
print(f"test MAE {mae:.4f} naive MAE {naive_mae:.4f}")
print(f"skill {1 - mae / naive_mae:.3f}")
