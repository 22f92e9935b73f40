"""pytorch/examples super_resolution (the sub-pixel CNN of Shi et al. 2016: Conv2d stack +
nn.PixelShuffle, init.orthogonal_ with init.calculate_gain, MSE loss, PSNR with math.log10), trained on
synthetic smooth images downsampled by average pooling instead of BSD300."""
import argparse
import math
from math import log10

import torch
import torch.nn as nn
import torch.nn.init as init
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


class SyntheticImages(Dataset):
    """Stands in for DatasetFromFolder over BSD300: smooth random images (sums of sinusoids), the input
    downscaled by the upscale factor, the target at full size."""

    def __init__(self, n, size, upscale_factor, seed):
        g = torch.Generator().manual_seed(seed)
        ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
        freq = torch.rand(n, 2, generator=g) * 6 + 1
        phase = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
        img = 0.5 + 0.25 * torch.sin(freq[:, 0, None, None] * xs * math.pi + phase) \
            * torch.cos(freq[:, 1, None, None] * ys * math.pi)
        self.target = img.unsqueeze(1)
        self.input = F.avg_pool2d(self.target, upscale_factor)

    def __getitem__(self, index):
        return self.input[index], self.target[index]

    def __len__(self):
        return len(self.target)


parser = argparse.ArgumentParser(description='PyTorch Super Res Example')
parser.add_argument('--upscale_factor', type=int, default=3, help="super resolution upscale factor")
parser.add_argument('--batchSize', type=int, default=16, help='training batch size')
parser.add_argument('--testBatchSize', type=int, default=10, help='testing batch size')
parser.add_argument('--nEpochs', type=int, default=6, help='number of epochs to train for')
parser.add_argument('--lr', type=float, default=0.001, help='Learning Rate. Default=0.001')
parser.add_argument('--seed', type=int, default=123, help='random seed to use. Default=123')
opt = parser.parse_args()

print(opt)
torch.manual_seed(opt.seed)
device = torch.device("cpu")

print('===> Loading datasets')
train_set = SyntheticImages(64, 24, opt.upscale_factor, seed=1)
test_set = SyntheticImages(20, 24, opt.upscale_factor, seed=2)
training_data_loader = DataLoader(dataset=train_set, num_workers=0, batch_size=opt.batchSize, shuffle=True)
testing_data_loader = DataLoader(dataset=test_set, num_workers=0, batch_size=opt.testBatchSize, shuffle=False)

print('===> Building model')
model = Net(upscale_factor=opt.upscale_factor).to(device)
criterion = nn.MSELoss()

optimizer = optim.Adam(model.parameters(), lr=opt.lr)


def train(epoch):
    epoch_loss = 0
    for iteration, batch in enumerate(training_data_loader, 1):
        input, target = batch[0].to(device), batch[1].to(device)

        optimizer.zero_grad()
        loss = criterion(model(input), target)
        epoch_loss += loss.item()
        loss.backward()
        optimizer.step()

    print("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(epoch, epoch_loss / len(training_data_loader)))


def test():
    avg_psnr = 0
    avg_mse = 0
    with torch.no_grad():
        for batch in testing_data_loader:
            input, target = batch[0].to(device), batch[1].to(device)

            prediction = model(input)
            mse = criterion(prediction, target)
            psnr = 10 * log10(1 / mse.item())
            avg_psnr += psnr
            avg_mse += mse.item()
    print("===> Avg. PSNR: {:.4f} dB".format(avg_psnr / len(testing_data_loader)))
    print("loss {:.6f}".format(avg_mse / len(testing_data_loader)))
    print("psnr {:.4f}".format(avg_psnr / len(testing_data_loader)))


test()
for epoch in range(1, opt.nEpochs + 1):
    train(epoch)
    test()
