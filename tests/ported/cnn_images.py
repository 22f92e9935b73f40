"""A small CNN on synthetic 1x16x16 images (horizontal, vertical or diagonal bars), written as the
PyTorch CIFAR-10 tutorial: Conv2d, MaxPool2d, view(-1, ...), SGD with momentum and StepLR."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_images(n):
    images = 0.3 * torch.randn(n, 1, 16, 16)
    labels = torch.randint(0, 3, (n,))
    for i in range(n):
        pos = int(torch.randint(2, 14, (1,)).item())
        if labels[i] == 0:
            images[i, 0, pos, :] += 2.0
        elif labels[i] == 1:
            images[i, 0, :, pos] += 2.0
        else:
            images[i, 0] += 2.0 * torch.eye(16)
    return images, labels


train_images, train_labels = make_images(384)
test_images, test_labels = make_images(96)
trainloader = DataLoader(TensorDataset(train_images, train_labels), batch_size=32, shuffle=True)
testloader = DataLoader(TensorDataset(test_images, test_labels), batch_size=32, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


net = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

for epoch in range(8):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data[0].to(device), data[1].to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    scheduler.step()
    print(f"epoch {epoch + 1} loss {running_loss / len(trainloader):.4f} lr {scheduler.get_last_lr()[0]:.4f}")

correct = 0
total = 0
net.eval()
with torch.no_grad():
    for images, labels in testloader:
        images, labels = images.to(device), labels.to(device)
        outputs = net(images)
        predicted = outputs.argmax(dim=1)
        total += labels.size(0)
        correct += predicted.eq(labels).sum().item()
print(f"accuracy {correct / total:.4f}")
