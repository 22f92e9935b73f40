"""Knowledge distillation (Hinton et al. 2015) of a larger CNN teacher into a small student, with label
smoothing, an EMA of the student, a OneCycle schedule and a checkpoint/resume, written as the usual
"knowledge distillation in PyTorch" tutorials and repos write it."""
import argparse
import os
import random
import shutil
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser(description='KD example')
parser.add_argument('--temperature', type=float, default=4.0)
parser.add_argument('--alpha', type=float, default=0.7, help='weight of the soft-target loss')
parser.add_argument('--teacher-epochs', type=int, default=4)
parser.add_argument('--student-epochs', type=int, default=6)
parser.add_argument('--batch-size', type=int, default=64)
parser.add_argument('--seed', type=int, default=0)
args = parser.parse_args()

random.seed(args.seed)
np.random.seed(args.seed)
torch.manual_seed(args.seed)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

# ---------------- synthetic 10-class 12x12 images: oriented bars and blobs with noise ----------------
NUM_CLASSES, SIZE = 10, 12


def make_dataset(n, rng):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1) - 0.5
    labels = rng.integers(0, NUM_CLASSES, size=n)
    images = np.empty((n, 1, SIZE, SIZE), dtype=np.float32)
    for i, c in enumerate(labels):
        angle = np.pi * (c % 5) / 5 + rng.normal(0, 0.12)
        dx, dy = rng.normal(0, 0.08, size=2)
        d = (xx - dx) * np.sin(angle) - (yy - dy) * np.cos(angle)
        if c < 5:   # a bar
            img = np.exp(-(d / 0.09) ** 2)
        else:       # a bar with a blob at one end
            along = (xx - dx) * np.cos(angle) + (yy - dy) * np.sin(angle)
            img = np.exp(-(d / 0.09) ** 2) * 0.6 + np.exp(-((along - 0.25) ** 2 + d ** 2) / 0.02)
        images[i, 0] = img + rng.normal(0, 0.35, size=img.shape)
    return torch.from_numpy(images), torch.from_numpy(labels).long()


rng = np.random.default_rng(args.seed)
x_train, y_train = make_dataset(3000, rng)
x_test, y_test = make_dataset(1000, rng)
mean, std = x_train.mean(), x_train.std()
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=256)
print(f"train {tuple(x_train.shape)} test {tuple(x_test.shape)} classes {y_train.unique().numel()}")


class Teacher(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class Student(nn.Module):
    def __init__(self, num_classes=10, hidden=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(SIZE * SIZE, hidden), nn.GELU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.net(x)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def evaluate(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            pred = model(data).argmax(dim=1)
            correct += (pred == target).sum().item()
            total += target.size(0)
    return correct / total


# ---------------- 1. train the teacher ----------------
teacher = Teacher(NUM_CLASSES).to(device)
print(f"teacher params {count_params(teacher):,}")
optimizer = torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=1, eta_min=1e-4)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
use_amp = torch.cuda.is_available()  # mixed precision on the GPU only
scaler = torch.amp.GradScaler('cuda', enabled=use_amp)
iters = len(train_loader)
start = time.time()
for epoch in range(args.teacher_epochs):
    teacher.train()
    total = 0.0
    for i, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type='cuda', dtype=torch.float16, enabled=use_amp):
            output = teacher(data)
            loss = criterion(output, target)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step(epoch + i / iters)
        total += loss.item()
    print(f"teacher epoch {epoch} loss {total / iters:.4f} lr {scheduler.get_last_lr()[0]:.4f}")
teacher_acc = evaluate(teacher, test_loader)
print(f"teacher trained in {time.time() - start:.1f}s, test acc {teacher_acc:.3f}")

# ---------------- 2. distill into the student ----------------
student = Student(NUM_CLASSES).to(device)
ema_student = AveragedModel(student, multi_avg_fn=get_ema_multi_avg_fn(0.99))
print(f"student params {count_params(student):,} ({count_params(student) / count_params(teacher):.1%} of teacher)")

T = args.temperature
kl_div = nn.KLDivLoss(reduction='batchmean')
kl_div_log_target = nn.KLDivLoss(reduction='batchmean', log_target=True)
ce = nn.CrossEntropyLoss(label_smoothing=0.1)


def distillation_loss(student_logits, teacher_logits, target, T, alpha, log_target=False):
    if log_target:
        soft = kl_div_log_target(F.log_softmax(student_logits / T, dim=1),
                                 F.log_softmax(teacher_logits / T, dim=1)) * (T * T)
    else:
        soft = kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1)) * (T * T)
    hard = ce(student_logits, target)
    return alpha * soft + (1.0 - alpha) * hard, soft, hard


