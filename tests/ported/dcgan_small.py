"""A DCGAN as PyTorch's examples/dcgan/main.py writes it, scaled down to 8x8 single-channel images:
ConvTranspose2d + BatchNorm2d generator, Conv2d + LeakyReLU discriminator, weights_init through
m.weight.data.normal_, BCELoss with torch.full labels, fake.detach(). The images are a bright 4x4 square at
one of four corners; the printed gap is the mean distance of generated images to the nearest real one."""
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(3)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
nz, ngf, ndf, batch_size = 8, 16, 16, 32


def real_batch(n):
    images = -torch.ones(n, 1, 8, 8)
    corner = torch.randint(0, 4, (n,))
    for i in range(n):
        r, c = 4 * (int(corner[i]) // 2), 4 * (int(corner[i]) % 2)
        images[i, 0, r:r + 4, c:c + 4] = 1.0
    return images


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution: (nz, 1, 1) -> (ngf * 2, 2, 2)
            nn.ConvTranspose2d(nz, ngf * 2, 2, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # (ngf * 2, 2, 2) -> (ngf, 4, 4)
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # (ngf, 4, 4) -> (1, 8, 8)
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


netG = Generator().to(device)
netG.apply(weights_init)
netD = Discriminator().to(device)
netD.apply(weights_init)
criterion = nn.BCELoss()
fixed_noise = torch.randn(256, nz, 1, 1, device=device)
real_label, fake_label = 1, 0
optimizerD = optim.Adam(netD.parameters(), lr=5e-3, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=5e-3, betas=(0.5, 0.999))
corners = -torch.ones(4, 1, 8, 8)
for k in range(4):
    r, c = 4 * (k // 2), 4 * (k % 2)
    corners[k, 0, r:r + 4, c:c + 4] = 1.0


def gap():
    """Mean over generated images of the mean absolute pixel distance to the nearest of the 4 real images."""
    with torch.no_grad():
        fake = netG(fixed_noise)
    d = (fake.unsqueeze(1) - corners.unsqueeze(0)).abs().mean(dim=(2, 3, 4))
    return d.min(dim=1)[0].mean().item()


print(f"gap {gap():.4f}")
for i in range(300):
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    netD.zero_grad()
    real_cpu = real_batch(batch_size).to(device)
    label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
    output = netD(real_cpu)
    errD_real = criterion(output, label)
    errD_real.backward()
    noise = torch.randn(batch_size, nz, 1, 1, device=device)
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach())
    errD_fake = criterion(output, label)
    errD_fake.backward()
    errD = errD_real + errD_fake
    optimizerD.step()
    # (2) Update G network: maximize log(D(G(z)))
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake)
    errG = criterion(output, label)
    errG.backward()
    optimizerG.step()
    if i % 60 == 59:
        print(f"[{i + 1}] Loss_D {errD.item():.4f} Loss_G {errG.item():.4f} gap {gap():.4f}")
