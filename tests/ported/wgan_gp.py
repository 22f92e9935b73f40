"""A WGAN-GP on a 2-D Gaussian mixture as GitHub implementations write it (Gulrajani et al. 2017):
Adam(betas=(0.5, 0.9)), the critic's gradient penalty through torch.autograd.grad(create_graph=True,
retain_graph=True, only_inputs=True) with grad_outputs=torch.ones(...), requires_grad_(True) on the
interpolates, n_critic steps, p.requires_grad toggling, nn.init on the layers through model.apply."""
import argparse
import math

import torch
import torch.autograd as autograd
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--n_epochs", type=int, default=300)
parser.add_argument("--batch_size", type=int, default=128)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--latent_dim", type=int, default=2)
parser.add_argument("--n_critic", type=int, default=3)
parser.add_argument("--lambda_gp", type=float, default=0.1)
opt = parser.parse_args()

cuda = True if torch.cuda.is_available() else False
Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
torch.manual_seed(0)


def sample_real(n):
    """Eight Gaussians on a circle of radius 2."""
    k = torch.randint(0, 8, (n,))
    angle = k.float() * (2 * math.pi / 8)
    centers = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], dim=1)
    return centers + 0.05 * torch.randn(n, 2)


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.constant_(m.bias, 0.0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.model = nn.Sequential(
            nn.Linear(opt.latent_dim, 64), nn.ReLU(True),
            nn.Linear(64, 64), nn.ReLU(True),
            nn.Linear(64, 2),
        )

    def forward(self, z):
        return self.model(z)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.model = nn.Sequential(
            nn.Linear(2, 64), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(64, 64), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(64, 1),
        )

    def forward(self, x):
        return self.model(x)


def compute_gradient_penalty(D, real_samples, fake_samples):
    """Calculates the gradient penalty loss for WGAN GP"""
    # Random weight term for interpolation between real and fake samples
    alpha = Tensor(torch.rand(real_samples.size(0), 1).numpy())
    # Get random interpolation between real and fake samples
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = torch.ones(real_samples.shape[0], 1, requires_grad=False)
    # Get gradient w.r.t. interpolates
    gradients = autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=fake,
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    return gradient_penalty


def sliced_distance(a, b, n_proj=64):
    """Sliced 1-Wasserstein distance between two point clouds (sorted projections)."""
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(2, n_proj, generator=g)
    theta = theta / theta.norm(dim=0, keepdim=True)
    pa, _ = torch.sort(a @ theta, dim=0)
    pb, _ = torch.sort(b @ theta, dim=0)
    return (pa - pb).abs().mean().item()


generator = Generator()
discriminator = Discriminator()
generator.apply(init_weights)
discriminator.apply(init_weights)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(0.5, 0.9))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(0.5, 0.9))

fixed_z = torch.randn(512, opt.latent_dim)
reference = sample_real(512)
with torch.no_grad():
    print("distance %.4f" % sliced_distance(generator(fixed_z), reference))

for epoch in range(opt.n_epochs):
    for p in discriminator.parameters():
        p.requires_grad = True
    for _ in range(opt.n_critic):
        real_imgs = sample_real(opt.batch_size)
        z = Tensor(torch.randn(opt.batch_size, opt.latent_dim).numpy())
        fake_imgs = generator(z).detach()
        optimizer_D.zero_grad()
        real_validity = discriminator(real_imgs)
        fake_validity = discriminator(fake_imgs)
        gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data, fake_imgs.data)
        d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + opt.lambda_gp * gradient_penalty
        d_loss.backward()
        optimizer_D.step()

    for p in discriminator.parameters():
        p.requires_grad = False
    optimizer_G.zero_grad()
    z = torch.randn(opt.batch_size, opt.latent_dim)
    g_loss = -torch.mean(discriminator(generator(z)))
    g_loss.backward()
    optimizer_G.step()

    if epoch % 50 == 49:
        with torch.no_grad():
            dist = sliced_distance(generator(fixed_z), reference)
        print("[Epoch %d/%d] [D loss: %f] [G loss: %f] [GP: %f]"
              % (epoch + 1, opt.n_epochs, d_loss.item(), g_loss.item(), gradient_penalty.item()))
        print("distance %.4f" % dist)
