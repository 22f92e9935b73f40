"""Stochastic weight averaging (Izmailov et al. 2018) as the PyTorch docs write it: a BatchNorm MLP trained with
SGD, then AveragedModel + SWALR over the last epochs, update_bn over the DataLoader, SWA vs final weights."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, SWALR, update_bn
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_spirals(n, noise=0.6):
    t = torch.rand(n) * 3.0 + 0.5
    label = torch.randint(0, 3, (n,))
    angle = t * 2.5 + label * (2 * torch.pi / 3)
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], 1) + noise * torch.randn(n, 2) * 0.3
    feats = torch.cat([x, torch.randn(n, 6)], 1)  # 6 distractor features
    return feats, label


x_train, y_train = make_spirals(1200)
x_test, y_test = make_spirals(1000)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 128)
        self.bn1 = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 128)
        self.bn2 = nn.BatchNorm1d(128)
        self.fc3 = nn.Linear(128, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.relu(self.bn2(self.fc2(x)))
        return self.fc3(x)


def evaluate(m):
    m.eval()
    with torch.no_grad():
        logits = m(x_test.to(device))
        loss = F.cross_entropy(logits, y_test.to(device)).item()
        acc = (logits.argmax(1) == y_test.to(device)).float().mean().item()
    return loss, acc


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
swa_model = AveragedModel(model)
scheduler = CosineAnnealingLR(optimizer, T_max=30)
swa_start = 15
swa_scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
for epoch in range(30):
    model.train()
    total = 0.0
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    if epoch > swa_start:
        swa_model.update_parameters(model)
        swa_scheduler.step()
    else:
        scheduler.step()
    if epoch % 5 == 0 or epoch == 29:
        print(f"epoch {epoch} loss {total / len(x_train):.4f} lr {optimizer.param_groups[0]['lr']:.4f}")

final_loss, final_acc = evaluate(model)
before_bn = swa_model.module.bn1.running_mean.clone()
# Update bn statistics for the swa_model at the end
update_bn(train_loader, swa_model, device=device)
bn_changed = (swa_model.module.bn1.running_mean - before_bn).abs().max().item() > 1e-6
swa_loss, swa_acc = evaluate(swa_model)
print(f"n_averaged {swa_model.n_averaged.item()} bn_changed {bn_changed} momentum {swa_model.module.bn1.momentum}")
print(f"final: test_loss {final_loss:.4f} accuracy {final_acc:.3f}")
print(f"swa:   test_loss {swa_loss:.4f} swa_accuracy {swa_acc:.3f}")
print(f"swa_gain {final_loss - swa_loss:.4f}")
