"""An importance-weighted autoencoder (IWAE, Burda et al. 2016) on binarised synthetic digits,
written with torch.distributions.

Encoder q(z|x) = Independent(Normal(mu, sigma), 1) with rsample(sample_shape=(K,)), decoder
Independent(Bernoulli(logits=...), 1), prior Independent(Normal(0, 1), 1), the K-sample bound with
torch.logsumexp, the single-sample ELBO with an analytic kl_divergence for comparison, and test
log-likelihood estimates with K=64. Data: 8x8 strokes (bars and rings) binarised with torch.bernoulli.
"""
import math
import torch
import torch.nn as nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SIDE = 8


def make_strokes(n):
    r = torch.arange(SIDE).float()
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    kind = torch.randint(0, 3, (n, 1, 1))
    pos = torch.randint(1, SIDE - 1, (n, 1, 1)).float()
    horiz = (yy - pos).abs() < 1.0
    vert = (xx - pos).abs() < 1.0
    radius = 1.5 + torch.rand(n, 1, 1) * 2
    ring = (((xx - 3.5) ** 2 + (yy - 3.5) ** 2).sqrt() - radius).abs() < 0.7
    img = torch.where(kind == 0, horiz, torch.where(kind == 1, vert, ring)).float()
    probs = img * 0.9 + (1 - img) * 0.05
    return torch.bernoulli(probs).view(n, -1)


class IWAE(nn.Module):
    def __init__(self, x_dim=SIDE * SIDE, h_dim=128, z_dim=4):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(x_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, h_dim), nn.Tanh())
        self.enc_mu = nn.Linear(h_dim, z_dim)
        self.enc_logstd = nn.Linear(h_dim, z_dim)
        self.dec = nn.Sequential(nn.Linear(z_dim, h_dim), nn.Tanh(), nn.Linear(h_dim, h_dim), nn.Tanh(),
                                 nn.Linear(h_dim, x_dim))
        self.register_buffer("prior_loc", torch.zeros(z_dim))
        self.register_buffer("prior_scale", torch.ones(z_dim))

    def prior(self):
        return Independent(Normal(self.prior_loc, self.prior_scale), 1)

    def posterior(self, x):
        h = self.enc(x)
        return Independent(Normal(self.enc_mu(h), self.enc_logstd(h).clamp(-6, 2).exp()), 1)

    def likelihood(self, z):
        return Independent(Bernoulli(logits=self.dec(z)), 1)

    def log_weights(self, x, k):
        qz = self.posterior(x)
        z = qz.rsample((k,))                     # (k, batch, z_dim)
        log_px_z = self.likelihood(z).log_prob(x)  # x broadcasts against (k, batch, x_dim)
        return log_px_z + self.prior().log_prob(z) - qz.log_prob(z)

    def iwae_bound(self, x, k):
        log_w = self.log_weights(x, k)
        return (torch.logsumexp(log_w, dim=0) - math.log(k)).mean()

    def elbo(self, x):
        qz = self.posterior(x)
        z = qz.rsample()
        return (self.likelihood(z).log_prob(x) - kl_divergence(qz, self.prior())).mean()


x_train, x_test = make_strokes(2000), make_strokes(300)
train_loader = DataLoader(TensorDataset(x_train), batch_size=100, shuffle=True)
model = IWAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
K = 8
for epoch in range(1, 13):
    model.train()
    total = 0.0
    for (x,) in train_loader:
        x = x.to(device)
        loss = -model.iwae_bound(x, K)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
    model.eval()
    with torch.no_grad():
        xt = x_test.to(device)
        nll64 = -model.iwae_bound(xt, 64).item()
        elbo = model.elbo(xt).item()
    print(f"epoch {epoch} loss {total / len(x_train):.3f} test_elbo {elbo:.3f} test_nll_k64 {nll64:.3f}")
with torch.no_grad():
    xt = x_test.to(device)
    bounds = [model.iwae_bound(xt, k).item() for k in (1, 8, 64)]
    z = model.prior().sample((6,))
    samples = model.likelihood(z).mean.view(-1, SIDE, SIDE)
print("bounds k=1,8,64:", [round(b, 3) for b in bounds])
print(f"tightening {int(bounds[0] <= bounds[1] + 0.05 and bounds[1] <= bounds[2] + 0.05)}")
print("sample row sums", samples[0].sum(1).round().tolist())
