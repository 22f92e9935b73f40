"""Mixture density network (Bishop 1994) on the classic inverse problem x = y + 0.3 sin(2 pi y) + noise,
predicting y from x: a MixtureSameFamily of Categorical + Independent(Normal), NLL loss, sampling, modes."""
import math
import torch
import torch.nn as nn
import torch.distributions as D
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_data(n):
    y = torch.rand(n, 1)
    x = y + 0.3 * torch.sin(2 * math.pi * y) + 0.05 * torch.randn(n, 1)
    return x, y  # the inverse problem: x -> y is multi-valued


class MDN(nn.Module):
    def __init__(self, dim_in=1, dim_out=1, n_components=5, hidden=64):
        super().__init__()
        self.n_components, self.dim_out = n_components, dim_out
        self.body = nn.Sequential(nn.Linear(dim_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, n_components)
        self.mu = nn.Linear(hidden, n_components * dim_out)
        self.log_sigma = nn.Linear(hidden, n_components * dim_out)

    def forward(self, x):
        h = self.body(x)
        logits = self.pi(h)
        mu = self.mu(h).view(-1, self.n_components, self.dim_out)
        sigma = torch.exp(self.log_sigma(h).clamp(-7, 3)).view(-1, self.n_components, self.dim_out)
        mix = D.Categorical(logits=logits)
        comp = D.Independent(D.Normal(mu, sigma), 1)
        return D.MixtureSameFamily(mix, comp)


x_train, y_train = make_data(2000)
x_test, y_test = make_data(500)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=128, shuffle=True)
model = MDN().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(1, 41):
    model.train()
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        dist = model(xb)
        loss = -dist.log_prob(yb).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    if epoch == 1 or epoch % 5 == 0:
        model.eval()
        with torch.no_grad():
            dist = model(x_test.to(device))
            test_nll = -dist.log_prob(y_test.to(device)).mean().item()
            s = dist.sample()
            miss = ((s + 0.3 * torch.sin(2 * math.pi * s) - x_test).abs() >= 0.15).float().mean().item()
        print(f"epoch {epoch} nll {total / len(x_train):.4f} test_nll {test_nll:.4f} miss {miss:.3f}")

# a unimodal baseline: least squares, whose mean prediction falls between the branches
mse_model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
opt2 = torch.optim.Adam(mse_model.parameters(), lr=3e-3)
for epoch in range(20):
    for xb, yb in loader:
        l2 = nn.functional.mse_loss(mse_model(xb), yb)
        opt2.zero_grad()
        l2.backward()
        opt2.step()

model.eval()
with torch.no_grad():
    dist = model(x_test)
    samples = dist.sample()  # (N, 1)
    # does a sample land on the true curve? x(y_hat) should reproduce x
    x_of_sample = samples + 0.3 * torch.sin(2 * math.pi * samples)
    on_curve = ((x_of_sample - x_test).abs() < 0.15).float().mean().item()
    x_of_mean = mse_model(x_test) + 0.3 * torch.sin(2 * math.pi * mse_model(x_test))
    mean_on_curve = ((x_of_mean - x_test).abs() < 0.15).float().mean().item()
    # at x = 0.5 there are three branches: the mixture should put weight on several modes
    d = model(torch.tensor([[0.5]]))
    weights = d.mixture_distribution.probs[0]
    means = d.component_distribution.base_dist.loc[0, :, 0]
    strong = means[weights > 0.1].sort().values
    mean, var = d.mean.item(), d.variance.item()
    many = dist.sample((4,))
print(f"samples shape {tuple(samples.shape)} batch {tuple(dist.batch_shape)} event {tuple(dist.event_shape)}")
print(f"modes at x=0.5: {[round(m, 2) for m in strong.tolist()]} mean {mean:.3f} var {var:.3f}")
print(f"draws shape {tuple(many.shape)}")
print(f"on_curve {on_curve:.3f} mse_on_curve {mean_on_curve:.3f} modes {len(strong)}")
