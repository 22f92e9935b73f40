import copy, os, tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, WeightedRandomSampler

torch.manual_seed(7)
np.random.seed(7)
device = 'cuda' if torch.cuda.is_available() else 'cpu'

# ---- synthetic imbalanced tabular data (pandas-free) ----
N = 6000
cat_cards = [12, 5, 30]
cats = np.stack([np.random.randint(0, c, N) for c in cat_cards], axis=1).astype(np.int64)
nums = np.random.randn(N, 6).astype(np.float32)
nums[:, 3] = np.exp(nums[:, 3])  # skewed feature
score = (nums[:, 0] * 1.5 - nums[:, 1] + 0.8 * (cats[:, 0] % 3 == 0) + 0.5 * (cats[:, 2] > 20)
         + 0.3 * np.log1p(nums[:, 3]) - 2.8)
y = (score + 0.3 * np.random.randn(N) > 0).astype(np.float32)
print(f"positive rate: {y.mean():.3f}")
idx = np.random.permutation(N)
tr, va, te = idx[:4000], idx[4000:5000], idx[5000:]
mu, sigma = nums[tr].mean(0), nums[tr].std(0) + 1e-6


class TabDataset(Dataset):
    def __init__(self, ids):
        self.cats = torch.from_numpy(cats[ids])
        self.nums = torch.tensor((nums[ids] - mu) / sigma, dtype=torch.float32)
        self.y = torch.from_numpy(y[ids])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {'cat': self.cats[i], 'num': self.nums[i], 'y': self.y[i]}


train_ds, val_ds, test_ds = TabDataset(tr), TabDataset(va), TabDataset(te)
labels = train_ds.y.long()
class_count = torch.bincount(labels)
class_weights = 1.0 / class_count.float()
sample_weights = class_weights[labels]
sampler = WeightedRandomSampler(weights=sample_weights, num_samples=len(sample_weights), replacement=True)
train_dl = DataLoader(train_ds, batch_size=128, sampler=sampler, drop_last=True)
val_dl = DataLoader(val_ds, batch_size=512, shuffle=False)
test_dl = DataLoader(test_ds, batch_size=512)
b = next(iter(train_dl))
print(f"batch keys {sorted(b.keys())} cat {b['cat'].dtype} {tuple(b['cat'].shape)} "
      f"pos frac in sampled batch {b['y'].mean().item():.2f}")


class TabularNet(nn.Module):
    def __init__(self, cards, n_num, hidden=(64, 32), p=0.2):
        super().__init__()
        self.embs = nn.ModuleList([nn.Embedding(c, min(16, (c + 1) // 2)) for c in cards])
        emb_dim = sum(e.embedding_dim for e in self.embs)
        self.emb_drop = nn.Dropout(0.1)
        self.bn_num = nn.BatchNorm1d(n_num)
        layers, d = [], emb_dim + n_num
        for h in hidden:
            layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(p)]
            d = h
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(d, 1)

    def forward(self, cat, num):
        e = torch.cat([emb(cat[:, i]) for i, emb in enumerate(self.embs)], dim=1)
        x = torch.cat([self.emb_drop(e), self.bn_num(num)], dim=1)
        return self.out(self.mlp(x)).squeeze(-1)


def evaluate(model, dl):
    model.eval()
    ys, ps = [], []
    with torch.no_grad():
        for batch in dl:
            logits = model(batch['cat'].to(device), batch['num'].to(device))
            ps.append(torch.sigmoid(logits).cpu())
            ys.append(batch['y'])
    p, t = torch.cat(ps), torch.cat(ys)
    loss = F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), t).item()
    # AUC via rank statistic
    order = torch.argsort(p)
    ranks = torch.empty_like(p)
    ranks[order] = torch.arange(1, len(p) + 1, dtype=p.dtype)
    npos = t.sum()
    nneg = len(t) - npos
    auc = ((ranks[t == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)).item()
    pred = (p > 0.5).float()
    tp = (pred * t).sum(); fp = (pred * (1 - t)).sum(); fn = ((1 - pred) * t).sum()
    f1 = (2 * tp / (2 * tp + fp + fn).clamp(min=1)).item()
    return loss, auc, f1


model = TabularNet(cat_cards, nums.shape[1]).to(device)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
criterion = nn.BCEWithLogitsLoss()
ckpt = os.path.join(tempfile.mkdtemp(), 'best.pt')
best_auc, patience, bad = -1.0, 4, 0
for epoch in range(30):
    model.train()
    tot = 0.0
    for batch in train_dl:
        cat, num, yt = batch['cat'].to(device), batch['num'].to(device), batch['y'].to(device)
        loss = criterion(model(cat, num), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tot += loss.item() * yt.size(0)
    sched.step()
    vloss, vauc, vf1 = evaluate(model, val_dl)
    print(f"epoch {epoch:2d} train {tot / len(train_dl.sampler):.4f} val loss {vloss:.4f} auc {vauc:.4f} f1 {vf1:.3f}")
    if vauc > best_auc + 1e-4:
        best_auc, bad = vauc, 0
        torch.save({'epoch': epoch, 'model': model.state_dict(), 'optim': opt.state_dict(),
                    'auc': best_auc, 'mu': torch.from_numpy(mu)}, ckpt)
    else:
        bad += 1
        if bad >= patience:
            print(f"early stopping at epoch {epoch}")
            break

state = torch.load(ckpt, map_location=device, weights_only=True)
print(f"loaded epoch {state['epoch']} auc {state['auc']:.4f} keys {list(state['model'].keys())[:3]}")
best = TabularNet(cat_cards, nums.shape[1]).to(device)
best.load_state_dict(state['model'])
opt2 = torch.optim.AdamW(best.parameters(), lr=3e-3)
opt2.load_state_dict(state['optim'])
print(f"restored optimizer lr {opt2.param_groups[0]['lr']} steps {opt2.state[best.out.weight]['step']}")
print(f"bn running_mean[:3] {best.bn_num.running_mean[:3]} nbt {best.bn_num.num_batches_tracked.item()}")
tl, tauc, tf1 = evaluate(best, test_dl)
print(f"TEST loss {tl:.4f} auc {tauc:.4f} f1 {tf1:.3f}")
# embeddings -> numpy for analysis
emb0 = best.embs[0].weight.detach().cpu().numpy()
print(f"emb0 {emb0.shape} {emb0.dtype} norm {np.linalg.norm(emb0):.3f}")
