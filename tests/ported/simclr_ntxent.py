"""SimCLR (Chen et al. 2020) on tiny synthetic 8x8 images, then a linear probe on the frozen encoder.

Each image is seen through two random augmentations (translation by torch.roll, a random crop-and-pad,
flips, Gaussian noise); the encoder + projection head is trained with the NT-Xent loss so that the two
views of an image are each other's nearest neighbour among the 2N views of the batch. No labels are used
until the linear probe.
"""
import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

SEED = 0
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)

device = "cuda" if torch.cuda.is_available() else "cpu"

NUM_CLASSES = 4
IMG = 8


def make_images(n):
    """Four families of 8x8 patterns: horizontal stripes, vertical stripes, a checkerboard and a ring,
    each at a random phase and contrast, plus a few bright dots of its own (what tells two images of a
    family apart)."""
    labels = np.random.randint(0, NUM_CLASSES, size=n)
    yy, xx = np.mgrid[0:IMG, 0:IMG]
    images = np.zeros((n, 1, IMG, IMG), dtype=np.float32)
    for i, c in enumerate(labels):
        phase = np.random.randint(0, 4)
        if c == 0:
            img = ((yy + phase) // 2) % 2
        elif c == 1:
            img = ((xx + phase) // 2) % 2
        elif c == 2:
            img = ((xx + phase) // 2 + (yy + phase) // 2) % 2
        else:
            r = np.sqrt((xx - 3.5) ** 2 + (yy - 3.5) ** 2)
            img = (np.abs(r - 2.0 - phase * 0.25) < 0.8).astype(np.float32)
        img = img * np.random.uniform(0.6, 1.4)
        dots = np.random.randint(0, IMG, size=(3, 2))
        img[dots[:, 0], dots[:, 1]] += 1.5
        images[i, 0] = img
    return torch.from_numpy(images), torch.from_numpy(labels)


class RandomAugment:
    """What torchvision's RandomResizedCrop/RandomHorizontalFlip/GaussianNoise pipeline does, by hand."""

    def __init__(self, max_shift=1, noise_std=0.2, p_flip=0.5):
        self.max_shift = max_shift
        self.noise_std = noise_std
        self.p_flip = p_flip

    def __call__(self, x):
        # random translation (wraps around)
        dy, dx = torch.randint(-self.max_shift, self.max_shift + 1, (2,)).tolist()
        x = torch.roll(x, shifts=(dy, dx), dims=(1, 2))
        # random crop of a 6x6 window, zero padded back to 8x8
        top, left = random.randint(0, 2), random.randint(0, 2)
        crop = x[:, top:top + 6, left:left + 6]
        x = F.pad(crop, (left, 2 - left, top, 2 - top))
        if random.random() < self.p_flip:
            x = torch.flip(x, dims=[2])
        if random.random() < self.p_flip:
            x = x.flip(1)
        x = x * (0.8 + 0.4 * torch.rand(1))  # brightness jitter
        return x + self.noise_std * torch.randn_like(x)


class ContrastiveTransformations:
    def __init__(self, base_transforms, n_views=2):
        self.base_transforms = base_transforms
        self.n_views = n_views

    def __call__(self, x):
        return [self.base_transforms(x) for _ in range(self.n_views)]


class ImageDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        img = self.images[idx]
        if self.transform is not None:
            img = self.transform(img)
        return img, self.labels[idx]


class Encoder(nn.Module):
    def __init__(self, feat_dim=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, kernel_size=3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, feat_dim, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(feat_dim),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())

    def forward(self, x):
        return self.net(x)


class SimCLR(nn.Module):
    def __init__(self, feat_dim=64, proj_dim=32):
        super().__init__()
        self.encoder = Encoder(feat_dim)
        self.projector = nn.Sequential(nn.Linear(feat_dim, feat_dim, bias=False), nn.BatchNorm1d(feat_dim), nn.ReLU(),
                                       nn.Linear(feat_dim, proj_dim))

    def forward(self, x):
        h = self.encoder(x)
        return h, self.projector(h)


def nt_xent_loss(z1, z2, temperature=0.5):
    """NT-Xent: for each of the 2N views the positive is the other view of the same image; the other
    2N - 2 views are negatives."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / temperature
    mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(mask, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    loss = F.cross_entropy(sim, targets)
    # where the positive ranks among the 2N - 1 candidates (for monitoring)
    pos_sim = sim[torch.arange(2 * n), targets]
    rank = (sim > pos_sim[:, None]).sum(dim=1)
    top1 = (rank == 0).float().mean()
    top5 = (rank < 5).float().mean()
    return loss, top1, top5


train_x, train_y = make_images(512)
test_x, test_y = make_images(256)
print("train", tuple(train_x.shape), "class counts", torch.bincount(train_y, minlength=NUM_CLASSES).tolist())

contrast_ds = ImageDataset(train_x, train_y, transform=ContrastiveTransformations(RandomAugment(), n_views=2))
loader = DataLoader(contrast_ds, batch_size=128, shuffle=True, drop_last=True, num_workers=0)

model = SimCLR().to(device)
epochs = 25
warmup_epochs = 3
base_lr = 0.15
TEMPERATURE = 0.2
optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
steps_per_epoch = len(loader)
total_steps = epochs * steps_per_epoch
warmup_steps = warmup_epochs * steps_per_epoch


def lr_lambda(step):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)

for epoch in range(epochs):
    model.train()
    running, acc1, acc5 = 0.0, 0.0, 0.0
    for (view1, view2), _ in loader:
        view1, view2 = view1.to(device), view2.to(device)
        _, z1 = model(view1)
        _, z2 = model(view2)
        loss, top1, top5 = nt_xent_loss(z1, z2, temperature=TEMPERATURE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running += loss.item()
        acc1 += top1.item()
        acc5 += top5.item()
    if epoch % 4 == 0 or epoch == epochs - 1:
        print(f"epoch {epoch} loss {running / steps_per_epoch:.4f} top1 {acc1 / steps_per_epoch:.3f} "
              f"top5 {acc5 / steps_per_epoch:.3f} lr {scheduler.get_last_lr()[0]:.4f}")


# ---------------------------------------------------------------- linear evaluation protocol
@torch.no_grad()
def extract_features(encoder, images, batch_size=128):
    encoder.eval()
    feats = []
    for i in range(0, len(images), batch_size):
        feats.append(encoder(images[i:i + batch_size].to(device)).cpu())
    return torch.cat(feats)


def knn_predict(feature, feature_bank, feature_labels, classes, knn_k=20, knn_t=0.1):
    """Weighted k-nearest-neighbour vote in feature space (the monitor of InstDisc / MoCo / SimCLR repos)."""
    sim_matrix = torch.mm(feature, feature_bank)  # [B, N]
    sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)
    sim_labels = torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1, index=sim_indices)
    sim_weight = (sim_weight / knn_t).exp()
    one_hot_label = torch.zeros(feature.size(0) * knn_k, classes, device=sim_labels.device)
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    pred_scores = torch.sum(one_hot_label.view(feature.size(0), -1, classes) * sim_weight.unsqueeze(dim=-1), dim=1)
    return pred_scores.argsort(dim=-1, descending=True)


encoder = model.encoder
encoder.requires_grad_(False)
assert not any(p.requires_grad for p in encoder.parameters())
train_feats = extract_features(encoder, train_x)
test_feats = extract_features(encoder, test_x)
bank = F.normalize(train_feats, dim=1).t().contiguous()
knn_pred = knn_predict(F.normalize(test_feats, dim=1), bank, train_y, NUM_CLASSES)
print(f"knn_top1 {(knn_pred[:, 0] == test_y).float().mean().item():.3f}")
mu, sd = train_feats.mean(0, keepdim=True), train_feats.std(0, keepdim=True) + 1e-6
train_feats, test_feats = (train_feats - mu) / sd, (test_feats - mu) / sd

probe = nn.Linear(train_feats.shape[1], NUM_CLASSES).to(device)
probe_opt = torch.optim.Adam(probe.parameters(), lr=1e-2, weight_decay=1e-4)
probe_loader = DataLoader(list(zip(train_feats, train_y)), batch_size=64, shuffle=True)
for ep in range(30):
    probe.train()
    for xb, yb in probe_loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = F.cross_entropy(probe(xb), yb)
        probe_opt.zero_grad()
        loss.backward()
        probe_opt.step()
    if ep % 10 == 9:
        print(f"probe epoch {ep + 1} probe_loss {loss.item():.4f}")

probe.eval()
with torch.no_grad():
    pred = probe(test_feats.to(device)).argmax(dim=1).cpu()
    accuracy = (pred == test_y).float().mean().item()
print(f"linear probe accuracy {accuracy:.3f}")
