"""pytorch/examples fast_neural_style as written: TransformerNet (ReflectionPad2d + Conv2d layers,
InstanceNorm2d(affine=True), residual blocks, nearest-upsampling convolutions), gram_matrix with bmm,
normalize_batch with new_tensor and an in-place div_, the content + style loss and its training loop with
Adam; torchvision's VGG16 loss network is replaced by a small fixed random convolutional net and the COCO
images by synthetic 3x32x32 images (a few steps)."""
import argparse
import time
from collections import namedtuple

import numpy as np
import torch
from torch.optim import Adam
from torch.utils.data import DataLoader, Dataset




class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    # normalize using imagenet mean and std
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


class Vgg16(torch.nn.Module):
    """Stands in for vgg.Vgg16 (torchvision's pretrained VGG16 slices): four fixed random conv stages with
    the same output names."""

    def __init__(self, requires_grad=False):
        super(Vgg16, self).__init__()
        rng = np.random.RandomState(7)  # the same fixed weights under any library
        chans = [3, 8, 16, 16, 16]
        self.slices = torch.nn.ModuleList()
        for i in range(4):
            conv = torch.nn.Conv2d(chans[i], chans[i + 1], 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(rng.randn(*conv.weight.shape).astype(np.float32) * 0.3))
                conv.bias.zero_()
            layers = [conv, torch.nn.ReLU(inplace=True)] + ([torch.nn.MaxPool2d(2, 2)] if i in (1, 2) else [])
            self.slices.append(torch.nn.Sequential(*layers))
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h_relu1_2 = self.slices[0](X)
        h_relu2_2 = self.slices[1](h_relu1_2)
        h_relu3_3 = self.slices[2](h_relu2_2)
        h_relu4_3 = self.slices[3](h_relu3_3)
        vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'])
        out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
        return out


class SyntheticImages(Dataset):
    """Stands in for datasets.ImageFolder over COCO with ToTensor() and mul(255): smooth colour fields."""

    def __init__(self, n, size):
        g = torch.Generator().manual_seed(3)
        ramp = torch.linspace(0, 1, size)
        base = torch.rand(n, 3, 1, 1, generator=g)
        tilt = torch.rand(n, 3, 1, 1, generator=g) - 0.5
        self.images = ((base + tilt * ramp.view(1, 1, 1, -1) + 0.05 * torch.rand(n, 3, size, size, generator=g))
                       .clamp(0, 1) * 255)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], 0


def train(args):
    device = torch.device("cpu")
    torch.manual_seed(args.seed)

    train_dataset = SyntheticImages(16, args.image_size)
    train_loader = DataLoader(train_dataset, batch_size=args.batch_size)

    transformer = TransformerNet().to(device)
    optimizer = Adam(transformer.parameters(), args.lr)
    mse_loss = torch.nn.MSELoss()

    vgg = Vgg16(requires_grad=False).to(device)
    style = torch.zeros(3, args.image_size, args.image_size)  # a striped style image
    style[0, :, ::4] = 255
    style[2, ::3, :] = 200
    style = style.repeat(args.batch_size, 1, 1, 1).to(device)

    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]

    for e in range(args.epochs):
        transformer.train()
        agg_content_loss = 0.
        agg_style_loss = 0.
        count = 0
        for batch_id, (x, _) in enumerate(train_loader):
            n_batch = len(x)
            count += n_batch
            optimizer.zero_grad()

            x = x.to(device)
            y = transformer(x)

            y = normalize_batch(y)
            x = normalize_batch(x)

            features_y = vgg(y)
            features_x = vgg(x)

            content_loss = args.content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)

            style_loss = 0.
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
            style_loss *= args.style_weight

            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()

            agg_content_loss += content_loss.item()
            agg_style_loss += style_loss.item()

            if (batch_id + 1) % args.log_interval == 0:
                mesg = "{}\tEpoch {}:\t[{}/{}]\tcontent: {:.6f}\tstyle: {:.6f}\ttotal: {:.6f}".format(
                    time.ctime(), e + 1, count, len(train_dataset),
                                  agg_content_loss / (batch_id + 1),
                                  agg_style_loss / (batch_id + 1),
                                  (agg_content_loss + agg_style_loss) / (batch_id + 1)
                )
                print(mesg)
        print("loss {:.6f}".format((agg_content_loss + agg_style_loss) / (batch_id + 1)))


def main():
    main_arg_parser = argparse.ArgumentParser(description="parser for fast-neural-style")
    main_arg_parser.add_argument("--epochs", type=int, default=4)
    main_arg_parser.add_argument("--batch-size", type=int, default=4)
    main_arg_parser.add_argument("--image-size", type=int, default=32)
    main_arg_parser.add_argument("--seed", type=int, default=42)
    main_arg_parser.add_argument("--content-weight", type=float, default=1e2)
    main_arg_parser.add_argument("--style-weight", type=float, default=1e5)
    main_arg_parser.add_argument("--lr", type=float, default=1e-3)
    main_arg_parser.add_argument("--log-interval", type=int, default=2)
    args = main_arg_parser.parse_args()
    train(args)


if __name__ == "__main__":
    main()
