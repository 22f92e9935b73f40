import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, random_split

torch.manual_seed(42)
torch.backends.cudnn.benchmark = True
device = 'cuda' if torch.cuda.is_available() else 'cpu'


class ShapesDataset(Dataset):
    """Random circles/rectangles on noisy background; mask = foreground."""
    def __init__(self, n, size=32):
        self.n, self.size = n, size
        g = torch.Generator().manual_seed(123)
        self.items = [self._make(g) for _ in range(n)]

    def _make(self, g):
        s = self.size
        yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing='ij')
        mask = torch.zeros(s, s, dtype=torch.bool)
        for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
            cx, cy = torch.randint(4, s - 4, (2,), generator=g).tolist()
            r = torch.randint(3, 8, (1,), generator=g).item()
            if torch.rand(1, generator=g) < 0.5:
                mask |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r ** 2
            else:
                mask |= ((xx - cx).abs() <= r) & ((yy - cy).abs() <= r // 2)
        img = mask.float() * 0.6 + 0.4 * torch.rand(s, s, generator=g)
        img = torch.stack([img, img.flip(-1) * 0.1, torch.ones_like(img) * 0.5])
        return img, mask.unsqueeze(0).float()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        img, mask = self.items[i]
        if torch.rand(1).item() < 0.5:
            img, mask = torch.flip(img, dims=[2]), torch.flip(mask, dims=[2])
        return img, mask


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, cin, cout, bilinear=True):
        super().__init__()
        self.bilinear = bilinear
        if not bilinear:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin + cout if bilinear else cin // 2 + cout, cout)

    def forward(self, x1, x2):
        if self.bilinear:
            x1 = F.interpolate(x1, size=x2.shape[-2:], mode='bilinear', align_corners=False)
        else:
            x1 = self.up(x1)
            dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
            x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, n_ch=3, n_cls=1, base=8, bilinear=True):
        super().__init__()
        self.inc = DoubleConv(n_ch, base)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base, base * 2))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base * 2, base * 4))
        self.up1 = Up(base * 4, base * 2, bilinear)
        self.up2 = Up(base * 2, base, bilinear)
        self.outc = nn.Conv2d(base, n_cls, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def dice_loss(logits, target, eps=1e-6):
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    union = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


@torch.no_grad()
def iou_score(logits, target, thr=0.5):
    pred = (torch.sigmoid(logits) > thr)
    tgt = target.bool()
    inter = (pred & tgt).sum(dim=(1, 2, 3)).float()
    union = (pred | tgt).sum(dim=(1, 2, 3)).float()
    return torch.where(union > 0, inter / union, torch.ones_like(union)).mean().item()


ds = ShapesDataset(240)
train_ds, val_ds = random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
train_dl = DataLoader(train_ds, batch_size=16, shuffle=True, drop_last=True, num_workers=0, pin_memory=True)
val_dl = DataLoader(val_ds, batch_size=32)
results = {}
for bilinear in (True, False):
    torch.manual_seed(0)
    model = UNet(bilinear=bilinear).to(device, memory_format=torch.channels_last)
    pos_weight = torch.tensor([2.0], device=device)
    bce = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode='max', factor=0.5, patience=1)
    for epoch in range(5):
        model.train()
        running = 0.0
        for imgs, masks in train_dl:
            imgs = imgs.to(device, non_blocking=True).to(memory_format=torch.channels_last)
            masks = masks.to(device, non_blocking=True)
            logits = model(imgs)
            loss = bce(logits, masks) + dice_loss(logits, masks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item()
        model.eval()
        ious = []
        with torch.inference_mode():
            for imgs, masks in val_dl:
                ious.append(iou_score(model(imgs.to(device)), masks.to(device)))
        miou = sum(ious) / len(ious)
        sched.step(miou)
        print(f"[bilinear={bilinear}] epoch {epoch} loss {running / len(train_dl):.4f} "
              f"val IoU {miou:.3f} lr {opt.param_groups[0]['lr']:.1e}")
    results[bilinear] = miou

imgs, masks = next(iter(val_dl))
with torch.no_grad():
    probs = torch.sigmoid(model(imgs))
pred = (probs > 0.5).to(torch.uint8)
print(f"pred dtype {pred.dtype} unique {torch.unique(pred).tolist()} fg frac {pred.float().mean():.3f} "
      f"gt frac {masks.mean():.3f}")
up = F.interpolate(probs, scale_factor=2, mode='nearest')
up2 = F.interpolate(probs, scale_factor=0.5, mode='bilinear', align_corners=True, antialias=False)
print(f"upsampled {tuple(up.shape)} downsampled {tuple(up2.shape)}")
print(f"final IoU: {results}")
