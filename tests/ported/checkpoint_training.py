"""A training loop with DataLoader, a learning-rate scheduler and checkpoints: torch.save of a dict of
state_dicts (to a path and to an in-memory buffer), torch.load, and a resumed run that continues where
the first one stopped, as the PyTorch "Saving and loading a general checkpoint" recipe writes it."""
import io
import os
import tempfile

import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

X = torch.randn(400, 8)
w_true = torch.randn(8, 1)
w_true = w_true / w_true.norm()  # targets of unit scale whatever the draw
y = X @ w_true + 0.05 * torch.randn(400, 1)
train_set, val_set = random_split(TensorDataset(X, y), [0.8, 0.2])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=80)


def make_model():
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)


def evaluate(model):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for xb, yb in val_loader:
            total += nn.functional.mse_loss(model(xb.to(device)), yb.to(device), reduction="sum").item()
    return total / len(val_set)


def train_epochs(model, optimizer, scheduler, epochs, start=0):
    for epoch in range(start, start + epochs):
        model.train()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = nn.MSELoss()(model(xb), yb)
            loss.backward()
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch + 1} loss {evaluate(model):.5f}")
    return loss


model = make_model()
optimizer = optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
scheduler = CosineAnnealingLR(optimizer, T_max=12)
last_loss = train_epochs(model, optimizer, scheduler, 6)

checkpoint_dir = tempfile.mkdtemp()
PATH = os.path.join(checkpoint_dir, "checkpoint.pt")
torch.save({
    "epoch": 6,
    "model_state_dict": model.state_dict(),
    "optimizer_state_dict": optimizer.state_dict(),
    "scheduler_state_dict": scheduler.state_dict(),
    "loss": last_loss.item(),
    "config": {"hidden": 16, "activation": "tanh", "lrs": [0.02, 1e-4]},
}, PATH)
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)

# a new process would start here
model2 = make_model()
optimizer2 = optim.AdamW(model2.parameters(), lr=0.02, weight_decay=1e-4)
scheduler2 = CosineAnnealingLR(optimizer2, T_max=12)
checkpoint = torch.load(PATH, map_location=device, weights_only=True)
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler2.load_state_dict(checkpoint["scheduler_state_dict"])
epoch = checkpoint["epoch"]
print(f"resumed at epoch {epoch} with lr {scheduler2.get_last_lr()[0]:.5f} (saved loss {checkpoint['loss']:.5f})")
assert checkpoint["config"]["lrs"] == [0.02, 1e-4]
print(f"val after resume {evaluate(model2):.5f} same {evaluate(model2) == evaluate(model)}")

buffer.seek(0)
model3 = make_model()
model3.load_state_dict(torch.load(buffer))
print(f"from buffer {evaluate(model3) == evaluate(model)}")

train_epochs(model2, optimizer2, scheduler2, 6, start=epoch)
