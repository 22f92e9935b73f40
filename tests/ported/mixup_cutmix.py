"""Mixup and CutMix inside the training loop of a small CNN (timm/"bag of tricks" style).

torch.distributions.Beta for lambda, torch.randperm for the partner batch, a CutMix box whose area
corrects lambda, soft targets built from F.one_hot with label smoothing and a soft-target cross entropy,
nn.CrossEntropyLoss(label_smoothing=) for evaluation, SGD(nesterov) + CosineAnnealingWarmRestarts stepped
with fractional epochs, and a GradScaler/autocast pair that is a no-op on CPU.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Beta
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1)
np.random.seed(1)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
NUM_CLASSES = 5
IMG = 16


def make_images(n):
    """Five textures: horizontal / vertical stripes, checkerboard, centred blob, diagonal stripes."""
    y = torch.randint(0, NUM_CLASSES, (n,))
    r = torch.arange(IMG).float()
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    freq = 0.6 + 0.4 * torch.rand(n, 1, 1)
    phase = 6.28 * torch.rand(n, 1, 1)
    patterns = torch.stack([
        torch.sin(freq * yy + phase),
        torch.sin(freq * xx + phase),
        torch.sin(freq * xx + phase) * torch.sin(freq * yy + phase),
        torch.exp(-((xx - 7.5) ** 2 + (yy - 7.5) ** 2) / (10 + 20 * torch.rand(n, 1, 1))) * 2 - 0.5,
        torch.sin(freq * (xx + yy) / 1.4 + phase),
    ], dim=1)  # (n, 5, H, W)
    img = patterns[torch.arange(n), y]
    rgb = img.unsqueeze(1) * torch.tensor([1.0, 0.7, 0.4]).view(1, 3, 1, 1)
    rgb = rgb + 0.35 * torch.randn_like(rgb)
    return rgb, y


x_train, y_train = make_images(1200)
x_test, y_test = make_images(400)
mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
std = x_train.std(dim=(0, 2, 3), keepdim=True)
train_loader = DataLoader(TensorDataset((x_train - mean) / std, y_train), batch_size=64, shuffle=True,
                          drop_last=True)
test_loader = DataLoader(TensorDataset((x_test - mean) / std, y_test), batch_size=200)


def rand_bbox(size, lam):
    W, H = size[2], size[3]
    cut_rat = np.sqrt(1.0 - lam)
    cut_w, cut_h = int(W * cut_rat), int(H * cut_rat)
    cx, cy = np.random.randint(W), np.random.randint(H)
    bbx1, bby1 = np.clip(cx - cut_w // 2, 0, W), np.clip(cy - cut_h // 2, 0, H)
    bbx2, bby2 = np.clip(cx + cut_w // 2, 0, W), np.clip(cy + cut_h // 2, 0, H)
    return bbx1, bby1, bbx2, bby2


def smooth_one_hot(target, num_classes, smoothing=0.1):
    off = smoothing / num_classes
    return F.one_hot(target, num_classes).float() * (1.0 - smoothing) + off


class MixupCutmix:
    def __init__(self, mixup_alpha=0.4, cutmix_alpha=1.0, switch_prob=0.5, smoothing=0.1):
        self.mixup_beta = Beta(torch.tensor([mixup_alpha]), torch.tensor([mixup_alpha]))
        self.cutmix_beta = Beta(torch.tensor(cutmix_alpha), torch.tensor(cutmix_alpha))
        self.switch_prob, self.smoothing = switch_prob, smoothing

    def __call__(self, x, target):
        index = torch.randperm(x.size(0), device=x.device)
        if np.random.rand() < self.switch_prob:
            lam = self.cutmix_beta.sample().item()
            bbx1, bby1, bbx2, bby2 = rand_bbox(x.size(), lam)
            x = x.clone()
            x[:, :, bbx1:bbx2, bby1:bby2] = x[index, :, bbx1:bbx2, bby1:bby2]
            lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (x.size(-1) * x.size(-2)))  # exact area ratio
        else:
            lam = float(self.mixup_beta.sample())
            x = lam * x + (1 - lam) * x[index, :]
        y1 = smooth_one_hot(target, NUM_CLASSES, self.smoothing)
        y2 = smooth_one_hot(target[index], NUM_CLASSES, self.smoothing)
        return x, lam * y1 + (1 - lam) * y2


class SoftTargetCrossEntropy(nn.Module):
    def forward(self, x, target):
        loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
        return loss.mean()


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


model = nn.Sequential(conv_bn(3, 16), conv_bn(16, 32), nn.MaxPool2d(2), conv_bn(32, 64), nn.MaxPool2d(2),
                      nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(64, NUM_CLASSES)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=1e-4)
scaler = torch.amp.GradScaler("cuda", enabled=torch.cuda.is_available())
mixer = MixupCutmix()
train_criterion = SoftTargetCrossEntropy()
eval_criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
EPOCHS = 6
iters = len(train_loader)
lrs = []
for epoch in range(EPOCHS):
    model.train()
    running = 0.0
    for i, (inputs, targets) in enumerate(train_loader):
        inputs, targets = inputs.to(device), targets.to(device)
        inputs, soft = mixer(inputs, targets)
        with torch.autocast(device_type=device.type, enabled=torch.cuda.is_available()):
            loss = train_criterion(model(inputs), soft)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step(epoch + i / iters)
        running += loss.item()
    lrs.append(optimizer.param_groups[0]["lr"])
    model.eval()
    correct, test_loss = 0, 0.0
    with torch.no_grad():
        for inputs, targets in test_loader:
            out = model(inputs.to(device))
            test_loss += eval_criterion(out, targets.to(device)).item() * inputs.size(0)
            correct += (out.argmax(1) == targets.to(device)).sum().item()
    print(f"epoch {epoch} loss {running / iters:.4f} test_loss {test_loss / len(x_test):.4f} "
          f"lr {lrs[-1]:.4f} accuracy {correct / len(x_test):.3f}")
print("restarts at epochs", [e for e in range(1, EPOCHS) if lrs[e] > lrs[e - 1]])