optimizer = torch.optim.AdamW(student.parameters(), lr=3e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=args.student_epochs,
                                                steps_per_epoch=len(train_loader), pct_start=0.3)
teacher.eval()
ckpt_dir = tempfile.mkdtemp(prefix='kd_')
ckpt_path = os.path.join(ckpt_dir, 'student.pt')


def train_student_epoch(epoch):
    student.train()
    total, soft_total, n = 0.0, 0.0, 0
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        with torch.no_grad():
            teacher_logits = teacher(data)
        with torch.autocast(device_type='cpu', dtype=torch.bfloat16, enabled=False):
            student_logits = student(data)
            loss, soft, hard = distillation_loss(student_logits, teacher_logits, target, T, args.alpha,
                                                 log_target=(batch_idx % 2 == 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        ema_student.update_parameters(student)
        total += loss.item() * data.size(0)
        soft_total += soft.item() * data.size(0)
        n += data.size(0)
    return total / n, soft_total / n


resume_epoch = args.student_epochs // 2
for epoch in range(resume_epoch):
    loss, soft = train_student_epoch(epoch)
    print(f"epoch {epoch} loss {loss:.4f} kd {soft:.4f} lr {scheduler.get_last_lr()[0]:.5f}")

torch.save({
    'epoch': resume_epoch,
    'model_state_dict': student.state_dict(),
    'ema_state_dict': ema_student.state_dict(),
    'optimizer_state_dict': optimizer.state_dict(),
    'scheduler_state_dict': scheduler.state_dict(),
    'loss': loss,
}, ckpt_path)
print(f"saved checkpoint {os.path.basename(ckpt_path)} ({os.path.getsize(ckpt_path)} bytes)")

# ---- simulate a restart: fresh objects, then resume from the checkpoint ----
student = Student(NUM_CLASSES).to(device)
ema_student = AveragedModel(student, multi_avg_fn=get_ema_multi_avg_fn(0.99))
optimizer = torch.optim.AdamW(student.parameters(), lr=3e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=args.student_epochs,
                                                steps_per_epoch=len(train_loader), pct_start=0.3)
checkpoint = torch.load(ckpt_path, map_location=device)
student.load_state_dict(checkpoint['model_state_dict'])
ema_student.load_state_dict(checkpoint['ema_state_dict'])
optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
scheduler.load_state_dict(checkpoint['scheduler_state_dict'])
start_epoch = checkpoint['epoch']
print(f"resumed at epoch {start_epoch} loss {checkpoint['loss']:.4f} lr {scheduler.get_last_lr()[0]:.5f} "
      f"ema updates {int(ema_student.n_averaged)}")

for epoch in range(start_epoch, args.student_epochs):
    loss, soft = train_student_epoch(epoch)
    print(f"epoch {epoch} loss {loss:.4f} kd {soft:.4f} lr {scheduler.get_last_lr()[0]:.5f}")

# ---------------- 3. compare with a student trained without the teacher ----------------
torch.manual_seed(args.seed + 1)
baseline = Student(NUM_CLASSES).to(device)
opt_b = torch.optim.AdamW(baseline.parameters(), lr=3e-3, weight_decay=1e-4)
for epoch in range(2):
    baseline.train()
    data_iter = iter(train_loader)
    for step in range(len(data_iter)):
        data, target = next(data_iter)
        data, target = data.to(device), target.to(device)
        opt_b.zero_grad()
        ce(baseline(data), target).backward()
        opt_b.step()

# agreement between student and teacher predictions
student.eval()
agree = 0
with torch.no_grad():
    for data, _ in test_loader:
        data = data.to(device)
        agree += (student(data).argmax(1) == teacher(data).argmax(1)).sum().item()
print(f"student/teacher agreement {agree / len(test_loader.dataset):.3f}")
print(f"baseline student (no KD, 2 epochs) accuracy {evaluate(baseline, test_loader):.3f}")
print(f"teacher accuracy {teacher_acc:.3f}")
print(f"EMA student accuracy {evaluate(ema_student, test_loader):.3f}")
print(f"student accuracy {evaluate(student, test_loader):.3f}")
shutil.rmtree(ckpt_dir)
