"""PointNet classifier with T-Net (input transform + feature-transform regulariser) on synthetic
point clouds, and a Deep Sets regressor on variable-size sets with masked sum/max pooling."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(5)
np.random.seed(5)


def sample_shape(kind, n=128):
    if kind == 0:  # sphere
        p = torch.randn(n, 3)
        p = p / p.norm(dim=1, keepdim=True)
    elif kind == 1:  # cube surface
        p = torch.rand(n, 3) * 2 - 1
        ax = torch.randint(0, 3, (n,))
        p[torch.arange(n), ax] = torch.sign(p[torch.arange(n), ax])
    else:  # cylinder
        th = torch.rand(n) * 2 * np.pi
        p = torch.stack([torch.cos(th), torch.sin(th), torch.rand(n) * 2 - 1], 1)
    # random rotation about z + jitter
    a = torch.rand(1).item() * 2 * np.pi
    R = torch.tensor([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]], dtype=torch.float32)
    return p @ R.T + 0.02 * torch.randn(n, 3)


class TNet(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k
        self.conv = nn.Sequential(nn.Conv1d(k, 32, 1), nn.BatchNorm1d(32), nn.ReLU(),
                                  nn.Conv1d(32, 64, 1), nn.BatchNorm1d(64), nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, k * k))
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)

    def forward(self, x):
        b = x.size(0)
        x = torch.max(self.conv(x), 2, keepdim=True)[0].view(-1, 64)
        iden = torch.eye(self.k, dtype=x.dtype).flatten().unsqueeze(0).repeat(b, 1)
        return (self.fc(x) + iden).view(-1, self.k, self.k)


class PointNetCls(nn.Module):
    def __init__(self, k=3):
        super().__init__()
        self.stn = TNet(3)
        self.fstn = TNet(32)
        self.conv1 = nn.Conv1d(3, 32, 1)
        self.conv2 = nn.Conv1d(32, 64, 1)
        self.bn1, self.bn2 = nn.BatchNorm1d(32), nn.BatchNorm1d(64)
        self.head = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(p=0.3),
                                  nn.Linear(32, k))

    def forward(self, x):  # x: (B, 3, N)
        trans = self.stn(x)
        x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
        x = F.relu(self.bn1(self.conv1(x)))
        trans_feat = self.fstn(x)
        x = torch.bmm(x.transpose(2, 1), trans_feat).transpose(2, 1)
        x = self.bn2(self.conv2(x))
        x, crit_idx = torch.max(x, 2)
        return F.log_softmax(self.head(x), dim=1), trans_feat, crit_idx


def feature_transform_regularizer(trans):
    d = trans.size(1)
    I = torch.eye(d)[None, :, :]
    return torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))


labels = torch.randint(0, 3, (600,))
clouds = torch.stack([sample_shape(int(c)) for c in labels])
tr, te = slice(0, 500), slice(500, 600)
train_dl = DataLoader(list(zip(clouds[tr], labels[tr])), batch_size=32, shuffle=True, drop_last=True)
model = PointNetCls()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
for epoch in range(8):
    model.train()
    correct, total, ls = 0, 0, 0.0
    for pts, target in train_dl:
        pts = pts.transpose(2, 1)
        pred, trans_feat, _ = model(pts)
        loss = F.nll_loss(pred, target) + 0.001 * feature_transform_regularizer(trans_feat)
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += pred.data.max(1)[1].eq(target.data).cpu().sum().item()
        total += target.size(0)
        ls += loss.item()
    sched.step()
    if epoch % 2 == 1:
        print(f"[pointnet] epoch {epoch}: loss {ls / len(train_dl):.4f} train acc {correct / total:.3f}")
model.eval()
with torch.no_grad():
    pred, _, crit = model(clouds[te].transpose(2, 1))
    print("[pointnet] test acc:", pred.argmax(1).eq(labels[te]).float().mean().item())
    print("critical points per cloud:", torch.tensor([c.unique().numel() for c in crit[:5]]))
    # permutation invariance
    perm = torch.randperm(128)
    p2, _, _ = model(clouds[te][:, perm].transpose(2, 1))
    print("perm-invariant:", torch.allclose(pred, p2, atol=1e-5))


# ---------------- Deep Sets on variable-size sets: predict (sum, max, count of positives)
class SetDataset(Dataset):
    def __init__(self, n):
        self.sets = [torch.randn(np.random.randint(3, 20), 2) for _ in range(n)]

    def __len__(self):
        return len(self.sets)

    def __getitem__(self, i):
        s = self.sets[i]
        y = torch.stack([s[:, 0].sum(), s[:, 1].max(), (s[:, 0] > 0).sum().float()])
        return s, y


def collate(batch):
    sets, ys = zip(*batch)
    lengths = torch.tensor([len(s) for s in sets])
    padded = pad_sequence(sets, batch_first=True, padding_value=0.0)
    mask = torch.arange(padded.size(1))[None, :] < lengths[:, None]
    return padded, mask, torch.stack(ys)


class DeepSets(nn.Module):
    def __init__(self, d_in=2, h=64):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(d_in, h), nn.ELU(), nn.Linear(h, h), nn.ELU())
        self.rho = nn.Sequential(nn.Linear(2 * h, h), nn.ELU(), nn.Linear(h, 3))

    def forward(self, x, mask):
        h = self.phi(x)
        m = mask.unsqueeze(-1)
        s = (h * m).sum(1)
        mx = h.masked_fill(~m, float("-inf")).amax(dim=1)
        return self.rho(torch.cat([s, mx], -1))


ds_train, ds_test = SetDataset(2000), SetDataset(300)
dl = DataLoader(ds_train, batch_size=64, shuffle=True, collate_fn=collate)
ds_model = DeepSets()
opt = torch.optim.Adam(ds_model.parameters(), lr=2e-3)
for epoch in range(10):
    tot = 0.0
    for x, mask, y in dl:
        loss = F.smooth_l1_loss(ds_model(x, mask), y, beta=0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tot += loss.item()
    if epoch % 3 == 0 or epoch == 9:
        print(f"[deepsets] epoch {epoch}: loss {tot / len(dl):.4f}")
x, mask, y = collate([ds_test[i] for i in range(len(ds_test))])
with torch.no_grad():
    p = ds_model(x, mask)
print("[deepsets] per-target MAE:", (p - y).abs().mean(0))
print("padded shape", tuple(x.shape), "mask sum", mask.sum().item())
