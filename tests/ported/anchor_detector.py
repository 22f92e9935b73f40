"""A tiny single-stage object detector (an SSD / RetinaNet-style head over one feature map) as the
"object detection from scratch" repositories on GitHub write it, without torchvision: a small conv backbone
over synthetic 32x32 images holding one to three bright squares and discs, a grid of anchors at two scales,
anchor/box IoU computed by hand with torch.max/torch.min broadcasting, anchor matching (best IoU per anchor,
forced matches from each ground-truth box via argmax, negatives below a threshold), hard negative mining
(3:1, by sorting the background losses), box offsets encoded against the anchors and regressed with smooth
L1, class scores with cross entropy, and inference by decoding boxes, thresholding scores and a hand-written
greedy NMS loop with argsort. Scored by precision/recall at IoU 0.5."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
IMG, STRIDE, NUM_CLASSES = 32, 4, 3  # 0 background, 1 square, 2 disc


def make_image(g):
    img = torch.zeros(1, IMG, IMG)
    boxes, labels = [], []
    yy, xx = torch.meshgrid(torch.arange(IMG).float(), torch.arange(IMG).float(), indexing="ij")
    n = int(torch.randint(1, 4, (1,), generator=g))
    while len(boxes) < n:
        s = int(torch.randint(6, 13, (1,), generator=g))
        x0, y0 = [int(v) for v in torch.randint(0, IMG - s, (2,), generator=g)]
        box = torch.tensor([x0, y0, x0 + s, y0 + s], dtype=torch.float)
        if boxes and box_iou(box[None], torch.stack(boxes)).max() > 0.05:
            continue
        kind = int(torch.randint(1, 3, (1,), generator=g))
        if kind == 1:
            img[0, y0:y0 + s, x0:x0 + s] = 1.0
        else:
            cx, cy, r = x0 + s / 2 - 0.5, y0 + s / 2 - 0.5, s / 2
            img[0][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 1.0
        boxes.append(box)
        labels.append(kind)
    img += 0.15 * torch.randn(img.shape, generator=g)
    return img, torch.stack(boxes), torch.tensor(labels)


def box_iou(a, b):
    """IoU between every box in a (N, 4) and every box in b (M, 4), xyxy."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def make_anchors():
    centers = (torch.arange(IMG // STRIDE, dtype=torch.float32) + 0.5) * STRIDE
    cy, cx = torch.meshgrid(centers, centers, indexing="ij")
    anchors = []
    for size in (7.0, 11.0):  # anchors per cell, cell-major order to match the head's layout
        anchors.append(torch.stack([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], dim=-1))
    return torch.stack(anchors, dim=2).reshape(-1, 4)  # (H*W*A, 4)


ANCHORS = make_anchors().to(device)
NUM_A = 2


def encode(gt, anchors):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
    return torch.stack([(gx - ax) / aw, (gy - ay) / ah, torch.log(gw / aw), torch.log(gh / ah)], dim=1)


def decode(deltas, anchors):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    cx, cy = deltas[:, 0] * aw + ax, deltas[:, 1] * ah + ay
    w, h = torch.exp(deltas[:, 2]) * aw, torch.exp(deltas[:, 3]) * ah
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)


def match(gt_boxes, gt_labels, pos_thr=0.5, neg_thr=0.3):
    iou = box_iou(ANCHORS, gt_boxes)  # (A, G)
    best_iou, best_gt = iou.max(dim=1)
    labels = gt_labels[best_gt].clone()
    labels[best_iou < pos_thr] = -1  # ignore
    labels[best_iou < neg_thr] = 0  # background
    forced = iou.argmax(dim=0)  # every ground truth keeps its best anchor
    labels[forced] = gt_labels
    best_gt[forced] = torch.arange(len(gt_boxes), device=gt_boxes.device)
    return labels, encode(gt_boxes[best_gt], ANCHORS)


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=2, dilation=2), nn.ReLU(inplace=True),
        )
        self.cls_head = nn.Conv2d(64, NUM_A * NUM_CLASSES, 3, padding=1)
        self.box_head = nn.Conv2d(64, NUM_A * 4, 3, padding=1)
        prior = 0.01
        nn.init.constant_(self.cls_head.bias, 0.0)
        self.cls_head.bias.data[0::NUM_CLASSES] = math.log((1 - prior) / prior)  # background prior

    def forward(self, x):
        f = self.backbone(x)
        n = x.size(0)
        cls = self.cls_head(f).permute(0, 2, 3, 1).reshape(n, -1, NUM_CLASSES)
        box = self.box_head(f).permute(0, 2, 3, 1).reshape(n, -1, 4)
        return cls, box


