"""An MLP classifier in the style of the PyTorch tutorials: synthetic two-moons-like data, DataLoader,
Adam, cross-entropy, an evaluation loop under torch.no_grad()."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# three classes on concentric rings
n = 600
radius = torch.rand(n) * 3
angle = torch.rand(n) * 2 * math.pi
X = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
y = radius.long()  # 0, 1 or 2
X = X + 0.1 * torch.randn(n, 2)
train_ds = TensorDataset(X[:500], y[:500])
test_ds = TensorDataset(X[500:], y[500:])
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
test_loader = DataLoader(test_ds, batch_size=100)


class Net(nn.Module):
    def __init__(self, in_features=2, hidden=64, num_classes=3):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

for epoch in range(15):
    model.train()
    running_loss = 0.0
    for inputs, labels in train_loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
    print(f"epoch {epoch + 1} loss {running_loss / len(train_ds):.4f}")

model.eval()
correct = total = 0
with torch.no_grad():
    for inputs, labels in test_loader:
        inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f"accuracy {correct / total:.4f}")
