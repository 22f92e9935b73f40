"""CLIP-style contrastive pretraining on synthetic paired (image, caption) data, plus zero-shot eval
and a triplet-loss metric-learning probe with hard negative mining."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
N_CLASSES, IMG, SEQ, VOCAB = 6, 12, 6, 40


class PairDataset(Dataset):
    """Images are class-specific oriented bar patterns + noise, captions are class-specific token
    sequences with random filler tokens."""

    def __init__(self, n):
        self.labels = torch.randint(0, N_CLASSES, (n,))
        yy, xx = torch.meshgrid(torch.arange(IMG).float(), torch.arange(IMG).float(), indexing="ij")
        angles = self.labels.float() * math.pi / N_CLASSES
        proj = xx[None] * torch.cos(angles)[:, None, None] + yy[None] * torch.sin(angles)[:, None, None]
        self.images = torch.sin(proj)[:, None] + 0.3 * torch.randn(n, 1, IMG, IMG)
        self.captions = torch.randint(N_CLASSES * 2, VOCAB, (n, SEQ))
        pos = torch.randint(0, SEQ, (n,))
        self.captions[torch.arange(n), pos] = self.labels * 2 + torch.randint(0, 2, (n,))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"image": self.images[i], "text": self.captions[i], "label": self.labels[i]}


class ImageEncoder(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.proj = nn.Linear(32, dim, bias=False)

    def forward(self, x):
        return self.proj(self.conv(x))


class TextEncoder(nn.Module):
    def __init__(self, dim, width=32):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, width)
        self.pos = nn.Parameter(torch.zeros(1, SEQ, width))
        nn.init.normal_(self.pos, std=0.01)
        layer = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim, bias=False)

    def forward(self, t):
        h = self.enc(self.tok(t) + self.pos)
        return self.proj(self.ln(h).mean(dim=1))


class CLIP(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.visual = ImageEncoder(dim)
        self.text = TextEncoder(dim)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def forward(self, img, txt):
        i = F.normalize(self.visual(img), dim=-1)
        t = F.normalize(self.text(txt), dim=-1)
        scale = self.logit_scale.exp()
        logits_per_image = scale * i @ t.t()
        return logits_per_image, logits_per_image.t()


train = PairDataset(1536)
test = PairDataset(384)
loader = DataLoader(train, batch_size=128, shuffle=True, drop_last=True)
model = CLIP()
decay, no_decay = [], []
for n, p in model.named_parameters():
    (no_decay if p.ndim < 2 or "logit_scale" in n or "pos" in n else decay).append(p)
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}], lr=2e-3, betas=(0.9, 0.98), eps=1e-6)
epochs = 8
warmup = len(loader)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / (epochs * len(loader)))))

for epoch in range(epochs):
    model.train()
    tot, acc = 0.0, 0.0
    for batch in loader:
        img, txt = batch["image"], batch["text"]
        li, lt = model(img, txt)
        targets = torch.arange(len(img), dtype=torch.long)
        loss = (F.cross_entropy(li, targets) + F.cross_entropy(lt, targets)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        tot += loss.item()
        acc += (li.argmax(-1) == targets).float().mean().item()
    print(f"epoch {epoch}: loss {tot / len(loader):.4f} i2t acc {acc / len(loader):.3f} "
          f"scale {model.logit_scale.exp().item():.2f}")

# zero-shot classification: one "prompt" per class built from its two class tokens
model.eval()
with torch.no_grad():
    prompts = torch.randint(N_CLASSES * 2, VOCAB, (N_CLASSES * 2, SEQ))
    prompts[:, 0] = torch.arange(N_CLASSES * 2)
    tf = F.normalize(model.text(prompts), dim=-1).view(N_CLASSES, 2, -1).mean(1)
    tf = F.normalize(tf, dim=-1)
    imf = F.normalize(model.visual(test.images), dim=-1)
    probs = (100.0 * imf @ tf.T).softmax(dim=-1)
    top1 = (probs.argmax(1) == test.labels).float().mean()
    top2 = (probs.topk(2, dim=1).indices == test.labels[:, None]).any(1).float().mean()
print(f"zero-shot top1 {top1.item():.3f} top2 {top2.item():.3f}")
print("probs[0]:", probs[0])

# metric learning probe: triplet loss with batch-hard mining on frozen image features
head = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 16))
hopt = torch.optim.SGD(head.parameters(), lr=0.05, momentum=0.9, nesterov=True)
triplet = nn.TripletMarginLoss(margin=0.3, p=2)
with torch.no_grad():
    feats = model.visual(train.images)
labels = train.labels
for step in range(150):
    idx = torch.randperm(len(feats))[:96]
    e = F.normalize(head(feats[idx]), dim=1)
    y = labels[idx]
    d = torch.cdist(e, e)
    same = y[:, None] == y[None, :]
    pos_d = d.masked_fill(~same | torch.eye(len(y), dtype=torch.bool), -1.0)
    neg_d = d.masked_fill(same, float("inf"))
    hard_pos = pos_d.argmax(1)
    hard_neg = neg_d.topk(1, dim=1, largest=False).indices.squeeze(1)
    loss = triplet(e, e[hard_pos], e[hard_neg])
    hopt.zero_grad()
    loss.backward()
    hopt.step()
    if step % 50 == 0 or step == 149:
        print(f"triplet step {step}: loss {loss.item():.4f}")
with torch.no_grad():
    te = F.normalize(head(model.visual(test.images)), dim=1)
    d = torch.cdist(te, te)
    d.fill_diagonal_(float("inf"))
    nn1 = d.argmin(1)
    print("1-NN accuracy:", (test.labels[nn1] == test.labels).float().mean().item())
