"""SIREN (Sitzmann et al. 2020) fitting a 2-D image: sine layers with the paper's uniform init and omega_0,
then fitting the image from its gradients alone (autograd.grad with create_graph) and checking the Laplacian."""
import math
import numpy as np
import torch
from torch import nn

torch.manual_seed(0)


class SineLayer(nn.Module):
    def __init__(self, in_features, out_features, bias=True, is_first=False, omega_0=30.0):
        super().__init__()
        self.omega_0 = omega_0
        self.is_first = is_first
        self.in_features = in_features
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.init_weights()

    def init_weights(self):
        with torch.no_grad():
            if self.is_first:
                nn.init.uniform_(self.linear.weight, -1 / self.in_features, 1 / self.in_features)
            else:
                bound = np.sqrt(6 / self.in_features) / self.omega_0
                self.linear.weight.uniform_(-bound, bound)

    def forward(self, input):
        return torch.sin(self.omega_0 * self.linear(input))


class Siren(nn.Module):
    def __init__(self, in_features, hidden_features, hidden_layers, out_features, first_omega_0=30.0,
                 hidden_omega_0=30.0):
        super().__init__()
        self.net = [SineLayer(in_features, hidden_features, is_first=True, omega_0=first_omega_0)]
        for i in range(hidden_layers):
            self.net.append(SineLayer(hidden_features, hidden_features, omega_0=hidden_omega_0))
        final_linear = nn.Linear(hidden_features, out_features)
        with torch.no_grad():
            bound = np.sqrt(6 / hidden_features) / hidden_omega_0
            final_linear.weight.uniform_(-bound, bound)
        self.net.append(final_linear)
        self.net = nn.Sequential(*self.net)

    def forward(self, coords):
        coords = coords.clone().detach().requires_grad_(True)  # allows to take derivative w.r.t. input
        output = self.net(coords)
        return output, coords


def gradient(y, x, grad_outputs=None):
    if grad_outputs is None:
        grad_outputs = torch.ones_like(y)
    return torch.autograd.grad(y, [x], grad_outputs=grad_outputs, create_graph=True)[0]


def divergence(y, x):
    div = 0.0
    for i in range(y.shape[-1]):
        div += torch.autograd.grad(y[..., i], x, torch.ones_like(y[..., i]), create_graph=True)[0][..., i:i + 1]
    return div


def laplace(y, x):
    return divergence(gradient(y, x), x)


def get_mgrid(sidelen, dim=2):
    tensors = tuple(dim * [torch.linspace(-1, 1, steps=sidelen)])
    mgrid = torch.stack(torch.meshgrid(*tensors, indexing="ij"), dim=-1)
    return mgrid.reshape(-1, dim)


SIDE = 24
coords = get_mgrid(SIDE)
x, y = coords[:, :1], coords[:, 1:]
# a smooth synthetic "photo" with known analytic gradient and Laplacian
img = torch.sin(3 * x) * torch.cos(2 * y) + 0.5 * torch.exp(-8 * ((x - 0.3) ** 2 + (y + 0.2) ** 2))

model = Siren(2, 64, 2, 1, first_omega_0=10.0, hidden_omega_0=30.0)
optim = torch.optim.Adam(lr=1e-4, params=model.parameters())
for step in range(1, 201):
    model_output, c = model(coords)
    loss = ((model_output - img) ** 2).mean()
    optim.zero_grad()
    loss.backward()
    optim.step()
    if step == 1 or step % 50 == 0:
        print(f"step {step} loss {loss.item():.6f}")

# true gradient and Laplacian of the image, by autograd on the analytic expression
c = coords.clone().requires_grad_(True)
cx, cy = c[:, :1], c[:, 1:]
true = torch.sin(3 * cx) * torch.cos(2 * cy) + 0.5 * torch.exp(-8 * ((cx - 0.3) ** 2 + (cy + 0.2) ** 2))
true_grad = gradient(true, c).detach()
true_lap = laplace(true, c).detach()

out, c2 = model(coords)
lap = laplace(out, c2)
print(f"image fit rel error {((out - img).norm() / img.norm()).item():.4f}")
print(f"laplacian rel error {((lap - true_lap).norm() / true_lap.norm()).item():.4f}")

# Poisson-style fitting: supervise only the gradient of a fresh SIREN
model2 = Siren(2, 64, 2, 1, first_omega_0=10.0, hidden_omega_0=30.0)
optim2 = torch.optim.Adam(lr=1e-4, params=model2.parameters())
for step in range(1, 151):
    out2, c3 = model2(coords)
    grad_loss = ((gradient(out2, c3) - true_grad) ** 2).sum(-1).mean()
    optim2.zero_grad()
    grad_loss.backward()
    optim2.step()
    if step == 1 or step % 50 == 0:
        print(f"poisson step {step} grad_loss {grad_loss.item():.6f}")
with torch.no_grad():
    out2, _ = model2(coords)
    recon = out2 - out2.mean() + img.mean()  # the gradient fixes the image up to a constant
    rel = ((recon - img).norm() / (img - img.mean()).norm()).item()
print(f"poisson rel error {rel:.4f} accuracy {max(0.0, 1 - rel):.3f}")
