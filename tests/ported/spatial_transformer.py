"""The official tutorial "Spatial Transformer Networks Tutorial" as written: a localization network
(Conv2d/MaxPool2d/ReLU) and a regressor fc_loc whose last layer starts at the identity transform
(``weight.data.zero_()``, ``bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))``), the
``stn`` step ``F.affine_grid(theta, x.size())`` + ``F.grid_sample(x, grid)``, a classifier with
Dropout2d, ``F.log_softmax`` + ``F.nll_loss`` and SGD. MNIST is replaced by synthetic 28x28 glyphs that
are themselves randomly rotated, scaled and shifted with affine_grid/grid_sample (so the STN has
something to undo); the test reports the accuracy and how far the learnt transforms moved from the
identity."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# ---------------------------------------------------------------- data: distorted synthetic glyphs
NUM_CLASSES = 6
base = torch.zeros(NUM_CLASSES, 1, 28, 28)
base[0, :, 8:20, 13:15] = 1.0                      # vertical bar
base[1, :, 13:15, 8:20] = 1.0                      # horizontal bar
base[2, :, 8:20, 8:20] = 1.0                       # filled square
base[2, :, 10:18, 10:18] = 0.0                     # ... made hollow
base[3, :, 8:20, 8:10] = 1.0                       # an "L"
base[3, :, 18:20, 8:20] = 1.0
idx = torch.arange(28)
base[4, 0] = ((idx[:, None] - idx[None, :]).abs() <= 1).float() * ((idx[:, None] > 6) & (idx[:, None] < 22)).float()
base[5, :, 8:20, 8:10] = 1.0                       # a "T"
base[5, :, 8:10, 8:20] = 1.0


def distorted(n, generator):
    labels = torch.randint(0, NUM_CLASSES, (n,), generator=generator)
    angle = (torch.rand(n, generator=generator) - 0.5) * (math.pi / 2)    # +-45 degrees
    scale = 0.8 + 0.4 * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) - 0.5) * 0.5
    theta = torch.stack([
        torch.stack([scale * torch.cos(angle), -scale * torch.sin(angle), shift[:, 0]], dim=1),
        torch.stack([scale * torch.sin(angle), scale * torch.cos(angle), shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
    images = F.grid_sample(base[labels], grid, align_corners=False, padding_mode="zeros")
    images = images + 0.1 * torch.randn(images.shape, generator=generator)
    return (images - 0.1307) / 0.3081, labels


g = torch.Generator().manual_seed(123)
train_x, train_y = distorted(1536, g)
test_x, test_y = distorted(512, g)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), batch_size=64,
                                           shuffle=True, num_workers=0)
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(test_x, test_y), batch_size=64,
                                          shuffle=False, num_workers=0)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, NUM_CLASSES)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

        # Initialize the weights/bias with identity transformation
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size())
        x = F.grid_sample(x, grid)

        return x, theta

    def forward(self, x):
        # transform the input
        x, theta = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1), theta


model = Net().to(device)
optimizer = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
identity = torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float).view(1, 2, 3)


def train(epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)

        optimizer.zero_grad()
        output, _ = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 8 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tloss {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test():
    with torch.no_grad():
        model.eval()
        test_loss = 0
        correct = 0
        moved = 0.0
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output, theta = model(data)

            # sum up batch loss
            test_loss += F.nll_loss(output, target, size_average=False).item()
            # get the index of the max log-probability
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()
            moved += (theta - identity).abs().sum(dim=(1, 2)).sum().item()

        test_loss /= len(test_loader.dataset)
        print('\nTest set: Average test_loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'
              .format(test_loss, correct, len(test_loader.dataset),
                      100. * correct / len(test_loader.dataset)))
        print(f'mean |theta - I| {moved / len(test_loader.dataset):.4f}')
        return correct / len(test_loader.dataset)


for epoch in range(1, 6):
    train(epoch)
    accuracy = test()

# Visualize the STN transformation on some input batch (as numpy, where the tutorial plots it)
with torch.no_grad():
    data = next(iter(test_loader))[0].to(device)[:16]
    transformed_input_tensor = model.stn(data)[0].cpu()
    in_grid = data.cpu().numpy().transpose((0, 2, 3, 1))
    out_grid = transformed_input_tensor.numpy().transpose((0, 2, 3, 1))
print(f'visualised {in_grid.shape} -> {out_grid.shape}')
print(f'accuracy {accuracy:.4f}')
