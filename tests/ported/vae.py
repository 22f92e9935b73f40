"""A variational autoencoder as the PyTorch examples' vae/main.py writes it (reparameterisation,
binary cross-entropy plus the KL term), on synthetic binary 8x8 patterns."""
import torch
import torch.nn.functional as F
import torch.utils.data
from torch import nn, optim

torch.manual_seed(1)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# 8x8 binary images: a random horizontal and vertical line each
n = 512
data = torch.zeros(n, 1, 8, 8)
rows, cols = torch.randint(0, 8, (n,)), torch.randint(0, 8, (n,))
for i in range(n):
    data[i, 0, rows[i], :] = 1.0
    data[i, 0, :, cols[i]] = 1.0
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=64, shuffle=True)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 48)
        self.fc21 = nn.Linear(48, 8)
        self.fc22 = nn.Linear(48, 8)
        self.fc3 = nn.Linear(8, 48)
        self.fc4 = nn.Linear(48, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


model = VAE().to(device)
optimizer = optim.Adam(model.parameters(), lr=3e-3)


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def train(epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data,) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    print(f"epoch {epoch} loss {train_loss / len(train_loader.dataset):.4f}")


for epoch in range(1, 13):
    train(epoch)

with torch.no_grad():
    sample = torch.randn(16, 8).to(device)
    sample = model.decode(sample).cpu()
    print(f"sample mean {sample.mean().item():.4f} shape {tuple(sample.view(16, 1, 8, 8).shape)}")