def detection_loss(cls_logits, box_deltas, targets):
    cls_losses, box_losses, num_pos = [], [], 0
    for logits, deltas, (labels, reg_t) in zip(cls_logits, box_deltas, targets):
        pos, neg = labels > 0, labels == 0
        ce = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
        n_pos = int(pos.sum())
        neg_ce = ce.clone().detach()
        neg_ce[~neg] = -1.0
        _, order = neg_ce.sort(descending=True)
        hard_neg = order[: max(3 * n_pos, 8)]
        cls_losses.append(ce[pos].sum() + ce[hard_neg].sum())
        box_losses.append(F.smooth_l1_loss(deltas[pos], reg_t[pos], reduction="sum", beta=1.0 / 9))
        num_pos += n_pos
    return torch.stack(cls_losses).sum() / num_pos, torch.stack(box_losses).sum() / num_pos


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(i.item())
        if order.numel() == 1:
            break
        ious = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]]).squeeze(0)
        order = order[1:][ious <= iou_threshold]
    return torch.tensor(keep, dtype=torch.long)


@torch.no_grad()
def detect(model, images, score_thr=0.5, iou_thr=0.3):
    model.eval()
    cls_logits, box_deltas = model(images.to(device))
    results = []
    for logits, deltas in zip(cls_logits, box_deltas):
        probs = logits.softmax(dim=-1)
        scores, labels = probs[:, 1:].max(dim=1)
        labels = labels + 1
        keep = scores > score_thr
        boxes = decode(deltas[keep], ANCHORS[keep]).clamp(0, IMG)
        scores, labels = scores[keep], labels[keep]
        final = []
        for c in labels.unique():
            idx = torch.nonzero(labels == c).squeeze(1)
            k = nms(boxes[idx], scores[idx], iou_thr)
            final.append(idx[k])
        final = torch.cat(final) if final else torch.zeros(0, dtype=torch.long)
        results.append((boxes[final], scores[final], labels[final]))
    return results


def precision_recall(model, data):
    tp = fp = n_gt = 0
    dets = detect(model, torch.stack([d[0] for d in data]))
    for (boxes, scores, labels), (_, gt_boxes, gt_labels) in zip(dets, data):
        n_gt += len(gt_boxes)
        used = torch.zeros(len(gt_boxes), dtype=torch.bool)
        for b, l in zip(boxes, labels):
            iou = box_iou(b[None], gt_boxes)[0]
            iou[(gt_labels != l) | used] = 0
            j = int(iou.argmax())
            if iou[j] >= 0.5:
                tp, used[j] = tp + 1, True
            else:
                fp += 1
    return tp / max(tp + fp, 1), tp / n_gt


g = torch.Generator().manual_seed(0)
train_set = [make_image(g) for _ in range(384)]
test_set = [make_image(g) for _ in range(64)]
matched = [match(b.to(device), l.to(device)) for _, b, l in train_set]
loader = DataLoader(TensorDataset(torch.stack([im for im, _, _ in train_set]), torch.arange(len(train_set))),
                    batch_size=32, shuffle=True)

model = Detector().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[10, 14], gamma=0.1)
for epoch in range(1, 17):
    model.train()
    tot_c = tot_b = 0.0
    for images, idx in loader:
        cls_logits, box_deltas = model(images.to(device))
        cls_loss, box_loss = detection_loss(cls_logits, box_deltas, [matched[i] for i in idx.tolist()])
        loss = cls_loss + box_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tot_c, tot_b = tot_c + cls_loss.item(), tot_b + box_loss.item()
    scheduler.step()
    if epoch % 3 == 1 or epoch == 16:
        p, r = precision_recall(model, test_set)
        print(f"epoch {epoch:2d} loss {(tot_c + tot_b) / len(loader):.4f} cls {tot_c / len(loader):.4f} "
              f"box {tot_b / len(loader):.4f} precision {p:.3f} recall {r:.3f}")
